"""Layers and reruns: a changed headline re-exports from the clip cache without generating (or loading) anything;
a changed time window of a layer that only one platform draws changes only that platform's files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ltxflow.clip_cache import cache_path
from ltxflow.ledger.store import Ledger
from ltxflow.plan import plan_campaign
from ltxflow.runner import run_campaign

SMALL = 'width = 144\nheight = 256\nx264_preset = "ultrafast"\nmin_seconds = 0'
LAYERS = f"""
[export.reels]
{SMALL}
[export.tiktok]
{SMALL}

[[layer]]
name = "headline"
type = "text"
text = "{{{{ headline }}}}"
end = 0.2

[[layer]]
name = "badge"
type = "text"
text = "NEW"
start = 0.1
end = 0.3
anchor = "bottom-left"
width = 0.5
height = 0.2
platforms = ["reels"]
"""
CSV = """variant_id,product,scene,sound,avoid,headline
alpha,red mug,a sunny kitchen,a kettle whistle,watermark,Hot coffee now
beta,blue mug,a rainy window,rain on glass,text,Rainy day cup
"""


@pytest.fixture
def ledger(tmp_path):
    with Ledger.open(tmp_path / "ledger.db") as book:
        yield book


def _run(folder, ledger, out):
    return run_campaign(folder, ledger=ledger, out_dir=out, progress=False)


def _records(ledger):
    """(variant, platform, kind) -> (path, sha256) of every recorded file."""
    return {(o.variant_id, o.platform, o.kind, Path(o.path).suffix): (o.path, o.sha256) for o in ledger.outputs("spring")}


def _clips_priced(ledger, variant):
    """What a per-clip API would have charged for the variant so far: moves only when a clip is generated."""
    return next(r.comparison_low for r in ledger.summary("variant", "spring") if r.key == variant)


def test_a_changed_headline_re_exports_without_generating(make_campaign, toml, ledger, tmp_path, fake_engine):
    folder = make_campaign(toml(platforms='["reels", "tiktok"]', extra=LAYERS), csv=CSV)
    out = tmp_path / "out"
    assert _run(folder, ledger, out).finished == 2 and len(fake_engine.generated) == 2
    before, priced = _records(ledger), _clips_priced(ledger, "alpha")
    alpha = next(t for t in plan_campaign(folder).tasks if t.variant_id == "alpha")
    assert cache_path(out / "spring", alpha.id).is_file()

    (folder / "variants.csv").write_text(CSV.replace("Hot coffee now", "Iced coffee now"))
    plan = plan_campaign(folder, ledger=ledger)
    assert [t.id for t in plan.pending] == [alpha.id] and plan.reexport[alpha.id] == ("reels", "tiktok")
    assert plan.pending_money == 0.0  # a re-export is not priced as a generation
    result = _run(folder, ledger, out)
    assert result.finished == 1 and len(fake_engine.generated) == 2  # the same task, no new clip
    assert fake_engine.built == 1  # only re-exports pending: the second run loaded no engine
    assert _clips_priced(ledger, "alpha") == priced > 0
    after = _records(ledger)
    for key, (path, sha) in after.items():
        variant, platform = key[0], key[1]
        if variant == "beta" or platform == "":  # the other variant and alpha's WAV are untouched
            assert (path, sha) == before[key], key
        else:  # alpha's deliverables are new files under a new layer id
            assert path != before[key][0] and sha != before[key][1] and Path(path).is_file(), key
    videos = [o for o in ledger.outputs("spring") if o.variant_id == "alpha" and o.kind == "video"]
    assert all(f"__{json.loads(o.probe_json)['layers']['id'][:8]}.mp4" in o.path for o in videos)  # named by layer set
    assert _run(folder, ledger, out).finished == 0  # now up to date


def test_a_changed_time_window_changes_only_the_layered_outputs(make_campaign, toml, ledger, tmp_path, fake_engine):
    folder = make_campaign(toml(platforms='["reels", "tiktok"]', extra=LAYERS), csv=CSV)
    out = tmp_path / "out"
    _run(folder, ledger, out)
    before = _records(ledger)
    toml_path = folder / "campaign.toml"
    toml_path.write_text(toml_path.read_text().replace("start = 0.1\nend = 0.3", "start = 0.05\nend = 0.3"))
    plan = plan_campaign(folder, ledger=ledger)
    assert set(plan.reexport.values()) == {("reels",)}  # only reels draws the badge
    assert _run(folder, ledger, out).finished == 2 and len(fake_engine.generated) == 2
    after = _records(ledger)
    assert after.keys() == before.keys()
    for key in after:
        changed = after[key] != before[key]
        assert changed == (key[1] == "reels"), key  # reels' video, cover and preview; nothing of tiktok or the WAV


def test_without_its_cached_clip_a_re_export_generates_again(make_campaign, toml, ledger, tmp_path, fake_engine):
    folder = make_campaign(toml(platforms='["reels", "tiktok"]', extra=LAYERS), csv=CSV)
    out = tmp_path / "out"
    _run(folder, ledger, out)
    for clip in (out / "spring" / "clips").iterdir():
        clip.unlink()
    (folder / "variants.csv").write_text(CSV.replace("Rainy day cup", "Rainy day mug"))
    result = _run(folder, ledger, out)
    assert result.finished == 1 and len(fake_engine.generated) == 3 and fake_engine.built == 2
