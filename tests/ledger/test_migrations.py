"""Migrations: fresh, idempotent, upgrade, newer-schema refusal; models agree with the migrated schema."""

from __future__ import annotations

import sqlite3

import pytest
from ltxflow.costs import Usage
from ltxflow.ledger import Ledger, LedgerError
from ltxflow.ledger import db
from ltxflow.ledger.migrations import MIGRATIONS, applied_migrations, apply_migrations
from ltxflow.ledger.models import COSTS, OUTPUTS, RUNS, TABLES, TASKS
from ltxflow.ledger.schema_check import schema_drift

ALL = [m.__name__ for m in MIGRATIONS]


def _schema(path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()


def _applied(path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM _ltxflow_migrations ORDER BY applied_utc")]


def test_fresh_open_applies_every_migration_in_order(tmp_path):
    Ledger.open(tmp_path / "l.db").close()
    assert ALL[:2] == ["m001_initial", "m002_lookup_indexes"]
    assert _applied(tmp_path / "l.db") == ALL


def test_reopening_applies_nothing_and_changes_nothing(tmp_path):
    path = tmp_path / "l.db"
    Ledger.open(path).close()
    before = _schema(path), _applied(path)
    for _ in range(2):
        Ledger.open(path).close()
    assert (_schema(path), _applied(path)) == before
    engine = db.connect(path)
    with db.write_transaction(engine) as conn:
        assert apply_migrations(conn) == []
    engine.dispose()


def test_upgrade_from_first_migration_keeps_rows(tmp_path, make_task, make_outputs):
    path = tmp_path / "old.db"
    engine = db.connect(path)
    with db.write_transaction(engine) as conn:
        assert apply_migrations(conn, MIGRATIONS[:1]) == ["m001_initial"]
    engine.dispose()
    with sqlite3.connect(path) as conn:  # a ledger written before m002 existed
        conn.execute(
            "INSERT INTO runs VALUES ('r1', 'spring', 'run', 'finished', 1, 1, 0, 0, '2025-01-01T00:00:00+00:00', NULL, NULL)"
        )
        conn.execute(
            "INSERT INTO tasks VALUES ('t1', 'r1', 'spring', 'v1', 7, 'p', '', '{}', 'ltx2', 'tiny', 'finished',"
            " NULL, 1, 'cpu', 3.5, '2025-01-01T00:00:00+00:00')"
        )
        assert not [r for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_%'")]

    with Ledger.open(path) as ledger:
        assert ledger.finished_task_ids("spring") == {"t1"}
        run = ledger.start_run("spring", "run", 1)
        task = make_task(task_id="t2")
        ledger.record_task(run, task, make_outputs(task), [], Usage(device="cpu", device_seconds=1.0))
        assert ledger.finished_task_ids("spring") == {"t1", "t2"}
    assert _applied(path) == ALL
    with sqlite3.connect(path) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"ix_tasks_campaign_status", "ix_outputs_task_id", "ix_costs_task_id"} <= names


def test_ledger_from_a_newer_ltxflow_is_refused(tmp_path):
    path = tmp_path / "l.db"
    Ledger.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO _ltxflow_migrations VALUES ('m999_future', '2099-01-01T00:00:00+00:00')")
    with pytest.raises(LedgerError, match="newer ltxflow .*m999_future"):
        Ledger.open(path)


def test_models_match_the_migrated_schema(tmp_path):
    Ledger.open(tmp_path / "l.db").close()
    engine = db.connect(tmp_path / "l.db")
    with db.read_transaction(engine) as conn:
        assert schema_drift(conn) == []
    engine.dispose()
    for table in (RUNS, TASKS, OUTPUTS, COSTS):  # the drift check looked at every table
        assert table.name in {m.__table__.name for m in TABLES}


@pytest.mark.parametrize(
    ("ddl", "expected"),
    [
        ("ALTER TABLE outputs ADD COLUMN note TEXT", "outputs.note: column in the database, not in the model"),
        ("ALTER TABLE tasks DROP COLUMN device", "tasks.device: column in the model, not in the database (add a migration)"),
        ("DROP INDEX ix_costs_task_id", "costs.index ix_costs_task_id (task_id) only in the model"),
        ("CREATE INDEX ix_extra ON runs (campaign)", "runs.index ix_extra (campaign) only in the database"),
        ("CREATE TABLE reviews (id TEXT)", "table reviews: built by the migrations but has no model"),
    ],
)
def test_drift_between_models_and_database_is_named(tmp_path, ddl, expected):
    Ledger.open(tmp_path / "l.db").close()
    with sqlite3.connect(tmp_path / "l.db") as conn:
        conn.execute(ddl)
    engine = db.connect(tmp_path / "l.db")
    with db.read_transaction(engine) as conn:
        assert schema_drift(conn) == [expected]
    engine.dispose()


def test_drift_in_type_and_null_is_named(tmp_path):
    path = tmp_path / "l.db"
    Ledger.open(path).close()
    with sqlite3.connect(path) as conn:  # rebuild runs with duration_ms as TEXT NOT NULL
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'runs'").fetchone()[0]
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("DROP TABLE runs")
        conn.execute(sql.replace("duration_ms BIGINT", "duration_ms TEXT NOT NULL"))
    engine = db.connect(path)
    with db.read_transaction(engine) as conn:
        assert schema_drift(conn) == [
            "runs.duration_ms: model type BIGINT, database type TEXT",
            "runs.duration_ms: model nullable=True, database nullable=False",
        ]
    engine.dispose()


def test_every_sqlite_connection_gets_wal_busy_timeout_and_foreign_keys(tmp_path):
    with Ledger.open(tmp_path / "l.db") as ledger:
        conns = [ledger.engine.connect() for _ in range(2)]  # two pooled connections
        for conn in conns:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        for conn in conns:
            conn.close()


def test_any_sqlalchemy_url_works(tmp_path):
    url = f"sqlite:///{tmp_path / 'by-url.db'}"
    with Ledger.open(url) as ledger:
        assert ledger.runs() == []
    assert _applied(tmp_path / "by-url.db") == ALL
    with Ledger.open("sqlite://") as memory:  # in-memory database
        memory.start_run("c", "run", 0)
        assert len(memory.runs()) == 1


def test_default_location_is_env_then_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LTXFLOW_LEDGER", raising=False)
    Ledger.open(None).close()
    assert (tmp_path / "ltxflow-ledger.db").is_file()
    monkeypatch.setenv("LTXFLOW_LEDGER", str(tmp_path / "team" / "ledger.db"))
    Ledger.open(None).close()
    assert (tmp_path / "team" / "ledger.db").is_file()


@pytest.mark.parametrize(
    ("location", "message"),
    [("nosuchdriver://x/y", "no driver for 'nosuchdriver'"), ("{tmp}", "is a folder, expected a database file")],
)
def test_bad_location_is_a_one_line_error(tmp_path, location, message):
    with pytest.raises(LedgerError) as info:
        Ledger.open(location.format(tmp=tmp_path))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_applied_migrations_lists_names(tmp_path):
    Ledger.open(tmp_path / "l.db").close()
    engine = db.connect(tmp_path / "l.db")
    with db.read_transaction(engine) as conn:
        assert applied_migrations(conn) == ALL
    engine.dispose()
