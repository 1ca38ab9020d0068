"""``qwen-router init``: detect the machine, plan a profile, explain it, write it.

``--machine FILE`` reads a machine description (YAML, the fields of
:class:`~.detect.Machine`) instead of detecting this one: for planning another host,
and for tests.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml
from qwen_router.errors import ConfigError, InputError
from qwen_router.yaml_text import load_yaml

from .detect import Machine, detect_machine
from .sizing import InitPlan, plan_profile

__all__ = ["profile_yaml", "run"]


def profile_yaml(plan: InitPlan) -> str:
    """The plan's profile as YAML, with the reasons as a header comment."""
    header = "".join(
        f"# {line}\n" for line in ["Written by `qwen-router init`.", *plan.reasons]
    )
    body = yaml.safe_dump(plan.profile, sort_keys=False, allow_unicode=True)
    return header + body


def _machine(args: argparse.Namespace) -> Machine:
    if not args.machine:
        return detect_machine(
            ollama_host=args.ollama_host, remote_vllm=args.remote_vllm
        )
    path = Path(args.machine).expanduser()
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
        machine = Machine.model_validate(data)
    except OSError as exc:
        raise InputError(
            f"cannot read machine description {path}: {exc.strerror}"
        ) from None
    except (yaml.YAMLError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        raise InputError(f"{path}: not a machine description: {first}") from None
    if args.remote_vllm:
        machine = machine.model_copy(update={"remote_vllm": args.remote_vllm})
    return machine


def run(args: argparse.Namespace) -> int:
    """The ``init`` subcommand.

    Raises:
        InputError: an unreadable machine description.
        ConfigError: the output file exists (without ``--force``) or the planned
            profile does not validate.
    """
    from qwen_router.profiles import load_profile

    plan = plan_profile(_machine(args), name=args.name)
    text = profile_yaml(plan)
    for line in plan.reasons:
        print(line, file=sys.stderr)
    if args.dry_run:
        sys.stdout.write(text)
        return 0
    out = Path(args.output).expanduser()
    if out.exists() and not args.force:
        raise ConfigError(
            f"{out} exists", hint="pass --force to overwrite, or --output"
        )
    out.write_text(text, encoding="utf-8")
    load_profile(out)  # what was written must load
    print(f"wrote {out}", file=sys.stderr)
    return 0
