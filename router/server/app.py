"""``create_app(settings)``: the router served as a model named ``auto`` over
OpenAI- and Ollama-compatible HTTP APIs.

The lifespan builds one :class:`~qwen_router.core.Router` (and, with ``preload``,
loads every route's model) and closes it on shutdown. Operations endpoints:
``/healthz`` (liveness), ``/readyz`` (started, models present, backends reachable),
``/health`` (healthy / degraded / unhealthy per model from recent calls),
``/metrics`` (Prometheus).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic.json_schema import models_json_schema
from qwen_router import __version__
from qwen_router.backends.base import Backend, GenerateRequest
from qwen_router.backends_health import route_health
from qwen_router.classify import default_classifier
from qwen_router.core import Router
from qwen_router.observability.otel_setup import configure_tracing_from
from qwen_router.observability.report import router_health
from qwen_router.profiles import load_profile, parse_model_spec
from qwen_router.settings import Settings, get_settings

from . import ollama_api, openai_api
from .errors import ErrorBoundaryMiddleware, install_error_handlers
from .logs import RequestLogMiddleware
from .metrics import CONTENT_TYPE, Metrics
from .responses import STREAM_MODELS, Health, Readiness, model_response
from .security import Authenticator, AuthMiddleware, BodyLimitMiddleware
from .service import RouterService

__all__ = ["create_app"]

log = logging.getLogger("qwen_router.server")


def _build_router(settings: Settings, backends: Mapping[str, Backend] | None) -> Router:
    profile = load_profile(settings.profile)
    return Router(
        profile,
        classifier=default_classifier(profile),
        backends=backends,
        image_limits=settings.image_limits(),
    )


def _preload(router: Router) -> None:
    """Load every distinct route model now (blocking; run in a thread)."""
    seen: set[str] = set()
    for spec in router.profile.routes.values():
        if spec.model in seen:
            continue
        seen.add(spec.model)
        parsed = parse_model_spec(spec.model)
        backend = router.pool.get(parsed.backend)
        prepare = getattr(backend, "prepare", None)
        if prepare is not None:
            start = time.perf_counter()
            prepare(GenerateRequest(model=parsed.name, messages=[]))
            log.info("loaded %s in %.1fs", spec.model, time.perf_counter() - start)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    router = await asyncio.to_thread(_build_router, settings, app.state.backends)
    # the classifier's embedding stage and the math worker load now, off the loop
    await asyncio.to_thread(router.warm_up)
    if settings.preload:
        await asyncio.to_thread(_preload, router)
    else:
        log.info(
            "models load on first use; the first request per model is slower "
            "(start with --preload to load them now)"
        )
    app.state.service = RouterService(router, settings, app.state.metrics)
    app.state.ready = True
    try:
        yield
    finally:
        app.state.ready = False
        service, app.state.service = app.state.service, None
        await service.aclose()
        await router.aclose()


def _ops_router() -> APIRouter:
    ops = APIRouter(tags=["operations"])

    @ops.get("/healthz", response_model=Health)
    async def healthz() -> Response:
        """Liveness: the process answers."""
        return model_response(Health(status="ok"))

    @ops.get(
        "/readyz",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "starting or not ready"}},
    )
    async def readyz(request: Request) -> Response:
        """Readiness: started, and every route has a model that is present/reachable."""
        app = request.app
        if not getattr(app.state, "ready", False):
            return model_response(Readiness(status="starting"), status_code=503)
        now = time.monotonic()
        cached = app.state.readyz_cache
        if cached is None or now - cached[0] > app.state.settings.readyz_cache_s:
            rows = await asyncio.to_thread(route_health, app.state.service.profile)
            cached = app.state.readyz_cache = (now, rows)
        rows = cached[1]
        ready_routes = {r["route"] for r in rows if r["available"]}
        routes = {r["route"] for r in rows}
        ok = ready_routes == routes
        body = Readiness.model_validate(
            {"status": "ready" if ok else "not ready", "routes": rows}
        )
        return model_response(body, status_code=200 if ok else 503)

    @ops.get("/health", responses={503: {"description": "some route has no model left"}})
    async def health(request: Request) -> Response:
        """Levels per backend and model from recent calls against the profile's
        ``health`` thresholds, each with its reason and a recommendation."""
        service = request.app.state.service
        if service is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        report = router_health(service.router)
        return JSONResponse(report.model_dump(), status_code=report.http_status)

    @ops.get(
        "/metrics",
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics(request: Request) -> Response:
        """Prometheus metrics (a key is needed when keys are set)."""
        return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE)

    @ops.get("/", include_in_schema=False)
    async def root() -> PlainTextResponse:
        return PlainTextResponse("Ollama is running")

    return ops


def create_app(
    settings: Settings | None = None, *, backends: Mapping[str, Backend] | None = None
) -> FastAPI:
    """The FastAPI app serving ``settings.profile``.

    ``backends`` (name -> instance) replaces the backends the profile would build,
    e.g. a scripted ``FakeBackend`` for overhead measurement or fault injection.

    Raises:
        ConfigError: (at start-up, from the lifespan) a bad profile or keys file.
    """
    settings = settings or get_settings()
    keys = settings.load_api_keys()  # fail now, not on the first request
    configure_tracing_from(settings)  # OTEL_TRACES_EXPORTER unset: nothing happens
    app = FastAPI(
        title="qwen-router",
        version=__version__,
        description="The router as a model named `auto`, over OpenAI- and "
        "Ollama-compatible APIs.",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.backends = backends
    app.state.metrics = Metrics()
    app.state.service = None
    app.state.ready = False
    app.state.readyz_cache = None
    install_error_handlers(app)

    app.include_router(_ops_router())
    app.include_router(openai_api.router)
    app.include_router(ollama_api.router)
    _with_stream_schemas(app)
    # outermost last: log -> error boundary -> auth -> body size -> the app, so that
    # auth and size are checked from the headers, before any body is parsed
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        AuthMiddleware, auth=Authenticator(keys), metrics=app.state.metrics
    )
    app.add_middleware(ErrorBoundaryMiddleware)
    app.add_middleware(RequestLogMiddleware, metrics=app.state.metrics)
    return app


def _with_stream_schemas(app: FastAPI) -> None:
    """Add the models that only appear inside streams to the spec's components."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _, extra = models_json_schema(
                [(m, "serialization") for m in STREAM_MODELS],
                ref_template="#/components/schemas/{model}",
            )
            schemas = spec.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in extra.get("$defs", {}).items():
                schemas.setdefault(name, schema)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
