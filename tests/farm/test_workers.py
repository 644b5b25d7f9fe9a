"""Worker processes sharing one ledger, on SQLite and on PostgreSQL: every task made exactly once, a killed or frozen
worker's task finished by another with no partial file left, a budget that stops every worker, two runs at once."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections import Counter
from pathlib import Path

from ltxflow.enqueue import queue_campaign
from ltxflow.ledger.store import Ledger

from .conftest import finish, generated, make_campaign, new_database, start, worker_env

WORKER = ["worker", "--until-idle", "--no-progress"]


def _intact(book: Ledger, campaign: str, tasks: int) -> None:
    """Every task finished in one attempt, its files there with their recorded sha256, nothing left claimed."""
    records = book.tasks(campaign)
    assert len(records) == tasks and {t.status for t in records} == {"finished"} and {t.attempts for t in records} == {1}
    assert book.claims(campaign) == [] and {t.state for t in book.queue_tasks(campaign)} == {"done"}
    outputs = book.outputs(campaign)
    assert len(outputs) == tasks * 3  # shorts video, cover, preview (silent clips: no wav)
    for o in outputs:
        assert hashlib.sha256(Path(o.path).read_bytes()).hexdigest() == o.sha256


def _wait_for(path: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)
    return path.read_text()


def test_three_workers_on_two_campaigns_make_every_task_exactly_once(ledger_url, tmp_path):
    """Catches a claim that is not atomic (two workers making one task), a lost row, or a worker that stops while
    tasks still wait."""
    with Ledger.open(ledger_url) as book:
        queue_campaign(make_campaign(tmp_path, "spring", 3), book, tmp_path / "out")
        queue_campaign(make_campaign(tmp_path, "autumn", 3), book, tmp_path / "out")
    env = worker_env(tmp_path, ledger_url, SLOW_BARRIER="3")
    results = finish([start(tmp_path, WORKER, env) for _ in range(3)])
    assert [code for code, _ in results] == [0, 0, 0], results
    made = generated(tmp_path)
    assert len(made) == 6 and len({task for _, task, _ in made}) == 6  # no task made twice
    assert len({pid for pid, _, _ in made}) >= 2  # the barrier makes the workers overlap
    with Ledger.open(ledger_url) as book:
        _intact(book, "spring", 3)
        _intact(book, "autumn", 3)
        assert {r.command for r in book.runs()} == {"worker"} and all(r.status == "finished" for r in book.runs())


def _leave_a_hung_worker(tmp_path: Path, ledger_url: str) -> tuple[object, Path, dict[str, str]]:
    """Queue one task and start a worker that hangs in its export with a partial file written."""
    with Ledger.open(ledger_url) as book:
        queue_campaign(make_campaign(tmp_path, "spring", 1), book, tmp_path / "out")
    env = worker_env(tmp_path, ledger_url)
    hung = start(tmp_path, [*WORKER, "--lease", "1"], {**env, "SLOW_HANG": str(tmp_path / "hung")})
    try:
        folder = Path(_wait_for(tmp_path / "hung"))
        assert any(p.name.endswith(".partial.mp4") for p in folder.iterdir())
    except BaseException:
        hung.kill()
        hung.wait()
        raise
    return hung, folder, env


def test_a_sigkilled_worker_loses_its_task_to_another_with_no_partial_file(ledger_url, tmp_path):
    """Catches a kill -9 leaving its task claimed forever, or its half-written files left beside the new attempt."""
    hung, folder, env = _leave_a_hung_worker(tmp_path, ledger_url)
    hung.kill()  # SIGKILL
    hung.wait()
    (code, out), = finish([start(tmp_path, [*WORKER, "--lease", "1"], env)])
    assert code == 0 and "1 finished" in out, out
    assert not folder.exists()  # the dead attempt's folder, partial file and all
    with Ledger.open(ledger_url) as book:
        _intact(book, "spring", 1)
        assert len(list((tmp_path / "out" / "spring" / "tasks").glob("*/*"))) == 1  # the new attempt only


def test_a_frozen_worker_loses_its_task_once_its_lease_expires(ledger_url, tmp_path):
    """Catches a lease that never expires (a lost machine's task would wait forever) or a takeover that keeps the
    old attempt's partial files. The worker is stopped (SIGSTOP), so its process still exists: only the lease frees
    the task."""
    hung, folder, env = _leave_a_hung_worker(tmp_path, ledger_url)
    os.kill(hung.pid, signal.SIGSTOP)
    try:
        (code, out), = finish([start(tmp_path, [*WORKER, "--lease", "1"], env)])
    finally:
        hung.kill()
        hung.wait()
    assert code == 0 and "took over: spring__v0__s0" in out and "1 finished" in out, out
    assert not folder.exists()
    with Ledger.open(ledger_url) as book:
        _intact(book, "spring", 1)


def test_a_budget_cap_stops_every_worker_before_it_is_exceeded(ledger_url, tmp_path):
    """Catches workers each checking the budget alone: both would start a $1 task at $0 spent on a $1.50 budget.
    Estimates are $1.00 a task (1440 s at the H100's $2.50/h); each task really costs a $1 flat fee."""
    extra = "budget = 1.5\n[estimate]\ndevice = 'H100'\nseconds_per_task = 1440\n"
    with Ledger.open(ledger_url) as book:
        queue_campaign(make_campaign(tmp_path, "spring", 4, extra=extra), book, tmp_path / "out")
    env = worker_env(tmp_path, ledger_url, SLOW_FEE="1.0", SLOW_SECONDS="1.0")
    results = finish([start(tmp_path, WORKER, env) for _ in range(2)])
    assert [code for code, _ in results] == [0, 0], results
    assert len(generated(tmp_path)) == 1
    assert all("budget spring: stopped: $1.00 spent + ~$1.0000 would exceed the $1.50 budget" in out
               for _, out in results), results  # fmt: skip
    with Ledger.open(ledger_url) as book:
        assert 1.0 <= book.spent("spring") <= 1.5
        assert Counter(t.state for t in book.queue_tasks("spring")) == {"done": 1, "waiting": 3}


def test_two_runs_of_one_campaign_at_once_finish_it_once(postgres, tmp_path):
    """Catches two `ltxflow run` of a campaign corrupting each other: a task made twice, a run that fails or hangs
    on the other's claims, or a run that does not account for the tasks the other made. (On SQLite:
    tests/workflow/test_concurrent_runs.py.)"""
    ledger_url = new_database(postgres)
    folder = make_campaign(tmp_path, "spring", 4)
    env = worker_env(tmp_path, ledger_url, SLOW_BARRIER="2")
    run = ["run", str(folder), "--out", str(tmp_path / "out"), "--no-progress", "--ledger", ledger_url]
    results = finish([start(tmp_path, run, env) for _ in range(2)])
    assert [code for code, _ in results] == [0, 0], results
    made = [task for _, task, _ in generated(tmp_path)]
    assert len(made) == len(set(made)) == 4
    with Ledger.open(ledger_url) as book:
        _intact(book, "spring", 4)
        records = book.runs("spring")
        assert sum(r.finished for r in records) == 4 and [r.finished + r.skipped for r in records] == [4, 4]
