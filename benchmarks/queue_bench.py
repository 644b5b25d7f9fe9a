#!/usr/bin/env python
"""Work-queue overheads (issue 18; a benchmark, not a timed test).

1. Claim-and-record per task: `claim_next` + `record_task` (3 output rows, 1 cost line, 2 stages, the claim released
   in the same transaction) for N queued tasks, one worker, on SQLite (a WAL file) and on PostgreSQL (a throwaway
   local server, Debian's package, started like the test fixture; or --postgres URL). Target <= 20 ms a task.
2. `ltxflow queue --tasks` listing 10,000 queued tasks: the library call plus formatting in process, and the whole
   command as a subprocess (Python start and imports included). Target <= 1 s.

    .venv/bin/python benchmarks/queue_bench.py [--tasks 300] [--listed 10000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from ltxflow.costs import CostItem, Usage
from ltxflow.ledger.models import OutputIn, StageIn, TaskIn
from ltxflow.ledger.queue import Claimed, QueueEntry, Seat
from ltxflow.ledger.store import Ledger

SEAT = Seat(socket.gethostname(), os.getpid(), "cuda:0")
COST = [CostItem("device", "H100 time", "actual", 0.01, "hour", 2.5, 2.5)]


def _fill(book: Ledger, campaign: str, n: int) -> None:
    entries = [QueueEntry(f"{campaign[:4]}{i:012d}", i, 0.01, finished=False) for i in range(n)]
    book.enqueue(campaign, entries, path="/nowhere/campaign.toml", out_dir="/nowhere", priority=0)


def claim_and_record(url: str, n: int) -> list[float]:
    """Seconds per task of claim + record, for n tasks."""
    with Ledger.open(url) as book:
        _fill(book, "bench", n)
        runs: dict[str, str] = {}
        seconds = []
        for _ in range(n):
            start = time.perf_counter()
            got = book.claim_next(SEAT, 60, runs=runs)
            assert isinstance(got, Claimed)
            runs[got.campaign] = got.run_id
            task = TaskIn(id=got.task_id, campaign="bench", variant_id="v", seed=1, prompt="p", negative_prompt="",
                          settings_json="{}", engine="ltx2", checkpoint="tiny")  # fmt: skip
            outputs = [OutputIn(task_id=got.task_id, platform=p, kind="video", path=f"/nowhere/{got.task_id}/{p}.mp4",
                                sha256="0" * 64, bytes=1000, probe_json="{}", spec_ok=True, spec_problems="")
                       for p in ("reels", "shorts", "tiktok")]  # fmt: skip
            book.record_task(got.run_id, task, outputs, COST, Usage("cuda", 36.0), worker=SEAT.worker(got.run_id),
                             stages=[StageIn(stage=s, wall_seconds=1.0, device_seconds=1.0) for s in ("denoise", "export")])  # fmt: skip
            seconds.append(time.perf_counter() - start)
        return seconds


def listing(url: str, n: int) -> tuple[float, float]:
    """(in-process seconds, subprocess seconds) of listing every one of n queued tasks."""
    from click.testing import CliRunner

    from ltxflow.cli import cli

    with Ledger.open(url) as book:
        _fill(book, "listed", n)
    start = time.perf_counter()
    result = CliRunner().invoke(cli, ["queue", "--tasks", "--ledger", url])
    inside = time.perf_counter() - start
    assert result.exit_code == 0 and len(result.output.splitlines()) >= n, result.output[-500:]
    ltxflow = Path(sys.executable).with_name("ltxflow")
    start = time.perf_counter()
    subprocess.run([str(ltxflow), "queue", "--tasks", "--ledger", url], check=True, capture_output=True)
    return inside, time.perf_counter() - start


@contextmanager
def local_postgres():
    """A throwaway PostgreSQL server on 127.0.0.1; yields a database URL."""
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdb:
        raise SystemExit("no /usr/lib/postgresql/*/bin/initdb: apt-get install postgresql, or pass --postgres URL")
    bin_dir, root = Path(initdb[-1]).parent, Path(tempfile.mkdtemp(prefix="ltxflow-pg-bench-"))
    user = "nobody" if os.geteuid() == 0 else None
    if user:
        shutil.chown(root, user)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctl = [str(bin_dir / "pg_ctl"), "-D", str(root / "data")]
    subprocess.run([str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", "ltxflow", "--auth=trust"], check=True,
                   capture_output=True, user=user, cwd=root)  # fmt: skip
    try:  # default durability (fsync on): what a team server does
        subprocess.run([*ctl, "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "-l", str(root / "log"),
                        "-w", "start"], check=True, capture_output=True, user=user, cwd=root)  # fmt: skip
        yield f"postgresql://ltxflow@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*ctl, "-m", "fast", "stop"], capture_output=True, user=user, cwd=root)
        shutil.rmtree(root, ignore_errors=True)


def _report(name: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    print(f"{name}: claim+record per task median {statistics.median(ms):.2f} ms, mean {statistics.fmean(ms):.2f} ms, "
          f"p95 {ms[int(len(ms) * 0.95)]:.2f} ms over {len(ms)} tasks")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=300, help="tasks claimed and recorded per backend")
    parser.add_argument("--listed", type=int, default=10_000, help="queued tasks listed")
    parser.add_argument("--postgres", default=None, help="an empty PostgreSQL database URL (default: start one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _report("sqlite", claim_and_record(str(Path(tmp) / "bench.db"), args.tasks))
        inside, whole = listing(str(Path(tmp) / "listed.db"), args.listed)
        print(f"sqlite: ltxflow queue --tasks, {args.listed} tasks: {inside * 1000:.0f} ms in process, "
              f"{whole * 1000:.0f} ms as a command (Python start and imports included)")  # fmt: skip
    if args.postgres:
        _report("postgresql", claim_and_record(args.postgres, args.tasks))
        return
    with local_postgres() as url:
        _report("postgresql", claim_and_record(url, args.tasks))
        inside, whole = listing(url, args.listed)
        print(f"postgresql: ltxflow queue --tasks, {args.listed} tasks: {inside * 1000:.0f} ms in process, "
              f"{whole * 1000:.0f} ms as a command")  # fmt: skip


if __name__ == "__main__":
    main()
