"""Two `ltxflow run` processes at once (issue 13): of one campaign, and of two campaigns on one ledger. Both exit 0,
every task is generated exactly once, and no file or ledger row is lost or rewritten."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from ltxflow.ledger.store import Ledger

LTXFLOW = Path(sys.executable).with_name("ltxflow")
# A local plugin (loaded from $LTXFLOW_PLUGINS_DIR by each process): an engine that takes a while per task and
# appends "<pid> <task id>" to a log, so the test sees who generated what.
ENGINE = '''
import os, time
from fractions import Fraction
import numpy as np
from ltxflow.clip import Clip
from ltxflow.hookspecs import hookimpl

class Slow:
    name, device_name = "slow", "cpu"
    def generate(self, task, progress=None):
        time.sleep(0.4)
        fd = os.open(os.environ["SLOW_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, f"{os.getpid()} {task.id}\\n".encode())
        os.close(fd)
        shade = 40 + 10 * len(task.variant_id)
        return Clip(np.full((task.num_frames, task.height, task.width, 3), shade, np.uint8), Fraction(task.fps))
    def close(self):
        pass

def build(settings):
    # A barrier: each process builds its engine once it has claimed a first task, then waits for the other, so
    # the two runs are sure to overlap.
    ready = os.path.join(os.path.dirname(os.environ["SLOW_LOG"]), "ready")
    os.makedirs(ready, exist_ok=True)
    open(os.path.join(ready, str(os.getpid())), "w").close()
    deadline = time.monotonic() + 120
    while len(os.listdir(ready)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    return Slow()

@hookimpl
def register_engines(register):
    register("slow", build)
'''
CAMPAIGN = """name = "{name}"
brand = "Acme"
template = "prompt.j2"
variants = "variants.csv"
platforms = ["shorts"]
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


def _campaign(root: Path, name: str, variants: int) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "campaign.toml").write_text(CAMPAIGN.format(name=name))
    (folder / "prompt.j2").write_text("A {{ thing }} on a table.")
    (folder / "variants.csv").write_text("variant_id,thing\n" + "".join(f"v{i},cup {i}\n" for i in range(variants)))
    return folder


def _env(tmp_path: Path) -> dict[str, str]:
    plugins = tmp_path / "plugins"
    plugins.mkdir(exist_ok=True)
    (plugins / "slow_engine.py").write_text(ENGINE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LTXFLOW_")}
    return {**env, "LTXFLOW_PLUGINS_DIR": str(plugins), "SLOW_LOG": str(tmp_path / "generated.log"),
            "LTXFLOW_LEDGER": str(tmp_path / "ledger.db")}  # fmt: skip


def _both(tmp_path: Path, first: Path, second: Path) -> list[subprocess.CompletedProcess[str]]:
    """Start two runs at once and wait for both."""
    env = _env(tmp_path)
    procs = [subprocess.Popen([str(LTXFLOW), "run", str(folder), "--out", str(tmp_path / "out"), "--no-progress"],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for folder in (first, second)]  # fmt: skip
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    return [subprocess.CompletedProcess(p.args, p.returncode, out) for p, out in zip(procs, outputs, strict=True)]


def _generated(tmp_path: Path) -> list[str]:
    """Task ids in the order they were generated; both processes made some (the barrier guarantees it)."""
    lines = [line.split() for line in (tmp_path / "generated.log").read_text().splitlines()]
    assert len({pid for pid, _ in lines}) == 2
    return [task_id for _, task_id in lines]


def _intact(book: Ledger, campaign: str, tasks: int) -> None:
    """Every task finished once, its files there with their recorded sha256, the current view complete."""
    assert len(book.finished_task_ids(campaign)) == tasks and book.claims(campaign) == []
    outputs = book.outputs(campaign)
    assert len(outputs) == tasks * 3  # shorts video, cover, preview (the clips are silent: no wav)
    for o in outputs:
        assert hashlib.sha256(Path(o.path).read_bytes()).hexdigest() == o.sha256
    assert len(list((Path(outputs[0].path).parents[3] / "current").iterdir())) == tasks * 3


def test_two_runs_of_one_campaign_share_the_tasks(tmp_path):
    folder = _campaign(tmp_path / "campaigns", "spring", 6)
    runs = _both(tmp_path, folder, folder)
    assert [r.returncode for r in runs] == [0, 0], [r.stdout for r in runs]
    generated = _generated(tmp_path)
    assert len(generated) == len(set(generated)) == 6  # each task made once, by one of the two
    with Ledger.open(tmp_path / "ledger.db") as book:
        _intact(book, "spring", 6)
        records = book.runs("spring")
        assert sum(r.finished for r in records) == 6 and all(r.status == "finished" for r in records)
        assert [r.finished + r.skipped for r in records] == [6, 6]  # each run accounts for every task


def test_two_campaigns_on_one_ledger_at_once(tmp_path):
    spring = _campaign(tmp_path / "campaigns", "spring", 4)
    autumn = _campaign(tmp_path / "campaigns", "autumn", 4)
    runs = _both(tmp_path, spring, autumn)
    assert [r.returncode for r in runs] == [0, 0], [r.stdout for r in runs]
    generated = _generated(tmp_path)
    assert len(generated) == len(set(generated)) == 8
    with Ledger.open(tmp_path / "ledger.db") as book:
        _intact(book, "spring", 4)
        _intact(book, "autumn", 4)
