"""Platform delivery presets as frozen data, with validated overrides from campaigns and plugins."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from ltxflow.errors import LtxflowError

X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
HFR_ABOVE = Fraction(30)  # frame rates above this use `video_kbps_hfr` (YouTube: 8 Mbps at 24-30, 12 at 48-60)


class ExportError(LtxflowError, ValueError):
    """A preset, override or clip that cannot be exported; one line naming the source and field."""


@dataclass(frozen=True)
class Preset:
    """What one platform accepts. Defaults are the shared vertical master of platforms.md (YouTube's guide)."""

    name: str  # registry key used in campaigns: "reels", "shorts", "tiktok", ...
    label: str  # human name for reports: "Instagram / Facebook Reels"
    width: int  # px, even (yuv420p)
    height: int  # px, even (yuv420p)
    fit: Literal["crop", "pad", "blur-pad"] = "crop"  # how a source of another aspect fills the frame

    # ── time ──
    fps_policy: Literal["source", "fixed"] = "source"  # keep the clip's rate if within [min_fps, max_fps]
    fps: Fraction = Fraction(30)  # frames/s: the rate for "fixed", and the fallback for "source"
    min_fps: Fraction = Fraction(23)  # frames/s accepted as-is under "source"
    max_fps: Fraction = Fraction(60)  # frames/s accepted as-is under "source"
    min_seconds: float = 0.0  # s; shorter deliverables fail the spec check (they are still written)
    max_seconds: float = 180.0  # s; longer clips are trimmed or refused per `over_length`
    over_length: Literal["trim", "refuse"] = "trim"

    # ── video (H.264 via libx264) ──
    video_codec: Literal["libx264"] = "libx264"
    profile: Literal["high", "main"] = "high"
    pix_fmt: Literal["yuv420p"] = "yuv420p"
    color: Literal["bt709"] = "bt709"  # matrix used for RGB -> YUV and the primaries/transfer/matrix tags
    gop_seconds: float = 0.5  # s; closed GOP of fps * gop_seconds frames (half the frame rate)
    b_frames: int = 2  # consecutive B-frames
    rate_control: Literal["bitrate", "crf"] = "bitrate"
    video_kbps: int = 8000  # kbit/s target at <= 30 fps ("bitrate" mode)
    video_kbps_hfr: int = 12000  # kbit/s target above 30 fps ("bitrate" mode)
    crf: int = 18  # constant rate factor 0-51 ("crf" mode)
    x264_preset: str = "medium"  # speed/size trade-off; any libx264 preset keeps High features here

    # ── audio (AAC-LC) ──
    audio_codec: Literal["aac"] = "aac"
    sample_rate: int = 48000  # Hz
    channels: int = 2  # 1 or 2
    audio_kbps: int = 192  # kbit/s
    require_audio: bool = False  # True: a silent clip gets a silent track; False: it gets no audio stream
    loudness_lufs: float = -14.0  # LUFS integrated (BS.1770) target
    true_peak_dbtp: float = -1.0  # dBTP ceiling checked on the decoded deliverable
    aac_headroom_db: float = 0.5  # dB kept below the ceiling before encoding, for AAC overshoot

    # ── container and platform limits ──
    max_bytes: int | None = None  # file size cap in bytes
    min_total_kbps: int | None = None  # minimum overall bitrate in kbit/s (TikTok ads: 516)
    min_width: int | None = None  # px: the platform refuses narrower frames (TikTok ads: 540)
    min_height: int | None = None  # px: the platform refuses shorter frames (TikTok ads: 960)
    safe_box: tuple[int, int, int, int] | None = None  # px (x0, y0, x1, y1) kept clear of platform UI
    cover_width: int | None = None  # px of the cover JPEG; None = video width
    cover_height: int | None = None  # px of the cover JPEG; None = video height
    preview_aspect: tuple[int, int] | None = (3, 4)  # centre-crop preview (Instagram grid); None = none
    captions: Literal["burn", "sidecar", "both", "none"] = "both"  # a campaign's [captions]: drawn, .srt/.vtt, both

    def __post_init__(self) -> None:
        for field, problem in _problems(self):
            raise ExportError(f"preset '{self.name}' field '{field}': {problem}")

    @property
    def cover_size(self) -> tuple[int, int]:
        """(width, height) px of the cover JPEG."""
        return (self.cover_width or self.width, self.cover_height or self.height)

    def output_fps(self, source_fps: Fraction) -> Fraction:
        """Frame rate of the deliverable for a clip at `source_fps`."""
        if self.fps_policy == "source" and self.min_fps <= source_fps <= self.max_fps:
            return source_fps
        return self.fps

    def gop_frames(self, fps: Fraction) -> int:
        """Keyframe interval in frames at `fps`."""
        return max(1, round(fps * Fraction(str(self.gop_seconds))))

    def video_bitrate(self, fps: Fraction) -> int:
        """Target video bitrate in bit/s at `fps` ("bitrate" mode)."""
        return 1000 * (self.video_kbps_hfr if fps > HFR_ABOVE else self.video_kbps)

    def with_overrides(self, overrides: Mapping[str, object], source: str) -> Preset:
        """A copy with `overrides` applied (TOML-style values); errors name `source` and the field.

        A changed width/height rescales `safe_box` unless it is overridden too.
        """
        fields = {f.name: f for f in dataclasses.fields(self)}
        changes: dict[str, object] = {}
        for key, value in overrides.items():
            if key not in fields:
                raise ExportError(f"{source}: preset '{self.name}' has no field '{key}'")
            try:
                changes[key] = _CONVERT[key](value)
            except (TypeError, ValueError, ZeroDivisionError) as e:
                raise ExportError(f"{source}: preset '{self.name}' field '{key}': {e}") from None
        if ("width" in changes or "height" in changes) and "safe_box" not in changes and self.safe_box:
            sx = Fraction(changes.get("width", self.width)) / self.width  # type: ignore[arg-type]
            sy = Fraction(changes.get("height", self.height)) / self.height  # type: ignore[arg-type]
            x0, y0, x1, y1 = self.safe_box
            changes["safe_box"] = (round(x0 * sx), round(y0 * sy), round(x1 * sx), round(y1 * sy))
        try:
            return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
        except ExportError as e:
            raise ExportError(f"{source}: {e}") from None


# Fields that decide an MP4's bytes (with the frames, rate and length cut from the clip). Presets equal on
# these share one encode; the rest only name the preset, bound its spec check or shape its side files.
ENCODE_FIELDS: tuple[str, ...] = (
    "width", "height", "fit", "video_codec", "profile", "pix_fmt", "color", "gop_seconds", "b_frames",
    "rate_control", "video_kbps", "video_kbps_hfr", "crf", "x264_preset", "audio_codec", "sample_rate",
    "channels", "audio_kbps", "require_audio", "loudness_lufs", "true_peak_dbtp", "aac_headroom_db",
)  # fmt: skip
# The cut (fps policy and rates, trim limits) enters the encode key through the planned frames instead.
CHECK_ONLY_FIELDS: tuple[str, ...] = (
    "name", "label", "fps_policy", "fps", "min_fps", "max_fps", "min_seconds", "max_seconds", "over_length",
    "max_bytes", "min_total_kbps", "min_width", "min_height", "safe_box", "cover_width", "cover_height", "preview_aspect",
    "captions",  # burned-in captions enter the encode key through the layer set instead
)  # fmt: skip


# ── value conversion (TOML gives int, float, str, list) ────────────────────────────────────────


def _int(v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"expected an integer, got {v!r}")
    return v


def _opt_int(v: object) -> int | None:
    return None if v is None else _int(v)


def _float(v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"expected a number, got {v!r}")
    return float(v)


def _str(v: object) -> str:
    if not isinstance(v, str):
        raise ValueError(f"expected a string, got {v!r}")
    return v


def _bool(v: object) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"expected true or false, got {v!r}")
    return v


def _fraction(v: object) -> Fraction:
    """24, 29.97 or "30000/1001" -> Fraction (prefer strings for NTSC rates)."""
    if isinstance(v, bool) or not isinstance(v, int | float | str | Fraction):
        raise ValueError(f"expected a frame rate such as 30 or \"30000/1001\", got {v!r}")
    return Fraction(str(v)) if isinstance(v, float) else Fraction(v)


def _int_tuple(n: int) -> Callable[[object], tuple[int, ...] | None]:
    def convert(v: object) -> tuple[int, ...] | None:
        if v is None:
            return None
        if not isinstance(v, list | tuple) or len(v) != n:
            raise ValueError(f"expected a list of {n} integers, got {v!r}")
        return tuple(_int(x) for x in v)

    return convert


_CONVERT: dict[str, Callable[[object], object]] = {
    "name": _str, "label": _str, "width": _int, "height": _int, "fit": _str,
    "fps_policy": _str, "fps": _fraction, "min_fps": _fraction, "max_fps": _fraction,
    "min_seconds": _float, "max_seconds": _float, "over_length": _str,
    "video_codec": _str, "profile": _str, "pix_fmt": _str, "color": _str, "gop_seconds": _float,
    "b_frames": _int, "rate_control": _str, "video_kbps": _int, "video_kbps_hfr": _int, "crf": _int,
    "x264_preset": _str, "audio_codec": _str, "sample_rate": _int, "channels": _int, "audio_kbps": _int,
    "require_audio": _bool, "loudness_lufs": _float, "true_peak_dbtp": _float, "aac_headroom_db": _float,
    "max_bytes": _opt_int, "min_total_kbps": _opt_int, "min_width": _opt_int, "min_height": _opt_int,
    "safe_box": _int_tuple(4),
    "cover_width": _opt_int, "cover_height": _opt_int, "preview_aspect": _int_tuple(2), "captions": _str,
}  # fmt: skip


# ── validation ─────────────────────────────────────────────────────────────────────────────────

_CHOICES: dict[str, tuple[object, ...]] = {
    "fit": ("crop", "pad", "blur-pad"), "fps_policy": ("source", "fixed"), "over_length": ("trim", "refuse"),
    "video_codec": ("libx264",), "profile": ("high", "main"), "pix_fmt": ("yuv420p",), "color": ("bt709",),
    "rate_control": ("bitrate", "crf"), "x264_preset": X264_PRESETS, "audio_codec": ("aac",),
    "sample_rate": (44100, 48000), "channels": (1, 2), "captions": ("burn", "sidecar", "both", "none"),
}  # fmt: skip


def _problems(p: Preset) -> Iterable[tuple[str, str]]:
    """(field, problem) for every value the writer cannot honour."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", p.name):
        yield "name", f"{p.name!r} must be lower-case letters, digits, '-' or '_'"
    for field, choices in _CHOICES.items():
        if getattr(p, field) not in choices:
            yield field, f"{getattr(p, field)!r} is not one of {', '.join(map(str, choices))}"
    for field in ("width", "height"):
        v = getattr(p, field)
        if v <= 0 or v > 8192:
            yield field, f"{v} is outside 2-8192 px"
        elif v % 2:
            yield field, f"{v} is odd; yuv420p needs even sizes"
    for field in ("fps", "min_fps", "max_fps"):
        if getattr(p, field) <= 0:
            yield field, f"{getattr(p, field)} must be a positive frame rate"
    if p.min_fps > p.max_fps:
        yield "min_fps", f"{p.min_fps} is above max_fps {p.max_fps}"
    if p.min_seconds < 0:
        yield "min_seconds", f"{p.min_seconds} is negative"
    if p.max_seconds <= p.min_seconds:
        yield "max_seconds", f"{p.max_seconds} must be above min_seconds {p.min_seconds}"
    if p.gop_seconds <= 0:
        yield "gop_seconds", f"{p.gop_seconds} must be positive"
    if not 0 <= p.b_frames <= 16:
        yield "b_frames", f"{p.b_frames} is outside 0-16"
    for field in ("video_kbps", "video_kbps_hfr", "audio_kbps"):
        if getattr(p, field) <= 0:
            yield field, f"{getattr(p, field)} must be a positive bitrate"
    if not 0 <= p.crf <= 51:
        yield "crf", f"{p.crf} is outside 0-51"
    if not -70 <= p.loudness_lufs <= 0:
        yield "loudness_lufs", f"{p.loudness_lufs} is outside -70..0 LUFS"
    if p.true_peak_dbtp > 0:
        yield "true_peak_dbtp", f"{p.true_peak_dbtp} is above 0 dBTP"
    if not 0 <= p.aac_headroom_db <= 6:
        yield "aac_headroom_db", f"{p.aac_headroom_db} is outside 0-6 dB"
    for field in ("max_bytes", "min_total_kbps", "min_width", "min_height", "cover_width", "cover_height"):
        v = getattr(p, field)
        if v is not None and v <= 0:
            yield field, f"{v} must be positive"
    if p.safe_box is not None:
        x0, y0, x1, y1 = p.safe_box
        if not (0 <= x0 < x1 <= p.width and 0 <= y0 < y1 <= p.height):
            yield "safe_box", f"{p.safe_box} is not a box inside {p.width}x{p.height}"
    if p.preview_aspect is not None and min(p.preview_aspect) <= 0:
        yield "preview_aspect", f"{p.preview_aspect} must be two positive integers"


# ── registry helpers ───────────────────────────────────────────────────────────────────────────


def preset_registry(presets: Iterable[Preset]) -> dict[str, Preset]:
    """Presets by name; a name registered twice is an error."""
    registry: dict[str, Preset] = {}
    for preset in presets:
        if preset.name in registry:
            raise ExportError(f"export preset '{preset.name}' is registered twice")
        registry[preset.name] = preset
    return registry


def find_preset(registry: Mapping[str, Preset], name: str, source: str) -> Preset:
    """The preset called `name`, or a one-line error naming `source` and the known names."""
    if name not in registry:
        raise ExportError(f"{source}: unknown export preset '{name}' (known: {', '.join(sorted(registry))})")
    return registry[name]
