"""Vision benchmark: per-image preprocessing time and the latency the image guard adds.

For a few image sizes, as PNG and as JPEG bytes, it reports medians of:

* ``decode_ms``  — a plain PIL open + load (what a backend would do anyway);
* ``guard_ms``   — :func:`qwen_router.images.guard_images` on a cold cache (resolve,
  limits, header check, decode, EXIF orientation): the guard node's image cost;
* ``added_ms``   — ``guard_ms - decode_ms``: the guard's own overhead when the decode
  is reused by the backend (transformers); for a bytes-forwarding backend (Ollama,
  OpenAI) the whole ``guard_ms`` is added;
* ``reuse_ms``   — the backend fetching the already-decoded image from the cache;
* ``process_ms`` — the Qwen-VL image processor (resize to ``min/max_pixels``, patches),
  and the number of vision tokens the image becomes.

    qwen-router bench vision [--sizes 256x256,1024x768] [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel
from qwen_router.errors import RouterError
from qwen_router.images import (
    ImageLimits,
    clear_image_cache,
    guard_images,
    model_images,
)
from qwen_router.types import ImagePart, Message

__all__ = ["VisionBenchRow", "main", "run"]

# Qwen2.5-VL-*-Instruct's preprocessor_config.json
QWEN25_VL_MIN_PIXELS = 3136
QWEN25_VL_MAX_PIXELS = 12_845_056


class VisionBenchRow(BaseModel):
    size: str
    format: str
    kbytes: float
    decode_ms: float
    guard_ms: float
    added_ms: float
    reuse_ms: float
    process_ms: float | None
    vision_tokens: int | None


def _sample(width: int, height: int) -> Any:
    """A chart-like picture: a gradient background, bars, and some text."""
    from PIL import Image, ImageDraw

    gradient = Image.linear_gradient("L").resize((width, height))
    img = Image.merge(
        "RGB", (gradient, gradient.rotate(90).resize((width, height)), gradient)
    )
    draw = ImageDraw.Draw(img)
    bars = 12
    for i in range(bars):
        left = width * i // bars + 2
        top = height - (height * ((i * 7) % bars + 1)) // (bars + 1)
        draw.rectangle(
            [left, top, left + width // (bars * 2), height - 2],
            fill=(200, 40 + i * 15, 60),
        )
        draw.text((left, max(0, top - 12)), f"{i * 7 % 31}", fill="black")
    return img


def _encoded(img: Any, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


def _median_ms(
    fn: Callable[[], Any], repeats: int, before: Callable[[], Any] | None = None
) -> float:
    times = []
    for _ in range(repeats):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 3)


def _paired_ms(
    first: Callable[[], Any],
    second: Callable[[], Any],
    repeats: int,
    reset: Callable[[], Any],
) -> tuple[float, float]:
    """Medians of two timings taken alternately, so load changes hit both alike."""
    a, b = [], []
    for _ in range(repeats):
        for fn, out in ((first, a), (second, b)):
            reset()
            start = time.perf_counter()
            fn()
            out.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(a), 3), round(statistics.median(b), 3)


def _processor(model: str | None, min_pixels: int, max_pixels: int) -> Any:
    try:
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
            Qwen2VLImageProcessorPil,
        )
    except ImportError:
        return None
    if model is None:
        return Qwen2VLImageProcessorPil(min_pixels=min_pixels, max_pixels=max_pixels)
    from transformers import AutoImageProcessor

    return AutoImageProcessor.from_pretrained(model)


def run(
    sizes: Sequence[tuple[int, int]],
    *,
    repeats: int = 5,
    model: str | None = None,
    min_pixels: int = QWEN25_VL_MIN_PIXELS,
    max_pixels: int = QWEN25_VL_MAX_PIXELS,
) -> list[VisionBenchRow]:
    """Measure every size as PNG and JPEG.

    Raises:
        RouterError: an image the guard refuses (e.g. a size over the pixel limit).
    """
    from PIL import Image

    processor = _processor(model, min_pixels, max_pixels)
    limits = ImageLimits(
        max_pixels=max(40_000_000, max(w * h for w, h in sizes) + 1), max_bytes=1 << 30
    )
    rows = []
    for width, height in sizes:
        picture = _sample(width, height)
        for fmt in ("PNG", "JPEG"):
            data = _encoded(picture, fmt)
            messages = [Message(role="user", content=[ImagePart(image=data)])]

            def decode(data: bytes = data) -> Any:
                img = Image.open(io.BytesIO(data))
                img.load()
                return img

            decode_ms, guard_ms = _paired_ms(
                decode,
                lambda m=messages: guard_images(m, limits),
                repeats,
                clear_image_cache,
            )
            guard_images(messages, limits)
            reuse_ms = _median_ms(lambda m=messages: model_images(m, limits), repeats)
            process_ms = tokens = None
            if processor is not None:
                image = model_images(messages, limits)[0].image
                process_ms = _median_ms(
                    lambda i=image: processor(images=[i], return_tensors="pt"), repeats
                )
                grid = processor(images=[image], return_tensors="pt")["image_grid_thw"][
                    0
                ]
                tokens = int(grid.prod()) // (processor.merge_size**2)
            rows.append(
                VisionBenchRow(
                    size=f"{width}x{height}",
                    format=fmt,
                    kbytes=round(len(data) / 1024, 1),
                    decode_ms=decode_ms,
                    guard_ms=guard_ms,
                    added_ms=round(guard_ms - decode_ms, 3),
                    reuse_ms=reuse_ms,
                    process_ms=process_ms,
                    vision_tokens=tokens,
                )
            )
    clear_image_cache()
    return rows


def _table(rows: list[VisionBenchRow]) -> str:
    head = (
        "size",
        "fmt",
        "KiB",
        "decode_ms",
        "guard_ms",
        "added_ms",
        "reuse_ms",
        "process_ms",
        "tokens",
    )
    lines = ["  ".join(f"{h:>10}" for h in head)]
    for r in rows:
        process = "-" if r.process_ms is None else r.process_ms
        tokens = "-" if r.vision_tokens is None else r.vision_tokens
        cells = (r.size, r.format, r.kbytes, r.decode_ms, r.guard_ms, r.added_ms)
        cells += (r.reuse_ms, process, tokens)
        lines.append("  ".join(f"{c:>10}" for c in cells))
    return "\n".join(lines)


def _sizes(text: str) -> list[tuple[int, int]]:
    out = []
    for item in text.split(","):
        width, _, height = item.strip().lower().partition("x")
        out.append((int(width), int(height)))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``qwen-router bench vision [--sizes WxH,...] [--repeats N] [--model DIR]``."""
    parser = argparse.ArgumentParser(
        prog="qwen-router bench vision", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--sizes", default="256x256,1024x768,2048x1536,4032x3024")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--model", help="a Qwen-VL folder whose image processor to time"
    )
    parser.add_argument("--min-pixels", type=int, default=QWEN25_VL_MIN_PIXELS)
    parser.add_argument("--max-pixels", type=int, default=QWEN25_VL_MAX_PIXELS)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    try:
        rows = run(
            _sizes(args.sizes), repeats=max(1, args.repeats), model=args.model,
            min_pixels=args.min_pixels, max_pixels=args.max_pixels,
        )  # fmt: skip
    except (RouterError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print("[" + ",\n ".join(r.model_dump_json() for r in rows) + "]")
    else:
        print(_table(rows))
        print(
            f"medians of {args.repeats} runs; guard = resolve + limits + decode + EXIF,"
            " "
            "added = guard - plain decode"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
