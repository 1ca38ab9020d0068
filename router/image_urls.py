"""Fetching ``http(s)`` image URLs without letting a client reach the server's network.

Only when the operator turns fetching on (``allow_image_urls``). Every hop, the first
and each redirect, is resolved here and refused unless every address the name resolves
to is public (not loopback, private, link-local, multicast, reserved or unspecified),
or inside a network the operator allowed (``url_allow_networks``). The connection then
goes to the checked address itself (the name is kept for ``Host`` and TLS), so a second
DNS answer cannot point it elsewhere. One deadline covers the whole fetch, redirects
included, and the body is capped at ``max_bytes`` while it streams.

A client learns nothing about the network from a failure: every refusal and failure is
the same :class:`~qwen_router.errors.ImageError` message; the reason is logged.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urljoin

from .errors import ImageError
from .types import ImagePart, Message

__all__ = [
    "MAX_REDIRECTS",
    "fetch_image_url",
    "fetch_image_url_sync",
    "fetch_url_images",
    "public_address",
]

log = logging.getLogger("qwen_router.images")
MAX_REDIRECTS = 3
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class _Refused(Exception):
    """Why a fetch failed (logged, never shown to the client)."""


def _generic(where: str) -> ImageError:
    return ImageError(
        f"{where}: the image URL could not be fetched",
        hint="send the image as a data: URL",
    )


def public_address(ip: str, allow: Sequence[_Network] = ()) -> bool:
    """Whether ``ip`` may be fetched: a global address, or inside ``allow``."""
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if any(addr in net for net in allow):
        return True
    return addr.is_global and not (addr.is_multicast or addr.is_reserved)


def _networks(cidrs: Sequence[str]) -> list[_Network]:
    return [ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip()]


async def _resolve(host: str, port: int, allow: Sequence[_Network]) -> str:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise _Refused(f"cannot resolve {host!r}: {exc}") from None
    addrs = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addrs:
        raise _Refused(f"{host!r} has no address")
    blocked = [a for a in addrs if not public_address(a, allow)]
    if blocked:
        raise _Refused(f"{host!r} resolves to a non-public address {blocked[0]}")
    return addrs[0]


async def _fetch(url: str, max_bytes: int, allow: Sequence[_Network]) -> bytes:
    import httpx

    for _hop in range(MAX_REDIRECTS + 1):
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise _Refused(f"not an http(s) URL: {url!r}")
        if parsed.userinfo:
            raise _Refused("credentials in the URL")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        ip = await _resolve(parsed.host, port, allow)
        pinned = parsed.copy_with(host=ip)
        host_header = parsed.host if parsed.port is None else f"{parsed.host}:{port}"
        extensions: dict[str, Any] = {}
        if parsed.scheme == "https":
            extensions["sni_hostname"] = parsed.host
        async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
            request = client.build_request(
                "GET",
                pinned,
                headers={"Host": host_header, "Accept": "image/*"},
                extensions=extensions,
            )
            response = await client.send(request, stream=True)
            try:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(str(parsed), response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise _Refused(f"status {response.status_code}")
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > max_bytes:
                    raise _Refused(f"{length} bytes, over {max_bytes}")
                data = bytearray()
                async for piece in response.aiter_bytes():
                    data += piece
                    if len(data) > max_bytes:
                        raise _Refused(f"over {max_bytes} bytes")
                return bytes(data)
            finally:
                await response.aclose()
    raise _Refused(f"more than {MAX_REDIRECTS} redirects")


async def fetch_image_url(
    url: str,
    *,
    max_bytes: int,
    timeout_s: float,
    allow_networks: Sequence[str] = (),
    where: str = "image",
) -> bytes:
    """The bytes at ``url``, fetched within ``timeout_s`` in all.

    Raises:
        ImageError: one generic message for any refusal or failure (a non-public
            target, a redirect to one, DNS, connection, status, size or deadline).
    """
    import httpx

    try:
        return await asyncio.wait_for(
            _fetch(url, max_bytes, _networks(allow_networks)), timeout_s
        )
    except (
        _Refused,
        httpx.HTTPError,
        OSError,
        asyncio.TimeoutError,
        ValueError,
    ) as exc:
        log.info("image URL refused (%s): %s", where, exc or type(exc).__name__)
        raise _generic(where) from None


def fetch_image_url_sync(
    url: str,
    *,
    max_bytes: int,
    timeout_s: float,
    allow_networks: Sequence[str] = (),
    where: str = "image",
) -> bytes:
    """:func:`fetch_image_url` for synchronous callers (runs its own event loop).

    Raises:
        ImageError: as :func:`fetch_image_url`.
    """

    def run() -> bytes:
        return asyncio.run(
            fetch_image_url(
                url,
                max_bytes=max_bytes,
                timeout_s=timeout_s,
                allow_networks=allow_networks,
                where=where,
            )
        )

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run()
    # called from a thread that runs a loop: fetch in a fresh thread
    box: list[Any] = []
    worker = threading.Thread(target=lambda: box.append(_capture(run)), daemon=True)
    worker.start()
    worker.join()
    outcome = box[0]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome  # type: ignore[no-any-return]


def _capture(fn: Any) -> Any:
    try:
        return fn()
    except BaseException as exc:  # handed back to the calling thread
        return exc


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.strip()[:8].lower().startswith(
        ("http://", "https://")
    )


async def fetch_url_images(
    messages: list[Message],
    *,
    max_bytes: int,
    timeout_s: float,
    allow_networks: Sequence[str] = (),
) -> list[Message]:
    """``messages`` with every URL image part replaced by the fetched bytes, so that
    fetching happens before (and outside) any backend slot; the fetches of one
    request share one deadline.

    Raises:
        ImageError: as :func:`fetch_image_url`.
    """
    jobs: list[tuple[int, int, str]] = []
    for mi, message in enumerate(messages):
        if isinstance(message.content, str):
            continue
        for pi, part in enumerate(message.content):
            if isinstance(part, ImagePart) and _is_url(part.image):
                jobs.append((mi, pi, part.image.strip()))
    if not jobs:
        return messages

    async def one(mi: int, pi: int, url: str) -> bytes:
        return await fetch_image_url(
            url,
            max_bytes=max_bytes,
            timeout_s=timeout_s,
            allow_networks=allow_networks,
            where=f"message {mi} part {pi}",
        )

    try:
        fetched = await asyncio.wait_for(
            asyncio.gather(*(one(*job) for job in jobs)), timeout_s
        )
    except asyncio.TimeoutError:
        raise _generic(f"message {jobs[0][0]} part {jobs[0][1]}") from None
    out = list(messages)
    for (mi, pi, _url), data in zip(jobs, fetched, strict=True):
        content = list(out[mi].content)
        content[pi] = ImagePart(image=data)
        out[mi] = out[mi].model_copy(update={"content": content})
    return out
