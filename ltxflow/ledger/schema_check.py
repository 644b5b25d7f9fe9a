"""Do the models of `models.py` describe the database the migrations built? One line per disagreement."""

from __future__ import annotations

from dataclasses import fields

from sqlalchemy import Connection, Table, inspect

from ltxflow.costs import CostItem
from ltxflow.ledger.migrations import MIGRATIONS_TABLE
from ltxflow.ledger.models import COSTS, TABLES

# (model type, database type) that name one type: PostgreSQL stores FLOAT without a precision as DOUBLE PRECISION
_SAME_TYPES = {("FLOAT", "DOUBLE PRECISION")}
_LEDGER_COLUMNS_OF_COSTS = {"id", "task_id", "run_id", "recorded_utc"}  # filled by the ledger, not a CostItem


def schema_drift(conn: Connection) -> list[str]:
    """Every difference between the models and the migrated database: tables, columns (type, NULL, primary
    key), foreign keys and indexes; plus CostItem fields that are not money columns of `costs`."""
    inspector = inspect(conn)
    problems = []
    modelled = {model.__table__.name for model in TABLES}
    for name in sorted(set(inspector.get_table_names()) - modelled - {MIGRATIONS_TABLE}):
        problems.append(f"table {name}: built by the migrations but has no model")
    for model in TABLES:
        table: Table = model.__table__  # type: ignore[attr-defined]
        if not inspector.has_table(table.name):
            problems.append(f"table {table.name}: modelled but no migration creates it")
            continue
        problems += [f"{table.name}.{line}" for line in _table_drift(inspector, table)]
    items = {f.name for f in fields(CostItem)}
    money = {c.name for c in COSTS.columns} - _LEDGER_COLUMNS_OF_COSTS
    if items != money:
        problems.append(f"costs: CostItem fields {sorted(items ^ money)} are not both CostItem fields and columns")
    return problems


def _table_drift(inspector, table: Table) -> list[str]:  # noqa: ANN001 (a SQLAlchemy Inspector)
    """Column, primary key, foreign key and index differences of one table."""
    dialect = inspector.bind.dialect
    built = {c["name"]: c for c in inspector.get_columns(table.name)}
    problems = []
    for name in sorted(set(built) - set(table.columns.keys())):
        problems.append(f"{name}: column in the database, not in the model")
    for column in table.columns:
        found = built.get(column.name)
        if found is None:
            problems.append(f"{column.name}: column in the model, not in the database (add a migration)")
            continue
        want, got = column.type.compile(dialect), found["type"].compile(dialect)
        if want != got and (want, got) not in _SAME_TYPES:
            problems.append(f"{column.name}: model type {want}, database type {got}")
        if column.nullable != found["nullable"] and not column.primary_key:
            problems.append(f"{column.name}: model nullable={column.nullable}, database nullable={found['nullable']}")
    if inspector.get_pk_constraint(table.name)["constrained_columns"] != [c.name for c in table.primary_key]:
        problems.append("primary key differs")
    want_fks = {
        (fk.parent.name, fk.column.table.name, fk.column.name, (fk.ondelete or "").upper()) for fk in table.foreign_keys
    }
    got_fks = {
        (fk["constrained_columns"][0], fk["referred_table"], fk["referred_columns"][0],
         (fk.get("options", {}).get("ondelete") or "").upper())
        for fk in inspector.get_foreign_keys(table.name)
    }  # fmt: skip
    for fk in sorted(want_fks ^ got_fks):
        where = "model" if fk in want_fks else "database"
        problems.append(f"{fk[0]}: foreign key to {fk[1]}.{fk[2]} {fk[3] or ''} only in the {where}".replace("  ", " "))
    want_ix = {(ix.name, tuple(c.name for c in ix.columns)) for ix in table.indexes}
    got_ix = {(ix["name"], tuple(ix["column_names"])) for ix in inspector.get_indexes(table.name)}
    for name, columns in sorted(want_ix ^ got_ix):
        where = "model" if (name, columns) in want_ix else "database"
        problems.append(f"index {name} ({', '.join(columns)}) only in the {where}")
    return problems
