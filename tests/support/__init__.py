"""Shared test plumbing, imported as ``support`` (pytest puts ``tests/`` on
``sys.path`` for the root conftest): loopback HTTP servers that speak the Ollama and
OpenAI wire protocols with tiny real Qwen models behind them."""
