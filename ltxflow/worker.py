"""Workers: claim the next task from the ledger's queue, make it with the resident engine, record it, repeat.

One worker process per GPU (`ltxflow worker --device cuda:N`). The ledger is the source of truth: a worker holds one
claim at a time, renews its lease while it works and records the task in the transaction that releases the claim
(attempt.py). A worker that dies (kill -9, a lost machine) stops renewing; once the lease expires the next worker
takes the task over and first deletes the dead attempt's partial files. SIGTERM asks a worker to stop after its
current task; a second SIGTERM (or Ctrl-C) interrupts that task, removes its files and hands the claim back.

A worker plans a campaign it has not seen from the campaign.toml the queue names (cached for the worker's life),
and keeps its engine loaded while the tasks it claims share the engine's settings.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from ltxflow.attempt import CampaignWork, ResidentEngine, TASKS_DIR, attempt, forget, task_folder
from ltxflow.errors import Interrupted, LtxflowError
from ltxflow.ledger.claims import LEASE_S
from ltxflow.ledger.queue import Claimed, Seat
from ltxflow.ledger.store import Ledger
from ltxflow.plugins import get_plugin_manager
from ltxflow.storage import storage_errors
from ltxflow.tasks import safe_name

POLL_S = 0.5  # seconds between looks while other workers hold what is left
IDLE_POLL_S = 2.0  # seconds between looks at an empty queue (a worker without --until-idle)


@dataclass(frozen=True)
class WorkerResult:
    """What one worker did before it stopped."""

    finished: int  # tasks it generated and recorded
    failed: tuple[tuple[str, str], ...]  # (task stem, error) of each failure it recorded
    spec_failures: tuple[tuple[str, str], ...]  # (file name, problems) of each deliverable failing its spec
    budget_stops: tuple[tuple[str, str], ...]  # (campaign, why) campaigns whose budget stopped it
    runs: tuple[str, ...]  # the run ids its tasks were recorded under
    stopped: bool  # it stopped because it was asked to (SIGTERM), not because the queue was idle


class QueueWorker:
    """Claims and makes tasks until it is idle (with `until_idle`) or asked to stop."""

    def __init__(self, ledger: Ledger, seat: Seat, resident: ResidentEngine, *, lease_s: float = LEASE_S,
                 campaigns: Collection[str] | None = None, task_ids: Collection[str] | None = None,
                 works: dict[str, CampaignWork] | None = None, runs: dict[str, str] | None = None) -> None:  # fmt: skip
        self.ledger, self.seat, self.resident, self.lease_s = ledger, seat, resident, lease_s
        self.campaigns = None if campaigns is None else list(campaigns)
        self.task_ids = None if task_ids is None else list(task_ids)
        self.works: dict[str, CampaignWork] = dict(works or {})
        self.runs = {**(runs or {}), **{c: w.run_id for c, w in self.works.items()}}  # campaign -> run to record in
        self.given = set(self.runs)  # campaigns whose run the caller owns (and finishes)
        self.skip: set[str] = set()  # tasks this worker cannot make (no longer in the campaign's plan)
        self.unplannable: set[str] = set()  # campaigns whose campaign.toml does not plan here
        self.budget_stops: dict[str, str] = {}
        self.told: set[str] = set()
        self.orphans: set[str] = set()  # worker runs started for a claim this worker could not make

    def serve(self, *, until_idle: bool, stop: threading.Event, bar: tqdm) -> bool:
        """Work until idle (`until_idle`: nothing left that this worker could ever claim) or until `stop` is set;
        True when it stopped because of `stop`."""
        while not stop.is_set():
            got = self.ledger.claim_next(self.seat, self.lease_s, runs={**self.runs, **{c: w.run_id for c, w in self.works.items()}},
                                         campaigns=self.campaigns, task_ids=self.task_ids, skip=self.skip,
                                         skip_campaigns=self.unplannable, portable_only=True)  # fmt: skip
            if isinstance(got, Claimed):
                self._make(got, bar)
                continue
            self.budget_stops.update(got.budget_stops)
            if got.held == 0 and until_idle:
                return False
            if got.held:
                self._tell_waiting()
            stop.wait(min(POLL_S, self.lease_s / 4) if got.held else IDLE_POLL_S)
        return True

    def _make(self, got: Claimed, bar: tqdm) -> None:
        """Make one claimed task (or hand it back when this worker cannot plan it)."""
        work = self._work(got)
        task = work.tasks.get(got.task_id) if work is not None else None
        if work is None or task is None:  # the campaign no longer plans it here: leave it to whoever can
            self.ledger.release_claim(got.task_id, self.seat.worker(got.run_id))
            self.skip.add(got.task_id)
            if got.campaign not in self.works:
                self.orphans.add(got.run_id)
            return
        if got.taken_from is not None:  # the previous holder's lease expired mid-task: its files are partial
            forget(self.ledger, got.task_id, task_folder(work.out, got.task_id, got.taken_from.run_id))
            tqdm.write(f"took over: {task.stem()} from {got.taken_from.worker} (lease expired)")
        attempt(self.ledger, work, self.resident, task, self.lease_s, bar)
        bar.update(1)

    def _work(self, got: Claimed) -> CampaignWork | None:
        """The campaign's work: the caller's, or planned here from its campaign.toml (None when that fails)."""
        if got.campaign in self.works:
            return self.works[got.campaign]
        from ltxflow.attempt import export_settings
        from ltxflow.plan import plan_campaign, select
        from ltxflow.runner import sweep_dead_attempts

        queued = self.ledger.queued_campaign(got.campaign)
        try:
            if queued is None or not queued.campaign_path:
                raise LtxflowError(f"{got.campaign}: planned in memory only; its own run makes its tasks")
            plan = select(plan_campaign(Path(queued.campaign_path)), ledger=self.ledger)  # knows its re-exports
            export = export_settings(plan)
        except LtxflowError as exc:
            tqdm.write(f"skipped campaign {got.campaign}: {exc}")
            self.unplannable.add(got.campaign)
            return None
        out = Path(queued.out_dir) / safe_name(got.campaign)
        sweep_dead_attempts(out, self.ledger, got.campaign)
        work = CampaignWork(plan, out, got.run_id, self.seat.worker(got.run_id), export)
        self.works[got.campaign] = work
        return work

    def _tell_waiting(self) -> None:
        """Say once per task which other worker makes a task this worker waits for (a run's own tasks only)."""
        if self.task_ids is None:
            return
        mine = set(self.task_ids)
        for campaign in self.campaigns or ():
            for held in self.ledger.claims(campaign):
                if held.task_id in mine and held.task_id not in self.told and held.pid != self.seat.pid:
                    self.told.add(held.task_id)
                    stem = self.works[campaign].tasks[held.task_id].stem() if campaign in self.works else held.task_id
                    tqdm.write(f"waiting: {stem} is being made by {held.worker}")

    def finish(self, status: str) -> list[str]:
        """Close the runs this worker started (with `status`) and rebuild their campaigns' current views; their ids."""
        from ltxflow.report import rebuild_view

        hook = get_plugin_manager().hook
        closed = []
        for campaign, work in self.works.items():
            if campaign in self.given:
                continue
            final = "failed" if work.failed and status == "finished" else status
            hook.run_finished(run=self.ledger.finish_run(work.run_id, final))  # type: ignore[arg-type]
            if work.finished:
                rebuild_view(self.ledger, campaign, work.out, work.tasks)
            closed.append(work.run_id)
        for run_id in self.orphans:
            self.ledger.finish_run(run_id, status)  # type: ignore[arg-type]
        return closed


def run_worker(ledger: Ledger, *, device: str | None = None, until_idle: bool = False, lease_s: float = LEASE_S,
               campaigns: Collection[str] | None = None, task_ids: Collection[str] | None = None,
               runs: dict[str, str] | None = None, progress: bool = True,
               stop: threading.Event | None = None) -> WorkerResult:  # fmt: skip
    """`ltxflow worker`: claim and make tasks of every (or the named) queued campaign (of `task_ids` only, when
    given) until idle or stopped; `runs` (campaign -> run id) records them in runs the caller owns."""
    note_dead_runs(ledger)  # workers of this host whose process is gone: free their claims at once
    seat = Seat(socket.gethostname(), os.getpid(), device)
    resident = ResidentEngine(device)
    worker = QueueWorker(ledger, seat, resident, lease_s=lease_s, campaigns=campaigns, task_ids=task_ids, runs=runs)
    stop = stop or threading.Event()
    status, stopped = "interrupted", False
    try:
        with _sigterm_stops(stop), storage_errors(), tqdm(desc=f"worker {seat.host}/{seat.pid}", unit="task",
                                                          disable=not progress) as bar:  # a full disk: one line
            stopped = worker.serve(until_idle=until_idle, stop=stop, bar=bar)
        status = "finished"
    except Exception:
        status = "failed"  # the engine did not load, the ledger refused a write, or the disk is full
        raise
    finally:
        resident.close()
        closed = worker.finish(status)
    works = worker.works.values()
    return WorkerResult(sum(len(w.finished) for w in works), tuple(f for w in works for f in w.failed),
                        tuple(s for w in works for s in w.spec_failures), tuple(sorted(worker.budget_stops.items())),
                        tuple(closed), stopped)  # fmt: skip


def note_dead_runs(ledger: Ledger) -> None:
    """Mark the runs of this host whose process is gone as died (their claims freed), and say so."""
    for dead in ledger.mark_dead_runs():
        tqdm.write(f"note: run {dead.id} of {dead.campaign} died (process {dead.pid} is gone); marked it died")


@contextmanager
def _sigterm_stops(stop: threading.Event) -> Iterator[None]:
    """SIGTERM: stop after the current task; a second SIGTERM interrupts it (files removed, claim handed back)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise Interrupted(signum)  # the CLI exits 143 for it
        stop.set()
        tqdm.write("SIGTERM: stopping after the current task (send it again to hand the task back now)")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


__all__ = ["TASKS_DIR", "QueueWorker", "WorkerResult", "run_worker"]
