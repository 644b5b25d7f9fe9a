"""Planning: a campaign expanded into tasks, checked against plugins and priced, with no engine loaded."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ltxflow.aspect import AspectGroup, aspect_groups, loss_warnings
from ltxflow.campaign import Campaign, load_campaign
from ltxflow.conditioning_files import content_hash, task_input_problems
from ltxflow.costs import Estimate, Rates, Usage, estimate_task_cost, load_rates
from ltxflow.errors import CampaignError, LtxflowError, VariantsError
from ltxflow.model_defaults import Effective, effective_settings
from ltxflow.model_settings import ModelSettings, identities, resolve
from ltxflow.plugins import engines, get_plugin_manager, presets, template_filters
from ltxflow.prompts import PromptTemplate
from ltxflow.layers.plan import layer_sets, stale_platforms
from ltxflow.loras import merged
from ltxflow.spec_check import Prediction, predict_all
from ltxflow.tasks import Conditioning, Cover, LoraRef, Task, fps_text
from ltxflow.variants import Variant, load_variants

if TYPE_CHECKING:
    from ltxflow.ledger.store import Ledger


@dataclass(frozen=True)
class Plan:
    """What a run would do: every task, which are pending, and what they cost."""

    campaign: Campaign
    tasks: tuple[Task, ...]  # every task of the campaign, in CSV order × seeds
    selected: tuple[Task, ...]  # tasks left after --only, in order
    pending: tuple[Task, ...]  # selected tasks not finished yet, after --limit
    finished: frozenset[str]  # ids already finished in the ledger
    estimate: Estimate  # per generation: a task costs it once per segment (`task_money`)
    spent: float  # USD already spent on the campaign
    presets: Mapping[str, Any] = field(default_factory=dict)  # platform -> Preset with overrides applied
    warnings: tuple[str, ...] = ()
    input_problems: tuple[str, ...] = ()  # one line per unusable conditioning file (variant, role, file)
    groups: tuple[AspectGroup, ...] = ()  # the aspect groups and their masters
    effective: Effective | None = None  # the generation settings over the checkpoint's reference values
    predictions: tuple[Prediction, ...] = ()  # what the deliverables will break (failures) or have changed (notes)
    notes: tuple[str, ...] = ()  # settings the run will not use, etc. (warnings that do not depend on the ledger)
    settings: ModelSettings | None = None  # model settings after environment overrides (None: not resolved)
    missing_files: frozenset[str] = frozenset()  # finished in the ledger, but a recorded file is gone: pending again
    layers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # task id -> platform -> LayerSet
    reexport: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # finished task id -> platforms to redo

    @property
    def overrides(self) -> tuple[str, ...]:
        """One line per environment variable that changed a campaign setting."""
        return self.settings.overrides if self.settings is not None else ()

    @property
    def spec_failures(self) -> tuple[Prediction, ...]:
        """Predicted deliverables that will fail their platform's spec."""
        return tuple(p for p in self.predictions if p.failure)

    @property
    def spec_blocks(self) -> bool:
        """Whether the predicted spec failures make validate / run exit 1 (the campaign does not allow them)."""
        return bool(self.spec_failures) and not self.campaign.allow_spec_failures

    def task_money(self, task: Task) -> float:
        """USD one task is expected to cost: the estimate once per generation (an extended clip makes several)."""
        return self.estimate.money * task.segments

    @property
    def pending_money(self) -> float:
        """USD the pending tasks are expected to cost (a re-export of layers generates nothing)."""
        return sum(self.task_money(t) for t in self.pending if t.id not in self.reexport)

    @property
    def over_budget(self) -> bool:
        """Whether running the pending tasks would exceed the campaign budget."""
        budget = self.campaign.budget
        return budget is not None and self.spent + self.pending_money > budget + 1e-12


def build_tasks(campaign: Campaign, found_presets: Mapping[str, Any] | None = None,
                effective: Effective | None = None, notes: list[str] | None = None,
                settings: ModelSettings | None = None) -> list[Task]:  # fmt: skip
    """Every task of a campaign: each variant × its seeds × its aspect groups, prompts rendered, files hashed.

    `found_presets` (plan_campaign passes the resolved ones; by default the registered ones as they are, an
    unregistered name taking the budget as its size) decide the aspect groups; `effective` (default: read from
    the checkpoint) the generation settings; `notes` collects row settings a pipeline ignores; `settings` (default:
    resolved from the campaign and the environment) the model settings whose identities enter the task ids.
    """
    if found_presets is None:
        known = presets()
        found_presets = {name: known[name].item if name in known else None for name in campaign.platforms}
    effective = effective_settings(campaign) if effective is None else effective
    groups = campaign_groups(campaign, found_presets, effective)
    settings = resolve(campaign) if settings is None else settings
    ids = identities(campaign, settings)
    variants = load_variants(campaign)
    filters = {name: reg.item for name, reg in template_filters().items()}
    template = PromptTemplate(campaign.template, filters)
    hashes: dict[Path, str] = {}
    tasks = []
    for variant in variants:
        where = f"{campaign.variants.name}: {variant.row} (variant_id={variant.variant_id})"
        context = {**variant.values, "row": dict(variant.values), "brand": campaign.brand, "campaign": campaign.name}
        rendered = template.render(context, where)
        platforms = variant.platforms or campaign.platforms
        mine = [(g, tuple(p for p in g.platforms if p in platforms)) for g in groups]
        mine = [(g, ps) for g, ps in mine if ps]
        base = _variant_task(campaign, effective, variant, rendered.prompt, rendered.negative_prompt, hashes, where,
                             notes)  # fmt: skip
        base = replace(base, precision=settings.precision, dtype=campaign.generation.dtype,
                       text_encoder_id=ids.text_encoder, upsampler_id=ids.upsampler)  # fmt: skip
        for seed in variant.settings.seeds or campaign.seeds:
            for group, group_platforms in mine:
                task = replace(base, seed=seed, width=group.width, height=group.height, aspect=group.name,
                               split_aspects=len(mine) > 1, platforms=group_platforms,
                               export_settings=json.dumps({p: dict(campaign.export.get(p, {})) for p in group_platforms},
                                                          sort_keys=True))  # fmt: skip
                tasks.append(_with_brand_audio(campaign, task, hashes, where))
    return tasks


def campaign_groups(campaign: Campaign, found_presets: Mapping[str, Any], effective: Effective) -> tuple[AspectGroup, ...]:
    """The campaign's aspect groups, masters sized for the pipeline it runs."""
    gen = campaign.generation
    multiple = 64 if effective.pipeline in ("two-stage", "distilled") else 32
    if gen.pin_size and (gen.width % multiple or gen.height % multiple):
        raise CampaignError(f"{campaign.path}: generation.width/height: {gen.width}x{gen.height} is not a multiple of "
                            f"{multiple} for the {effective.pipeline} pipeline (the checkpoint's default)")  # fmt: skip
    return aspect_groups({p: found_presets[p] for p in campaign.platforms}, gen.width, gen.height, multiple, gen.pin_size)


def _variant_task(campaign: Campaign, effective: Effective, variant: Variant, prompt: str, negative: str,
                  hashes: dict[Path, str], where: str, notes: list[str] | None) -> Task:  # fmt: skip
    """The variant's task before seed and aspect group: its row settings over the campaign's, files hashed."""
    gen, row = campaign.generation, variant.settings
    audio_mode = row.audio_mode or campaign.audio_mode
    files = dict(variant.files)
    for role in ("image", "end_image", "source_video"):
        if role not in files and getattr(campaign, role) is not None:
            files[role] = getattr(campaign, role)
    steps, video, audio = effective.steps, effective.video_guidance, effective.audio_guidance
    frames = row.frames or gen.num_frames
    segment_frames = overlap = 0  # one generation (the neutral values: ids of clips that fit one stay as they were)
    if gen.segment_frames is not None and frames > gen.segment_frames:
        if effective.pipeline != "one-stage":
            raise VariantsError(f"{where}: {frames} frames > generation.segment_frames {gen.segment_frames}: extension "
                                f"runs the one-stage pipeline only, not {effective.pipeline!r}")  # fmt: skip
        if audio_mode in ("reference", "video-to-audio"):
            raise VariantsError(f"{where}: {frames} frames > generation.segment_frames {gen.segment_frames}: audio "
                                f"mode {audio_mode!r} pins one generation's tokens and cannot be extended")  # fmt: skip
        segment_frames, overlap = gen.segment_frames, gen.overlap
    if effective.pipeline == "distilled":
        ignored = [c for c in ("steps", "video_cfg", "video_stg", "video_rescale", "video_modality", "audio_cfg",
                               "audio_stg", "audio_rescale", "audio_modality") if getattr(row, c) is not None]  # fmt: skip
        if ignored and notes is not None:
            notes.append(f"{where}: {', '.join(ignored)}: not used by the distilled pipeline (fixed steps, no guidance)")
    else:
        steps = row.steps or steps
        video, audio = replace(video, **row.guidance("video")), replace(audio, **row.guidance("audio"))
    task = Task(
        campaign=campaign.name,
        variant_id=variant.variant_id,
        seed=0,
        prompt=prompt,
        negative_prompt=negative,
        engine=gen.engine,
        checkpoint=gen.checkpoint,
        checkpoint_id=_checkpoint_id(gen.checkpoint),
        width=gen.width,
        height=gen.height,
        num_frames=frames,
        fps=fps_text(row.fps if row.fps is not None else effective.fps),
        steps=steps,
        pipeline=effective.pipeline,  # type: ignore[arg-type]
        video_guidance=video,
        audio_guidance=audio,
        audio_mode=audio_mode,  # type: ignore[arg-type]
        cover=Cover("at", row.cover_at) if row.cover_at is not None else campaign.cover.cover,
        segment_frames=segment_frames,
        overlap=overlap,
    )
    if audio_mode == "video-to-audio" and "source_video" not in files:
        raise VariantsError(f"{where}: audio mode 'video-to-audio' needs a source_video ([conditioning] or a column)")
    if audio_mode == "video-to-audio" and (stills := [r for r in ("image", "end_image") if r in files]):
        raise VariantsError(f"{where}: {' and '.join(stills)}: not used in audio mode 'video-to-audio' (the source "
                            f"video gives every frame); remove {'them' if len(stills) > 1 else 'it'} or change the mode")
    if audio_mode != "video-to-audio":
        files.pop("source_video", None)  # a campaign-wide source video concerns only the rows that score it
    strengths = {"image": row.image_strength if row.image_strength is not None else campaign.image_strength,
                 "end_image": row.end_image_strength if row.end_image_strength is not None
                 else campaign.end_image_strength}  # fmt: skip
    conditioning = [_condition(role, files[role], strengths.get(role, 1.0), hashes) for role in sorted(files)]
    loras = []
    for path, lora_strength, stage in merged(campaign.lora, variant.loras):
        if path not in hashes:
            hashes[path] = content_hash(path)  # MISSING when unreadable: the task fails at run time, alone
        loras.append(LoraRef(str(path), hashes[path], lora_strength, stage))  # type: ignore[arg-type]
    return replace(task, conditioning=tuple(conditioning), loras=tuple(loras))


def _condition(role: str, path: Path, strength: float, hashes: dict[Path, str]) -> Conditioning:
    if path not in hashes:
        hashes[path] = content_hash(path)  # MISSING when unreadable: the task fails at run time, alone
    return Conditioning(role, str(path), hashes[path], strength)


def _with_brand_audio(campaign: Campaign, task: Task, hashes: dict[Path, str], where: str) -> Task:
    """A reference task's brand audio from the `brand_audio` hook unless its row names one; the placement settings
    and a check that the placement starts inside the clip."""
    if task.audio_mode == "reference" and task.condition("brand_audio") is None:
        found = get_plugin_manager().hook.brand_audio(campaign=campaign, task=task)
        if found is None:
            raise VariantsError(f"{where}: audio mode 'reference' needs brand audio ([audio] brand_audio or a "
                                "brand_audio column)")  # fmt: skip
        brand = _condition("brand_audio", Path(found).absolute(), 1.0, hashes)
        task = replace(task, conditioning=tuple(sorted((*task.conditioning, brand), key=lambda c: c.role)))
    if task.condition("brand_audio") is None:
        return task
    fit = campaign.audio.brand_fit
    if isinstance(fit.offset, float) and fit.offset >= float(task.duration):
        raise VariantsError(f"{where}: [audio] offset {fit.offset:g} s starts after the clip's end "
                            f"({float(task.duration):.2f} s)")  # fmt: skip
    return replace(task, brand_fit=fit)


def _checkpoint_id(checkpoint: str) -> str:
    """A built-in name as is; a file as "<name>:<bytes>" so moving it keeps the task ids."""
    path = Path(checkpoint)
    if path.is_absolute():
        try:
            return f"{path.name}:{path.stat().st_size}"
        except OSError:
            return path.name
    return checkpoint


def resolve_presets(campaign: Campaign) -> dict[str, Any]:
    """The campaign's platforms as registered presets, [export.<name>] overrides applied."""
    known = presets()
    out = {}
    for name in campaign.platforms:
        if name not in known:
            listing = ", ".join(sorted(known)) or "none registered"
            raise CampaignError(f"{campaign.path}: platforms: unknown platform {name!r} (known: {listing})")
        preset = known[name].item
        overrides = campaign.export.get(name)
        if overrides:
            try:
                preset = preset.with_overrides(dict(overrides), f"{campaign.path}: export.{name}")
            except LtxflowError:
                raise
            except (ValueError, TypeError, KeyError) as exc:
                raise CampaignError(f"{campaign.path}: export.{name}: {exc}") from None
        out[name] = preset
    return out


def plan_campaign(
    target: Campaign | Path | str,
    *,
    ledger: Ledger | None = None,
    only: Iterable[str] = (),
    limit: int | None = None,
    rates: Rates | None = None,
) -> Plan:
    """Load, validate and expand a campaign; with a ledger, split finished from pending tasks."""
    campaign = target if isinstance(target, Campaign) else load_campaign(target)
    found_presets = resolve_presets(campaign)
    effective = effective_settings(campaign)
    notes: list[str] = []
    settings = resolve(campaign)
    tasks = build_tasks(campaign, found_presets, effective, notes, settings)
    filters = {name: reg.item for name, reg in template_filters().items()}
    layers = layer_sets(campaign, tasks, found_presets, filters)  # laid out per platform: bad text fails here
    estimate = estimate_task_cost(
        Usage(campaign.estimate.device, campaign.estimate.seconds_per_task, 1), rates if rates is not None else load_rates()
    )
    problems = dict.fromkeys(line for task in tasks for line in task_input_problems(task))  # seeds repeat them
    groups = campaign_groups(campaign, found_presets, effective)
    notes[:0] = [*_settings_notes(campaign, effective, tasks), *loss_warnings(groups, campaign.generation.pin_size)]
    base = Plan(campaign, tuple(tasks), (), (), frozenset(), estimate, 0.0, found_presets, (), tuple(problems),
                groups, effective, tuple(predict_all(tasks, found_presets)), tuple(dict.fromkeys(notes)),
                settings, layers=layers)  # fmt: skip
    return select(base, ledger=ledger, only=only, limit=limit)


def _settings_notes(campaign: Campaign, effective: Effective, tasks: list[Task]) -> list[str]:
    """Warnings about the generation settings: an unreadable checkpoint, keys a pipeline ignores, unused files."""
    lines = []
    if effective.facts.problem:
        lines.append(f"generation.checkpoint: {campaign.generation.checkpoint}: {effective.facts.problem}; "
                     "defaults assume LTX-2")  # fmt: skip
    if ignored := effective.ignored():
        lines.append(f"{', '.join(ignored)}: not used by the distilled pipeline (fixed steps, no guidance)")
    if campaign.brand_audio is not None and not any(t.audio_mode == "reference" for t in tasks):
        lines.append("audio.brand_audio: no task is in audio mode 'reference', so it is not used (rows may name "
                     "their own brand_audio)")  # fmt: skip
    return lines


def select(plan: Plan, *, ledger: Ledger | None = None, only: Iterable[str] = (), limit: int | None = None) -> Plan:
    """The plan's tasks narrowed by --only, minus those the ledger has finished, cut to --limit."""
    campaign, tasks = plan.campaign, plan.tasks
    only = tuple(only)
    ids = {t.variant_id for t in tasks}
    for variant_id in only:
        if variant_id not in ids:
            raise VariantsError(f"{campaign.variants}: --only {variant_id!r}: no such variant_id")
    if limit is not None and limit < 0:
        raise LtxflowError(f"--limit must be >= 0, got {limit}")
    selected = tuple(t for t in tasks if not only or t.variant_id in only)
    finished, missing = finished_with_files(ledger, campaign.name) if ledger is not None else (frozenset(), frozenset())
    reexport = stale_platforms(selected, finished, plan.layers, ledger.outputs(campaign.name)) if ledger is not None else {}
    pending = [t for t in selected if t.id not in finished or t.id in reexport]
    if limit is not None:
        pending = pending[:limit]
    spent = ledger.spent(campaign.name) if ledger is not None else 0.0
    warnings = []
    if campaign.generation.engine not in engines():
        warnings.append(f"engine {campaign.generation.engine!r} is not registered (run would fail)")
    warnings.extend(plan.notes)
    plan = replace(plan, selected=selected, pending=tuple(pending), finished=finished, spent=spent, warnings=(),
                   missing_files=missing, reexport=reexport)  # fmt: skip
    if plan.over_budget:
        warnings.append(
            f"budget: {len(pending)} pending tasks at ~${plan.estimate.money:.4f} a generation (${plan.pending_money:.2f}) "
            f"+ ${spent:.2f} spent exceed the ${campaign.budget:.2f} budget"
        )
    return replace(plan, warnings=tuple(warnings))


def finished_with_files(ledger: Ledger, campaign: str) -> tuple[frozenset[str], frozenset[str]]:
    """(finished task ids whose recorded files all exist with their recorded size, finished ids missing some).

    Outputs are content-addressed (a task's files are never overwritten by another task), so a file that is
    there with its size is the recorded one; a task whose file was deleted (by hand, `gc`) is made again.
    """
    finished = ledger.finished_task_ids(campaign)
    missing = set()
    for output in ledger.outputs(campaign):
        if output.task_id in finished and not _present(Path(output.path), output.bytes):
            missing.add(output.task_id)
    return frozenset(finished - missing), frozenset(missing)


def _present(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False
