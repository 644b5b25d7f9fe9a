"""Claims (one owner per task, with a lease), stage times, failure tracebacks, the current plan, read-only opens."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from ltxflow.costs import Usage
from ltxflow.ledger import Ledger, LedgerError
from ltxflow.ledger.claims import ClaimLost, Worker
from ltxflow.ledger.models import StageIn

CPU = Usage("cpu", 3.0)


def _dead_pid() -> int:
    """The pid of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def run(ledger):
    return ledger.start_run("spring", "run", 2)


def test_a_claimed_task_is_held_for_others_and_reclaimable_by_its_worker(ledger, run):
    me, other = Worker("host-a", 100, run), Worker("host-b", 200, run)
    assert ledger.claim("t1", "spring", me).outcome == "claimed"
    held = ledger.claim("t1", "spring", other)
    assert held.outcome == "held" and held.holder.worker == "host-a/100/" + run and held.holder.host == "host-a"
    assert ledger.claim("t1", "spring", me).outcome == "claimed"  # its own claim, renewed
    assert [c.task_id for c in ledger.claims("spring")] == ["t1"] and ledger.claims("other") == []


def test_an_expired_lease_is_taken_over(ledger, run):
    me, other = Worker("host-a", 100, run), Worker("host-b", 200, run)
    ledger.claim("t1", "spring", me, lease_s=0.05)
    time.sleep(0.1)
    taken = ledger.claim("t1", "spring", other)
    assert taken.outcome == "claimed" and taken.holder.worker == other.id
    assert not ledger.renew_claim("t1", me)  # the first worker learns it lost the task


def test_a_dead_process_of_this_host_loses_its_claim_at_once_one_elsewhere_does_not(ledger, run):
    here, old = Worker.this_process(run), ledger.start_run("spring", "run", 2)
    ledger.claim("t1", "spring", Worker(here.host, _dead_pid(), old))
    assert ledger.claim("t1", "spring", here).outcome == "claimed"  # no need to wait for the lease
    ledger.claim("t2", "spring", Worker("elsewhere", _dead_pid(), old))
    assert ledger.claim("t2", "spring", here).outcome == "held"  # another host's pid means nothing here


def test_renewal_pushes_the_lease_forward(ledger, run):
    me = Worker("host-a", 100, run)
    first = ledger.claim("t1", "spring", me, lease_s=1.0).holder.expires_utc
    time.sleep(0.01)
    assert ledger.renew_claim("t1", me, lease_s=30.0)
    assert ledger.claims()[0].expires_utc > first
    assert not ledger.renew_claim("t1", Worker("host-b", 1, run))


def test_recording_releases_the_claim_in_the_same_transaction(ledger, run, make_task, make_outputs):
    me = Worker("host-a", 100, run)
    task = make_task(task_id="t1")
    ledger.claim("t1", "spring", me)
    ledger.record_task(run, task, make_outputs(task), [], CPU, worker=me)
    assert ledger.claims() == [] and ledger.finished_task_ids("spring") == {"t1"}


def test_a_worker_that_lost_its_claim_records_nothing(ledger, run, make_task, make_outputs):
    me, other = Worker("host-a", 100, run), Worker("host-b", 200, run)
    task = make_task(task_id="t1")
    ledger.claim("t1", "spring", me, lease_s=0.01)
    time.sleep(0.05)
    ledger.claim("t1", "spring", other)
    with pytest.raises(ClaimLost, match="claim lost"):
        ledger.record_task(run, task, make_outputs(task), [], CPU, worker=me)
    with pytest.raises(ClaimLost):
        ledger.record_failure(run, task, "boom", CPU, worker=me)
    assert ledger.finished_task_ids("spring") == set() and ledger.outputs() == [] and ledger.task_status("t1") is None
    assert ledger.run(run).finished == 0 and ledger.run(run).failed == 0  # the counts rolled back too
    assert [c.worker for c in ledger.claims()] == [other.id]


def test_failure_keeps_traceback_and_stages_and_summaries_add_them(ledger, run, make_task, make_outputs):
    task = make_task(task_id="t1")
    stages = [StageIn(stage="load", wall_seconds=2.0, device_seconds=2.0),
              StageIn(stage="denoise", wall_seconds=5.0, device_seconds=5.0)]  # fmt: skip
    ledger.record_failure(run, task, "RuntimeError: out of memory", CPU, traceback="Traceback (most recent call last):\n"
                          '  File "x.py", line 1\nRuntimeError: out of memory\n', stages=stages)  # fmt: skip
    error, trace = ledger.task_failure("t1")
    assert error == "RuntimeError: out of memory" and trace.startswith("Traceback") and "x.py" in trace
    again = [StageIn(stage="denoise", wall_seconds=4.0, device_seconds=4.0),
             StageIn(stage="export", wall_seconds=1.5, device_seconds=1.5)]  # fmt: skip
    ledger.record_task(run, task, make_outputs(task), [], CPU, stages=again)
    assert ledger.task_failure("t1") is None  # the finished attempt replaced the failure and its traceback
    totals = {(s.stage, s.attempts, s.wall_seconds) for s in ledger.stages("spring")}
    assert totals == {("load", 1, 2.0), ("denoise", 2, 9.0), ("export", 1, 1.5)}  # every attempt's stages kept
    assert [s.stage for s in ledger.stages()] == ["load", "denoise", "export"]  # pipeline order


def test_current_plan_and_skips_counted_for_a_run(ledger, run):
    assert ledger.current_task_ids("spring") == []
    ledger.set_current("spring", ["b", "a", "c"])
    ledger.set_current("other", ["x"])
    ledger.set_current("spring", ["c", "a"])
    assert ledger.current_task_ids("spring") == ["c", "a"] and ledger.current_task_ids("other") == ["x"]
    ledger.count_skipped(run)
    assert ledger.run(run).skipped == 1


def test_read_only_opens_never_create_a_ledger(tmp_path):
    missing = tmp_path / "nowhere" / "ledger.db"
    with pytest.raises(LedgerError, match=r"no ledger at .*nowhere/ledger.db: nothing was recorded there yet"):
        Ledger.open(missing, create=False)
    assert Ledger.open_existing(missing) is None and not missing.parent.exists()
    Ledger.open(missing).close()
    with Ledger.open(missing, create=False) as found:
        assert found.location == str(missing.resolve()) and found.shared
    with Ledger.open("sqlite://") as memory:
        assert not memory.shared
