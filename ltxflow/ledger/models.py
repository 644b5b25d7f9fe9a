"""SQLModel tables matching the schema that `migrations.py` builds (a test keeps the two in step)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Text
from sqlmodel import Field, SQLModel


def _text(*, primary_key: bool = False, nullable: bool = False, foreign_key: str | None = None) -> Column:
    """A TEXT column (SQLModel's default for `str` is VARCHAR)."""
    args = (ForeignKey(foreign_key),) if foreign_key else ()
    return Column(Text, *args, primary_key=primary_key, nullable=nullable)


class RunRow(SQLModel, table=True):
    """One recording command (`run`)."""

    __tablename__ = "runs"
    id: str = Field(sa_column=_text(primary_key=True))
    campaign: str = Field(sa_column=_text())
    command: str = Field(sa_column=_text())
    status: str = Field(sa_column=_text())
    planned_tasks: int
    finished: int
    failed: int
    skipped: int
    started_utc: str = Field(sa_column=_text())
    finished_utc: str | None = Field(default=None, sa_column=_text(nullable=True))
    duration_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class TaskRow(SQLModel, table=True):
    """The latest attempt of one task."""

    __tablename__ = "tasks"
    id: str = Field(sa_column=_text(primary_key=True))
    run_id: str = Field(sa_column=_text(foreign_key="runs.id"))
    campaign: str = Field(sa_column=_text())
    variant_id: str = Field(sa_column=_text())
    seed: int = Field(sa_column=Column(BigInteger, nullable=False))
    prompt: str = Field(sa_column=_text())
    negative_prompt: str = Field(sa_column=_text())
    settings_json: str = Field(sa_column=_text())
    engine: str = Field(sa_column=_text())
    checkpoint: str = Field(sa_column=_text())
    status: str = Field(sa_column=_text())
    error: str | None = Field(default=None, sa_column=_text(nullable=True))
    attempts: int
    device: str | None = Field(default=None, sa_column=_text(nullable=True))
    device_seconds: float
    recorded_utc: str = Field(sa_column=_text())


class OutputRow(SQLModel, table=True):
    """One file of a task's latest attempt."""

    __tablename__ = "outputs"
    id: int | None = Field(default=None, primary_key=True)
    task_id: str = Field(sa_column=_text(foreign_key="tasks.id"))
    run_id: str = Field(sa_column=_text(foreign_key="runs.id"))
    platform: str = Field(sa_column=_text())
    kind: str = Field(sa_column=_text())
    path: str = Field(sa_column=_text())
    sha256: str = Field(sa_column=_text())
    bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    probe_json: str = Field(sa_column=_text())
    spec_ok: bool
    spec_problems: str = Field(sa_column=_text())
    recorded_utc: str = Field(sa_column=_text())


class CostRow(SQLModel, table=True):
    """One money line of one attempt (kept when the task is rerun: the money was spent)."""

    __tablename__ = "costs"
    id: int | None = Field(default=None, primary_key=True)
    task_id: str = Field(sa_column=_text(foreign_key="tasks.id"))
    run_id: str = Field(sa_column=_text(foreign_key="runs.id"))
    source: str = Field(sa_column=_text())
    description: str = Field(sa_column=_text())
    kind: str = Field(sa_column=_text())
    quantity: float
    unit: str = Field(sa_column=_text())
    unit_price: float
    amount: float
    amount_max: float | None = None
    currency: str = Field(sa_column=_text())
    recorded_utc: str = Field(sa_column=_text())


RUNS = RunRow.__table__
TASKS = TaskRow.__table__
OUTPUTS = OutputRow.__table__
COSTS = CostRow.__table__
