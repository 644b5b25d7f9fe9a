"""The ltx2 engine's settings: device, dtype and the DiT's accelerations ($LTXFLOW_DIT)."""

from __future__ import annotations

import torch

from ltxflow.engine import SpeedOptions
from ltxflow.errors import LtxflowError

GEMMA_ENV = "LTXFLOW_GEMMA_DIR"
EMBEDDINGS_ENV = "LTXFLOW_PROMPT_EMBEDDINGS"
UPSAMPLER_ENV = "LTXFLOW_UPSAMPLER"
DIT_ENV = "LTXFLOW_DIT"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class EngineError(LtxflowError):
    """An engine setting or task this engine cannot run."""


def dit_speed(setting: str, device: torch.device) -> SpeedOptions | None:
    """SpeedOptions from a $LTXFLOW_DIT value; None (the plain path) on the CPU or for "plain"."""
    words = {w.strip() for w in setting.split(",") if w.strip()}
    unknown = words - {"fp8", "offload", "plain"}
    if unknown:
        raise EngineError(f"${DIT_ENV}: unknown setting(s) {', '.join(sorted(unknown))}; use fp8, offload or plain")
    if "plain" in words and len(words) > 1:
        raise EngineError(f"${DIT_ENV}: \"plain\" cannot be combined with {', '.join(sorted(words - {'plain'}))}")
    if device.type != "cuda" or "plain" in words:
        return None
    return SpeedOptions(fp8="fp8" in words, offload_blocks="offload" in words)


def pick_device(name: str) -> torch.device:
    """"auto" -> the first CUDA device if there is one, else the CPU; anything else as torch reads it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise EngineError(f"generation.device: {name!r} is not a torch device (auto, cpu, cuda, cuda:1, ...)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise EngineError(f"generation.device: {name!r} but no CUDA device is available")
    return device


def pick_dtype(name: str, device: torch.device) -> torch.dtype:
    """"auto" -> bfloat16 on accelerators, float32 on the CPU."""
    if name == "auto":
        return torch.float32 if device.type == "cpu" else torch.bfloat16
    if name not in DTYPES:
        raise EngineError(f"generation.dtype: {name!r} is not one of auto, {', '.join(DTYPES)}")
    return DTYPES[name]
