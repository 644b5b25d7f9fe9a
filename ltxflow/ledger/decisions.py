"""Review decisions: the append-only log of what reviewers said about each task, and its fold into a state.

A decision names one task (a generation). A task's review state is its decisions folded in id order:
- `approve` sets the verdict to approved; `reject` to rejected and drops the winner mark;
- `winner` marks a winner (a winner is approved); `unwinner` drops the mark and keeps the verdict;
- `clear` forgets the verdict and the winner mark (ratings and notes stay: they were said);
- `rate` sets the star rating (the latest counts); every non-empty note is kept, in order.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal, get_args

from sqlalchemy import Connection, insert, select

from ltxflow.ledger.models import DECISIONS, TASKS, DecisionIn, DecisionRecord
from ltxflow.ledger.records import LedgerError

Verdict = Literal["approved", "rejected"]
DecisionFilter = Literal["approved", "winner", "rejected", "undecided"]
DECISION_FILTERS: tuple[str, ...] = get_args(DecisionFilter)


@dataclass(frozen=True)
class Note:
    """One reviewer's note."""

    reviewer: str
    decided_utc: str  # ISO 8601 UTC
    text: str


@dataclass(frozen=True)
class ReviewState:
    """Where a task stands after all its decisions."""

    task_id: str
    verdict: Verdict | None = None  # None: not decided (or cleared)
    winner: bool = False
    rating: int | None = None  # 1-5 stars, the latest rating
    notes: tuple[Note, ...] = ()
    reviewer: str = ""  # of the latest decision, "" when none
    decided_utc: str = ""  # of the latest decision, "" when none

    @property
    def decision(self) -> str:
        """"winner", "approved", "rejected" or "undecided"."""
        return "winner" if self.winner else (self.verdict or "undecided")

    def matches(self, wanted: DecisionFilter) -> bool:
        """Whether the state passes a `--decision` filter ("approved" includes winners)."""
        if wanted not in DECISION_FILTERS:
            raise LedgerError(f"decision filter must be one of {', '.join(DECISION_FILTERS)}, got {wanted!r}")
        if wanted == "approved":
            return self.verdict == "approved"
        return self.decision == wanted


def fold(task_id: str, decisions: Iterable[DecisionRecord]) -> ReviewState:
    """A task's state from its decisions (in id order)."""
    verdict: Verdict | None = None
    winner, rating, notes = False, None, []
    reviewer = decided = ""
    for d in decisions:
        if d.action == "approve":
            verdict = "approved"
        elif d.action == "reject":
            verdict, winner = "rejected", False
        elif d.action == "winner":
            verdict, winner = "approved", True
        elif d.action == "unwinner":
            winner = False
        elif d.action == "clear":
            verdict, winner = None, False
        elif d.action == "rate":
            rating = d.rating
        if d.note.strip():
            notes.append(Note(d.reviewer, d.decided_utc, d.note))
        reviewer, decided = d.reviewer, d.decided_utc
    return ReviewState(task_id, verdict, winner, rating, tuple(notes), reviewer, decided)


def states(records: Iterable[DecisionRecord]) -> dict[str, ReviewState]:
    """Every decided task's state, from decisions in id order."""
    by_task: dict[str, list[DecisionRecord]] = {}
    for record in records:
        by_task.setdefault(record.task_id, []).append(record)
    return {task_id: fold(task_id, rows) for task_id, rows in by_task.items()}


# ── SQL (each runs inside the caller's transaction) ─────────────────────────────────────────────


def insert_decision(conn: Connection, decision: DecisionIn, now: str) -> DecisionRecord:
    """Append one decision; refuse a task the ledger does not know."""
    task = conn.execute(
        select(TASKS.c.campaign, TASKS.c.variant_id, TASKS.c.seed).where(TASKS.c.id == decision.task_id)
    ).first()
    if task is None:
        raise LedgerError(f"decision: unknown task id {decision.task_id!r}")
    new_id = conn.execute(insert(DECISIONS).values(dict(decision.model_dump(), decided_utc=now))).inserted_primary_key[0]
    return DecisionRecord(**decision.model_dump(), id=new_id, decided_utc=now, campaign=task.campaign,
                          variant_id=task.variant_id, seed=task.seed)  # fmt: skip


def decision_records(
    conn: Connection, campaign: str | None, task_ids: Collection[str] | None = None, after_id: int | None = None
) -> list[DecisionRecord]:
    """Decisions (of one campaign, of some tasks, newer than `after_id`) in id order, with their task's campaign,
    variant and seed."""
    query = (
        select(DECISIONS, TASKS.c.campaign, TASKS.c.variant_id, TASKS.c.seed)
        .select_from(DECISIONS.join(TASKS, DECISIONS.c.task_id == TASKS.c.id))
        .order_by(DECISIONS.c.id)
    )
    if campaign is not None:
        query = query.where(TASKS.c.campaign == campaign)
    if task_ids is not None:
        query = query.where(DECISIONS.c.task_id.in_(list(task_ids)))
    if after_id is not None:
        query = query.where(DECISIONS.c.id > after_id)
    return [DecisionRecord.model_validate(row) for row in conn.execute(query).mappings()]
