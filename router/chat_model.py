"""``ChatQwenRouter``: a LangChain chat model over a :class:`~qwen_router.core.Router`.

Every call is routed (classify, select, generate, verify) and answered as an
``AIMessage``: tool calls in ``tool_calls`` (or ``invalid_tool_calls``), thinking in
``additional_kwargs["reasoning_content"]`` (as ChatOllama), token counts in
``usage_metadata``, and how it was routed in ``response_metadata["qwen_router"]``
(route, model, verification). ``bind_tools`` and ``with_structured_output``
(``json_schema``, ``function_calling``, ``json_mode``) follow ChatOllama's shape, so
the model drops into ``langchain.agents.create_agent`` and LangGraph's
``create_react_agent``; it streams tokens under ``stream_mode="messages"``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from operator import itemgetter
from typing import Any, Literal

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import (
    convert_to_json_schema,
    convert_to_openai_tool,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .core import Router
from .errors import InputError
from .lc import from_langchain
from .tool_routing import TOOL_LOOP_KEY, tool_loop_call_ids
from .types import GenerationParams, RouteRequest, RouteResult

__all__ = ["ChatQwenRouter"]

_CHOICES = {"auto": "auto", "none": "none", "any": "required", "required": "required"}


def _tool_choice(choice: Any, names: Sequence[str]) -> Any:
    """LangChain's ``tool_choice`` spellings as OpenAI's."""
    if choice is None or choice is False:
        return None
    if choice is True:
        return "required"
    if isinstance(choice, str):
        if choice in _CHOICES:
            return _CHOICES[choice]
        return {"type": "function", "function": {"name": choice}}
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") or choice.get("name")
        if name:
            return {"type": "function", "function": {"name": name}}
    raise InputError(
        f"unsupported tool_choice {choice!r}", hint=f"tools: {', '.join(names)}"
    )


def _pin(messages: Sequence[BaseMessage]) -> dict[str, Any] | None:
    """The model that made the open tool loop's calls, read back from the
    ``response_metadata`` this chat model put on its own ``AIMessage``."""
    for message in reversed(messages):
        if isinstance(message, AIMessage) and message.tool_calls:
            meta = (message.response_metadata or {}).get("qwen_router") or {}
            if meta.get("model"):
                return {"route": meta.get("route"), "model": meta["model"]}
            return None
        if message.type != "tool":
            return None
    return None


class ChatQwenRouter(BaseChatModel):
    """A routed chat model: ``ChatQwenRouter(router)`` or ``ChatQwenRouter(profile="ollama")``.

    Fields: ``route`` / ``model`` (force a route or a ``BACKEND:MODEL``), ``thinking``,
    ``thinking_budget``, ``temperature``, ``max_tokens``. Bound keyword arguments
    (``tools``, ``tool_choice``, ``parallel_tool_calls``, ``response_format``) go to
    the request.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    router: Any = Field(default=None, exclude=True)
    profile: str | None = None
    route: str | None = None
    model: str | None = None
    thinking: bool | None = None
    thinking_budget: int | None = None
    temperature: float | None = None
    max_tokens: int | None = None

    def __init__(self, router: Router | None = None, /, **kwargs: Any) -> None:
        if router is not None:
            kwargs["router"] = router
        super().__init__(**kwargs)
        if self.router is None:
            self.router = Router(self.profile)

    @property
    def _llm_type(self) -> str:
        return "qwen-router"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "profile": self.router.profile.name,
            "route": self.route,
            "model": self.model,
        }

    # --- requests -----------------------------------------------------------------
    def _request(
        self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any
    ) -> RouteRequest:
        kwargs.pop("ls_structured_output_format", None)
        params = {
            "temperature": kwargs.pop("temperature", self.temperature),
            "max_tokens": kwargs.pop("max_tokens", self.max_tokens),
            "stop": stop or None,
        }
        metadata: dict[str, Any] = {}
        pin = _pin(messages)
        converted = from_langchain(messages)
        if pin is not None:
            metadata[TOOL_LOOP_KEY] = {**pin, "ids": tool_loop_call_ids(converted)}
        fields: dict[str, Any] = {
            "tools": kwargs.pop("tools", None) or [],
            "tool_choice": kwargs.pop("tool_choice", None),
            "parallel_tool_calls": kwargs.pop("parallel_tool_calls", None),
            "response_format": kwargs.pop("response_format", None),
        }
        if kwargs:
            raise InputError(f"unsupported arguments: {', '.join(sorted(kwargs))}")
        try:
            return RouteRequest(
                messages=converted,
                route=self.route,
                model=self.model,
                thinking=self.thinking,
                thinking_budget=self.thinking_budget,
                params=GenerationParams(
                    **{k: v for k, v in params.items() if v is not None}
                ),
                metadata=metadata,
                **fields,
            )
        except ValidationError as exc:
            raise InputError(f"invalid request: {exc.errors()[0]['msg']}") from None

    # --- answers -----------------------------------------------------------------
    @staticmethod
    def _metadata(result: RouteResult) -> dict[str, Any]:
        return {
            "model_name": result.model,
            "finish_reason": result.finish_reason,
            "qwen_router": {
                "route": result.route,
                "model": result.model,
                "backend": result.backend,
                "confidence": result.decision.confidence,
                "signals": result.decision.signals,
                "verification": result.verification.model_dump()
                if result.verification
                else None,
                "repairs": result.repairs,
                "thinking_budget_hit": result.thinking_budget_hit,
            },
        }

    @staticmethod
    def _usage(result: RouteResult) -> dict[str, Any]:
        u = result.usage
        usage: dict[str, Any] = {
            "input_tokens": u.prompt_tokens,
            "output_tokens": u.completion_tokens,
            "total_tokens": u.total_tokens,
        }
        if u.thinking_tokens:
            usage["output_token_details"] = {"reasoning": u.thinking_tokens}
        return usage

    def _message(self, result: RouteResult) -> AIMessage:
        extra = {"reasoning_content": result.thinking} if result.thinking else {}
        return AIMessage(
            content=result.answer,
            additional_kwargs=extra,
            tool_calls=[
                {"id": c.id, "name": c.name, "args": c.arguments, "type": "tool_call"}
                for c in result.tool_calls
            ],
            invalid_tool_calls=[
                {
                    "id": None,
                    "name": c.name,
                    "args": c.arguments,
                    "error": c.error,
                    "type": "invalid_tool_call",
                }
                for c in result.invalid_tool_calls
            ],
            usage_metadata=self._usage(result),  # type: ignore[arg-type]
            response_metadata=self._metadata(result),
        )

    def _final_chunk(self, result: RouteResult) -> ChatGenerationChunk:
        chunk = AIMessageChunk(
            content="",
            tool_call_chunks=[
                {
                    "id": c.id,
                    "name": c.name,
                    "args": c.arguments_json,
                    "index": i,
                    "type": "tool_call_chunk",
                }
                for i, c in enumerate(result.tool_calls)
            ],
            usage_metadata=self._usage(result),  # type: ignore[arg-type]
            response_metadata=self._metadata(result),
            chunk_position="last",
        )
        return ChatGenerationChunk(message=chunk)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        result = self.router.invoke(self._request(messages, stop, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=self._message(result))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        result = await self.router.ainvoke(self._request(messages, stop, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=self._message(result))])

    def _token(self, text: str, thinking: str) -> ChatGenerationChunk:
        extra = {"reasoning_content": thinking} if thinking else {}
        return ChatGenerationChunk(
            message=AIMessageChunk(content=text, additional_kwargs=extra)
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for event in self.router.stream(self._request(messages, stop, **kwargs)):
            if event.type == "token" and (event.text or event.thinking):
                chunk = self._token(event.text, event.thinking)
                if run_manager is not None:
                    run_manager.on_llm_new_token(event.text, chunk=chunk)
                yield chunk
            elif event.type == "result" and event.result is not None:
                yield self._final_chunk(event.result)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        async for event in self.router.astream(self._request(messages, stop, **kwargs)):
            if event.type == "token" and (event.text or event.thinking):
                chunk = self._token(event.text, event.thinking)
                if run_manager is not None:
                    await run_manager.on_llm_new_token(event.text, chunk=chunk)
                yield chunk
            elif event.type == "result" and event.result is not None:
                yield self._final_chunk(event.result)

    # --- tools and structured output -------------------------------------------------
    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: Any = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer ``tools`` to the model (converted with ``convert_to_openai_tool``).

        Raises:
            InputError: a ``tool_choice`` that names no bound tool.
        """
        formatted = [convert_to_openai_tool(t, strict=strict) for t in tools]
        names = [t["function"]["name"] for t in formatted]
        choice = _tool_choice(tool_choice, names)
        if isinstance(choice, dict) and choice["function"]["name"] not in names:
            raise InputError(
                f"tool_choice names {choice['function']['name']!r}, not a bound tool"
            )
        bound: dict[str, Any] = {"tools": formatted, **kwargs}
        if choice is not None:
            bound["tool_choice"] = choice
        if parallel_tool_calls is not None:
            bound["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(**bound)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: Literal["function_calling", "json_mode", "json_schema"] = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """A runnable answering with ``schema`` (a pydantic class, a TypedDict or a
        JSON schema): by a JSON schema ``response_format`` (``json_schema``), a forced
        tool call (``function_calling``) or JSON object mode (``json_mode``).

        Raises:
            InputError: an unknown method, or a schema the method needs and lacks.
        """
        is_model = isinstance(schema, type) and issubclass(schema, BaseModel)
        if method == "function_calling":
            if schema is None:
                raise InputError("function_calling needs a schema")
            tool = convert_to_openai_tool(schema, strict=strict)
            name = tool["function"]["name"]
            llm = self.bind_tools([tool], tool_choice=name, **kwargs)
            parser: Runnable[Any, Any] = (
                PydanticToolsParser(tools=[schema], first_tool_only=True)  # type: ignore[list-item]
                if is_model
                else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
            )
        elif method in ("json_schema", "json_mode"):
            if method == "json_schema":
                if schema is None:
                    raise InputError("json_schema needs a schema")
                json_schema = (
                    schema.model_json_schema()
                    if is_model
                    else convert_to_json_schema(schema)  # type: ignore[union-attr]
                )
                name = str(json_schema.get("title") or "response")
                fmt: dict[str, Any] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": name,
                        "schema": json_schema,
                        "strict": strict,
                    },
                }
            else:
                fmt = {"type": "json_object"}
            llm = self.bind(response_format=fmt, **kwargs)
            parser = (
                PydanticOutputParser(pydantic_object=schema)
                if is_model
                else JsonOutputParser()
            )  # type: ignore[arg-type]
        else:
            raise InputError(
                f"unknown structured output method {method!r}",
                hint="json_schema, function_calling or json_mode",
            )
        if not include_raw:
            return llm | parser
        parsed = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        fallback = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parsed.with_fallbacks(
            [fallback], exception_key="parsing_error"
        )
