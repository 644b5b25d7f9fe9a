"""The work queue: planning enqueues a campaign's tasks, workers claim them one at a time, highest priority first.

A queued task is `waiting` until a worker records it `done` or `failed` (in the transaction that records its files
and releases its claim, store.record_task / record_failure); while a worker holds a live claim on it (claims.py) it
is *running*. A claim whose lease expired makes the task claimable again: the next worker deletes the stale claim
and is told whose it was (`Claimed.taken_from`), so it can discard that attempt's partial files.

Claiming is atomic. On SQLite the claim runs in a `BEGIN IMMEDIATE` transaction: one writer at a time. On
PostgreSQL the candidate row is locked with `SELECT … FOR UPDATE SKIP LOCKED` (two workers never wait on, nor take,
the same row) and the claims row is re-read under that lock, so every claim of a task is serialised by its queue
row. A campaign with a budget has its `queue_campaigns` row locked too while the budget is checked, so two workers
never both start the task that would exceed it: spent (every attempt's actual money) + the estimates of its running
tasks + this task's estimate must stay within the budget.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Connection, and_, bindparam, delete, exists, func, insert, or_, select, update

from ltxflow.costs import CURRENCY
from ltxflow.ledger.claims import Worker, iso
from ltxflow.ledger.ids import new_ulid
from ltxflow.ledger.models import (
    CLAIMS,
    COSTS,
    QUEUE,
    QUEUE_CAMPAIGNS,
    RUNS,
    TASKS,
    ClaimRecord,
    QueuedCampaignRecord,
    RunRecord,
)
from ltxflow.ledger.records import LedgerError

CampaignState = Literal["active", "paused", "cancelled"]
_EPS_USD = 1e-12  # float slack in budget sums


@dataclass(frozen=True)
class Seat:
    """Who claims from the queue: one worker process, on one device (None: each campaign's own)."""

    host: str
    pid: int
    device: str | None = None

    def worker(self, run_id: str) -> Worker:
        """The claims identity of this seat working for `run_id`."""
        return Worker(self.host, self.pid, run_id)


@dataclass(frozen=True)
class Claimed:
    """A task this seat now holds; `taken_from` is the expired claim it replaced (its files are partial)."""

    task_id: str
    campaign: str
    run_id: str
    claim: ClaimRecord
    taken_from: ClaimRecord | None


@dataclass(frozen=True)
class Nothing:
    """No task could be claimed now."""

    held: int  # waiting tasks (of the filter) held by other workers, or waiting on a running task's budget share
    budget_stops: tuple[tuple[str, str], ...]  # (campaign, why) for campaigns the budget stops for good


@dataclass(frozen=True)
class QueueEntry:
    """One task of a plan, as enqueued."""

    task_id: str
    position: int  # in plan order
    estimate_usd: float
    finished: bool  # already finished in the ledger (enqueued as done)


@dataclass(frozen=True)
class CampaignCounts:
    """One campaign of the queue: its settings and how many of its tasks are where."""

    campaign: QueuedCampaignRecord
    waiting: int  # not running, not done
    running: int
    done: int
    failed: int


@dataclass(frozen=True)
class TaskLine:
    """One queued task as `ltxflow queue --tasks` lists it."""

    task_id: str
    campaign: str
    priority: int
    state: str  # waiting | running | done | failed
    where: str  # "<worker> on <device>" while running, else ""
    since: str  # ISO 8601 UTC: claimed (running), finished (done/failed) or enqueued (waiting)


def _live(now: str):  # noqa: ANN202 (an SQL expression)
    return exists().where(CLAIMS.c.task_id == QUEUE.c.task_id, CLAIMS.c.expires_utc > now)


# ── Enqueue ─────────────────────────────────────────────────────────────────────────────────────

_REWAIT = (update(QUEUE).where(QUEUE.c.task_id == bindparam("b_id"))
           .values(state="waiting", enqueued_utc=bindparam("b_now"), finished_utc=None,
                   estimate_usd=bindparam("b_usd")))  # fmt: skip
_DONE = update(QUEUE).where(QUEUE.c.task_id == bindparam("b_id")).values(state="done", finished_utc=bindparam("b_now"))


def enqueue(conn: Connection, campaign: str, entries: Sequence[QueueEntry], *, path: str, out_dir: str,
            priority: int | None, default_priority: int, budget: float | None, now: str,
            planned: Collection[str] | None = None) -> int:  # fmt: skip
    """Put a plan's tasks in the queue (same task id, same row) and make the campaign active; return how many
    tasks now wait. Pending tasks wait (again, when they had failed or their files went missing); finished ones are
    done. `priority` None keeps an enqueued campaign's priority (a new one takes `default_priority`). With
    `planned` (every task id of the campaign's plan as its file now says), waiting tasks it no longer plans and
    nobody runs leave the queue."""
    found = conn.execute(select(QUEUE_CAMPAIGNS.c.priority).where(QUEUE_CAMPAIGNS.c.campaign == campaign)).first()
    values = {"campaign_path": path, "out_dir": out_dir, "budget": budget, "state": "active", "updated_utc": now}
    if found is None:
        conn.execute(insert(QUEUE_CAMPAIGNS).values(campaign=campaign, enqueued_utc=now,
                                                    priority=default_priority if priority is None else priority,
                                                    **values))  # fmt: skip
    else:
        if priority is not None:
            values["priority"] = priority
        conn.execute(update(QUEUE_CAMPAIGNS).where(QUEUE_CAMPAIGNS.c.campaign == campaign).values(values))
    states = {t: s for t, s in conn.execute(select(QUEUE.c.task_id, QUEUE.c.state).where(QUEUE.c.campaign == campaign))}
    new, rewait, done = [], [], []
    for e in entries:
        state = states.get(e.task_id)
        if state is None:
            new.append({"task_id": e.task_id, "campaign": campaign, "position": e.position, "finished_utc": None,
                        "estimate_usd": e.estimate_usd, "state": "done" if e.finished else "waiting",
                        "enqueued_utc": now})  # fmt: skip
        elif not e.finished and state != "waiting":
            rewait.append({"b_id": e.task_id, "b_now": now, "b_usd": e.estimate_usd})
        elif e.finished and state == "waiting":
            done.append({"b_id": e.task_id, "b_now": now})
    if new:
        conn.execute(insert(QUEUE), new)
    if rewait:
        conn.execute(_REWAIT, rewait)
    if done:
        conn.execute(_DONE, done)
    if planned is not None:
        keep = set(planned)
        stale = [t for t, state in states.items() if state == "waiting" and t not in keep]
        live = set(conn.execute(select(CLAIMS.c.task_id).where(CLAIMS.c.campaign == campaign,
                                                               CLAIMS.c.expires_utc > now)).scalars())  # fmt: skip
        stale = [t for t in stale if t not in live]
        for start in range(0, len(stale), 500):
            conn.execute(delete(QUEUE).where(QUEUE.c.task_id.in_(stale[start : start + 500])))
    return sum(1 for e in entries if not e.finished)


def mark(conn: Connection, task_id: str, state: Literal["done", "failed"], now: str) -> None:
    """Record a queued task's outcome (inside the transaction that records the task; no-op for unqueued tasks)."""
    conn.execute(update(QUEUE).where(QUEUE.c.task_id == task_id).values(state=state, finished_utc=now))


def set_state(conn: Connection, campaign: str, state: CampaignState, now: str) -> None:
    """Pause, resume or cancel a campaign: only active campaigns' tasks are claimed (running ones finish)."""
    query = update(QUEUE_CAMPAIGNS).where(QUEUE_CAMPAIGNS.c.campaign == campaign)
    if conn.execute(query.values(state=state, updated_utc=now)).rowcount != 1:
        raise LedgerError(f"queue: no campaign {campaign!r} in the queue (ltxflow queue lists them)")


# ── Claim ───────────────────────────────────────────────────────────────────────────────────────


def claim_next(
    conn: Connection,
    seat: Seat,
    lease_s: float,
    now: datetime,
    *,
    runs: Mapping[str, str],
    campaigns: Collection[str] | None = None,
    task_ids: Collection[str] | None = None,
    skip: Collection[str] = (),
    skip_campaigns: Collection[str] = (),
    portable_only: bool = False,
) -> Claimed | Nothing:
    """Claim the next task for `seat` (inside the caller's write transaction): waiting, of an active campaign, with no
    live claim, highest priority first, then oldest, then plan order; of `campaigns` / `task_ids` only when given,
    never one of `skip` or of `skip_campaigns`; with `portable_only`, only of campaigns planned from a file (or
    in `runs`). `runs` maps campaign -> the seat's run id; a campaign without one gets a new `worker` run (its id
    is in the answer). A task whose estimate would push its campaign past its budget is not claimed."""
    at = iso(now)
    postgres = conn.dialect.name == "postgresql"
    stops: dict[str, str] = dict.fromkeys(skip_campaigns, "")  # campaign -> why (for good)
    waits: set[str] = set()  # campaigns waiting on running tasks' budget shares
    passed: set[str] = set(skip)
    portable = [or_(QUEUE_CAMPAIGNS.c.campaign_path != "", QUEUE.c.campaign.in_(list(runs)))] if portable_only else []
    while True:
        query = (
            select(QUEUE.c.task_id, QUEUE.c.campaign, QUEUE.c.estimate_usd, QUEUE_CAMPAIGNS.c.budget)
            .join(QUEUE_CAMPAIGNS, QUEUE.c.campaign == QUEUE_CAMPAIGNS.c.campaign)
            .where(*_filters(campaigns, task_ids, passed, stops.keys() | waits), *portable, ~_live(at))
            .order_by(QUEUE_CAMPAIGNS.c.priority.desc(), QUEUE.c.enqueued_utc, QUEUE.c.campaign, QUEUE.c.position)
            .limit(1)
        )
        if postgres:
            query = query.with_for_update(of=QUEUE, skip_locked=True)
        row = conn.execute(query).first()
        if row is None:
            break
        task_id, campaign, estimate, budget = row
        held = conn.execute(select(CLAIMS).where(CLAIMS.c.task_id == task_id)).mappings().first()
        if held is not None and held["expires_utc"] > at:  # claimed since this statement's snapshot (PostgreSQL)
            passed.add(task_id)
            continue
        if budget is not None:
            why, running = _over_budget(conn, campaign, estimate, budget, at, postgres)
            if why:
                (waits.add(campaign) if running else stops.__setitem__(campaign, why))
                continue
        taken_from = None if held is None else ClaimRecord.model_validate(held)
        if taken_from is not None:
            conn.execute(delete(CLAIMS).where(CLAIMS.c.task_id == task_id))
        run_id = runs.get(campaign) or _start_worker_run(conn, campaign, seat, at)
        if conn.execute(select(RUNS.c.command).where(RUNS.c.id == run_id)).scalar() == "worker":
            conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(planned_tasks=RUNS.c.planned_tasks + 1))
        worker = seat.worker(run_id)
        mine = ClaimRecord(task_id=task_id, campaign=campaign, run_id=run_id, worker=worker.id, host=seat.host,
                           pid=seat.pid, claimed_utc=at, expires_utc=iso(now + timedelta(seconds=lease_s)),
                           device=seat.device)  # fmt: skip
        conn.execute(insert(CLAIMS).values(mine.model_dump()))
        return Claimed(task_id, campaign, run_id, mine, taken_from)
    held = conn.execute(select(func.count()).select_from(QUEUE.join(QUEUE_CAMPAIGNS))
                        .where(*_filters(campaigns, task_ids, set(skip), stops.keys()), *portable)).scalar_one()  # fmt: skip
    return Nothing(int(held), tuple(sorted((c, why) for c, why in stops.items() if why)))


def _filters(campaigns: Collection[str] | None, task_ids: Collection[str] | None, skip: Collection[str],
             excluded: Collection[str]) -> list:  # fmt: skip
    """Waiting tasks of active campaigns, narrowed as asked."""
    where = [QUEUE.c.state == "waiting", QUEUE_CAMPAIGNS.c.state == "active"]
    if campaigns is not None:
        where.append(QUEUE.c.campaign.in_(list(campaigns)))
    if task_ids is not None:
        where.append(QUEUE.c.task_id.in_(list(task_ids)))
    if skip:
        where.append(QUEUE.c.task_id.not_in(list(skip)))
    if excluded:
        where.append(QUEUE.c.campaign.not_in(list(excluded)))
    return where


def _over_budget(conn: Connection, campaign: str, estimate: float, budget: float, at: str,
                 postgres: bool) -> tuple[str, bool]:  # fmt: skip
    """Why starting a task of `estimate` USD would exceed `budget` ("" when it would not), and whether tasks of the
    campaign are running (their share may come back cheaper: wait) or none are (stop for good)."""
    if postgres:  # one budget check per campaign at a time
        conn.execute(select(QUEUE_CAMPAIGNS.c.campaign).where(QUEUE_CAMPAIGNS.c.campaign == campaign).with_for_update())
    spent = conn.execute(
        select(func.coalesce(func.sum(COSTS.c.amount), 0.0))
        .select_from(COSTS.join(TASKS, COSTS.c.task_id == TASKS.c.id))
        .where(TASKS.c.campaign == campaign, COSTS.c.kind == "actual", COSTS.c.currency == CURRENCY)
    ).scalar_one()
    running, reserved = conn.execute(
        select(func.count(), func.coalesce(func.sum(QUEUE.c.estimate_usd), 0.0))
        .select_from(QUEUE.join(CLAIMS, and_(CLAIMS.c.task_id == QUEUE.c.task_id, CLAIMS.c.expires_utc > at)))
        .where(QUEUE.c.campaign == campaign, QUEUE.c.state == "waiting")
    ).one()
    spent, reserved = float(spent), float(reserved)
    if spent + reserved + estimate <= budget + _EPS_USD:
        return "", bool(running)
    share = f" + ~${reserved:.4f} running" if running else ""
    return (f"stopped: ${spent:.2f} spent{share} + ~${estimate:.4f} would exceed the ${budget:.2f} budget",
            bool(running))  # fmt: skip


def _start_worker_run(conn: Connection, campaign: str, seat: Seat, at: str) -> str:
    """A `worker` run: what one worker did for one campaign (its tasks count there)."""
    run = RunRecord(id=new_ulid(), campaign=campaign, command="worker", status="running", planned_tasks=0, finished=0,
                    failed=0, skipped=0, started_utc=at, host=seat.host, pid=seat.pid)  # fmt: skip
    conn.execute(insert(RUNS).values(run.model_dump()))
    return run.id


# ── Read ────────────────────────────────────────────────────────────────────────────────────────


def campaigns(conn: Connection) -> list[QueuedCampaignRecord]:
    """Every queued campaign, highest priority first, then oldest."""
    query = select(QUEUE_CAMPAIGNS).order_by(QUEUE_CAMPAIGNS.c.priority.desc(), QUEUE_CAMPAIGNS.c.enqueued_utc)
    return [QueuedCampaignRecord.model_validate(row) for row in conn.execute(query).mappings()]


def counts(conn: Connection, at: str) -> list[CampaignCounts]:
    """Each queued campaign with its waiting, running, done and failed tasks (two aggregate queries)."""
    live = _live(at)
    per = select(QUEUE.c.campaign, QUEUE.c.state, live.label("running"), func.count()).group_by(
        QUEUE.c.campaign, QUEUE.c.state, live)
    tally: dict[str, dict[str, int]] = {}
    for campaign, state, running, n in conn.execute(per):
        key = "running" if state == "waiting" and running else state
        tally.setdefault(campaign, {}).setdefault(key, 0)
        tally[campaign][key] += n
    return [CampaignCounts(c, *(tally.get(c.campaign, {}).get(k, 0) for k in ("waiting", "running", "done", "failed")))
            for c in campaigns(conn)]  # fmt: skip


def task_lines(conn: Connection, at: str, campaign: str | None = None) -> list[TaskLine]:
    """Every queued task (of one campaign) in claim order: running first, then waiting, done, failed."""
    query = (
        select(QUEUE.c.task_id, QUEUE.c.campaign, QUEUE_CAMPAIGNS.c.priority, QUEUE.c.state, QUEUE.c.enqueued_utc,
               QUEUE.c.finished_utc, CLAIMS.c.worker, CLAIMS.c.device, CLAIMS.c.claimed_utc, CLAIMS.c.expires_utc)
        .join(QUEUE_CAMPAIGNS, QUEUE.c.campaign == QUEUE_CAMPAIGNS.c.campaign)
        .outerjoin(CLAIMS, CLAIMS.c.task_id == QUEUE.c.task_id)
        .order_by(QUEUE_CAMPAIGNS.c.priority.desc(), QUEUE.c.enqueued_utc, QUEUE.c.campaign, QUEUE.c.position)
    )  # fmt: skip
    if campaign is not None:
        query = query.where(QUEUE.c.campaign == campaign)
    lines = []
    for task_id, name, priority, state, enqueued, finished, worker, device, claimed, expires in conn.execute(query):
        if state == "waiting" and worker is not None and expires > at:
            lines.append(TaskLine(task_id, name, priority, "running", f"{worker} on {device or 'default'}", claimed))
        else:
            lines.append(TaskLine(task_id, name, priority, state, "", finished or enqueued))
    order = {"running": 0, "waiting": 1, "done": 2, "failed": 3}
    return sorted(lines, key=lambda line: order[line.state])  # stable: claim order within each state
