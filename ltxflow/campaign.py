"""Campaigns: campaign.toml read with tomllib and validated by the pydantic models below, paths resolved.

The models are the schema: one class per TOML table, one field per key, each field's description is its
documentation (the key reference in docs/campaign.md is generated from them by `scripts/campaign_doc.py`
and checked by a test). Every problem becomes one line naming the file and the dotted key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from ltxflow.campaign_types import (
    AUDIO_MODE,
    DTYPE,
    EXPAND_MODE,
    ID_PATTERN,
    PIPELINE,
    PRECISION,
    CampaignName,
    Checkpoint,
    ExportTables,
    File,
    Flag,
    Fps,
    Integer,
    Integers,
    Names,
    Number,
    OptionalFile,
    OptionalPath,
    OptionalText,
    Text,
    Unit,
    bad_at,
    error_line,
    positive,
)
from ltxflow.errors import CampaignError
from ltxflow.tasks import Guidance

__all__ = ["CAMPAIGN_FILE", "ID_PATTERN", "Campaign", "CostEstimate", "Generation", "campaign_file", "load_campaign"]

CAMPAIGN_FILE = "campaign.toml"

# LTX-2 pipeline defaults (per modality): cfg, stg, rescale, modality scale.
VIDEO_GUIDANCE = Guidance(cfg=3.0, stg=1.0, rescale=0.7, modality=3.0, stg_blocks=(29,))
AUDIO_GUIDANCE = Guidance(cfg=7.0, stg=1.0, rescale=0.7, modality=3.0, stg_blocks=(29,))


def key(default: Any, description: str, example: str | None = None, **kwargs: Any) -> Any:
    """A campaign key: its default, its one-line documentation and (for the docs) a TOML example value."""
    return Field(default, description=description, examples=[example] if example is not None else None, **kwargs)


class Table(BaseModel):
    """A TOML table: unknown keys are errors, values never change after loading."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# ── Tables ──────────────────────────────────────────────────────────────────────────────────────


class Expand(Table):
    """How CSV rows become variants."""

    mode: EXPAND_MODE = key("rows", '"rows" (default): one variant per CSV row; "cartesian": cross `columns`',
                            '"cartesian"')  # fmt: skip
    columns: Names = key((), 'with mode = "cartesian": cross the distinct values of these columns', '["hook", "music"]')

    @model_validator(mode="after")
    def _columns_fit_mode(self) -> Expand:
        if self.mode == "cartesian" and not self.columns:
            raise bad_at("columns", "cartesian mode needs the columns to cross")
        if self.mode == "rows" and self.columns:
            raise bad_at("columns", 'only used with mode = "cartesian"')
        return self


class Generation(Table):
    """What the engine is asked to make."""

    engine: Text = key("ltx2", "a registered engine", '"ltx2"')
    checkpoint: Checkpoint = key("tiny", "a built-in name or a path to a .safetensors file", '"tiny"')
    width: Integer = key(768, 'px, multiple of 32 (of 64 for pipeline = "two-stage")', "768")
    height: Integer = key(512, "px, same rule", "512")
    num_frames: Integer = key(121, "8k+1", "121", alias="frames")
    fps: Fps = key(Fraction(24), 'integer, float, or "30000/1001"', "24")
    steps: Integer = key(40, "denoising steps, >= 1", "40")
    pipeline: PIPELINE = key("one-stage", '"one-stage" | "two-stage" | "distilled"', '"one-stage"')
    device: Text = key("auto", '"auto" | "cpu" | "cuda" | "cuda:1" (run --device overrides)', '"auto"')
    dtype: DTYPE = key("auto", '"auto" | "float32" | "bfloat16" | "float16"', '"auto"')
    precision: PRECISION = key("exact", '"exact" | "fp8" (row-wise FP8 DiT linears on Hopper: faster, ~5-10% different '
                               'output); in the task id; $LTXFLOW_DIT=fp8 overrides', '"exact"')  # fmt: skip
    offload: Flag = key(False, "stream DiT blocks from host memory (GPUs smaller than the model); same output, not in "
                        "the task id; $LTXFLOW_DIT=offload overrides", "false")  # fmt: skip
    reference_path: Flag = key(False, "the reference-identical DiT path instead of the exact speed settings; not in the "
                               "task id; $LTXFLOW_DIT=plain overrides", "false")  # fmt: skip
    text_encoder: OptionalPath = key(None, "Gemma-3 folder for a real checkpoint; its weights' identity is in the task "
                                     "id; $LTXFLOW_GEMMA_DIR overrides", '"/models/gemma-3-12b-it"')  # fmt: skip
    prompt_embeddings: OptionalPath = key(None, "precomputed prompt contexts instead of Gemma; its sha256 is in the task "
                                          "id; $LTXFLOW_PROMPT_EMBEDDINGS overrides", '"contexts.safetensors"')  # fmt: skip
    upsampler: OptionalPath = key(None, 'x2 latent upsampler for pipeline = "two-stage"; its identity is in the task '
                                  "id; $LTXFLOW_UPSAMPLER overrides", '"/models/ltx-2-spatial-upscaler-x2.safetensors"')  # fmt: skip

    @model_validator(mode="after")
    def _engine_can_make_it(self) -> Generation:
        multiple = 64 if self.pipeline == "two-stage" else 32  # two-stage renders at half size, then upsamples x2
        for name in ("width", "height"):
            value = getattr(self, name)
            if value <= 0 or value % multiple:
                nearest = max(multiple, round(value / multiple) * multiple)
                why = f"a multiple of {multiple}" + (" for the two-stage pipeline" if multiple == 64 else "")
                raise bad_at(name, f"{value} is not {why}; nearest valid: {nearest}")
        frames = self.num_frames
        if frames <= 0 or (frames - 1) % 8:
            lower = max(1, (frames - 1) // 8 * 8 + 1)
            raise bad_at("frames", f"{frames} is not 8k+1; nearest valid: {lower} or {lower + 8}")
        if self.steps < 1:
            raise bad_at("steps", f"must be >= 1, got {self.steps}")
        if self.reference_path and (self.precision != "exact" or self.offload):
            raise bad_at("reference_path", 'the reference path runs neither precision = "fp8" nor offload')
        return self


class GuidanceTable(Table):
    """One modality's guidance scales; a key left out keeps the default (`GuidanceTables.DEFAULTS`)."""

    cfg: Number | None = key(None, "classifier-free guidance scale; 1 = off")
    stg: Number | None = key(None, "spatio-temporal guidance scale; 0 = off")
    rescale: Unit | None = key(None, "0..1, pulls the guided prediction's std back toward the conditional one")
    modality: Number | None = key(None, "audio<->video cross-modal guidance scale; 1 = off")
    stg_blocks: Integers | None = key(None, "transformer blocks whose self-attention STG skips")

    @model_validator(mode="after")
    def _blocks_are_indices(self) -> GuidanceTable:
        if self.stg_blocks is not None and any(b < 0 for b in self.stg_blocks):
            raise bad_at("stg_blocks", "block indices must be >= 0")
        return self

    def over(self, default: Guidance) -> Guidance:
        """These scales over `default`'s."""
        return replace(default, **{name: value for name, value in self if value is not None})


def _describe(g: Guidance) -> str:
    return f"cfg {g.cfg:g}, stg {g.stg:g}, rescale {g.rescale:g}, modality {g.modality:g}, stg_blocks {list(g.stg_blocks)}"


class GuidanceTables(Table):
    """Guidance per modality."""

    DEFAULTS: ClassVar[Mapping[str, Guidance]] = MappingProxyType({"video": VIDEO_GUIDANCE, "audio": AUDIO_GUIDANCE})
    video: GuidanceTable = key(GuidanceTable(), f"defaults (LTX-2's): {_describe(VIDEO_GUIDANCE)}")
    audio: GuidanceTable = key(GuidanceTable(), f"defaults: {_describe(AUDIO_GUIDANCE)}")


class Audio(Table):
    """Where the clip's sound comes from."""

    mode: AUDIO_MODE = key("text", '"text" | "reference" (brand audio drives the sound) | "video-to-audio" | "silent"',
                           '"text"')  # fmt: skip
    brand_audio: OptionalFile = key(None, 'for "reference"; a row\'s brand_audio column wins', '"assets/sonic_logo.wav"')


class Conditioning(Table):
    """Campaign-wide conditioning files; a row's own column wins."""

    image: OptionalFile = key(None, "the first frame", '"assets/product.png"')
    image_strength: Unit = key(1.0, "0..1", "0.9")
    end_image: OptionalFile = key(None, "a keyframe at the last frame: the clip ends on it", '"assets/packshot.png"')
    end_image_strength: Unit = key(1.0, "0..1", "1.0")
    source_video: OptionalFile = key(None, 'for "video-to-audio" (which takes no image or end_image)', '"clip.mp4"')


class CostEstimate(Table):
    """What `plan` and budgets assume one task costs before any has run."""

    device: Text = key("NVIDIA H100", "matched against the hourly rates ($LTXFLOW_RATES)", '"NVIDIA H100"')
    seconds_per_task: Number = key(60.0, "device seconds, > 0", "60")

    @model_validator(mode="after")
    def _positive(self) -> CostEstimate:
        positive(self.seconds_per_task, "seconds_per_task")
        return self


# ── The campaign ────────────────────────────────────────────────────────────────────────────────


class Campaign(Table):
    """A parsed, validated campaign.toml; every path is absolute."""

    name: CampaignName = key(..., "optional, default: the folder name; 1-64 of [A-Za-z0-9._-]", '"coffee-spring"')
    brand: Text = key(..., "required; available to templates as {{ brand }}", '"Bean There"')
    description: OptionalText = key("", "optional", '"..."')
    template: File = key(..., "required, a Jinja file", '"../../templates/coffee_hook.j2"')
    variants: File = key(..., "required, a UTF-8 CSV", '"hooks.csv"')
    platforms: Names = key(..., "required, registered export presets (`ltxflow plugins`)", '["reels", "shorts", "tiktok"]')
    seeds: Integers = key((0,), "default [0]; every variant is generated once per seed", "[11, 12]")
    budget: Number | None = key(None, "optional, USD for the whole campaign (plan warns, run stops)", "20.0")
    expand: Expand = key(Expand(), "optional; how rows become variants")
    generation: Generation = key(Generation(), "what the engine makes")
    guidance: GuidanceTables = key(GuidanceTables(), "guidance scales per modality")
    audio: Audio = key(Audio(), "the clip's sound")
    conditioning: Conditioning = key(Conditioning(), "campaign-wide files; a row's own column wins")
    estimate: CostEstimate = key(CostEstimate(), "what plan and budgets assume before anything ran")
    export: ExportTables = Field(default_factory=lambda: MappingProxyType({}), examples=["loudness_lufs = -16.0"],
                                 description="override fields of a platform's preset for this campaign")  # fmt: skip
    _path: Path = PrivateAttr()

    @model_validator(mode="before")
    @classmethod
    def _name_defaults_to_the_folder(cls, data: Any, info: Any) -> Any:
        if isinstance(data, dict) and "name" not in data:
            return {"name": info.context["path"].parent.name, **data}
        return data

    @model_validator(mode="after")
    def _lists_and_budget(self) -> Campaign:
        if not self.platforms:
            raise bad_at("platforms", "name at least one export preset")
        if not self.seeds:
            raise bad_at("seeds", "give at least one seed")
        if self.budget is not None and self.budget < 0:
            raise bad_at("budget", f"must be >= 0 USD, got {self.budget}")
        for platform in self.export:
            if platform not in self.platforms:
                raise bad_at(f"export.{platform}", f"not one of this campaign's platforms ({', '.join(self.platforms)})")
        return self

    def model_post_init(self, context: Any) -> None:
        self._path = context["path"] if context else Path(CAMPAIGN_FILE).absolute()

    @property
    def path(self) -> Path:
        """The campaign.toml file."""
        return self._path

    @property
    def folder(self) -> Path:
        """The folder relative paths resolve against."""
        return self._path.parent

    # Flat names the rest of ltxflow reads (the TOML tables above are the schema).
    video_guidance = property(lambda self: self.guidance.video.over(GuidanceTables.DEFAULTS["video"]), doc="Video.")
    audio_guidance = property(lambda self: self.guidance.audio.over(GuidanceTables.DEFAULTS["audio"]), doc="Audio.")
    audio_mode = property(lambda self: self.audio.mode, doc="text, reference, video-to-audio or silent.")
    brand_audio = property(lambda self: self.audio.brand_audio, doc="Campaign-wide brand audio file, or None.")
    image = property(lambda self: self.conditioning.image, doc="Campaign-wide first frame (a row's wins).")
    image_strength = property(lambda self: self.conditioning.image_strength, doc="0..1.")
    end_image = property(lambda self: self.conditioning.end_image, doc="Campaign-wide last-frame keyframe.")
    end_image_strength = property(lambda self: self.conditioning.end_image_strength, doc="0..1.")
    source_video = property(lambda self: self.conditioning.source_video, doc="For video-to-audio.")
    expand_mode = property(lambda self: self.expand.mode, doc='"rows" or "cartesian".')
    expand_columns = property(lambda self: self.expand.columns, doc="Columns crossed in cartesian mode.")


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
    try:
        return Campaign.model_validate(data, context={"path": path})
    except ValidationError as exc:
        raise CampaignError(f"{path}: {error_line(exc, Campaign)}") from None

