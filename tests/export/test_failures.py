"""Over-length clips, failures mid-write and disk-full: a clear error and no partial files."""

from __future__ import annotations

import errno

import pytest

from ltxflow.errors import StorageError
from ltxflow.export import ExportError, deliver, write_manifest
from ltxflow.export import encode as encode_module
from ltxflow.export.builtin import REELS, TIKTOK_AD

from .conftest import make_clip


def test_over_length_clip_is_trimmed_with_a_warning(tmp_path, small):
    preset = small(REELS, min_seconds=0.0, max_seconds=1.0)
    (video, *_) = deliver(make_clip(seconds=1.5, audio="sine"), preset, tmp_path, "long")
    assert video.warnings == ("trimmed 1.5 s → 1.0 s for reels",)
    assert video.probe["frames"] == 24 and abs(video.probe["duration_s"] - 1.0) < 0.03
    assert video.spec_ok


def test_over_length_clip_is_refused_where_the_preset_says(tmp_path, small):
    preset = small(TIKTOK_AD, min_seconds=0.0, max_seconds=1.0)
    with pytest.raises(ExportError) as e:
        deliver(make_clip(seconds=1.5), preset, tmp_path, "long")
    assert str(e.value) == "clip is 1.5 s, over the 1 s limit of preset 'tiktok-ad' (over_length = refuse)"
    assert list(tmp_path.iterdir()) == []


def test_short_clip_is_written_but_fails_the_spec(tmp_path, small):
    (video, *_) = deliver(make_clip(seconds=1.0), small(TIKTOK_AD), tmp_path, "short")
    assert not video.spec_ok
    assert video.spec_problems == ("duration 1.00 s is under the 5 s minimum of tiktok-ad",)


def _fail_after(calls: int, error: Exception):
    real = encode_module._mux
    count = {"n": 0}

    def mux(container, packets):
        count["n"] += 1
        if count["n"] > calls:
            raise error
        real(container, packets)

    return mux


@pytest.mark.parametrize("error", [RuntimeError("encoder crashed"), OSError(errno.ENOSPC, "No space left on device")])
def test_failure_mid_write_leaves_no_partial_file(error, tmp_path, small, monkeypatch):
    monkeypatch.setattr(encode_module, "_mux", _fail_after(10, error))
    with pytest.raises(StorageError if isinstance(error, OSError) else type(error)):  # a full disk: one line
        deliver(make_clip(seconds=1.0), small(REELS, min_seconds=0.0), tmp_path, "ad")
    assert list(tmp_path.iterdir()) == []


def test_failing_rename_keeps_the_previous_file_and_no_partial(tmp_path, small, monkeypatch):
    target = tmp_path / "ad.mp4"
    target.write_bytes(b"previous delivery")

    def no_space(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("ltxflow.export.atomic.os.replace", no_space)
    with pytest.raises(StorageError, match=r"ad\.mp4: cannot write \(No space"):
        deliver(make_clip(seconds=0.5), small(REELS, min_seconds=0.0), tmp_path, "ad")
    assert [p.name for p in tmp_path.iterdir()] == ["ad.mp4"] and target.read_bytes() == b"previous delivery"
    with pytest.raises(StorageError, match="manifest.csv"):
        write_manifest([{"campaign": "spring"}], tmp_path / "manifest.csv")
    assert [p.name for p in tmp_path.iterdir()] == ["ad.mp4"]


@pytest.mark.parametrize("stem", ["../escape", "a/b", ".hidden", ""])
def test_stems_cannot_leave_the_output_folder(stem, tmp_path, small):
    with pytest.raises(ExportError, match="plain file name"):
        deliver(make_clip(seconds=0.5), small(REELS), tmp_path / "out", stem)
    assert not (tmp_path / "escape.mp4").exists()
