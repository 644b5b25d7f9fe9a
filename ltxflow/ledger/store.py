"""The Ledger: runs, tasks, output files and money lines; every write is one transaction.

A task id is the primary key of `tasks`: its row describes the task's latest attempt, so a rerun
replaces a failure (or an earlier result) and `finished_task_ids` is simply the rows whose status is
"finished". `attempts` counts the tries and `device_seconds` sums them; output files belong to the
latest attempt only, while money lines are kept for every attempt (that money was spent).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update

from ltxflow.costs import CURRENCY, CostItem, Usage
from ltxflow.ledger import claims as _claims
from ltxflow.ledger import db, decisions, export, summary
from ltxflow.ledger import queue as _queue
from ltxflow.ledger.claims import Worker
from ltxflow.ledger.ids import new_ulid
from ltxflow.ledger.migrations import apply_migrations
from ltxflow.ledger.models import (
    CLAIMS,
    COSTS,
    CURRENT,
    DECISIONS,
    OUTPUTS,
    RUNS,
    STAGES,
    TASKS,
    ClaimRecord,
    DecisionIn,
    DecisionRecord,
    OutputIn,
    OutputRecord,
    RunRecord,
    StageIn,
    TaskIn,
    TaskRecord,
)
from ltxflow.ledger.records import LedgerError, RunStatus, StageRecord, SummaryBy, SummaryRow
from ltxflow.processes import process_exists

_END_STATUSES = ("finished", "failed", "interrupted", "died")

# Statements built once, so SQLAlchemy's compiled cache serves every call.
_BUMP_RUN = {
    status: update(RUNS)
    .where(RUNS.c.id == bindparam("b_run_id"), RUNS.c.status == "running")
    .values({status: RUNS.c[status] + 1})
    for status in ("finished", "failed", "skipped")
}
_UPDATE_TASK = (
    update(TASKS)
    .where(TASKS.c.id == bindparam("b_task_id"))
    .values(
        attempts=TASKS.c.attempts + 1,
        device_seconds=TASKS.c.device_seconds + bindparam("b_seconds"),
    )
)
_DELETE_OUTPUTS = delete(OUTPUTS).where(OUTPUTS.c.task_id == bindparam("b_task_id"))
_INSERT_TASK = insert(TASKS)
_INSERT_OUTPUTS = insert(OUTPUTS)
_INSERT_COSTS = insert(COSTS)
_INSERT_STAGES = insert(STAGES)
_MARKERS = select(
    select(func.count()).select_from(TASKS).scalar_subquery(),
    select(func.max(TASKS.c.recorded_utc)).scalar_subquery(),
    select(func.count()).select_from(OUTPUTS).scalar_subquery(),
    select(func.max(OUTPUTS.c.id)).scalar_subquery(),
    select(func.max(COSTS.c.id)).scalar_subquery(),
    select(func.count()).select_from(DECISIONS).scalar_subquery(),
    select(func.max(DECISIONS.c.id)).scalar_subquery(),
)


def utc_now() -> str:
    """The current time as ISO 8601 UTC with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Ledger:
    """The record of every run, task, output file and cost, in one SQL database."""

    def __init__(self, engine: Engine) -> None:
        """Wrap an engine whose database is already migrated; use :meth:`open`."""
        self.engine = engine

    @classmethod
    def open(cls, url: str | Path | None = None, *, create: bool = True) -> Ledger:
        """Open a ledger: None = $LTXFLOW_LEDGER or ./ltxflow-ledger.db, a path = a SQLite file, a string with
        "://" = any SQLAlchemy URL. Applies pending migrations. Without `create`, a SQLite file that does not
        exist is a LedgerError instead of a new empty ledger (for commands that only read)."""
        missing = None if create else db.missing_sqlite_file(url)
        if missing is not None:
            raise LedgerError(f"no ledger at {missing}: nothing was recorded there yet (run a campaign, or pass "
                              f"--ledger or set ${db.LEDGER_ENV} to the ledger it wrote)")  # fmt: skip
        engine = db.connect(url)
        try:
            with db.write_transaction(engine) as conn:
                apply_migrations(conn)
        except Exception:
            engine.dispose()
            raise
        return cls(engine)

    @classmethod
    def open_existing(cls, url: str | Path | None = None) -> Ledger | None:
        """The ledger at `url` (the location rule when None), or None when its SQLite file does not exist yet."""
        return None if db.missing_sqlite_file(url) is not None else cls.open(url)

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()

    @property
    def location(self) -> str:
        """Where the ledger is: the SQLite file, or the database URL with its password hidden."""
        url = self.engine.url
        if url.get_backend_name() == "sqlite":
            return url.database or ":memory:"
        return url.render_as_string(hide_password=True)

    @property
    def shared(self) -> bool:
        """Whether other processes can open this ledger (everything but an in-memory SQLite database)."""
        url = self.engine.url
        return not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ── Runs ────────────────────────────────────────────────────────────────────────────────────

    def start_run(self, campaign: str, command: str, planned_tasks: int, skipped: int = 0) -> str:
        """Record a run that starts now; `skipped` of its `planned_tasks` were already finished."""
        if planned_tasks < 0 or not 0 <= skipped <= planned_tasks:
            raise LedgerError(f"start_run: bad counts planned_tasks={planned_tasks} skipped={skipped}")
        run_id = new_ulid()
        with db.write_transaction(self.engine) as conn:
            run = RunRecord(id=run_id, campaign=campaign, command=command, status="running", planned_tasks=planned_tasks,
                            finished=0, failed=0, skipped=skipped, started_utc=utc_now(), host=socket.gethostname(),
                            pid=os.getpid())  # fmt: skip
            conn.execute(insert(RUNS).values(run.model_dump()))
        return run_id

    def finish_run(self, run_id: str, status: RunStatus) -> RunRecord:
        """Close a run with its final status and return it with its counts."""
        if status not in _END_STATUSES:
            raise LedgerError(f"finish_run: status must be one of {', '.join(_END_STATUSES)}, got {status!r}")
        now = datetime.now(UTC)
        with db.write_transaction(self.engine) as conn:
            started = conn.execute(select(RUNS.c.started_utc).where(RUNS.c.id == run_id)).scalar()
            if started is None:
                raise LedgerError(f"finish_run: unknown run id {run_id!r}")
            elapsed_ms = int((now - datetime.fromisoformat(started)).total_seconds() * 1000)
            conn.execute(
                update(RUNS)
                .where(RUNS.c.id == run_id)
                .values(status=status, finished_utc=now.isoformat(timespec="microseconds"), duration_ms=elapsed_ms)
            )
            return _run_record(conn, run_id)

    def mark_dead_runs(self) -> list[RunRecord]:
        """Mark `died` every run still `running` whose process, on this host, no longer exists (a kill -9, a
        crash, a power cut), and drop its claims; return those runs. Runs of other hosts are left alone."""
        host, now = socket.gethostname(), datetime.now(UTC)
        with db.write_transaction(self.engine) as conn:
            query = select(RUNS).where(RUNS.c.status == "running", RUNS.c.host == host, RUNS.c.pid != os.getpid())
            dead = [r for r in (RunRecord.model_validate(row) for row in conn.execute(query).mappings())
                    if r.pid is not None and not process_exists(r.pid)]  # fmt: skip
            for r in dead:
                elapsed_ms = int((now - datetime.fromisoformat(r.started_utc)).total_seconds() * 1000)
                conn.execute(update(RUNS).where(RUNS.c.id == r.id).values(
                    status="died", finished_utc=now.isoformat(timespec="microseconds"), duration_ms=elapsed_ms))  # fmt: skip
                conn.execute(delete(CLAIMS).where(CLAIMS.c.run_id == r.id))
            return [_run_record(conn, r.id) for r in dead]

    def run(self, run_id: str) -> RunRecord:
        """One run by id."""
        with db.read_transaction(self.engine) as conn:
            return _run_record(conn, run_id)

    def runs(self, campaign: str | None = None) -> list[RunRecord]:
        """Every run (of one campaign), oldest first."""
        query = select(RUNS).order_by(RUNS.c.id)
        if campaign is not None:
            query = query.where(RUNS.c.campaign == campaign)
        with db.read_transaction(self.engine) as conn:
            return [RunRecord.model_validate(row) for row in conn.execute(query).mappings()]

    # ── Tasks ───────────────────────────────────────────────────────────────────────────────────

    def finished_task_ids(self, campaign: str) -> set[str]:
        """Ids of the campaign's tasks whose latest attempt finished."""
        query = select(TASKS.c.id).where(TASKS.c.campaign == campaign, TASKS.c.status == "finished")
        with db.read_transaction(self.engine) as conn:
            return set(conn.execute(query).scalars())

    def record_task(
        self,
        run_id: str,
        task: TaskIn,
        outputs: Sequence[OutputIn],
        costs: Sequence[CostItem],
        usage: Usage,
        *,
        stages: Sequence[StageIn] = (),
        worker: Worker | None = None,
    ) -> None:
        """Record a finished task, its files, money lines and stage times in one transaction; with `worker`, the
        same transaction releases its claim (ClaimLost, and nothing is written, when the claim is not its own)."""
        for out in outputs:
            if out.task_id != task.id:
                raise LedgerError(f"record_task: output {out.path!r} belongs to task {out.task_id!r}, not {task.id!r}")
        now = utc_now()
        with db.write_transaction(self.engine) as conn:
            if worker is not None:
                _claims.release(conn, task.id, worker, required=True)
            _queue.mark(conn, task.id, "done", now)
            _bump_run(conn, run_id, "finished")
            _write_task(conn, run_id, task, "finished", None, None, usage, now)
            _write_outputs(conn, run_id, outputs, now)
            _write_costs(conn, run_id, task.id, costs, now)
            _write_stages(conn, run_id, task.id, stages, now)

    def record_failure(
        self,
        run_id: str,
        task: TaskIn,
        error: str,
        usage: Usage | None,
        costs: Sequence[CostItem] = (),
        *,
        traceback: str | None = None,
        stages: Sequence[StageIn] = (),
        worker: Worker | None = None,
    ) -> None:
        """Record a failed attempt (replacing the task's earlier files) with its one-line error, its traceback and
        stage times in one transaction; with `worker`, that transaction also releases its claim."""
        now = utc_now()
        with db.write_transaction(self.engine) as conn:
            if worker is not None:
                _claims.release(conn, task.id, worker, required=True)
            _queue.mark(conn, task.id, "failed", now)
            _bump_run(conn, run_id, "failed")
            _write_task(conn, run_id, task, "failed", error, traceback, usage, now)
            _write_costs(conn, run_id, task.id, costs, now)
            _write_stages(conn, run_id, task.id, stages, now)

    def count_skipped(self, run_id: str, n: int = 1) -> None:
        """Count `n` tasks another run finished while this one waited for them as skipped by this run."""
        with db.write_transaction(self.engine) as conn:
            for _ in range(n):
                _bump_run(conn, run_id, "skipped")

    # ── Claims (see claims.py) ──────────────────────────────────────────────────────────────────

    def claim(self, task_id: str, campaign: str, worker: Worker, lease_s: float = _claims.LEASE_S) -> _claims.Claim:
        """Claim a task for `worker` unless another live worker holds it."""
        with db.write_transaction(self.engine) as conn:
            return _claims.claim(conn, task_id, campaign, worker, lease_s, datetime.now(UTC))

    def renew_claim(self, task_id: str, worker: Worker, lease_s: float = _claims.LEASE_S) -> bool:
        """Extend our claim's lease; False when the claim is no longer ours."""
        with db.write_transaction(self.engine) as conn:
            return _claims.renew(conn, task_id, worker, lease_s, datetime.now(UTC))

    def release_claim(self, task_id: str, worker: Worker) -> None:
        """Give a claim up without recording anything (an interrupted or skipped task)."""
        with db.write_transaction(self.engine) as conn:
            _claims.release(conn, task_id, worker, required=False)

    def claims(self, campaign: str | None = None) -> list[ClaimRecord]:
        """The claims held now (of one campaign)."""
        query = select(CLAIMS).order_by(CLAIMS.c.claimed_utc)
        if campaign is not None:
            query = query.where(CLAIMS.c.campaign == campaign)
        with db.read_transaction(self.engine) as conn:
            return [ClaimRecord.model_validate(row) for row in conn.execute(query).mappings()]

    # ── The work queue (see queue.py) ───────────────────────────────────────────────────────────

    def enqueue(self, campaign: str, entries: Sequence[_queue.QueueEntry], *, path: str, out_dir: str,
                priority: int | None, default_priority: int = 0, budget: float | None = None,
                planned: Collection[str] | None = None) -> int:  # fmt: skip
        """Queue a plan's tasks (idempotent: same task id, same row); return how many wait."""
        with db.write_transaction(self.engine) as conn:
            return _queue.enqueue(conn, campaign, entries, path=path, out_dir=out_dir, priority=priority,
                                  default_priority=default_priority, budget=budget, now=utc_now(), planned=planned)  # fmt: skip

    def claim_next(self, seat: _queue.Seat, lease_s: float, *, runs: Mapping[str, str],
                   campaigns: Collection[str] | None = None, task_ids: Collection[str] | None = None,
                   skip: Collection[str] = (), skip_campaigns: Collection[str] = (),
                   portable_only: bool = False) -> _queue.Claimed | _queue.Nothing:  # fmt: skip
        """Claim the next queued task for `seat` in one transaction (see queue.claim_next)."""
        with db.write_transaction(self.engine) as conn:
            return _queue.claim_next(conn, seat, lease_s, datetime.now(UTC), runs=runs, campaigns=campaigns,
                                     task_ids=task_ids, skip=skip, skip_campaigns=skip_campaigns,
                                     portable_only=portable_only)  # fmt: skip

    def set_queue_state(self, campaign: str, state: _queue.CampaignState) -> None:
        """Pause, resume (active) or cancel a queued campaign."""
        with db.write_transaction(self.engine) as conn:
            _queue.set_state(conn, campaign, state, utc_now())

    def queued_campaign(self, campaign: str) -> _queue.QueuedCampaignRecord | None:
        """One queued campaign, or None."""
        return next((c for c in self.queue_campaigns() if c.campaign == campaign), None)

    def queue_campaigns(self) -> list[_queue.QueuedCampaignRecord]:
        """Every queued campaign, highest priority first."""
        with db.read_transaction(self.engine) as conn:
            return _queue.campaigns(conn)

    def queue_counts(self) -> list[_queue.CampaignCounts]:
        """Each queued campaign with its waiting, running, done and failed tasks."""
        with db.read_transaction(self.engine) as conn:
            return _queue.counts(conn, utc_now())

    def queue_tasks(self, campaign: str | None = None) -> list[_queue.TaskLine]:
        """Every queued task (of one campaign): state, where it runs and since when."""
        with db.read_transaction(self.engine) as conn:
            return _queue.task_lines(conn, utc_now(), campaign)

    # ── The current plan ────────────────────────────────────────────────────────────────────────

    def set_current(self, campaign: str, task_ids: Sequence[str]) -> None:
        """Make `task_ids` (in plan order) the campaign's current tasks."""
        with db.write_transaction(self.engine) as conn:
            conn.execute(delete(CURRENT).where(CURRENT.c.campaign == campaign))
            if task_ids:
                rows = [{"campaign": campaign, "position": i, "task_id": t} for i, t in enumerate(task_ids)]
                conn.execute(insert(CURRENT), rows)

    def current_task_ids(self, campaign: str) -> list[str]:
        """The campaign's current tasks in plan order ([] before its first run)."""
        query = select(CURRENT.c.task_id).where(CURRENT.c.campaign == campaign).order_by(CURRENT.c.position)
        with db.read_transaction(self.engine) as conn:
            return list(conn.execute(query).scalars())

    # ── Reading ─────────────────────────────────────────────────────────────────────────────────

    def spent(self, campaign: str) -> float:
        """USD actually spent on the campaign so far (every attempt's "actual" cost lines)."""
        query = (
            select(func.coalesce(func.sum(COSTS.c.amount), 0.0))
            .select_from(COSTS.join(TASKS, COSTS.c.task_id == TASKS.c.id))
            .where(TASKS.c.campaign == campaign, COSTS.c.kind == "actual", COSTS.c.currency == CURRENCY)
        )
        with db.read_transaction(self.engine) as conn:
            return float(conn.execute(query).scalar_one())

    def outputs(self, campaign: str | None = None) -> list[OutputRecord]:
        """Recorded files (of one campaign), by campaign, variant, seed, platform."""
        with db.read_transaction(self.engine) as conn:
            return summary.output_records(conn, campaign)

    def task_status(self, task_id: str) -> str | None:
        """"finished" or "failed" (the latest attempt), None for a task never recorded."""
        with db.read_transaction(self.engine) as conn:
            return conn.execute(select(TASKS.c.status).where(TASKS.c.id == task_id)).scalar()

    def task_outputs(self, task_id: str) -> list[OutputRecord]:
        """The recorded files of one task (an indexed lookup: cheap per task)."""
        with db.read_transaction(self.engine) as conn:
            return summary.output_records(conn, None, task_id=task_id)

    def task_failure(self, task_id: str) -> tuple[str, str | None] | None:
        """(error, traceback) of a task whose latest attempt failed, else None."""
        query = select(TASKS.c.error, TASKS.c.traceback).where(TASKS.c.id == task_id, TASKS.c.status == "failed")
        with db.read_transaction(self.engine) as conn:
            row = conn.execute(query).first()
        return None if row is None else (row[0], row[1])

    def task_money(self, campaign: str) -> dict[str, float]:
        """USD actually spent per task id of the campaign (every attempt)."""
        with db.read_transaction(self.engine) as conn:
            return {task_id: t.money for task_id, t in summary.task_totals(conn, campaign).items()}

    def stages(self, campaign: str | None = None) -> list[StageRecord]:
        """Seconds per stage, summed per campaign and stage over every attempt."""
        with db.read_transaction(self.engine) as conn:
            return summary.stage_totals(conn, campaign)

    def summary(
        self, by: SummaryBy, campaign: str | None = None, task_ids: Collection[str] | None = None
    ) -> list[SummaryRow]:
        """Counts, device seconds, money and the API comparison range per campaign, variant or platform
        (of the tasks in `task_ids` only, when given)."""
        with db.read_transaction(self.engine) as conn:
            return summary.summarise(conn, by, campaign, task_ids)

    def export_csv(self, path: Path, campaign: str | None = None, task_ids: Collection[str] | None = None) -> Path:
        """Write one CSV row per output file (of the tasks in `task_ids` only, when given) atomically; return the path."""
        with db.read_transaction(self.engine) as conn:
            return export.write_csv(conn, Path(path), campaign, task_ids)

    def tasks(self, campaign: str, variant_id: str | None = None) -> list[TaskRecord]:
        """The campaign's recorded tasks (of one variant), oldest attempt first."""
        query = select(TASKS).where(TASKS.c.campaign == campaign).order_by(TASKS.c.recorded_utc, TASKS.c.id)
        if variant_id is not None:
            query = query.where(TASKS.c.variant_id == variant_id)
        with db.read_transaction(self.engine) as conn:
            return [TaskRecord.model_validate(row) for row in conn.execute(query).mappings()]

    def output(self, output_id: int) -> OutputRecord | None:
        """One recorded file by its row id, or None."""
        with db.read_transaction(self.engine) as conn:
            return summary.output_record(conn, output_id)

    def task_totals(self, campaign: str) -> dict[str, summary.TaskTotals]:
        """Per task id of the campaign: status, device seconds and USD over all attempts."""
        with db.read_transaction(self.engine) as conn:
            return summary.task_totals(conn, campaign)

    # ── Review decisions ────────────────────────────────────────────────────────────────────────

    def record_decision(self, decision: DecisionIn) -> DecisionRecord:
        """Append a reviewer's decision on a task (one transaction) and return it as recorded."""
        with db.write_transaction(self.engine) as conn:
            return decisions.insert_decision(conn, decision, utc_now())

    def decisions(
        self, campaign: str | None = None, task_ids: Collection[str] | None = None, after_id: int | None = None
    ) -> list[DecisionRecord]:
        """Recorded decisions (of one campaign, of some tasks, with an id above `after_id`), oldest first."""
        with db.read_transaction(self.engine) as conn:
            return decisions.decision_records(conn, campaign, task_ids, after_id)

    def change_markers(self) -> tuple[tuple[object, ...], tuple[object, ...]]:
        """Two cheap markers for readers that cache: the first changes whenever a task, file or cost is recorded
        or removed, the second whenever a decision is (counts and the newest id or time of each table)."""
        with db.read_transaction(self.engine) as conn:
            row = conn.execute(_MARKERS).one()
        return tuple(row[:5]), tuple(row[5:])

    def review_states(
        self, campaign: str | None = None, task_ids: Collection[str] | None = None
    ) -> dict[str, decisions.ReviewState]:
        """Task id -> its review state, for every task with at least one decision."""
        return decisions.states(self.decisions(campaign, task_ids))

    def task_ids_by_decision(self, wanted: decisions.DecisionFilter, campaign: str | None = None) -> set[str]:
        """Ids of the recorded tasks (of one campaign) whose review state passes `wanted` ("approved" includes
        winners, "undecided" includes tasks nobody decided on)."""
        query = select(TASKS.c.id)
        if campaign is not None:
            query = query.where(TASKS.c.campaign == campaign)
        with db.read_transaction(self.engine) as conn:
            ids = set(conn.execute(query).scalars())
            found = decisions.states(decisions.decision_records(conn, campaign))
        return {i for i in ids if found.get(i, decisions.ReviewState(i)).matches(wanted)}


# ── Writing helpers (each runs inside the caller's transaction) ────────────────────────────────


def _bump_run(conn: Connection, run_id: str, status: str) -> None:
    """Count one task in the run; refuse unknown or already-closed runs."""
    if conn.execute(_BUMP_RUN[status], {"b_run_id": run_id}).rowcount == 1:
        return
    found = conn.execute(select(RUNS.c.status).where(RUNS.c.id == run_id)).scalar()
    if found is None:
        raise LedgerError(f"unknown run id {run_id!r}")
    raise LedgerError(f"run {run_id} is {found}; start a new run to record tasks")


def _write_task(conn: Connection, run_id: str, task: TaskIn, status: str, error: str | None, traceback: str | None,
                usage: Usage | None, now: str) -> None:  # fmt: skip
    """Insert the task row, or overwrite it with this attempt and drop the previous attempt's files."""
    values = task.model_dump(exclude={"id"})
    values.update(run_id=run_id, status=status, error=error, traceback=traceback,
                  device=usage.device if usage else None, recorded_utc=now)  # fmt: skip
    seconds = usage.device_seconds if usage else 0.0
    # Keys that name columns become the SET clause of the cached UPDATE statement.
    updated = conn.execute(_UPDATE_TASK, dict(values, b_task_id=task.id, b_seconds=seconds))
    if updated.rowcount == 0:
        conn.execute(_INSERT_TASK, dict(values, id=task.id, attempts=1, device_seconds=seconds))
    else:
        conn.execute(_DELETE_OUTPUTS, {"b_task_id": task.id})


def _write_outputs(conn: Connection, run_id: str, outputs: Sequence[OutputIn], now: str) -> None:
    """Insert the attempt's files."""
    if outputs:
        conn.execute(_INSERT_OUTPUTS, [dict(o.model_dump(), run_id=run_id, recorded_utc=now) for o in outputs])


def _write_costs(conn: Connection, run_id: str, task_id: str, costs: Sequence[CostItem], now: str) -> None:
    """Insert the attempt's money lines (a CostItem's fields are the money columns: schema_check keeps it so)."""
    if costs:
        rows = [dict(asdict(c), task_id=task_id, run_id=run_id, recorded_utc=now) for c in costs]
        conn.execute(_INSERT_COSTS, rows)


def _write_stages(conn: Connection, run_id: str, task_id: str, stages: Sequence[StageIn], now: str) -> None:
    """Insert the attempt's stage times."""
    if stages:
        rows = [dict(st.model_dump(), task_id=task_id, run_id=run_id, recorded_utc=now) for st in stages]
        conn.execute(_INSERT_STAGES, rows)


# ── Reading helpers ─────────────────────────────────────────────────────────────────────────────


def _run_record(conn: Connection, run_id: str) -> RunRecord:
    """The run row as a record, or a clear error."""
    row = conn.execute(select(RUNS).where(RUNS.c.id == run_id)).mappings().first()
    if row is None:
        raise LedgerError(f"unknown run id {run_id!r}")
    return RunRecord.model_validate(row)
