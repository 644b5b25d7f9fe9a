"""Reading the ledger back: output records, per-task totals and summaries by campaign, variant, platform.

Attribution rule (shared with the CSV export): a task's device seconds and money are split equally
over its delivery files (outputs with a platform); a task with only per-clip files (platform "")
splits them over those. So platform rows and CSV columns sum to the campaign totals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from ltxflow.costs import CURRENCY
from ltxflow.ledger.models import COSTS, OUTPUTS, STAGES, TASKS, OutputRecord
from ltxflow.ledger.records import LedgerError, StageRecord, SummaryBy, SummaryRow

STAGE_ORDER = ("load", "text_encode", "denoise", "decode", "export")

_BY = ("campaign", "variant", "platform")


@dataclass
class TaskTotals:
    """What one task cost over all its attempts."""

    campaign: str
    variant_id: str
    status: str
    device: str | None
    device_seconds: float
    money: float = 0.0  # USD, "actual" lines
    comparison: dict[str, list[float]] = field(default_factory=dict)  # source -> [low, high] USD


@dataclass
class _Group:
    """A summary row being accumulated."""

    tasks: int = 0
    failed: int = 0
    outputs: int = 0
    device_seconds: float = 0.0
    money: float = 0.0
    comparison: dict[str, list[float]] = field(default_factory=dict)

    def add_comparison(self, comparison: dict[str, list[float]], share: float) -> None:
        """Add a task's per-source comparison totals, scaled by `share`."""
        for source, (low, high) in comparison.items():
            acc = self.comparison.setdefault(source, [0.0, 0.0])
            acc[0] += low * share
            acc[1] += high * share


def output_records(conn: Connection, campaign: str | None, task_id: str | None = None) -> list[OutputRecord]:
    """Every recorded file (of one campaign, or of one task) with its task's campaign, variant and seed."""
    query = (
        select(OUTPUTS, TASKS.c.campaign, TASKS.c.variant_id, TASKS.c.seed)
        .select_from(OUTPUTS.join(TASKS, OUTPUTS.c.task_id == TASKS.c.id))
        .order_by(TASKS.c.campaign, TASKS.c.variant_id, TASKS.c.seed, OUTPUTS.c.platform, OUTPUTS.c.id)
    )
    if campaign is not None:
        query = query.where(TASKS.c.campaign == campaign)
    if task_id is not None:
        query = query.where(OUTPUTS.c.task_id == task_id)
    return [OutputRecord.model_validate(row) for row in conn.execute(query).mappings()]


def output_record(conn: Connection, output_id: int) -> OutputRecord | None:
    """One recorded file by row id, with its task's campaign, variant and seed; None when unknown."""
    query = (
        select(OUTPUTS, TASKS.c.campaign, TASKS.c.variant_id, TASKS.c.seed)
        .select_from(OUTPUTS.join(TASKS, OUTPUTS.c.task_id == TASKS.c.id))
        .where(OUTPUTS.c.id == output_id)
    )
    row = conn.execute(query).mappings().first()
    return None if row is None else OutputRecord.model_validate(row)


def task_totals(
    conn: Connection, campaign: str | None, task_ids: Collection[str] | None = None
) -> dict[str, TaskTotals]:
    """Per task id (of `task_ids` only, when given): status, device seconds and USD (actual, and per-source
    comparison low/high)."""
    tasks = select(
        TASKS.c.id, TASKS.c.campaign, TASKS.c.variant_id, TASKS.c.status, TASKS.c.device, TASKS.c.device_seconds
    )
    costs = (
        select(
            COSTS.c.task_id,
            COSTS.c.kind,
            COSTS.c.source,
            func.sum(COSTS.c.amount),
            func.sum(func.coalesce(COSTS.c.amount_max, COSTS.c.amount)),
        )
        .select_from(COSTS.join(TASKS, COSTS.c.task_id == TASKS.c.id))
        .where(COSTS.c.currency == CURRENCY)
        .group_by(COSTS.c.task_id, COSTS.c.kind, COSTS.c.source)
    )
    if campaign is not None:
        tasks = tasks.where(TASKS.c.campaign == campaign)
        costs = costs.where(TASKS.c.campaign == campaign)
    if task_ids is not None:
        tasks = tasks.where(TASKS.c.id.in_(list(task_ids)))
        costs = costs.where(TASKS.c.id.in_(list(task_ids)))
    totals = {
        row.id: TaskTotals(row.campaign, row.variant_id, row.status, row.device, row.device_seconds)
        for row in conn.execute(tasks)
    }
    for task_id, kind, source, low, high in conn.execute(costs):
        if kind == "actual":
            totals[task_id].money += low
        elif kind == "comparison":
            totals[task_id].comparison[source] = [low, high]
    return totals


def stage_totals(conn: Connection, campaign: str | None) -> list[StageRecord]:
    """Per campaign and stage: attempts, wall and device seconds (stages in pipeline order)."""
    query = (
        select(TASKS.c.campaign, STAGES.c.stage, func.count(), func.sum(STAGES.c.wall_seconds),
               func.sum(STAGES.c.device_seconds))
        .select_from(STAGES.join(TASKS, STAGES.c.task_id == TASKS.c.id))
        .group_by(TASKS.c.campaign, STAGES.c.stage)
    )  # fmt: skip
    if campaign is not None:
        query = query.where(TASKS.c.campaign == campaign)
    rows = [StageRecord(c, stage, n, wall, device) for c, stage, n, wall, device in conn.execute(query)]
    order = {stage: i for i, stage in enumerate(STAGE_ORDER)}
    return sorted(rows, key=lambda r: (r.campaign, order.get(r.stage, len(order)), r.stage))


def output_shares(platforms: list[str]) -> list[float]:
    """Each output's share of its task's totals, given the platforms of all the task's outputs."""
    delivery = [p != "" for p in platforms]
    counted = delivery if any(delivery) else [True] * len(platforms)
    n = sum(counted)
    return [1.0 / n if c else 0.0 for c in counted]


def summarise(
    conn: Connection, by: SummaryBy, campaign: str | None, task_ids: Collection[str] | None = None
) -> list[SummaryRow]:
    """Summary rows (of the tasks in `task_ids` only, when given) grouped by campaign, variant or platform,
    sorted by campaign then key."""
    if by not in _BY:
        raise LedgerError(f"summary: 'by' must be one of {', '.join(_BY)}, got {by!r}")
    totals = task_totals(conn, campaign, task_ids)
    platforms: dict[str, list[str]] = defaultdict(list)  # task id -> platform of each output
    for task_id, platform in conn.execute(select(OUTPUTS.c.task_id, OUTPUTS.c.platform).order_by(OUTPUTS.c.id)):
        if task_id in totals:
            platforms[task_id].append(platform)

    groups: dict[tuple[str, str], _Group] = defaultdict(_Group)
    for task_id, t in totals.items():
        if by == "platform":
            _add_by_platform(groups, t, platforms.get(task_id, []))
            continue
        g = groups[(t.campaign, t.campaign if by == "campaign" else t.variant_id)]
        g.tasks += t.status == "finished"
        g.failed += t.status == "failed"
        g.outputs += len(platforms.get(task_id, []))
        g.device_seconds += t.device_seconds
        g.money += t.money
        g.add_comparison(t.comparison, 1.0)
    return [_row(campaign, key, g) for (campaign, key), g in sorted(groups.items())]


def _add_by_platform(groups: dict[tuple[str, str], _Group], t: TaskTotals, platforms: list[str]) -> None:
    """Spread one task over the platforms of its outputs (a task without outputs has no platform)."""
    shares: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for platform, share in zip(platforms, output_shares(platforms), strict=True):
        shares[platform] += share
        counts[platform] += 1
    for platform, share in shares.items():
        g = groups[(t.campaign, platform)]
        g.tasks += t.status == "finished"
        g.outputs += counts[platform]
        g.device_seconds += t.device_seconds * share
        g.money += t.money * share
        g.add_comparison(t.comparison, share)


def _row(campaign: str, key: str, g: _Group) -> SummaryRow:
    """A finished group as a SummaryRow: comparison = cheapest API's low to dearest API's high."""
    lows = [low for low, _ in g.comparison.values()]
    highs = [high for _, high in g.comparison.values()]
    return SummaryRow(
        campaign=campaign, key=key, tasks=g.tasks, failed=g.failed, outputs=g.outputs,
        device_seconds=g.device_seconds, money=g.money,
        comparison_low=min(lows, default=0.0), comparison_high=max(highs, default=0.0),
    )  # fmt: skip
