"""The runner: `ltxflow run` enqueues a campaign's pending tasks in the ledger's work queue, then works here (a
queue worker restricted to those tasks) until none of them waits; then the campaign's current view.

Files are content-addressed: a task's files live in `<out>/<campaign>/tasks/<task id>/<run id>/`, written
atomically and never touched by another task (nor by another run of the same task), so a reverted row finds its
earlier files. `<out>/<campaign>/current/`, `manifest.csv` and `contact_sheet.png` show the current plan only.

Several runs, and `ltxflow worker` processes, share the work through the queue (ledger/queue.py, worker.py): a
task is claimed before it is made and its lease renewed while it is; a task another live worker holds is waited
for and counted as skipped once that worker finished it. Finishing a task releases its claim in the same ledger
transaction that records it.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tqdm import tqdm

from ltxflow.attempt import TASKS_DIR, CampaignWork, ResidentEngine, export_settings, remove_attempt, task_folder
from ltxflow.campaign import Campaign
from ltxflow.clip_cache import CACHE_FOLDER
from ltxflow.enqueue import enqueue_plan
from ltxflow.errors import BudgetError, CampaignError, Interrupted
from ltxflow.export.atomic import sweep_partials
from ltxflow.ledger.claims import LEASE_S
from ltxflow.ledger.queue import Seat
from ltxflow.ledger.store import Ledger
from ltxflow.plan import Plan, plan_campaign, select
from ltxflow.plugins import engines, get_plugin_manager
from ltxflow.report import CURRENT_DIR, rebuild_view
from ltxflow.storage import storage_errors
from ltxflow.tasks import safe_name
from ltxflow.worker import QueueWorker, note_dead_runs

if TYPE_CHECKING:
    from ltxflow.ledger.models import RunRecord

Executor = Literal["local", "ray"]

__all__ = ["TASKS_DIR", "RunResult", "run_campaign", "sweep_dead_attempts", "task_folder"]


@dataclass(frozen=True)
class RunResult:
    """What a run did."""

    plan: Plan
    run: RunRecord | None  # None for a dry run
    finished: int  # tasks generated and recorded by this run
    failed: tuple[tuple[str, str], ...]  # (task stem, error) of each failed task
    budget_stop: str = ""  # why the run stopped early for the budget, "" if it did not
    manifest: Path | None = None
    contact_sheet: Path | None = None
    spec_failures: tuple[tuple[str, str], ...] = ()  # (file name, problems) of each deliverable failing its spec
    ledger: str = ""  # where the ledger is (a path, or a URL without its password)
    current: Path | None = None  # the current/ folder of readable names
    waited: int = 0  # tasks another run was making: waited for, then skipped

    @property
    def exit_code(self) -> int:
        """0 all done, 1 some task failed, the budget stopped the run, or a deliverable fails its platform's spec
        (unless the campaign allows spec failures)."""
        spec = bool(self.spec_failures) and not self.plan.campaign.allow_spec_failures
        return 1 if self.failed or self.budget_stop or spec else 0


def run_campaign(
    target: Campaign | Path | str,
    *,
    ledger: Ledger | Path | str | None,
    out_dir: Path | str,
    only: Iterable[str] = (),
    limit: int | None = None,
    dry_run: bool = False,
    device: str | None = None,
    progress: bool = True,
    lease_s: float = LEASE_S,
    executor: Executor = "local",
    ray_address: str | None = None,
    workers: int | None = None,
) -> RunResult:
    """Generate, export and record every pending task of a campaign; failures are recorded and skipped over.

    `ledger` is an open Ledger, or a URL/path/None (the default ledger) opened only once the campaign
    has validated, so bad input writes nothing. `executor` "ray" makes the tasks on Ray actors (farm.py: one per
    GPU of the cluster at `ray_address`, or `workers` of them) instead of in this process.
    """
    plan = plan_campaign(target, only=only, limit=limit)  # validates everything before the ledger is touched
    campaign = plan.campaign
    registered = engines()
    engine_name = campaign.generation.engine
    if engine_name not in registered and not dry_run:
        known = ", ".join(sorted(registered)) or "none registered"
        raise CampaignError(f"{campaign.path}: generation.engine: {engine_name!r} is not a registered engine (known: {known})")
    from_file = not isinstance(target, Campaign)
    if executor == "ray" and not from_file:
        raise CampaignError(f"{campaign.name}: --executor ray needs a campaign file (Ray's workers plan it from there)")
    ray = _Ray(ray_address, workers) if executor == "ray" else None
    if isinstance(ledger, Ledger):
        return _run(select(plan, ledger=ledger, only=only, limit=limit), ledger, out_dir, dry_run, device, progress,
                    lease_s, from_file, ray)  # fmt: skip
    with Ledger.open(ledger) as book:
        return _run(select(plan, ledger=book, only=only, limit=limit), book, out_dir, dry_run, device, progress, lease_s,
                    from_file, ray)  # fmt: skip


@dataclass(frozen=True)
class _Ray:
    """Where a Ray-executed run places its workers."""

    address: str | None
    workers: int | None


def _run(plan: Plan, ledger: Ledger, out_dir: Path | str, dry_run: bool, device: str | None, progress: bool,
         lease_s: float, from_file: bool, ray: _Ray | None) -> RunResult:  # fmt: skip
    """The run proper, on a plan that knows the ledger's finished tasks: enqueue, then work until none waits."""
    if dry_run:
        return RunResult(plan, None, 0, (), ledger=ledger.location)
    campaign = plan.campaign
    if plan.over_budget:
        raise BudgetError(f"{campaign.path}: budget: {plan.warnings[-1].removeprefix('budget: ')}")
    out = Path(out_dir).absolute() / safe_name(campaign.name)
    with _sigterm_as_interrupt(), storage_errors():  # the whole run, reports included; a full disk is one line
        return _work_and_report(plan, ledger, out, device, progress, lease_s, from_file, ray)


def _work_and_report(plan: Plan, ledger: Ledger, out: Path, device: str | None, progress: bool, lease_s: float,
                     from_file: bool, ray: _Ray | None) -> RunResult:  # fmt: skip
    """Sweep what dead runs left, enqueue and make every pending task, then rebuild the campaign's current view."""
    campaign = plan.campaign
    note_dead_runs(ledger)  # runs of this host whose process is gone: say so, free their tasks
    sweep_dead_attempts(out, ledger, campaign.name)
    for folder in (out, out / CURRENT_DIR, out / CACHE_FOLDER):  # reports and links a killed process left half-made
        sweep_partials(folder)
    skipped = sum(1 for t in plan.selected if t.id in plan.finished)
    export = export_settings(plan)  # a C2PA key that is required but unusable stops here, before any record
    run_id = ledger.start_run(campaign.name, "run", planned_tasks=skipped + len(plan.pending), skipped=skipped)
    ledger.set_current(campaign.name, [t.id for t in plan.tasks])
    enqueue_plan(ledger, plan, out.parent, from_file=from_file)
    seat = Seat(socket.gethostname(), os.getpid(), device)
    work = CampaignWork(plan, out, run_id, seat.worker(run_id), export)
    resident = ResidentEngine(device)
    pending = [t.id for t in plan.pending]
    worker = QueueWorker(ledger, seat, resident, lease_s=lease_s, campaigns=[campaign.name], task_ids=pending,
                         works={campaign.name: work})  # fmt: skip
    status, waited, made = "interrupted", 0, 0
    try:
        if ray is None:
            with tqdm(total=len(pending), desc=campaign.name, unit="task", disable=not progress) as bar:
                worker.serve(until_idle=True, stop=threading.Event(), bar=bar)
            made = len(work.finished)
        else:
            made = _on_ray(ledger, ray, work, pending, worker, lease_s)
        # tasks of this run that another run or worker made meanwhile: waited for, counted as skipped here
        done = {t.task_id for t in ledger.queue_tasks(campaign.name) if t.state == "done"}
        waited = len(done.intersection(pending)) - made
        ledger.count_skipped(run_id, waited)
        status = "failed" if work.failed else "finished"
    except Exception:
        status = "failed"  # the engine did not load, the ledger refused a write, or the disk is full
        raise
    finally:
        resident.close()
        record = ledger.finish_run(run_id, status)  # type: ignore[arg-type]
        get_plugin_manager().hook.run_finished(run=record)
    view = rebuild_view(ledger, campaign.name, out, {t.id: t for t in plan.tasks})
    return RunResult(plan, record, made, tuple(work.failed), worker.budget_stops.get(campaign.name, ""),
                     view.manifest, view.contact_sheet, spec_failures=tuple(work.spec_failures),
                     ledger=ledger.location, current=view.folder, waited=waited)  # fmt: skip


def _on_ray(ledger: Ledger, ray: _Ray, work: CampaignWork, pending: list[str], worker: QueueWorker,
            lease_s: float) -> int:  # fmt: skip
    """Make the run's pending tasks on Ray actors, recorded in this run; how many they made."""
    from ltxflow.farm import work_on_ray

    url = ledger.engine.url.render_as_string(hide_password=False)  # the actors open the same database
    farm = work_on_ray(url, address=ray.address, workers=ray.workers, campaigns=[work.plan.campaign.name],
                       task_ids=pending, runs={work.plan.campaign.name: work.run_id}, lease_s=lease_s)  # fmt: skip
    work.failed.extend(farm.failed)
    work.spec_failures.extend(farm.spec_failures)
    worker.budget_stops.update(farm.budget_stops)
    return farm.finished


def sweep_dead_attempts(out: Path, ledger: Ledger, campaign: str) -> list[Path]:
    """Remove the attempt folders (`tasks/<task id>/<run id>/`) that a run which has ended left unrecorded: the
    partial files of a run that was killed mid-task. Folders of running runs and recorded files stay."""
    tasks = out / TASKS_DIR
    if not tasks.is_dir():
        return []
    ended = {r.id for r in ledger.runs(campaign) if r.status != "running"}
    recorded = {Path(o.path).parent for o in ledger.outputs(campaign)}
    swept = [a for a in sorted(tasks.glob("*/*")) if a.is_dir() and a.name in ended and a not in recorded]
    for attempt in swept:
        remove_attempt(attempt)
    return swept


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM (a polite kill) into KeyboardInterrupt (Interrupted) so the current task or report is cleaned
    up; Ctrl-C is Python's own KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
