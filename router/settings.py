"""Server settings, read from ``QWEN_ROUTER_*`` environment variables.

This is the one module that reads the environment. Everything else receives a
:class:`Settings` instance (``create_app(settings)``, ``get_settings()``).

    QWEN_ROUTER_PROFILE=local QWEN_ROUTER_API_KEYS=k1,k2 qwen-router serve
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .errors import ConfigError
from .images import ImageLimits

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Everything ``qwen-router serve`` can be told; ``x`` is ``QWEN_ROUTER_X``."""

    model_config = SettingsConfigDict(env_prefix="QWEN_ROUTER_", extra="ignore")

    # --- what to serve ----------------------------------------------------------------
    profile: str = Field("local", description="profile name or YAML path")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    preload: bool = Field(False, description="load every route's model at start-up")
    allow_model_specs: bool = Field(
        False,
        description="let clients name BACKEND:MODEL specs beyond the profile's "
        "(off by default; see model_spec_backends / model_spec_allow)",
    )
    model_spec_backends: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="backends a client's spec may name (empty: every backend of the "
        "registry except the overhead fake, which clients never reach)",
    )
    model_spec_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="glob patterns a client's canonical spec must match "
        "(e.g. 'ollama:qwen3:*', 'hf:/models/*'); empty: any spec of an allowed backend",
    )
    max_client_models: int = Field(
        2, ge=1, description="client-chosen models kept loaded at once (LRU)"
    )

    # --- auth and rate limits ---------------------------------------------------------
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="bearer tokens, comma-separated; empty: no auth",
    )
    api_keys_file: Path | None = Field(
        None, description="file with one bearer token per line"
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="proxy addresses whose X-Forwarded-For is believed (empty: none)",
    )
    rate_limit_rpm: int | None = Field(
        None, ge=1, description="requests per minute per key"
    )
    rate_limit_tpm: int | None = Field(
        None, ge=1, description="tokens per minute per key"
    )
    redis_url: str | None = Field(
        None,
        description="share rate-limit buckets between replicas through this Redis "
        "(redis://host:port/db); unset: per-process limits",
    )
    redis_prefix: str = Field("qwen-router", min_length=1)

    # --- size limits ------------------------------------------------------------------
    max_body_bytes: int = Field(32 * 1024 * 1024, ge=1024)
    max_messages: int = Field(512, ge=1)
    max_output_tokens: int = Field(32768, ge=1)
    max_stop: int = Field(16, ge=0, description="stop strings per request")
    max_stop_chars: int = Field(256, ge=1, description="characters per stop string")
    max_images: int = Field(8, ge=0)
    max_image_bytes: int = Field(20 * 1024 * 1024, ge=1)
    max_image_pixels: int = Field(40_000_000, ge=1)
    max_total_image_pixels: int = Field(
        48_000_000, ge=1, description="decoded pixels of all images of one request"
    )
    allow_image_urls: bool = Field(False, description="fetch http(s) image URLs")
    image_url_timeout_s: float = Field(
        10.0, gt=0, description="total deadline of one image URL fetch"
    )
    image_url_allow_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="CIDRs image URLs may reach although private (e.g. an internal "
        "image store); loopback, private and link-local are refused otherwise",
    )

    # --- load -------------------------------------------------------------------------
    backend_concurrency: int = Field(
        4, ge=1, description="requests run at once per backend"
    )
    backend_concurrency_overrides: dict[str, int] = Field(default_factory=dict)
    queue_timeout_s: float = Field(10.0, ge=0, description="wait for a slot, then 503")
    graceful_timeout_s: int = Field(
        30, ge=0, description="finish in-flight requests on stop"
    )
    keep_alive_timeout_s: float = Field(
        30.0, gt=0, description="idle seconds before a keep-alive connection closes"
    )
    readyz_cache_s: float = Field(5.0, ge=0)
    log_level: str = "info"

    # --- tracing: OpenTelemetry's own variables (no QWEN_ROUTER_ prefix) --------------
    otel_traces_exporter: str | None = Field(
        None,
        validation_alias="otel_traces_exporter",
        description="OTEL_TRACES_EXPORTER: otlp, console (comma-separated); unset or "
        "none: no tracing (needs the otel extra)",
    )
    otel_exporter_otlp_protocol: str | None = Field(
        None,
        validation_alias=AliasChoices(
            "otel_exporter_otlp_traces_protocol", "otel_exporter_otlp_protocol"
        ),
        description="OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL: http/protobuf (default) or grpc",
    )
    otel_service_name: str | None = Field(
        None, validation_alias="otel_service_name", description="OTEL_SERVICE_NAME"
    )
    otel_sdk_disabled: bool = Field(
        False, validation_alias="otel_sdk_disabled", description="OTEL_SDK_DISABLED"
    )
    otel_capture_content: bool = Field(
        False,
        validation_alias="otel_instrumentation_genai_capture_message_content",
        description="OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: put prompts "
        "and answers on spans (off: no content leaves the process in traces)",
    )

    @field_validator(
        "api_keys",
        "model_spec_backends",
        "model_spec_allow",
        "trusted_proxies",
        "image_url_allow_networks",
        mode="before",
    )
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    def load_api_keys(self) -> list[str]:
        """The bearer tokens: ``api_keys`` plus the lines of ``api_keys_file``.

        Blank lines and ``#`` comments in the file are skipped.

        Raises:
            ConfigError: the keys file cannot be read.
        """
        keys = list(self.api_keys)
        if self.api_keys_file is not None:
            try:
                text = self.api_keys_file.expanduser().read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    f"cannot read api keys file {self.api_keys_file}: {exc.strerror}"
                ) from None
            keys += [
                line.strip()
                for line in text.splitlines()
                if line.strip() and not line.lstrip().startswith("#")
            ]
        return keys

    def concurrency_for(self, backend: str) -> int:
        """How many requests ``backend`` runs at once."""
        return self.backend_concurrency_overrides.get(backend, self.backend_concurrency)

    def image_limits(self) -> ImageLimits:
        """The limits the router applies to image parts."""
        return ImageLimits(
            max_images=self.max_images,
            max_bytes=self.max_image_bytes,
            max_pixels=self.max_image_pixels,
            max_total_pixels=self.max_total_image_pixels,
            allow_urls=self.allow_image_urls,
            url_timeout_s=self.image_url_timeout_s,
            url_allow_networks=list(self.image_url_allow_networks),
        )


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once.

    Raises:
        pydantic.ValidationError: an environment variable has an invalid value.
    """
    return Settings()
