"""Tasks: frozen records of everything that determines one generated clip, and their ids and file names."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import Literal

Pipeline = Literal["one-stage", "two-stage", "distilled"]
AudioMode = Literal["text", "reference", "video-to-audio", "silent"]
PIPELINES: tuple[str, ...] = ("one-stage", "two-stage", "distilled")
AUDIO_MODES: tuple[str, ...] = ("text", "reference", "video-to-audio", "silent")

NAME_MAX = 64  # characters kept of each part of a file name
# Task fields added after ids shipped, with the value every earlier task had: left out of the id at that value.
_ADDED_LATER = {"precision": "exact", "dtype": "auto", "text_encoder_id": "", "upsampler_id": "", "segment_frames": 0,
                "overlap": 0}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Guidance:
    """Guidance scales of one modality (video or audio) for the multimodal guider."""

    cfg: float = 1.0  # classifier-free guidance scale; 1 = off
    stg: float = 0.0  # spatio-temporal guidance scale; 0 = off
    rescale: float = 0.0  # 0..1, pulls the guided prediction's std back toward the conditional one
    modality: float = 1.0  # audio<->video cross-modal guidance scale; 1 = off
    stg_blocks: tuple[int, ...] = ()  # transformer blocks whose self-attention STG skips


@dataclass(frozen=True)
class Conditioning:
    """One input file that conditions a task; the id uses its content hash, never its path."""

    role: str  # "image", "brand_audio", "source_video", ...
    path: str  # where it was read (absolute); excluded from the task id
    sha256: str  # hex digest of the file's bytes
    strength: float = 1.0  # how strongly it conditions (image strength); 1 = fully


@dataclass(frozen=True)
class LoraRef:
    """One LoRA a task fuses into the transformer; the id uses its content hash and strength, never its path."""

    path: str  # where it was read (absolute); excluded from the task id
    sha256: str  # hex digest of the file's bytes
    strength: float = 1.0  # W += strength * B @ A
    stage: Literal["all", "refine"] = "all"  # "refine": the two-stage refinement only (the distilled LoRA)


@dataclass(frozen=True)
class BrandFit:
    """How brand audio becomes the clip's track: placed (not looped) by default, fades at its edges."""

    fit: str = "pad"  # "pad": at `offset`, silence (or the generated sound) after; "loop"; "stretch-to-clip"
    offset: float | str = 0.0  # s from the clip's start, or "end": the brand audio ends with the clip
    fade_in: float = 0.002  # s ramp at the placed audio's start (against clicks)
    fade_out: float = 0.002  # s ramp at its end; a clip ending mid-audio fades out over at least CUT_FADE_S
    ambience_db: float = -12.0  # dB of the generated sound while the brand audio plays (modes that generate sound)


@dataclass(frozen=True)
class Cover:
    """Which frame becomes a deliverable's cover."""

    rule: str = "sharpest"  # "sharpest" (of the first `seconds`), "middle", or "at" (the frame at `seconds`)
    seconds: float = 1.0  # s: the window searched by "sharpest", the time for "at"; unused by "middle"


@dataclass(frozen=True)
class Task:
    """Everything that determines one generation and its deliverables; `id` hashes it all but paths."""

    campaign: str
    variant_id: str
    seed: int
    prompt: str
    negative_prompt: str
    engine: str  # registered engine name
    checkpoint: str  # as the campaign names it: "tiny" or an absolute path (excluded from the id)
    checkpoint_id: str  # identity of the weights: the name, or "<file name>:<bytes>" for a file
    width: int  # pixels, multiple of 32
    height: int  # pixels, multiple of 32
    num_frames: int  # 8k + 1
    fps: str  # "num/den", e.g. "24/1" or "30000/1001"
    steps: int  # denoising steps
    pipeline: Pipeline
    video_guidance: Guidance
    audio_guidance: Guidance
    audio_mode: AudioMode
    conditioning: tuple[Conditioning, ...] = ()
    platforms: tuple[str, ...] = ()  # export presets this task is delivered to (one aspect group of the variant)
    export_settings: str = "{}"  # canonical JSON of the campaign's overrides for those presets
    loras: tuple[LoraRef, ...] = ()  # in fusing order
    aspect: str = ""  # the aspect group this master serves: "9:16", "4:5", ... ("" = not grouped)
    split_aspects: bool = False  # True when the variant has several masters: their files carry the aspect tag
    brand_fit: BrandFit | None = None  # how the brand audio is placed; None when the task has no brand audio
    cover: Cover = Cover()
    precision: str = "exact"  # "exact" | "fp8": FP8 DiT linears change the output
    dtype: str = "auto"  # compute dtype as the campaign sets it
    text_encoder_id: str = ""  # identity of the text encoder's weights or prompt-embeddings file; "" = built in
    upsampler_id: str = ""  # identity of the two-stage x2 upsampler; "" = none or built in
    segment_frames: int = 0  # 8k + 1 frames one generation makes when num_frames is longer (extension); 0 = one
    overlap: int = 0  # latent frames each extension segment continues from (0 when not extended)

    @property
    def segments(self) -> int:
        """Generations that make the clip: 1, or the extension's segment count."""
        if not self.segment_frames:
            return 1
        latents, per = (self.num_frames - 1) // 8 + 1, (self.segment_frames - 1) // 8 + 1
        return 1 + -(-(latents - per) // (per - self.overlap))

    @property
    def frame_rate(self) -> Fraction:
        """The fps as a Fraction."""
        return Fraction(self.fps)

    @property
    def duration(self) -> Fraction:
        """Seconds of video."""
        return self.num_frames / self.frame_rate

    def condition(self, role: str) -> Conditioning | None:
        """The conditioning file of `role`, or None."""
        return next((c for c in self.conditioning if c.role == role), None)

    def record(self) -> dict[str, object]:
        """The task as plain JSON-ready data (paths included)."""
        return asdict(self)

    def settings_json(self) -> str:
        """The full record as canonical JSON, for the ledger."""
        return json.dumps(self.record(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @cached_property
    def id(self) -> str:
        """16 hex digits of the sha256 of the canonical record without paths.

        Platforms and export overrides are part of the id: adding a platform to a variant
        regenerates it, so every recorded task has all of its deliverables.
        """
        record = self.record()
        record.pop("checkpoint")
        for cond in record["conditioning"]:  # type: ignore[union-attr]
            cond.pop("path")
        for lora in record["loras"]:  # type: ignore[union-attr]
            lora.pop("path")
        if not record["loras"]:
            del record["loras"]  # tasks without LoRAs keep the ids they had before LoRAs existed
        for key, neutral in _ADDED_LATER.items():  # at their defaults, settings added later keep earlier ids
            if record[key] == neutral:
                record.pop(key)
        canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    def stem(self, platform: str | None = None) -> str:
        """File stem `<campaign>__<variant>__s<seed>[__<platform>]`, safe inside any folder.

        A master's own files (platform None) add the aspect (`__9x16`) when the variant has several masters.
        """
        parts = [safe_name(self.campaign), safe_name(self.variant_id), f"s{self.seed}"]
        if platform is not None:
            parts.append(safe_name(platform))
        elif self.split_aspects and self.aspect:
            parts.append(safe_name(self.aspect.replace(":", "x")))
        return "__".join(parts)


# ── Names ───────────────────────────────────────────────────────────────────────────────────────


def safe_name(text: str, limit: int = NAME_MAX) -> str:
    """`text` reduced to [A-Za-z0-9._-], without leading dots or "..", at most `limit` chars, never empty."""
    name = _UNSAFE.sub("_", text)
    name = re.sub(r"\.{2,}", "_", name).lstrip("._-")[:limit].rstrip(".")
    if not name:
        return "unnamed"
    return name


def deliverable_path(out_dir: Path, stem: str, suffix: str) -> Path:
    """`out_dir/<stem><suffix>`, refusing any result that is not directly inside `out_dir`."""
    path = out_dir / f"{stem}{suffix}"
    if path.parent.resolve() != out_dir.resolve() or safe_name(stem) != stem:
        raise ValueError(f"unsafe file name {stem!r}")
    return path


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def fps_text(fps: Fraction) -> str:
    """A Fraction as "num/den" (always with the denominator)."""
    return f"{fps.numerator}/{fps.denominator}"
