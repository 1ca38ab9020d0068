"""Real images for the vision tests, generated with PIL (no files shipped)."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from typing import Any

__all__ = [
    "chart",
    "data_url",
    "encode",
    "jpeg_bytes",
    "jpeg_with_orientation",
    "png_bomb",
    "png_bytes",
]


def chart(width: int = 96, height: int = 64) -> Any:
    """A small bar chart drawn with PIL: three bars on a white background."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    for i, (value, colour) in enumerate(((0.4, "red"), (0.9, "green"), (0.6, "blue"))):
        left = 8 + i * (width - 16) // 3
        draw.rectangle(
            [left, height - 4 - int(value * (height - 8)), left + 16, height - 4],
            fill=colour,
        )
    draw.line([4, height - 4, width - 4, height - 4], fill="black")
    return img


def encode(img: Any, fmt: str, **save: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **save)
    return buf.getvalue()


def png_bytes(width: int = 96, height: int = 64) -> bytes:
    return encode(chart(width, height), "PNG")


def jpeg_bytes(width: int = 96, height: int = 64) -> bytes:
    return encode(chart(width, height), "JPEG", quality=90)


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A valid PNG header that claims ``width`` x ``height`` pixels, with tiny data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def jpeg_with_orientation(width: int, height: int, orientation: int) -> bytes:
    """A JPEG stored ``width`` x ``height`` whose EXIF says to rotate it."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(chart(width, height), "JPEG", exif=exif.tobytes())
