"""Generation defaults come from the checkpoint (LTX-2, LTX-2.3, distilled), read from its header without torch;
the campaign overrides only what it names; plan shows the effective values."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from safetensors.numpy import save_file

from ltxflow.campaign import load_campaign
from ltxflow.cli import cli
from ltxflow.errors import CampaignError
from ltxflow.model_defaults import LTX2, LTX23, TINY, read_model_version


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def checkpoint(folder: Path, name: str, version: str | None) -> Path:
    """A small safetensors file laid out like an official checkpoint: model_version and config in its header."""
    metadata = {"config": json.dumps({"transformer": {"num_layers": 48}})}
    if version is not None:
        metadata["model_version"] = version
    path = folder / name
    save_file({"model.diffusion_model.patchify_proj.weight": np.zeros((4, 4), np.float32)}, str(path), metadata)
    return path


def _campaign(make_campaign, toml, path: Path, guidance: str = "", generation: str = "") -> Path:
    text = toml(platforms='["shorts"]', generation=f'checkpoint = "{path}"\n{generation}').replace("steps = 2\n", "")
    return make_campaign(text + guidance)


def _guider(params) -> dict[str, object]:
    """ltx-core's MultiModalGuiderParams in plan's JSON shape."""
    return {"cfg": params.cfg_scale, "stg": params.stg_scale, "rescale": params.rescale_scale,
            "modality": params.modality_scale, "stg_blocks": list(params.stg_blocks)}  # fmt: skip


@pytest.mark.parametrize(("version", "reference"), [("2.3.0", "LTX_2_3_PARAMS"), ("2.0.0", "LTX_2_PARAMS"),
                                                    (None, "LTX_2_PARAMS")])  # fmt: skip
def test_plan_shows_the_reference_defaults_of_the_checkpoint(make_campaign, toml, tmp_path, ltx_pipelines, version,
                                                             reference):  # fmt: skip
    expected = getattr(ltx_pipelines.constants, reference)
    folder = _campaign(make_campaign, toml, checkpoint(tmp_path, "model.safetensors", version))
    data = json.loads(invoke("plan", folder, "--format", "json").output)
    settings = data["settings"]
    assert settings["steps"] == expected.num_inference_steps
    assert settings["fps"] == str(int(expected.frame_rate)) and float(settings["fps"]) == expected.frame_rate
    assert settings["video_guidance"] == _guider(expected.video_guider_params)
    assert settings["audio_guidance"] == _guider(expected.audio_guider_params)
    assert settings["pipeline"] == "one-stage" and settings["from_campaign"] == []
    assert {t["steps"] for t in data["tasks"]} == {expected.num_inference_steps}
    table = invoke("plan", folder).output
    if version == "2.3.0":
        assert "model: LTX-2.3 22B (model_version 2.3.0); pipeline one-stage (reference)" in table
        assert ("  video guidance: cfg 3, stg 1, rescale 0.7, modality 3, stg_blocks [28] (reference)"
                in table.splitlines())  # fmt: skip
        assert "  steps 30 (reference), fps 24 (reference); sigmas: LTX-2 shifted flow schedule, 30 steps" in table


def test_the_campaign_overrides_only_what_it_names(make_campaign, toml, tmp_path, ltx_pipelines):
    ref = ltx_pipelines.constants.LTX_2_3_PARAMS
    folder = _campaign(make_campaign, toml, checkpoint(tmp_path, "ltx-2.3.safetensors", "2.3.0"),
                       guidance="\n[guidance.video]\ncfg = 4.5\n", generation="steps = 12")  # fmt: skip
    data = json.loads(invoke("plan", folder, "--format", "json").output)
    settings = data["settings"]
    assert settings["steps"] == 12 and settings["from_campaign"] == ["guidance.video.cfg", "steps"]
    assert settings["video_guidance"] == {**_guider(ref.video_guider_params), "cfg": 4.5}  # stg block 28 kept
    assert settings["audio_guidance"] == _guider(ref.audio_guider_params)
    assert "video guidance: cfg 4.5, stg 1, rescale 0.7, modality 3, stg_blocks [28] (campaign: cfg; the rest " \
           "reference)" in invoke("plan", folder).output


def test_a_distilled_checkpoint_defaults_to_its_fixed_schedule_without_guidance(make_campaign, toml, tmp_path,
                                                                                ltx_pipelines):  # fmt: skip
    path = checkpoint(tmp_path, "ltx-2-19b-distilled.safetensors", "2.0.0")
    folder = _campaign(make_campaign, toml, path, generation="steps = 20")
    (folder / "campaign.toml").write_text((folder / "campaign.toml").read_text().replace("width = 64", "width = 128"))
    data = json.loads(invoke("plan", folder, "--format", "json").output)
    settings = data["settings"]
    assert settings["pipeline"] == "distilled"
    assert settings["steps"] == len(ltx_pipelines.constants.DISTILLED_SIGMA_VALUES) - 1
    off = {"cfg": 1.0, "stg": 0.0, "rescale": 0.0, "modality": 1.0, "stg_blocks": []}
    assert settings["video_guidance"] == off and settings["audio_guidance"] == off
    assert "steps: not used by the distilled pipeline (fixed steps, no guidance)" in data["summary"]["warnings"]
    # the distilled pipeline renders at half size first: the masters are multiples of 64
    assert all(int(n) % 64 == 0 for t in data["tasks"] for n in t["size"].split("x")[:2])


def test_an_unreadable_checkpoint_warns_and_assumes_ltx2(make_campaign, toml, tmp_path):
    folder = _campaign(make_campaign, toml, tmp_path / "nowhere.safetensors")
    data = json.loads(invoke("plan", folder, "--format", "json").output)
    assert data["settings"]["steps"] == LTX2.steps
    assert any(w.endswith("nowhere.safetensors: file not found; defaults assume LTX-2") for w in data["summary"]["warnings"])
    (tmp_path / "junk.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    assert read_model_version(tmp_path / "junk.safetensors").problem == "not a safetensors file (header is not JSON)"


def test_the_workflow_table_matches_the_engine_and_the_reference(ltx_pipelines):
    from ltxflow.engine.sampling import default_guidance
    from ltxflow.engine.sampling.schedules import DISTILLED_STAGE1_SIGMAS
    from ltxflow.engine.tiny import TINY_NAME

    constants = ltx_pipelines.constants
    for ours, version, ref in ((LTX2, "2.0.0", constants.LTX_2_PARAMS), (LTX23, "2.3.0", constants.LTX_2_3_PARAMS)):
        video, audio = default_guidance(version)
        for mine, engine, theirs in ((ours.video_guidance, video, ref.video_guider_params),
                                     (ours.audio_guidance, audio, ref.audio_guider_params)):  # fmt: skip
            fields = (mine.cfg, mine.stg, mine.rescale, mine.modality, list(mine.stg_blocks))
            assert fields == (engine.cfg, engine.stg, engine.rescale, engine.modality, list(engine.stg_blocks))
            assert fields == tuple(_guider(theirs).values())
        assert ours.steps == ref.num_inference_steps and ours.fps == ref.frame_rate
    assert list(DISTILLED_STAGE1_SIGMAS) == constants.DISTILLED_SIGMA_VALUES
    assert TINY == TINY_NAME


def test_the_defaults_are_read_without_importing_torch(tmp_path):
    path = checkpoint(tmp_path, "m.safetensors", "2.3.0")
    code = ("import sys; from ltxflow.model_defaults import reference_for; ref, facts = reference_for(sys.argv[1], "
            "None); print(ref.steps, facts.version, 'torch' in sys.modules)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["30", "2.3.0", "False"]


def test_a_frame_rate_the_model_does_not_make_is_a_one_line_error(make_campaign, toml, fake_presets):
    from ltxflow.plan import plan_campaign

    for fps, made in (("60", None), ("50", "50/1"), ('"30000/1001"', "30000/1001"), ("24", "24/1"), ("20", None),
                      ("48", "48/1"), ("25", "25/1"), ("30", "30/1"), ("29.97", None)):  # fmt: skip
        folder = make_campaign(toml(generation=f"fps = {fps}").replace('engine = "fake"', 'engine = "ltx2"'))
        if made is None:  # one line naming the key and the rates it takes (60 fps: LTX-2 was trained at 24-50)
            with pytest.raises(CampaignError, match=r"generation\.fps: .* is not a rate the model makes; use one of "
                                                    r"24000/1001, 24, 25, 30000/1001, 30, 48, 50$"):  # fmt: skip
                load_campaign(folder)
        else:
            assert {t.fps for t in plan_campaign(folder).tasks} == {made}
