"""Append-only, named schema migrations, recorded in `_ltxflow_migrations` and applied on every open.

The tables are declared once, in `models.py`; a migration is the history of how a database gets there.
Never edit or reorder a migration that has shipped: append `m00N_...` to MIGRATIONS instead. A migration
spells out its own DDL (it never builds from the live models), so replaying history always builds the
same schema whatever the models say later; `schema_check.schema_drift` (run by the tests and by the schema
doc generator) fails when the models and the migrated database disagree. A new column is one field in
`models.py` plus, here, e.g.::

    def m003_output_note(conn: Connection) -> None:  # its docstring is the schema doc's line for it
        conn.execute(text("ALTER TABLE outputs ADD COLUMN note TEXT NOT NULL DEFAULT ''"))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)

from ltxflow.ledger.records import LedgerError

Migration = Callable[[Connection], None]
MIGRATIONS_TABLE = "_ltxflow_migrations"
_MIGRATION_LOCK = 0x6C7478  # PostgreSQL advisory lock key held while migrating ("ltx")


# ── Migrations (append only) ────────────────────────────────────────────────────────────────────


def m001_initial(conn: Connection) -> None:
    """Runs, tasks (one row per task id: its latest attempt), their output files and money lines."""
    md = MetaData()
    Table(
        "runs",
        md,
        Column("id", Text, primary_key=True),  # ULID: sortable by start time
        Column("campaign", Text, nullable=False),
        Column("command", Text, nullable=False),  # "run", ...
        Column("status", Text, nullable=False),  # running | finished | failed | interrupted
        Column("planned_tasks", Integer, nullable=False),
        Column("finished", Integer, nullable=False),  # tasks recorded finished by this run
        Column("failed", Integer, nullable=False),  # tasks recorded failed by this run
        Column("skipped", Integer, nullable=False),  # tasks already finished when the run began
        Column("started_utc", Text, nullable=False),  # ISO 8601
        Column("finished_utc", Text),
        Column("duration_ms", BigInteger),
    )
    Table(
        "tasks",
        md,
        Column("id", Text, primary_key=True),  # hash of the task record
        Column("run_id", Text, ForeignKey("runs.id"), nullable=False),  # run of the latest attempt
        Column("campaign", Text, nullable=False),
        Column("variant_id", Text, nullable=False),
        Column("seed", BigInteger, nullable=False),
        Column("prompt", Text, nullable=False),
        Column("negative_prompt", Text, nullable=False),
        Column("settings_json", Text, nullable=False),
        Column("engine", Text, nullable=False),
        Column("checkpoint", Text, nullable=False),
        Column("status", Text, nullable=False),  # finished | failed
        Column("error", Text),  # the failure, None when finished
        Column("attempts", Integer, nullable=False),
        Column("device", Text),  # device of the latest attempt
        Column("device_seconds", Float, nullable=False),  # summed over all attempts
        Column("recorded_utc", Text, nullable=False),
    )
    Table(
        "outputs",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("task_id", Text, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
        Column("run_id", Text, ForeignKey("runs.id"), nullable=False),
        Column("platform", Text, nullable=False),  # preset name, "" for per-clip files
        Column("kind", Text, nullable=False),
        Column("path", Text, nullable=False),
        Column("sha256", Text, nullable=False),
        Column("bytes", BigInteger, nullable=False),
        Column("probe_json", Text, nullable=False),
        Column("spec_ok", Boolean, nullable=False),
        Column("spec_problems", Text, nullable=False),
        Column("recorded_utc", Text, nullable=False),
    )
    Table(
        "costs",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("task_id", Text, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
        Column("run_id", Text, ForeignKey("runs.id"), nullable=False),  # kept for every attempt
        Column("source", Text, nullable=False),
        Column("description", Text, nullable=False),
        Column("kind", Text, nullable=False),  # actual | comparison
        Column("quantity", Float, nullable=False),
        Column("unit", Text, nullable=False),
        Column("unit_price", Float, nullable=False),
        Column("amount", Float, nullable=False),
        Column("amount_max", Float),
        Column("currency", Text, nullable=False),
        Column("recorded_utc", Text, nullable=False),
    )
    md.create_all(conn)


def m002_lookup_indexes(conn: Connection) -> None:
    """Indexes for resume (tasks by campaign and status) and for per-task outputs and costs."""
    conn.execute(text("CREATE INDEX ix_tasks_campaign_status ON tasks (campaign, status)"))
    conn.execute(text("CREATE INDEX ix_outputs_task_id ON outputs (task_id)"))
    conn.execute(text("CREATE INDEX ix_costs_task_id ON costs (task_id)"))


def m003_task_claims(conn: Connection) -> None:
    """Claims: the worker that owns a pending task, until its lease expires (the queue runs and workers share)."""
    conn.execute(text("""CREATE TABLE claims (
	task_id TEXT NOT NULL,
	campaign TEXT NOT NULL,
	run_id TEXT NOT NULL,
	worker TEXT NOT NULL,
	host TEXT NOT NULL,
	pid INTEGER NOT NULL,
	claimed_utc TEXT NOT NULL,
	expires_utc TEXT NOT NULL,
	PRIMARY KEY (task_id),
	FOREIGN KEY(run_id) REFERENCES runs (id)
)"""))


def m004_task_stages(conn: Connection) -> None:
    """Seconds per stage (load, text encode, denoise, decode, export) of every attempt of a task."""
    conn.execute(text("""CREATE TABLE stages (
	id INTEGER NOT NULL,
	task_id TEXT NOT NULL,
	run_id TEXT NOT NULL,
	stage TEXT NOT NULL,
	wall_seconds FLOAT NOT NULL,
	device_seconds FLOAT NOT NULL,
	recorded_utc TEXT NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(task_id) REFERENCES tasks (id) ON DELETE CASCADE,
	FOREIGN KEY(run_id) REFERENCES runs (id)
)"""))
    conn.execute(text("CREATE INDEX ix_stages_task_id ON stages (task_id)"))


def m005_failure_tracebacks(conn: Connection) -> None:
    """The traceback of a failed attempt, kept in the ledger (the screen shows one line)."""
    conn.execute(text("ALTER TABLE tasks ADD COLUMN traceback TEXT"))


def m006_current_tasks(conn: Connection) -> None:
    """The tasks of each campaign's current plan, in plan order (what the current view, compare and review show)."""
    conn.execute(text("""CREATE TABLE current_tasks (
	campaign TEXT NOT NULL,
	position INTEGER NOT NULL,
	task_id TEXT NOT NULL,
	PRIMARY KEY (campaign, position)
)"""))


def m007_run_processes(conn: Connection) -> None:
    """The host and pid of each run's process, so a run whose process died is marked `died` at the next start."""
    conn.execute(text("ALTER TABLE runs ADD COLUMN host TEXT"))
    conn.execute(text("ALTER TABLE runs ADD COLUMN pid INTEGER"))


def m008_review_decisions(conn: Connection) -> None:
    """Review decisions (issue 16): approve, reject, winner, notes and star ratings on a task, by reviewer and time."""
    md = MetaData()
    Table("tasks", md, Column("id", Text, primary_key=True))  # the referenced key only; never created here
    decisions = Table(
        "decisions",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),  # a task's decisions apply in this order
        Column("task_id", Text, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
        Column("action", Text, nullable=False),  # approve | reject | winner | unwinner | clear | note | rate
        Column("rating", Integer),  # 1-5 with action rate
        Column("note", Text, nullable=False),
        Column("reviewer", Text, nullable=False),
        Column("decided_utc", Text, nullable=False),
        Index("ix_decisions_task_id", "task_id"),
    )
    decisions.create(conn)


def m009_work_queue(conn: Connection) -> None:
    """The work queue (issue 18): campaigns with priority, budget and state, their tasks, and each claim's device."""
    conn.execute(text("""CREATE TABLE queue_campaigns (
	campaign TEXT NOT NULL,
	campaign_path TEXT NOT NULL,
	out_dir TEXT NOT NULL,
	priority INTEGER NOT NULL,
	budget FLOAT,
	state TEXT NOT NULL,
	enqueued_utc TEXT NOT NULL,
	updated_utc TEXT NOT NULL,
	PRIMARY KEY (campaign)
)"""))
    conn.execute(text("""CREATE TABLE queue (
	task_id TEXT NOT NULL,
	campaign TEXT NOT NULL,
	position INTEGER NOT NULL,
	estimate_usd FLOAT NOT NULL,
	state TEXT NOT NULL,
	enqueued_utc TEXT NOT NULL,
	finished_utc TEXT,
	PRIMARY KEY (task_id),
	FOREIGN KEY(campaign) REFERENCES queue_campaigns (campaign)
)"""))
    conn.execute(text("CREATE INDEX ix_queue_state_campaign ON queue (state, campaign)"))
    conn.execute(text("ALTER TABLE claims ADD COLUMN device TEXT"))


def m010_postgres_stage_ids(conn: Connection) -> None:
    """PostgreSQL only: stage row ids count up by themselves, as SQLite's INTEGER PRIMARY KEY always did (m004's DDL)."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(text("CREATE SEQUENCE stages_id_seq OWNED BY stages.id"))
    conn.execute(text("ALTER TABLE stages ALTER COLUMN id SET DEFAULT nextval('stages_id_seq')"))
    conn.execute(text("SELECT setval('stages_id_seq', COALESCE((SELECT max(id) FROM stages), 0) + 1, false)"))


MIGRATIONS: tuple[Migration, ...] = (
    m001_initial,
    m002_lookup_indexes,
    m003_task_claims,
    m004_task_stages,
    m005_failure_tracebacks,
    m006_current_tasks,
    m007_run_processes,
    m008_review_decisions,
    m009_work_queue,
    m010_postgres_stage_ids,
)


# ── Applying ────────────────────────────────────────────────────────────────────────────────────


def applied_migrations(conn: Connection) -> list[str]:
    """Names of the migrations already applied, in the order they were applied."""
    rows = conn.execute(text(f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY applied_utc, name"))
    return [row[0] for row in rows]


def apply_migrations(conn: Connection, migrations: Sequence[Migration] = MIGRATIONS) -> list[str]:
    """Apply the pending migrations inside the caller's write transaction; return their names."""
    if conn.dialect.name == "postgresql":  # workers opening one server at once: one migrates, the others wait
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    md = MetaData()
    Table(
        MIGRATIONS_TABLE,
        md,
        Column("name", Text, primary_key=True),
        Column("applied_utc", Text, nullable=False),
    )
    md.create_all(conn, checkfirst=True)
    done = set(applied_migrations(conn))
    unknown = sorted(done - {m.__name__ for m in MIGRATIONS})
    if unknown:
        raise LedgerError(f"ledger was written by a newer ltxflow (unknown migrations: {', '.join(unknown)})")
    applied = []
    for migration in migrations:
        if migration.__name__ in done:
            continue
        migration(conn)
        conn.execute(
            text(f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_utc) VALUES (:name, :at)"),
            {"name": migration.__name__, "at": datetime.now(UTC).isoformat(timespec="microseconds")},
        )
        applied.append(migration.__name__)
    return applied
