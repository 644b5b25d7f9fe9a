"""Planning into the ledger's work queue: a campaign's tasks enqueued (idempotently), its current plan set, and the
queue read back for `ltxflow queue`. Loads no engine (and so no torch)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ltxflow.ledger.queue import CampaignCounts, QueueEntry, TaskLine
from ltxflow.ledger.store import Ledger

if TYPE_CHECKING:  # planning loads only for `queue add`: listing the queue reads the ledger alone
    from ltxflow.campaign import Campaign
    from ltxflow.plan import Plan
    from ltxflow.tasks import Task


@dataclass(frozen=True)
class Enqueued:
    """What `queue add` did."""

    campaign: str
    waiting: int  # tasks now waiting in the queue
    finished: int  # tasks of the selection already finished
    priority: int


def enqueue_plan(ledger: Ledger, plan: Plan, out_dir: Path | str, *, from_file: bool,
                 priority: int | None = None) -> int:  # fmt: skip
    """Queue `plan`'s pending tasks (and mark its finished ones done) for its campaign; return how many wait.

    `from_file`: the plan is the campaign's file as it stands, so workers elsewhere can plan it again (and waiting
    tasks it no longer has leave the queue); otherwise (a campaign changed in memory, as promote makes) only the
    process that holds the plan can do its tasks.
    """
    from ltxflow.clip_cache import cache_path
    from ltxflow.tasks import safe_name

    campaign = plan.campaign
    out = Path(out_dir).absolute() / safe_name(campaign.name)
    position = {t.id: i for i, t in enumerate(plan.tasks)}
    pending = {t.id for t in plan.pending}

    def estimate(task: Task) -> float:  # a re-export of layers from the clip cache generates nothing
        return 0.0 if task.id in plan.reexport and cache_path(out, task.id).is_file() else plan.task_money(task)

    entries = [QueueEntry(t.id, position[t.id], estimate(t), finished=t.id not in pending)
               for t in plan.selected if t.id in pending or t.id in plan.finished]  # fmt: skip
    return ledger.enqueue(campaign.name, entries, path=str(campaign.path) if from_file else "",
                          out_dir=str(Path(out_dir).absolute()), priority=priority, default_priority=campaign.priority,
                          budget=campaign.budget, planned=list(position) if from_file else None)  # fmt: skip


def queue_campaign(target: Campaign | Path | str, ledger: Ledger, out_dir: Path | str, *,
                   priority: int | None = None) -> Enqueued:  # fmt: skip
    """Plan a campaign against the ledger, make that plan its current one and queue its pending tasks."""
    from ltxflow.campaign import Campaign
    from ltxflow.plan import plan_campaign, select

    plan = plan_campaign(target)
    plan = select(plan, ledger=ledger)
    ledger.set_current(plan.campaign.name, [t.id for t in plan.tasks])
    waiting = enqueue_plan(ledger, plan, out_dir, from_file=not isinstance(target, Campaign), priority=priority)
    found = ledger.queued_campaign(plan.campaign.name)
    assert found is not None
    return Enqueued(plan.campaign.name, waiting, len(plan.finished & {t.id for t in plan.selected}), found.priority)


@dataclass(frozen=True)
class QueueView:
    """The queue as `ltxflow queue` prints it."""

    campaigns: tuple[CampaignCounts, ...]
    tasks: tuple[TaskLine, ...]  # the running tasks, or every task with `every_task`


def queue_view(ledger: Ledger, campaign: str | None = None, *, every_task: bool = False) -> QueueView:
    """Per campaign: waiting, running (where, since when), done and failed; and the running (or every) task."""
    counts = [c for c in ledger.queue_counts() if campaign is None or c.campaign.campaign == campaign]
    lines = ledger.queue_tasks(campaign) if every_task or any(c.running for c in counts) else []
    return QueueView(tuple(counts), tuple(line for line in lines if every_task or line.state == "running"))
