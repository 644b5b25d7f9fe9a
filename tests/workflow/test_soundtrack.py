"""Brand audio fitted to the clip: placed once (not looped) by default, at an offset or ending with the clip, faded
where cut, looped or stretched on request, and mixed over the generated sound; the engine conditions on the
placed track."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest

from ltxflow.clip import Clip
from ltxflow.media.audio import read_audio
from ltxflow.soundtrack import CUT_FADE_S, RATE, TAIL_S, _write_wav, generate_clip, mix, place, stretch
from ltxflow.tasks import BrandFit, Conditioning, Guidance, Task

R = RATE


def chime(seconds: float = 1.25, hz: float = 660.0) -> np.ndarray:
    """(2, S) a decaying tone, different in each channel."""
    t = np.arange(round(seconds * R)) / R
    return np.stack([np.sin(2 * np.pi * hz * t), 0.5 * np.sin(2 * np.pi * 1.5 * hz * t)]).astype(np.float32) * np.exp(-t)


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a.ravel(), b.ravel()) / np.sqrt(np.dot(a.ravel(), a.ravel()) * np.dot(b.ravel(), b.ravel())))


def test_pad_places_the_file_once_at_its_offset():
    brand = chime()
    track, mask = place(brand, 3 * R, BrandFit(offset=0.5))
    start, end = R // 2, R // 2 + brand.shape[1]
    assert corr(track[:, start:end], brand) >= 0.999 and np.allclose(track[:, start + 200 : end - 200], brand[:, 200:-200])
    assert not track[:, :start].any() and not track[:, end:].any()  # silence before and after: not looped
    assert mask.sum() == brand.shape[1] and mask[start] == 1 and mask[start - 1] == 0


def test_offset_end_closes_the_clip_and_a_cut_fades_out():
    brand = chime()
    track, mask = place(brand, 3 * R, BrandFit(offset="end"))
    assert np.allclose(track[:, -brand.shape[1] + 200 : -200], brand[:, 200:-200]) and mask[-1] == 1
    short, _ = place(brand, R, BrandFit())  # a 1 s clip cuts the 1.25 s file: fade over >= 0.25 s
    fade = round(CUT_FADE_S * R)
    assert np.allclose(short[:, 200 : R - fade], brand[:, 200 : R - fade])
    assert np.abs(short[:, -10:]).max() < 1e-3 * np.abs(brand[:, R - 10 : R]).max() + 1e-6
    assert np.abs(short[:, R - fade // 2]).max() < np.abs(brand[:, R - fade // 2]).max()


def test_loop_repeats_and_stretch_fills_the_clip_keeping_pitch():
    brand = chime()
    looped, mask = place(brand, 3 * R, BrandFit(fit="loop"))
    n = brand.shape[1]
    assert mask.all() and corr(looped[:, n : 2 * n], brand) > 0.999
    stretched, mask = place(brand, 3 * R, BrandFit(fit="stretch-to-clip", fade_in=0, fade_out=0))
    assert mask.all() and stretched.shape == (2, 3 * R)
    spectrum = np.abs(np.fft.rfft(stretched[0, : R // 2]))
    assert abs(np.argmax(spectrum) * R / (R // 2) - 660.0) < 4  # the tone's pitch, not 660 * 1.25 / 3
    envelope = [np.sqrt(np.mean(stretched[0, i : i + R // 4] ** 2)) for i in range(0, 3 * R - R // 4, R // 4)]
    assert envelope[0] > envelope[-1] * 2  # the decay now spans the whole clip
    assert stretch(brand, n).tolist() == brand.tolist()


def test_mix_dips_the_generated_sound_under_the_brand_audio():
    bed = (0.1 * np.random.default_rng(0).standard_normal((2, 3 * R))).astype(np.float32)
    track, mask = place(chime(), 3 * R, BrandFit(offset=1.0))
    out = mix(bed, track, mask, -12.0)
    under = out[:, R + 2400 : 2 * R] - track[:, R + 2400 : 2 * R]
    ratio = np.sqrt(np.mean(under**2) / np.mean(bed[:, R + 2400 : 2 * R] ** 2))
    assert ratio == pytest.approx(10 ** (-12 / 20), rel=1e-3)  # -12 dB while the brand audio plays
    assert np.allclose(out[:, : R - 2400], bed[:, : R - 2400]) and np.allclose(out[:, -R // 2 :], bed[:, -R // 2 :])
    assert mix(None, track, mask, -12.0) is track


class RecordingEngine:
    """Engine double: remembers the task and the brand file it was given; returns a tone at 16 kHz."""

    name, device_name = "rec", "cpu"

    def __init__(self):
        self.seen = []

    def generate(self, task, progress=None):
        brand = task.condition("brand_audio")
        self.seen.append((task.id, read_audio(brand.path, R) if brand else None))
        frames = np.zeros((task.num_frames, 32, 32, 3), np.uint8)
        t = np.arange(int(16000 * task.duration)) / 16000
        return Clip(frames, task.frame_rate, (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)[None], 16000)

    def close(self):
        pass


def _task(tmp_path, mode: str) -> Task:
    path = tmp_path / "jingle.wav"
    _write_wav(chime(), path)
    return Task("c", "v", 1, "p", "", "rec", "tiny", "tiny", 32, 32, 73, "24/1", 2, "one-stage", Guidance(), Guidance(),
                mode, conditioning=(Conditioning("brand_audio", str(path), "x"),), brand_fit=BrandFit())  # type: ignore[arg-type]


def test_reference_mode_conditions_on_the_placed_track_not_a_looped_file(tmp_path):
    task, engine = _task(tmp_path, "reference"), RecordingEngine()
    clip = generate_clip(engine, task)
    (seen_id, given), = engine.seen
    samples = int(task.duration * R)
    assert seen_id == task.id  # the same task, only reading the placed copy
    assert given.shape[1] == samples + round(TAIL_S * R)  # covers the clip and what the engine encodes past it
    brand = chime()
    assert corr(given[:, : brand.shape[1]], brand) > 0.999 and not given[:, brand.shape[1] :].any()  # once, then silence
    assert clip.sample_rate == R and clip.audio.shape == (2, samples)
    assert np.allclose(clip.audio, given[:, :samples])  # the delivered track is the placed one, whatever the engine made


def test_text_mode_lays_the_brand_audio_over_the_generated_sound(tmp_path):
    task, engine = _task(tmp_path, "text"), RecordingEngine()
    clip = generate_clip(engine, task)
    brand = chime()
    n = brand.shape[1]
    assert clip.sample_rate == R and clip.audio.shape == (2, int(task.duration * R))
    tail = clip.audio[:, n + 4800 :]  # after the brand audio: the generated 220 Hz tone at full level
    # RMS of a 0.2 sine, -3 dB from libswresample's mono -> stereo (as export does for a mono clip)
    assert np.sqrt(np.mean(tail**2)) == pytest.approx(0.2 / np.sqrt(2) / np.sqrt(2), rel=0.02)
    assert corr(clip.audio[:, 2400 : n - 2400], brand[:, 2400 : n - 2400]) > 0.9  # the brand on top of a -12 dB bed
    plain = replace(task, brand_fit=None, conditioning=())
    assert generate_clip(engine, plain).sample_rate == 16000  # no brand audio: the engine's clip as it is
