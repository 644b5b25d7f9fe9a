"""Commands that need no engine start without torch (the ltx2 plugin imports it only when an engine is built)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import sys
from click.testing import CliRunner
import ltxflow.cli
result = CliRunner().invoke(ltxflow.cli.cli, sys.argv[1:], catch_exceptions=False)
heavy = sorted(name for name in ("torch",) if name in sys.modules)
print(result.exit_code, ",".join(heavy) or "-")
"""


@pytest.mark.parametrize("args", [
    ["--help"],
    ["validate", "campaigns/demo"],
    ["plan", "campaigns/demo", "--ledger", "{tmp}/ledger.db"],
    ["plan", "campaigns/product-photo", "--format", "json", "--ledger", "{tmp}/ledger.db"],
    ["plugins"],
    ["init", "{tmp}/starter"],
    ["ledger", "--ledger", "{tmp}/ledger.db"],
], ids=lambda a: " ".join(a[:2]))
def test_engine_free_commands_do_not_import_torch(args, tmp_path):
    """Each in a fresh interpreter (sys.modules is shared inside pytest): exit 0 and no torch."""
    from ltxflow.ledger.store import Ledger

    Ledger.open(tmp_path / "ledger.db").close()  # an existing, empty ledger (reading one creates none)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    probe = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, cwd=REPO,
                           timeout=120)  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.splitlines()[-1] == "0 -", probe.stdout
