"""A crash in the middle of recording a task leaves no trace of it: one transaction per task."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3

import pytest

from ltxflow.costs import Usage
from ltxflow.ledger import Ledger, store

USAGE = Usage(device="cpu", device_seconds=2.0)


def _counts(path) -> tuple[int, int, int, int]:
    with sqlite3.connect(path) as conn:
        return tuple(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("tasks", "outputs", "costs", "runs"))


def test_exception_after_the_task_row_rolls_everything_back(ledger, make_task, make_outputs, tmp_path, monkeypatch):
    run = ledger.start_run("spring", "run", 1)
    task = make_task()
    written = []
    real_write_task = store._write_task

    def write_task_then_note(*args):
        real_write_task(*args)
        written.append(ledger_row_count(args[0]))

    def ledger_row_count(conn) -> int:
        return conn.exec_driver_sql("SELECT COUNT(*) FROM tasks").scalar()

    def crash(*args):
        raise RuntimeError("killed mid-record")

    monkeypatch.setattr(store, "_write_task", write_task_then_note)
    monkeypatch.setattr(store, "_write_outputs", crash)
    with pytest.raises(RuntimeError, match="killed mid-record"):
        ledger.record_task(run, task, make_outputs(task), [], USAGE)

    assert written == [1]  # the task row was in the transaction when the crash came
    assert _counts(tmp_path / "ledger.db") == (0, 0, 0, 1)
    assert ledger.finished_task_ids("spring") == set()
    assert ledger.run(run).finished == 0
    monkeypatch.undo()
    ledger.record_task(run, task, make_outputs(task), [], USAGE)  # the next attempt records normally
    assert ledger.finished_task_ids("spring") == {task.task_id}


def _die_after_task_row(path: str, run_id: str, task, outputs) -> None:
    """Child process: start recording, then vanish (no cleanup, no rollback) after the task row."""

    def hard_exit(*args):
        os._exit(17)

    store._write_outputs = hard_exit
    Ledger.open(path).record_task(run_id, task, outputs, [], USAGE)


def test_killed_process_mid_record_leaves_no_task_row(tmp_path, make_task, make_outputs):
    path = tmp_path / "ledger.db"
    with Ledger.open(path) as ledger:
        run = ledger.start_run("spring", "run", 1)
    task = make_task()
    child = multiprocessing.get_context("fork").Process(
        target=_die_after_task_row, args=(str(path), run, task, make_outputs(task))
    )
    child.start()
    child.join(30)
    assert child.exitcode == 17

    assert _counts(path) == (0, 0, 0, 1)
    with Ledger.open(path) as ledger:  # and the ledger is still writable: the lock died with the process
        assert ledger.finished_task_ids("spring") == set()
        ledger.record_task(run, task, make_outputs(task), [], USAGE)
        assert ledger.finished_task_ids("spring") == {task.task_id}
