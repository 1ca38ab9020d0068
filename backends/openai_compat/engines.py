"""Which serving engine an OpenAI-compatible endpoint is, and what it can do about a
thinking budget.

Declared in the profile (``backends.openai.engine: vllm | sglang | llamacpp |
generic``) or, with ``auto`` (the default), probed once per base URL:

============  ====================================  ==================================
engine        native budget                         continues a message
============  ====================================  ==================================
vllm          ``thinking_token_budget`` (request)   yes (``continue_final_message``)
sglang        ``custom_params.thinking_budget``     yes
              with ``strict_thinking: true``
              (``--enable-strict-thinking``)
llamacpp      ``reasoning_budget: N`` declared:     no: llama-cpp-python's server
              llama-server's ``--reasoning-budget``  ignores ``continue_final_message``
              is server-side
generic       none                                  checked: the prefix must be echoed
============  ====================================  ==================================

Probes (GET, short timeout, failures mean ``generic``): SGLang's
``/get_server_info``, llama-server's ``/props``, vLLM's ``/version``, and
llama-cpp-python's ``/v1/models`` (``owned_by: "me"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import httpx

__all__ = [
    "ENGINES",
    "Engine",
    "EngineConfig",
    "budget_fields",
    "probe_engine",
]

Engine = Literal["vllm", "sglang", "llamacpp", "generic"]
ENGINES: tuple[str, ...] = ("auto", "vllm", "sglang", "llamacpp", "generic")
_PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class EngineConfig:
    """What the profile declares about the engine behind ``base_url``."""

    engine: str = "auto"
    reasoning_budget: int | None = None  # llama-server --reasoning-budget N
    strict_thinking: bool = False  # sglang --enable-strict-thinking

    def native_budget(self, engine: Engine, budget: int) -> int | None:
        """The budget the engine enforces for a request asking ``budget``, or None."""
        if engine == "vllm":
            return budget
        if engine == "sglang" and self.strict_thinking:
            return budget
        if engine == "llamacpp" and self.reasoning_budget is not None:
            declared = self.reasoning_budget
            return declared if 0 <= declared <= budget else None
        return None

    @staticmethod
    def continues(engine: Engine) -> bool | None:
        """True: trusted; False: cannot; None: check that the prefix is echoed."""
        return {"vllm": True, "sglang": True, "llamacpp": False}.get(engine)


def budget_fields(engine: Engine, budget: int) -> dict[str, Any]:
    """The request-body fields that ask ``engine`` for a thinking budget.

    Raises:
        Nothing: engines without a request field get ``{}``.
    """
    if engine == "vllm":
        return {"thinking_token_budget": budget}
    if engine == "sglang":
        return {"custom_params": {"thinking_budget": budget}}
    return {}


def _root(base_url: str) -> str:
    url = base_url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def probe_engine(base_url: str, *, headers: dict[str, str] | None = None) -> Engine:
    """Guess the engine at ``base_url`` from its side endpoints.

    Raises:
        Nothing: an engine that answers none of the probes is ``generic``.
    """
    root = _root(base_url)
    try:
        with httpx.Client(timeout=_PROBE_TIMEOUT_S, headers=headers) as client:
            return _probe(client, root, base_url.rstrip("/"))
    except httpx.HTTPError:
        return "generic"


def _json(client: httpx.Client, url: str) -> Any:
    try:
        reply = client.get(url)
    except httpx.HTTPError:
        return None
    if reply.status_code != 200:
        return None
    try:
        return reply.json()
    except ValueError:
        return None


def _probe(client: httpx.Client, root: str, base: str) -> Engine:
    info = _json(client, f"{root}/get_server_info")
    if isinstance(info, dict) and ("tp_size" in info or "model_path" in info):
        return "sglang"
    props = _json(client, f"{root}/props")
    if isinstance(props, dict) and (
        "default_generation_settings" in props or "build_info" in props
    ):
        return "llamacpp"
    version = _json(client, f"{root}/version")
    if isinstance(version, dict) and "version" in version:
        return "vllm"
    models = _json(client, f"{base}/models")
    data = models.get("data") if isinstance(models, dict) else None
    if (
        isinstance(data, list)
        and data
        and all(isinstance(m, dict) and m.get("owned_by") == "me" for m in data)
    ):
        return "llamacpp"  # llama-cpp-python's server
    return "generic"
