"""Spec failures are loud: validate and plan predict them per platform, run exits 1 on a failing deliverable
(recorded with the reason) unless the campaign allows it."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest
from click.testing import CliRunner

from ltxflow.cli import cli
from ltxflow.export.builtin import REELS, SHORTS, TIKTOK_AD
from ltxflow.ledger.store import Ledger
from ltxflow.spec_check import frames_for, predict
from ltxflow.tasks import Guidance, Task

SMALL = 'width = 144\nheight = 256\nx264_preset = "ultrafast"'


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _task(frames: int, fps: str = "24/1", mode: str = "text") -> Task:
    return Task("c", "v", 1, "p", "", "fake", "tiny", "tiny", 160, 288, frames, fps, 4, "one-stage", Guidance(),
                Guidance(), mode)  # type: ignore[arg-type]


@pytest.mark.parametrize(("seconds", "fps", "frames"), [(3.0, 24, 73), (3.0, 25, 81), (5.0, 24, 121), (3.0, 30, 97),
                                                        (1.0, 24, 25), (0.0, 24, 1)])  # fmt: skip
def test_frames_for_is_the_shortest_8k_plus_1_clip_that_lasts(seconds, fps, frames):
    assert frames_for(seconds, Fraction(fps)) == frames
    assert (frames - 1) % 8 == 0 and frames / fps >= seconds and (frames <= 9 or (frames - 8) / fps < seconds)


def test_predictions_name_each_limit():
    (short,) = predict(_task(17), "reels", REELS)
    assert short.failure and short.problem == ("duration 0.71 s is under the 3 s minimum of reels "
                                               "(needs frames >= 73 at 24 fps)")  # fmt: skip
    assert predict(_task(73), "reels", REELS) == []
    long = {p.problem: p.failure for p in predict(_task(1921), "tiktok-ad", TIKTOK_AD)}
    assert long == {"duration 80.04 s is over the 60 s maximum of tiktok-ad (over_length = refuse: export fails)": True}
    trimmed = predict(_task(4481), "shorts", SHORTS)  # 186.7 s: Shorts trims to its 180 s
    assert [(p.problem, p.failure) for p in trimmed] == [("trimmed from 186.71 s to the 180 s maximum", False)]
    small = replace(TIKTOK_AD, width=144, height=256, safe_box=None)
    assert "frame 144x256 is under the 540x960 minimum of tiktok-ad" in [p.problem for p in predict(_task(121), "tiktok-ad", small)]
    starved = replace(TIKTOK_AD, video_kbps=200, audio_kbps=128)
    assert any("target bitrate 328 kbps is under the 516 kbps floor" in p.problem for p in predict(_task(121), "t", starved))
    capped = replace(REELS, max_bytes=1_000_000)  # 3 s at 8 Mbit/s + 192 kbit/s is ~3.1 MB
    assert any(p.problem.startswith("estimated 3 MB is over the 1 MB cap") for p in predict(_task(73), "r", capped))
    converted = replace(REELS, fps_policy="fixed", fps=Fraction(30))
    assert [(p.problem, p.failure) for p in predict(_task(73), "r", converted)] == [
        ("frame rate 24 converted to 30 fps", False)]  # fmt: skip


def test_validate_fails_a_campaign_too_short_for_reels_naming_platform_and_limit(make_campaign, toml):
    folder = make_campaign(toml(platforms='["reels", "shorts"]'))  # 9 frames at 24 fps: 0.38 s
    result = invoke("validate", folder)
    assert result.exit_code == 1
    assert ("spec: reels: duration 0.38 s is under the 3 s minimum of reels (needs frames >= 73 at 24 fps) "
            "(variants alpha, beta)") in result.output.splitlines()  # fmt: skip
    assert not [line for line in result.output.splitlines() if line.startswith("spec: shorts")]  # no minimum
    assert result.output.splitlines()[-1] == "spec failures: spring: 2 variants, 2 tasks, platforms reels, shorts"
    plan = invoke("plan", folder)
    assert plan.exit_code == 0 and "spec: reels: duration 0.38 s is under the 3 s minimum" in plan.output
    allowed = make_campaign(toml(platforms='["reels", "shorts"]', extra="allow_spec_failures = true"))
    result = invoke("validate", allowed)
    assert result.exit_code == 0 and "spec: reels: duration 0.38 s" in result.output
    assert result.output.splitlines()[-1].startswith("ok (spec failures allowed): spring")


def test_run_exits_1_when_a_deliverable_fails_its_spec_and_records_why(make_campaign, toml, tmp_path, fake_engine):
    folder = make_campaign(toml(platforms='["reels", "shorts"]', extra=f"[export.reels]\n{SMALL}\n[export.shorts]\n"
                                f"{SMALL}"))  # fmt: skip
    result = invoke("run", folder, "--ledger", tmp_path / "l.db", "--out", tmp_path / "out", "--no-progress")
    assert result.exit_code == 1, result.output
    assert ("spec: spring__alpha__s1__reels.mp4: duration 0.38 s is under the 3 s minimum of reels"
            in result.output.splitlines())  # fmt: skip
    assert "spring: 2 finished, 0 failed, 0 skipped, 0 not run; 2 deliverables failing their spec\n" in result.output
    with Ledger.open(tmp_path / "l.db") as book:
        videos = {(o.variant_id, o.platform): o for o in book.outputs("spring") if o.kind == "video"}
    assert {k for k, o in videos.items() if not o.spec_ok} == {("alpha", "reels"), ("beta", "reels")}
    assert videos["alpha", "reels"].spec_problems == "duration 0.38 s is under the 3 s minimum of reels"
    assert videos["alpha", "shorts"].spec_ok


def test_allow_spec_failures_lets_run_exit_0_but_still_records(make_campaign, toml, tmp_path, fake_engine):
    folder = make_campaign(toml(platforms='["reels"]', extra=f"allow_spec_failures = true\n[export.reels]\n{SMALL}"))
    result = invoke("run", folder, "--ledger", tmp_path / "l.db", "--out", tmp_path / "out", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "2 deliverables failing their spec (allowed)" in result.output
    with Ledger.open(tmp_path / "l.db") as book:
        assert not any(o.spec_ok for o in book.outputs("spring") if o.kind == "video")
