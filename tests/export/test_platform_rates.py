"""The frame rates LTX-2 makes go through every platform preset as they are, as exact fractions in the MP4, and a
30 fps clip's picture and sound stay in sync in the file."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from ltxflow.campaign_types import MODEL_FPS
from ltxflow.clip import Clip
from ltxflow.export import deliver
from ltxflow.export.builtin import BUILTIN_PRESETS, REELS

from .conftest import decoded_audio, make_clip
from .test_roundtrip import assert_delivery_file


def test_every_preset_keeps_every_model_rate():
    # a preset that took 24000/1001 or 50 fps for out of range would convert it (and drop or repeat frames)
    assert [(p.name, r) for p in BUILTIN_PRESETS for r in MODEL_FPS if p.output_fps(r) != r] == []


@pytest.mark.parametrize("fps", MODEL_FPS, ids=str)
def test_the_mp4_has_the_clips_rate_and_duration(fps, tmp_path, small):
    frames = 1 + 8 * round(fps * Fraction(3, 2) / 8)  # an 8k+1 clip of about 1.5 s, as the model makes them
    clip = make_clip(seconds=float(frames / fps), fps=fps)
    assert clip.num_frames == frames
    (video, *_) = deliver(clip, small(REELS, min_seconds=0.0), tmp_path, "rate")
    assert video.spec_ok and not any("frame rate" in w for w in video.warnings)
    # reopened by PyAV: average rate == fps exactly, frames / fps seconds in the stream's own time base
    assert_delivery_file(video.path, 270, 480, fps, frames / fps)
    with av.open(str(video.path)) as c:
        (v,) = c.streams.video
        ticks = Fraction(1, 1) / fps / v.time_base  # one frame's duration in stream ticks
        assert ticks.denominator == 1  # a time base that divides the frame duration: no rounding drift


def test_picture_and_sound_stay_in_sync_at_30_fps(tmp_path, small):
    # a white flash on frame 45 (1.5 s) and a click at the same time: after encoding (AAC priming and frame
    # granularity included) the flash's presentation time and the click's must agree within a frame (33 ms)
    fps, rate, frames = Fraction(30), 48_000, 73
    pictures = np.full((frames, 96, 64, 3), 20, np.uint8)
    pictures[45] = 255
    audio = np.zeros((2, frames * rate // 30), np.float32)
    click = 45 * rate // 30
    audio[:, click : click + 480] = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(480) / rate)
    clip = Clip(pictures, fps, audio, rate)
    (video, *_) = deliver(clip, small(REELS, min_seconds=0.0), tmp_path, "sync")
    with av.open(str(video.path)) as c:
        shown = [(float(f.pts * f.time_base), f.to_ndarray(format="gray").mean()) for f in c.decode(video=0)]
        start = float(c.streams.audio[0].start_time * c.streams.audio[0].time_base)
    flash = max(shown, key=lambda s: s[1])[0]
    sound, got_rate = decoded_audio(video.path)
    onset = start + np.argmax(np.abs(sound).max(axis=0) > 0.05) / got_rate
    assert abs(flash - 1.5) < 1e-6  # the flash is frame 45 at exactly 45/30 s
    assert abs(onset - flash) < float(1 / fps), (flash, onset)
