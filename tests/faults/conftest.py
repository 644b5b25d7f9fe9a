"""Fault-injection fixtures: the tiny model's cache, a tiny real campaign, and `ltxflow run` as a subprocess with
the test-only fault plugin (tests/faults/plugin/fault.py) armed at one moment."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


LTXFLOW = Path(sys.executable).with_name("ltxflow")
PLUGIN_DIR = Path(__file__).parent / "plugin"

TINY_CAMPAIGN = """name = "faults"
brand = "Luma"
template = "prompt.j2"
variants = "variants.csv"
platforms = ["shorts"]
seeds = [5]
allow_spec_failures = true  # 0.38 s clips: the point here is files, not platform specs

[generation]
engine = "ltx2"
checkpoint = "tiny"
width = 64
height = 64
frames = 9
steps = 2
device = "cpu"

[guidance.video]
stg_blocks = [0]

[export.shorts]
width = 64
height = 112
x264_preset = "ultrafast"

[estimate]
device = "cpu"
seconds_per_task = 1
"""


def write_tiny_campaign(folder: Path, rows: str = "first,on a shelf\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "campaign.toml").write_text(TINY_CAMPAIGN, encoding="utf-8")
    (folder / "prompt.j2").write_text("A bottle of body wash {{ scene }}, with a soft chime.", encoding="utf-8")
    (folder / "variants.csv").write_text("variant_id,scene\n" + rows, encoding="utf-8")
    return folder


@dataclass(frozen=True)
class Project:
    """A campaign with its ledger and output folder, run by `ltxflow run` subprocesses."""

    campaign: Path
    ledger: Path
    out: Path
    env: dict[str, str]

    @property
    def folder(self) -> Path:
        """The campaign's output folder."""
        return self.out / "faults"

    def run(self, fault: str | None = None, timeout: float = 180, **env: str) -> subprocess.CompletedProcess[str]:
        """`ltxflow run` with the fault `fault` (`<moment>:<action>`) armed, or none."""
        extra = {"LTXFLOW_TEST_FAULT": fault} if fault else {}
        command = [str(LTXFLOW), "run", str(self.campaign), "--ledger", str(self.ledger), "--out", str(self.out),
                   "--no-progress"]  # fmt: skip
        return subprocess.run(command, env={**self.env, **extra, **env}, capture_output=True, text=True,
                              timeout=timeout, cwd=self.campaign.parent)  # fmt: skip

    def recorded(self) -> dict[str, str]:
        """path -> sha256 of every output the ledger records."""
        if not self.ledger.exists():
            return {}
        with sqlite3.connect(self.ledger) as conn:
            return dict(conn.execute("SELECT path, sha256 FROM outputs").fetchall())


def make_project(root: Path, tiny_cache: Path, rows: str = "first,on a shelf\n") -> Project:
    campaign = write_tiny_campaign(root / "campaign", rows)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LTXFLOW_")}
    env |= {"LTXFLOW_CACHE": str(tiny_cache), "LTXFLOW_PLUGINS_DIR": str(PLUGIN_DIR), "LTXFLOW_LOAD_PLUGINS": "fault"}
    return Project(campaign, root / "ledger.db", root / "out", env)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_only_complete_recorded_files(project: Project, tasks: bool = True) -> None:
    """The issue's invariant: the deliverables (current/, and with `tasks` the attempt folders under tasks/) are
    only complete files the ledger records, each with its sha256; no partial there or beside the reports.

    `tasks=False` right after a kill -9 mid-task: that attempt's folder is the dead run's until the next start
    sweeps it (the run is marked died then)."""
    folder = project.folder
    if not folder.exists():
        return
    hidden = [p for p in folder.rglob(".*") if tasks or "tasks" not in p.relative_to(folder).parts]
    assert hidden == [], f"partial files left: {hidden}"
    recorded = project.recorded()
    for path in (folder / "tasks").rglob("*") if tasks and (folder / "tasks").exists() else ():
        if path.is_file():
            assert str(path) in recorded, f"{path} is not in the ledger"
            assert sha256(path) == recorded[str(path)], f"{path} differs from its recorded sha256"
    by_hash = set(recorded.values())
    for path in (folder / "current").iterdir() if (folder / "current").exists() else ():
        assert sha256(path) in by_hash, f"{path} is not a recorded file"
