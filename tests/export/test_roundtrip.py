"""Every preset written, reopened with PyAV and checked independently; loudness by pyloudnorm and scipy."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

from ltxflow.export import deliver
from ltxflow.export.builtin import BUILTIN_PRESETS
from ltxflow.export.probe import top_level_boxes

from .conftest import decoded_audio, make_clip, reference_lufs, reference_true_peak


def assert_delivery_file(path: Path, width: int, height: int, fps: Fraction, seconds: float, audio: bool = True) -> None:
    """Reopen with PyAV and check what platforms check (the exporter's own probe is not trusted here)."""
    boxes = top_level_boxes(path)
    assert boxes.index("moov") < boxes.index("mdat")
    with av.open(str(path)) as c:
        (v,) = c.streams.video
        assert (v.codec_context.width, v.codec_context.height) == (width, height)
        assert (v.codec_context.name, v.codec_context.profile, v.codec_context.pix_fmt) == ("h264", "High", "yuv420p")
        assert v.average_rate == fps
        assert v.frames == round(seconds * fps)
        # whole frames in a time base that divides the frame duration (1/12288 s at 24 fps): an exact tick count,
        # so only the float conversion of the fraction remains (~1e-16 s); 1e-6 s is 1/80 of a tick
        assert abs(float(v.duration * v.time_base) - seconds) < 1e-6
        assert int(v.codec_context.color_primaries) == int(v.codec_context.colorspace) == 1  # BT.709
        if audio:
            (a,) = c.streams.audio
            assert (a.codec_context.name, a.codec_context.profile, a.rate, a.channels) == ("aac", "LC", 48000, 2)
            assert abs(float(a.duration * a.time_base) - seconds) < 0.03  # AAC frame granularity
        else:
            assert not c.streams.audio


@pytest.mark.parametrize("preset", BUILTIN_PRESETS, ids=lambda p: p.name)
def test_full_size_round_trip(preset, tmp_path):
    fast = preset.with_overrides({"x264_preset": "ultrafast", "min_seconds": 0.0}, "test")
    clip = make_clip(seconds=0.5, size=(1920, 1088), audio="sine", dbfs=-30.0)  # the model's 1088-wide vertical
    video, cover, preview = deliver(clip, fast, tmp_path, "ad")
    assert video.path == tmp_path / "ad.mp4" and video.kind == "video"
    assert_delivery_file(video.path, preset.width, preset.height, Fraction(24), 0.5)
    assert video.spec_ok, video.spec_problems
    assert (video.probe["width"], video.probe["max_keyframe_interval"], video.probe["b_frames"]) == (preset.width, 12, True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ad.cover.jpg", "ad.mp4", "ad.preview-3x4.jpg"]
    assert (cover.probe["width"], cover.probe["height"]) == (1080, preset.height)
    assert preview.probe["width"] * 4 == preview.probe["height"] * 3 or preview.probe["height"] == preset.height


@pytest.mark.parametrize("start", ["quiet", "loud"])
@pytest.mark.parametrize("preset", BUILTIN_PRESETS, ids=lambda p: p.name)
def test_loudness_meets_target_on_decoded_audio(preset, start, tmp_path, small):
    if start == "quiet":
        clip = make_clip(seconds=1.5, audio="sine", dbfs=-40.0, rate=24000)
    else:
        clip = make_clip(seconds=1.5, audio="square", rate=44100, channels=2)
    (video, *_) = deliver(clip, small(preset, min_seconds=0.0), tmp_path, "ad")
    audio, rate = decoded_audio(video.path)
    assert rate == 48000 and audio.shape[0] == 2
    assert abs(reference_lufs(audio, rate) - preset.loudness_lufs) <= 1.0
    assert reference_true_peak(audio) <= preset.true_peak_dbtp
    assert video.spec_ok, video.spec_problems


def test_speech_level_override_and_peaky_audio_are_limited_not_under_target(tmp_path, small):
    """A -16 LUFS override on audio with +20 dB crest factor still lands on target, with true peak held."""
    import numpy as np

    clip = make_clip(seconds=2.0, audio="sine", dbfs=-30.0, rate=48000, channels=2)
    clicks = clip.audio.copy()
    clicks[:, ::4800] = 0.99  # ten full-scale clicks a second over a quiet tone
    clip = type(clip)(clip.frames, clip.fps, clicks.astype(np.float32), 48000)
    (video, *_) = deliver(clip, small(BUILTIN_PRESETS[0], min_seconds=0.0, loudness_lufs=-16.0), tmp_path, "ad")
    audio, rate = decoded_audio(video.path)
    assert abs(reference_lufs(audio, rate) + 16.0) <= 1.0
    assert reference_true_peak(audio) <= -1.0
    assert any("limited" in w for w in video.warnings)


def test_frame_rate_conversion_and_silent_clips(tmp_path, small):
    from ltxflow.export.builtin import REELS, SNAPCHAT

    fixed = small(REELS, min_seconds=0.0, fps_policy="fixed", fps="30000/1001")
    (video, *_) = deliver(make_clip(seconds=1.0, audio=None), fixed, tmp_path, "ntsc")
    assert_delivery_file(video.path, 270, 480, Fraction(30000, 1001), 30 / Fraction(30000, 1001), audio=False)
    assert video.warnings == ("frame rate 24 → 30000/1001 fps for reels",) and video.spec_ok

    (snap, *_) = deliver(make_clip(seconds=1.0, audio=None), small(SNAPCHAT, min_seconds=0.0), tmp_path, "snap")
    assert_delivery_file(snap.path, 270, 480, Fraction(24), 1.0, audio=True)
    assert any("silent AAC track" in w for w in snap.warnings) and snap.spec_ok
    assert decoded_audio(snap.path)[0].max() == 0.0


@pytest.mark.parametrize("fit", ["crop", "pad", "blur-pad"])
def test_fit_modes_fill_the_frame_as_named(fit, tmp_path, small):
    from ltxflow.export.builtin import SHORTS
    from ltxflow.export.fit import fit_frame

    wide = make_clip(seconds=0.1, size=(90, 160)).frames[0]  # 16:9 into 9:16
    out = fit_frame(wide, small(SHORTS, fit=fit))
    assert out.shape == (480, 270, 3)
    band = out[:100].astype(int)  # top band: outside the fitted picture for pad modes
    if fit == "pad":
        assert band.max() == 0
    elif fit == "blur-pad":
        assert band.max() > 0 and band.std() < wide.std()
    else:
        assert band.std() > 0
