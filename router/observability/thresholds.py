"""The ``health:`` section of a profile: what makes a backend's model ``degraded`` or
``unhealthy``, judged on its recent calls.

Example (YAML)::

    health:
      window: 50               # recent calls kept per backend:model
      max_age_s: 600           # older calls are forgotten
      min_calls: 3             # fewer calls: percentiles are not judged yet
      p95_latency_s: {degraded: 30, unhealthy: 120}
      tokens_per_s: {degraded: 5, unhealthy: 1}       # a floor: lower is worse
      rss_peak_mb: {degraded: 24000, unhealthy: 30000} # in-process backends
      cuda_peak_mb: {degraded: null, unhealthy: null}
      error_rate: {degraded: 0.1, unhealthy: 0.5}

A ``null`` level is not judged. A model cooling down after repeated failures (the
dispatcher's cooldown) is always ``unhealthy`` while the cooldown lasts.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Ceiling", "Floor", "HealthThresholds"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ceiling(_Strict):
    """Degraded at or above ``degraded``, unhealthy at or above ``unhealthy``."""

    degraded: float | None = Field(default=None, ge=0)
    unhealthy: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Ceiling:
        if self.degraded is not None and self.unhealthy is not None:
            if self.unhealthy < self.degraded:
                raise ValueError("unhealthy must be at or above degraded")
        return self


class Floor(_Strict):
    """Degraded at or below ``degraded``, unhealthy at or below ``unhealthy``."""

    degraded: float | None = Field(default=None, ge=0)
    unhealthy: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Floor:
        if self.degraded is not None and self.unhealthy is not None:
            if self.unhealthy > self.degraded:
                raise ValueError("unhealthy must be at or below degraded")
        return self


class HealthThresholds(_Strict):
    """Levels for one profile; every model of the profile is judged against them."""

    window: int = Field(default=50, ge=1, le=10_000)
    max_age_s: float | None = Field(default=600.0, gt=0)
    min_calls: int = Field(default=3, ge=1)
    p95_latency_s: Ceiling = Ceiling(degraded=30.0, unhealthy=120.0)
    tokens_per_s: Floor = Floor(degraded=2.0, unhealthy=0.5)
    rss_peak_mb: Ceiling = Ceiling()
    cuda_peak_mb: Ceiling = Ceiling()
    error_rate: Ceiling = Ceiling(degraded=0.1, unhealthy=0.5)
    max_models: int = Field(
        default=64, ge=1, description="backend:model keys tracked at once (LRU)"
    )
