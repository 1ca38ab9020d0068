"""The bare baselines ``bench overhead`` compares the router with: a FastAPI app, a
llama-cpp-python script and a LangGraph graph that do only what the router wraps."""

from __future__ import annotations

import string
from typing import Any

__all__ = [
    "BARE_APP",
    "BARE_GRAPH_APP",
    "BARE_GRAPH_LLAMA",
    "BARE_GRAPH_PROXY",
    "BARE_LLAMA",
    "BARE_PROXY",
    "bare_app",
    "bare_graph",
]

# The bare FastAPI app: parses the request with a pydantic model and answers the same
# chat.completion shape as `serve`; uvicorn with the same defaults (uvloop, httptools).
# ``$setup`` and ``$work`` are what a variant adds at start-up and per request.
_APP = string.Template("""
import sys, time, uuid
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
$setup
class Body(BaseModel):
    model: str
    messages: list[dict]
    stream: bool = False

app = FastAPI()

@app.post("/v1/chat/completions")
async def chat(body: Body) -> dict:
$work    return {"id": "chatcmpl-" + uuid.uuid4().hex, "object": "chat.completion",
            "created": int(time.time()), "model": body.model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "ok"}}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 1, "total_tokens": 8}}

@app.get("/readyz")
async def ready() -> dict:
    return {"status": "ok"}

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                access_log=False)
""")
BARE_APP = _APP.substitute(setup="", work="")


def bare_app() -> Any:
    """The bare FastAPI app of :data:`BARE_APP` as an ASGI object, for in-process
    comparisons (its script serves it with uvicorn only when run as ``__main__``)."""
    namespace: dict[str, Any] = {"__name__": "qwen_router_bare_app"}
    exec(compile(BARE_APP, "<bare app>", "exec"), namespace)  # our own constant source
    return namespace["app"]

# The floor of any server that runs a LangGraph graph per request: the bare app,
# running a bare graph of the router graph's shape (no-op nodes) for every request
# (argv[2]: the profile whose graph gives the shape).
BARE_GRAPH_APP = _APP.substitute(
    setup="from qwen_router.bench.baselines import bare_graph\n"
    "from qwen_router.core import Router\n\n"
    "graph = bare_graph(Router(sys.argv[2]).graph)\n",
    work='    await graph.ainvoke({"request": body.messages[-1]["content"]})\n',
)

# The bare streaming proxies: a FastAPI app that checks the body with a pydantic model
# and relays the upstream's SSE bytes unchanged (the floor of any Python proxy), and
# the same app streaming them through a LangGraph graph of the router's shape whose
# ``generate`` node writes each upstream event to the graph's custom stream (the floor
# of a server that streams through a graph). argv: port, upstream base URL, and for
# the graph the profile whose graph gives the shape.
_PROXY = string.Template("""
import sys
import httpx, uvicorn
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict
$setup
class Body(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[dict]
    stream: bool = False

client = httpx.AsyncClient(base_url=sys.argv[2], timeout=120)
app = FastAPI()

@app.post("/v1/chat/completions")
async def chat(body: Body) -> StreamingResponse:
$work
@app.get("/readyz")
async def ready() -> dict:
    return {"status": "ok"}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False)
""")
BARE_PROXY = _PROXY.substitute(
    setup="",
    work="""    upstream = await client.send(
        client.build_request("POST", "/v1/chat/completions", json=body.model_dump()),
        stream=True,
    )

    async def relay():
        try:
            async for chunk in upstream.aiter_raw():
                yield chunk
        finally:
            await upstream.aclose()

    return StreamingResponse(relay(), media_type="text/event-stream")
""",
)
BARE_GRAPH_PROXY = _PROXY.substitute(
    setup="""from langgraph.config import get_stream_writer
from qwen_router.bench.baselines import bare_graph
from qwen_router.core import Router

async def generate(state):
    write = get_stream_writer()
    async with client.stream(
        "POST", "/v1/chat/completions", json=state["request"]
    ) as upstream:
        async for line in upstream.aiter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                write(line[6:])
    return {"result": 1}

graph = bare_graph(Router(sys.argv[3]).graph, generate=generate)
""",
    work="""    async def events():
        stream = graph.astream({"request": body.model_dump()}, stream_mode="custom")
        async for event in stream:
            yield f"data: {event}\\n\\n"
        yield "data: [DONE]\\n\\n"

    return StreamingResponse(events(), media_type="text/event-stream")
""",
)

# The bare llama.cpp script: load the GGUF as the backend does (argv[3] "0": without
# weight repacking, as qwen_router.backends.llamacpp.repack loads on a CPU that reports
# AMX), stream one token.
_LLAMA = string.Template("""
import os, sys
$setup
import llama_cpp
if sys.argv[3] == "0":
    defaults = llama_cpp.llama_cpp.llama_model_default_params
    def without_repacking():
        params = defaults()
        params.use_extra_bufts = False
        return params
    llama_cpp.llama_cpp.llama_model_default_params = without_repacking
n = os.cpu_count() or 1
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=4096, n_threads=n,
                      n_threads_batch=n, n_batch=512, verbose=False)
messages = [{"role": "user", "content": sys.argv[2]}]
for chunk in llm.create_chat_completion(messages, max_tokens=1, temperature=0.0,
                                        stream=True):
    text = chunk["choices"][0]["delta"].get("content")
    if text:
        sys.stdout.write(text)
        sys.stdout.flush()
""")
BARE_LLAMA = _LLAMA.substitute(setup="")

# The floor of a LangGraph CLI: the same script, after importing LangGraph (and with it
# langchain-core and langsmith) and compiling a one-node graph, as any LangGraph
# program must before its first step; with the garbage collector paused meanwhile, as
# ``ask`` pauses it (``qwen_router.startup``), so that the floor stays a floor.
BARE_GRAPH_LLAMA = _LLAMA.substitute(
    setup="import gc\n"
    "gc.disable()\n"
    "from typing import TypedDict\n"
    "from langgraph.graph import END, START, StateGraph\n"
    "class State(TypedDict):\n"
    "    text: str\n"
    "builder = StateGraph(State)\n"
    "builder.add_node('generate', lambda state: state)\n"
    "builder.add_edge(START, 'generate')\n"
    "builder.add_edge('generate', END)\n"
    "graph = builder.compile()\n"
    "gc.freeze()\n"
    "gc.enable()\n"
)


def bare_graph(router_graph: Any, **bodies: Any) -> Any:
    """Same node names and edges as the router's graph; every node does nothing, but
    for the node bodies given by name (``generate=...``)."""
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    class State(TypedDict, total=False):
        request: Any
        result: Any

    async def noop(state: State) -> dict[str, Any]:
        return {"result": 1}

    shape = router_graph.get_graph()
    builder: Any = StateGraph(State)
    names = [n for n in shape.nodes if n not in ("__start__", "__end__")]
    for name in names:
        builder.add_node(name, bodies.get(name, noop))
    branches: dict[str, list[str]] = {}
    for edge in shape.edges:
        target = END if edge.target == "__end__" else edge.target
        source = START if edge.source == "__start__" else edge.source
        if edge.conditional:
            branches.setdefault(source, []).append(target)
        else:
            builder.add_edge(source, target)
    for source, targets in branches.items():
        # the common path: the first non-verify target (generate -> respond)
        pick = next((t for t in targets if t == "respond"), targets[-1])
        builder.add_conditional_edges(source, _branch_to(pick), targets)
    return builder.compile()


def _branch_to(target: str) -> Any:
    # Async, as the nodes are: LangGraph runs a sync edge function of an async run in
    # a worker thread, a hop the router's own edges do not make.
    async def branch(state: Any) -> str:
        return target

    return branch
