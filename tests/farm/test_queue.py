"""The ledger as the work queue, in process, on SQLite and on PostgreSQL: schema, idempotent enqueue, priorities,
leases, pause/resume/cancel, budgets, and `ltxflow queue`'s listing."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from ltxflow.cli import cli
from ltxflow.costs import CostItem, Usage
from ltxflow.enqueue import queue_campaign
from ltxflow.ledger import db
from ltxflow.ledger.claims import ClaimLost
from ltxflow.ledger.models import TaskIn
from ltxflow.ledger.queue import Claimed, Nothing, Seat
from ltxflow.ledger.schema_check import schema_drift
from ltxflow.ledger.store import Ledger

from .conftest import make_campaign

A, B = Seat("host-a", 101, "cuda:0"), Seat("host-b", 202, "cuda:1")
FEE = [CostItem("render-fee", "flat fee", "actual", 1, "task", 1.0, 1.0)]


@pytest.fixture
def book(ledger_url):
    with Ledger.open(ledger_url) as opened:
        yield opened


def _task_in(book: Ledger, task_id: str) -> TaskIn:
    campaign = next(c for c in book.queue_campaigns() if any(t.task_id == task_id for t in book.queue_tasks(c.campaign)))
    return TaskIn(id=task_id, campaign=campaign.campaign, variant_id="v", seed=0, prompt="p", negative_prompt="",
                  settings_json="{}", engine="slow", checkpoint="tiny")  # fmt: skip


def _record(book: Ledger, got: Claimed, seat: Seat, costs=()) -> None:
    book.record_task(got.run_id, _task_in(book, got.task_id), [], list(costs), Usage("cpu", 1.0),
                     worker=seat.worker(got.run_id))  # fmt: skip


def test_the_migrations_build_the_modelled_schema_on_each_backend(book):
    """Catches a migration that only SQLite accepts, or a model whose column types PostgreSQL builds differently."""
    with db.read_transaction(book.engine) as conn:
        assert schema_drift(conn) == []


def test_enqueue_is_idempotent_and_requeues_only_what_is_not_done(book, tmp_path):
    """Catches enqueue adding a second row for a task id (it would be made twice), re-queueing a done task, or
    leaving a failed one out of a rerun."""
    folder = make_campaign(tmp_path, "spring", 3)
    first = queue_campaign(folder, book, tmp_path / "out")
    again = queue_campaign(folder, book, tmp_path / "out")
    assert (first.waiting, again.waiting) == (3, 3) and len(book.queue_tasks()) == 3
    done = book.claim_next(A, 30, runs={})
    failed = book.claim_next(A, 30, runs={"spring": done.run_id})
    _record(book, done, A)
    book.record_failure(failed.run_id, _task_in(book, failed.task_id), "boom", None, worker=A.worker(failed.run_id))
    states = {t.task_id: t.state for t in book.queue_tasks()}
    assert states[done.task_id] == "done" and states[failed.task_id] == "failed"
    rerun = queue_campaign(folder, book, tmp_path / "out")
    states = {t.task_id: t.state for t in book.queue_tasks()}
    assert rerun.waiting == 2 and rerun.finished == 1 and states[done.task_id] == "done"
    assert states[failed.task_id] == "waiting" and len(states) == 3


def test_highest_priority_first_then_oldest_then_plan_order(book, tmp_path):
    """Catches claims in insertion order, priorities sorted the wrong way, or a newer campaign of the same priority
    jumping an older one."""
    old = make_campaign(tmp_path, "old", 2)
    urgent = make_campaign(tmp_path, "urgent", 2, priority=5)
    young = make_campaign(tmp_path, "young", 2)
    for folder in (old, urgent, young):
        queue_campaign(folder, book, tmp_path / "out")
        time.sleep(0.002)  # distinct enqueue times
    runs: dict[str, str] = {}
    order = []
    while isinstance(got := book.claim_next(A, 30, runs=runs), Claimed):
        runs[got.campaign] = got.run_id
        order.append(got.campaign)
    assert order == ["urgent", "urgent", "old", "old", "young", "young"]
    assert isinstance(got, Nothing) and got.held == 6  # all held by A now
    result = CliRunner().invoke(cli, ["queue", "add", str(young), "--priority", "9", "--ledger", book.location,
                                      "--out", str(tmp_path / "out")])  # fmt: skip
    assert result.exit_code == 0 and "priority 9" in result.output
    assert [c.campaign for c in book.queue_campaigns()] == ["young", "urgent", "old"]


def test_an_expired_lease_makes_the_task_claimable_again(book, tmp_path):
    """Catches a dead worker's claim blocking its task forever, the taker not being told whose partial attempt it
    replaces, or the first worker still recording a task it lost."""
    queue_campaign(make_campaign(tmp_path, "spring", 1), book, tmp_path / "out")
    mine = book.claim_next(A, 0.3, runs={})
    assert isinstance(mine, Claimed) and mine.claim.device == "cuda:0" and mine.claim.host == "host-a"
    blocked = book.claim_next(B, 30, runs={})
    assert isinstance(blocked, Nothing) and blocked.held == 1  # live: B must wait, not give up
    time.sleep(0.4)
    taken = book.claim_next(B, 30, runs={})
    assert isinstance(taken, Claimed) and taken.task_id == mine.task_id
    assert taken.taken_from is not None and taken.taken_from.worker == A.worker(mine.run_id).id
    with pytest.raises(ClaimLost):
        _record(book, mine, A)
    _record(book, taken, B)
    assert [t.state for t in book.queue_tasks()] == ["done"] and book.claims() == []


def test_pause_resume_and_cancel_decide_what_is_claimable(book, tmp_path):
    """Catches paused or cancelled campaigns still handing out tasks, or resume not bringing them back."""
    queue_campaign(make_campaign(tmp_path, "spring", 2), book, tmp_path / "out")
    book.set_queue_state("spring", "paused")
    assert book.claim_next(A, 30, runs={}) == Nothing(0, ())
    book.set_queue_state("spring", "active")
    assert isinstance(book.claim_next(A, 30, runs={}), Claimed)
    book.set_queue_state("spring", "cancelled")
    assert book.claim_next(B, 30, runs={}) == Nothing(0, ())
    result = CliRunner().invoke(cli, ["queue", "resume", "autumn", "--ledger", book.location])
    assert result.exit_code == 2 and "no campaign 'autumn' in the queue" in result.output


def test_a_budget_counts_the_running_tasks_estimates(book, tmp_path):
    """Catches a budget checked against money already spent only: two workers would both start the task that
    exceeds it. Estimates are $1.00 a task (1440 s at the H100's $2.50/h), each task really costs $1 (a flat fee)."""
    extra = "budget = 2.5\n[estimate]\ndevice = 'H100'\nseconds_per_task = 1440\n"
    queue_campaign(make_campaign(tmp_path, "spring", 5, extra=extra), book, tmp_path / "out")
    first = book.claim_next(A, 30, runs={})
    second = book.claim_next(B, 30, runs={})
    assert isinstance(first, Claimed) and isinstance(second, Claimed)
    third = book.claim_next(Seat("host-c", 3), 30, runs={})
    assert third == Nothing(5, ())  # 2 running + 3 that must wait: $0 spent + $2 running + $1 > $2.50
    _record(book, first, A, FEE)
    _record(book, second, B, FEE)
    stopped = book.claim_next(Seat("host-c", 3), 30, runs={})
    assert isinstance(stopped, Nothing) and stopped.held == 0
    assert stopped.budget_stops == (("spring", "stopped: $2.00 spent + ~$1.0000 would exceed the $2.50 budget"),)


def test_queue_lists_counts_and_where_each_running_task_runs(book, tmp_path):
    """Catches the listing losing a state, or not saying which worker on which device holds a task since when."""
    queue_campaign(make_campaign(tmp_path, "spring", 3), book, tmp_path / "out")
    got = book.claim_next(A, 30, runs={})
    result = CliRunner().invoke(cli, ["queue", "--ledger", book.location])
    assert result.exit_code == 0, result.output
    header, row, running = result.output.splitlines()
    assert header.split() == ["campaign", "state", "priority", "waiting", "running", "done", "failed", "budget"]
    assert row.split() == ["spring", "active", "0", "2", "1", "0", "0", "-"]
    assert running.startswith(f"running  {got.task_id}  spring  priority 0  host-a/101/{got.run_id} on cuda:0  since ")
    every = CliRunner().invoke(cli, ["queue", "--tasks", "--ledger", book.location])
    assert [line.split()[0] for line in every.output.splitlines()[2:]] == ["running", "waiting", "waiting"]
