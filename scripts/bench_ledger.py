#!/usr/bin/env python
"""Benchmark (not a test): record N output files into a fresh SQLite ledger, one transaction per task.

    .venv/bin/python scripts/bench_ledger.py --outputs 10000 --per-task 4
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from ltxflow.costs import DEFAULT_RATES, Usage, api_comparisons, device_cost
from ltxflow.ledger import Ledger, OutputIn, TaskIn

PLATFORMS = ("", "reels", "shorts", "tiktok", "feed-4x5", "youtube")


def main() -> None:
    """Record, then summarise and export, and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", type=int, default=10_000, help="output files to record")
    parser.add_argument("--per-task", type=int, default=4, help="files per task (master + 3 platforms)")
    args = parser.parse_args()
    n_tasks = -(-args.outputs // args.per_task)
    usage = Usage(device="NVIDIA H100 80GB HBM3", device_seconds=42.0)
    costs = [device_cost(usage, DEFAULT_RATES), *api_comparisons(usage, DEFAULT_RATES)]
    platforms = [PLATFORMS[i % len(PLATFORMS)] or "" for i in range(args.per_task)]

    with tempfile.TemporaryDirectory() as tmp, Ledger.open(Path(tmp) / "ledger.db") as ledger:
        run = ledger.start_run("bench", "run", n_tasks)
        t0 = time.perf_counter()
        for i in range(n_tasks):
            task = TaskIn(id=f"task-{i:06d}", campaign="bench", variant_id=f"v{i % 100}", seed=i,
                          prompt="A cup of coffee " * 20, negative_prompt="", settings_json="{}" * 100, engine="ltx2",
                          checkpoint="tiny")
            outputs = [
                OutputIn(task_id=task.id, platform=p, kind="video", path=f"out/{i}-{p or 'master'}.mp4", sha256="ab" * 32,
                         bytes=12345, probe_json='{"fps": "24/1"}', spec_ok=True, spec_problems="")
                for p in platforms
            ]
            ledger.record_task(run, task, outputs, costs, usage)
        record_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        ledger.summary("platform")
        ledger.export_csv(Path(tmp) / "out.csv")
        read_s = time.perf_counter() - t0
    total = n_tasks * args.per_task
    print(f"recorded {total} outputs ({n_tasks} tasks × {args.per_task}, 4 cost lines each) in {record_s:.2f} s "
          f"({total / record_s:,.0f} outputs/s, {1000 * record_s / n_tasks:.2f} ms per task transaction)")
    print(f"summary by platform + CSV export of {total} outputs: {read_s:.2f} s")


if __name__ == "__main__":
    main()
