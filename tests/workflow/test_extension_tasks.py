"""Extension settings in campaigns and tasks: [generation] segment_frames / overlap, a row's longer frames, neutral
task ids for clips that fit one generation, one-line errors, and the seams the exporter records."""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest

from ltxflow.campaign import load_campaign
from ltxflow.clip import Clip
from ltxflow.clip_cache import load_clip, save_clip
from ltxflow.errors import CampaignError, VariantsError
from ltxflow.plan import build_tasks

HEADER = "variant_id,product,scene,sound,avoid"


def _tasks(make_campaign, toml, generation="", csv=None, frames=9):
    text = toml(generation=generation).replace("frames = 9\n", f"frames = {frames}\n")
    folder = make_campaign(text, **({"csv": csv} if csv else {}))
    return {t.variant_id: t for t in build_tasks(load_campaign(folder))}


def test_a_clip_that_fits_one_generation_keeps_its_task_id(make_campaign, toml):
    plain = _tasks(make_campaign, toml)
    fits = _tasks(make_campaign, toml, "segment_frames = 9\noverlap = 1")  # frames = 9: one generation
    assert {v: t.id for v, t in fits.items()} == {v: t.id for v, t in plain.items()}
    assert all(t.segment_frames == 0 and t.overlap == 0 and t.segments == 1 for t in fits.values())


def test_longer_frames_are_made_by_extension_and_enter_the_id(make_campaign, toml):
    plain = _tasks(make_campaign, toml, frames=49)
    extended = _tasks(make_campaign, toml, "segment_frames = 25", frames=49)
    two = _tasks(make_campaign, toml, "segment_frames = 25\noverlap = 2", frames=49)
    for variant, task in extended.items():
        assert (task.segment_frames, task.overlap, task.segments, task.num_frames) == (25, 1, 2, 49)
        assert two[variant].segments == 3  # 25-frame segments adding 16 new frames each after 2 latent frames
        assert len({plain[variant].id, task.id, two[variant].id}) == 3


def test_the_tasks_segment_count_is_the_engines():
    from ltxflow.engine import Extension
    from ltxflow.tasks import Task

    base = Task("c", "v", 0, "p", "", "ltx2", "tiny", "tiny", 64, 64, 9, "24/1", 2, "one-stage", None, None, "text")  # type: ignore[arg-type]
    for frames, segment, overlap in ((49, 25, 1), (361, 121, 1), (57, 25, 2), (33, 17, 1), (121, 25, 3), (41, 17, 2)):
        task = replace(base, num_frames=frames, segment_frames=segment, overlap=overlap)
        assert task.segments == len(Extension(segment, overlap).segments(frames)), (frames, segment, overlap)


def test_a_rows_longer_frames_extend_only_that_row(make_campaign, toml):
    csv = f"{HEADER},frames\nalpha,m,s,x,y,33\nbeta,m,s,x,y,\n"
    tasks = _tasks(make_campaign, toml, "segment_frames = 17", csv=csv)
    assert (tasks["alpha"].segment_frames, tasks["alpha"].segments) == (17, 2)  # 3 latent frames, then 2 new
    assert (tasks["beta"].segment_frames, tasks["beta"].num_frames) == (0, 9)


@pytest.mark.parametrize(("generation", "message"), [
    ("segment_frames = 24", r"generation\.segment_frames: 24 is not 8k\+1; nearest valid: 17 or 25"),
    ("segment_frames = 25\noverlap = 4", r"generation\.overlap: must be 1\.\.3 latent frames for segment_frames 25, got 4"),
    ('segment_frames = 25\npipeline = "one-stage"',
     None),
    ('segment_frames = 25\npipeline = "two-stage"',
     r"generation\.segment_frames: extension runs the one-stage pipeline only, not 'two-stage'"),
])  # fmt: skip
def test_bad_extension_settings_are_one_line_errors(make_campaign, toml, generation, message):
    text = toml(generation=generation).replace("width = 64\nheight = 64", "width = 128\nheight = 128")  # two-stage: 64s
    if message is None:
        assert load_campaign(make_campaign(text)).generation.segment_frames == 25
        return
    with pytest.raises(CampaignError, match=message):
        load_campaign(make_campaign(text))


def test_an_extended_reference_audio_row_names_the_row(make_campaign, toml):
    csv = f"{HEADER},audio_mode,brand_audio,frames\nalpha,m,s,x,y,reference,jingle.wav,49\n"
    folder = make_campaign(toml(generation="segment_frames = 25"), csv=csv)
    (folder / "jingle.wav").write_bytes(b"RIFF")
    with pytest.raises(VariantsError, match=r"row 2 \(variant_id=alpha\): 49 frames > generation.segment_frames 25: "
                                            r"audio mode 'reference' pins one generation's tokens"):  # fmt: skip
        build_tasks(load_campaign(folder))


def _noise_clip(joins: tuple[int, ...]) -> Clip:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (17, 32, 32, 3), dtype=np.uint8)
    audio = rng.standard_normal((2, 17 * 16000 // 24)).astype(np.float32) * 0.1
    return Clip(frames, Fraction(24), audio, 16000, joins)


def test_the_clip_cache_keeps_the_joins(tmp_path):
    clip = _noise_clip((9,))
    assert load_clip(save_clip(clip, tmp_path / "c.mkv")).joins == (9,)  # a re-export still records its seams
    assert load_clip(save_clip(replace(clip, joins=()), tmp_path / "d.mkv")).joins == ()


def test_every_video_of_an_extended_clip_records_its_seams(tmp_path):
    from ltxflow.export import deliver_many
    from ltxflow.export.builtin import REELS
    from ltxflow.seams import measure

    small = REELS.with_overrides({"width": 144, "height": 256, "min_seconds": 0.0}, "test")
    clip = _noise_clip((9,))
    clip.frames[:] = (np.arange(17) + np.where(np.arange(17) < 9, 60, 180)).astype(np.uint8)[:, None, None, None]
    # grey frames brightening 1 level a frame, with a hard cut of 120 levels at the join
    delivered = deliver_many(clip, {"reels": small}, tmp_path, lambda p: f"x__{p}")
    (video,) = [d for d in delivered["reels"] if d.kind == "video"]
    seams = measure(clip)
    assert video.facts["seams"] == seams.facts() and seams.joins == (9,)
    assert seams.frame_diff == (121.0,) and seams.frame_diff_within == 1.0  # the cut is measured at the join
    plain = deliver_many(replace(clip, joins=()), {"reels": small}, tmp_path / "p", lambda p: f"y__{p}")
    assert all("seams" not in d.facts for d in plain["reels"])


def test_plan_says_which_variants_are_extended(make_campaign, toml, fake_presets):
    from click.testing import CliRunner

    from ltxflow.cli import cli

    csv = f"{HEADER},frames\nalpha,m,s,x,y,49\nbeta,m,s,x,y,\n"
    folder = make_campaign(toml(generation="segment_frames = 25"), csv=csv)
    table = CliRunner().invoke(cli, ["plan", str(folder)], catch_exceptions=False).output
    line = "extension: 49 frames (2.04 s at 24 fps) in 2 segments of <= 25 frames, overlap 1 latent frame(s) (alpha)"
    assert line in table and table.count("extension:") == 1  # beta fits one generation
    data = json.loads(CliRunner().invoke(cli, ["plan", str(folder), "--format", "json"], catch_exceptions=False).output)
    assert [(e["variant"], e["segments"], e["segment_frames"], e["overlap"]) for e in data["extension"]] == [("alpha", 2, 25, 1)]


def test_an_extended_clip_is_estimated_once_per_segment_and_budgets_count_it(make_campaign, toml, fake_presets):
    """Catches the estimate staying per task for extended clips: a 3-segment clip priced as one generation lets
    `plan`, `run` and the queue's global budget start work that overruns the budget threefold."""
    from ltxflow.plan import plan_campaign

    text = toml(generation="segment_frames = 25\noverlap = 2").replace("frames = 9\n", "frames = 49\n")
    plan = plan_campaign(make_campaign(text))
    per_generation = plan.estimate.money
    assert per_generation > 0 and {t.segments for t in plan.pending} == {3}
    assert plan.task_money(plan.pending[0]) == pytest.approx(3 * per_generation)
    assert plan.pending_money == pytest.approx(3 * per_generation * len(plan.pending))
    between = plan.campaign.model_copy(update={"budget": 2 * per_generation * len(plan.pending)})
    assert plan_campaign(between).over_budget  # one generation a task would fit; three do not
