"""Review decisions: an append-only log per task, folded into a state; filters of summaries and the CSV by it."""

from __future__ import annotations

import csv
import sqlite3

import pytest
from pydantic import ValidationError

from ltxflow.costs import Usage
from ltxflow.ledger import DecisionIn, Ledger, LedgerError, db
from ltxflow.ledger.decisions import ReviewState
from ltxflow.ledger.migrations import MIGRATIONS, apply_migrations


def _decide(ledger: Ledger, task_id: str, action: str, **extra) -> None:
    ledger.record_decision(DecisionIn(task_id=task_id, action=action, reviewer=extra.pop("reviewer", "ana"), **extra))


@pytest.fixture
def recorded(ledger, make_task, make_outputs):
    """Campaign spring with tasks v1..v3 (seed 1) and autumn with v1, all finished."""
    run = ledger.start_run("spring", "run", 3)
    for variant in ("v1", "v2", "v3"):
        task = make_task(variant_id=variant)
        ledger.record_task(run, task, make_outputs(task), [], Usage("cpu", 2.0))
    other = ledger.start_run("autumn", "run", 1)
    task = make_task(campaign="autumn", variant_id="v1")
    ledger.record_task(other, task, make_outputs(task), [], Usage("cpu", 5.0))
    return ledger


def test_decisions_read_back_in_order_with_their_task(recorded):
    _decide(recorded, "spring-v1-1", "approve", reviewer="ana")
    _decide(recorded, "spring-v2-1", "reject", note="logo too small", reviewer="bo")
    _decide(recorded, "autumn-v1-1", "winner")
    got = recorded.decisions("spring")
    assert [(d.task_id, d.action, d.reviewer, d.variant_id, d.seed, d.note) for d in got] == [
        ("spring-v1-1", "approve", "ana", "v1", 1, ""),
        ("spring-v2-1", "reject", "bo", "v2", 1, "logo too small"),
    ]
    assert got[0].id < got[1].id and got[0].decided_utc <= got[1].decided_utc
    assert [d.task_id for d in recorded.decisions()] == ["spring-v1-1", "spring-v2-1", "autumn-v1-1"]
    assert [d.task_id for d in recorded.decisions(task_ids=["spring-v2-1"])] == ["spring-v2-1"]


def test_state_is_the_fold_of_every_decision(recorded):
    t = "spring-v1-1"
    _decide(recorded, t, "winner", reviewer="ana")
    _decide(recorded, t, "rate", rating=2)
    _decide(recorded, t, "rate", rating=4, note="second look: better")
    _decide(recorded, t, "note", note="music too loud", reviewer="bo")
    state = recorded.review_states("spring")[t]
    assert (state.verdict, state.winner, state.rating, state.decision) == ("approved", True, 4, "winner")
    assert [(n.reviewer, n.text) for n in state.notes] == [("ana", "second look: better"), ("bo", "music too loud")]
    assert state.reviewer == "bo"
    _decide(recorded, t, "reject")  # a rejected clip cannot stay the winner
    assert recorded.review_states("spring")[t].decision == "rejected"
    _decide(recorded, t, "winner")
    _decide(recorded, t, "unwinner")  # drops the mark, keeps the approval
    assert recorded.review_states("spring")[t].decision == "approved"
    _decide(recorded, t, "clear")
    state = recorded.review_states("spring")[t]
    assert (state.decision, state.rating, len(state.notes)) == ("undecided", 4, 2)  # what was said stays


def test_filters(recorded):
    _decide(recorded, "spring-v1-1", "winner")
    _decide(recorded, "spring-v2-1", "approve")
    _decide(recorded, "spring-v3-1", "reject")
    states = recorded.review_states("spring")
    assert {t for t, s in states.items() if s.matches("approved")} == {"spring-v1-1", "spring-v2-1"}
    assert {t for t, s in states.items() if s.matches("winner")} == {"spring-v1-1"}
    assert {t for t, s in states.items() if s.matches("rejected")} == {"spring-v3-1"}
    assert ReviewState("x").matches("undecided") and not ReviewState("x").matches("approved")
    with pytest.raises(LedgerError, match="decision filter must be one of"):
        ReviewState("x").matches("maybe")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"action": "rate"}, "a rating"),
        ({"action": "approve", "rating": 3}, "a rating"),
        ({"action": "rate", "rating": 6}, "less than or equal to 5"),
        ({"action": "note", "note": "  "}, "needs a note"),
        ({"action": "promote"}, "approve"),
        ({"action": "approve", "reviewer": ""}, "at least 1 character"),
    ],
)
def test_bad_decisions_are_refused_before_the_ledger(fields, message):
    with pytest.raises(ValidationError, match=message):
        DecisionIn(**{"task_id": "t", "reviewer": "ana", **fields})


def test_a_decision_on_an_unknown_task_writes_nothing(recorded):
    with pytest.raises(LedgerError, match="unknown task id 'nope'"):
        _decide(recorded, "nope", "approve")
    assert recorded.decisions() == []


def test_decisions_survive_a_rerun_of_their_task(recorded, make_task, make_outputs):
    _decide(recorded, "spring-v1-1", "approve")
    run = recorded.start_run("spring", "run", 1)
    task = make_task(variant_id="v1")
    recorded.record_failure(run, task, "RuntimeError: boom", Usage("cpu", 1.0))
    recorded.record_task(run, task, make_outputs(task), [], Usage("cpu", 1.0))
    assert recorded.review_states("spring")["spring-v1-1"].verdict == "approved"


def test_summary_and_csv_keep_only_the_given_tasks(recorded, tmp_path):
    rows = recorded.summary("variant", "spring", task_ids={"spring-v2-1"})
    assert [(r.key, r.tasks, r.outputs, r.device_seconds) for r in rows] == [("v2", 1, 3, 2.0)]
    assert recorded.summary("campaign", task_ids=set()) == []
    path = recorded.export_csv(tmp_path / "x.csv", "spring", task_ids=["spring-v1-1", "spring-v3-1"])
    with path.open(encoding="utf-8") as f:
        assert sorted({r["variant_id"] for r in csv.DictReader(f)}) == ["v1", "v3"]


def test_a_ledger_from_before_decisions_upgrades_and_keeps_its_rows(tmp_path, make_task, make_outputs):
    path = tmp_path / "old.db"
    engine = db.connect(path)
    with db.write_transaction(engine) as conn:
        before = [m for m in MIGRATIONS if m.__name__ != "m008_review_decisions"]
        apply_migrations(conn, before)
    engine.dispose()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'decisions'").fetchall() == []
    with Ledger.open(path) as ledger:  # the old file gets the new table on open
        run = ledger.start_run("spring", "run", 1)
        task = make_task()
        ledger.record_task(run, task, make_outputs(task), [], Usage("cpu", 1.0))
        _decide(ledger, task.id, "approve")
        assert ledger.review_states()[task.id].verdict == "approved"
        assert len(ledger.outputs("spring")) == 3


def test_reads_by_task_and_output_id(recorded):
    tasks = recorded.tasks("spring")
    assert [t.variant_id for t in tasks] == ["v1", "v2", "v3"] and tasks[0].status == "finished"
    assert [t.id for t in recorded.tasks("spring", "v2")] == ["spring-v2-1"]
    first = recorded.outputs("autumn")[0]
    assert recorded.output(first.output_id) == first
    assert recorded.output(10_000) is None
