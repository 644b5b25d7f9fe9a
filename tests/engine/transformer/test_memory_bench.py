"""benchmarks/memory_bench.py is not a test, but it must at least start: its --dry-run runs on the CPU."""

import importlib.util
import re
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "memory_bench.py"


def test_dry_run_measures_bf16_fp8_and_offloaded_fp8(tmp_path, capsys) -> None:
    spec = importlib.util.spec_from_file_location("memory_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    table = bench.main(["--dry-run", "--out", str(tmp_path)])
    rows = [line for line in table.splitlines() if line.startswith("| tiny |")]
    labels = [r.split(" | ")[2] for r in rows]
    assert len(labels) == 3 and labels[:2] == ["bf16 (default)", "FP8"], labels
    assert re.fullmatch(r"FP8 \+ block offload \(\d+\.\d GiB in host memory\)", labels[2]), labels[2]
    fp8_err = float(rows[1].split(" | ")[6])
    assert 0 < fp8_err < 0.1  # FP8 changes the result, a little
    assert rows[2].split(" | ")[7] == "0.0e+00"  # offloading FP8 weights computes what resident FP8 computes
    assert (tmp_path / "memory_bench.md").read_text().strip() == table
    assert table in capsys.readouterr().out
