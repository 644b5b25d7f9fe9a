"""The decoded-clip cache: a generated Clip kept losslessly (FFV1 video + float32 PCM in Matroska) under its task id,
so deliverables can be exported again (new layers, a new headline) without generating the clip again.

The frames come back bit for bit (RGB is stored as packed BGR0, no colour matrix) and the audio sample for
sample; the frame rate is stored as a tag (Matroska timestamps are milliseconds and cannot hold 30000/1001).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ltxflow.clip import Clip
from ltxflow.export.atomic import atomic_path

CACHE_FOLDER = "clips"  # inside the campaign's output folder
_FPS_TAG = "ltxflow_fps"
_JOINS_TAG = "ltxflow_joins"  # an extended clip's join frames, space separated (absent: one generation)


def cache_path(out: Path, task_id: str) -> Path:
    """Where the clip of `task_id` is kept under a campaign's output folder."""
    return out / CACHE_FOLDER / f"{task_id}.mkv"


def save_clip(clip: Clip, path: Path) -> Path:
    """Write `clip` losslessly to `path` (atomic); returns path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as partial:
        with av.open(str(partial), "w", format="matroska") as out:
            out.metadata[_FPS_TAG] = f"{clip.fps.numerator}/{clip.fps.denominator}"
            if clip.joins:
                out.metadata[_JOINS_TAG] = " ".join(map(str, clip.joins))
            video = out.add_stream("ffv1", rate=clip.fps)
            video.width, video.height, video.pix_fmt = clip.width, clip.height, "bgr0"
            video.codec_context.time_base = 1 / clip.fps
            video.options = {"level": "3"}  # intra-only, checksummed slices
            sound = None
            if clip.audio is not None:
                layout = {1: "mono", 2: "stereo"}.get(clip.audio.shape[0], f"{clip.audio.shape[0]}c")
                sound = out.add_stream("pcm_f32le", rate=clip.sample_rate, layout=layout)
            for i, rgb in enumerate(clip.frames):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(format="bgr0")
                frame.pts = i
                frame.time_base = Fraction(1) / clip.fps
                for packet in video.encode(frame):
                    out.mux(packet)
            for packet in video.encode():
                out.mux(packet)
            if sound is not None:
                assert clip.audio is not None and clip.sample_rate is not None
                samples = np.ascontiguousarray(clip.audio.T.reshape(1, -1))  # (1, S * C) interleaved
                frame = av.AudioFrame.from_ndarray(samples, format="flt", layout=sound.layout.name)
                frame.sample_rate, frame.pts, frame.time_base = clip.sample_rate, 0, Fraction(1, clip.sample_rate)
                for packet in [*sound.encode(frame), *sound.encode()]:
                    out.mux(packet)
    return path


def load_clip(path: Path) -> Clip | None:
    """The cached clip at `path`, or None when there is none or it cannot be read back whole."""
    if not path.is_file():
        return None
    try:
        with av.open(str(path)) as container:
            fps = Fraction(container.metadata.get(_FPS_TAG.upper(), container.metadata.get(_FPS_TAG, "")))
            joins = tuple(int(j) for j in container.metadata.get(_JOINS_TAG.upper(),
                                                                 container.metadata.get(_JOINS_TAG, "")).split())  # fmt: skip
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        audio, rate = None, None
        with av.open(str(path)) as container:
            if container.streams.audio:
                stream = container.streams.audio[0]
                rate = stream.rate
                chunks = [f.to_ndarray() for f in container.decode(stream)]  # (1, n * C) packed float
                channels = stream.channels
                audio = np.concatenate(chunks, axis=-1).reshape(-1, channels).T.astype(np.float32)  # (C, S)
    except (av.FFmpegError, ValueError, ZeroDivisionError):
        return None  # damaged or foreign: the caller generates the clip again
    if not frames:
        return None
    return Clip(np.stack(frames), fps, np.ascontiguousarray(audio) if audio is not None else None, rate, joins)
