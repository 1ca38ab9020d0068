"""Client-chosen model specs (``BACKEND:MODEL`` in a request's ``model``), made safe.

Off unless the operator allows them (``allow_model_specs``). When on:

* only the backends in ``model_spec_backends`` (default: all registered ones except the
  overhead-measuring ``fake``, which a client never reaches) and, when set, only specs
  matching a ``model_spec_allow`` glob are taken;
* a spec is made **canonical** first, so that the same weights under different
  spellings are one model (``hf:/m``, ``hf:/m/``, ``hf://m//`` and ``gguf:/m.gguf``,
  ``gguf://m.gguf`` are one each): paths are resolved (``realpath``), a hub id is
  taken only when it is already in the local Hugging Face cache and becomes that
  snapshot folder, so a client never makes the server download anything;
* every refusal is the same 404, whether the file does not exist, is not readable,
  is not a model, or is not allowed: the answer says nothing about the filesystem;
* nested specs (``openai:openai:auto``) and backends whose URL is this server itself
  are refused, so the server never calls itself;
* at most ``max_client_models`` client-chosen models stay loaded: a bounded LRU whose
  evicted entries are unloaded by backends that can (:class:`Unloadable`).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import os
import re
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from .errors import ApiError

__all__ = ["ClientModels", "Unloadable", "canonical_spec", "spec_not_found"]

_CLIENT_BLOCKED = frozenset({"fake"})
_LOCAL_FILES = ("gguf", "llamacpp")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,95}$")
_REMOTE_NAME = re.compile(r"^[A-Za-z0-9][\w.\-/]{0,199}(:[\w.\-]{1,128})?$")


@runtime_checkable
class Unloadable(Protocol):
    """A backend that can drop one model from memory."""

    def unload(self, model: str) -> None: ...


def spec_not_found(name: str, routes: Sequence[str] = ()) -> ApiError:
    """The one answer for every model name this server will not serve."""
    listed = ", ".join(f"auto:{r}" for r in routes)
    return ApiError(
        404,
        f"model {name[:200]!r} not found; use 'auto'"
        + (f", a route ({listed})" if listed else "")
        + " or a profile model",
        code="model_not_found",
        param="model",
    )


class _Refused(Exception):
    pass


def _is_path(name: str) -> bool:
    return name.startswith(("/", "./", "../", "~"))


def _real(name: str) -> Path:
    try:
        return Path(os.path.realpath(Path(name).expanduser()))
    except (OSError, ValueError):
        raise _Refused from None


def _gguf_file(name: str) -> str:
    from qwen_router.backends.bundled import is_bundled

    if is_bundled(name):
        return name
    if not _is_path(name) and not name.endswith(".gguf"):
        raise _Refused
    path = _real(name)
    try:
        if not path.is_file():  # stat first: opening a FIFO would block
            raise _Refused
        with path.open("rb") as handle:
            if handle.read(4) != b"GGUF":
                raise _Refused
    except OSError:
        raise _Refused from None
    return str(path)


def _hf_folder(name: str) -> str:
    if _is_path(name):
        path = _real(name)
        try:
            if not (path / "config.json").is_file():
                raise _Refused
        except OSError:
            raise _Refused from None
        return str(path)
    if not _HUB_ID.match(name):
        raise _Refused
    try:  # the local cache only: a client never makes the server download
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(name, "config.json")
    except Exception:  # any hub-client failure: not available
        raise _Refused from None
    if not isinstance(found, str):
        raise _Refused
    return str(Path(found).parent)


def canonical_spec(backend: str, name: str) -> str:
    """The one spelling of ``backend:name`` (see the module docs).

    Raises:
        ValueError: the spec cannot be served to a client.
    """
    name = name.strip()
    try:
        if (
            not name
            or "\x00" in name
            or name.split(":", 1)[0].lower() in _all_backends()
        ):
            raise _Refused  # nested specs: openai:openai:auto
        if backend == "hf":
            return f"hf:{_hf_folder(name)}"
        if backend in _LOCAL_FILES:
            return f"{backend}:{_gguf_file(name)}"
        if not _REMOTE_NAME.match(name):
            raise _Refused
        if backend == "ollama" and ":" not in name:
            name += ":latest"
        return f"{backend}:{name}"
    except _Refused:
        raise ValueError(f"{backend}:{name}") from None


def _all_backends() -> frozenset[str]:
    from qwen_router.backends.registry import backend_names

    return frozenset(backend_names()) | {"auto"}


def _local_addresses() -> set[str]:
    addrs = {"127.0.0.1", "::1", "0.0.0.0", "::"}
    try:
        host = socket.gethostname()
        addrs |= {str(i[4][0]) for i in socket.getaddrinfo(host, None)}
    except OSError:
        pass
    return addrs


def points_at(url: str, port: int) -> bool:
    """Whether ``url`` names this host on ``port`` (a request to it would loop)."""
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        host, target = parts.hostname or "", parts.port
    except ValueError:
        return False
    if target is None:
        target = 443 if parts.scheme == "https" else 80
    if target != port:
        return False
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        try:
            ips = {str(i[4][0]) for i in socket.getaddrinfo(host, None)}
        except OSError:
            return False
        return bool(ips & _local_addresses()) or any(
            ipaddress.ip_address(i).is_loopback for i in ips
        )
    return ip.is_loopback or str(ip) in _local_addresses()


class ClientModels:
    """Admission and the bounded LRU of client-chosen models for one server."""

    def __init__(
        self,
        *,
        enabled: bool,
        backends: Sequence[str],
        patterns: Sequence[str],
        capacity: int,
        profile_models: set[str],
        get_backend: Callable[[str], Any],
        own_port: int,
    ) -> None:
        from qwen_router.backends.registry import backend_names

        self.enabled = enabled
        allowed = set(backends) if backends else set(backend_names())
        self.backends = frozenset(allowed - _CLIENT_BLOCKED)
        self.patterns = list(patterns)
        self.capacity = capacity
        self.profile_models = set(profile_models)
        self._get_backend = get_backend
        self._own_port = own_port
        self._lru: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, name: str) -> str:
        """The canonical spec for a client's ``BACKEND:MODEL``, counted as used.

        Raises:
            ValueError: not allowed, not present, nested, or pointing at this server
                (the caller answers every case with the same 404).
        """
        backend, sep, rest = name.strip().partition(":")
        backend = backend.lower()
        if not (self.enabled and sep and backend in self.backends):
            raise ValueError(name)
        spec = canonical_spec(backend, rest)
        if self.patterns and not any(
            fnmatch.fnmatchcase(spec, p) for p in self.patterns
        ):
            raise ValueError(name)
        if self._loops(backend, spec.split(":", 1)[1]):
            raise ValueError(name)
        if spec not in self.profile_models:
            self._touch(backend, spec)
        return spec

    def _loops(self, backend: str, model: str) -> bool:
        if backend not in ("openai", "ollama"):
            return False
        instance = self._get_backend(backend)
        url_for = getattr(instance, "url_for", None)
        url = url_for(model) if url_for else getattr(instance, "host", "")
        return bool(url) and points_at(str(url), self._own_port)

    def _touch(self, backend: str, spec: str) -> None:
        evicted: list[str] = []
        with self._lock:
            self._lru[spec] = None
            self._lru.move_to_end(spec)
            while len(self._lru) > self.capacity:
                old, _ = self._lru.popitem(last=False)
                evicted.append(old)
        for old in evicted:
            old_backend, _, old_model = old.partition(":")
            instance = self._get_backend(old_backend)
            if isinstance(instance, Unloadable):
                instance.unload(old_model)

    @property
    def cached(self) -> list[str]:
        """Client-chosen specs held now, least recently used first."""
        with self._lock:
            return list(self._lru)
