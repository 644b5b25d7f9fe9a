"""Test-only local plugin: engine "flat", a few frames of a flat colour and a sine tone per task (no model), so the
disk-fault subprocesses are quick."""

from __future__ import annotations

from typing import Any

import numpy as np

from ltxflow.clip import Clip
from ltxflow.hookspecs import hookimpl


class Flat:
    name, device_name = "flat", "cpu"

    def generate(self, task: Any, progress: Any = None) -> Clip:
        shade = 40 + 10 * len(task.variant_id)
        frames = np.full((task.num_frames, task.height, task.width, 3), shade, np.uint8)  # (F, H, W, 3)
        rate = 16000  # Hz
        t = np.arange(int(rate * task.num_frames / task.frame_rate)) / rate  # (S,) s
        return Clip(frames, task.frame_rate, (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None], rate)

    def close(self) -> None:
        pass


@hookimpl
def register_engines(register: Any) -> None:
    register("flat", lambda settings: Flat())
