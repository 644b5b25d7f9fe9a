"""The SQL ledger of runs, tasks, output files, costs and review decisions (SQLite by default, any SQLAlchemy URL)."""

from ltxflow.ledger.export import CSV_COLUMNS
from ltxflow.ledger.decisions import DECISION_FILTERS, ReviewState
from ltxflow.ledger.models import DecisionIn, DecisionRecord, OutputIn, OutputRecord, RunRecord, TaskIn, TaskRecord
from ltxflow.ledger.records import LedgerError, SummaryRow
from ltxflow.ledger.store import Ledger

__all__ = [
    "CSV_COLUMNS",
    "DECISION_FILTERS",
    "DecisionIn",
    "DecisionRecord",
    "Ledger",
    "LedgerError",
    "OutputIn",
    "OutputRecord",
    "ReviewState",
    "RunRecord",
    "SummaryRow",
    "TaskIn",
    "TaskRecord",
]
