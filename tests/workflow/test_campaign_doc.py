"""docs/campaign.md's key reference is generated from the campaign models, and what it shows is a valid campaign."""

from __future__ import annotations

import re
from pathlib import Path

from ltxflow.campaign import Campaign, load_campaign
from ltxflow.campaign_doc import COLUMNS_END, COLUMNS_START, END, START, columns_markdown, keys_markdown
from ltxflow.campaign_rows import RowSettings, row_settings
from ltxflow.model_defaults import effective_settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "campaign.md"


def _block() -> str:
    return keys_markdown().split("```toml\n", 1)[1].split("```", 1)[0]


def test_checked_in_key_reference_matches_the_models():
    doc = DOC.read_text(encoding="utf-8")
    assert doc[doc.index(START) : doc.index(END) + len(END) + 1] == keys_markdown(), "run: python scripts/campaign_doc.py"


def test_every_key_of_every_table_is_documented_with_a_comment():
    block = _block()
    keys = re.findall(r"^(\w+) = .*  # \S", block, flags=re.MULTILINE)
    tables = re.findall(r"^\[([\w.]+)\] +# \S", block, flags=re.MULTILINE)
    top = [f.alias or n for n, f in Campaign.model_fields.items() if n not in ("expand", "generation", "guidance",
           "audio", "conditioning", "lora", "cover", "estimate", "final", "export")]  # fmt: skip
    assert keys[: len(top)] == top
    assert tables == ["expand", "generation", "guidance.video", "guidance.audio", "audio", "conditioning", "cover",
                      "estimate", "final", "export.reels"]  # fmt: skip
    assert "frames = 121" in block and "num_frames" not in block  # the TOML name, not the Python one


def test_the_documented_example_is_itself_a_valid_campaign(tmp_path):
    folder = tmp_path / "campaigns" / "coffee-spring"
    for name in ("hooks.csv", "assets/sonic_logo.wav", "assets/product.png", "assets/packshot.png", "clip.mp4",
                 "../../templates/coffee_hook.j2", "loras/brand.safetensors"):  # fmt: skip
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("x")
    (folder / "campaign.toml").write_text(_block())
    campaign = load_campaign(folder)
    assert (campaign.name, campaign.seeds, campaign.expand_columns) == ("coffee-spring", (11, 12), ("hook", "music"))
    effective = effective_settings(campaign)  # shown: each table's (LTX-2) defaults, which tiny's scales equal
    assert effective.audio_guidance.cfg == 7.0 and effective.video_guidance.cfg == 3.0
    assert dict(campaign.export["reels"]) == {"loudness_lufs": -16.0}
    assert [(e.path.name, e.strength, e.stage) for e in campaign.lora] == [("brand.safetensors", 0.8, "all")]
    final = campaign.final_campaign().generation  # the documented [final] profile renders
    assert (final.pipeline, final.width, final.height, final.steps) == ("one-stage", 1088, 1920, 50)


def test_checked_in_column_reference_matches_the_row_model():
    doc = DOC.read_text(encoding="utf-8")
    block = doc[doc.index(COLUMNS_START) : doc.index(COLUMNS_END) + len(COLUMNS_END) + 1]
    assert block == columns_markdown(), "run: python scripts/campaign_doc.py"
    documented = re.findall(r"^\| `(\w+)` \| \S", block, flags=re.MULTILINE)
    assert documented == [f.alias or n for n, f in RowSettings.model_fields.items()]
    assert all(row.count("|") == 3 for row in block.splitlines()[1:-1])  # no stray pipes splitting a cell


def test_every_documented_column_is_read_from_a_row():
    """A column the docs list must change the row's settings (a documented column nobody reads is a lie)."""
    cells = {"audio_mode": "silent", "brand_audio": "j.wav", "seeds": "3 4", "steps": "7", "frames": "17", "fps": "25",
             "video_cfg": "2.5", "video_stg": "0", "video_rescale": "0.5", "video_modality": "1", "audio_cfg": "5",
             "audio_stg": "0.5", "audio_rescale": "0", "audio_modality": "2", "image": "a.png",
             "image_strength": "0.8", "end_image": "b.png", "end_image_strength": "0.6", "source_video": "c.mp4",
             "cover_at": "1.5"}  # fmt: skip
    documented = re.findall(r"^\| `(\w+)` \|", columns_markdown(), flags=re.MULTILINE)
    assert sorted(cells) == sorted(documented)
    settings = row_settings(cells, "row 2")
    assert all(getattr(settings, name) is not None for name in documented)
    assert settings.seeds == (3, 4) and settings.steps == 7 and settings.video_cfg == 2.5
