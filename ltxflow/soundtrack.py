"""The delivered soundtrack: brand audio placed (not looped) on the clip, and mixed with the generated sound.

A task with brand audio gets it fitted to the clip's length by its `BrandFit`:
- "pad" (default): the file once, from `offset` seconds (or ending with the clip for offset "end"), short fades
  at its edges; the rest of the clip is silent, or keeps the generated sound.
- "loop": repeated from `offset` to the clip's end.
- "stretch-to-clip": time-stretched (pitch kept, phase vocoder) to span `offset` to the clip's end.
A clip that ends mid-audio fades it out over at least CUT_FADE_S.

In "reference" mode the placed track conditions the generation (the engine reads a prepared file of exactly that
track, so it never loops the brand file itself) and is the clip's track; silent-mode clips get it alone; in modes
that generate sound ("text", "video-to-audio") it is laid over the generated sound, which plays at `ambience_db`
while the brand audio sounds and at full level elsewhere. Runs in the workflow, beside the engine.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import replace
from pathlib import Path

import av
import numpy as np

from ltxflow.clip import Clip
from ltxflow.engines import Engine, Progress
from ltxflow.export.audio import fit_length, resample
from ltxflow.media.audio import read_audio
from ltxflow.media.errors import media_error
from ltxflow.tasks import BrandFit, Task

RATE = 48_000  # Hz of the soundtrack (what every preset delivers)
CUT_FADE_S = 0.25  # s: the shortest fade-out where the clip's end cuts the brand audio
TAIL_S = 0.5  # s of silence after the clip in the prepared reference file (the engine encodes a little past the end)
DUCK_S = 0.05  # s: how fast the generated sound dips under the brand audio and comes back
N_FFT, HOP = 2048, 512  # phase vocoder frame and hop, samples at RATE (43 ms / 11 ms)
MAX_STRETCH = 8  # stretch-to-clip squeezes at most this many clips' length of brand audio into one


# ── Placement ──────────────────────────────────────────────────────────────────────────────────


def _ramp(samples: int, length: int, rising: bool) -> np.ndarray:
    """(samples,) gains: a raised-cosine ramp over `length` samples at the start (rising) or end, 1 elsewhere."""
    gain = np.ones(samples, np.float32)
    n = min(length, samples)
    if n > 0:
        shape = (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)  # (n,) 0 -> 1
        if rising:
            gain[:n] = shape
        else:
            gain[samples - n :] = shape[::-1]
    return gain


def place(brand: np.ndarray, samples: int, fit: BrandFit, rate: int = RATE) -> tuple[np.ndarray, np.ndarray]:
    """Brand audio (C, S0) fitted to a clip of `samples`: the track (C, samples) and where it sounds (samples,)."""
    channels, length = brand.shape
    if fit.fit == "stretch-to-clip":
        start = 0 if fit.offset == "end" else round(float(fit.offset) * rate)
        body = stretch(brand, max(1, samples - start))
    elif fit.fit == "loop":
        start = 0 if fit.offset == "end" else round(float(fit.offset) * rate)
        body = np.tile(brand, (1, -(-(samples - start) // length)))[:, : samples - start]
    else:
        start = max(0, samples - length) if fit.offset == "end" else round(float(fit.offset) * rate)
        body = brand[:, : samples - start]
    n = body.shape[1]
    cut = fit.fit == "loop" or (fit.fit == "pad" and n < length)  # the clip's end cuts the audio short
    fade_out = max(round(fit.fade_out * rate), round(CUT_FADE_S * rate) if cut else 0)
    gain = _ramp(n, round(fit.fade_in * rate), True) * _ramp(n, fade_out, False)  # (n,)
    track = np.zeros((channels, samples), np.float32)
    track[:, start : start + n] = body * gain
    mask = np.zeros(samples, np.float32)
    mask[start : start + n] = 1.0
    return track, mask


def stretch(wave: np.ndarray, samples: int) -> np.ndarray:
    """(C, S) -> (C, samples): time-stretched, pitch kept (phase vocoder, Flanagan & Golden 1966; Laroche & Dolson)."""
    channels, length = wave.shape
    if length == samples:
        return wave.copy()
    window = np.hanning(N_FFT + 1)[:-1].astype(np.float64)  # periodic Hann, (N,)
    padded = np.pad(wave.astype(np.float64), ((0, 0), (N_FFT, N_FFT + HOP)))
    frames = 1 + (padded.shape[1] - N_FFT) // HOP
    index = np.arange(N_FFT)[None, :] + HOP * np.arange(frames)[:, None]  # (F, N)
    spectra = np.fft.rfft(padded[:, index] * window, axis=-1)  # (C, F, N/2+1)
    rate = length / samples  # analysis frames advanced per synthesis frame: input sample = output sample * rate
    steps = np.arange(0, frames - 1, rate)  # (F',) fractional analysis positions
    omega = 2 * np.pi * HOP * np.arange(N_FFT // 2 + 1) / N_FFT  # expected phase advance per hop, (K,)
    phase = np.angle(spectra[:, 0])  # (C, K)
    out = np.zeros((channels, len(steps), N_FFT // 2 + 1), np.complex128)
    for i, t in enumerate(steps):
        left, frac = int(t), t - int(t)
        a, b = spectra[:, left], spectra[:, left + 1]
        out[:, i] = ((1 - frac) * np.abs(a) + frac * np.abs(b)) * np.exp(1j * phase)
        delta = np.angle(b) - np.angle(a) - omega
        phase = phase + omega + (delta - 2 * np.pi * np.round(delta / (2 * np.pi)))  # unwrapped true frequency
    frames_out = np.fft.irfft(out, n=N_FFT, axis=-1) * window  # (C, F', N)
    total = HOP * (len(steps) - 1) + N_FFT
    signal, norm = np.zeros((channels, total)), np.zeros(total)
    for i in range(len(steps)):
        signal[:, i * HOP : i * HOP + N_FFT] += frames_out[:, i]
        norm[i * HOP : i * HOP + N_FFT] += window**2
    signal /= np.maximum(norm, 1e-8)
    start = round(N_FFT / rate)  # where the input's first sample (after N_FFT of padding) lands
    body = signal[:, start : start + samples]
    return np.pad(body, ((0, 0), (0, samples - body.shape[1]))).astype(np.float32)


def mix(bed: np.ndarray | None, track: np.ndarray, mask: np.ndarray, ambience_db: float, rate: int = RATE) -> np.ndarray:
    """The brand track over the generated `bed` (both (2, S) at `rate`), the bed dipped to `ambience_db` under it."""
    if bed is None:
        return track
    kernel = max(1, round(DUCK_S * rate))
    smooth = np.convolve(mask, np.ones(kernel, np.float32) / kernel, mode="same")  # (S,) 0..1, eased edges
    duck = 1.0 - smooth * (1.0 - 10 ** (ambience_db / 20))
    return (bed * duck + track).astype(np.float32)


# ── Generation with a soundtrack ───────────────────────────────────────────────────────────────


def generate_clip(engine: Engine, task: Task, progress: Progress | None = None) -> Clip:
    """engine.generate(task), with the task's brand audio placed on the clip (see the module docstring)."""
    brand = task.condition("brand_audio")
    if brand is None or task.brand_fit is None:
        return engine.generate(task, progress)
    samples = math.floor(task.duration * RATE)
    track, mask = place(read_brand(brand.path, samples, task.brand_fit, task.variant_id), samples, task.brand_fit)
    if task.audio_mode == "reference":
        with tempfile.TemporaryDirectory(prefix="ltxflow-brand-") as folder:
            prepared = _write_wav(np.pad(track, ((0, 0), (0, round(TAIL_S * RATE)))), Path(folder) / "brand.wav")
            conditioning = tuple(replace(c, path=str(prepared)) if c.role == "brand_audio" else c for c in task.conditioning)
            placed = replace(task, conditioning=conditioning)
            placed.__dict__["id"] = task.id  # the same task: only the file it reads is the placed copy
            clip = engine.generate(placed, progress)
        return Clip(clip.frames, clip.fps, track, RATE, clip.joins)
    clip = engine.generate(task, progress)
    bed = None
    if clip.audio is not None and clip.sample_rate is not None:
        bed = fit_length(resample(clip.audio, clip.sample_rate, RATE, 2), samples)  # (2, samples)
    return Clip(clip.frames, clip.fps, mix(bed, track, mask, task.brand_fit.ambience_db), RATE, clip.joins)


def read_brand(path: str | Path, samples: int, fit: BrandFit, variant: str) -> np.ndarray:
    """The brand file at RATE, decoded only as far as placing it on a clip of `samples` needs: pad and loop use at
    most the clip's length (one sample more tells "cut short" from "ends with the clip"); stretch-to-clip squeezes
    the whole file, so it reads at most MAX_STRETCH clips' worth and refuses a longer file."""
    if fit.fit != "stretch-to-clip":
        return read_audio(path, RATE, variant=variant, limit=samples + 1)
    wave = read_audio(path, RATE, variant=variant, limit=MAX_STRETCH * samples + 1)
    if wave.shape[1] > MAX_STRETCH * samples:
        raise media_error("audio", Path(path), f"is over {MAX_STRETCH}x the clip's {samples / RATE:.2f} s: "
                          'stretch-to-clip would squeeze it past recognition (trim it, or fit = "pad")', variant)  # fmt: skip
    return wave


def _write_wav(wave: np.ndarray, path: Path) -> Path:
    """(2, S) float32 at RATE as a 32-bit float WAV (read back sample-exact)."""
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_f32le", rate=RATE, layout="stereo")
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(wave.T.reshape(1, -1), np.float32), format="flt",
                                           layout="stereo")  # fmt: skip
        frame.sample_rate, frame.pts = RATE, 0
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    return path


__all__ = ["RATE", "generate_clip", "mix", "place", "stretch"]
