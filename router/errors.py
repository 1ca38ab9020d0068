"""The qwen-router exception tree.

Branches follow what a caller does about the error, not where it came from::

    RouterError
    ├── ConfigError              a bad profile, template or model spec (fix the config)
    ├── InputError               a bad request: empty messages, bad image, unknown route
    │   └── ImageError           an image part that cannot be read or is too large
    ├── RoutingError             the classifier could not produce a decision
    ├── BackendError             the model server / runtime failed
    │   ├── BackendUnavailable   not running, not installed, connection refused (retryable)
    │   ├── BackendTimeout       no answer in time (retryable)
    │   ├── ModelNotFound        the model is not there (carries the command that fixes it)
    │   ├── ModelCapabilityError the model cannot take this request (also an InputError)
    │   ├── ContinuationUnsupported  the server answered a continuation with a fresh reply
    │   └── BackendResponseError the backend answered with an error (``status_code``)
    │       └── StructuredOutputError  the answer does not fit the response_format
    └── ToolError                a tool node was misconfigured

Every error has a one-line ``str()`` fit for a terminal, and an optional ``hint``.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "BackendResponseError",
    "BackendTimeout",
    "BackendUnavailable",
    "ConfigError",
    "ContinuationUnsupported",
    "ImageError",
    "InputError",
    "ModelCapabilityError",
    "ModelNotFound",
    "RouterError",
    "RoutingError",
    "StructuredOutputError",
    "ToolError",
]


class RouterError(Exception):
    """Root of every error qwen-router raises on purpose."""

    retryable: bool = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(RouterError):
    """A profile, template or model spec is invalid."""


class InputError(RouterError):
    """The request itself is invalid."""


class ImageError(InputError):
    """An image part cannot be decoded or breaks a limit."""


class RoutingError(RouterError):
    """No route could be decided for the request."""


class ToolError(RouterError):
    """A tool node is misconfigured."""


class BackendError(RouterError):
    """A backend failed to produce an answer."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        backend: str | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.backend = backend
        self.model = model


class BackendUnavailable(BackendError):
    """The backend cannot be reached or its runtime is not installed."""

    retryable = True


class BackendTimeout(BackendError):
    """The backend did not answer within the configured time."""

    retryable = True


class ModelNotFound(BackendError):
    """The backend is up but does not have the model."""


class ModelCapabilityError(BackendError, InputError):
    """The model lacks a capability the request needs (e.g. images for a text model).

    A backend error, so the dispatcher tries the route's next fallback; and an input
    error, since when no model can take it the request is what must change.
    """


class ContinuationUnsupported(BackendError):
    """The server ignored a continuation (``continue_final_message``) and answered
    with a fresh reply; the thinking-budget controller restarts instead."""


class BackendResponseError(BackendError):
    """The backend answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        hint: str | None = None,
        backend: str | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, backend=backend, model=model)
        self.status_code = status_code

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return self.status_code is None or self.status_code >= 500 or self.status_code == 429


class StructuredOutputError(BackendResponseError):
    """The model's answer is not the JSON the ``response_format`` asked for, even
    after a repair attempt (a 502: the model, not the request, failed)."""

    def __init__(self, message: str, *, hint: str | None = None, backend: str | None = None, model: str | None = None) -> None:
        super().__init__(message, status_code=502, hint=hint, backend=backend, model=model)

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return False
