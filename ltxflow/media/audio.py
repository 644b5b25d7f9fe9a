"""Conditioning audio: any PyAV-readable file (WAV, MP3, AAC, FLAC...) as stereo float32 at a chosen rate and length."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import av
import numpy as np

from ltxflow.media.errors import check_file, media_error

Fill = Literal["loop", "silence"]  # how a file shorter than the wanted length is extended


def read_audio(
    path: Path | str,
    sample_rate: int,
    samples: int | None = None,
    *,
    variant: str | None = None,
    fill: Fill = "loop",
    limit: int | None = None,
) -> np.ndarray:
    """The file's first audio stream as (2, S) float32 at `sample_rate`; with `samples`, trimmed or filled to it.

    Decoding and resampling stop once `limit` samples (at `sample_rate`; default `samples`) are out, so a file
    that claims hours is read only as far as the clip needs: memory and time are bounded by the clip, not the file.
    Mono is duplicated to both channels (no -3 dB pan law); more than two channels are downmixed by FFmpeg.
    """
    if sample_rate < 1:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if samples is not None and samples < 1:
        raise ValueError(f"samples must be positive, got {samples}")
    path = check_file("audio", path, variant)
    wave = _decode(path, sample_rate, variant, limit if limit is not None else samples)  # (2, S0 <= limit + a frame)
    if samples is not None:
        wave = fit_length(wave, samples, fill)  # (2, samples)
    return wave


def fit_length(wave: np.ndarray, samples: int, fill: Fill = "loop") -> np.ndarray:
    """(C, S0) -> (C, samples): cut the tail, or repeat the whole file ("loop") / append zeros ("silence")."""
    have = wave.shape[1]
    if have >= samples:
        return np.ascontiguousarray(wave[:, :samples])
    if fill == "loop":
        repeats = -(-samples // have)  # ceil
        return np.ascontiguousarray(np.tile(wave, (1, repeats))[:, :samples])
    if fill == "silence":
        return np.pad(wave, ((0, 0), (0, samples - have)))
    raise ValueError(f"fill must be 'loop' or 'silence', got {fill!r}")


def _decode(path: Path, sample_rate: int, variant: str | None, limit: int | None = None) -> np.ndarray:
    """Decode and resample the first audio stream to (2, S) float32, stopping once `limit` samples are out;
    decoder failures become MediaError."""
    chunks: list[np.ndarray] = []
    have = 0
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise media_error("audio", path, "has no audio stream", variant)
            stream = container.streams.audio[0]
            mono = stream.layout.nb_channels == 1
            resampler = av.AudioResampler(format="fltp", layout="mono" if mono else "stereo", rate=sample_rate)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())  # (C, n) float32 planar
                    have += out.samples
                if limit is not None and have >= limit:
                    break  # enough for the clip: the rest of the file is never decoded
            else:
                for out in resampler.resample(None):  # flush the resampler's delay line
                    chunks.append(out.to_ndarray())
    except av.FFmpegError as exc:
        raise media_error("audio", path, f"cannot decode audio ({exc})", variant) from None
    wave = np.concatenate(chunks, axis=1) if chunks else np.zeros((2, 0), np.float32)  # (C, S)
    if limit is not None:
        wave = wave[:, :limit]
    if wave.shape[1] == 0:
        raise media_error("audio", path, "contains no audio samples (zero length)", variant)
    if wave.shape[0] == 1:
        wave = np.repeat(wave, 2, axis=0)  # (2, S)
    if not np.isfinite(wave).all():
        raise media_error("audio", path, "decoded samples are not finite (corrupt file)", variant)
    return wave.astype(np.float32, copy=False)
