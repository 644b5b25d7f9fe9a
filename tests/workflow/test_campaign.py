"""Campaign TOML: schema, errors that name file and key, sizes with suggestions, paths."""

from __future__ import annotations

from fractions import Fraction

import pytest

from ltxflow.campaign import load_campaign
from ltxflow.errors import CampaignError
from ltxflow.model_defaults import effective_settings


def test_loads_valid_campaign_with_defaults_and_resolved_paths(make_campaign):
    folder = make_campaign()
    c = load_campaign(folder)
    assert c.name == "spring" and c.brand == "Acme"
    assert c.template == folder.absolute() / "prompt.j2"
    assert c.variants == folder.absolute() / "variants.csv"
    assert c.platforms == ("t-tall", "t-wide") and c.seeds == (1,)
    assert (c.generation.width, c.generation.height, c.generation.num_frames) == (64, 64, 9)
    assert c.generation.fps is None and c.generation.steps == 2  # left out: the checkpoint's; named: the campaign's
    effective = effective_settings(c)
    assert effective.fps == Fraction(24) and effective.steps == 2
    assert effective.video_guidance.cfg == 3.0 and effective.audio_guidance.cfg == 7.0  # LTX-2's scales per modality
    assert c.budget is None and c.expand_mode == "rows"


def test_campaign_file_path_also_accepted(make_campaign):
    folder = make_campaign()
    assert load_campaign(folder / "campaign.toml").name == "spring"


@pytest.mark.parametrize(
    ("extra", "generation", "message"),
    [
        ("colour = 1", "", "unknown key 'colour'"),
        ("", "sampler = 'euler'", "unknown key 'generation.sampler'"),
        ("[guidance.video]\ncfgg = 2", "", "unknown key 'guidance.video.cfgg'"),
        ("budget = -1", "", "budget: must be >= 0"),
        ("", "fps = 'fast'", "generation.fps: expected frames per second"),
        ("", "pipeline = 'three-stage'", "generation.pipeline: 'three-stage' is not one of"),
        ("[audio]\nmode = 'loud'", "", "audio.mode: 'loud' is not one of"),
        ("[audio]\nbrand_audio = 'missing.wav'", "", "audio.brand_audio: file not found"),
        ("[export.facebook]\ncrf = 20", "", "export.facebook: not one of this campaign's platforms"),
        ("[expand]\nmode = 'cartesian'", "", "expand.columns: cartesian mode needs"),
        ("[guidance.audio]\nrescale = 2.0", "", "guidance.audio.rescale: must be in [0, 1]"),
    ],
)
def test_bad_values_name_file_and_key(make_campaign, toml, extra, generation, message):
    folder = make_campaign(toml(extra=extra, generation=generation))
    with pytest.raises(CampaignError) as err:
        load_campaign(folder)
    assert str(err.value).startswith(f"{folder.absolute() / 'campaign.toml'}: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_toml_syntax_error_and_missing_file(make_campaign, tmp_path):
    folder = make_campaign('name = "x"\nplatforms = [')
    with pytest.raises(CampaignError, match=r"campaign.toml: TOML syntax error"):
        load_campaign(folder)
    with pytest.raises(CampaignError, match=r"nowhere/campaign.toml: campaign file not found"):
        load_campaign(tmp_path / "nowhere")


def test_missing_required_key_and_missing_template(make_campaign, toml):
    folder = make_campaign(toml().replace('brand = "Acme"\n', ""))
    with pytest.raises(CampaignError, match=r": brand: missing \(required\)"):
        load_campaign(folder)
    folder = make_campaign(toml().replace("prompt.j2", "nope.j2"))
    with pytest.raises(CampaignError, match=r": template: file not found: .*nope.j2"):
        load_campaign(folder)


@pytest.mark.parametrize(
    ("generation", "message"),
    [
        ("width = 250", "generation.width: 250 is not a multiple of 32; nearest valid: 256"),
        ("height = 10", "generation.height: 10 is not a multiple of 32; nearest valid: 32"),
        ("frames = 20", "generation.frames: 20 is not 8k+1; nearest valid: 17 or 25"),
        ("frames = 0", "generation.frames: 0 is not 8k+1; nearest valid: 1 or 9"),
        ("pipeline = 'two-stage'\nwidth = 96\nheight = 128",
         "generation.width: 96 is not a multiple of 64 for the two-stage pipeline; nearest valid: 128"),
    ],
)  # fmt: skip
def test_impossible_sizes_suggest_nearest_valid(make_campaign, toml, generation, message):
    gen = toml(generation=generation)
    for key in ("width", "height", "frames", "pipeline"):
        if f"\n{key} =" in "\n" + generation:
            gen = gen.replace(f"{key} = 64\n", "").replace(f"{key} = 9\n", "")
    folder = make_campaign(gen)
    with pytest.raises(CampaignError) as err:
        load_campaign(folder)
    assert message in str(err.value)


def test_fraction_fps_and_checkpoint_path_resolve(make_campaign, toml):
    folder = make_campaign(toml(generation='fps = "30000/1001"\ncheckpoint = "weights/model.safetensors"'))
    c = load_campaign(folder)
    assert c.generation.fps == Fraction(30000, 1001)
    assert c.generation.checkpoint == str(folder.absolute() / "weights" / "model.safetensors")


@pytest.mark.parametrize("name", ["../escape", "a/b", "", "é"])
def test_campaign_name_must_be_safe(make_campaign, toml, name):
    folder = make_campaign(toml().replace('name = "spring"', f'name = "{name}"'))
    with pytest.raises(CampaignError, match=r": name"):
        load_campaign(folder)


def test_export_overrides_kept_per_platform(make_campaign, toml):
    folder = make_campaign(toml(extra="[export.t-tall]\nloudness = -16"))
    assert dict(load_campaign(folder).export["t-tall"]) == {"loudness": -16}


def test_infinite_fps_is_a_one_line_error_not_a_crash(make_campaign, toml):
    folder = make_campaign(toml(generation="fps = inf"))
    with pytest.raises(CampaignError, match=r'generation.fps: expected frames per second like 24 or "30000/1001", got inf'):
        load_campaign(folder)


def test_unknown_key_lists_the_toml_names_of_its_table(make_campaign, toml):
    folder = make_campaign(toml(generation="num_frames = 9"))
    with pytest.raises(CampaignError) as err:
        load_campaign(folder)
    assert "unknown key 'generation.num_frames' (allowed: engine, checkpoint, width, height, pin_size, frames, fps, " in str(err.value)
