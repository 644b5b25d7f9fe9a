"""The ledger's tables, each declared once as SQLModel models: what a writer gives, what a reader gets back.

Each table is a small family built on one set of field declarations:
- `TaskIn`, `OutputIn`, `DecisionIn`: the columns a caller supplies when it records a task, a file or a review
  decision (frozen, validated);
- `RunRow`, `TaskRow`, `OutputRow`, `CostRow`, `DecisionRow` (``table=True``): the tables, adding the columns
  the ledger fills;
- `RunRecord`, `TaskRecord`, `OutputRecord`, `DecisionRecord`: what reads return, built from the same fields
  (frozen).

Adding a column = one field here (with its description: docs/ledger-schema.md is generated from it) plus one
append-only migration in `migrations.py`; `schema_check.schema_drift` (run by the tests and by the schema doc
generator) fails when the two disagree. The store writes ``model_dump()`` and reads with ``model_validate``, so
no column is listed anywhere else. Column types are explicit (`sa_type`) because they must equal what the
migrations built: SQLModel's default for `str` is VARCHAR, the migrations use TEXT.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, model_validator
from sqlalchemy import BigInteger, Float, Index, Text
from sqlmodel import Field, SQLModel

from ltxflow.ledger.records import DecisionAction, RunStatus

_FROZEN = ConfigDict(frozen=True, extra="forbid")  # a misspelt column is an error, not dropped


def text(description: str, **kwargs: Any) -> Any:
    """A TEXT column (NOT NULL unless the annotation allows None)."""
    return Field(sa_type=Text, description=description, **kwargs)


def big(description: str, **kwargs: Any) -> Any:
    """A BIGINT column."""
    return Field(sa_type=BigInteger, description=description, **kwargs)


def real(description: str, **kwargs: Any) -> Any:
    """A FLOAT column."""
    return Field(sa_type=Float, description=description, **kwargs)


# ── runs ────────────────────────────────────────────────────────────────────────────────────────


class RunRecord(SQLModel):
    """One `run` (or other recording command) with its counts."""

    model_config = _FROZEN
    id: str = text("ULID of the run: sortable by start time", primary_key=True)
    campaign: str = text("campaign name")
    command: str = text('the recording command: "run", ...')
    status: RunStatus = text("running | finished | failed | interrupted | died (its process vanished)")
    planned_tasks: int = Field(description="tasks the run considered, already-finished ones included")
    finished: int = Field(description="tasks this run recorded as finished")
    failed: int = Field(description="tasks this run recorded as failed")
    skipped: int = Field(description="tasks already finished when the run began")
    started_utc: str = text("ISO 8601 UTC")
    finished_utc: str | None = text("ISO 8601 UTC; NULL while running", default=None)
    duration_ms: int | None = big("wall time of the run; NULL while running", default=None)
    host: str | None = text("host name of the run's process (NULL before m007)", default=None)
    pid: int | None = Field(default=None, description="process id of the run on its host (NULL before m007)")

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.id

    @property
    def pending(self) -> int:
        """Tasks the run neither did nor skipped (an interrupted run leaves some)."""
        return max(0, self.planned_tasks - self.finished - self.failed - self.skipped)


class RunRow(RunRecord, table=True):
    """The `runs` table."""

    __tablename__ = "runs"
    model_config = ConfigDict(frozen=False)


# ── tasks ───────────────────────────────────────────────────────────────────────────────────────


class TaskIn(SQLModel):
    """The identity and inputs of one task, as the runner records it."""

    model_config = _FROZEN
    id: str = text("task id: the hash of the task record", primary_key=True)
    campaign: str = text("campaign name")
    variant_id: str = text("the variants CSV row id")
    seed: int = big("generation seed")
    prompt: str = text("rendered prompt")
    negative_prompt: str = text("rendered negative prompt")
    settings_json: str = text("the full task record as canonical JSON")
    engine: str = text("registered engine name")
    checkpoint: str = text("identity of the weights (name, or file name and size)")

    @property
    def task_id(self) -> str:
        """The task's id."""
        return self.id


class _TaskStored(TaskIn):
    """The columns the ledger adds to a recorded task."""

    run_id: str = text("run of the latest attempt", foreign_key="runs.id")
    status: str = text("finished | failed")
    error: str | None = text("the failure, NULL when finished", default=None)
    attempts: int = Field(description="attempts so far")
    device: str | None = text("device of the latest attempt", default=None)
    device_seconds: float = real("device seconds summed over all attempts")
    recorded_utc: str = text("ISO 8601 UTC of the latest attempt")
    traceback: str | None = text("the failure's Python traceback, NULL when finished", default=None)


class TaskRow(_TaskStored, table=True):
    """The `tasks` table: one row per task id, describing its latest attempt."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_campaign_status", "campaign", "status"),)
    model_config = ConfigDict(frozen=False)


class TaskRecord(_TaskStored):
    """A recorded task (its latest attempt), as reads return it."""


# ── outputs ─────────────────────────────────────────────────────────────────────────────────────


class OutputIn(SQLModel):
    """One file a task produced."""

    model_config = _FROZEN
    task_id: str = text("the task the file belongs to", foreign_key="tasks.id", ondelete="CASCADE")
    platform: str = text('export preset name, "" for a per-clip file (the audio master)')
    kind: str = text("video, cover, preview, audio, review")
    path: str = text("where the file was written")
    sha256: str = text("hex digest of the file")
    bytes: int = big("file size")
    probe_json: str = text("facts read back from the written file, as JSON")
    spec_ok: bool = Field(description="the file meets its platform's delivery spec")
    spec_problems: str = text('what does not, "" when spec_ok')


class _OutputStored(OutputIn):
    """The columns the ledger adds to a recorded file."""

    id: int | None = Field(default=None, primary_key=True, description="row id")
    run_id: str = text("run that recorded the file", foreign_key="runs.id")
    recorded_utc: str = text("ISO 8601 UTC")


class OutputRow(_OutputStored, table=True):
    """The `outputs` table: the files of each task's latest attempt."""

    __tablename__ = "outputs"
    __table_args__ = (Index("ix_outputs_task_id", "task_id"),)
    model_config = ConfigDict(frozen=False)


class OutputRecord(_OutputStored):
    """A recorded file, with the campaign, variant and seed of its task."""

    campaign: str
    variant_id: str
    seed: int

    @property
    def output_id(self) -> int:
        """The output's row id."""
        assert self.id is not None
        return self.id


# ── costs ───────────────────────────────────────────────────────────────────────────────────────


class CostRow(SQLModel, table=True):
    """The `costs` table: one money line of one attempt (kept when the task is rerun: the money was spent).

    The money columns are the fields of :class:`ltxflow.costs.CostItem`, the plugin-facing record that
    `cost_items` hooks return (a dataclass, so plugins build it positionally and `plan` needs no SQL);
    `schema_check` fails when the two differ.
    """

    __tablename__ = "costs"
    __table_args__ = (Index("ix_costs_task_id", "task_id"),)
    id: int | None = Field(default=None, primary_key=True, description="row id")
    task_id: str = text("the task", foreign_key="tasks.id", ondelete="CASCADE")
    run_id: str = text("run of the attempt that spent it", foreign_key="runs.id")
    source: str = text('plugin or provider: "device", "sora", ...')
    description: str = text("human description of the line")
    kind: str = text("actual (money spent) | comparison (what a per-clip API would charge)")
    quantity: float = real("in units")
    unit: str = text('"hour", "clip", ...')
    unit_price: float = real("currency per unit (the low price of a range)")
    amount: float = real("quantity x unit price (the low end of a range)")
    amount_max: float | None = real("high end of a price range, NULL otherwise", default=None)
    currency: str = text("ISO code")
    recorded_utc: str = text("ISO 8601 UTC")


# ── stages ──────────────────────────────────────────────────────────────────────────────────────


class StageIn(SQLModel):
    """How long one stage of a task's attempt took."""

    model_config = _FROZEN
    stage: str = text("load, text_encode, denoise, decode, export")
    wall_seconds: float = real("wall-clock seconds")
    device_seconds: float = real("seconds the device was held for it (what costs are billed on)")


class StageRow(StageIn, table=True):
    """The `stages` table: every attempt's stages (kept when the task is rerun, like its costs)."""

    __tablename__ = "stages"
    __table_args__ = (Index("ix_stages_task_id", "task_id"),)
    model_config = ConfigDict(frozen=False)
    id: int | None = Field(default=None, primary_key=True, description="row id")
    task_id: str = text("the task", foreign_key="tasks.id", ondelete="CASCADE")
    run_id: str = text("run of the attempt", foreign_key="runs.id")
    recorded_utc: str = text("ISO 8601 UTC")


# ── claims ──────────────────────────────────────────────────────────────────────────────────────


class ClaimRecord(SQLModel):
    """Who owns a pending task: one worker at a time, until its lease expires (renewed while it works)."""

    model_config = _FROZEN
    task_id: str = text("the claimed task id (it may have no tasks row yet)", primary_key=True)
    campaign: str = text("campaign name")
    run_id: str = text("run the worker is doing it for", foreign_key="runs.id")
    worker: str = text('worker id: "<host>/<pid>"')
    host: str = text("host name of the worker")
    pid: int = Field(description="process id of the worker on its host")
    claimed_utc: str = text("ISO 8601 UTC")
    expires_utc: str = text("ISO 8601 UTC; after it, another worker may take the task over")
    device: str | None = text("the worker's device (--device), NULL for the campaign's own (before m009 too)",
                              default=None)


class ClaimRow(ClaimRecord, table=True):
    """The `claims` table."""

    __tablename__ = "claims"
    model_config = ConfigDict(frozen=False)


# ── current tasks ───────────────────────────────────────────────────────────────────────────────


class CurrentTaskRow(SQLModel, table=True):
    """The `current_tasks` table: the task ids of each campaign's current plan, rewritten by every run."""

    __tablename__ = "current_tasks"
    campaign: str = text("campaign name", primary_key=True)
    position: int = Field(primary_key=True, description="order in the plan (CSV rows x seeds)")
    task_id: str = text("a task of the plan (finished or not)")



# ── decisions (review) ──────────────────────────────────────────────────────────────────────────


class DecisionIn(SQLModel):
    """One reviewer's decision on one task (a generation: a variant at one seed and one set of settings).

    Decisions are an append-only log: a task's review state is the fold of its decisions in id order
    (`ltxflow.ledger.decisions.fold`), so nothing a reviewer said is ever overwritten.
    """

    model_config = _FROZEN
    task_id: str = text("the task decided on", foreign_key="tasks.id", ondelete="CASCADE")
    action: DecisionAction = text("approve | reject | winner | unwinner | clear | note | rate")
    rating: int | None = Field(default=None, ge=1, le=5, description="stars, 1-5, with action rate; NULL otherwise")
    note: str = text('the reviewer\'s free text, "" when none', default="", max_length=4000)
    reviewer: str = text("who decided: the --reviewer option or the OS user", min_length=1, max_length=100)

    @model_validator(mode="after")
    def _rating_goes_with_rate(self) -> DecisionIn:
        if (self.action == "rate") != (self.rating is not None):
            raise ValueError("a rating (1-5) comes with action 'rate' and only with it")
        if self.action == "note" and not self.note.strip():
            raise ValueError("action 'note' needs a note")
        return self


class _DecisionStored(DecisionIn):
    """The columns the ledger adds to a decision."""

    id: int | None = Field(default=None, primary_key=True, description="row id: a task's decisions apply in this order")
    decided_utc: str = text("ISO 8601 UTC")


class DecisionRow(_DecisionStored, table=True):
    """The `decisions` table."""

    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_task_id", "task_id"),)
    model_config = ConfigDict(frozen=False)


class DecisionRecord(_DecisionStored):
    """A recorded decision, with the campaign, variant and seed of its task."""

    campaign: str
    variant_id: str
    seed: int


# ── the work queue ──────────────────────────────────────────────────────────────────────────────


class QueuedCampaignRecord(SQLModel):
    """A campaign in the work queue: where its tasks come from and go, its priority, budget and state."""

    model_config = _FROZEN
    campaign: str = text("campaign name", primary_key=True)
    campaign_path: str = text('the campaign.toml workers plan it from ("" when planned in memory: its run only)')
    out_dir: str = text("the output root its files go under (absolute; a shared path on a farm)")
    priority: int = Field(description="workers take the highest first (oldest first within one)")
    budget: float | None = real("USD cap on the campaign's spending, NULL for none", default=None)
    state: str = text("active | paused | cancelled")
    enqueued_utc: str = text("ISO 8601 UTC of its first enqueue")
    updated_utc: str = text("ISO 8601 UTC of its latest enqueue or state change")


class QueuedCampaignRow(QueuedCampaignRecord, table=True):
    """The `queue_campaigns` table."""

    __tablename__ = "queue_campaigns"
    model_config = ConfigDict(frozen=False)


class QueuedTaskRecord(SQLModel):
    """One task in the work queue (same task id, same row); running = it has a live claim."""

    model_config = _FROZEN
    task_id: str = text("the task id", primary_key=True)
    campaign: str = text("its campaign", foreign_key="queue_campaigns.campaign")
    position: int = Field(description="order in the campaign's plan")
    estimate_usd: float = real("what the task is expected to cost (the budget check reserves it while it runs)")
    state: str = text("waiting | done | failed")
    enqueued_utc: str = text("ISO 8601 UTC of its latest enqueue")
    finished_utc: str | None = text("ISO 8601 UTC when it was recorded done or failed", default=None)


class QueuedTaskRow(QueuedTaskRecord, table=True):
    """The `queue` table."""

    __tablename__ = "queue"
    __table_args__ = (Index("ix_queue_state_campaign", "state", "campaign"),)
    model_config = ConfigDict(frozen=False)


# every table, in the order the schema doc lists them
TABLES = (RunRow, TaskRow, OutputRow, CostRow, StageRow, ClaimRow, CurrentTaskRow, DecisionRow, QueuedCampaignRow,
          QueuedTaskRow)
RUNS = RunRow.__table__
TASKS = TaskRow.__table__
OUTPUTS = OutputRow.__table__
COSTS = CostRow.__table__
STAGES = StageRow.__table__
CLAIMS = ClaimRow.__table__
CURRENT = CurrentTaskRow.__table__
DECISIONS = DecisionRow.__table__
QUEUE_CAMPAIGNS = QueuedCampaignRow.__table__
QUEUE = QueuedTaskRow.__table__
