"""Per-row settings: CSV columns override the campaign for one variant, are checked like the campaign's keys and
enter only that variant's task ids."""

from __future__ import annotations

import pytest

from ltxflow.campaign import load_campaign
from ltxflow.errors import VariantsError
from ltxflow.plan import build_tasks, plan_campaign

HEADER = "variant_id,product,scene,sound,avoid"


def _tasks(make_campaign, toml, columns: str, alpha: str, beta: str = "", extra: str = ""):
    csv = f"{HEADER},{columns}\nalpha,m,s,x,y,{alpha}\nbeta,m,s,x,y,{beta or ',' * columns.count(',')}\n"
    return build_tasks(load_campaign(make_campaign(toml(extra=extra), csv=csv)))


@pytest.mark.parametrize(
    ("column", "cell", "field", "value"),
    [("steps", "7", "steps", 7), ("frames", "17", "num_frames", 17), ("audio_mode", "silent", "audio_mode", "silent"),
     ("video_cfg", "4.5", "video_guidance.cfg", 4.5), ("video_stg", "0", "video_guidance.stg", 0.0),
     ("video_rescale", "0.2", "video_guidance.rescale", 0.2), ("video_modality", "1", "video_guidance.modality", 1.0),
     ("audio_cfg", "5", "audio_guidance.cfg", 5.0), ("audio_stg", "2", "audio_guidance.stg", 2.0),
     ("audio_rescale", "1", "audio_guidance.rescale", 1.0), ("audio_modality", "2.5", "audio_guidance.modality", 2.5),
     ("cover_at", "0.25", "cover.seconds", 0.25), ("fps", "30", "fps", "30/1"), ("fps", "30000/1001", "fps", "30000/1001")],
)  # fmt: skip
def test_a_setting_column_changes_only_its_row_and_its_id(make_campaign, toml, tmp_path, column, cell, field, value):
    plain = {t.variant_id: t for t in _tasks(make_campaign, toml, column, "")}  # the column there, cells empty
    tasks = {t.variant_id: t for t in _tasks(make_campaign, toml, column, cell)}

    def read(task):
        obj = task
        for part in field.split("."):
            obj = getattr(obj, part)
        return obj

    assert read(tasks["alpha"]) == value and read(tasks["beta"]) == read(plain["beta"]) != value
    assert tasks["alpha"].id != plain["alpha"].id and tasks["beta"].id == plain["beta"].id


def test_seeds_image_strength_and_files_per_row(make_campaign, toml, tmp_path):
    tasks = _tasks(make_campaign, toml, "seeds,image,image_strength,end_image,end_image_strength",
                   "3 4,a.png,0.7,b.png,0.4")  # fmt: skip
    alpha = [t for t in tasks if t.variant_id == "alpha"]
    assert [t.seed for t in alpha] == [3, 4] and [t.seed for t in tasks if t.variant_id == "beta"] == [1]
    image, end = alpha[0].condition("image"), alpha[0].condition("end_image")
    assert (image.path.endswith("a.png"), image.strength, end.path.endswith("b.png"), end.strength) == (True, 0.7, True, 0.4)


def test_a_rows_brand_audio_is_kept_in_any_mode(make_campaign, toml, tmp_path):
    folder = make_campaign(toml(), csv=f"{HEADER},audio_mode,brand_audio\nalpha,m,s,x,y,reference,jingle.wav\n"
                           "beta,m,s,x,y,text,jingle.wav\ngamma,m,s,x,y,,\n")  # fmt: skip
    (folder / "jingle.wav").write_bytes(b"RIFF")
    tasks = {t.variant_id: t for t in build_tasks(load_campaign(folder))}
    assert tasks["alpha"].audio_mode == "reference" and tasks["beta"].audio_mode == "text"
    for variant in ("alpha", "beta"):  # a text row's brand audio is laid over its sound, never silently dropped
        assert tasks[variant].condition("brand_audio") is not None and tasks[variant].brand_fit is not None
    assert tasks["gamma"].condition("brand_audio") is None and tasks["gamma"].brand_fit is None


@pytest.mark.parametrize(
    ("column", "cell", "message"),
    [("steps", "0", "steps: must be >= 1, got 0"), ("steps", "many", "steps: expected an integer, got 'many'"),
     ("frames", "10", "frames: 10 is not 8k+1; nearest valid: 9 or 17"),
     ("audio_mode", "loud", "audio_mode: 'loud' is not one of text, reference, video-to-audio, silent"),
     ("seeds", "1 x", "seeds: expected a list of integers, got [1, 'x']"), ("seeds", "2 2", "seeds: repeats a value: [2, 2]"),
     ("video_rescale", "1.5", "video_rescale: must be in [0, 1], got 1.5"),
     ("audio_cfg", "high", "audio_cfg: expected a number, got 'high'"),
     ("cover_at", "-1", "cover_at: must be >= 0 seconds, got -1"),
     ("fps", "29.97", "fps: '29.97' fps is not a rate the model makes; use one of 24000/1001, 24, 25, 30000/1001, "
                      "30, 48, 50")],
)  # fmt: skip
def test_a_bad_cell_names_row_and_column_like_a_bad_key(make_campaign, toml, column, cell, message):
    with pytest.raises(VariantsError) as err:
        _tasks(make_campaign, toml, column, "", beta=cell)
    assert str(err.value).endswith("variants.csv: row 3: " + message)


def test_row_steps_on_the_distilled_pipeline_are_noted_not_silently_dropped(make_campaign, toml, fake_presets):
    csv = f"{HEADER},steps,video_cfg\nalpha,m,s,x,y,12,4\nbeta,m,s,x,y,,\n"
    text = toml().replace("width = 64", "width = 128").replace("steps = 2\n", 'pipeline = "distilled"\n')
    plan = plan_campaign(make_campaign(text, csv=csv))
    assert {t.steps for t in plan.tasks} == {8}
    assert any(w.endswith("(variant_id=alpha): steps, video_cfg: not used by the distilled pipeline (fixed steps, "
                          "no guidance)") for w in plan.warnings), plan.warnings  # fmt: skip


def test_a_brand_audio_offset_past_the_clips_end_names_the_row(make_campaign, toml):
    folder = make_campaign(toml(extra='[audio]\noffset = 0.5'),
                           csv=f"{HEADER},brand_audio\nalpha,m,s,x,y,j.wav\nbeta,m,s,x,y,\n")  # 9 frames: 0.375 s
    with pytest.raises(VariantsError, match=r"row 2 \(variant_id=alpha\): \[audio\] offset 0.5 s starts after the "
                                            r"clip's end \(0.38 s\)"):  # fmt: skip
        build_tasks(load_campaign(folder))
