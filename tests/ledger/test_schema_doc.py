"""docs/ledger-schema.md is generated from the migrations and the models and must not drift from them."""

from __future__ import annotations

from pathlib import Path

from ltxflow.ledger.migrations import MIGRATIONS
from ltxflow.ledger.schema_doc import schema_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "ledger-schema.md"


def test_checked_in_schema_doc_matches_the_migrations():
    assert DOC.read_text(encoding="utf-8") == schema_markdown(), "run: python scripts/ledger_schema.py"


def test_schema_doc_names_every_migration_and_table():
    markdown = schema_markdown()
    for migration in MIGRATIONS:
        assert f"`{migration.__name__}`" in markdown
    for table in ("_ltxflow_migrations", "runs", "tasks", "outputs", "costs"):
        assert f"CREATE TABLE {table} (" in markdown
