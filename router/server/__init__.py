"""The HTTP server: the router as a model named ``auto`` (needs the ``[server]`` extra).

``create_app(settings)`` builds the FastAPI app; ``qwen-router serve`` runs it.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
