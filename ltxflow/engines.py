"""The engine contract: what the runner needs from anything that turns a Task into a Clip."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ltxflow.clip import Clip
from ltxflow.tasks import Task

Progress = Callable[[int, int], None]  # progress(step_done, steps_total)


@dataclass(frozen=True)
class EngineSettings:
    """How to build the one resident engine of a run."""

    checkpoint: str  # a built-in name ("tiny") or an absolute path to a .safetensors file
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:1", ...
    dtype: str = "auto"  # "auto", "float32", "bfloat16", "float16"
    precision: str = "exact"  # "exact" | "fp8" (row-wise FP8 DiT linears)
    offload: bool = False  # stream DiT blocks from host memory
    reference_path: bool = False  # the reference-identical DiT path instead of the exact speed settings
    text_encoder: Path | None = None  # Gemma-3 folder (real checkpoints)
    prompt_embeddings: Path | None = None  # precomputed prompt contexts instead of Gemma
    upsampler: Path | None = None  # x2 latent upsampler for two-stage pipelines


class Engine(Protocol):
    """A loaded model that generates clips; one instance serves every task of a run."""

    name: str  # the registered engine name
    device_name: str  # what it runs on, for cost rates: "cpu", "NVIDIA H100 80GB HBM3", ...

    def generate(self, task: Task, progress: Progress | None = None) -> Clip:
        """Generate the clip `task` describes, calling `progress(done, total)` as steps finish.

        An engine whose `generate` also takes `clock` is handed a :class:`ltxflow.timing.StageClock` and
        marks its own stages (``with clock.stage("text_encode"): ...``); otherwise the runner times the
        stages from the step callbacks.
        """
        ...

    def close(self) -> None:
        """Release the model and its device memory."""
        ...


EngineFactory = Callable[[EngineSettings], Engine]
