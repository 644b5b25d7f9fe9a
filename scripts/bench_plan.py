"""Benchmark (not a test): `plan` on a 10,000-row variants CSV. Run: .venv/bin/python scripts/bench_plan.py"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from ltxflow.cli import cli
from ltxflow.plan import plan_campaign

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bench"
        shutil.copytree(REPO / "campaigns" / "demo", folder)
        toml = (folder / "campaign.toml").read_text().replace("../../templates/", str(REPO / "templates") + "/")
        (folder / "campaign.toml").write_text(toml.replace("budget = 5.00", "budget = 100000.0"))
        lines = (folder / "variants.csv").read_text().splitlines()
        rows = [lines[1 + i % (len(lines) - 1)].replace("desk-night", "x").split(",", 1)[1] for i in range(ROWS)]
        (folder / "variants.csv").write_text("\n".join([lines[0], *(f"v{i:05d},{r}" for i, r in enumerate(rows))]) + "\n")
        start = time.perf_counter()
        plan = plan_campaign(folder)
        elapsed = time.perf_counter() - start
        print(f"plan_campaign: {ROWS} rows -> {len(plan.tasks)} tasks in {elapsed:.2f} s")
        for fmt in ("table", "csv", "json"):
            start = time.perf_counter()
            result = CliRunner().invoke(cli, ["plan", str(folder), "--format", fmt], catch_exceptions=False)
            elapsed = time.perf_counter() - start
            print(f"ltxflow plan --format {fmt}: exit {result.exit_code}, {len(result.output)} chars in {elapsed:.2f} s")


if __name__ == "__main__":
    main()
