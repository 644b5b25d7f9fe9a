"""Read a written MP4 back and check it against its preset."""

from __future__ import annotations

import math
import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ltxflow.export.loudness import integrated_loudness, true_peak_dbtp
from ltxflow.export.presets import Preset

LOUDNESS_TOLERANCE_LU = 1.0  # ± LU around the preset's target accepted by the spec check
_MUXER_TAGS = ("major_brand", "minor_version", "compatible_brands", "encoder")  # what the muxer writes itself


def top_level_boxes(path: Path) -> list[str]:
    """Types of the top-level ISO-BMFF boxes, in file order ("ftyp", "moov", "mdat", ...)."""
    boxes = []
    size_total = path.stat().st_size
    with path.open("rb") as f:
        offset = 0
        while offset + 8 <= size_total:
            f.seek(offset)
            size, kind = struct.unpack(">I4s", f.read(8))
            if size == 1:  # 64-bit size follows
                size = struct.unpack(">Q", f.read(8))[0]
            elif size == 0:  # box runs to the end of the file
                size = size_total - offset
            boxes.append(kind.decode("latin-1"))
            if size < 8:
                break
            offset += size
    return boxes


def _decode_audio(path: Path) -> tuple[np.ndarray, int]:
    """(C, S) float32 decoded audio of the first audio stream and its rate."""
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        chunks = [f.to_ndarray() for f in c.decode(stream)]
        rate = stream.rate
    return np.concatenate(chunks, axis=-1).astype(np.float32), rate


def probe_mp4(path: Path) -> dict[str, object]:
    """Facts read back from an MP4: geometry, codecs, timing, colour tags, GOP, audio, loudness, layout."""
    facts: dict[str, object] = {"bytes": path.stat().st_size}
    boxes = top_level_boxes(path)
    facts["faststart"] = "moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat")
    with av.open(str(path)) as c:
        facts["duration_s"] = round(c.duration / 1e6, 6) if c.duration else 0.0
        facts["tags"] = {k: v for k, v in c.metadata.items() if k not in _MUXER_TAGS}
        facts["video_streams"], facts["audio_streams"] = len(c.streams.video), len(c.streams.audio)
        if c.streams.video:
            v = c.streams.video[0]
            ctx = v.codec_context
            fps = v.average_rate or v.base_rate
            facts |= {
                "width": ctx.width, "height": ctx.height, "video_codec": ctx.name, "profile": ctx.profile,
                "pix_fmt": ctx.pix_fmt, "fps": str(fps), "frames": v.frames,
                "color_primaries": int(ctx.color_primaries), "color_trc": int(ctx.color_trc),
                "colorspace": int(ctx.colorspace), "b_frames": bool(ctx.has_b_frames),
            }  # fmt: skip
            keys = [i for i, packet in enumerate(p for p in c.demux(v) if p.size) if packet.is_keyframe]
            facts["max_keyframe_interval"] = max(np.diff([*keys, v.frames]).tolist() or [v.frames])
        if c.streams.audio:
            a = c.streams.audio[0]
            facts |= {"audio_codec": a.codec_context.name, "audio_profile": a.codec_context.profile,
                      "sample_rate": a.rate, "channels": a.channels, "audio_kbps": round((a.bit_rate or 0) / 1000)}  # fmt: skip
    if facts.get("audio_streams"):
        audio, rate = _decode_audio(path)
        lufs, tp = integrated_loudness(audio, rate), true_peak_dbtp(audio)
        facts["lufs"] = round(lufs, 2) if math.isfinite(lufs) else None
        facts["true_peak_dbtp"] = round(tp, 2) if math.isfinite(tp) else None
    return facts


def check_mp4(facts: dict[str, object], preset: Preset, fps: Fraction, has_sound: bool) -> list[str]:
    """Every way the probed file breaks `preset` (empty when it passes); `has_sound`: the clip had audio."""
    problems = []

    def expect(key: str, want: object) -> None:
        if facts.get(key) != want:
            problems.append(f"{key} is {facts.get(key)!r}, {preset.name} needs {want!r}")

    expect("video_streams", 1)
    expect("width", preset.width)
    expect("height", preset.height)
    if (preset.min_width and preset.width < preset.min_width) or (preset.min_height and preset.height < preset.min_height):
        problems.append(f"frame {preset.width}x{preset.height} is under the {preset.min_width or 0}x"
                        f"{preset.min_height or 0} minimum of {preset.name}")  # fmt: skip
    expect("video_codec", "h264")
    expect("profile", preset.profile.capitalize())
    expect("pix_fmt", preset.pix_fmt)
    expect("fps", str(fps))
    for key in ("color_primaries", "color_trc", "colorspace"):
        expect(key, 1)
    expect("faststart", True)
    gop = preset.gop_frames(fps)
    if int(facts.get("max_keyframe_interval") or 0) > gop:  # type: ignore[call-overload]
        problems.append(f"keyframes {facts['max_keyframe_interval']} frames apart, {preset.name} needs <= {gop}")
    seconds = float(facts["frames"]) / float(fps) if facts.get("frames") else 0.0  # type: ignore[arg-type]
    if seconds < preset.min_seconds - 1e-6:
        problems.append(f"duration {seconds:.2f} s is under the {preset.min_seconds:g} s minimum of {preset.name}")
    if seconds > preset.max_seconds + 1e-6:
        problems.append(f"duration {seconds:.2f} s is over the {preset.max_seconds:g} s maximum of {preset.name}")
    size = int(facts["bytes"])  # type: ignore[call-overload]
    if preset.max_bytes is not None and size > preset.max_bytes:
        problems.append(f"file is {size} bytes, over the {preset.max_bytes} byte cap of {preset.name}")
    if preset.min_total_kbps is not None and seconds > 0 and size * 8 / 1000 / seconds < preset.min_total_kbps:
        problems.append(f"bitrate {size * 8 / 1000 / seconds:.0f} kbps is under {preset.min_total_kbps} kbps")
    if has_sound or preset.require_audio:
        expect("audio_streams", 1)
        expect("audio_codec", "aac")
        expect("audio_profile", "LC")
        expect("sample_rate", preset.sample_rate)
        expect("channels", preset.channels)
    else:
        expect("audio_streams", 0)
    if has_sound and facts.get("lufs") is not None:
        lufs, tp = float(facts["lufs"]), float(facts["true_peak_dbtp"])  # type: ignore[arg-type]
        if abs(lufs - preset.loudness_lufs) > LOUDNESS_TOLERANCE_LU:
            problems.append(f"loudness {lufs:.1f} LUFS is not within ±1 LU of {preset.loudness_lufs:g}")
        if tp > preset.true_peak_dbtp:
            problems.append(f"true peak {tp:.2f} dBTP is above {preset.true_peak_dbtp:g}")
    return problems
