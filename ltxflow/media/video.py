"""Source videos (for audio-for-a-video): frames read with PyAV at the clip's fps and size."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ltxflow.engine.conditioning.decoded import fit_frames
from ltxflow.media.errors import check_file, media_error


def read_video(
    path: Path | str,
    num_frames: int,
    fps: Fraction,
    width: int | None = None,
    height: int | None = None,
    *,
    variant: str | None = None,
) -> np.ndarray:
    """The first `num_frames` frames at `fps` as (T, H, W, 3) uint8, fitted to width x height when both are given
    (cover + centre crop), else at the source size.

    Frames are sampled by time (output frame i shows the source frame on screen at i / fps), so a 30 fps
    source read at 24 fps keeps its duration. A source shorter than num_frames / fps is an error.
    """
    if num_frames < 1 or fps <= 0 or (width is not None and width < 1) or (height is not None and height < 1):
        raise ValueError(f"bad target: {num_frames} frames at {fps} fps, {width}x{height}")
    path = check_file("video", path, variant)
    wanted = [Fraction(i) / Fraction(fps) for i in range(num_frames)]  # seconds of each output frame
    picked: list[np.ndarray] = []
    last: np.ndarray | None = None
    last_time = Fraction(0)
    period = Fraction(0)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise media_error("video", path, "has no video stream", variant)
            stream = container.streams.video[0]
            start = stream.start_time or 0
            period = _frame_period(stream)
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                time = Fraction(frame.pts - start) * stream.time_base  # seconds from the first frame
                while last is not None and len(picked) < num_frames and wanted[len(picked)] < time:
                    picked.append(last)  # the previous frame was on screen at that instant
                last, last_time = frame.to_ndarray(format="rgb24"), time
                if len(picked) == num_frames:
                    break
            while last is not None and len(picked) < num_frames and wanted[len(picked)] < last_time + period:
                picked.append(last)  # the last frame stays on screen for one source frame period
    except av.FFmpegError as exc:
        raise media_error("video", path, f"cannot decode video ({exc})", variant) from None
    if len(picked) < num_frames:
        have = float(last_time + period) if last is not None else 0.0
        need = float(Fraction(num_frames) / Fraction(fps))
        raise media_error(
            "video", path, f"is shorter than the clip: {have:.3f} s of frames, {need:.3f} s needed", variant
        )
    frames = np.stack(picked)  # (T, H0, W0, 3)
    return fit_frames(frames, height, width) if width is not None and height is not None else frames


def _frame_period(stream: av.video.stream.VideoStream) -> Fraction:
    """Seconds one source frame lasts (1 / average rate; 1/24 if the container does not say)."""
    rate = stream.average_rate or stream.guessed_rate
    return 1 / Fraction(rate) if rate else Fraction(1, 24)
