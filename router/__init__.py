"""qwen-router: route chat requests to the right Qwen model."""

from .errors import (
    BackendError,
    BackendResponseError,
    BackendTimeout,
    BackendUnavailable,
    ConfigError,
    ImageError,
    InputError,
    ModelNotFound,
    RouterError,
    RoutingError,
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
    Usage,
    Verification,
)

__version__ = "0.1.0"

__all__ = [
    "BackendError",
    "BackendResponseError",
    "BackendTimeout",
    "BackendUnavailable",
    "Category",
    "ConfigError",
    "GenerationParams",
    "ImageError",
    "ImagePart",
    "InputError",
    "Message",
    "ModelNotFound",
    "RouteDecision",
    "RouteRequest",
    "RouteResult",
    "RouterError",
    "RoutingError",
    "TextPart",
    "ToolError",
    "Usage",
    "Verification",
    "__version__",
]
