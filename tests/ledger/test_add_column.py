"""Adding a ledger column is one model edit plus one migration: tried on a temp copy of the package."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from ltxflow.costs import Usage
from ltxflow.ledger import Ledger

PACKAGE = Path(__file__).resolve().parents[2] / "ltxflow"
FIELD = '    note: str = text("a reviewer\'s note on the file", default="")\n'
MIGRATION = '''

def m900_output_note(conn: Connection) -> None:
    """A reviewer's note on each file."""
    conn.execute(text("ALTER TABLE outputs ADD COLUMN note TEXT NOT NULL DEFAULT ''"))
'''

# Runs with the copied package first on sys.path: upgrade the old ledger, record a file with a note, read back.
CHILD = r"""
import json, sys
import ltxflow
from ltxflow.costs import Usage
from ltxflow.ledger import Ledger, OutputIn, TaskIn, db
from ltxflow.ledger.records import LedgerError
from ltxflow.ledger.schema_check import schema_drift
from ltxflow.ledger.schema_doc import schema_markdown

result = {"package": ltxflow.__file__}
with Ledger.open(sys.argv[1]) as ledger:
    run = ledger.start_run("spring", "run", 1)
    task = TaskIn(id="t2", campaign="spring", variant_id="v2", seed=1, prompt="p", negative_prompt="",
                  settings_json="{}", engine="fake", checkpoint="tiny")
    out = OutputIn(task_id="t2", platform="reels", kind="video", path="v2.mp4", sha256="0" * 64, bytes=1,
                   probe_json="{}", spec_ok=True, spec_problems="", note="approved")
    ledger.record_task(run, task, [out], [], Usage("cpu", 1.0))
    result["notes"] = {o.variant_id: o.note for o in ledger.outputs("spring")}
    with db.read_transaction(ledger.engine) as conn:
        result["drift"] = schema_drift(conn)
try:
    result["doc"] = schema_markdown()
except LedgerError as exc:
    result["doc_error"] = str(exc)
print(json.dumps(result))
"""


def _copy(tmp_path: Path, *, model: bool, migration: bool) -> Path:
    """The package copied to tmp_path/src, with the note field added to OutputIn and/or its migration."""
    src = tmp_path / "src"
    shutil.copytree(PACKAGE, src / "ltxflow", ignore=shutil.ignore_patterns("__pycache__", "engine"))
    models = src / "ltxflow" / "ledger" / "models.py"
    migrations = src / "ltxflow" / "ledger" / "migrations.py"
    if model:
        text, n = re.subn(r"(class OutputIn\(SQLModel\):.*?\n    spec_problems: [^\n]*\n)", lambda m: m[1] + FIELD,
                          models.read_text(), count=1, flags=re.DOTALL)  # fmt: skip
        assert n == 1, "OutputIn's last field moved: update this test's edit"
        models.write_text(text)
    if migration:
        text = migrations.read_text()

        def append(match: re.Match[str]) -> str:
            names = match[1].rstrip().rstrip(",")
            return f"{MIGRATION}\n\nMIGRATIONS: tuple[Migration, ...] = ({names}, m900_output_note)"

        text, n = re.subn(r"\n\nMIGRATIONS: tuple\[Migration, \.\.\.\] = \((.*?)\)", append, text, count=1, flags=re.DOTALL)
        assert n == 1, "MIGRATIONS moved: update this test's edit"
        migrations.write_text(text)
    return src


def _child(src: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Python with the copied package first on the path (run from inside the copy, not the checkout)."""
    return subprocess.run([sys.executable, *args], env={"PYTHONPATH": str(src)}, cwd=src, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def _old_ledger(path: Path, make_task, make_outputs) -> None:
    """A ledger written by the unmodified code, holding one finished task of campaign spring."""
    with Ledger.open(path) as ledger:
        run = ledger.start_run("spring", "run", 1)
        task = make_task(variant_id="v1", task_id="t1")
        ledger.record_task(run, task, make_outputs(task, ("reels",)), [], Usage("cpu", 1.0))
        ledger.finish_run(run, "finished")


def test_one_model_field_and_one_migration_add_a_column(tmp_path, make_task, make_outputs):
    _old_ledger(tmp_path / "old.db", make_task, make_outputs)
    src = _copy(tmp_path, model=True, migration=True)
    done = _child(src, "-c", CHILD, str(tmp_path / "old.db"))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert Path(result["package"]).is_relative_to(src)  # the copy ran, not the checkout
    assert result["notes"] == {"v1": "", "v2": "approved"}  # the old row upgraded, the new one written and read
    assert result["drift"] == []
    doc = result["doc"]
    assert "`m900_output_note`: A reviewer's note on each file." in doc
    assert "note TEXT NOT NULL DEFAULT ''" in doc and "| `note` | a reviewer's note on the file |" in doc


def test_a_model_field_without_its_migration_fails_loudly_and_never_reaches_the_doc(tmp_path, make_task, make_outputs):
    _old_ledger(tmp_path / "old.db", make_task, make_outputs)
    src = _copy(tmp_path, model=True, migration=False)
    done = _child(src, "-c", CHILD, str(tmp_path / "old.db"))
    assert done.returncode != 0 and "no column named note" in done.stderr  # the write refers to a missing column
    doc = _child(src, "-c", "from ltxflow.ledger.schema_doc import schema_markdown; schema_markdown()")
    assert "outputs.note: column in the model, not in the database (add a migration)" in doc.stderr
