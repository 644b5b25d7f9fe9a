"""Spec failures predicted before anything runs: what each task's deliverables will break, per platform.

`validate` and `plan` read these; `run` checks the written files again (export.probe.check_mp4) and exits 1 when
one fails, unless the campaign sets `allow_spec_failures`. Predicted: a clip shorter than the platform's minimum
or (with over_length = "refuse") longer than its maximum, a frame smaller than the platform's minimum size, a
target bitrate under its floor, an estimated file size over its cap. Notes (not failures): trims, frame-rate
conversion, an added silent track.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ltxflow.tasks import Task

CONTAINER_OVERHEAD = 1.02  # MP4 boxes and index on top of the streams' bits (the estimate only)


@dataclass(frozen=True)
class Prediction:
    """One predicted problem of one task's deliverable on one platform."""

    platform: str
    variant_id: str
    problem: str  # the sentence, without the variant: "duration 0.38 s is under the 3 s minimum of reels ..."
    failure: bool  # True: the deliverable will fail its spec; False: a note on what export changes


def frames_for(seconds: float, fps: Fraction) -> int:
    """The fewest 8k+1 frames lasting at least `seconds` at `fps`."""
    frames = math.ceil(Fraction(str(seconds)) * fps - Fraction(1, 10**9))
    return max(1, frames + (-(frames - 1)) % 8)


def predict(task: Task, platform: str, preset: Any) -> list[Prediction]:
    """What `task`'s deliverable on `platform` will break (a preset without the fields predicts nothing)."""
    if not hasattr(preset, "min_seconds"):
        return []
    out: list[Prediction] = []

    def add(problem: str, failure: bool = True) -> None:
        out.append(Prediction(platform, task.variant_id, problem, failure))

    fps = task.frame_rate
    seconds = float(task.duration)
    if seconds < preset.min_seconds - 1e-6:
        add(f"duration {seconds:.2f} s is under the {preset.min_seconds:g} s minimum of {platform} "
            f"(needs frames >= {frames_for(preset.min_seconds, fps)} at {fps} fps)")  # fmt: skip
    if seconds > preset.max_seconds + 1e-6:
        if preset.over_length == "refuse":
            add(f"duration {seconds:.2f} s is over the {preset.max_seconds:g} s maximum of {platform} "
                f"(over_length = refuse: export fails)")  # fmt: skip
        else:
            add(f"trimmed from {seconds:.2f} s to the {preset.max_seconds:g} s maximum", failure=False)
        seconds = min(seconds, preset.max_seconds)
    min_w, min_h = getattr(preset, "min_width", None), getattr(preset, "min_height", None)
    if (min_w and preset.width < min_w) or (min_h and preset.height < min_h):
        add(f"frame {preset.width}x{preset.height} is under the {min_w or 0}x{min_h or 0} minimum of {platform}")
    out_fps = preset.output_fps(fps)
    if out_fps != fps:
        add(f"frame rate {fps} converted to {out_fps} fps", failure=False)
    sound = task.audio_mode != "silent" or task.brand_fit is not None
    if not sound and preset.require_audio:
        add("silent clip: a silent audio track is added", failure=False)
    if preset.rate_control == "bitrate":
        kbps = preset.video_bitrate(out_fps) / 1000 + (preset.audio_kbps if sound or preset.require_audio else 0)
        if preset.min_total_kbps is not None and kbps < preset.min_total_kbps:
            add(f"target bitrate {kbps:.0f} kbps is under the {preset.min_total_kbps} kbps floor of {platform}")
        estimate = kbps * 1000 / 8 * seconds * CONTAINER_OVERHEAD  # bytes
        if preset.max_bytes is not None and estimate > preset.max_bytes:
            add(f"estimated {estimate / 1e6:.0f} MB is over the {preset.max_bytes / 1e6:.0f} MB cap of {platform}")
    return out


def predict_all(tasks: Iterable[Task], presets: Mapping[str, Any]) -> list[Prediction]:
    """Every task's predictions on every platform it is delivered to."""
    return [p for task in tasks for platform in task.platforms for p in predict(task, platform, presets[platform])]


def summary_lines(predictions: Iterable[Prediction], failures: bool) -> list[str]:
    """One line per (platform, problem), naming the variants it concerns: "reels: <problem> (variants a, b)"."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for p in predictions:
        if p.failure == failures:
            variants = grouped.setdefault((p.platform, p.problem), [])
            if p.variant_id not in variants:
                variants.append(p.variant_id)
    lines = []
    for (platform, problem), variants in grouped.items():
        noun = "variant" if len(variants) == 1 else "variants"
        lines.append(f"{platform}: {problem} ({noun} {', '.join(variants)})")
    return lines


__all__ = ["Prediction", "frames_for", "predict", "predict_all", "summary_lines"]
