"""H.264 + AAC-LC MP4 writing with PyAV: rational frame rate, closed GOP, BT.709 tags, faststart, atomic."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace

from ltxflow.export.atomic import atomic_path
from ltxflow.export.presets import Preset

BT709 = 1  # AVCOL_PRI_BT709 = AVCOL_TRC_BT709 = AVCOL_SPC_BT709
TV_RANGE = 1  # AVCOL_RANGE_MPEG (16-235)
AAC_FRAME = 1024  # samples per AAC-LC frame


def video_options(preset: Preset, fps: Fraction) -> dict[str, str]:
    """libx264 options for `preset` at `fps` (High features forced on so fast presets stay High)."""
    gop = preset.gop_frames(fps)
    options = {
        "profile": preset.profile,
        "preset": preset.x264_preset,
        "g": str(gop),
        "bf": str(preset.b_frames),
        "flags": "+cgop",  # closed GOP
        "x264-params": f"bframes={preset.b_frames}:cabac=1:8x8dct={int(preset.profile == 'high')}:open-gop=0",
    }
    if preset.rate_control == "crf":
        options["crf"] = str(preset.crf)
    else:
        rate = preset.video_bitrate(fps)
        options |= {"maxrate": str(rate * 3 // 2), "bufsize": str(rate * 2)}
    return options


def _mux(container: av.container.OutputContainer, packets: Iterable[av.Packet]) -> None:
    """Write packets (one seam for tests that simulate a full disk)."""
    for packet in packets:
        container.mux(packet)


def _yuv_frame(rgb: np.ndarray, pts: int) -> av.VideoFrame:
    """(H, W, 3) uint8 RGB -> yuv420p frame converted with the BT.709 matrix, TV range."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    frame = frame.reformat(format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG)
    frame.pts = pts
    return frame


def write_mp4(frames: Iterable[np.ndarray], fps: Fraction, audio: np.ndarray | None, preset: Preset, path: Path,
              metadata: Mapping[str, str] | None = None) -> None:  # fmt: skip
    """Encode (H, W, 3) frames at `fps` and (C, S) float32 audio at `preset.sample_rate` to `path`.

    Video and audio are interleaved by time; the file is written under a hidden partial name and renamed
    only after every encoder is flushed and the container closed (moov moved to the front). `metadata`
    tags are written as they are (any key, as `mdta` entries; `comment` also as the classic ©cmt).
    """
    flags = "+faststart+use_metadata_tags" if metadata else "+faststart"
    # the edit lists' durations are in the movie timescale (1000 by default): 49 frames at 30 fps would read back
    # as 1633 ms (5 ticks short); a timescale that holds a whole number of frames and of audio samples keeps
    # frames / fps exact for every rate (lcm(30000, 48000) = 240000 for 30000/1001)
    options = {"movflags": flags, "movie_timescale": str(math.lcm(fps.numerator, preset.sample_rate))}
    with atomic_path(path) as partial:
        with av.open(str(partial), "w", format="mp4", container_options=options) as out:
            out.metadata.update(dict(metadata or {}))
            video = out.add_stream(preset.video_codec, rate=fps)
            video.width, video.height, video.pix_fmt = preset.width, preset.height, preset.pix_fmt
            video.codec_context.time_base = 1 / fps
            if preset.rate_control == "bitrate":
                video.bit_rate = preset.video_bitrate(fps)
            ctx = video.codec_context
            ctx.color_primaries, ctx.color_trc, ctx.colorspace, ctx.color_range = BT709, BT709, BT709, TV_RANGE
            video.options = video_options(preset, fps)
            sound = None
            if audio is not None:
                layout = "stereo" if audio.shape[0] == 2 else "mono"
                sound = out.add_stream(preset.audio_codec, rate=preset.sample_rate, layout=layout)
                sound.bit_rate = preset.audio_kbps * 1000
            sent = 0  # audio samples encoded so far
            for i, rgb in enumerate(frames):
                frame = _yuv_frame(rgb, i)
                frame.time_base = video.codec_context.time_base
                _mux(out, video.encode(frame))
                if sound is not None:
                    until = min(audio.shape[-1], int((i + 1) * preset.sample_rate / fps))
                    sent = _encode_audio(out, sound, audio, sent, until)
            _mux(out, video.encode())
            if sound is not None:
                _encode_audio(out, sound, audio, sent, audio.shape[-1])
                _mux(out, sound.encode())


def _encode_audio(out: av.container.OutputContainer, stream: av.AudioStream, audio: np.ndarray, start: int, stop: int) -> int:
    """Encode whole AAC frames of audio[:, start:stop] (a final short frame only at the end); return the new start."""
    end = audio.shape[-1]
    while start < stop and (stop - start >= AAC_FRAME or stop == end):
        chunk = np.ascontiguousarray(audio[:, start : start + AAC_FRAME], dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=stream.layout.name)
        frame.sample_rate = stream.rate
        frame.pts, frame.time_base = start, Fraction(1, stream.rate)
        _mux(out, stream.encode(frame))
        start += chunk.shape[-1]
    return start
