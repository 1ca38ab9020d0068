"""``qwen-router init``'s command-line options, apart from the machinery they drive:
building the CLI's parser must not import machine detection and sizing."""

from __future__ import annotations

import argparse

__all__ = ["add_arguments"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output", "-o", default="qwen-router.yaml", help="profile file to write"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the YAML, write nothing"
    )
    parser.add_argument(
        "--machine", help="plan for this machine description (YAML) instead"
    )
    parser.add_argument("--ollama-host", help="Ollama server to ask for pulled models")
    parser.add_argument(
        "--remote-vllm", help="base URL of a remote vLLM to serve every route"
    )
    parser.add_argument("--name", default="machine", help="the profile's name")
    parser.add_argument(
        "--force", action="store_true", help="overwrite an existing file"
    )
