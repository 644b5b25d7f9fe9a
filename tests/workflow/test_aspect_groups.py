"""Aspect groups: one master per aspect ratio the platforms need, at the pixel budget, instead of one landscape
master cropped to all; plan shows groups and losses; a pinned size warns past 10%; the ledger holds the size."""

from __future__ import annotations

import json
import sqlite3
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from ltxflow.aspect import MAX_LOSS, aspect_groups, cut_loss, master_size
from ltxflow.cli import cli
from ltxflow.export.builtin import BUILTIN_PRESETS, META_FEED_4X5, REELS, SHORTS, TIKTOK
from ltxflow.ledger.store import Ledger
from ltxflow.runner import run_campaign

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p.parent.name for p in (REPO / "campaigns").glob("*/campaign.toml"))
SMALL = 'x264_preset = "ultrafast"\nmin_seconds = 0'


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_each_aspect_gets_a_master_at_the_pixel_budget():
    presets = {p.name: p for p in (REELS, SHORTS, TIKTOK, META_FEED_4X5)}
    groups = aspect_groups(presets, 768, 512, 32, pinned=False)
    assert [(g.name, g.width, g.height, g.platforms) for g in groups] == [
        ("9:16", 480, 832, ("reels", "shorts", "tiktok")), ("4:5", 576, 704, ("meta-feed-4x5",))]  # fmt: skip
    for g in groups:
        assert g.width % 32 == 0 and g.height % 32 == 0
        assert abs(g.width * g.height / (768 * 512) - 1) < 0.05  # the budget kept
        assert all(c.loss <= MAX_LOSS for c in g.cuts)
    # the old way: the 768x512 landscape master cropped to 9:16 throws away 62.5% of its pixels
    assert cut_loss((768, 512), (9, 16)) == Fraction(5, 8)


def test_pinned_size_is_one_master_and_its_losses_are_the_old_crops():
    presets = {p.name: p for p in (REELS, META_FEED_4X5)}
    (group,) = aspect_groups(presets, 768, 512, 32, pinned=True)
    assert (group.width, group.height, group.name) == (768, 512, "3:2")
    assert [(c.platform, c.percent) for c in group.cuts] == [("reels", "crop 62.5%"), ("meta-feed-4x5", "pad 46.7%")]


@pytest.mark.parametrize("budget", [(768, 512), (1280, 704), (1920, 1088), (512, 512), (160, 288)])
@pytest.mark.parametrize("multiple", [32, 64])
def test_masters_of_every_builtin_aspect_lose_at_most_10_percent(budget, multiple):
    for preset in BUILTIN_PRESETS:
        ratio = Fraction(preset.width, preset.height)
        w, h = master_size(ratio, budget[0] * budget[1], multiple)
        assert w % multiple == 0 and h % multiple == 0
        assert cut_loss((w, h), (preset.width, preset.height)) <= MAX_LOSS, (preset.name, w, h)


def sized(text: str, width: int = 768, height: int = 512, frames: int = 73, more: str = "") -> str:
    """A campaign.toml with [generation] width, height and frames set (and `more` lines added there)."""
    text = text.replace("width = 64\n", f"width = {width}\n").replace("height = 64\n", f"height = {height}\n")
    return text.replace("frames = 9\n", f"frames = {frames}\n{more}")


def _campaign(make_campaign, toml, platforms, extra=""):
    return make_campaign(sized(toml(platforms=platforms, extra=extra)))


def test_plan_lists_groups_sizes_and_losses_and_makes_a_task_per_group(make_campaign, toml):
    folder = _campaign(make_campaign, toml, '["reels", "tiktok", "meta-feed-4x5"]')
    table = invoke("plan", folder)
    assert table.exit_code == 0, table.output
    assert "aspect groups (pixel budget 768x512 = 393,216 px):" in table.output
    assert "  9:16   master 480x832 (399,360 px): reels crop 2.5%, tiktok crop 2.5%" in table.output
    assert "  4:5    master 576x704 (405,504 px): meta-feed-4x5 pad 2.2%" in table.output
    data = json.loads(invoke("plan", folder, "--format", "json").output)
    tasks = {(t["variant_id"], t["aspect"]): t for t in data["tasks"]}
    assert sorted(tasks) == [("alpha", "4:5"), ("alpha", "9:16"), ("beta", "4:5"), ("beta", "9:16")]
    assert tasks["alpha", "9:16"]["size"] == "480x832x73" and tasks["alpha", "9:16"]["platforms"] == "reels tiktok"
    assert tasks["alpha", "4:5"]["size"] == "576x704x73" and tasks["alpha", "4:5"]["platforms"] == "meta-feed-4x5"
    assert len({t["task_id"] for t in data["tasks"]}) == 4
    assert [g["aspect"] for g in data["aspect_groups"]] == ["9:16", "4:5"]


def test_a_pinned_size_warns_past_10_percent_in_validate_and_plan(make_campaign, toml):
    folder = make_campaign(sized(toml(platforms='["reels"]'), more="pin_size = true\n"))
    warning = ("warning: aspect: reels loses crop 62.5% of its 768x512 master (over 10%): the campaign pins its size "
               "(generation.pin_size)")  # fmt: skip
    for command in ("validate", "plan"):
        result = invoke(command, folder)
        assert result.exit_code == 0 and warning in result.output.splitlines(), result.output
    unpinned = _campaign(make_campaign, toml, '["reels"]')
    assert "warning: aspect" not in invoke("plan", unpinned).output


def test_a_row_platform_subset_keeps_only_its_groups(make_campaign, toml):
    csv = "variant_id,product,scene,sound,avoid,platforms\nalpha,m,s,x,y,reels\nbeta,m,s,x,y,\n"
    folder = make_campaign(sized(toml(platforms='["reels", "meta-feed-4x5"]')), csv=csv)
    data = json.loads(invoke("plan", folder, "--format", "json").output)
    assert sorted((t["variant_id"], t["aspect"]) for t in data["tasks"]) == [
        ("alpha", "9:16"), ("beta", "4:5"), ("beta", "9:16")]  # fmt: skip


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_campaigns_deliver_9_16_from_9_16_masters(name):
    data = json.loads(invoke("plan", REPO / "campaigns" / name, "--format", "json").output)
    assert data["aspect_groups"], data
    for group in data["aspect_groups"]:
        assert all(d["loss"] <= float(MAX_LOSS) for d in group["deliverables"]), group
    for task in data["tasks"]:
        w, h, _ = map(int, task["size"].split("x"))
        if {"reels", "shorts", "tiktok"} & set(task["platforms"].split()):
            assert task["aspect"] == "9:16" and h > w, task


def test_the_ledger_records_the_generated_size_and_split_masters_keep_their_own_files(make_campaign, toml, tmp_path,
                                                                                     fake_engine):  # fmt: skip
    extra = f"[export.reels]\nwidth = 144\nheight = 256\n{SMALL}\n[export.meta-feed-4x5]\nwidth = 144\nheight = 180\n{SMALL}"
    folder = make_campaign(sized(toml(platforms='["reels", "meta-feed-4x5"]', extra=extra), 160, 288, 9))
    with Ledger.open(tmp_path / "l.db") as book:
        result = run_campaign(folder, ledger=book, out_dir=tmp_path / "out", progress=False)
    assert result.exit_code == 0 and result.finished == 4
    rows = sqlite3.connect(tmp_path / "l.db").execute("SELECT variant_id, settings_json FROM tasks").fetchall()
    sizes = sorted((v, json.loads(s)["aspect"], json.loads(s)["width"], json.loads(s)["height"]) for v, s in rows)
    assert sizes == [("alpha", "4:5", 192, 256), ("alpha", "9:16", 160, 288),
                     ("beta", "4:5", 192, 256), ("beta", "9:16", 160, 288)]  # fmt: skip
    names = {p.name for p in (tmp_path / "out" / "spring" / "current").iterdir()}  # the readable names
    assert {"spring__alpha__s1__9x16.wav", "spring__alpha__s1__4x5.wav", "spring__alpha__s1__reels.mp4",
            "spring__alpha__s1__meta-feed-4x5.mp4"} <= names  # fmt: skip
