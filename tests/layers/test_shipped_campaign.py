"""campaigns/cold-brew-launch end to end on the tiny engine: every deliverable is read back independently:
OCR finds the row's headline, NCC finds the brand's logo where the kit puts it, text stays in the safe zone,
the caption files parse and cover the voiceover in order, the MP4 carries the disclosure (and a C2PA manifest
a reader validates), and the manifest has the upload-form columns.

One run serves every test here (x264 "ultrafast" so it takes minutes, not tens of minutes: the encoder
preset changes no layer). Layout is per frame size and safe zone, and both are the shipped presets'.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from ltxflow.export.builtin import BUILTIN_PRESETS
from ltxflow.ledger.store import Ledger
from ltxflow.runner import run_campaign
from ltxflow.variants import read_table

from .conftest import c2pa_report, frame_at, logo_search, ncc, ocr, parse_srt, parse_vtt, words

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = ROOT / "campaigns" / "cold-brew-launch"
PRESETS = {p.name: p for p in BUILTIN_PRESETS}
HAS_C2PA = importlib.util.find_spec("c2pa") is not None
MARGIN = round(0.03 * 1080)  # px: brand.toml's margin (3 % of the short side) inside the safe zone


@pytest.fixture(scope="module")
def shipped(tmp_path_factory, request):
    """Run a copy of the shipped campaign once; yield (folder, output folder, ledger outputs, rows, c2pa certs)."""
    root = tmp_path_factory.mktemp("shipped")
    shutil.copytree(CAMPAIGN, root / "campaigns" / CAMPAIGN.name)
    (root / "templates").mkdir()
    shutil.copy(ROOT / "templates" / "cold_brew.j2", root / "templates")
    folder = root / "campaigns" / CAMPAIGN.name
    toml = folder / "campaign.toml"
    text = toml.read_text()
    toml.write_text(text + "".join(f'\n[export.{p}]\nx264_preset = "ultrafast"\n'
                                   for p in ("reels", "shorts", "tiktok", "meta-feed-4x5")))  # fmt: skip
    certs = request.getfixturevalue("c2pa_certificate") if HAS_C2PA else None
    with pytest.MonkeyPatch.context() as mp:
        if certs:
            mp.setenv("LTXFLOW_C2PA_CERT", str(certs["chain"]))
            mp.setenv("LTXFLOW_C2PA_KEY", str(certs["key"]))
        with Ledger.open(root / "ledger.db") as ledger:
            result = run_campaign(folder, ledger=ledger, out_dir=root / "out", progress=False)
            outputs = ledger.outputs("cold-brew-launch")
    assert result.exit_code == 0, result.failed
    rows = {r["variant_id"]: r for r in read_table(folder / "variants.csv").to_dict("records")}
    return folder, root / "out" / "cold-brew-launch", outputs, rows, certs


def _letters(text: str) -> str:
    """The words run together: tesseract sometimes drops a space between two words it reads right."""
    return "".join(words(text))


def _videos(outputs):
    return [o for o in outputs if o.kind == "video"]


def test_every_platform_and_variant_is_delivered_in_spec(shipped):
    _, _, outputs, rows, _ = shipped
    videos = _videos(outputs)
    assert {(o.variant_id, o.platform) for o in videos} == {(v, p) for v in rows for p in ("reels", "shorts", "tiktok", "meta-feed-4x5")}
    assert all(o.spec_ok for o in videos), [o.spec_problems for o in videos if not o.spec_ok]


def test_ocr_reads_each_rows_headline_inside_its_window(shipped):
    _, _, outputs, rows, _ = shipped
    for o in _videos(outputs):
        facts = json.loads(o.probe_json)
        headline = next(b for b in facts["layers"]["boxes"] if b["name"] == "headline")
        frame = frame_at(Path(o.path), (headline["start"] + headline["end"]) / 2)
        x0, y0, x1, y1 = headline["box"]
        crop = Image.fromarray(frame[y0:y1, x0:x1])  # the box is the text's plate: nothing of the clip inside
        assert _letters(ocr(crop)) == _letters(rows[o.variant_id]["headline"]), (o.path, ocr(crop))
        after = frame_at(Path(o.path), headline["end"] + 0.3)  # the window closes: the headline is gone
        assert words(rows[o.variant_id]["headline"])[0] not in words(ocr(Image.fromarray(after[y0:y1, x0:x1])))


def test_the_logo_is_found_where_the_brand_kit_puts_it(shipped):
    folder, _, outputs, _, _ = shipped
    logo = Image.open(folder / "assets" / "logo.png")
    for o in _videos(outputs):
        facts = json.loads(o.probe_json)
        box = next(b for b in facts["layers"]["boxes"] if b["name"] == "logo")
        frame = frame_at(Path(o.path), 1.0)
        sx0, sy0, sx1, sy1 = PRESETS[o.platform].safe_box
        size = (box["box"][2] - box["box"][0], box["box"][3] - box["box"][1])
        score, (x, y) = logo_search(frame, logo, size, (sx0, sy0, sx1, sy1))  # anywhere in the safe zone
        assert score >= 0.9, (o.path, score)
        # the kit's anchor: top-right of the safe zone, less the brand margin
        assert abs(x + size[0] - (sx1 - MARGIN)) <= 2 and abs(y - (sy0 + MARGIN)) <= 2, (o.platform, x, y)


def test_every_text_box_lies_inside_the_platforms_safe_zone(shipped):
    _, _, outputs, _, _ = shipped
    for o in _videos(outputs):
        sx0, sy0, sx1, sy1 = PRESETS[o.platform].safe_box
        boxes = json.loads(o.probe_json)["layers"]["boxes"]
        assert {b["kind"] for b in boxes} >= {"text", "logo", "caption"}
        for b in boxes:
            x0, y0, x1, y1 = b["box"]
            assert sx0 <= x0 < x1 <= sx1 and sy0 <= y0 < y1 <= sy1, (o.platform, b)


def test_caption_files_parse_and_cover_the_voiceover_in_order(shipped):
    _, _, outputs, rows, _ = shipped
    for o in _videos(outputs):
        captions = json.loads(o.probe_json)["captions"]
        duration = json.loads(o.probe_json)["duration_s"]
        expected = words(rows[o.variant_id]["voiceover"])
        for cues in (parse_srt(Path(captions["srt"]).read_text()), parse_vtt(Path(captions["vtt"]).read_text())):
            assert [w for _, _, text in cues for w in words(text)] == expected
            times = [t for start, end, _ in cues for t in (start, end)]
            assert times == sorted(times) and times[0] >= 0 and times[-1] <= duration + 1e-3
            assert all(end > start for start, end, _ in cues)


def test_each_mp4_carries_the_ai_disclosure(shipped):
    _, _, outputs, _, _ = shipped
    import av

    for o in _videos(outputs):
        with av.open(o.path) as container:
            tags = dict(container.metadata)
        assert tags["ai_generated"] == "true"
        assert tags["digital_source_type"] == "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
        assert tags["ai_model"] == "LTX-2" and tags["ai_model_version"] == "tiny"
        assert tags["comment"].startswith("AI-generated video. Generated with LTX-2 (tiny)")


@pytest.mark.skipif(not HAS_C2PA, reason="the c2pa extra is not installed")
def test_a_c2pa_reader_validates_each_signed_manifest(shipped):
    _, _, outputs, _, certs = shipped
    for o in _videos(outputs):
        state, manifest = c2pa_report(Path(o.path), certs["ca"])
        assert state == "Trusted", (o.path, state)
        actions = next(a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions"))["data"]["actions"]
        assert actions[0]["digitalSourceType"].endswith("/trainedAlgorithmicMedia")


def test_the_manifest_has_the_upload_form_columns(shipped):
    _, out, outputs, _, _ = shipped
    with (out / "manifest.csv").open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["kind"] == "video"]
    assert len(rows) == len(_videos(outputs)) == 8
    for row in rows:
        assert row["ai_generated"] == "true" and row["ai_disclosure"] == "AI-generated video"
        assert Path(row["caption_file"]).suffix == ".srt" and Path(row["caption_file"]).is_file()
        assert Path(row["caption_vtt"]).is_file() and f"__{row['layers'][:8]}.mp4" in row["file"]
        assert row["c2pa"] == ("true" if HAS_C2PA else "false")


def test_the_end_card_shows_the_cta_and_the_logo(shipped):
    folder, _, outputs, rows, _ = shipped
    logo = Image.open(folder / "assets" / "logo.png")
    for o in _videos(outputs)[:2]:  # one per variant is enough: the card's layout is checked by the boxes test
        facts = json.loads(o.probe_json)
        card = {b["name"]: b for b in facts["layers"]["boxes"] if b["name"].startswith("end_card")}
        frame = frame_at(Path(o.path), facts["duration_s"] - 0.3)
        x0, y0, x1, y1 = card["end_card.text"]["box"]
        assert _letters(ocr(Image.fromarray(frame[y0:y1, x0:x1]))) == _letters(rows[o.variant_id]["cta"])
        lx0, ly0, lx1, ly1 = card["end_card.logo"]["box"]
        scaled = logo.convert("RGBA").resize((lx1 - lx0, ly1 - ly0), Image.Resampling.LANCZOS)
        import numpy as np

        mask = np.asarray(scaled)[..., 3] >= 250
        assert ncc(frame[ly0:ly1, lx0:lx1].mean(axis=-1), np.asarray(scaled)[..., :3].mean(axis=-1), mask) >= 0.9
