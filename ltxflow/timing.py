"""Seconds per stage of a task: load, text_encode, denoise, decode, export (what costs are billed on).

One resident engine holds the device for the whole run, so every stage of a task holds it: a stage's device
seconds are its wall seconds. The engine's stages are timed from its step callbacks unless the engine marks
them itself through the clock (see `Engine.generate`).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

STAGES = ("load", "text_encode", "denoise", "decode", "export")  # "generate" when an engine cannot be split


class StageClock:
    """Wall seconds per stage of one task attempt, in the order stages were first timed."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block as (part of) stage `name`."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started)

    def add(self, name: str, seconds: float) -> None:
        """Count `seconds` more of stage `name`."""
        self.seconds[name] = self.seconds.get(name, 0.0) + max(0.0, seconds)

    @property
    def total(self) -> float:
        """All stages' seconds."""
        return sum(self.seconds.values())


class StepTimer:
    """Splits one `engine.generate` call into text_encode, denoise and decode from its step callbacks.

    Text encoding (and conditioning) runs before the first step, decoding after the last: the time to the first
    callback minus one step's time is text_encode, the time after the last callback is decode, the rest denoise.
    """

    def __init__(self, progress: Callable[[int, int], None] | None = None) -> None:
        self.progress = progress
        self.started = time.perf_counter()
        self.first: float | None = None  # when step 1 finished
        self.last: float | None = None  # when the last reported step finished
        self.steps = 0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if self.first is None:
            self.first = now
        self.last, self.steps = now, done
        if self.progress is not None:
            self.progress(done, total)

    def split_into(self, clock: StageClock) -> None:
        """Add the call's stages (ended now) to `clock`."""
        ended = time.perf_counter()
        if self.first is None or self.last is None:
            clock.add("generate", ended - self.started)  # the engine reported no steps: one stage
            return
        step = (self.last - self.first) / (self.steps - 1) if self.steps > 1 else 0.0
        encode = max(0.0, self.first - self.started - step)
        clock.add("text_encode", encode)
        clock.add("denoise", self.last - self.started - encode)
        clock.add("decode", ended - self.last)


def marks_its_own_stages(generate: Callable[..., object]) -> bool:
    """Whether an engine's `generate` takes a `clock` to mark its stages exactly."""
    try:
        return "clock" in inspect.signature(generate).parameters
    except (TypeError, ValueError):  # a builtin or C callable without a signature
        return False
