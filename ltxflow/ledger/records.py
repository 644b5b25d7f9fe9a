"""What goes into the ledger and what comes back out: plain frozen records, no database types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ltxflow.errors import LtxflowError

RunStatus = Literal["running", "finished", "failed", "interrupted"]
TaskStatus = Literal["finished", "failed"]
SummaryBy = Literal["campaign", "variant", "platform"]


class LedgerError(LtxflowError):
    """The ledger cannot be opened or a write was refused (bad URL, unknown run, newer schema)."""


# ── Written ─────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class TaskIn:
    """The identity and inputs of one task, as the runner records it."""

    task_id: str  # hash of the task record; primary key of `tasks`
    campaign: str
    variant_id: str
    seed: int
    prompt: str
    negative_prompt: str
    settings_json: str  # the full task record as JSON
    engine: str
    checkpoint: str


@dataclass(frozen=True)
class OutputIn:
    """One file a task produced."""

    task_id: str
    platform: str  # export preset name, or "" for a per-clip file (the generated master)
    kind: str  # "video", "cover", "master", ...
    path: str
    sha256: str  # hex digest of the file
    bytes: int  # file size
    probe_json: str  # facts read back from the written file, as JSON
    spec_ok: bool  # the file meets its platform's delivery spec
    spec_problems: str  # what does not, "" when spec_ok


# ── Read back ───────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class RunRecord:
    """One `run` (or other recording command) with its counts."""

    run_id: str
    campaign: str
    command: str
    status: RunStatus
    planned_tasks: int  # tasks the run considered, already-finished ones included
    finished: int  # tasks this run recorded as finished
    failed: int  # tasks this run recorded as failed
    skipped: int  # tasks already finished before the run started
    started_utc: str  # ISO 8601
    finished_utc: str | None  # ISO 8601, None while running
    duration_ms: int | None  # None while running

    @property
    def pending(self) -> int:
        """Tasks the run neither did nor skipped (an interrupted run leaves some)."""
        return max(0, self.planned_tasks - self.finished - self.failed - self.skipped)


@dataclass(frozen=True)
class OutputRecord:
    """A recorded file, with the task it belongs to."""

    output_id: int
    run_id: str
    task_id: str
    campaign: str
    variant_id: str
    seed: int
    platform: str
    kind: str
    path: str
    sha256: str
    bytes: int
    probe_json: str
    spec_ok: bool
    spec_problems: str
    recorded_utc: str  # ISO 8601


@dataclass(frozen=True)
class SummaryRow:
    """Totals for one campaign, variant or platform."""

    campaign: str
    key: str  # the campaign, the variant id, or the platform ("" = per-clip files)
    tasks: int  # finished tasks
    failed: int  # failed tasks (0 in platform rows: a failure has no platform)
    outputs: int  # recorded files
    device_seconds: float  # all attempts, failures included
    money: float  # USD actually spent (kind "actual")
    comparison_low: float  # USD: cheapest per-clip API at its low price
    comparison_high: float  # USD: dearest per-clip API at its high price
