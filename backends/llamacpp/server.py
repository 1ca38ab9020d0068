"""``python -m qwen_router.backends.llamacpp.server ARGS``: llama-cpp-python's own
OpenAI-compatible server (``python -m llama_cpp.server``, the same arguments), loading
its model with the repacking default of :mod:`.repack`, so that it does not crash on a
CPU that reports AMX. The tests and ``bench overhead`` start their upstream this way."""

from __future__ import annotations

import runpy

from .repack import default_repack, model_params

__all__ = ["main"]


def main() -> None:
    """Run ``llama_cpp.server`` with this process's arguments."""
    import llama_cpp

    with model_params(llama_cpp, repack=default_repack()):
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
