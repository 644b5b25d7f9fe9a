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


def test_help_and_the_queue_listing_load_no_media_stack():
    """Catches a default plugin importing at load what only its hooks need: every command loads the plugins, and the
    presets plugin once pulled in PyAV and numpy (and the campaign models) for `--help` and `ltxflow queue`, which
    need neither: 0.6 s of a 0.8 s start."""
    probe = """
import sys
from click.testing import CliRunner
import ltxflow.cli
for args in (["--help"], ["queue", "--help"]):
    assert CliRunner().invoke(ltxflow.cli.cli, args).exit_code == 0
print(",".join(sorted(n for n in ("av", "numpy", "PIL", "ltxflow.campaign", "ltxflow.export") if n in sys.modules)) or "-")
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "-", done.stdout
