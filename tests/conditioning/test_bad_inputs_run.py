"""Bad conditioning files fail only their own variant's task, on the real tiny engine; validate and plan report them."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from ltxflow import plugins
from ltxflow.cli import cli
from ltxflow.hookspecs import hookimpl
from ltxflow.conditioning_files import MISSING
from ltxflow.ledger.store import Ledger
from ltxflow.plan import plan_campaign
from ltxflow.runner import run_campaign

ASSETS = Path(__file__).resolve().parents[2] / "campaigns/product-photo/assets"

CAMPAIGN = """name = "bad-inputs"
brand = "Luma"
template = "prompt.j2"
variants = "variants.csv"
platforms = ["shorts"]
seeds = [5]

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

[audio]
mode = "reference"
{brand_audio}

[export.shorts]
width = 64
height = 112
x264_preset = "ultrafast"

[estimate]
device = "cpu"
seconds_per_task = 1
"""


def make_campaign(folder: Path, rows: str, brand_audio: str = 'brand_audio = "logo.wav"') -> Path:
    folder.mkdir(parents=True)
    (folder / "campaign.toml").write_text(CAMPAIGN.format(brand_audio=brand_audio), encoding="utf-8")
    (folder / "prompt.j2").write_text("A bottle of body wash {{ scene }}, with a soft chime.", encoding="utf-8")
    (folder / "variants.csv").write_text("variant_id,scene,image,brand_audio\n" + rows, encoding="utf-8")
    shutil.copy(ASSETS / "sonic_logo.wav", folder / "logo.wav")
    return folder


def test_bad_files_fail_their_variant_only_and_a_fixed_rerun_runs_only_those(tmp_path, tiny_cache, monkeypatch):
    monkeypatch.setenv("LTXFLOW_CACHE", str(tiny_cache))
    folder = make_campaign(tmp_path / "c", "good,on a shelf,photo.png,\nbad-photo,by a sink,broken.png,\n"
                                            "gone,in a bath,nowhere.png,\nmute,on a towel,photo.png,silent.wav\n")  # fmt: skip
    shutil.copy(ASSETS / "product.png", folder / "photo.png")
    (folder / "broken.png").write_bytes((ASSETS / "product.png").read_bytes()[:300])  # a truncated PNG
    (folder / "silent.wav").write_bytes(b"")  # zero-length audio

    validated = CliRunner().invoke(cli, ["validate", str(folder)])
    assert validated.exit_code == 1, validated.output
    problems = [line for line in validated.output.splitlines() if line.startswith("problem: ")]
    assert problems == [f"problem: variant gone: image {folder / 'nowhere.png'}: file not found",
                        f"problem: variant mute: brand_audio {folder / 'silent.wav'}: file is empty (0 bytes)"]  # fmt: skip
    planned = CliRunner().invoke(cli, ["plan", str(folder)])
    assert planned.exit_code == 0 and f"problem: variant gone: image {folder / 'nowhere.png'}" in planned.output

    ledger = tmp_path / "l.db"
    first = CliRunner().invoke(cli, ["run", str(folder), "--ledger", str(ledger), "--out", str(tmp_path / "out"),
                                     "--no-progress"])  # fmt: skip
    assert first.exit_code == 1, first.output
    assert "bad-inputs: 1 finished, 3 failed" in first.output
    with sqlite3.connect(ledger) as db:
        errors = dict(db.execute("SELECT variant_id, error FROM tasks WHERE status = 'failed'").fetchall())
    with Ledger.open(ledger) as book:
        assert {o.variant_id for o in book.outputs("bad-inputs")} == {"good"}
    assert set(errors) == {"bad-photo", "gone", "mute"}
    assert all("\n" not in e for e in errors.values())
    assert "variant bad-photo: image" in errors["bad-photo"] and "broken.png: cannot decode image" in errors["bad-photo"]
    assert f"variant gone: image {folder / 'nowhere.png'}: file not found" in errors["gone"]
    assert f"variant mute: brand_audio {folder / 'silent.wav'}: file is empty" in errors["mute"]
    assert not [p for p in (tmp_path / "out").rglob("*") if "good" not in p.name and p.suffix in (".mp4", ".wav")]

    shutil.copy(ASSETS / "product_sage.png", folder / "broken.png")
    shutil.copy(ASSETS / "product.png", folder / "nowhere.png")
    shutil.copy(ASSETS / "sonic_logo.wav", folder / "silent.wav")
    with Ledger.open(ledger) as book:
        rerun = run_campaign(folder, ledger=book, out_dir=tmp_path / "out", progress=False)
    assert rerun.exit_code == 0 and rerun.finished == 3 and rerun.run.skipped == 1
    assert CliRunner().invoke(cli, ["validate", str(folder)]).exit_code == 0


def test_brand_audio_plugin_naming_a_missing_file_fails_at_run_not_at_plan(tmp_path):
    folder = make_campaign(tmp_path / "c", "a,on a shelf,,\nb,by a sink,,\n", brand_audio="")
    logo = tmp_path / "library" / "logo.wav"

    class SonicLibrary:
        @hookimpl
        def brand_audio(self, campaign, task):
            return logo if task.variant_id == "b" else folder / "logo.wav"

    pm = plugins.get_plugin_manager()
    plugin = SonicLibrary()
    pm.register(plugin, name="test-sonic-library")
    try:
        plan = plan_campaign(folder)
        again = plan_campaign(folder)
        a, b = plan.tasks
        assert b.condition("brand_audio").sha256 == MISSING and a.condition("brand_audio").sha256 != MISSING
        assert [t.id for t in again.tasks] == [a.id, b.id]  # stable while the file is missing
        assert plan.input_problems == (f"variant b: brand_audio {logo}: file not found",)
        out = CliRunner().invoke(cli, ["plan", str(folder), "--format", "json"])
        assert out.exit_code == 0 and json.loads(out.stdout)["summary"]["input_problems"] == list(plan.input_problems)
        logo.parent.mkdir()
        shutil.copy(ASSETS / "sonic_logo.wav", logo)
        fixed = plan_campaign(folder)
        assert fixed.tasks[0].id == a.id and fixed.tasks[1].id != b.id and not fixed.input_problems
    finally:
        pm.unregister(plugin)


def test_reference_task_without_brand_audio_is_a_one_line_ltxflow_error():
    from ltxflow.default_plugins.ltx2.request import read_media
    from ltxflow.errors import LtxflowError
    from ltxflow.tasks import Guidance, Task

    task = Task(campaign="c", variant_id="v9", seed=1, prompt="p", negative_prompt="", engine="ltx2", checkpoint="tiny",
                checkpoint_id="tiny", width=64, height=64, num_frames=9, fps="24/1", steps=2, pipeline="one-stage",
                video_guidance=Guidance(), audio_guidance=Guidance(), audio_mode="reference")  # fmt: skip
    with pytest.raises(LtxflowError, match=r"^variant v9: audio mode 'reference' needs a brand_audio file, and the task names none$"):
        read_media(task, None)
