"""An extended clip through the whole workflow with the tiny engine: a 30 fps campaign whose clip is longer than
one generation is run, its TikTok file read back (rate, frames, duration) and its seams found in the ledger."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path

import av

from ltxflow.ledger.store import Ledger
from ltxflow.runner import run_campaign

REPO = Path(__file__).resolve().parents[3]
TOML = """name = "longer"
brand = "Lumen"
template = "../../templates/product_ad.j2"
variants = "variants.csv"
platforms = ["tiktok"]
seeds = [7]
allow_spec_failures = true  # 1.6 s is under TikTok's 5 s minimum: the point is the extension, kept small

[generation]
engine = "ltx2"
checkpoint = "tiny"
width = 64
height = 128
pin_size = true
frames = 49
segment_frames = 25
fps = 30
steps = 2

[guidance.video]
stg_blocks = [0]

[guidance.audio]
stg_blocks = [0]

[estimate]
device = "cpu"

[export.tiktok]
width = 144
height = 256
x264_preset = "ultrafast"
"""


def test_an_extended_30_fps_clip_is_delivered_whole_with_its_seams_recorded(tmp_path, monkeypatch, tiny_cache):
    folder = tmp_path / "campaigns" / "longer"
    folder.mkdir(parents=True)
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    rows = (REPO / "campaigns" / "demo" / "variants.csv").read_text(encoding="utf-8").splitlines()
    (folder / "variants.csv").write_text("\n".join(rows[:2]) + "\n", encoding="utf-8")  # the header and one row
    (folder / "campaign.toml").write_text(TOML, encoding="utf-8")
    monkeypatch.setenv("LTXFLOW_CACHE", str(tiny_cache))

    result = run_campaign(folder, ledger=tmp_path / "ledger.db", out_dir=tmp_path / "out", device="cpu", progress=False)
    assert tuple(result.failed) == () and result.finished == 1
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        (video,) = [o for o in ledger.outputs("longer") if o.kind == "video"]
        (task,) = [json.loads(t.settings_json) for t in ledger.tasks("longer")]
    assert (task["segment_frames"], task["overlap"], task["num_frames"], task["fps"]) == (25, 1, 49, "30/1")
    seams = json.loads(video.probe_json)["seams"]
    assert seams["joins"] == [25] and len(seams["frame_diff"]) == 1 and len(seams["audio_jump"]) == 1
    assert seams["frame_diff"][0] <= 2 * seams["frame_diff_within"]  # see test_extension.py for why this holds
    with av.open(video.path) as c:
        (v,) = c.streams.video
        assert v.average_rate == Fraction(30) and v.frames == 49  # 25 + 24 new frames: none repeated, none lost
        assert v.duration * v.time_base == Fraction(49, 30)
        a = c.streams.audio[0]
        assert abs(float(a.duration * a.time_base) - 49 / 30) < 0.03  # AAC frame granularity
