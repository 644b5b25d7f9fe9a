"""Covers, previews, review copies, the WAV, the manifest CSV and the contact sheet."""

from __future__ import annotations

import csv
from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from ltxflow.export import MANIFEST_COLUMNS, ExportError, contact_sheet, deliver, deliverable_fields, write_manifest, write_wav
from ltxflow.export.builtin import META_FEED_4X5, REELS
from ltxflow.export.contact_sheet import CELL_WIDTH, GAP, LABEL_HEIGHT

from .conftest import decoded_audio, make_clip


def test_cover_preview_and_review_copy(tmp_path, small):
    preset = small(REELS, min_seconds=0.0, cover_width=540, cover_height=960)
    files = deliver(make_clip(seconds=1.0), preset, tmp_path, "ad", review_copy=True)
    kinds = {d.kind: d for d in files}
    assert set(kinds) == {"video", "cover", "preview", "review"}
    with Image.open(kinds["cover"].path) as cover:
        assert (cover.format, cover.size) == ("JPEG", (540, 960))
    with Image.open(kinds["preview"].path) as preview:
        assert preview.size == (270, 360)  # 3:4 centre crop of the 270x480 frame
    assert kinds["review"].path.name == "ad.review.mp4" and kinds["review"].spec_ok
    with av.open(str(kinds["video"].path)) as c1, av.open(str(kinds["review"].path)) as c2:
        plain = next(c1.decode(video=0)).to_ndarray(format="rgb24").astype(int)
        review = next(c2.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    x0, y0, x1, y1 = preset.safe_box
    assert review[:y0 - 4].mean() < 0.7 * plain[:y0 - 4].mean()  # outside the box is dimmed in the review copy
    assert abs(review[y0 + 10 : y1 - 10, x0 + 10 : x1 - 10] - plain[y0 + 10 : y1 - 10, x0 + 10 : x1 - 10]).mean() < 4
    assert kinds["video"].sha256 != kinds["review"].sha256


def test_feed_preview_is_a_three_by_four_crop(tmp_path, small):
    preset = small(META_FEED_4X5, min_seconds=0.0)
    _, cover, preview = deliver(make_clip(seconds=0.5), preset, tmp_path, "feed")
    assert (cover.probe["width"], cover.probe["height"]) == (preset.width, preset.height)
    assert preview.probe["height"] == preset.height and preview.probe["width"] == preset.height * 3 // 4


def test_wav_keeps_the_generated_audio(tmp_path):
    clip = make_clip(seconds=1.0, audio="sine", dbfs=-20.0, rate=24000, channels=2)
    wav = write_wav(clip, tmp_path / "clip.wav")
    audio, rate = decoded_audio(wav.path)
    assert (wav.kind, rate, audio.shape) == ("audio", 24000, clip.audio.shape)
    # 24-bit: no level change, no resampling; float -> s32 rounds at 2^-31 and pcm_s24le drops the low byte,
    # so each sample comes back less than one 24-bit step (2^-23) away (measured 255/256 of a step)
    assert np.abs(audio - clip.audio).max() < 2.0**-23
    assert wav.probe["audio_codec"] == "pcm_s24le" and wav.spec_ok
    with pytest.raises(ExportError, match="clip has no audio"):
        write_wav(make_clip(audio=None), tmp_path / "silent.wav")


def test_manifest_has_the_documented_columns_then_extras(tmp_path, small):
    video, *_ = deliver(make_clip(seconds=0.5), small(REELS, min_seconds=0.0), tmp_path, "ad")
    row = {"campaign": "spring", "variant_id": "v1", "seed": 7, "platform": "reels", "prompt": 'A "red" shoe, close-up',
           **deliverable_fields(video), "utm_source": "meta"}  # fmt: skip
    path = write_manifest([row, {"campaign": "spring", "variant_id": "v2", "spec_ok": False}], tmp_path / "m.csv")
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == [*MANIFEST_COLUMNS, "utm_source"]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["sha256"] == video.sha256 and first["bytes"] == str(video.bytes)
    assert (first["spec_ok"], first["fps"], first["width"], first["prompt"]) == ("true", "24", "270", 'A "red" shoe, close-up')
    assert (first["utm_source"], first["seed"]) == ("meta", "7")
    second = dict(zip(rows[0], rows[2], strict=True))
    assert (second["variant_id"], second["spec_ok"], second["sha256"], second["utm_source"]) == ("v2", "false", "", "")
    assert sorted(p.name for p in tmp_path.iterdir() if "partial" in p.name) == []


def test_contact_sheet_grid_size_and_labels(tmp_path):
    images = []
    for n in range(5):
        path = tmp_path / f"v{n}.png"
        Image.new("RGB", (108, 192), (40 * n, 100, 200)).save(path)
        images.append((f"variant-{n}", path))
    sheet = contact_sheet(images, tmp_path / "sheet.png", columns=3)
    cell_h = round(CELL_WIDTH * 192 / 108)
    with Image.open(sheet) as im:
        assert im.size == (GAP + 3 * (CELL_WIDTH + GAP), GAP + 2 * (cell_h + LABEL_HEIGHT + GAP))
        pixels = np.asarray(im.convert("RGB")).astype(int)
    for n in range(5):
        x = GAP + (n % 3) * (CELL_WIDTH + GAP)
        y = GAP + (n // 3) * (cell_h + LABEL_HEIGHT + GAP)
        label = pixels[y + cell_h : y + cell_h + LABEL_HEIGHT, x : x + CELL_WIDTH]
        assert (label.sum(axis=-1) > 600).sum() > 30  # light text pixels in the label strip
        assert tuple(pixels[y + cell_h // 2, x + CELL_WIDTH // 2]) == (40 * n, 100, 200)
    empty = pixels[GAP + cell_h + LABEL_HEIGHT + GAP :, GAP + 2 * (CELL_WIDTH + GAP) :]
    assert (empty.sum(axis=-1) > 600).sum() == 0  # the sixth cell is blank: no label drawn
    other = contact_sheet([(f"other-{n}", p) for n, (_, p) in enumerate(images)], tmp_path / "s2.png", columns=3)
    assert np.asarray(Image.open(other)).tobytes() != np.asarray(Image.open(sheet)).tobytes()


def test_contact_sheet_errors(tmp_path):
    with pytest.raises(ExportError, match="no images"):
        contact_sheet([], tmp_path / "s.png")
    with pytest.raises(ExportError, match="cannot read image for 'v1'"):
        contact_sheet([("v1", tmp_path / "missing.png")], tmp_path / "s.png")
    assert not (tmp_path / "s.png").exists()


def test_fractional_source_rate_is_kept_exactly(tmp_path, small):
    clip = make_clip(seconds=1.0, fps=Fraction(30000, 1001))
    video, *_ = deliver(clip, small(REELS, min_seconds=0.0), tmp_path, "ntsc")
    assert video.probe["fps"] == "30000/1001" and video.spec_ok
