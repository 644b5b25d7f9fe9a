"""Draft → final: approved (or winning) drafts rendered again with the campaign's [final] profile.

A final is an ordinary task of the campaign: the draft's prompt and seed with the [final] generation settings, so
it has its own id, its own (content-addressed) files and its own ledger rows, and the draft stays as it was.
Promoting twice renders nothing new: finals already finished are skipped like any finished task. Afterwards the
campaign's current view (`current/`, manifest, contact sheet) holds each draft, or its final once finished; a
later `ltxflow run` rebuilds it from the drafts' plan, and promoting again puts the finals back without rendering.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ltxflow.campaign import Campaign, load_campaign
from ltxflow.plan import plan_campaign
from ltxflow.review.model import slot_key
from ltxflow.tasks import safe_name

if TYPE_CHECKING:
    from ltxflow.ledger.store import Ledger
    from ltxflow.runner import RunResult


@dataclass(frozen=True)
class Promotion:
    """One draft chosen for a final."""

    variant_id: str
    seed: int
    draft_task_id: str
    final_task_id: str
    status: str  # "rendered" (by this call), "already" (finished before), "failed", "not run" (budget stop)


@dataclass(frozen=True)
class PromoteResult:
    """What a promote did."""

    campaign: str
    promotions: tuple[Promotion, ...]
    runs: tuple[RunResult, ...]

    @property
    def exit_code(self) -> int:
        """0 when every chosen final is finished, else 1."""
        return 1 if any(p.status in ("failed", "not run") for p in self.promotions) else 0


def promote_campaign(
    target: Campaign | Path | str,
    *,
    ledger: Ledger,
    out_dir: Path | str,
    winners_only: bool = False,
    device: str | None = None,
    progress: bool = False,
) -> PromoteResult:
    """Render the final of every current draft whose review state is approved (or winner); return what happened.

    Raises CampaignError when the campaign has no [final] profile (before anything is read or written).
    """
    from ltxflow.report import rebuild_view
    from ltxflow.runner import run_campaign  # loads the engine plugins only when something is promoted

    campaign = target if isinstance(target, Campaign) else load_campaign(target)
    final = campaign.final_campaign()
    drafts = plan_campaign(campaign).tasks
    finals = {slot_key(t): t for t in plan_campaign(final).tasks}
    states = ledger.review_states(campaign.name, [t.id for t in drafts])
    wanted = "winner" if winners_only else "approved"
    chosen = [t for t in drafts if t.id in states and states[t.id].matches(wanted)]
    before = ledger.finished_task_ids(campaign.name)
    seeds_of: dict[str, list[int]] = {}
    for draft in chosen:
        if finals[slot_key(draft)].id not in before and draft.seed not in seeds_of.get(draft.variant_id, []):
            seeds_of.setdefault(draft.variant_id, []).append(draft.seed)
    groups: dict[tuple[int, ...], list[str]] = {}  # one run per seed set renders exactly the chosen pairs
    for variant_id, seeds in seeds_of.items():
        groups.setdefault(tuple(seeds), []).append(variant_id)
    runs = [
        run_campaign(final.model_copy(update={"seeds": seeds}), ledger=ledger, out_dir=out_dir, only=variants,
                     device=device, progress=progress)  # fmt: skip
        for seeds, variants in groups.items()
    ]
    after = ledger.finished_task_ids(campaign.name)
    failed = {stem for run in runs for stem, _ in run.failed}
    promotions = []
    for draft in chosen:
        task = finals[slot_key(draft)]
        status = ("already" if task.id in before else "rendered" if task.id in after
                  else "failed" if task.stem() in failed else "not run")  # fmt: skip
        promotions.append(Promotion(draft.variant_id, draft.seed, draft.id, task.id, status))
    # The runs above made their own (final-only) plan current; the campaign's current view is every draft, each
    # replaced by its final once that is finished.
    current = [f if (f := finals.get(slot_key(t))) is not None and f.id in after else t for t in drafts]
    ledger.set_current(campaign.name, [t.id for t in current])
    rebuild_view(ledger, campaign.name, Path(out_dir).absolute() / safe_name(campaign.name), {t.id: t for t in current})
    return PromoteResult(campaign.name, tuple(promotions), tuple(runs))
