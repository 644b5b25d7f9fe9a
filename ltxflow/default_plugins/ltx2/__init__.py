"""The built-in `ltx2` engine: our LTX-2 implementation (`ltxflow.engine`) behind the Engine protocol.

Checkpoints: "tiny" (the embedded toy model, built into the cache on first use) or a path to an official LTX-2 /
LTX-2.3 single .safetensors file. For a real checkpoint the Gemma-3 folder comes from $LTXFLOW_GEMMA_DIR (or
precomputed prompt contexts from $LTXFLOW_PROMPT_EMBEDDINGS), the x2 latent upsampler for two-stage runs from
$LTXFLOW_UPSAMPLER. $LTXFLOW_DIT picks the DiT's GPU settings: a comma list of "fp8" (row-wise FP8 linears,
approximate), "offload" (block weights in host memory, for GPUs smaller than the model) or "plain" (the
reference-identical path); unset = the exact defaults.

This module is what the plugin manager imports, so it imports no torch: the engine is built (`engine.py`) when a
run asks for one. `request.py` is the one place where a Task becomes an engine request.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ltxflow.hookspecs import hookimpl

if TYPE_CHECKING:  # loading the plugin (every command does) imports nothing heavy: ltxflow.engines pulls in numpy
    from ltxflow.engines import Engine, EngineFactory, EngineSettings

ENGINE_NAME = "ltx2"
_LAZY = {"LTX2Engine": "engine", "EngineError": "settings", "dit_speed": "settings"}  # name -> submodule


def _factory(settings: EngineSettings) -> Engine:
    """Build the engine (imports torch and loads the checkpoint)."""
    from ltxflow.default_plugins.ltx2.engine import LTX2Engine

    return LTX2Engine(settings)


@hookimpl
def register_engines(register: Callable[[str, EngineFactory], None]) -> None:
    """Register the built-in `ltx2` engine."""
    register(ENGINE_NAME, _factory)


def __getattr__(name: str) -> Any:
    """`LTX2Engine`, `EngineError` and `dit_speed`, imported from their submodules on first access."""
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
