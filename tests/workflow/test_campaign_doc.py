"""docs/campaign.md's key reference is generated from the campaign models, and what it shows is a valid campaign."""

from __future__ import annotations

import re
from pathlib import Path

from ltxflow.campaign import Campaign, load_campaign
from ltxflow.campaign_doc import END, START, keys_markdown

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
           "audio", "conditioning", "lora", "estimate", "export")]  # fmt: skip
    assert keys[: len(top)] == top
    assert tables == ["expand", "generation", "guidance.video", "guidance.audio", "audio", "conditioning", "estimate",
                      "export.reels"]  # fmt: skip
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
    assert campaign.audio_guidance.cfg == 7.0 and campaign.video_guidance.cfg == 3.0  # shown: each table's defaults
    assert dict(campaign.export["reels"]) == {"loudness_lufs": -16.0}
    assert [(e.path.name, e.strength, e.stage) for e in campaign.lora] == [("brand.safetensors", 0.8, "all")]
