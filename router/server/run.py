"""``qwen-router serve``: run the app under uvicorn with a graceful shutdown.

On SIGINT/SIGTERM uvicorn stops accepting connections, lets in-flight requests
(streams included) finish for up to ``graceful_timeout_s`` seconds, then runs the
lifespan's shutdown, which closes the backends.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

import uvicorn
from qwen_router.settings import Settings

from .app import create_app

__all__ = ["main", "settings_from_args"]

# CLI option -> Settings field
_ARGS = {
    "profile": "profile",
    "host": "host",
    "port": "port",
    "api_keys_file": "api_keys_file",
    "preload": "preload",
    "rate_limit_rpm": "rate_limit_rpm",
    "rate_limit_tpm": "rate_limit_tpm",
    "max_body_bytes": "max_body_bytes",
    "concurrency": "backend_concurrency",
    "queue_timeout": "queue_timeout_s",
    "allow_image_urls": "allow_image_urls",
    "graceful_timeout": "graceful_timeout_s",
    "log_level": "log_level",
}


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Environment settings with the options given on the command line on top.

    Raises:
        pydantic.ValidationError: an option or environment variable is invalid.
    """
    overrides: dict[str, Any] = {}
    for arg, field in _ARGS.items():
        value = getattr(args, arg, None)
        if value is None or (
            value is False and field in ("preload", "allow_image_urls")
        ):
            continue
        overrides[field] = value
    return Settings(**overrides)


def main(args: argparse.Namespace) -> int:
    """Serve until interrupted; return the exit status.

    Raises:
        ConfigError: a bad profile or API keys file.
    """
    settings = settings_from_args(args)
    logging.basicConfig(level=settings.log_level.upper(), format="%(message)s")
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,  # RequestLogMiddleware writes structured request logs
        timeout_graceful_shutdown=settings.graceful_timeout_s,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1
