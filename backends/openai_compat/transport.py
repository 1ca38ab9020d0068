"""The HTTP exchange with an OpenAI-compatible server: a JSON body in; a JSON answer,
or its Server-Sent Events, out.

Async requests run on aiohttp, sync ones on httpx. Both share the request (URL,
headers, body bytes), the event decoding and the failures raised here, which
:mod:`.errors` translates. aiohttp earns its place on the serving path: its
C-accelerated HTTP parser needs about half the CPU of an httpx stream on this
project's bench machine, the cost that ``serve`` pays for every streamed upstream
token. The openai SDK is not used: it added about 1 ms of request building before
each request reached the wire, and the router only needs these three calls.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import urllib.request
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager, suppress
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx

from ..loop_lifetime import close_with_loop
from .wire import MalformedEvent

__all__ = [
    "AsyncTransport",
    "Endpoint",
    "EventDecoder",
    "StreamError",
    "SyncTransport",
    "UpstreamStatus",
    "env_proxy",
]

# An error answer is read for its message; a server that sends more is cut short.
ERROR_BODY_LIMIT = 64 * 1024
# What is read after [DONE] to keep the connection (normally the few bytes that end
# the chunked body).
DRAIN_LIMIT = 64 * 1024
DRAIN_TIMEOUT_S = 0.1
# A streamed line longer than this is a broken stream, not an event to buffer.
LINE_LIMIT = 8 * 1024 * 1024


class UpstreamStatus(Exception):
    """The server answered with a non-2xx status; ``body`` is its JSON (or text)."""

    def __init__(self, status_code: int, body: Any) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code, self.body = status_code, body


class StreamError(Exception):
    """An ``{"error": ...}`` object inside a 200 stream (vLLM and SGLang send one
    when generation fails after the headers went out)."""

    def __init__(self, body: Any) -> None:
        super().__init__("an error event in the stream")
        self.body = body


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach one server: ``base_url`` ends before
    ``/chat/completions`` (usually in ``/v1``)."""

    base_url: str
    api_key: str | None
    timeout: float | None  # seconds per connect and per read; None: no limit
    headers: Mapping[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def request_headers(self) -> dict[str, str]:
        out = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            out["Authorization"] = f"Bearer {self.api_key}"
        out.update(self.headers)
        return out


def env_proxy(url: str) -> str | None:
    """The ``HTTP_PROXY`` / ``HTTPS_PROXY`` for ``url``, unless ``NO_PROXY`` names its
    host: read once per server, as httpx reads them once per client (aiohttp's
    ``trust_env`` would read the environment, and ``~/.netrc``, on every request)."""
    parts = urllib.parse.urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy is None or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy


async def _drain(response: aiohttp.ClientResponse) -> None:
    """Read what follows ``[DONE]`` (the chunked body's last bytes), so that the
    connection goes back to the pool: a response left unread is closed instead, and
    the next request pays a new connection. Bounded, as the openai SDK bounds its
    drain: a server that keeps the finished stream open, or sends more than
    :data:`DRAIN_LIMIT`, loses its connection, and a failure here is not the
    request's (its answer is complete)."""

    async def read_rest() -> None:
        read = 0
        async for chunk in response.content.iter_any():
            read += len(chunk)
            if read > DRAIN_LIMIT:
                return

    with suppress(aiohttp.ClientError, asyncio.TimeoutError, TimeoutError):
        await asyncio.wait_for(read_rest(), DRAIN_TIMEOUT_S)


def _body_bytes(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _error_body(raw: bytes) -> Any:
    text = raw[:ERROR_BODY_LIMIT].decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _json_object(raw: bytes | str) -> dict[str, Any]:
    """A JSON answer, which must be an object.

    Raises:
        json.JSONDecodeError: it is not JSON.
        MalformedEvent: it is JSON but not an object.
    """
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise MalformedEvent(f"the answer is {type(data).__name__}, not an object")
    return data


class EventDecoder:
    """Server-Sent Events, from the body's bytes as they arrive, as JSON objects.

    An event ends at a blank line (or at the end of the stream, :meth:`end`); its
    ``data:`` lines are joined with newlines. Comments (``:``) and the other fields
    (``event``, ``id``, ``retry``) are read past. ``[DONE]`` ends the stream.
    """

    __slots__ = ("_data", "_partial", "done")

    def __init__(self) -> None:
        self._data: list[str] = []
        self._partial = b""
        self.done = False

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        """The events that ``chunk`` completes (none after ``[DONE]``).

        Raises:
            json.JSONDecodeError: an event's data is not JSON.
            MalformedEvent: it is JSON but not an object, or a line never ends.
            StreamError: it is an ``{"error": ...}`` object.
        """
        if self.done:
            return []
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        if len(self._partial) > LINE_LIMIT:
            raise MalformedEvent(f"an event line longer than {LINE_LIMIT} bytes")
        events = []
        for raw in lines:
            event = self._line(raw.rstrip(b"\r").decode("utf-8", "replace"))
            if event is not None:
                events.append(event)
            if self.done:
                break
        return events

    def end(self) -> list[dict[str, Any]]:
        """The last event, when the stream ended without a blank line after it."""
        tail, self._partial = self._partial, b""
        events = self.feed(tail + b"\n")
        if not self.done and (event := self._dispatch()) is not None:
            events.append(event)
        return events

    def _line(self, line: str) -> dict[str, Any] | None:
        if not line:
            return self._dispatch()
        if line.startswith("data:"):
            value = line[5:]
            self._data.append(value[1:] if value.startswith(" ") else value)
        return None

    def _dispatch(self) -> dict[str, Any] | None:
        if not self._data:
            return None
        data, self._data = "\n".join(self._data), []
        if data == "[DONE]":
            self.done = True
            return None
        event = _json_object(data)
        if event.get("error"):
            raise StreamError(event["error"])
        return event


class SyncTransport:
    """Blocking requests to one server (one httpx client, pooled connections)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._client = httpx.Client(
            timeout=httpx.Timeout(endpoint.timeout),
            headers=endpoint.request_headers(),
        )

    def _post(
        self, path: str, body: Mapping[str, Any]
    ) -> AbstractContextManager[httpx.Response]:
        return self._client.stream(
            "POST", self.endpoint.url(path), content=_body_bytes(body)
        )

    def _check(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            raw = b""
            for part in response.iter_bytes():
                raw += part
                if len(raw) >= ERROR_BODY_LIMIT:
                    break
            raise UpstreamStatus(response.status_code, _error_body(raw))

    def post_json(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST`` the body; the answer's JSON object.

        Raises:
            UpstreamStatus: a non-2xx answer.
            httpx.HTTPError: the exchange failed (connection, timeout).
            json.JSONDecodeError, MalformedEvent: the answer is not a JSON object.
        """
        with self._post(path, body) as response:
            self._check(response)
            return _json_object(response.read())

    def get_json(self, path: str) -> dict[str, Any]:
        """``GET`` a JSON object (raises as :meth:`post_json`)."""
        with self._client.stream("GET", self.endpoint.url(path)) as response:
            self._check(response)
            return _json_object(response.read())

    def events(self, path: str, body: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """``POST`` the body; the streamed events, until ``[DONE]`` or the end.

        Raises:
            StreamError: an error event in the stream.
            And what :meth:`post_json` and :meth:`EventDecoder.feed` raise.
        """
        with self._post(path, body) as response:
            self._check(response)
            decoder = EventDecoder()
            for chunk in response.iter_bytes():
                yield from decoder.feed(chunk)
                if decoder.done:
                    return  # no drain: a blocking read has no deadline of its own
            yield from decoder.end()

    def close(self) -> None:
        self._client.close()


class AsyncTransport:
    """Requests to one server on one event loop (one aiohttp session; a session
    belongs to the loop it was made on). Make it with :meth:`open`, inside the loop.

    The session closes with :meth:`close`, or else when its loop is shut down by
    ``asyncio.run`` (which closes the loop's live async generators, among them this
    session's keeper): a library caller that runs ``asyncio.run(router.ainvoke(...))``
    and never closes the router leaves no connection open and gets no warning.
    """

    @classmethod
    async def open(cls, endpoint: Endpoint) -> AsyncTransport:
        transport = cls(endpoint)
        transport._keeper = await close_with_loop(transport._session.close)
        return transport

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._keeper: AsyncGenerator[None, None] | None = None
        self._proxy = env_proxy(endpoint.base_url)
        self._session = aiohttp.ClientSession(
            headers=endpoint.request_headers(),
            # per read and per connect, as httpx's single timeout is: a long answer
            # that keeps streaming never times out, a stalled one does
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=endpoint.timeout, sock_read=endpoint.timeout
            ),
            connector=aiohttp.TCPConnector(limit=1000),
            trust_env=False,  # the proxy is read once (env_proxy), not per request
            auto_decompress=True,
        )

    def _post(
        self, path: str, body: Mapping[str, Any]
    ) -> AbstractAsyncContextManager[aiohttp.ClientResponse]:
        return self._session.post(
            self.endpoint.url(path), data=_body_bytes(body), proxy=self._proxy
        )

    async def _check(self, response: aiohttp.ClientResponse) -> None:
        if response.status >= 400:
            raw = b""
            async for part in response.content.iter_any():
                raw += part
                if len(raw) >= ERROR_BODY_LIMIT:
                    break
            raise UpstreamStatus(response.status, _error_body(raw))

    async def post_json(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Async twin of :meth:`SyncTransport.post_json` (aiohttp's errors)."""
        async with self._post(path, body) as response:
            await self._check(response)
            return _json_object(await response.read())

    async def get_json(self, path: str) -> dict[str, Any]:
        """Async twin of :meth:`SyncTransport.get_json`."""
        async with self._session.get(
            self.endpoint.url(path), proxy=self._proxy
        ) as response:
            await self._check(response)
            return _json_object(await response.read())

    async def events(
        self, path: str, body: Mapping[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        """Async twin of :meth:`SyncTransport.events`."""
        async with self._post(path, body) as response:
            await self._check(response)
            decoder = EventDecoder()
            async for chunk in response.content.iter_any():
                for event in decoder.feed(chunk):
                    yield event
                if decoder.done:
                    await _drain(response)
                    return
            for event in decoder.end():
                yield event

    @property
    def closed(self) -> bool:
        return self._session.closed

    async def close(self) -> None:
        await self._session.close()
