"""Image parts: read once, check, and normalise to bytes before any model work.

Accepted: a file path, raw bytes, base64, a ``data:`` URL (and an ``http(s)`` URL
only when fetching is allowed). Limits: bytes, pixels (decompression bombs), count.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from pathlib import Path

from pydantic import BaseModel

from .errors import ImageError
from .types import ImagePart, Message

__all__ = ["DecodedImage", "ImageLimits", "guard_images", "load_image_bytes"]

_DATA_URL = re.compile(r"^data:(image/[\w.+-]+)?(;[\w=-]+)*;base64,", re.I)
_FORMATS = {"PNG", "JPEG", "GIF", "WEBP", "BMP"}


class ImageLimits(BaseModel):
    max_images: int = 8
    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    allow_urls: bool = False


class DecodedImage(BaseModel):
    """A checked image: its bytes, format and size."""

    data: bytes
    format: str
    width: int
    height: int
    message_index: int
    part_index: int


def load_image_bytes(image: str | bytes, *, allow_urls: bool = False, where: str = "image") -> bytes:
    """Resolve one image reference to its raw bytes.

    Raises:
        ImageError: unreadable path, bad base64 / data URL, or a URL while fetching is off.
    """
    if isinstance(image, bytes):
        return image
    text = image.strip()
    if not text:
        raise ImageError(f"{where}: empty image reference")
    if _DATA_URL.match(text):
        return _b64(text.split(",", 1)[1], where)
    if text.startswith(("http://", "https://")):
        if not allow_urls:
            raise ImageError(
                f"{where}: image URLs are not fetched", hint="pass the file, bytes or a data URL"
            )
        return _fetch(text, where)
    if len(text) < 4096 and ("/" in text or "\\" in text or "." in text[-6:]):
        path = Path(text).expanduser()
        if path.is_file():
            try:
                return path.read_bytes()
            except OSError as exc:
                raise ImageError(f"{where}: cannot read {path}: {exc.strerror}") from None
        if not re.fullmatch(r"[A-Za-z0-9+/=\s]+", text):
            raise ImageError(f"{where}: file not found: {path}")
    return _b64(text, where)


def _b64(text: str, where: str) -> bytes:
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        raise ImageError(f"{where}: not a file path, data URL or valid base64") from None


def _fetch(url: str, where: str) -> bytes:
    import httpx

    try:
        response = httpx.get(url, timeout=10.0, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise ImageError(f"{where}: cannot fetch {url}: {exc}") from None
    return response.content


def _decode(data: bytes, limits: ImageLimits, where: str) -> tuple[str, int, int]:
    if len(data) > limits.max_bytes:
        raise ImageError(f"{where}: {len(data)} bytes is over the limit of {limits.max_bytes}")
    try:
        from PIL import Image
    except ImportError:
        raise ImageError(f"{where}: decoding images needs Pillow", hint="pip install 'qwen-router[vision]'") from None
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, (width, height) = img.format or "", img.size
            if width * height > limits.max_pixels:
                raise ImageError(
                    f"{where}: {width}x{height} pixels is over the limit of {limits.max_pixels}"
                )
            if fmt not in _FORMATS:
                raise ImageError(f"{where}: unsupported image format {fmt or 'unknown'}")
            img.verify()
    except ImageError:
        raise
    except Exception as exc:  # PIL raises many types for corrupt files
        raise ImageError(f"{where}: not a readable image ({type(exc).__name__})") from None
    return fmt, width, height


def guard_images(messages: list[Message], limits: ImageLimits | None = None) -> list[DecodedImage]:
    """Decode and check every image part, in order.

    Raises:
        ImageError: naming the message and part that failed.
    """
    limits = limits or ImageLimits()
    found: list[DecodedImage] = []
    for mi, message in enumerate(messages):
        if isinstance(message.content, str):
            continue
        for pi, part in enumerate(message.content):
            if not isinstance(part, ImagePart):
                continue
            where = f"message {mi} part {pi}"
            if len(found) >= limits.max_images:
                raise ImageError(f"{where}: more than {limits.max_images} images")
            data = load_image_bytes(part.image, allow_urls=limits.allow_urls, where=where)
            fmt, width, height = _decode(data, limits, where)
            found.append(
                DecodedImage(
                    data=data, format=fmt, width=width, height=height, message_index=mi, part_index=pi
                )
            )
    return found
