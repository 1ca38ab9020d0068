"""Small helpers shared by the server tests."""

from __future__ import annotations

import base64
import io

from PIL import Image

__all__ = ["png_bytes", "png_data_url"]


def png_bytes(width: int = 8, height: int = 8) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def png_data_url(width: int = 8, height: int = 8) -> str:
    return (
        "data:image/png;base64," + base64.b64encode(png_bytes(width, height)).decode()
    )
