"""Profiles: which model serves which route, and how. YAML files validated by pydantic.

A profile is data only. It names backends and templates; it never holds live clients.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import ConfigError
from .observability.thresholds import HealthThresholds
from .thinking.capabilities import ModelCapabilities
from .thinking.families import ModelFamily
from .thinking.policy import DifficultyLevel
from .types import GenerationParams, ThinkingMode
from .yaml_text import load_yaml

__all__ = [
    "ClassifierConfig",
    "ModelSpec",
    "PolicyConfig",
    "Profile",
    "RetryConfig",
    "RouteSpec",
    "ThinkingConfig",
    "check_backends",
    "list_profiles",
    "load_profile",
    "parse_model_spec",
    "resolve_preferences",
    "split_model_spec",
]


class ModelSpec(BaseModel):
    """``BACKEND:MODEL`` — e.g. ``hf:Qwen/Qwen2.5-7B-Instruct``, ``ollama:qwen3:8b``."""

    model_config = ConfigDict(frozen=True)
    backend: str
    name: str

    def __str__(self) -> str:
        return f"{self.backend}:{self.name}"


def split_model_spec(spec: str) -> ModelSpec:
    """Parse ``BACKEND:MODEL`` without checking that the backend exists; only the first
    colon separates (Ollama tags keep theirs).

    Raises:
        ConfigError: no backend prefix or no model name.
    """
    backend, sep, name = spec.partition(":")
    if not sep or not name.strip() or not backend.strip():
        raise ConfigError(
            f"model spec {spec!r} must look like BACKEND:MODEL",
            hint="e.g. ollama:qwen3:8b or hf:Qwen/Qwen2.5-7B-Instruct",
        )
    return ModelSpec.model_construct(backend=backend.strip().lower(), name=name.strip())


def parse_model_spec(spec: str, *, extra: Collection[str] = ()) -> ModelSpec:
    """Parse ``BACKEND:MODEL`` and check that the backend is registered (or is one of
    ``extra``, the names of backend instances handed to a Router).

    Raises:
        ConfigError: no backend prefix, or an unknown backend.
    """
    from qwen_router.backends.registry import check_backend

    parsed = split_model_spec(spec)
    try:
        check_backend(parsed.backend, extra)
    except ConfigError as exc:
        raise ConfigError(f"{exc.message} in model spec {spec!r}", hint=exc.hint) from None
    return parsed


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ThinkingConfig(_Strict):
    mode: ThinkingMode = "off"
    budget: int | None = Field(default=None, ge=0)
    # decision.difficulty -> budget, e.g. {easy: 0, medium: 512, hard: 2048}
    # (qwen_router.thinking.policy); replaces ``budget`` when a difficulty is known.
    budget_by_difficulty: dict[DifficultyLevel, int] | None = None

    @field_validator("mode", mode="before")
    @classmethod
    def _yaml_booleans(cls, value: object) -> object:
        """YAML 1.1 reads a bare ``on`` / ``off`` as a boolean."""
        if isinstance(value, bool):
            return "on" if value else "off"
        return value


class RouteSpec(_Strict):
    model: str
    template: str | None = None
    description: str = ""
    utterances: list[str] = Field(default_factory=list)
    thinking: ThinkingConfig = Field(default_factory=ThinkingConfig)
    verifiers: list[str] = Field(default_factory=list)
    max_repairs: int = Field(default=1, ge=0, le=5)
    fallbacks: list[str] = Field(default_factory=list)
    params: GenerationParams = Field(default_factory=GenerationParams)

    @model_validator(mode="after")
    def _check_specs(self) -> RouteSpec:
        for spec in [self.model, *self.fallbacks]:
            try:
                split_model_spec(spec)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return self


class ClassifierConfig(BaseModel):
    """Thresholds for the classifier cascade. Extra keys go to the stages that use them."""

    model_config = ConfigDict(extra="allow")
    min_confidence: float = Field(default=0.5, ge=0, le=1)


class PolicyConfig(_Strict):
    """How a multi-label decision becomes one route."""

    math_languages: list[str] = Field(default_factory=lambda: ["en", "zh"])
    non_english_math_route: str = "multilingual"
    non_english_math_template: str = "math"


class RetryConfig(_Strict):
    max_retries: int = Field(default=2, ge=0)
    backoff_s: float = Field(default=0.25, ge=0)
    backoff_max_s: float = Field(default=4.0, ge=0)
    cooldown_s: float = Field(default=30.0, ge=0)
    failures_before_cooldown: int = Field(default=3, ge=1)
    timeout_s: float | None = Field(default=300.0, gt=0)


class Profile(_Strict):
    name: str
    description: str = ""
    routes: dict[str, RouteSpec]
    backends: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # For model specs of backend KEY, first try these backends (same model name) when
    # they are installed, e.g. {gguf: [llamacpp]}; see resolve_preferences().
    prefer: dict[str, list[str]] = Field(default_factory=dict)
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    health: HealthThresholds = Field(default_factory=HealthThresholds)
    templates_dir: str | None = None
    # model family entries added before the shipped table (qwen_router.thinking.families)
    families: list[ModelFamily] = Field(default_factory=list)
    # per model spec: {tools, vision, thinking, context}; unset fields come from the
    # family table (qwen_router.thinking.capabilities.capabilities_of)
    models: dict[str, ModelCapabilities] = Field(default_factory=dict)
    source: str | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _check_routes(self) -> Profile:
        if "general" not in self.routes:
            raise ValueError("routes must include 'general' (the fallback route)")
        return self

    def route(self, name: str) -> RouteSpec:
        """The spec for ``name``.

        Raises:
            ConfigError: the profile has no such route.
        """
        try:
            return self.routes[name]
        except KeyError:
            raise ConfigError(
                f"unknown route {name!r} in profile {self.name!r}",
                hint=f"routes: {', '.join(self.routes)}",
            ) from None

    def with_route_model(self, route: str, spec: str) -> Profile:
        """A copy whose ``route`` is served by ``spec``."""
        split_model_spec(spec)
        routes = dict(self.routes)
        routes[route] = self.route(route).model_copy(update={"model": spec})
        return self.model_copy(update={"routes": routes})


def _builtin_dir() -> Any:
    return importlib.resources.files("qwen_router") / "profile_data"


def list_profiles() -> list[str]:
    """Names of the profiles shipped with the package."""
    return sorted(
        p.name.removesuffix(".yaml") for p in _builtin_dir().iterdir() if p.name.endswith(".yaml")
    )


def load_profile(
    profile: str | Path | Profile | None = None, *, backends: Collection[str] = ()
) -> Profile:
    """Load a shipped profile by name, or a YAML file by path. ``None`` means ``local``.

    A relative ``templates_dir`` is resolved against the profile file's folder. Every
    backend a loaded file names in a route, a fallback or ``prefer`` must be registered,
    or be one of ``backends`` (the names of instances handed to a Router). A Profile
    object is returned as it is (preferences applied); the Router checks it when built.

    Raises:
        ConfigError: the file is missing, not YAML, or fails validation; the message
            names the file, the field and what was expected.
    """
    if isinstance(profile, Profile):
        return resolve_preferences(profile)
    name = str(profile) if profile is not None else "local"
    path = Path(name).expanduser()
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ConfigError(f"profile file not found: {path}")
        loaded = _parse(path.read_text(encoding="utf-8"), str(path), path.resolve().parent)
    else:
        resource = _builtin_dir() / f"{name}.yaml"
        if not resource.is_file():
            raise ConfigError(
                f"unknown profile {name!r}", hint=f"shipped profiles: {', '.join(list_profiles())}"
            )
        loaded = _parse(resource.read_text(encoding="utf-8"), f"{name}.yaml (shipped)", None)
    check_backends(loaded, backends)
    return resolve_preferences(loaded)


def check_backends(profile: Profile, extra: Collection[str] = ()) -> None:
    """Every backend the profile names is registered or one of ``extra``.

    Raises:
        ConfigError: naming the profile, the field and the unknown backend.
    """
    from qwen_router.backends.registry import check_backend

    fields: list[tuple[str, str]] = []
    for route, spec in profile.routes.items():
        fields.append((f"routes.{route}.model", split_model_spec(spec.model).backend))
        fields += [
            (f"routes.{route}.fallbacks[{i}]", split_model_spec(f).backend)
            for i, f in enumerate(spec.fallbacks)
        ]
    for key, alts in profile.prefer.items():
        fields.append((f"prefer.{key}", key))
        fields += [(f"prefer.{key}[{i}]", alt) for i, alt in enumerate(alts)]
    for where, backend in fields:
        try:
            check_backend(backend, extra)
        except ConfigError as exc:
            raise ConfigError(
                f"{profile.source or profile.name}: field {where!r}: {exc.message}",
                hint=exc.hint,
            ) from None


def _parse(text: str, source: str, folder: Path | None) -> Profile:
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}".splitlines()[0]) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a profile must be a YAML mapping")
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"field {'.'.join(str(p) for p in err['loc']) or '(top level)'!r}: {err['msg']}"
            for err in exc.errors()[:3]
        ]
        extra = f" (+{exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
        raise ConfigError(f"{source}: {'; '.join(problems)}{extra}") from None
    profile.source = source
    if folder is not None and profile.templates_dir:
        templates = Path(profile.templates_dir).expanduser()
        if not templates.is_absolute():
            profile.templates_dir = str(folder / templates)
    return profile


def resolve_preferences(
    profile: Profile, installed: Callable[[str], bool] | None = None
) -> Profile:
    """Apply ``profile.prefer``: put installed preferred backends before each spec.

    With ``prefer: {gguf: [llamacpp]}`` a route ``gguf:M`` becomes ``llamacpp:M`` with
    ``gguf:M`` as its first fallback when llama-cpp-python is importable, and stays
    as written otherwise. Idempotent; ``installed`` defaults to the backend registry's
    check (an import probe, nothing is imported).

    Raises:
        ConfigError: a route holds a malformed model spec.
    """
    if not profile.prefer:
        return profile
    if installed is None:
        from qwen_router.backends.registry import backend_installed as installed
    routes = {}
    for name, route in profile.routes.items():
        specs: list[str] = []
        for spec in [route.model, *route.fallbacks]:
            parsed = parse_model_spec(spec)
            for alt in profile.prefer.get(parsed.backend, []):
                if installed(alt):
                    specs.append(f"{alt}:{parsed.name}")
            specs.append(spec)
        specs = list(dict.fromkeys(specs))
        routes[name] = route.model_copy(update={"model": specs[0], "fallbacks": specs[1:]})
    return profile.model_copy(update={"routes": routes})
