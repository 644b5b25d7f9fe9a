"""One encode serves presets that agree on every encode field and on the cut; each file is still checked alone."""

from __future__ import annotations

import dataclasses
import importlib

import pytest

from ltxflow.export import deliver_many
from ltxflow.export.builtin import META_FEED_4X5, REELS, SHORTS, TIKTOK
from ltxflow.export.presets import CHECK_ONLY_FIELDS, ENCODE_FIELDS

from .conftest import make_clip

deliver_module = importlib.import_module("ltxflow.export.deliver")  # the package re-exports a function of that name


@pytest.fixture
def encodes(monkeypatch):
    """Count the MP4 encodes deliver_many starts."""
    calls = []
    real = deliver_module.write_mp4

    def counting(frames, fps, audio, preset, path, metadata=None):
        calls.append(path.name)
        return real(frames, fps, audio, preset, path, metadata)

    monkeypatch.setattr(deliver_module, "write_mp4", counting)
    return calls


def test_every_preset_field_is_classified_once():
    fields = {f.name for f in dataclasses.fields(REELS)}
    assert set(ENCODE_FIELDS) | set(CHECK_ONLY_FIELDS) == fields  # a new field must say whether it changes bytes
    assert not set(ENCODE_FIELDS) & set(CHECK_ONLY_FIELDS)


def test_vertical_platforms_share_one_encode_and_keep_their_own_checks(tmp_path, small, encodes):
    presets = {p.name: small(p) for p in (REELS, SHORTS, TIKTOK)}
    files = deliver_many(make_clip(seconds=2.0, dbfs=-20.0), presets, tmp_path, lambda name: f"ad__{name}")
    assert encodes == ["ad__reels.mp4"]
    videos = {name: next(d for d in items if d.kind == "video") for name, items in files.items()}
    assert {v.path.name for v in videos.values()} == {"ad__reels.mp4", "ad__shorts.mp4", "ad__tiktok.mp4"}
    assert len({v.sha256 for v in videos.values()}) == 1  # the same bytes under each name
    assert all(v.path.read_bytes() == videos["reels"].path.read_bytes() for v in videos.values())
    # 2 s is under Reels' 3 s minimum but fine for Shorts and TikTok: each file met its own preset's check
    assert not videos["reels"].spec_ok and any("3 s minimum" in p for p in videos["reels"].spec_problems)
    assert videos["shorts"].spec_ok and videos["tiktok"].spec_ok, videos["shorts"].spec_problems
    assert all((tmp_path / f"ad__{n}.cover.jpg").is_file() for n in presets)
    assert not list(tmp_path.glob("*.partial*"))


def test_a_different_cut_or_encode_field_gets_its_own_encode(tmp_path, small, encodes):
    presets = {
        "reels": small(REELS, min_seconds=0.0),
        "shorts": small(SHORTS, max_seconds=1.0),  # trimmed: a different length, never shared
        "tiktok": small(TIKTOK, audio_kbps=128),  # a different encode field
        "snap": small(REELS, name="snap", min_seconds=0.0),  # the same as reels: shared
        "feed": small(META_FEED_4X5, min_seconds=0.0),  # another size
    }
    files = deliver_many(make_clip(seconds=2.0, dbfs=-20.0), presets, tmp_path, lambda name: name)
    assert sorted(encodes) == ["feed.mp4", "reels.mp4", "shorts.mp4", "tiktok.mp4"]
    shorts = next(d for d in files["shorts"] if d.kind == "video")
    # the probe reports the container's duration: video exactly 1.0 s, AAC audio rounded up to whole 1024-sample
    # frames (21.3 ms at 48 kHz) plus its 1024-sample priming: <= 2 frames = 42.7 ms over
    assert shorts.spec_ok and shorts.probe["duration_s"] == pytest.approx(1.0, abs=0.05)
    assert any(w.startswith("trimmed 2.0 s → 1.0 s") for w in shorts.warnings)
    assert (tmp_path / "snap.mp4").read_bytes() == (tmp_path / "reels.mp4").read_bytes()
    assert (tmp_path / "tiktok.mp4").read_bytes() != (tmp_path / "reels.mp4").read_bytes()


def test_a_failed_copy_removes_every_file_of_the_call(tmp_path, small, monkeypatch):
    def broken(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(deliver_module, "_link_atomic", broken)
    presets = {p.name: small(p, min_seconds=0.0) for p in (REELS, SHORTS)}
    with pytest.raises(OSError, match="No space"):
        deliver_many(make_clip(seconds=1.0), presets, tmp_path, lambda name: name)
    assert list(tmp_path.iterdir()) == []


def test_shared_files_are_hard_links_not_copies(tmp_path, small):
    presets = {p.name: small(p, min_seconds=0.0) for p in (REELS, SHORTS, TIKTOK)}
    deliver_many(make_clip(seconds=1.0), presets, tmp_path, lambda name: f"ad__{name}")
    for suffix in (".mp4", ".cover.jpg", ".preview-3x4.jpg"):
        inodes = {(tmp_path / f"ad__{n}{suffix}").stat().st_ino for n in presets}
        assert len(inodes) == 1, suffix  # one file on disk under three names
        assert (tmp_path / f"ad__reels{suffix}").stat().st_nlink == 3


def test_without_hard_links_the_shared_files_are_copied(tmp_path, small, monkeypatch):
    def refuse(source, target):
        raise OSError(1, "Operation not permitted")  # what a FAT or SMB mount answers

    monkeypatch.setattr(deliver_module.os, "link", refuse)
    presets = {p.name: small(p, min_seconds=0.0) for p in (REELS, SHORTS)}
    deliver_many(make_clip(seconds=1.0), presets, tmp_path, lambda name: name)
    reels, shorts = tmp_path / "reels.mp4", tmp_path / "shorts.mp4"
    assert reels.read_bytes() == shorts.read_bytes() and reels.stat().st_ino != shorts.stat().st_ino
    assert not list(tmp_path.glob("*.partial*"))
