"""Ledger types that need no database: the error, status names and summary rows (tables are in models.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from ltxflow.errors import LtxflowError

RunStatus = Literal["running", "finished", "failed", "interrupted", "died"]
TaskStatus = Literal["finished", "failed"]
SummaryBy = Literal["campaign", "variant", "platform"]
DecisionAction = Literal["approve", "reject", "winner", "unwinner", "clear", "note", "rate"]
DECISION_ACTIONS: tuple[str, ...] = get_args(DecisionAction)


class LedgerError(LtxflowError):
    """The ledger cannot be opened or a write was refused (bad URL, unknown run, newer schema)."""


# ── Read back (not a table: the rows of the tables are declared in models.py) ───────────────────


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


@dataclass(frozen=True)
class StageRecord:
    """Seconds one stage took, summed over a campaign's attempts."""

    campaign: str
    stage: str  # load, text_encode, denoise, decode, export
    attempts: int  # attempts that recorded this stage
    wall_seconds: float
    device_seconds: float
