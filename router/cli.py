"""The ``qwen-router`` command line. It only calls the public API; no routing logic here."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from .errors import InputError, RouterError
from .startup import collection_paused
from .types import GenerationParams, ImagePart, Message, TextPart

__all__ = ["main"]

# `qwen-router bench NAME ...` -> module with main(argv)
BENCHMARKS = {
    "route": "qwen_router.bench.route",
    "math": "qwen_router.bench.math",
    "thinking": "qwen_router.bench.thinking",
    "server": "qwen_router.bench.server",
    "backends": "qwen_router.bench.backends",
    "vision": "qwen_router.bench.vision",
    "overhead": "qwen_router.bench.overhead",
}


def _user_message(text: str, images: Sequence[str]) -> Message:
    if not images:
        return Message(role="user", content=text)
    parts: list[Any] = [TextPart(text=text)] if text else []
    for path in images:
        if not Path(path).expanduser().is_file():
            raise InputError(f"image not found or unreadable: {path}")
        parts.append(ImagePart(image=str(Path(path).expanduser())))
    return Message(role="user", content=parts)


def _params(args: argparse.Namespace) -> GenerationParams | None:
    fields = {"max_tokens": args.max_tokens, "temperature": args.temperature, "seed": args.seed}
    fields = {k: v for k, v in fields.items() if v is not None}
    return GenerationParams(**fields) if fields else None


def _router(args: argparse.Namespace, messages: Sequence[Message]) -> tuple[Any, Any]:
    """The command's Router, and the route decision for ``messages`` (``None``: the
    graph classifies them itself, and reports what is wrong with them).

    The profile's classifier runs in a worker thread while the Router is built (its
    imports, the profile's templates and backends): a prompt whose words do not tell
    its language loads py3langid's model (about 0.75 s on the README's VM, mostly LZMA
    decompression, which runs without the GIL), so the two overlap.
    """
    from concurrent.futures import ThreadPoolExecutor

    with collection_paused():  # what the Router imports and builds lives until exit
        from .classify import default_classifier
        from .core import Router
        from .observability.otel_setup import configure_tracing_from
        from .profiles import load_profile
        from .settings import get_settings

        settings = get_settings()
        configure_tracing_from(settings)  # OTEL_TRACES_EXPORTER unset: nothing happens
        profile = load_profile(args.profile)
        classifier = default_classifier(profile)
        with ThreadPoolExecutor(1, thread_name_prefix="qwen-router-classify") as pool:
            early = pool.submit(classifier.classify, messages)
            router = Router(
                profile,
                classifier=classifier,
                template_dirs=args.templates or (),
                image_limits=settings.image_limits(),
            )
            try:
                decision = early.result()
            except RouterError:
                decision = None
    return router, decision


def _cmd_ask(args: argparse.Namespace) -> int:
    return _interruptible(lambda: _ask(args))


def _interruptible(work: Any) -> int:
    """Run ``work`` in a daemon thread, so that Ctrl-C stops the command at once, even
    while a model runs in native code that does not return to Python for minutes."""
    import os
    import threading

    box: list[Any] = []

    def run() -> None:
        try:
            box.append(work())
        except BaseException as exc:  # re-raised in the main thread
            box.append(exc)

    thread = threading.Thread(target=run, name="qwen-router-ask", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.1)
    except KeyboardInterrupt:
        sys.stdout.flush()
        print("\nqwen-router: interrupted", file=sys.stderr, flush=True)
        os._exit(130)  # the generation thread may be inside native code
    if isinstance(box[0], BaseException):
        raise box[0]
    return int(box[0])


def _ask(args: argparse.Namespace) -> int:
    text = args.text if args.text != "-" else sys.stdin.read()
    messages = []
    if args.system:
        messages.append(Message(role="system", content=args.system))
    messages.append(_user_message(text, args.image or []))
    options = {
        "route": args.route,
        "model": args.model,
        "params": _params(args),
        "thinking": args.think,
        "thinking_budget": args.thinking_budget,
    }
    router, decision = _router(args, messages)
    if decision is not None:
        options["decision"] = decision
    with router:
        if args.json:
            result = router.invoke(messages, **options)
            print(json.dumps(result.summary(), ensure_ascii=False, default=str))
            return 0
        result = None
        # Piped stdout gets only the final answer; the live stream (every attempt and the
        # repair marker) goes to stderr then.
        live = sys.stdout if sys.stdout.isatty() else sys.stderr
        for event in router.stream(messages, **options):
            if event.type == "token":
                if event.thinking and args.show_thinking:
                    sys.stderr.write(event.thinking)
                live.write(event.text)
                live.flush()
            elif event.type == "node" and event.node == "repair":
                live.write("\n\n[verifier refuted the answer; repairing]\n\n")
            elif event.type == "result":
                result = event.result
        live.write("\n")
        if live is not sys.stdout and result is not None:
            sys.stdout.write(result.answer + "\n")
        if result is not None:
            _print_footer(result, sys.stderr)
    return 0


def _print_footer(result: Any, out: TextIO) -> None:
    d, t, u = result.decision, result.timings, result.usage
    line = (
        f"route={d.route} ({d.confidence:.2f}, {d.stage}) model={result.model} "
        f"tokens={u.prompt_tokens}+{u.completion_tokens}"
        + (f" thinking={u.thinking_tokens}" if u.thinking_tokens else "")
        + f" load={t.load_ms / 1000:.1f}s total={t.total_ms / 1000:.1f}s"
    )
    if result.verification is not None:
        v = result.verification
        line += f"\nverification: {v.status}: {v.explanation}"
    try:
        from rich.console import Console

        Console(file=out, highlight=False).print(f"[dim]{line}[/dim]")
    except ImportError:
        print(line, file=out)


def _decision_row(decision: Any, item_id: Any = None) -> dict[str, Any]:
    row = {"id": item_id} if item_id is not None else {}
    row.update(decision.model_dump())
    return row


def _read_jsonl(path: str) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    handle = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    with handle:
        for n, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, None, f"line {n}: invalid JSON: {exc.msg}"
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get("text", ""), str):
                yield n, None, f"line {n}: expected an object with a string 'text'"
                continue
            yield n, obj, None


def _cmd_classify(args: argparse.Namespace) -> int:
    with collection_paused():
        from .classify import default_classifier
        from .profiles import load_profile

        classifier = default_classifier(load_profile(args.profile))
    if args.jsonl is None:
        if args.text is None:
            raise InputError("give TEXT or --jsonl FILE")
        decision = classifier.classify([_user_message(args.text, args.image or [])])
        print(json.dumps(_decision_row(decision), ensure_ascii=False))
        return 0
    if args.jsonl != "-" and not Path(args.jsonl).is_file():
        raise InputError(f"file not found: {args.jsonl}")
    failures = 0
    items = list(_read_jsonl(args.jsonl))
    for _n, obj, error in _progress(items, "classifying"):
        if obj is None:
            failures += 1
            print(json.dumps({"error": error}), flush=True)
            continue
        try:
            message = _user_message(obj.get("text", ""), obj.get("images") or [])
            decision = classifier.classify([message])
            print(json.dumps(_decision_row(decision, obj.get("id")), ensure_ascii=False), flush=True)
        except RouterError as exc:
            failures += 1
            print(json.dumps({"id": obj.get("id"), "error": str(exc)}, ensure_ascii=False), flush=True)
    return 1 if failures else 0


def _progress(items: list[Any], label: str) -> Iterator[Any]:
    """Yield items, showing progress on stderr for long runs."""
    if len(items) < 50 or not sys.stderr.isatty():
        yield from items
        return
    try:
        from rich.progress import track
    except ImportError:
        yield from items
        return
    yield from track(items, description=label, console=None, transient=True)


def _cmd_models_health(args: argparse.Namespace) -> int:
    from .observability.probe import fetch_health, probe_health
    from .observability.report import format_report

    if args.url:
        report = fetch_health(args.url, api_key=args.api_key)
    else:
        report = probe_health(args.profile, probes=args.probes)
    print(report.model_dump_json() if args.json else format_report(report))
    return 1 if report.status == "unhealthy" else 0


def _cmd_models_explain(args: argparse.Namespace) -> int:
    from .thinking.explain import explain, format_explanation
    from .thinking.families import table_for

    table = table_for(tuple(load_profile_families(args.profile)))
    info = explain(args.explain, table=table, engine=args.engine)
    print(json.dumps(info, ensure_ascii=False) if args.json else format_explanation(info))
    return 0


def load_profile_families(profile: str | None) -> list[Any]:
    """The ``families`` a profile adds (none without ``--profile``)."""
    if profile is None:
        return []
    from .profiles import load_profile

    return list(load_profile(profile).families)


def _cmd_init(args: argparse.Namespace) -> int:
    from .machine.command import run

    return run(args)


def _cmd_models(args: argparse.Namespace) -> int:
    from .backends_health import route_health

    if args.health:
        return _cmd_models_health(args)
    if args.explain:
        return _cmd_models_explain(args)
    rows = route_health(args.profile)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"profile {args.profile or 'local'}")
        for col in ("route", "role", "model", "backend", "available", "detail"):
            table.add_column(col)
        for r in rows:
            mark = "[green]yes[/green]" if r["available"] else "[red]no[/red]"
            table.add_row(r["route"], r["role"], r["model"], r["backend"], mark, r["detail"])
        Console().print(table)
    except ImportError:
        for r in rows:
            print(f"{r['route']:<13} {r['role']:<9} {r['model']:<40} {r['available']!s:<6} {r['detail']}")
    return 0


def _cmd_profiles(args: argparse.Namespace) -> int:
    from .profiles import list_profiles, load_profile

    for name in list_profiles():
        print(f"{name:<8} {load_profile(name).description}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    module = BENCHMARKS.get(args.name)
    if module is None:
        raise InputError(f"unknown benchmark {args.name!r}", hint=f"benchmarks: {', '.join(BENCHMARKS)}")
    try:
        bench = importlib.import_module(module)
    except ImportError as exc:
        raise InputError(f"benchmark {args.name!r} is not available: {exc}") from None
    return int(bench.main(list(args.rest)) or 0)


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        serve = importlib.import_module("qwen_router.server.run")
    except ImportError as exc:
        raise InputError(f"the server needs its extra: {exc}", hint="pip install 'qwen-router[server]'") from None
    return int(serve.main(args) or 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qwen-router", description="Route requests to the right Qwen model.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--profile", "-p", default=None, help="profile name or YAML path (default: local)")

    ask = sub.add_parser("ask", help="answer one request, streaming to the terminal")
    ask.add_argument("text", help="the request ('-' reads stdin)")
    common(ask)
    ask.add_argument("--route", "-r", help="force a route (skip the classifier's choice)")
    ask.add_argument("--model", "-m", help="override the model: BACKEND:MODEL (hf:, gguf:, ollama:, openai:, llamacpp:)")
    ask.add_argument("--image", "-i", action="append", help="attach an image (repeatable)")
    ask.add_argument("--system", help="a system message")
    ask.add_argument("--json", action="store_true", help="print one JSON object instead of streaming")
    ask.add_argument("--think", dest="think", action="store_true", default=None, help="turn thinking on")
    ask.add_argument("--no-think", dest="think", action="store_false", help="turn thinking off")
    ask.add_argument("--thinking-budget", type=int, help="cap thinking tokens")
    ask.add_argument("--show-thinking", action="store_true", help="stream the thinking to stderr")
    ask.add_argument("--max-tokens", type=int)
    ask.add_argument("--temperature", type=float)
    ask.add_argument("--seed", type=int)
    ask.add_argument("--templates", action="append", help="a directory of prompt templates that override the shipped ones")
    ask.set_defaults(func=_cmd_ask)

    cls = sub.add_parser("classify", help="print the routing decision as JSON")
    cls.add_argument("text", nargs="?")
    common(cls)
    cls.add_argument("--jsonl", help="classify every {'text', 'id'?, 'images'?} line of FILE ('-' = stdin)")
    cls.add_argument("--image", "-i", action="append")
    cls.set_defaults(func=_cmd_classify)

    models = sub.add_parser("models", help="list each route's model and whether it is available now")
    common(models)
    models.add_argument("--json", action="store_true")
    models.add_argument("--explain", metavar="SPEC", help="family, thinking switch, think tokens, tool format, sampling and budget method of BACKEND:MODEL")
    models.add_argument("--engine", default="auto", help="with --explain on openai: vllm, sglang, llamacpp, generic")
    models.add_argument(
        "--health",
        action="store_true",
        help="healthy / degraded / unhealthy per model, with reasons: from --url's "
        "/health, or by probing each route's model here",
    )
    models.add_argument("--url", help="with --health: a running server (http://host:port)")
    models.add_argument("--api-key", help="with --url: the server's bearer token")
    models.add_argument("--probes", type=int, default=1, help="with --health: calls per model")
    models.set_defaults(func=_cmd_models)

    init = sub.add_parser("init", help="detect this machine and write a profile sized to it")
    from .machine.arguments import add_arguments as init_arguments

    init_arguments(init)
    init.set_defaults(func=_cmd_init)

    profiles = sub.add_parser("profiles", help="list the shipped profiles")
    profiles.set_defaults(func=_cmd_profiles)

    bench = sub.add_parser("bench", help=f"run a benchmark: {', '.join(BENCHMARKS)}")
    bench.add_argument("name")
    bench.add_argument("rest", nargs=argparse.REMAINDER)
    bench.set_defaults(func=_cmd_bench)

    serve = sub.add_parser("serve", help="serve the router over OpenAI- and Ollama-compatible HTTP")
    common(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--api-keys-file", help="file with one bearer token per line")
    serve.add_argument("--preload", action="store_true", help="load every route's model at start-up")
    serve.add_argument("--rate-limit-rpm", type=int, help="requests per minute per API key")
    serve.add_argument("--rate-limit-tpm", type=int, help="tokens per minute per API key")
    serve.add_argument("--max-body-bytes", type=int, help="largest request body accepted")
    serve.add_argument("--concurrency", type=int, help="requests run at once per backend")
    serve.add_argument("--queue-timeout", type=float, help="seconds to wait for a backend slot before 503")
    serve.add_argument("--allow-image-urls", action="store_true", help="fetch http(s) image URLs")
    serve.add_argument("--allow-model-specs", action="store_true", help="let clients name BACKEND:MODEL specs (off by default)")
    serve.add_argument("--redis-url", help="share rate limits between replicas through this Redis")
    serve.add_argument("--trusted-proxies", help="comma-separated proxy addresses whose X-Forwarded-For is believed")
    serve.add_argument("--keep-alive-timeout", type=float, help="idle seconds before a keep-alive connection closes")
    serve.add_argument("--graceful-timeout", type=int, help="seconds to finish in-flight requests on stop")
    serve.add_argument("--log-level", help="debug, info, warning, error")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes; metrics, rate limits and --concurrency are per process",
    )
    serve.set_defaults(func=_cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qwen-router`` console script."""
    args = _parser().parse_args(argv)
    for name in ("templates",):
        if not hasattr(args, name):
            setattr(args, name, None)
    try:
        return int(args.func(args) or 0)
    except RouterError as exc:
        print(f"qwen-router: error: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:  # a QWEN_ROUTER_* environment setting
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        print(f"qwen-router: error: invalid setting {where}: {first['msg']}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("qwen-router: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
