"""Image parts: resolved, checked and decoded once, before any model work.

Accepted references: a file path, raw bytes, base64, a ``data:`` URL, and an
``http(s)`` URL only when :attr:`ImageLimits.allow_urls` is on (off by default). PIL
images are turned into PNG bytes by :class:`~qwen_router.types.ImagePart` itself.

:func:`guard_images` (the graph's ``guard`` node) checks the count, the byte size, the
pixel count read from the header (so a decompression bomb is refused before a single
pixel is decoded), the format, and then decodes the pixels and applies the EXIF
orientation. Decoded images go into a small in-process cache keyed by the reference
(content hash for bytes / base64 / data URLs; path, size and mtime for files), so a
backend that needs pixels (:func:`model_images`) reuses them instead of decoding again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from .errors import ImageError
from .types import ImagePart, Message

__all__ = [
    "SUPPORTED_FORMATS",
    "DecodedImage",
    "ImageLimits",
    "clear_image_cache",
    "decode_image",
    "guard_images",
    "load_image_bytes",
    "model_images",
]

SUPPORTED_FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP", "BMP"})
_DATA_URL = re.compile(
    r"^data:(?:image/[\w.+-]+)?(?:;[\w.+-]+=[\w.+-]+)*;base64,", re.I
)
_B64 = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")
_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"RIFF", b"II*\x00", b"MM\x00*")
_CACHE_ENTRIES = 32
_CACHE_PIXELS = 64_000_000


class ImageLimits(BaseModel):
    """Bounds applied to the image parts of one request."""

    max_images: int = Field(default=8, ge=0)
    max_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    max_pixels: int = Field(default=40_000_000, ge=1)
    max_total_pixels: int = Field(default=48_000_000, ge=1)
    allow_urls: bool = False
    url_timeout_s: float = Field(default=10.0, gt=0)
    url_allow_networks: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class DecodedImage:
    """A checked, decoded image: a loaded PIL image with EXIF orientation applied.

    ``width`` / ``height`` are after orientation; ``nbytes`` is the encoded size.
    """

    image: Any
    format: str
    width: int
    height: int
    nbytes: int
    message_index: int = 0
    part_index: int = 0


@dataclass(frozen=True)
class _Entry:
    image: Any
    format: str
    width: int
    height: int
    nbytes: int


_cache: OrderedDict[str, _Entry] = OrderedDict()
_cache_lock = threading.Lock()


def clear_image_cache() -> None:
    """Forget every decoded image (the next use decodes again)."""
    with _cache_lock:
        _cache.clear()


def _cache_get(key: str) -> _Entry | None:
    with _cache_lock:
        entry = _cache.get(key)
        if entry is not None:
            _cache.move_to_end(key)
        return entry


def _cache_put(key: str, entry: _Entry) -> None:
    with _cache_lock:
        _cache[key] = entry
        _cache.move_to_end(key)
        while len(_cache) > 1 and (
            len(_cache) > _CACHE_ENTRIES
            or sum(e.width * e.height for e in _cache.values()) > _CACHE_PIXELS
        ):
            _cache.popitem(last=False)


# --- references -> bytes --------------------------------------------------------------
def _is_url(text: str) -> bool:
    return text[:8].lower().startswith(("http://", "https://"))


def _path_like(text: str) -> bool:
    return len(text) < 4096 and (
        "/" in text
        or "\\" in text
        or text.startswith("~")
        or re.search(r"\.[A-Za-z]{2,5}$", text) is not None
    )


def _existing_file(text: str) -> Path | None:
    if len(text) >= 4096 or "\n" in text:
        return None
    path = Path(text).expanduser()
    try:
        return path if path.is_file() else None
    except (OSError, ValueError):  # name too long, NUL byte
        return None


def _b64(text: str, where: str, max_bytes: int | None) -> bytes:
    text = re.sub(r"[\r\n\t]+", "", text)
    if max_bytes is not None and len(text) * 3 // 4 > max_bytes:
        raise ImageError(
            f"{where}: about {len(text) * 3 // 4} bytes, over the limit of {max_bytes}"
        )
    if not _B64.match(text):
        raise ImageError(f"{where}: not a file path, data URL or valid base64")
    text = text.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ImageError(
            f"{where}: not a file path, data URL or valid base64"
        ) from None


def _fetch(url: str, where: str, limits: ImageLimits) -> bytes:
    from .image_urls import fetch_image_url_sync

    return fetch_image_url_sync(
        url,
        max_bytes=limits.max_bytes,
        timeout_s=limits.url_timeout_s,
        allow_networks=limits.url_allow_networks,
        where=where,
    )


def load_image_bytes(
    image: str | bytes,
    *,
    allow_urls: bool = False,
    where: str = "image",
    max_bytes: int | None = None,
    limits: ImageLimits | None = None,
) -> bytes:
    """Resolve one image reference (path, bytes, base64, data URL, URL) to its bytes.

    URLs are fetched with :mod:`qwen_router.image_urls` (public addresses only, one
    deadline, ``limits``' size cap).

    Raises:
        ImageError: a missing or unreadable file, bad base64 or data URL, a URL while
            fetching is off, or more than ``max_bytes`` (checked before reading).
    """
    if isinstance(image, (bytes, bytearray)):
        return bytes(image)
    if not isinstance(image, str):
        raise ImageError(
            f"{where}: unsupported image value of type {type(image).__name__}"
        )
    text = image.strip()
    if not text:
        raise ImageError(f"{where}: empty image reference")
    if text[:5].lower() == "data:":
        match = _DATA_URL.match(text)
        if match is None:
            raise ImageError(
                f"{where}: a data URL must be base64 (data:image/png;base64,...)"
            )
        return _b64(text[match.end() :], where, max_bytes)
    if _is_url(text):
        if not allow_urls:
            raise _url_refused(where)
        fetch_limits = limits or ImageLimits()
        if max_bytes is not None:
            fetch_limits = fetch_limits.model_copy(update={"max_bytes": max_bytes})
        return _fetch(text, where, fetch_limits)
    path = _existing_file(text)
    if path is not None:
        return _read_file(path, where, max_bytes)
    if text.startswith("<"):
        raise ImageError(
            f"{where}: SVG/XML text is not a supported image", hint=_formats_hint()
        )
    if _path_like(text) and not _B64.match(re.sub(r"[\r\n\t]+", "", text)):
        raise ImageError(f"{where}: file not found: {Path(text).expanduser()}")
    data = _b64(text, where, max_bytes)
    if _path_like(text) and not data.startswith(_MAGIC):
        raise ImageError(f"{where}: file not found: {Path(text).expanduser()}")
    return data


def _url_refused(where: str) -> ImageError:
    return ImageError(
        f"{where}: image URLs are not fetched (fetching is off)",
        hint="pass the file, bytes or a data URL, or allow image URLs in the settings",
    )


def _read_file(path: Path, where: str, max_bytes: int | None) -> bytes:
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise ImageError(
                f"{where}: {path} is {size} bytes, over the limit of {max_bytes}"
            )
        return path.read_bytes()
    except OSError as exc:
        raise ImageError(f"{where}: cannot read {path}: {exc.strerror}") from None


def _cache_key(image: str | bytes, where: str) -> str:
    if isinstance(image, (bytes, bytearray)):
        return "b:" + hashlib.sha256(image).hexdigest()
    if not isinstance(image, str):
        raise ImageError(
            f"{where}: unsupported image value of type {type(image).__name__}"
        )
    text = image.strip()
    path = (
        None if text[:5].lower() == "data:" or _is_url(text) else _existing_file(text)
    )
    if path is not None:
        stat = path.stat()
        return f"p:{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    return "s:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# --- bytes -> pixels ------------------------------------------------------------------
def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise ImageError(
            "decoding images needs Pillow", hint="pip install 'qwen-router[vision]'"
        ) from None
    return Image


def _check(
    entry: _Entry, limits: ImageLimits, where: str, budget: int | None = None
) -> None:
    if entry.nbytes > limits.max_bytes:
        raise ImageError(
            f"{where}: {entry.nbytes} bytes is over the limit of {limits.max_bytes}"
        )
    if entry.width * entry.height > limits.max_pixels:
        raise ImageError(
            f"{where}: {entry.width}x{entry.height} pixels is over the limit of "
            f"{limits.max_pixels}"
        )
    if budget is not None and entry.width * entry.height > budget:
        raise ImageError(
            f"{where}: the request's images are over the limit of "
            f"{limits.max_total_pixels} decoded pixels per request"
        )


def _decode_bytes(
    data: bytes, limits: ImageLimits, where: str, budget: int | None = None
) -> _Entry:
    Image = _pil()
    from PIL import ImageOps, UnidentifiedImageError

    if len(data) > limits.max_bytes:
        raise ImageError(
            f"{where}: {len(data)} bytes is over the limit of {limits.max_bytes}"
        )
    if limits.max_pixels > (Image.MAX_IMAGE_PIXELS or 0):
        Image.MAX_IMAGE_PIXELS = limits.max_pixels  # PIL's own bomb guard follows ours
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(
            f"{where}: refused as a decompression bomb (over {limits.max_pixels} px)"
        ) from None
    except UnidentifiedImageError:
        kind = "SVG/XML text" if data.lstrip()[:1] == b"<" else "an unrecognised format"
        raise ImageError(
            f"{where}: not a supported image ({kind})", hint=_formats_hint()
        ) from None
    except Exception as exc:  # PIL raises many types for corrupt headers
        raise ImageError(
            f"{where}: not a readable image ({type(exc).__name__}: {exc})"
        ) from None
    fmt = (img.format or "").upper()
    try:
        if fmt not in SUPPORTED_FORMATS:
            raise ImageError(
                f"{where}: unsupported image format {fmt or 'unknown'}",
                hint=_formats_hint(),
            )
        header = _Entry(None, fmt, img.width, img.height, len(data))
        _check(header, limits, where, budget)
        try:
            img.load()
            ImageOps.exif_transpose(img, in_place=True)
        except Exception as exc:  # truncated or corrupt pixel data
            raise ImageError(
                f"{where}: corrupt or truncated {fmt} image "
                f"({type(exc).__name__}: {exc})"
            ) from None
    except ImageError:
        img.close()
        raise
    return _Entry(img, fmt, img.width, img.height, len(data))


def _formats_hint() -> str:
    return "supported: " + ", ".join(sorted(SUPPORTED_FORMATS))


def decode_image(
    image: str | bytes,
    limits: ImageLimits | None = None,
    *,
    where: str = "image",
    enforce_url_policy: bool = True,
    pixel_budget: int | None = None,
) -> DecodedImage:
    """Resolve, check and decode one image reference, reusing an earlier decode.

    ``enforce_url_policy=False`` lets a backend reuse an image the guard fetched.
    ``pixel_budget``: the decoded pixels the request has left; a larger image is
    refused from its header, before its pixels are decoded.

    Raises:
        ImageError: unreadable reference, over a limit, unsupported or corrupt image.
    """
    limits = limits or ImageLimits()
    if enforce_url_policy and not limits.allow_urls and isinstance(image, str):
        if _is_url(image.strip()):
            raise _url_refused(where)
    key = _cache_key(image, where)
    entry = _cache_get(key)
    if entry is None:
        data = load_image_bytes(
            image,
            allow_urls=limits.allow_urls or not enforce_url_policy,
            where=where,
            max_bytes=limits.max_bytes,
            limits=limits,
        )
        entry = _decode_bytes(data, limits, where, pixel_budget)
        _cache_put(key, entry)
    else:
        _check(entry, limits, where, pixel_budget)
    return DecodedImage(
        entry.image, entry.format, entry.width, entry.height, entry.nbytes
    )


def guard_images(
    messages: list[Message], limits: ImageLimits | None = None
) -> list[DecodedImage]:
    """Check and decode every image part, in order, before any model work.

    Raises:
        ImageError: naming the message and part that failed (count, bytes, pixels,
            format, corrupt data, a URL while fetching is off, a missing file).
    """
    limits = limits or ImageLimits()
    return _decode_all(messages, limits, enforce_url_policy=True)


def model_images(
    messages: list[Message], limits: ImageLimits | None = None
) -> list[DecodedImage]:
    """The decoded images of ``messages`` for a backend: cached decodes are reused, and
    URLs the guard already fetched are not refused again.

    Raises:
        ImageError: as :func:`guard_images`, for an image the guard did not see.
    """
    return _decode_all(messages, limits or ImageLimits(), enforce_url_policy=False)


def _decode_all(
    messages: list[Message], limits: ImageLimits, *, enforce_url_policy: bool
) -> list[DecodedImage]:
    found: list[DecodedImage] = []
    budget = limits.max_total_pixels
    for mi, message in enumerate(messages):
        if isinstance(message.content, str):
            continue
        for pi, part in enumerate(message.content):
            if not isinstance(part, ImagePart):
                continue
            where = f"message {mi} ({message.role}) part {pi}"
            if len(found) >= limits.max_images:
                raise ImageError(
                    f"{where}: more than {limits.max_images} images in one request"
                )
            decoded = decode_image(
                part.image,
                limits,
                where=where,
                enforce_url_policy=enforce_url_policy,
                pixel_budget=budget,
            )
            budget -= decoded.width * decoded.height
            found.append(
                DecodedImage(
                    decoded.image, decoded.format, decoded.width, decoded.height,
                    decoded.nbytes, message_index=mi, part_index=pi,
                )
            )  # fmt: skip
    return found
