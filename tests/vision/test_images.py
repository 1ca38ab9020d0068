"""The image guard: every accepted input form, every refused one, EXIF, decode once."""

from __future__ import annotations

import base64
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qwen_router.errors import ImageError, InputError
from qwen_router.images import (
    ImageLimits,
    clear_image_cache,
    decode_image,
    guard_images,
    load_image_bytes,
    model_images,
)
from qwen_router.types import Message, normalize_messages
from vision_samples import (
    chart,
    data_url,
    encode,
    jpeg_bytes,
    jpeg_with_orientation,
    png_bomb,
    png_bytes,
)


def _ask(*images: Any, text: str = "What does the chart show?") -> list[Message]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts += [{"type": "image", "image": image} for image in images]
    return normalize_messages([{"role": "user", "content": parts}])


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_image_cache()
    yield
    clear_image_cache()


# --- accepted forms -------------------------------------------------------------------
def test_every_input_form_decodes_to_the_same_picture(tmp_path: Path) -> None:
    png = png_bytes(96, 64)
    path = tmp_path / "chart.png"
    path.write_bytes(png)
    forms = [
        chart(96, 64),  # PIL image (turned into PNG bytes by ImagePart)
        png,
        jpeg_bytes(96, 64),
        str(path),
        base64.b64encode(png).decode("ascii"),
        data_url(png),
        data_url(jpeg_bytes(96, 64), "image/jpeg"),
    ]
    decoded = guard_images(_ask(*forms))
    assert [(d.width, d.height) for d in decoded] == [(96, 64)] * len(forms)
    assert [d.format for d in decoded] == [
        "PNG",
        "PNG",
        "JPEG",
        "PNG",
        "PNG",
        "PNG",
        "JPEG",
    ]
    assert [d.part_index for d in decoded] == list(range(1, len(forms) + 1))
    assert all(d.image.size == (96, 64) for d in decoded)


def test_openai_style_image_url_part_is_accepted() -> None:
    messages = normalize_messages(
        [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": data_url(png_bytes())}}
                ],
            }
        ]
    )
    assert guard_images(messages)[0].format == "PNG"


def test_exif_orientation_is_applied() -> None:
    rotated = jpeg_with_orientation(96, 64, orientation=6)  # "rotate 90° clockwise"
    decoded = guard_images(_ask(rotated))[0]
    assert (decoded.width, decoded.height) == (64, 96)
    assert decoded.image.size == (64, 96)
    assert decoded.image.getexif().get(0x0112) in (None, 1)


def test_decoded_once_and_reused_by_the_backend_helper(tmp_path: Path) -> None:
    path = tmp_path / "chart.jpg"
    path.write_bytes(jpeg_bytes())
    messages = _ask(str(path), data_url(png_bytes()))
    guarded = guard_images(messages)
    for_model = model_images(messages)
    assert [g.image is m.image for g, m in zip(guarded, for_model, strict=True)] == [
        True,
        True,
    ]


def test_a_changed_file_is_decoded_again(tmp_path: Path) -> None:
    path = tmp_path / "chart.png"
    path.write_bytes(png_bytes(96, 64))
    first = decode_image(str(path))
    path.write_bytes(png_bytes(80, 40))
    second = decode_image(str(path))
    assert (first.width, second.width) == (96, 80)


# --- refused inputs -------------------------------------------------------------------
def _tiff() -> bytes:
    return encode(chart(), "TIFF")


def _truncated_png() -> bytes:
    data = png_bytes(256, 256)
    return data[: len(data) // 2]


BAD_IMAGES = {
    "corrupt bytes": (
        b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 8,
        "not a readable image",
    ),
    "truncated png": (_truncated_png(), "truncated"),
    "tiff": (_tiff(), "unsupported image format TIFF"),
    "svg bytes": (b'<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>', "SVG"),
    "svg text": ('<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>', "SVG"),
    "decompression bomb": (png_bomb(50_000, 50_000), "decompression bomb"),
    "not base64": ("this is not an image", "not a file path, data URL or valid base64"),
    "missing file": ("/no/such/dir/chart.png", "file not found"),
    "missing relative file": ("chart-that-is-not-here.jpg", "file not found"),
    "data url without base64": ("data:image/png,rawbytes", "data URL must be base64"),
    "url while disallowed": ("https://example.com/chart.png", "URLs are not fetched"),
}


@pytest.mark.parametrize("name", sorted(BAD_IMAGES))
def test_bad_image_is_a_clear_error_naming_the_part(name: str) -> None:
    image, expected = BAD_IMAGES[name]
    messages = [
        Message(role="system", content="be brief"),
        *_ask(png_bytes(), image),
    ]
    with pytest.raises(ImageError) as info:
        guard_images(messages)
    message = str(info.value)
    assert "message 1 (user) part 2" in message
    assert expected in message
    assert isinstance(info.value, InputError)


def test_too_many_images() -> None:
    with pytest.raises(ImageError, match=r"part 3: more than 2 images"):
        guard_images(
            _ask(png_bytes(), png_bytes(), png_bytes()), ImageLimits(max_images=2)
        )


def test_too_many_bytes_is_refused_before_decoding(tmp_path: Path) -> None:
    data = png_bytes(400, 300)
    path = tmp_path / "big.png"
    path.write_bytes(data)
    limits = ImageLimits(max_bytes=len(data) - 1)
    for form in (data, str(path), data_url(data)):
        with pytest.raises(ImageError, match="over the limit of"):
            guard_images(_ask(form), limits)


def test_too_many_pixels() -> None:
    with pytest.raises(ImageError, match=r"400x300 pixels is over the limit of 100000"):
        guard_images(_ask(png_bytes(400, 300)), ImageLimits(max_pixels=100_000))


def test_limits_apply_to_cached_decodes_too() -> None:
    data = png_bytes(400, 300)
    guard_images(_ask(data))
    with pytest.raises(ImageError, match="pixels is over the limit"):
        guard_images(_ask(data), ImageLimits(max_pixels=1000))


def test_unsupported_value_type() -> None:
    with pytest.raises(ImageError, match="unsupported image value"):
        load_image_bytes(12345)  # type: ignore[arg-type]
    with pytest.raises(ImageError, match="unsupported image value"):
        decode_image(12345)  # type: ignore[arg-type]


# --- URLs, only when allowed ----------------------------------------------------------
@pytest.fixture
def image_server() -> Iterator[str]:
    """A real HTTP server on loopback serving one PNG at /chart.png."""
    body = png_bytes(48, 32)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path != "/chart.png":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


LOOPBACK_ALLOWED = [
    "127.0.0.1/32"
]  # the test's image server stands for an allowed store


def test_url_fetched_only_when_allowed(image_server: str) -> None:
    url = f"{image_server}/chart.png"
    allowed = ImageLimits(allow_urls=True, url_allow_networks=LOOPBACK_ALLOWED)
    with pytest.raises(ImageError, match="URLs are not fetched"):
        guard_images(_ask(url))
    decoded = guard_images(_ask(url), allowed)
    assert (decoded[0].width, decoded[0].height) == (48, 32)
    # the backend reuses what the guard fetched, without refusing the URL again
    assert model_images(_ask(url))[0].image is decoded[0].image
    # but another request under the default policy is still refused
    with pytest.raises(ImageError, match="URLs are not fetched"):
        guard_images(_ask(url))


def test_url_errors_are_one_generic_image_error(image_server: str) -> None:
    allowed = ImageLimits(allow_urls=True, url_allow_networks=LOOPBACK_ALLOWED)
    messages = set()
    for url, limits in (
        (f"{image_server}/missing.png", allowed),
        (f"{image_server}/chart.png", allowed.model_copy(update={"max_bytes": 10})),
        (
            f"{image_server}/chart.png",
            ImageLimits(allow_urls=True),
        ),  # loopback: refused
        ("http://127.0.0.1:1/x.png", allowed),  # a closed port says the same
    ):
        with pytest.raises(ImageError) as info:
            guard_images(_ask(url), limits)
        messages.add(str(info.value))
    assert len(messages) == 1 and "could not be fetched" in messages.pop()


def test_public_address_policy() -> None:
    from qwen_router.image_urls import public_address

    for ip in (
        "127.0.0.1",
        "10.0.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "0.0.0.0",
        "::ffff:127.0.0.1",
        "224.0.0.1",
        "100.64.0.1",
    ):
        assert not public_address(ip), ip
    assert public_address("93.184.216.34") and public_address("2606:4700::1111")
    import ipaddress

    assert public_address("10.0.0.5", [ipaddress.ip_network("10.0.0.0/24")])


def test_total_decoded_pixels_per_request_are_capped() -> None:
    import io

    from PIL import Image

    def png(w: int, h: int) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", (w, h), (1, 2, 3)).save(buf, format="PNG")
        return buf.getvalue()

    messages = [
        Message(
            role="user",
            content=[
                {"type": "text", "text": "?"},
                {"type": "image", "image": png(30, 30)},
                {"type": "image", "image": png(31, 30)},
            ],
        )
    ]
    assert len(guard_images(messages, ImageLimits(max_total_pixels=2000))) == 2
    with pytest.raises(ImageError, match="per request"):
        guard_images(messages, ImageLimits(max_total_pixels=1500))
