"""benchmarks/pipeline_bench.py is not a test, but it must at least start: its --dry-run runs on the CPU."""

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "pipeline_bench.py"


def test_dry_run_prints_a_table_row(capsys) -> None:
    spec = importlib.util.spec_from_file_location("pipeline_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    table = bench.main(["--dry-run"])
    header, rule, row = table.splitlines()
    assert header.startswith("| config |") and row.startswith("| tiny 19B-style | 64x64x9")
    assert "| 2 | 4 | batched (2 calls) |" in row and "NON-FINITE" not in row
    separate = bench.main(["--dry-run", "--separate-passes"]).splitlines()[2]
    assert "separate (8 calls)" in separate
    assert row in capsys.readouterr().out
