"""The shipped demo campaign end to end through `ltxflow run` on the tiny checkpoint: an MP4 per platform that
passes that platform's round-trip checks, a WAV per clip, ledger rows with spec_ok. (About 30 s on 2 CPU cores,
mostly the one shared 1080x1920 H.264 encode per clip.)"""

import json
import math
import shutil
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pyloudnorm
from click.testing import CliRunner
from scipy.signal import resample_poly

import ltxflow.export.deliver  # noqa: F401 (spied on below)
from ltxflow.cli import cli
from ltxflow.export.probe import top_level_boxes
from ltxflow.ledger.store import Ledger

REPO = Path(__file__).resolve().parents[3]


def test_demo_campaign_runs_end_to_end(tmp_path, monkeypatch, tiny_cache) -> None:
    shutil.copytree(REPO / "campaigns" / "demo", tmp_path / "campaigns" / "demo")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LTXFLOW_CACHE", str(tiny_cache))
    exporter_warnings = _record_exporter_warnings(monkeypatch)
    result = CliRunner().invoke(cli, ["run", "campaigns/demo", "--ledger", "ledger.db", "--out", "out",
                                      "--device", "cpu", "--no-progress"], catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "demo: 3 finished, 0 failed" in result.output
    out = tmp_path / "out" / "demo"
    variants = ("desk-night", "studio-day", "dorm-study")
    for variant in variants:
        assert (out / f"demo__{variant}__s7.wav").stat().st_size > 0
        for platform in ("reels", "shorts", "tiktok"):
            assert_platform_file(out / f"demo__{variant}__s7__{platform}.mp4")
    with Ledger.open(tmp_path / "ledger.db") as book:
        outputs = book.outputs("demo")
    videos = {(o.variant_id, o.platform) for o in outputs if o.path.endswith(".mp4")}
    assert videos == {(v, p) for v in variants for p in ("reels", "shorts", "tiktok")}
    assert {o.variant_id for o in outputs if o.path.endswith(".wav")} == set(variants)
    assert all(o.bytes > 0 and len(o.sha256) == 64 for o in outputs)
    assert all(o.spec_ok for o in outputs), [(o.path, o.spec_problems) for o in outputs if not o.spec_ok]
    # The exporter's changes reach the ledger (the manifest's warnings column is read from there). The tiny
    # model's audio is noise, whose peaks the exporter limits, so an empty list cannot pass for a copied one.
    assert any(exporter_warnings.values()), exporter_warnings
    for o in outputs:
        if o.kind == "video":
            assert json.loads(o.probe_json).get("warnings", []) == exporter_warnings[o.path], o.path


def _record_exporter_warnings(monkeypatch) -> dict[str, list[str]]:
    """Spy on the exporter: {MP4 path: the warnings it reported for that file}."""
    seen: dict[str, list[str]] = {}
    module = sys.modules["ltxflow.export.deliver"]  # (the package re-exports a function of the same name)
    real = module._deliver_one

    def spy(*args, **kwargs):
        results = real(*args, **kwargs)
        seen.update({str(d.path): list(d.warnings) for d in results if d.kind == "video"})
        return results

    monkeypatch.setattr(module, "_deliver_one", spy)
    return seen


def assert_platform_file(path: Path) -> None:
    """What Reels, Shorts and TikTok check, read back independently: 1080x1920 H.264 High yuv420p at 24 fps,
    >= 3 s (Reels' minimum), AAC-LC 48 kHz stereo at -14 +/- 1 LUFS and <= -1 dBTP, moov before mdat."""
    boxes = top_level_boxes(path)
    assert boxes.index("moov") < boxes.index("mdat")
    with av.open(str(path)) as c:
        (v,) = c.streams.video
        (a,) = c.streams.audio
        ctx = v.codec_context
        assert (ctx.width, ctx.height, ctx.name, ctx.profile, ctx.pix_fmt) == (1080, 1920, "h264", "High", "yuv420p")
        assert v.average_rate == Fraction(24) and v.frames == 73
        assert float(v.duration * v.time_base) >= 3.0
        assert (a.codec_context.name, a.codec_context.profile, a.rate, a.channels) == ("aac", "LC", 48000, 2)
        audio = np.concatenate([f.to_ndarray() for f in c.decode(a)], axis=-1).astype(np.float64)  # (2, S) fltp
    assert abs(pyloudnorm.Meter(48000).integrated_loudness(audio.T) + 14.0) <= 1.0
    assert 20 * math.log10(np.abs(resample_poly(audio, 4, 1, axis=-1)).max()) <= -1.0
