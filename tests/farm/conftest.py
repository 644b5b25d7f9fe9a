"""Farm test fixtures: a real local PostgreSQL server (Debian's `postgresql` package, started in a temporary folder on
a loopback port, stopped in `finally`), a ledger URL per backend, small campaigns, and a plugin folder whose engine
the worker subprocesses load (it logs who generated what and can hang mid-export, leaving a partial file)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

LTXFLOW = Path(sys.executable).with_name("ltxflow")
ENGINE = '''
import os, time
from fractions import Fraction
from pathlib import Path
import numpy as np
from ltxflow.clip import Clip
from ltxflow.costs import CostItem
from ltxflow.hookspecs import hookimpl

class Slow:
    name, device_name = "slow", "cpu"
    def generate(self, task, progress=None):
        time.sleep(float(os.environ.get("SLOW_SECONDS", "0.2")))
        fd = os.open(os.environ["SLOW_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, f"{os.getpid()} {task.id} {task.campaign}\\n".encode())
        os.close(fd)
        shade = 40 + 10 * len(task.variant_id)
        return Clip(np.full((task.num_frames, task.height, task.width, 3), shade, np.uint8), Fraction(task.fps))
    def close(self):
        pass

def build(settings):
    # A barrier: each worker that got a task builds its engine, then waits (a few seconds at most) for the others,
    # so the workers surely overlap.
    want = int(os.environ.get("SLOW_BARRIER", "0"))
    ready = os.path.join(os.path.dirname(os.environ["SLOW_LOG"]), "ready")
    os.makedirs(ready, exist_ok=True)
    open(os.path.join(ready, str(os.getpid())), "w").close()
    deadline = time.monotonic() + 8
    while len(os.listdir(ready)) < want and time.monotonic() < deadline:
        time.sleep(0.05)
    return Slow()

@hookimpl
def register_engines(register):
    register("slow", build)

@hookimpl
def cost_items(task, usage):
    fee = float(os.environ.get("SLOW_FEE", "0"))
    return [CostItem("render-fee", "flat fee", "actual", 1, "task", fee, fee)] if fee else []

if os.environ.get("SLOW_HANG"):  # this process hangs in its first export, a partial file written
    import importlib

    _deliver = importlib.import_module("ltxflow.export.deliver")  # the package re-exports a function `deliver`

    def _hang(clip, preset, stem, job):  # deliver.py's one-preset step: its job knows the attempt's folder
        out_dir = Path(job.out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / f".{stem}.partial.mp4").write_bytes(b"half a file")
        Path(os.environ["SLOW_HANG"]).write_text(str(out_dir))
        time.sleep(3600)

    _deliver._deliver_one = _hang
'''
CAMPAIGN = """name = "{name}"
brand = "Acme"
template = "prompt.j2"
variants = "variants.csv"
platforms = ["shorts"]
priority = {priority}
{extra}
[generation]
engine = "slow"
width = 64
height = 64
frames = 9
steps = 1
[export.shorts]
width = 64
height = 112
x264_preset = "ultrafast"
min_seconds = 0
"""


def make_campaign(root: Path, name: str, variants: int, priority: int = 0, extra: str = "") -> Path:
    """A campaign of `variants` one-seed tasks on the `slow` engine, delivered to a small Shorts file."""
    folder = root / "campaigns" / name
    folder.mkdir(parents=True)
    (folder / "campaign.toml").write_text(CAMPAIGN.format(name=name, priority=priority, extra=extra))
    (folder / "prompt.j2").write_text("A {{ thing }} on a table.")
    (folder / "variants.csv").write_text("variant_id,thing\n" + "".join(f"v{i},cup {i}\n" for i in range(variants)))
    return folder


def worker_env(root: Path, ledger: str, **extra: str) -> dict[str, str]:
    """The environment of a worker subprocess: the test's plugin folder and ledger, nothing of the caller's."""
    plugins = root / "plugins"
    plugins.mkdir(exist_ok=True)
    (plugins / "slow_engine.py").write_text(ENGINE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LTXFLOW_", "SLOW_"))}
    return {**env, "LTXFLOW_PLUGINS_DIR": str(plugins), "SLOW_LOG": str(root / "generated.log"),
            "LTXFLOW_LEDGER": ledger, **extra}  # fmt: skip


def start(root: Path, args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """An `ltxflow` subprocess in `root`, its output captured."""
    return subprocess.Popen([str(LTXFLOW), *args], cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip


def finish(procs: list[subprocess.Popen[str]], timeout: float = 120) -> list[tuple[int, str]]:
    """Wait for every process (killing any still running at the timeout); (exit code, output) of each."""
    results = []
    try:
        for p in procs:
            out = p.communicate(timeout=timeout)[0]
            results.append((p.returncode, out))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return results


def generated(root: Path) -> list[tuple[str, str, str]]:
    """(pid, task id, campaign) of every generation, in order."""
    log = root / "generated.log"
    return [tuple(line.split()) for line in log.read_text().splitlines()] if log.exists() else []  # type: ignore[misc]


# ── PostgreSQL ──────────────────────────────────────────────────────────────────────────────────


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server on 127.0.0.1 (trust auth, fsync off); yields its base URL."""
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdb:
        pytest.skip("Debian's postgresql package is not installed (.ci/run installs it)")
    pytest.importorskip("psycopg", reason="the [postgres] extra (psycopg) is not installed")
    bin_dir = Path(initdb[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="ltxflow-pg-"))
    user = "nobody" if os.geteuid() == 0 else None  # postgres refuses to run as root
    if user is not None:
        shutil.chown(root, user)
    data, port = root / "data", _free_port()
    subprocess.run([str(bin_dir / "initdb"), "-D", str(data), "-U", "ltxflow", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True, user=user, cwd=root)  # fmt: skip
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off " \
              "-c full_page_writes=off -c max_connections=100"  # fmt: skip
    ctl = [str(bin_dir / "pg_ctl"), "-D", str(data)]
    try:
        subprocess.run([*ctl, "-o", options, "-l", str(root / "log"), "-w", "-t", "60", "start"], check=True,
                       capture_output=True, user=user, cwd=root)  # fmt: skip
        yield f"postgresql://ltxflow@127.0.0.1:{port}"
    finally:
        subprocess.run([*ctl, "-m", "immediate", "stop"], capture_output=True, user=user, cwd=root)
        shutil.rmtree(root, ignore_errors=True)


_databases = iter(range(1, 1_000_000))


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request, tmp_path) -> str:
    """A fresh, empty ledger on each backend: a SQLite file, or a new database on the test PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.db")
    return new_database(request.getfixturevalue("postgres"))


def new_database(base: str) -> str:
    """The URL of a new, empty database on the test PostgreSQL server at `base`."""
    import psycopg

    name = f"ledger_{os.getpid()}_{next(_databases)}_{int(time.time() * 1000) % 100000}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{base}/{name}"
