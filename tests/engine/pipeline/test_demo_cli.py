"""The shipped demo campaign end to end through `ltxflow run` on the tiny checkpoint: an MP4 with a video and an
audio stream for every platform, a WAV per clip, ledger rows. (About 20 s on 2 CPU cores, mostly H.264 export.)"""

import shutil
import time
from pathlib import Path

import av
from click.testing import CliRunner

from ltxflow.cli import cli
from ltxflow.ledger.store import Ledger

REPO = Path(__file__).resolve().parents[3]


def test_demo_campaign_runs_end_to_end(tmp_path, monkeypatch, tiny_cache) -> None:
    shutil.copytree(REPO / "campaigns" / "demo", tmp_path / "campaigns" / "demo")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LTXFLOW_CACHE", str(tiny_cache))
    started = time.perf_counter()
    result = CliRunner().invoke(cli, ["run", "campaigns/demo", "--ledger", "ledger.db", "--out", "out",
                                      "--device", "cpu", "--no-progress"], catch_exceptions=False)  # fmt: skip
    seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    assert "demo: 3 finished, 0 failed" in result.output
    out = tmp_path / "out" / "demo"
    variants = ("desk-night", "studio-day", "dorm-study")
    for variant in variants:
        assert (out / f"demo__{variant}__s7.wav").stat().st_size > 0
        for platform in ("reels", "shorts", "tiktok"):
            with av.open(str(out / f"demo__{variant}__s7__{platform}.mp4")) as container:
                kinds = sorted(s.type for s in container.streams)
                assert kinds == ["audio", "video"]
    with Ledger.open(tmp_path / "ledger.db") as book:
        outputs = book.outputs("demo")
    videos = {(o.variant_id, o.platform) for o in outputs if o.path.endswith(".mp4")}
    assert videos == {(v, p) for v in variants for p in ("reels", "shorts", "tiktok")}
    assert {o.variant_id for o in outputs if o.path.endswith(".wav")} == set(variants)
    assert all(o.bytes > 0 and len(o.sha256) == 64 for o in outputs)
    assert seconds < 120  # the README promise on a 2-core CPU (the cache is warm here)
