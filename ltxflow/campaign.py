"""Campaigns: the campaign.toml file read with tomllib, checked key by key, paths resolved."""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ltxflow.errors import CampaignError
from ltxflow.tasks import AUDIO_MODES, PIPELINES, Guidance

CAMPAIGN_FILE = "campaign.toml"
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # campaign names and variant ids
_REQUIRED = object()

# LTX-2 pipeline defaults (per modality): cfg, stg, rescale, modality scale.
VIDEO_GUIDANCE = Guidance(cfg=3.0, stg=1.0, rescale=0.7, modality=3.0, stg_blocks=(29,))
AUDIO_GUIDANCE = Guidance(cfg=7.0, stg=1.0, rescale=0.7, modality=3.0, stg_blocks=(29,))


@dataclass(frozen=True)
class Generation:
    """What the engine is asked to make."""

    engine: str = "ltx2"
    checkpoint: str = "tiny"  # built-in name, or an absolute path after resolving against the campaign
    width: int = 768  # pixels, multiple of 32 (of 64 for two-stage)
    height: int = 512  # pixels, multiple of 32 (of 64 for two-stage)
    num_frames: int = 121  # 8k + 1
    fps: Fraction = Fraction(24)
    steps: int = 40
    pipeline: str = "one-stage"
    device: str = "auto"
    dtype: str = "auto"


@dataclass(frozen=True)
class CostEstimate:
    """What `plan` and budgets assume one task costs before any has run."""

    device: str = "NVIDIA H100"  # matched against the hourly rates
    seconds_per_task: float = 60.0  # device seconds


@dataclass(frozen=True)
class Campaign:
    """A parsed, validated campaign.toml; every path is absolute."""

    path: Path  # the campaign.toml file
    name: str
    brand: str
    template: Path
    variants: Path
    platforms: tuple[str, ...]
    seeds: tuple[int, ...]
    generation: Generation
    video_guidance: Guidance
    audio_guidance: Guidance
    audio_mode: str = "text"
    brand_audio: Path | None = None
    image: Path | None = None  # campaign-wide conditioning image (a row's `image` wins)
    image_strength: float = 1.0
    end_image: Path | None = None  # campaign-wide last-frame keyframe (a row's `end_image` wins)
    end_image_strength: float = 1.0
    source_video: Path | None = None
    expand_mode: str = "rows"  # "rows" or "cartesian"
    expand_columns: tuple[str, ...] = ()
    budget: float | None = None  # USD for the whole campaign, None = no limit
    estimate: CostEstimate = CostEstimate()
    export: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    description: str = ""

    @property
    def folder(self) -> Path:
        """The folder relative paths resolve against."""
        return self.path.parent


# ── Loading ─────────────────────────────────────────────────────────────────────────────────────


def campaign_file(target: Path | str) -> Path:
    """The campaign.toml of a folder, or the file itself."""
    target = Path(target)
    return target / CAMPAIGN_FILE if target.is_dir() or target.suffix != ".toml" else target


def load_campaign(target: Path | str) -> Campaign:
    """Read and validate a campaign (folder or campaign.toml); raise CampaignError naming file and key."""
    path = campaign_file(target).absolute()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CampaignError(f"{path}: campaign file not found") from None
    except UnicodeDecodeError:
        raise CampaignError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise CampaignError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CampaignError(f"{path}: TOML syntax error: {exc}") from None
    return _parse(_Table(data, path, ""), path)


def _parse(top: _Table, path: Path) -> Campaign:
    """Build the Campaign from the top-level table."""
    top.allow("name", "brand", "description", "template", "variants", "platforms", "seeds", "budget",
              "expand", "generation", "guidance", "audio", "conditioning", "estimate", "export")  # fmt: skip
    name = top.text("name", path.parent.name)
    if not ID_PATTERN.fullmatch(name) or ".." in name:
        raise CampaignError(f"{path}: name: {name!r} must be 1-64 of [A-Za-z0-9._-], starting with a letter or digit")
    platforms = top.text_list("platforms")
    if not platforms:
        raise CampaignError(f"{path}: platforms: name at least one export preset")
    seeds = tuple(top.integer_list("seeds", [0]))
    if not seeds:
        raise CampaignError(f"{path}: seeds: give at least one seed")
    budget = top.number("budget", None)
    if budget is not None and budget < 0:
        raise CampaignError(f"{path}: budget: must be >= 0 USD, got {budget}")

    expand = top.table("expand")
    expand.allow("mode", "columns")
    mode = expand.choice("mode", ("rows", "cartesian"), "rows")
    columns = tuple(expand.text_list("columns", []))
    if mode == "cartesian" and not columns:
        raise CampaignError(f"{path}: expand.columns: cartesian mode needs the columns to cross")
    if mode == "rows" and columns:
        raise CampaignError(f"{path}: expand.columns: only used with mode = \"cartesian\"")

    guidance = top.table("guidance")
    guidance.allow("video", "audio")
    audio = top.table("audio")
    audio.allow("mode", "brand_audio")
    cond = top.table("conditioning")
    cond.allow("image", "image_strength", "end_image", "end_image_strength", "source_video")
    estimate = top.table("estimate")
    estimate.allow("device", "seconds_per_task")
    image_strength, end_image_strength = cond.number("image_strength", 1.0), cond.number("end_image_strength", 1.0)
    for key, value in (("image_strength", image_strength), ("end_image_strength", end_image_strength)):
        if not 0.0 <= value <= 1.0:
            raise CampaignError(f"{path}: conditioning.{key}: must be in [0, 1], got {value}")
    seconds = estimate.number("seconds_per_task", CostEstimate.seconds_per_task)
    if seconds <= 0:
        raise CampaignError(f"{path}: estimate.seconds_per_task: must be > 0, got {seconds}")
    audio_mode = audio.choice("mode", AUDIO_MODES, "text")
    brand_audio = audio.file("brand_audio")  # with mode "reference", rows may name their own instead
    return Campaign(
        path=path,
        name=name,
        brand=top.text("brand"),
        description=top.text("description", ""),
        template=top.file("template", _REQUIRED),
        variants=top.file("variants", _REQUIRED),
        platforms=tuple(platforms),
        seeds=seeds,
        generation=_generation(top.table("generation"), path),
        video_guidance=_guidance(guidance.table("video"), VIDEO_GUIDANCE),
        audio_guidance=_guidance(guidance.table("audio"), AUDIO_GUIDANCE),
        audio_mode=audio_mode,
        brand_audio=brand_audio,
        image=cond.file("image"),
        image_strength=image_strength,
        end_image=cond.file("end_image"),
        end_image_strength=end_image_strength,
        source_video=cond.file("source_video"),
        expand_mode=mode,
        expand_columns=columns,
        budget=budget,
        estimate=CostEstimate(device=estimate.text("device", CostEstimate.device), seconds_per_task=seconds),
        export=_export(top.table("export"), platforms),
    )


def _generation(table: _Table, path: Path) -> Generation:
    """The [generation] table, with sizes the engine can make."""
    table.allow("engine", "checkpoint", "width", "height", "frames", "fps", "steps", "pipeline", "device", "dtype")
    d = Generation()
    pipeline = table.choice("pipeline", PIPELINES, d.pipeline)
    multiple = 64 if pipeline == "two-stage" else 32  # two-stage renders at half size, then upsamples x2
    width = table.integer("width", d.width)
    height = table.integer("height", d.height)
    frames = table.integer("frames", d.num_frames)
    for key, value in (("width", width), ("height", height)):
        if value <= 0 or value % multiple:
            nearest = max(multiple, round(value / multiple) * multiple)
            why = f"a multiple of {multiple}" + (" for the two-stage pipeline" if multiple == 64 else "")
            raise CampaignError(f"{path}: generation.{key}: {value} is not {why}; nearest valid: {nearest}")
    if frames <= 0 or (frames - 1) % 8:
        lower = max(1, (frames - 1) // 8 * 8 + 1)
        upper = lower + 8
        raise CampaignError(f"{path}: generation.frames: {frames} is not 8k+1; nearest valid: {lower} or {upper}")
    steps = table.integer("steps", d.steps)
    if steps < 1:
        raise CampaignError(f"{path}: generation.steps: must be >= 1, got {steps}")
    checkpoint = table.text("checkpoint", d.checkpoint)
    if "/" in checkpoint or "\\" in checkpoint or checkpoint.endswith(".safetensors"):
        checkpoint = str((path.parent / checkpoint).absolute())
    return Generation(
        engine=table.text("engine", d.engine),
        checkpoint=checkpoint,
        width=width,
        height=height,
        num_frames=frames,
        fps=table.fps("fps", d.fps),
        steps=steps,
        pipeline=pipeline,
        device=table.text("device", d.device),
        dtype=table.choice("dtype", ("auto", "float32", "bfloat16", "float16"), d.dtype),
    )


def _guidance(table: _Table, default: Guidance) -> Guidance:
    """One [guidance.<modality>] table over the LTX-2 defaults."""
    table.allow("cfg", "stg", "rescale", "modality", "stg_blocks")
    rescale = table.number("rescale", default.rescale)
    if not 0.0 <= rescale <= 1.0:
        raise CampaignError(f"{table.path}: {table.where('rescale')}: must be in [0, 1], got {rescale}")
    blocks = tuple(table.integer_list("stg_blocks", list(default.stg_blocks)))
    if any(b < 0 for b in blocks):
        raise CampaignError(f"{table.path}: {table.where('stg_blocks')}: block indices must be >= 0")
    return Guidance(
        cfg=table.number("cfg", default.cfg),
        stg=table.number("stg", default.stg),
        rescale=rescale,
        modality=table.number("modality", default.modality),
        stg_blocks=blocks,
    )


def _export(table: _Table, platforms: list[str]) -> Mapping[str, Mapping[str, Any]]:
    """[export.<preset>] override tables, each for a platform the campaign delivers to."""
    out: dict[str, Mapping[str, Any]] = {}
    for name in table.data:
        if name not in platforms:
            raise CampaignError(f"{table.path}: export.{name}: not one of this campaign's platforms ({', '.join(platforms)})")
        out[name] = MappingProxyType(dict(table.table(name).data))
    return MappingProxyType(out)


# ── Typed access to one TOML table ──────────────────────────────────────────────────────────────


class _Table:
    """A TOML table that knows its file and dotted prefix, for errors that name both."""

    def __init__(self, data: dict[str, Any], path: Path, prefix: str) -> None:
        self.data, self.path, self.prefix = data, path, prefix

    def where(self, key: str) -> str:
        """The dotted key name."""
        return f"{self.prefix}{key}"

    def fail(self, key: str, what: str) -> CampaignError:
        """An error naming file and key."""
        return CampaignError(f"{self.path}: {self.where(key)}: {what}")

    def allow(self, *keys: str) -> None:
        """Reject any key not in `keys`."""
        for key in self.data:
            if key not in keys:
                raise CampaignError(f"{self.path}: unknown key {self.where(key)!r} (allowed: {', '.join(keys)})")

    def _get(self, key: str, default: Any) -> Any:
        if key in self.data:
            return self.data[key]
        if default is _REQUIRED:
            raise self.fail(key, "missing (required)")
        return default

    def table(self, key: str) -> _Table:
        value = self._get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, got {value!r}")
        return _Table(value, self.path, f"{self.where(key)}.")

    def text(self, key: str, default: Any = _REQUIRED) -> Any:
        value = self._get(key, default)
        if value is not default and (not isinstance(value, str) or not value.strip()):
            raise self.fail(key, f"expected a non-empty string, got {value!r}")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: str) -> str:
        value = self.text(key, default)
        if value not in options:
            raise self.fail(key, f"{value!r} is not one of {', '.join(options)}")
        return value

    def number(self, key: str, default: Any = _REQUIRED) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.fail(key, f"expected a number, got {value!r}")
        return float(value)

    def integer(self, key: str, default: Any = _REQUIRED) -> Any:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected an integer, got {value!r}")
        return value

    def text_list(self, key: str, default: Any = _REQUIRED) -> list[str]:
        value = self._get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, f"expected a list of names, got {value!r}")
        if len(set(value)) != len(value):
            raise self.fail(key, f"repeats a name: {value!r}")
        return value

    def integer_list(self, key: str, default: Any = _REQUIRED) -> list[int]:
        value = self._get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise self.fail(key, f"expected a list of integers, got {value!r}")
        if len(set(value)) != len(value):
            raise self.fail(key, f"repeats a value: {value!r}")
        return value

    def fps(self, key: str, default: Fraction) -> Fraction:
        value = self._get(key, default)
        if value is default:
            return value
        try:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValueError
            fps = Fraction(value).limit_denominator(1001) if isinstance(value, float) else Fraction(value)
        except (ValueError, ZeroDivisionError):
            raise self.fail(key, f"expected frames per second like 24 or \"30000/1001\", got {value!r}") from None
        if fps <= 0 or fps > 240:
            raise self.fail(key, f"must be in (0, 240], got {value!r}")
        return fps

    def file(self, key: str, default: Any = None) -> Any:
        """A path resolved against the campaign folder, which must name an existing file."""
        value = self.text(key, default)
        if value is default:
            return value
        resolved = (self.path.parent / value).absolute()
        if not resolved.is_file():
            raise self.fail(key, f"file not found: {resolved}")
        return resolved
