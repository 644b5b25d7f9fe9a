"""Planning: a campaign expanded into tasks, checked against plugins and priced, with no engine loaded."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ltxflow.campaign import Campaign, load_campaign
from ltxflow.conditioning_files import content_hash, task_input_problems
from ltxflow.costs import Estimate, Rates, Usage, estimate_task_cost, load_rates
from ltxflow.errors import CampaignError, LtxflowError, VariantsError
from ltxflow.model_settings import ModelSettings, identities, resolve
from ltxflow.plugins import engines, get_plugin_manager, presets, template_filters
from ltxflow.prompts import PromptTemplate
from ltxflow.tasks import Conditioning, Task, fps_text
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
    estimate: Estimate  # per task
    spent: float  # USD already spent on the campaign
    presets: Mapping[str, Any] = field(default_factory=dict)  # platform -> Preset with overrides applied
    warnings: tuple[str, ...] = ()
    input_problems: tuple[str, ...] = ()  # one line per unusable conditioning file (variant, role, file)
    settings: ModelSettings | None = None  # model settings after environment overrides (None: not resolved)
    missing_files: frozenset[str] = frozenset()  # finished in the ledger, but a recorded file is gone: pending again

    @property
    def overrides(self) -> tuple[str, ...]:
        """One line per environment variable that changed a campaign setting."""
        return self.settings.overrides if self.settings is not None else ()

    @property
    def pending_money(self) -> float:
        """USD the pending tasks are expected to cost."""
        return self.estimate.money * len(self.pending)

    @property
    def over_budget(self) -> bool:
        """Whether running the pending tasks would exceed the campaign budget."""
        budget = self.campaign.budget
        return budget is not None and self.spent + self.pending_money > budget + 1e-12


def build_tasks(campaign: Campaign, settings: ModelSettings | None = None) -> list[Task]:
    """Every task of a campaign: each variant × each seed, prompts rendered, files hashed, model settings
    (default: resolved from the campaign and the environment) and their identities set."""
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
        for seed in campaign.seeds:
            task = _task(campaign, variant, seed, rendered.prompt, rendered.negative_prompt, hashes, where)
            tasks.append(replace(task, precision=settings.precision, dtype=campaign.generation.dtype,
                                 text_encoder_id=ids.text_encoder, upsampler_id=ids.upsampler))  # fmt: skip
    return tasks


def _task(
    campaign: Campaign, variant: Variant, seed: int, prompt: str, negative: str, hashes: dict[Path, str], where: str
) -> Task:
    """One task; brand audio comes from the row, else from the `brand_audio` hook."""
    gen = campaign.generation
    platforms = variant.platforms or campaign.platforms
    files = dict(variant.files)
    if "image" not in files and campaign.image is not None:
        files["image"] = campaign.image
    if "end_image" not in files and campaign.end_image is not None:
        files["end_image"] = campaign.end_image
    if "source_video" not in files and campaign.source_video is not None:
        files["source_video"] = campaign.source_video
    if campaign.audio_mode != "reference":
        files.pop("brand_audio", None)
    strength = variant.image_strength if variant.image_strength is not None else campaign.image_strength
    task = Task(
        campaign=campaign.name,
        variant_id=variant.variant_id,
        seed=seed,
        prompt=prompt,
        negative_prompt=negative,
        engine=gen.engine,
        checkpoint=gen.checkpoint,
        checkpoint_id=_checkpoint_id(gen.checkpoint),
        width=gen.width,
        height=gen.height,
        num_frames=gen.num_frames,
        fps=fps_text(gen.fps),
        steps=gen.steps,
        pipeline=gen.pipeline,  # type: ignore[arg-type]
        video_guidance=campaign.video_guidance,
        audio_guidance=campaign.audio_guidance,
        audio_mode=campaign.audio_mode,  # type: ignore[arg-type]
        platforms=tuple(platforms),
        export_settings=json.dumps({p: dict(campaign.export.get(p, {})) for p in platforms}, sort_keys=True),
    )
    if campaign.audio_mode == "reference" and "brand_audio" not in files:
        found = get_plugin_manager().hook.brand_audio(campaign=campaign, task=task)
        if found is None:
            raise VariantsError(f"{where}: audio mode 'reference' needs brand audio ([audio] brand_audio or a brand_audio column)")
        files["brand_audio"] = Path(found).absolute()
    if campaign.audio_mode == "video-to-audio" and "source_video" not in files:
        raise VariantsError(f"{where}: audio mode 'video-to-audio' needs a source_video ([conditioning] or a column)")
    if campaign.audio_mode == "video-to-audio" and (stills := [r for r in ("image", "end_image") if r in files]):
        raise VariantsError(f"{where}: {' and '.join(stills)}: not used in audio mode 'video-to-audio' (the source "
                            f"video gives every frame); remove {'them' if len(stills) > 1 else 'it'} or change the mode")
    conditioning = []
    for role in sorted(files):
        path = files[role]
        if path not in hashes:
            hashes[path] = content_hash(path)  # MISSING when unreadable: the task fails at run time, alone
        role_strength = {"image": strength, "end_image": campaign.end_image_strength}.get(role, 1.0)
        conditioning.append(Conditioning(role, str(path), hashes[path], role_strength))
    return replace(task, conditioning=tuple(conditioning))


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
    settings = resolve(campaign)
    tasks = build_tasks(campaign, settings)
    estimate = estimate_task_cost(
        Usage(campaign.estimate.device, campaign.estimate.seconds_per_task, 1), rates if rates is not None else load_rates()
    )
    problems = dict.fromkeys(line for task in tasks for line in task_input_problems(task))  # seeds repeat them
    base = Plan(campaign, tuple(tasks), (), (), frozenset(), estimate, 0.0, found_presets, (), tuple(problems), settings)
    return select(base, ledger=ledger, only=only, limit=limit)


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
    pending = [t for t in selected if t.id not in finished]
    if limit is not None:
        pending = pending[:limit]
    spent = ledger.spent(campaign.name) if ledger is not None else 0.0
    warnings = []
    if campaign.generation.engine not in engines():
        warnings.append(f"engine {campaign.generation.engine!r} is not registered (run would fail)")
    plan = replace(plan, selected=selected, pending=tuple(pending), finished=finished, spent=spent, warnings=(),
                   missing_files=missing)  # fmt: skip
    if plan.over_budget:
        warnings.append(
            f"budget: {len(pending)} pending tasks at ~${plan.estimate.money:.4f} each (${plan.pending_money:.2f}) "
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
