"""Generation defaults from the checkpoint: each model's reference values, and the campaign's settings over them.

Steps, frame rate, pipeline, guidance (scales, STG blocks, rescale) and the sigma schedule default to the loaded
model's reference values: LTX-2 19B, LTX-2.3 22B (read from the safetensors header's `model_version`, as the
reference pipelines do) and their distilled variants; a campaign overrides only the keys it names. The header
is read here without torch (8 bytes of length, then JSON), so `plan` and `validate` stay light.

The numbers are Lightricks' reference pipelines' (ltx_pipelines.utils.constants, LTX_2_PARAMS / LTX_2_3_PARAMS
and the distilled sigma list); tests compare them with that package and with the engine's `default_guidance`.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from ltxflow.tasks import Guidance

if TYPE_CHECKING:
    from ltxflow.campaign import Campaign

TINY = "tiny"  # the embedded toy checkpoint's name (ltxflow.engine.tiny.TINY_NAME)
HEADER_LIMIT = 100 * 1024 * 1024  # bytes: the safetensors format refuses larger headers
DISTILLED_STEPS = 8  # the distilled stage-1 sigma list has 9 levels: 8 steps
REFINE_STEPS = 3  # stage-2 refinement steps of the two-stage and distilled pipelines
OFF = Guidance()  # cfg 1, stg 0, rescale 0, modality 1: plain conditional prediction


@dataclass(frozen=True)
class Reference:
    """One model's reference generation settings."""

    model: str  # "LTX-2 19B", "LTX-2.3 22B", "LTX-2 19B distilled", "tiny"
    steps: int  # stage-1 denoising steps
    fps: Fraction  # frames per second
    pipeline: str  # "one-stage" | "two-stage" | "distilled"
    video_guidance: Guidance
    audio_guidance: Guidance


LTX2 = Reference("LTX-2 19B", 40, Fraction(24), "one-stage",
                 Guidance(cfg=3.0, stg=1.0, rescale=0.7, modality=3.0, stg_blocks=(29,)),
                 Guidance(cfg=7.0, stg=1.0, rescale=0.7, modality=3.0, stg_blocks=(29,)))  # fmt: skip
LTX23 = replace(LTX2, model="LTX-2.3 22B", steps=30, video_guidance=replace(LTX2.video_guidance, stg_blocks=(28,)),
                audio_guidance=replace(LTX2.audio_guidance, stg_blocks=(28,)))  # fmt: skip
# The tiny model is no reference model: LTX-2's scales on its first of 2 blocks, few steps (seconds on a CPU).
TINY_REFERENCE = replace(LTX2, model="tiny (random weights)", steps=4,
                         video_guidance=replace(LTX2.video_guidance, stg_blocks=(0,)),
                         audio_guidance=replace(LTX2.audio_guidance, stg_blocks=(0,)))  # fmt: skip


def distilled(reference: Reference) -> Reference:
    """The distilled variant of a model: its fixed 8-step sigma list, no guidance."""
    return replace(reference, model=f"{reference.model} distilled", steps=DISTILLED_STEPS, pipeline="distilled",
                   video_guidance=OFF, audio_guidance=OFF)  # fmt: skip


@dataclass(frozen=True)
class CheckpointFacts:
    """What the checkpoint header says, or why it could not be read."""

    version: str  # model_version metadata, "" when absent
    problem: str  # "" when read; else why (the defaults then assume LTX-2)


def read_model_version(path: Path) -> CheckpointFacts:
    """The `model_version` of a safetensors file, read from its JSON header alone (no torch, no tensor data)."""
    try:
        with path.open("rb") as f:
            head = f.read(8)
            if len(head) < 8:
                return CheckpointFacts("", "not a safetensors file (too short)")
            (size,) = struct.unpack("<Q", head)
            if size > HEADER_LIMIT:
                return CheckpointFacts("", "not a safetensors file (implausible header length)")
            header = json.loads(f.read(size))
    except FileNotFoundError:
        return CheckpointFacts("", "file not found")
    except OSError as exc:
        return CheckpointFacts("", f"cannot read ({exc.strerror})")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return CheckpointFacts("", "not a safetensors file (header is not JSON)")
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    version = metadata.get("model_version", "") if isinstance(metadata, dict) else ""
    return CheckpointFacts(version if isinstance(version, str) else "", "")


def reference_for(checkpoint: str, pipeline: str | None) -> tuple[Reference, CheckpointFacts]:
    """The reference settings of a checkpoint ("tiny" or an absolute path) for the named pipeline (None: its own).

    A file whose name says "distilled" defaults to the distilled pipeline, as the reference ships those files
    for it; naming pipeline = "distilled" gives the distilled defaults for any checkpoint.
    """
    if checkpoint == TINY:
        base, facts = TINY_REFERENCE, CheckpointFacts("", "")
    else:
        facts = read_model_version(Path(checkpoint))
        base = LTX23 if facts.version.startswith("2.3") else LTX2
    named_distilled = "distilled" in Path(checkpoint).name.lower()
    if pipeline == "distilled" or (pipeline is None and named_distilled):
        return distilled(base), facts
    return base, facts


@dataclass(frozen=True)
class Effective:
    """The settings a campaign's tasks run with, and where each came from."""

    reference: Reference
    facts: CheckpointFacts
    steps: int
    fps: Fraction
    pipeline: str
    video_guidance: Guidance
    audio_guidance: Guidance
    named: frozenset[str]  # dotted keys the campaign set: "steps", "fps", "guidance.video.cfg", ...

    @property
    def sigmas(self) -> str:
        """The sigma schedule, in words."""
        refine = f" + {REFINE_STEPS} refinement steps at full size (distilled stage-2 sigmas)"
        if self.pipeline == "distilled":
            return f"distilled sigma list, {DISTILLED_STEPS} steps at half size" + refine
        schedule = f"LTX-2 shifted flow schedule, {self.steps} steps to sigma 0.1, then 0"
        return schedule + (" at half size" + refine if self.pipeline == "two-stage" else "")

    def source(self, key: str) -> str:
        """"campaign" for a key the campaign names, else "reference"."""
        return "campaign" if key in self.named else "reference"

    def ignored(self) -> list[str]:
        """Named keys the pipeline does not use (the distilled pipeline has fixed steps and no guidance)."""
        if self.pipeline != "distilled":
            return []
        return sorted(k for k in self.named if k == "steps" or k.startswith("guidance."))


GUIDANCE_KEYS = ("cfg", "stg", "rescale", "modality", "stg_blocks")


def effective_settings(campaign: Campaign) -> Effective:
    """The campaign's generation settings over its checkpoint's reference values."""
    gen = campaign.generation
    reference, facts = reference_for(gen.checkpoint, gen.pipeline)
    named = set()
    for key in ("steps", "fps", "pipeline"):
        if getattr(gen, key) is not None:
            named.add(key)
    guidance = {}
    for modality in ("video", "audio"):
        table = getattr(campaign.guidance, modality)
        base = getattr(reference, f"{modality}_guidance")
        guidance[modality] = table.over(base)
        named |= {f"guidance.{modality}.{k}" for k in GUIDANCE_KEYS if getattr(table, k) is not None}
    pipeline = gen.pipeline or reference.pipeline
    steps = gen.steps if gen.steps is not None else reference.steps
    if pipeline == "distilled":  # fixed sigma list, unguided: what the engine runs whatever the campaign says
        steps, guidance = DISTILLED_STEPS, {"video": OFF, "audio": OFF}
    fps = gen.fps if gen.fps is not None else reference.fps
    return Effective(reference, facts, steps, fps, pipeline, guidance["video"], guidance["audio"], frozenset(named))


def describe_guidance(g: Guidance) -> str:
    """"cfg 3, stg 1, rescale 0.7, modality 3, stg_blocks [28]"."""
    return f"cfg {g.cfg:g}, stg {g.stg:g}, rescale {g.rescale:g}, modality {g.modality:g}, stg_blocks {list(g.stg_blocks)}"


def settings_lines(effective: Effective, checkpoint: str) -> list[str]:
    """What `plan` prints about the effective generation settings."""
    e = effective
    where = "built in" if checkpoint == TINY else (f"model_version {e.facts.version}" if e.facts.version else
                                                  "no model_version: LTX-2 assumed")  # fmt: skip
    lines = [f"model: {e.reference.model} ({where}); pipeline {e.pipeline} ({e.source('pipeline')})",
             f"  steps {e.steps} ({e.source('steps')}), fps {e.fps} ({e.source('fps')}); sigmas: {e.sigmas}"]  # fmt: skip
    for modality in ("video", "audio"):
        g = getattr(e, f"{modality}_guidance")
        named = [k for k in GUIDANCE_KEYS if f"guidance.{modality}.{k}" in e.named]
        origin = f" (campaign: {', '.join(named)}; the rest reference)" if named else " (reference)"
        lines.append(f"  {modality} guidance: {describe_guidance(g)}{origin}")
    return lines


def settings_record(effective: Effective) -> dict[str, object]:
    """The effective settings as JSON-ready data (plan --format json)."""
    e = effective

    def guidance(g: Guidance) -> dict[str, object]:
        return {"cfg": g.cfg, "stg": g.stg, "rescale": g.rescale, "modality": g.modality, "stg_blocks": list(g.stg_blocks)}

    return {"model": e.reference.model, "model_version": e.facts.version, "pipeline": e.pipeline, "steps": e.steps,
            "fps": str(e.fps), "sigmas": e.sigmas, "video_guidance": guidance(e.video_guidance),
            "audio_guidance": guidance(e.audio_guidance), "from_campaign": sorted(e.named)}  # fmt: skip


__all__ = ["LTX2", "LTX23", "TINY_REFERENCE", "Effective", "Reference", "distilled", "effective_settings",
           "read_model_version", "reference_for", "settings_lines", "settings_record"]  # fmt: skip
