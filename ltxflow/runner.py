"""The runner: pending tasks through one resident engine, exported per platform, recorded task by task."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from ltxflow.campaign import Campaign
from ltxflow.conditioning_files import check_task_inputs
from ltxflow.costs import CostItem, Usage
from ltxflow.engines import Engine, EngineSettings
from ltxflow.errors import BudgetError, CampaignError
from ltxflow.ledger.store import Ledger
from ltxflow.plan import Plan, plan_campaign, select
from ltxflow.plugins import engines, get_plugin_manager
from ltxflow.report import write_contact_sheet, write_manifest_csv
from ltxflow.tasks import Task, safe_name

if TYPE_CHECKING:
    from ltxflow.ledger.models import OutputIn, RunRecord, TaskIn

MANIFEST_NAME = "manifest.csv"
CONTACT_SHEET_NAME = "contact_sheet.png"


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
) -> RunResult:
    """Generate, export and record every pending task of a campaign; failures are recorded and skipped over.

    `ledger` is an open Ledger, or a URL/path/None (the default ledger) opened only once the campaign
    has validated, so bad input writes nothing.
    """
    plan = plan_campaign(target, only=only, limit=limit)  # validates everything before the ledger is touched
    campaign = plan.campaign
    registered = engines()
    engine_name = campaign.generation.engine
    if engine_name not in registered and not dry_run:
        known = ", ".join(sorted(registered)) or "none registered"
        raise CampaignError(f"{campaign.path}: generation.engine: {engine_name!r} is not a registered engine (known: {known})")
    if isinstance(ledger, Ledger):
        return _run(select(plan, ledger=ledger, only=only, limit=limit), ledger, out_dir, dry_run, device, progress)
    with Ledger.open(ledger) as book:
        return _run(select(plan, ledger=book, only=only, limit=limit), book, out_dir, dry_run, device, progress)


def _run(plan: Plan, ledger: Ledger, out_dir: Path | str, dry_run: bool, device: str | None, progress: bool) -> RunResult:
    """The run proper, on a plan that knows the ledger's finished tasks."""
    if dry_run:
        return RunResult(plan, None, 0, ())
    campaign = plan.campaign
    registered = engines()
    engine_name = campaign.generation.engine
    if plan.over_budget:
        raise BudgetError(f"{campaign.path}: budget: {plan.warnings[-1].removeprefix('budget: ')}")
    out = Path(out_dir).absolute() / safe_name(campaign.name)
    skipped = sum(1 for t in plan.selected if t.id in plan.finished)
    run_id = ledger.start_run(campaign.name, "run", planned_tasks=skipped + len(plan.pending), skipped=skipped)
    state = _RunState(plan, ledger, run_id, out)
    status = "interrupted"
    engine: Engine | None = None
    try:
        with _sigterm_as_interrupt():
            if plan.pending:
                settings = EngineSettings(campaign.generation.checkpoint, device or campaign.generation.device,
                                          campaign.generation.dtype)  # fmt: skip
                engine = registered[engine_name].item(settings)
                out.mkdir(parents=True, exist_ok=True)
            with tqdm(total=len(plan.pending), desc=campaign.name, unit="task", disable=not progress) as bar:
                for task in plan.pending:
                    if not state.budget_allows():
                        break
                    state.run_task(engine, task, bar)  # type: ignore[arg-type]
                    bar.update(1)
        status = "failed" if state.failed else "finished"
    except Exception:
        status = "failed"  # the engine did not load, or the ledger refused a write
        raise
    finally:
        if engine is not None:
            engine.close()
        record = ledger.finish_run(run_id, status)  # type: ignore[arg-type]
        get_plugin_manager().hook.run_finished(run=record)
    manifest = sheet = None
    if state.finished:
        manifest = write_manifest_csv(ledger, campaign.name, out / MANIFEST_NAME, {t.id: t for t in plan.tasks})
        sheet = write_contact_sheet(ledger, campaign.name, out / CONTACT_SHEET_NAME)
    return RunResult(plan, record, state.finished, tuple(state.failed), state.budget_stop, manifest, sheet,
                     tuple(state.spec_failures))  # fmt: skip


class _RunState:
    """Counters and the per-task work of one run."""

    def __init__(self, plan: Plan, ledger: Ledger, run_id: str, out: Path) -> None:
        self.plan, self.ledger, self.run_id, self.out = plan, ledger, run_id, out
        self.finished = 0
        self.failed: list[tuple[str, str]] = []
        self.spec_failures: list[tuple[str, str]] = []
        self.spent = plan.spent
        self.budget_stop = ""
        self.hook = get_plugin_manager().hook

    def budget_allows(self) -> bool:
        """False (and say why) when the next task's estimate would push spending past the budget."""
        budget = self.plan.campaign.budget
        if budget is None or self.spent + self.plan.estimate.money <= budget + 1e-12:
            return True
        self.budget_stop = f"stopped: ${self.spent:.2f} spent + ~${self.plan.estimate.money:.4f} would exceed the ${budget:.2f} budget"
        return False

    def run_task(self, engine: Engine, task: Task, bar: tqdm) -> None:
        """Generate, export and record one task; on an error record the failure, on an interrupt clean up."""
        from ltxflow.export import deliver_many, write_wav
        from ltxflow.export.cover import cover_frame
        from ltxflow.ledger.models import OutputIn
        from ltxflow.soundtrack import generate_clip

        written: list[Path] = []
        recorded = False
        started = time.perf_counter()
        task_in = _task_in(task)

        def on_step(done: int, total: int) -> None:
            bar.set_postfix_str(f"{task.variant_id} s{task.seed} step {done}/{total}", refresh=True)

        try:
            check_task_inputs(task)  # a missing or empty conditioning file fails this task alone, before the engine
            clip = generate_clip(engine, task, on_step)  # the brand audio placed on the clip, if it has one
            usage = Usage(engine.device_name, time.perf_counter() - started, 1)
            outputs: list[OutputIn] = []
            if clip.audio is not None:
                master = write_wav(clip, self.out / f"{task.stem()}.wav")
                written.append(Path(master.path))
                outputs.append(_output_in(task.id, "", master))
            presets = {platform: self.plan.presets[platform] for platform in task.platforms}
            delivered = deliver_many(clip, presets, self.out, task.stem, cover_frame=cover_frame(clip, task.cover))
            for platform, items in delivered.items():  # one encode per master
                for item in items:
                    written.append(Path(item.path))
                    outputs.append(_output_in(task.id, platform, item))
            spec = [(Path(i.path).name, "; ".join(i.spec_problems)) for items in delivered.values() for i in items
                    if not i.spec_ok]  # fmt: skip
            costs = self._costs(task, usage)
            self.ledger.record_task(self.run_id, task_in, outputs, costs, usage)
            recorded = True
            self.finished += 1
            self.spec_failures.extend(spec)
            self.spent += _actual(costs)
            if self.hook.task_finished.get_hookimpls():
                mine = [o for o in self.ledger.outputs(task.campaign) if o.task_id == task.id]
                self.hook.task_finished(task=task, outputs=mine)
        except Exception as exc:
            if recorded:
                raise  # a notification plugin failed after the task was safely recorded
            _remove(written)
            error = f"{type(exc).__name__}: {exc}"
            usage = Usage(getattr(engine, "device_name", "unknown"), time.perf_counter() - started, 0)
            costs = self._costs(task, usage)
            self.ledger.record_failure(self.run_id, task_in, error, usage, costs)
            self.spent += _actual(costs)
            self.failed.append((task.stem(), error))
            tqdm.write(f"failed: {task.stem()}: {error}")
        except BaseException:
            if not recorded:
                _remove(written)
            raise

    def _costs(self, task: Task, usage: Usage) -> list[CostItem]:
        """Every plugin's money lines for the task."""
        return [item for items in self.hook.cost_items(task=task, usage=usage) for item in items]


def _actual(costs: list[CostItem]) -> float:
    return sum(c.amount for c in costs if c.kind == "actual")


def _task_in(task: Task) -> TaskIn:
    from ltxflow.ledger.models import TaskIn

    return TaskIn(id=task.id, campaign=task.campaign, variant_id=task.variant_id, seed=task.seed, prompt=task.prompt,
                  negative_prompt=task.negative_prompt, settings_json=task.settings_json(), engine=task.engine,
                  checkpoint=task.checkpoint_id)  # fmt: skip


def _output_in(task_id: str, platform: str, item: Any) -> OutputIn:
    """A ledger row for one export deliverable."""
    from ltxflow.ledger.models import OutputIn

    problems = item.spec_problems
    problems = "; ".join(problems) if isinstance(problems, list | tuple) else str(problems or "")
    probe = dict(item.probe)
    if getattr(item, "warnings", ()):
        probe["warnings"] = list(item.warnings)  # what the exporter changed; the manifest's warnings column
    return OutputIn(task_id=task_id, platform=platform, kind=item.kind, path=str(item.path), sha256=item.sha256,
                    bytes=item.bytes, probe_json=json.dumps(probe, sort_keys=True, default=str),
                    spec_ok=bool(item.spec_ok), spec_problems=problems)  # fmt: skip


def _remove(paths: list[Path]) -> None:
    """Delete files of a task that did not finish."""
    for path in paths:
        path.unlink(missing_ok=True)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM (a polite kill) into KeyboardInterrupt so the current task is cleaned up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
