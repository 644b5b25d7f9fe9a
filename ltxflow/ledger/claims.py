"""Claims: one owner per pending task, with a lease. The queue that runs of a campaign (and later a farm of
workers) share through the ledger.

A worker claims a task before generating it; the claim names the worker (`<host>/<pid>/<run id>`), its host
and pid, and expires `lease` seconds later unless renewed. Another worker finds the task `held` and waits or
moves on. A claim is taken over when it expired, or at once when its worker was a process of this host that
no longer exists (a kill -9). Finishing or failing the task deletes the claim in the same transaction that
records the result, so a task is never recorded by a worker that lost it (`ClaimLost`, nothing written).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import Connection, delete, insert, select, update

from ltxflow.ledger.models import CLAIMS, ClaimRecord
from ltxflow.ledger.records import LedgerError
from ltxflow.processes import process_exists

LEASE_S = 60.0  # seconds a claim lasts without renewal; the runner renews it every LEASE_S / 4


class ClaimLost(LedgerError):
    """This worker no longer holds the task's claim (its lease expired and another worker took it)."""


@dataclass(frozen=True)
class Worker:
    """Who claims: one process doing one run."""

    host: str
    pid: int
    run_id: str

    @property
    def id(self) -> str:
        """`<host>/<pid>/<run id>`."""
        return f"{self.host}/{self.pid}/{self.run_id}"

    @classmethod
    def this_process(cls, run_id: str) -> Worker:
        """This process, working for `run_id`."""
        return cls(socket.gethostname(), os.getpid(), run_id)


@dataclass(frozen=True)
class Claim:
    """The answer to a claim: `claimed` (the holder is us) or `held` (by the holder, another worker)."""

    outcome: Literal["claimed", "held"]
    holder: ClaimRecord


def claim(conn: Connection, task_id: str, campaign: str, worker: Worker, lease_s: float, now: datetime) -> Claim:
    """Claim `task_id` for `worker` unless another live worker holds it (inside the caller's write transaction)."""
    found = conn.execute(select(CLAIMS).where(CLAIMS.c.task_id == task_id)).mappings().first()
    if found is not None:
        held = ClaimRecord.model_validate(found)
        if held.worker != worker.id and not _expired(held, now) and not _dead_on(held, worker.host):
            return Claim("held", held)
        conn.execute(delete(CLAIMS).where(CLAIMS.c.task_id == task_id))
    mine = ClaimRecord(task_id=task_id, campaign=campaign, run_id=worker.run_id, worker=worker.id, host=worker.host,
                       pid=worker.pid, claimed_utc=iso(now), expires_utc=iso(now + timedelta(seconds=lease_s)))  # fmt: skip
    conn.execute(insert(CLAIMS).values(mine.model_dump()))
    return Claim("claimed", mine)


def renew(conn: Connection, task_id: str, worker: Worker, lease_s: float, now: datetime) -> bool:
    """Push the lease of our claim on `task_id` forward; False when it is no longer ours."""
    query = update(CLAIMS).where(CLAIMS.c.task_id == task_id, CLAIMS.c.worker == worker.id)
    return conn.execute(query.values(expires_utc=iso(now + timedelta(seconds=lease_s)))).rowcount == 1


def release(conn: Connection, task_id: str, worker: Worker, *, required: bool) -> None:
    """Delete our claim on `task_id`; with `required`, raise ClaimLost when it is not ours (nothing is recorded)."""
    gone = conn.execute(delete(CLAIMS).where(CLAIMS.c.task_id == task_id, CLAIMS.c.worker == worker.id)).rowcount
    if required and gone != 1:
        raise ClaimLost(f"task {task_id}: claim lost (its lease expired and another worker took it); not recorded")


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with microseconds: such strings sort as the moments do (lease expiry is compared as text)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _expired(held: ClaimRecord, now: datetime) -> bool:
    return datetime.fromisoformat(held.expires_utc) <= now


def _dead_on(held: ClaimRecord, host: str) -> bool:
    """Whether the holder was a process of `host` (ours) that no longer runs."""
    return held.host == host and not process_exists(held.pid)
