"""What both APIs share: model names, planning (classify before answering), running a
request under the backend gate, and recording what happened.

A request is *planned* before any response starts: the classifier runs once, the
policy picks the route and model, and the plan's headers tell the client how it was
routed, even for streams. The decision travels inside the request
(``RouteRequest.decision``), so the graph does not classify again.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from qwen_router.backends.base import GenerateRequest, sizes_prompts
from qwen_router.classify.base import Classifier
from qwen_router.core import Router, RouterEvent
from qwen_router.errors import InputError
from qwen_router.graph.planning import planned_config
from qwen_router.image_urls import fetch_url_images
from qwen_router.policy import Selection, decide
from qwen_router.profiles import Profile
from qwen_router.settings import Settings
from qwen_router.tool_routing import pin_tool_loop
from qwen_router.types import Message, RouteDecision, RouteRequest, RouteResult

from .disconnect import Watch, until_disconnect
from .errors import ApiError
from .limits import make_limiter
from .metrics import Metrics
from .model_specs import ClientModels, spec_not_found
from .prompt_size import declared_prompt_size
from .security import Authenticator, ConcurrencyGate, Lease

__all__ = [
    "AUTO",
    "ModelEntry",
    "Plan",
    "RouteStream",
    "RouterService",
]

AUTO = "auto"
# remote prompts up to this many characters are counted on the event loop
INLINE_COUNT_CHARS = 4000
@dataclass(frozen=True)
class ModelEntry:
    """One name the server answers to: ``auto``, ``auto:ROUTE`` or a profile model."""

    name: str
    kind: str  # "auto" | "route" | "model"
    route: str | None = None
    model: str | None = None


@dataclass
class Plan:
    """A request with its routing decided, before any model runs."""

    request: RouteRequest
    decision: RouteDecision
    selection: Selection
    api: str
    caller: str
    state: dict[str, Any]
    started: float = field(default_factory=time.perf_counter)
    answered_by: str | None = None  # set when a stream's first token names its model
    queue_ms: float = 0.0  # waited for a backend slot (the gate)

    @property
    def config(self) -> dict[str, Any]:
        """The graph run's config: this plan, so the graph does not decide again."""
        return planned_config(self.decision, self.selection)

    @property
    def answer_config(self) -> dict[str, Any]:
        """The config of a run read only for its result (a non-streamed answer): the
        graph leaves no trace steps and no AIMessage, which no response carries."""
        return planned_config(self.decision, self.selection, answer_only=True)

    @property
    def planned(self) -> str:
        """The model the policy chose first."""
        return str(self.selection.candidates[0])

    @property
    def model(self) -> str:
        """The model answering: the planned one until a fallback is known to answer."""
        return self.answered_by or self.planned

    @property
    def backend(self) -> str:
        return self.selection.candidates[0].backend

    def headers(self, result: RouteResult | None = None) -> dict[str, str]:
        """The route-transparency headers (the result's, when there is one)."""
        decision = result.decision if result else self.decision
        return {
            "x-qwen-router-route": decision.route,
            "x-qwen-router-model": result.model if result else self.model,
            "x-qwen-router-confidence": f"{decision.confidence:.3f}",
            "x-qwen-router-stage": decision.stage,
        }

    def metadata(self, result: RouteResult | None = None) -> dict[str, Any]:
        """The ``qwen_router`` body field: how the request was routed (and answered)."""
        decision = result.decision if result else self.decision
        meta: dict[str, Any] = {
            "route": decision.route,
            "model": result.model if result else self.model,
            "backend": result.backend if result else self.model.split(":", 1)[0],
            "confidence": decision.confidence,
            "stage": decision.stage,
            "labels": decision.labels,
            "lang": decision.lang,
            "forced": decision.forced,
            "request_id": self.state.get("request_id"),
        }
        if result is not None:
            meta.update(
                verification=result.verification.model_dump()
                if result.verification
                else None,
                thinking_budget_hit=result.thinking_budget_hit,
                repairs=result.repairs,
                timings={
                    k: round(v, 2)
                    for k, v in result.timings.model_dump().items()
                    if isinstance(v, float)
                },
            )
        return meta


def _catalog(profile: Profile) -> list[ModelEntry]:
    entries = [ModelEntry(AUTO, "auto")]
    entries += [ModelEntry(f"{AUTO}:{r}", "route", route=r) for r in profile.routes]
    seen: set[str] = set()
    for spec in profile.routes.values():
        for model in [spec.model, *spec.fallbacks]:
            if model not in seen:
                seen.add(model)
                entries.append(ModelEntry(model, "model", model=model))
    return entries


def _precheck(messages: list[Message]) -> None:
    users = [m for m in messages if m.role == "user"]
    if not users:
        raise InputError("no user message in the conversation")
    if not users[-1].text.strip() and not users[-1].images:
        raise InputError("the last user message is empty")


class RouterService:
    """The router behind the HTTP APIs, with its gate, limits and metrics."""

    def __init__(self, router: Router, settings: Settings, metrics: Metrics) -> None:
        self.router, self.settings, self.metrics = router, settings, metrics
        self.profile = router.profile
        self.models = _catalog(self.profile)
        self._by_name = {e.name: e for e in self.models}
        self._by_short = {e.model.split(":", 1)[1]: e for e in self.models if e.model}
        self.gate = ConcurrencyGate(
            settings.concurrency_for,
            queue_timeout_s=settings.queue_timeout_s,
            metrics=metrics,
        )
        self.limiter = make_limiter(
            settings.rate_limit_rpm,
            settings.rate_limit_tpm,
            redis_url=settings.redis_url,
            prefix=settings.redis_prefix,
        )
        self.auth = Authenticator(settings.load_api_keys())
        profile_models = {e.model for e in self.models if e.model}
        self.client_models = ClientModels(
            enabled=settings.allow_model_specs,
            backends=settings.model_spec_backends,
            patterns=settings.model_spec_allow,
            capacity=settings.max_client_models,
            profile_models=profile_models,
            get_backend=router.pool.get,
            own_port=settings.port,
        )
        metrics.known_models = profile_models
        metrics.known_routes = set(self.profile.routes)

    # --- names --------------------------------------------------------------------
    def resolve(self, name: str) -> ModelEntry:
        """The entry a client's model name means.

        Raises:
            ApiError: 404 for a name this server does not serve.
        """
        name = name.strip()
        for candidate in (name, name.removesuffix(":latest")):
            entry = self._by_name.get(candidate) or self._by_short.get(candidate)
            if entry is not None:
                return entry
        try:
            spec = self.client_models.admit(name)
        except ValueError:
            raise spec_not_found(name, list(self.profile.routes)) from None
        return ModelEntry(spec, "model", model=spec)

    # --- planning -----------------------------------------------------------------
    async def plan(
        self,
        request: RouteRequest,
        *,
        api: str,
        caller: str,
        state: dict[str, Any],
        session_id: str | None = None,
    ) -> Plan:
        """Classify and select, before any response starts.

        Raises:
            InputError: no user message, too many messages, or an unknown route.
            ApiError: 400 for a token limit over the server's.
        """
        if len(request.messages) > self.settings.max_messages:
            raise InputError(
                f"{len(request.messages)} messages is over the limit of "
                f"{self.settings.max_messages}"
            )
        params = request.params
        if (
            params
            and params.max_tokens
            and params.max_tokens > self.settings.max_output_tokens
        ):
            raise ApiError(
                400,
                f"max_tokens {params.max_tokens} is over the server's limit of "
                f"{self.settings.max_output_tokens}",
                code="invalid_request",
                param="max_tokens",
            )
        self._check_stop(params.stop if params else None)
        _precheck(request.messages)
        if self.settings.allow_image_urls:  # fetched now: before, not under, the gate
            limits = self.settings.image_limits()
            messages = await fetch_url_images(
                request.messages,
                max_bytes=limits.max_bytes,
                timeout_s=limits.url_timeout_s,
                allow_networks=limits.url_allow_networks,
            )
            if messages is not request.messages:
                request = request.model_copy(update={"messages": messages})
        decision = await _classify(self.router.classifier, request.messages, session_id)
        self.metrics.stage(decision.stage)
        # the graph reuses the decision; a tool loop stays on its model
        request = request.model_copy(update={"decision": decision})
        request = pin_tool_loop(request, self.router.tool_loops)
        decision, selection = decide(
            decision, self.profile, request, known_backends=self.router.pool.names()
        )
        state.update(
            route=selection.route, model=str(selection.candidates[0]), caller=caller
        )
        plan = Plan(request, decision, selection, api, caller, state)
        await self._check_context(plan)
        return plan

    def _check_stop(self, stop: list[str] | None) -> None:
        if not stop:
            return
        if len(stop) > self.settings.max_stop:
            raise ApiError(
                400,
                f"{len(stop)} stop strings is over the server's limit of "
                f"{self.settings.max_stop}",
                code="invalid_request",
                param="stop",
            )
        longest = max(len(s) for s in stop)
        if longest > self.settings.max_stop_chars:
            raise ApiError(
                400,
                f"a stop string of {longest} characters is over the server's limit "
                f"of {self.settings.max_stop_chars}",
                code="invalid_request",
                param="stop",
            )

    async def _check_context(self, plan: Plan) -> None:
        """Refuse a prompt the planned model cannot hold, before any slot is taken.

        Raises:
            ApiError: 400 with the prompt's tokens and the model's context.
        """
        spec = plan.selection.candidates[0]
        backend = self.router.pool.get(spec.backend)
        params = plan.request.params
        wanted = params.max_tokens if params and params.max_tokens else 0
        messages = plan.request.messages
        if sizes_prompts(backend):  # may load the model first: off the loop
            probe = GenerateRequest(model=spec.name, messages=messages)
            size = await asyncio.to_thread(backend.prompt_size, probe)
        elif sum(len(m.text) for m in messages) > INLINE_COUNT_CHARS:
            size = await asyncio.to_thread(
                declared_prompt_size, self.profile, spec, messages
            )
        else:  # a short remote prompt is counted in microseconds: no thread hop
            size = declared_prompt_size(self.profile, spec, messages)
        if size is None:
            return
        tokens, context = size
        if tokens + max(wanted, 1) > context:
            asked = f" + max_tokens {wanted}" if wanted else ""
            raise ApiError(
                400,
                f"the prompt is {tokens} tokens{asked}, over the context of "
                f"{context} tokens of {spec}",
                code="context_length_exceeded",
                param="messages",
            )

    # --- running ------------------------------------------------------------------
    async def invoke(self, plan: Plan, watch: Watch | None = None) -> RouteResult:
        """Answer ``plan`` under the backend gate; when ``watch`` reports the client
        gone, generation is cancelled and the slot freed at once.

        Raises:
            ApiError: 503 when the backend stays busy; RouterError from the graph.
            ClientGone: the client disconnected first.
        """
        result = await until_disconnect(self._invoke(plan), watch)
        self.record(plan, result, stream=False)
        await self.charge(plan, result)
        return result

    async def _acquire(self, plan: Plan) -> Lease:
        waited = time.perf_counter()
        lease = await self.gate.acquire(plan.backend)
        plan.queue_ms = (time.perf_counter() - waited) * 1000
        return lease

    async def _invoke(self, plan: Plan) -> RouteResult:
        lease = await self._acquire(plan)
        try:
            return await self.router.ainvoke(plan.request, plan.answer_config)
        finally:
            lease.release()

    async def open_stream(self, plan: Plan) -> RouteStream:
        """Take a backend slot for a stream; the stream gives it back when closed.

        Raises:
            ApiError: 503 when the backend stays busy.
        """
        lease = await self._acquire(plan)
        return RouteStream(self, plan, lease)

    async def aclose(self) -> None:
        await self.limiter.aclose()

    def record(self, plan: Plan, result: RouteResult, *, stream: bool) -> None:
        """Metrics, token charge and log fields for one answered request.

        Raises:
            Nothing.
        """
        seconds = time.perf_counter() - plan.started
        result.timings.queue_ms = plan.queue_ms
        self.metrics.result(
            plan.api, result, seconds=seconds, planned=plan.planned, stream=stream
        )
        plan.state.update(route=result.route, model=result.model)

    async def charge(self, plan: Plan, result: RouteResult) -> None:
        """Charge the answer's tokens to the caller's budget.

        Raises:
            Nothing.
        """
        await self.limiter.acharge(plan.caller, result.usage.total_tokens)


class RouteStream:
    """The router's events for one planned request; ``aclose()`` frees the slot.

    Iterate it once. ``aclose()`` is safe to call at any time, more than once, and
    after a client went away mid-stream.
    """

    def __init__(self, service: RouterService, plan: Plan, lease: Lease) -> None:
        self.service, self.plan, self._lease = service, plan, lease
        self.result: RouteResult | None = None
        self._gen = self._run()
        self._buffer: list[RouterEvent] = []

    async def prime(self) -> None:
        """Run up to the first token (or the result), so that errors before any output
        are raised here, while the response can still carry their status code.

        Raises:
            RouterError: the graph failed before producing output.
        """
        async for event in self._gen:
            self._buffer.append(event)
            if event.type in ("token", "result"):
                break

    def __aiter__(self) -> AsyncIterator[RouterEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[RouterEvent]:
        buffered, self._buffer = self._buffer, []
        for event in buffered:
            yield event
        async for event in self._gen:
            yield event

    async def _run(self) -> AsyncIterator[RouterEvent]:
        events = self.service.router.astream(self.plan.request, self.plan.config)
        try:
            async for event in events:
                if event.type == "token" and event.model:
                    self.plan.answered_by = event.model
                if event.type == "result" and event.result is not None:
                    self.result = event.result
                    self.plan.answered_by = event.result.model
                    self.service.record(self.plan, event.result, stream=True)
                    await self.service.charge(self.plan, event.result)
                yield event
        finally:
            self._lease.release()
            await events.aclose()  # type: ignore[attr-defined]

    async def aclose(self) -> None:
        """Close the graph's stream and give the backend slot back.

        Raises:
            Nothing from a stream that is already finished or still unwinding.
        """
        try:
            await self._gen.aclose()  # type: ignore[attr-defined]
        except RuntimeError:  # still running in a cancelled task: it ends on its own
            pass
        finally:
            self._lease.release()


async def _classify(
    classifier: Classifier, messages: Sequence[Message], session_id: str | None
) -> RouteDecision:
    """Classify without blocking the event loop on a model-backed stage; a client
    session id reaches classifiers that take one (the cascade's session prior)."""
    takes = session_id and _takes_session(type(classifier))
    options = {"session_id": session_id} if takes else {}
    aclassify = getattr(classifier, "aclassify", None)
    if aclassify is not None:
        return await aclassify(messages, **options)  # type: ignore[no-any-return]
    return await asyncio.to_thread(classifier.classify, messages, **options)


@functools.lru_cache(maxsize=64)
def _takes_session(kind: type) -> bool:
    try:
        return "session_id" in inspect.signature(kind.classify).parameters
    except (AttributeError, TypeError, ValueError):
        return False
