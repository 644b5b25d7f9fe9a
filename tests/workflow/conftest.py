"""Workflow test fixtures: campaigns written into tmp_path, and test doubles registered as throwaway plugins."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from ltxflow import plugins
from ltxflow.clip import Clip
from ltxflow.errors import LtxflowError
from ltxflow.hookspecs import hookimpl

TEMPLATE = """{{ scene | sentence }} {{ brand }} {{ product }}. Sound: {{ sound }}.
{%- set negative_prompt = "blurry, " ~ avoid %}
"""
CSV = """variant_id,product,scene,sound,avoid
alpha,red mug,a sunny kitchen,a kettle whistle,watermark
beta,blue mug,a rainy window,rain on glass,text
"""


def campaign_toml(platforms: str = '["t-tall", "t-wide"]', extra: str = "", generation: str = "") -> str:
    """A small valid campaign.toml; `extra` is appended at top level, `generation` inside [generation]."""
    return f"""name = "spring"
brand = "Acme"
template = "prompt.j2"
variants = "variants.csv"
platforms = {platforms}
seeds = [1]
{extra}

[generation]
engine = "fake"
width = 64
height = 64
frames = 9
steps = 2
{generation}
"""


def write_campaign(root: Path, toml: str | None = None, csv: str = CSV, template: str = TEMPLATE) -> Path:
    """Write campaign.toml, variants.csv and prompt.j2 into root/spring and return the folder."""
    folder = root / "spring"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "campaign.toml").write_text(campaign_toml() if toml is None else toml, encoding="utf-8")
    (folder / "variants.csv").write_text(csv, encoding="utf-8")
    (folder / "prompt.j2").write_text(template, encoding="utf-8")
    return folder


@pytest.fixture
def pm():
    """The shared plugin manager, loaded."""
    return plugins.get_plugin_manager()


@dataclass(frozen=True)
class FakePreset:
    """A stand-in export preset for planning tests (no file is ever written with it)."""

    name: str
    overrides: tuple[tuple[str, Any], ...] = ()

    def with_overrides(self, mapping: dict[str, Any], source: str) -> FakePreset:
        if "bogus" in mapping:
            raise ValueError(f"{source}: unknown preset field 'bogus'")
        return replace(self, overrides=tuple(sorted(mapping.items())))


@pytest.fixture
def fake_presets(pm):
    """Presets `t-tall` and `t-wide`, registered for the test only."""

    class Plugin:
        @hookimpl
        def register_export_presets(self, register):
            register(FakePreset("t-tall"))
            register(FakePreset("t-wide"))

    plugin = Plugin()
    pm.register(plugin, name="test-presets")
    yield plugin
    pm.unregister(plugin)


@dataclass
class FakeEngineControl:
    """How the test double behaves, and what it saw."""

    fail: set[str] = field(default_factory=set)  # variant ids whose generation raises
    interrupt: str | None = None  # variant id whose generation raises KeyboardInterrupt
    built: int = 0  # factory calls
    closed: int = 0
    generated: list[str] = field(default_factory=list)  # task ids
    silent: bool = False
    sigterm: str | None = None  # variant id whose generation sends this process SIGTERM
    load_error: str = ""  # when set, the factory raises LtxflowError with this message


class FakeEngine:
    """Test double for an engine: a few frames of a flat colour and a sine tone."""

    name = "fake"
    device_name = "cpu"

    def __init__(self, control: FakeEngineControl) -> None:
        self.control = control

    def generate(self, task, progress=None) -> Clip:
        for step in range(task.steps):
            if progress is not None:
                progress(step + 1, task.steps)
        if task.variant_id == self.control.interrupt:
            raise KeyboardInterrupt
        if task.variant_id == self.control.sigterm:
            os.kill(os.getpid(), signal.SIGTERM)
        if task.variant_id in self.control.fail:
            raise RuntimeError(f"out of memory on {task.variant_id}")
        self.control.generated.append(task.id)
        shade = (task.seed * 37 + len(task.variant_id) * 11) % 200 + 30
        frames = np.full((task.num_frames, task.height, task.width, 3), shade, np.uint8)
        frames[:, : task.height // 2, :, 0] = 255 - shade
        if self.control.silent:
            return Clip(frames, task.frame_rate)
        rate = 16000
        t = np.arange(int(rate * task.num_frames / task.frame_rate)) / rate
        audio = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
        return Clip(frames, task.frame_rate, audio, rate)

    def close(self) -> None:
        self.control.closed += 1


@pytest.fixture
def fake_engine(pm):
    """Engine `fake`, registered for the test only; yields its control panel."""
    control = FakeEngineControl()

    def factory(settings):
        if control.load_error:
            raise LtxflowError(control.load_error)
        control.built += 1
        control.settings = settings
        return FakeEngine(control)

    class Plugin:
        @hookimpl
        def register_engines(self, register):
            register("fake", factory)

    plugin = Plugin()
    pm.register(plugin, name="test-fake-engine")
    yield control
    pm.unregister(plugin)


def clip_of(n: int = 9) -> Clip:
    """A small silent clip."""
    return Clip(np.zeros((n, 64, 64, 3), np.uint8), Fraction(24))




@pytest.fixture
def make_campaign(tmp_path):
    """write_campaign bound to tmp_path: make_campaign(toml=None, csv=CSV, template=TEMPLATE) -> folder."""
    return lambda toml=None, csv=CSV, template=TEMPLATE: write_campaign(tmp_path, toml, csv, template)


@pytest.fixture
def toml():
    """The campaign_toml builder."""
    return campaign_toml
