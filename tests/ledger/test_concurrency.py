"""Two processes recording into one SQLite ledger at the same time lose no rows."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from ltxflow.costs import DEFAULT_RATES, Usage, api_comparisons, device_cost
from ltxflow.ledger import Ledger, LedgerError, OutputIn, TaskIn, db
from ltxflow.ledger.migrations import MIGRATIONS

TASKS_PER_PROCESS = 50
PLATFORMS = ("reels", "shorts", "tiktok")


def _writer(path: str, name: str, start, failures) -> None:
    """Child process: one run of 50 tasks, each with 3 outputs and 4 cost lines."""
    ledger = Ledger.open(path)  # both children also race to apply the migrations
    start.wait()
    run = ledger.start_run("spring", "run", TASKS_PER_PROCESS)
    usage = Usage(device="cpu", device_seconds=1.0)
    costs = [device_cost(usage, DEFAULT_RATES), *api_comparisons(usage, DEFAULT_RATES)]
    try:
        for i in range(TASKS_PER_PROCESS):
            task = TaskIn(id=f"{name}-{i}", campaign="spring", variant_id=f"{name}-v{i}", seed=i, prompt="p",
                          negative_prompt="", settings_json="{}", engine="fake", checkpoint="tiny")
            outputs = [
                OutputIn(task_id=task.id, platform=p, kind="video", path=f"{name}/{i}-{p}.mp4", sha256="0" * 64, bytes=1,
                         probe_json="{}", spec_ok=True, spec_problems="")
                for p in PLATFORMS
            ]
            ledger.record_task(run, task, outputs, costs, usage)
        ledger.finish_run(run, "finished")
    except Exception as exc:  # reported to the parent, which fails the test
        failures.put(f"{name}: {exc!r}")
    finally:
        ledger.close()


def test_two_processes_writing_at_once_lose_no_rows(tmp_path):
    path = tmp_path / "ledger.db"
    ctx = multiprocessing.get_context("fork")
    start, failures = ctx.Event(), ctx.Queue()
    children = [ctx.Process(target=_writer, args=(str(path), name, start, failures)) for name in ("a", "b")]
    for child in children:
        child.start()
    start.set()
    for child in children:
        child.join(60)
    assert [c.exitcode for c in children] == [0, 0]
    assert failures.empty(), failures.get()

    with sqlite3.connect(path) as conn:
        count = lambda table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: E731
        assert count("tasks") == 2 * TASKS_PER_PROCESS
        assert count("outputs") == 2 * TASKS_PER_PROCESS * len(PLATFORMS)
        assert count("costs") == 2 * TASKS_PER_PROCESS * 4
        assert count("_ltxflow_migrations") == len(MIGRATIONS)  # each applied once, not once per process
    with Ledger.open(path) as ledger:
        runs = ledger.runs("spring")
        assert [(r.status, r.finished) for r in runs] == [("finished", TASKS_PER_PROCESS)] * 2
        assert len(ledger.finished_task_ids("spring")) == 2 * TASKS_PER_PROCESS


def test_a_write_transaction_holds_the_write_lock_from_its_start(ledger, tmp_path):
    """Writers begin IMMEDIATE: a second writer waits (busy timeout) instead of failing mid-transaction."""
    with db.write_transaction(ledger.engine):  # no statement run yet
        other = sqlite3.connect(tmp_path / "ledger.db", timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        assert other.execute("SELECT COUNT(*) FROM runs").fetchone() == (0,)  # readers are not blocked
        other.close()
    with db.read_transaction(ledger.engine):  # a reader takes no write lock
        other = sqlite3.connect(tmp_path / "ledger.db", timeout=0, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        other.close()


def test_a_ledger_locked_past_the_busy_timeout_is_a_one_line_error(tmp_path, monkeypatch):
    path = tmp_path / "ledger.db"
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)
    ledger = Ledger.open(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's long write transaction
    try:
        with pytest.raises(LedgerError, match=r"^ledger .*ledger\.db: locked by another process for over 0.2 s; "
                                              r"nothing was written, rerun when it finishes$"):
            ledger.start_run("spring", "run", 1)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert ledger.runs() == []  # nothing half-written
    ledger.start_run("spring", "run", 1)  # and the ledger works once the lock is gone
    assert len(ledger.runs()) == 1
    ledger.close()
