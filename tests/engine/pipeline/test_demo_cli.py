"""The shipped demo campaign end to end through the `ltxflow` commands of scripts/demo, as written, on the tiny
checkpoint: an MP4 per platform that passes that platform's round-trip checks, a WAV per clip, ledger rows with
spec_ok and stage times that account for the run's wall time; then every command the README shows next. (About
30 s on 2 idle CPU cores, mostly the one shared 1080x1920 H.264 encode per clip.)"""

import json
import math
import shlex
import shutil
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pyloudnorm
import pytest
from click.testing import CliRunner
from scipy.signal import resample_poly

import ltxflow.export.deliver  # noqa: F401 (spied on below)
from ltxflow.cli import cli
from ltxflow.export.probe import top_level_boxes
from ltxflow.ledger.store import Ledger

REPO = Path(__file__).resolve().parents[3]


def _demo_commands() -> list[list[str]]:
    """The `ltxflow` commands of scripts/demo, as written (campaigns/product-photo left out for time)."""
    lines = (REPO / "scripts" / "demo").read_text().splitlines()
    commands = [shlex.split(line)[1:] for line in lines if line.startswith(".venv/bin/ltxflow ")]
    return [c for c in commands if "campaigns/product-photo" not in c]


def _readme_commands() -> list[list[str]]:
    """The `ltxflow` commands of the README's Workflow block, as written (comments dropped), but for `ltxflow
    review` without `--export`: that one serves until Ctrl-C (tests/review/test_cli_serve.py starts it for real)."""
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Workflow", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [shlex.split(line.split("#", 1)[0])[1:] for line in block.splitlines() if line.startswith("ltxflow ")]
    return [c for c in commands if c[0] != "review" or "--export" in c]


def test_demo_campaign_runs_end_to_end(tmp_path, monkeypatch, tiny_cache) -> None:
    shutil.copytree(REPO / "campaigns" / "demo", tmp_path / "campaigns" / "demo")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LTXFLOW_CACHE", str(tiny_cache))
    monkeypatch.delenv("LTXFLOW_LEDGER")  # the demo and the README rely on the default location rule
    exporter_warnings = _record_exporter_warnings(monkeypatch)
    demo = _demo_commands()
    assert demo[0] == ["run", "campaigns/demo"] and ["ledger", "--by", "stage"] in demo
    for args in demo:
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, (args, result.output)
        if args[0] == "run":
            assert "demo: 3 finished, 0 failed" in result.output
            assert f"ledger: {tmp_path / 'ltxflow-ledger.db'}\n" in result.output
    out = tmp_path / "out" / "demo" / "current"
    variants = ("desk-night", "studio-day", "dorm-study")
    for variant in variants:
        assert (out / f"demo__{variant}__s7.wav").stat().st_size > 0
        for platform in ("reels", "shorts", "tiktok"):
            assert_platform_file(out / f"demo__{variant}__s7__{platform}.mp4")
    with Ledger.open(tmp_path / "ltxflow-ledger.db") as book:
        outputs = book.outputs("demo")
        (run,) = book.runs("demo")
        stages = {s.stage: s.device_seconds for s in book.stages("demo")}
        device_seconds = sum(r.device_seconds for r in book.summary("variant", "demo"))
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
    # Honest costs: every stage is recorded, and together they account for the run's wall time (within 10%).
    assert list(stages) == ["load", "text_encode", "denoise", "decode", "export"]
    assert abs(device_seconds - run.duration_ms / 1000) <= 0.1 * run.duration_ms / 1000, (device_seconds, run)
    assert device_seconds == pytest.approx(sum(stages.values()))

    for args in _readme_commands():  # every command the README shows next works as written
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, (args, result.output)
        if args[:1] == ["plan"]:
            assert "3 tasks, 0 pending" in result.output  # the demo's tasks, finished
        if args[:1] == ["compare"]:
            assert (tmp_path / "out" / "demo" / "compare.png").stat().st_size > 0
        if args[:2] == ["ledger", "--by"] and args[2] != "stage":
            assert "demo" in result.output


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
