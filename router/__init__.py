"""qwen-router: route chat requests to the right Qwen model."""

from .errors import (
    BackendError,
    BackendResponseError,
    BackendTimeout,
    BackendUnavailable,
    ConfigError,
    ImageError,
    InputError,
    ModelCapabilityError,
    ModelNotFound,
    RouterError,
    RoutingError,
    StructuredOutputError,
    ToolError,
)
from .types import (
    Category,
    GenerationParams,
    ImagePart,
    Message,
    RouteDecision,
    RouteRequest,
    RouteResult,
    TextPart,
    ToolCall,
    ToolSpec,
    Usage,
    Verification,
)

__version__ = "0.1.0"

# Heavier names (langgraph, langchain-core) load on first use, so that
# `import qwen_router` stays cheap and never imports torch, sympy or rich.
_LAZY = {
    "Router": "qwen_router.core",
    "RouterEvent": "qwen_router.core",
    "build_graph": "qwen_router.graph",
    "RouterState": "qwen_router.graph",
    "Profile": "qwen_router.profiles",
    "RouteSpec": "qwen_router.profiles",
    "load_profile": "qwen_router.profiles",
    "list_profiles": "qwen_router.profiles",
    "Classifier": "qwen_router.classify",
    "ChatQwenRouter": "qwen_router.chat_model",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'qwen_router' has no attribute {name!r}")


__all__ = [
    "BackendError",
    "BackendResponseError",
    "BackendTimeout",
    "BackendUnavailable",
    "Category",
    "ChatQwenRouter",
    "Classifier",
    "ConfigError",
    "GenerationParams",
    "ImageError",
    "ImagePart",
    "InputError",
    "Message",
    "ModelCapabilityError",
    "ModelNotFound",
    "Profile",
    "RouteDecision",
    "RouteRequest",
    "RouteResult",
    "RouteSpec",
    "Router",
    "RouterError",
    "RouterEvent",
    "RouterState",
    "RoutingError",
    "StructuredOutputError",
    "TextPart",
    "ToolCall",
    "ToolError",
    "ToolSpec",
    "Usage",
    "Verification",
    "build_graph",
    "list_profiles",
    "load_profile",
    "__version__",
]
