"""The SQL ledger of runs, tasks, output files and costs (SQLite by default, any SQLAlchemy URL)."""

from ltxflow.ledger.export import CSV_COLUMNS
from ltxflow.ledger.models import OutputIn, OutputRecord, RunRecord, TaskIn
from ltxflow.ledger.records import LedgerError, SummaryRow
from ltxflow.ledger.store import Ledger

__all__ = [
    "CSV_COLUMNS",
    "Ledger",
    "LedgerError",
    "OutputIn",
    "OutputRecord",
    "RunRecord",
    "SummaryRow",
    "TaskIn",
]
