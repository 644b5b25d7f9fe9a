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
from pydantic_core import PydanticCustomError

from ltxflow.campaign_types import (
    AUDIO_MODE,
    COVER_RULE,
    DTYPE,
    EXPAND_MODE,
    FIT,
    ID_PATTERN,
    PIPELINE,
    Bool,
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
    Offset,
    OptionalFile,
    OptionalPath,
    OptionalText,
    Seconds,
    Text,
    Unit,
    bad,
    bad_at,
    error_line,
    frames_problem,
    positive,
    steps_problem,
)
from ltxflow.errors import CampaignError
from ltxflow.layers.schema import AD_KEYS, AdSettings, parse_ad
from ltxflow.loras import LoraEntry, check_lora_stages
from ltxflow.model_defaults import LTX2, LTX23, describe_guidance
from ltxflow.path_rules import path_problem
from ltxflow.tasks import BrandFit, Cover, Guidance

__all__ = ["CAMPAIGN_FILE", "ID_PATTERN", "Campaign", "CostEstimate", "Final", "Generation", "campaign_file", "load_campaign"]

CAMPAIGN_FILE = "campaign.toml"



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
    """What the engine is asked to make; keys left out take the checkpoint's reference values."""

    engine: Text = key("ltx2", "a registered engine", '"ltx2"')
    checkpoint: Checkpoint = key("tiny", "a built-in name or a path to a .safetensors file", '"tiny"')
    width: Integer = key(768, "px, multiple of 32 (of 64 for the two-stage pipelines): with height, the pixel "
                         "budget of every aspect group's master", "768")  # fmt: skip
    height: Integer = key(512, "px, same rule", "512")
    pin_size: Bool = key(False, "true: one width x height master cut to every platform (a loss over 10% warns); "
                         "false: one master per aspect ratio the platforms need, at this pixel budget", "false")  # fmt: skip
    num_frames: Integer = key(121, "8k+1", "121", alias="frames")
    fps: Fps | None = key(None, 'one of 24, 25, 30, 48, 50, "24000/1001", "30000/1001"; default: the checkpoint\'s '
                          "(24)", "24")  # fmt: skip
    segment_frames: Integer | None = key(None, "8k+1: the most frames one generation makes; a longer clip (frames, "
                                         "or a row's) is made by extension: segments of this length, each "
                                         "continuing the last `overlap` latent frames before it (one-stage only)",
                                         "121")  # fmt: skip
    overlap: Integer = key(1, "latent frames (8 pixel frames each) an extension segment continues from, "
                           ">= 1 and below segment_frames' latent frames", "1")  # fmt: skip
    steps: Integer | None = key(None, f"denoising steps, >= 1; default: the checkpoint's (LTX-2 {LTX2.steps}, "
                                f"LTX-2.3 {LTX23.steps}, distilled 8)", "40")  # fmt: skip
    pipeline: PIPELINE | None = key(None, '"one-stage" | "two-stage" | "distilled"; default: "distilled" for a '
                                    'checkpoint named *distilled*, else "one-stage"', '"one-stage"')  # fmt: skip
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

    @property
    def multiple(self) -> int:
        """The side multiple the named pipeline needs (the two-stage kinds render at half size, then upsample x2)."""
        return 64 if self.pipeline in ("two-stage", "distilled") else 32

    @model_validator(mode="after")
    def _engine_can_make_it(self) -> Generation:
        multiple = self.multiple
        for name in ("width", "height"):
            value = getattr(self, name)
            if value <= 0 or value % multiple:
                nearest = max(multiple, round(value / multiple) * multiple)
                why = f"a multiple of {multiple}" + (f" for the {self.pipeline} pipeline" if multiple == 64 else "")
                raise bad_at(name, f"{value} is not {why}; nearest valid: {nearest}")
        if problem := frames_problem(self.num_frames):
            raise bad_at("frames", problem)
        if self.segment_frames is not None:
            if problem := frames_problem(self.segment_frames):
                raise bad_at("segment_frames", problem)
            if self.pipeline in ("two-stage", "distilled"):
                raise bad_at("segment_frames", f"extension runs the one-stage pipeline only, not {self.pipeline!r}")
            if not 1 <= self.overlap < (self.segment_frames - 1) // 8 + 1:
                raise bad_at("overlap", f"must be 1..{(self.segment_frames - 1) // 8} latent frames for "
                                        f"segment_frames {self.segment_frames}, got {self.overlap}")  # fmt: skip
        if self.steps is not None and (problem := steps_problem(self.steps)):
            raise bad_at("steps", problem)
        if self.reference_path and (self.precision != "exact" or self.offload):
            raise bad_at("reference_path", 'the reference path runs neither precision = "fp8" nor offload')
        return self


class GuidanceTable(Table):
    """One modality's guidance scales; a key left out keeps the checkpoint's reference value."""

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


class GuidanceTables(Table):
    """Guidance per modality; `DEFAULTS` are LTX-2's, shown in the docs (LTX-2.3 skips block 28 instead)."""

    DEFAULTS: ClassVar[Mapping[str, Guidance]] = MappingProxyType({"video": LTX2.video_guidance,
                                                                   "audio": LTX2.audio_guidance})  # fmt: skip
    video: GuidanceTable = key(GuidanceTable(), f"default: the checkpoint's; LTX-2: {describe_guidance(LTX2.video_guidance)}"
                               f" (LTX-2.3: stg_blocks {list(LTX23.video_guidance.stg_blocks)}; distilled: off)")  # fmt: skip
    audio: GuidanceTable = key(GuidanceTable(), f"default: the checkpoint's; LTX-2: {describe_guidance(LTX2.audio_guidance)}")


class Audio(Table):
    """Where the clip's sound comes from, and how brand audio is fitted to the clip."""

    mode: AUDIO_MODE = key("text", '"text" | "reference" (brand audio drives the sound) | "video-to-audio" | "silent"',
                           '"text"')  # fmt: skip
    brand_audio: OptionalFile = key(None, 'for "reference" tasks; a row\'s brand_audio column wins and is used in '
                                    'any mode (over the generated sound)', '"assets/sonic_logo.wav"')  # fmt: skip
    fit: FIT = key("pad", '"pad": placed once at `offset`, the rest silent (or the generated sound); "loop"; '
                   '"stretch-to-clip" (pitch kept)', '"pad"')  # fmt: skip
    offset: Offset = key(0.0, 's from the clip\'s start where the brand audio begins, or "end" (it ends with the clip)',
                         "0.0")  # fmt: skip
    fade_in: Seconds = key(0.002, "s, ramp at the brand audio's start (against clicks)", "0.002")
    fade_out: Seconds = key(0.002, "s, ramp at its end (a clip ending mid-audio fades over >= 0.25 s)", "0.002")
    ambience_db: Number = key(-12.0, "dB of the generated sound under the brand audio (text / video-to-audio "
                              "tasks with brand audio); full level elsewhere", "-12.0")  # fmt: skip

    @property
    def brand_fit(self) -> BrandFit:
        """The placement settings as a task records them."""
        return BrandFit(self.fit, self.offset, self.fade_in, self.fade_out, self.ambience_db)


class Conditioning(Table):
    """Campaign-wide conditioning files; a row's own column wins."""

    image: OptionalFile = key(None, "the first frame", '"assets/product.png"')
    image_strength: Unit = key(1.0, "0..1", "0.9")
    end_image: OptionalFile = key(None, "a keyframe at the last frame: the clip ends on it", '"assets/packshot.png"')
    end_image_strength: Unit = key(1.0, "0..1", "1.0")
    source_video: OptionalFile = key(None, 'for "video-to-audio" (which takes no image or end_image)', '"clip.mp4"')


class CoverTable(Table):
    """Which frame becomes each deliverable's cover (a row's cover_at column wins)."""

    rule: COVER_RULE = key("sharpest", '"sharpest" (the sharpest frame of the first `seconds`) | "middle" | "at"',
                           '"sharpest"')  # fmt: skip
    seconds: Seconds = key(1.0, 's: the window "sharpest" searches, or the time "at" takes', "1.0")

    @property
    def cover(self) -> Cover:
        """The rule as a task records it."""
        return Cover(self.rule, self.seconds)


class CostEstimate(Table):
    """What `plan` and budgets assume one task costs before any has run."""

    device: Text = key("NVIDIA H100", "matched against the hourly rates ($LTXFLOW_RATES)", '"NVIDIA H100"')
    seconds_per_task: Number = key(60.0, "device seconds a generation, > 0 (extended clips: once a segment)", "60")

    @model_validator(mode="after")
    def _positive(self) -> CostEstimate:
        positive(self.seconds_per_task, "seconds_per_task")
        return self


class Final(Table):
    """The final-quality profile: what `promote` renders approved and winning variants with (same prompt and
    seed, new task ids and files; the drafts stay). A key left out keeps [generation]'s value."""

    checkpoint: Checkpoint | None = key(None, "weights for finals", '"/models/ltx-2-19b-dev.safetensors"')
    width: Integer | None = key(None, "px, the [generation] rules", "1088")
    height: Integer | None = key(None, "px", "1920")
    num_frames: Integer | None = key(None, "8k+1", "121", alias="frames")
    fps: Fps | None = key(None, 'one of 24, 25, 30, 48, 50, "24000/1001", "30000/1001"', "24")
    steps: Integer | None = key(None, "denoising steps", "50")
    pipeline: PIPELINE | None = key(None, '"one-stage" | "two-stage" (with a real checkpoint it needs a "refine" '
                                    "[[lora]], which the drafts' pipeline must accept too) | \"distilled\"",
                                    '"one-stage"')  # fmt: skip
    dtype: DTYPE | None = key(None, '"auto" | "float32" | "bfloat16" | "float16"', '"bfloat16"')
    precision: PRECISION | None = key(None, '"exact" | "fp8"', '"exact"')
    upsampler: OptionalPath = key(None, 'x2 latent upsampler, for pipeline = "two-stage"',
                                  '"/models/ltx-2-spatial-upscaler-x2.safetensors"')  # fmt: skip
    seconds_per_task: Number | None = key(None, "device seconds one final costs, for plan and budgets", "600")

    def generation_changes(self) -> dict[str, Any]:
        """The [generation] fields this profile sets."""
        return {name: value for name, value in self if value is not None and name != "seconds_per_task"}

    @model_validator(mode="after")
    def _sets_something(self) -> Final:
        if not self.generation_changes():
            raise bad("sets no [generation] key: give at least one of " + ", ".join(
                f.alias or n for n, f in type(self).model_fields.items() if n != "seconds_per_task"))  # fmt: skip
        if self.seconds_per_task is not None:
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
    priority: Integer = key(0, "optional, default 0; queued tasks of higher priority are claimed first (ltxflow queue "
                            "add --priority overrides it)", "10")  # fmt: skip
    allow_spec_failures: Bool = key(False, "true: validate and run exit 0 when a deliverable fails its platform's "
                                    "spec (still reported and recorded)", "false")  # fmt: skip
    expand: Expand = key(Expand(), "optional; how rows become variants")
    generation: Generation = key(Generation(), "what the engine makes")
    guidance: GuidanceTables = key(GuidanceTables(), "guidance scales per modality")
    audio: Audio = key(Audio(), "the clip's sound")
    conditioning: Conditioning = key(Conditioning(), "campaign-wide files; a row's own column wins")
    lora: tuple[LoraEntry, ...] = key((), "LoRAs fused for every variant; a row's lora / lora_strength columns "
                                      "add or override them")  # fmt: skip
    cover: CoverTable = key(CoverTable(), "optional; how covers are chosen")
    estimate: CostEstimate = key(CostEstimate(), "what plan and budgets assume before anything ran")
    final: Final | None = key(None, "optional; the profile `promote` renders approved and winning variants with")
    export: ExportTables = Field(default_factory=lambda: MappingProxyType({}), examples=["loudness_lufs = -16.0"],
                                 description="override fields of a platform's preset for this campaign")  # fmt: skip
    _path: Path = PrivateAttr()
    _ad: AdSettings = PrivateAttr(default_factory=AdSettings)  # [brand] kit, [[layer]], ...: see docs/layers.md

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
        # no pipeline named: the checkpoint's own, which is never two-stage (one-stage, or distilled for such files)
        pipeline = self.generation.pipeline or ("distilled" if "distilled" in self.generation.checkpoint else "one-stage")
        check_lora_stages(self.lora, pipeline, self.generation.checkpoint)
        if self.final is not None:
            self._final_generation()  # refuse a profile the engine cannot render now, not at promote time
        return self

    def _final_generation(self) -> Generation:
        """[generation] with [final] over it, checked by Generation's own rules."""
        assert self.final is not None
        changes = self.final.generation_changes()
        merged = self.generation.model_copy(update=changes)
        if merged == self.generation:
            raise bad_at("final", "repeats [generation]: the finals would be the drafts again")
        try:
            merged._engine_can_make_it()
        except PydanticCustomError as exc:
            field = exc.context["key"]  # type: ignore[index]
            name = "num_frames" if field == "frames" else field
            if name in changes:
                raise bad_at(f"final.{field}", exc.context["what"]) from None  # type: ignore[index]
            raise bad_at("final", f"generation.{field} (kept): {exc.context['what']}; set final.{field}") from None  # type: ignore[index]
        pipeline = merged.pipeline or ("distilled" if "distilled" in merged.checkpoint else "one-stage")
        try:
            check_lora_stages(self.lora, pipeline, merged.checkpoint)
        except PydanticCustomError as exc:
            raise bad_at("final", f"{exc.context['key']}: {exc.context['what']}") from None  # type: ignore[index]
        return merged

    def final_campaign(self) -> Campaign:
        """This campaign as its finals render: [final] over [generation] (and over the estimate's seconds)."""
        if self.final is None:
            raise CampaignError(f"{self.path}: final: no [final] profile; add one to promote variants")
        estimate = self.estimate
        if self.final.seconds_per_task is not None:
            estimate = estimate.model_copy(update={"seconds_per_task": self.final.seconds_per_task})
        return self.model_copy(update={"generation": self._final_generation(), "estimate": estimate})

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

    @property
    def ad(self) -> AdSettings:
        """Brand kit, layers, end card, captions and credentials (ltxflow.layers.schema, docs/layers.md)."""
        return self._ad

    # Flat names the rest of ltxflow reads (the TOML tables above are the schema; generation defaults that depend
    # on the checkpoint are resolved by ltxflow.model_defaults.effective_settings).
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
    problem = path_problem(target)
    if problem:  # before is_dir(): an over-long name would be an OSError there
        raise CampaignError(f"{target!s:.120}: {problem}")
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
    ad = parse_ad(data, path)  # a [brand] table is the brand kit, and its name the brand
    data = {k: v for k, v in data.items() if k not in AD_KEYS} | ({"brand": ad.brand.name} if ad.brand else {})
    try:
        campaign = Campaign.model_validate(data, context={"path": path})
    except ValidationError as exc:
        raise CampaignError(f"{path}: {error_line(exc, Campaign)}") from None
    campaign._ad = ad
    return campaign

