"""One clip -> one platform's files: the MP4, its cover and preview, an optional review copy; plus the WAV."""

from __future__ import annotations

import hashlib
import math
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np
from PIL import Image

from ltxflow.clip import Clip
from ltxflow.export.atomic import atomic_path
from ltxflow.export.audio import delivery_audio
from ltxflow.export.encode import write_mp4
from ltxflow.export.fit import draw_safe_box, fit_frame, frame_indices
from ltxflow.export.images import centre_crop, write_jpeg
from ltxflow.export.presets import ENCODE_FIELDS, ExportError, Preset
from ltxflow.export.probe import check_mp4, probe_mp4


@dataclass(frozen=True)
class Deliverable:
    """A written file, what was read back from it, and whether it meets its preset."""

    kind: Literal["video", "cover", "preview", "audio", "review"]
    path: Path
    sha256: str  # hex digest of the file
    bytes: int  # file size
    probe: Mapping[str, object]  # facts read back from the file (JSON-serialisable)
    spec_ok: bool
    spec_problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # what the exporter changed: trims, rate conversion, limiting


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _deliverable(kind: str, path: Path, probe: Mapping[str, object], problems: list[str], warnings: list[str]) -> Deliverable:
    return Deliverable(kind, path, sha256_file(path), path.stat().st_size, dict(probe), not problems,  # type: ignore[arg-type]
                       tuple(problems), tuple(warnings))  # fmt: skip


# ── planning: what to cut and how to time it ───────────────────────────────────────────────────


@dataclass(frozen=True)
class _Plan:
    """Source frames to show, the output rate and length, and the warnings that explain them."""

    indices: tuple[int, ...]  # source frame per output frame
    fps: Fraction  # frames/s of the deliverable
    seconds: Fraction  # s of the deliverable
    warnings: tuple[str, ...]


def _plan(clip: Clip, preset: Preset) -> _Plan:
    """Trim or refuse over-length clips, then convert the frame rate if the preset asks."""
    warnings = []
    frames = clip.num_frames
    limit = Fraction(str(preset.max_seconds))
    if clip.duration > limit:
        if preset.over_length == "refuse":
            raise ExportError(f"clip is {float(clip.duration):.1f} s, over the {preset.max_seconds:g} s limit "
                              f"of preset '{preset.name}' (over_length = refuse)")  # fmt: skip
        frames = max(1, math.floor(limit * clip.fps))
        warnings.append(f"trimmed {float(clip.duration):.1f} s → {float(frames / clip.fps):.1f} s for {preset.name}")
    fps = preset.output_fps(clip.fps)
    if fps != clip.fps:
        warnings.append(f"frame rate {clip.fps} → {fps} fps for {preset.name}")
    indices = tuple(frame_indices(frames, clip.fps, fps))
    return _Plan(indices, fps, len(indices) / fps, tuple(warnings))


# ── public API ─────────────────────────────────────────────────────────────────────────────────


def deliver(clip: Clip, preset: Preset, out_dir: Path, stem: str, *, review_copy: bool = False,
            cover_frame: int | None = None) -> list[Deliverable]:  # fmt: skip
    """Write `<stem>.mp4`, `<stem>.cover.jpg`, `<stem>.preview-3x4.jpg` (and `<stem>.review.mp4`) into out_dir.

    Each file is written atomically; the MP4s are reopened and checked against the preset. The review
    copy dims everything outside the preset's safe box (identical to the delivery when it has none).
    `cover_frame`: the clip frame the cover shows (default: the middle one; see export.cover).
    """
    return deliver_many(clip, {preset.name: preset}, out_dir, lambda _: stem, review_copy=review_copy,
                        cover_frame=cover_frame)[preset.name]  # fmt: skip


def deliver_many(clip: Clip, presets: Mapping[str, Preset], out_dir: Path, stem_for: Callable[[str], str], *,
                 review_copy: bool = False, cover_frame: int | None = None) -> dict[str, list[Deliverable]]:  # fmt: skip
    """`deliver` for each platform -> preset, encoding each distinct MP4 (and cover) once.

    Presets that agree on every encode field (`ENCODE_FIELDS`) and on the cut (same frames, rate and
    length after trimming) share one encode: the other platforms' names are hard links to the first
    platform's MP4 (a copy where the file system has no links); equal covers and previews are shared
    the same way. Every MP4 is still reopened and checked against its own preset. On any failure every
    file this call wrote is removed.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stems = {name: _checked_stem(stem_for(name)) for name in presets}
    encoded: dict[tuple[object, ...], Path] = {}  # encode key -> file already written by this call
    results: dict[str, list[Deliverable]] = {}
    written: list[Path] = []
    try:
        for name, preset in presets.items():
            results[name] = _deliver_one(clip, preset, out_dir, stems[name], review_copy, encoded, written,
                                         cover_frame)  # fmt: skip
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return results


def encode_key(preset: Preset, plan: _Plan) -> tuple[object, ...]:
    """What decides an MP4's bytes: the preset's encode fields and the frames, rate and length to encode."""
    return (*(getattr(preset, field) for field in ENCODE_FIELDS), plan.indices, plan.fps)


def _checked_stem(stem: str) -> str:
    if not stem or "/" in stem or "\\" in stem or stem.startswith("."):
        raise ExportError(f"export file stem {stem!r} must be a plain file name")
    return stem


def _deliver_one(clip: Clip, preset: Preset, out_dir: Path, stem: str, review_copy: bool,
                 encoded: dict[tuple[object, ...], Path], written: list[Path],
                 cover_frame: int | None = None) -> list[Deliverable]:  # fmt: skip
    """One platform's files; its MP4 and images are linked from `encoded` when identical ones exist."""
    plan = _plan(clip, preset)
    audio, report = delivery_audio(clip.audio, clip.sample_rate, plan.seconds, preset)
    warnings = list(plan.warnings)
    if clip.audio is None and audio is not None:
        warnings.append(f"clip is silent; added a silent AAC track because {preset.name} requires audio")
    if report is not None and not math.isfinite(report.input_lufs):
        warnings.append("audio too quiet to measure; left without loudness normalisation")
    if report is not None and report.limited_db > 0.05:
        warnings.append(f"peaks limited by up to {report.limited_db:.1f} dB to keep true peak ≤ "
                        f"{preset.true_peak_dbtp - preset.aac_headroom_db:g} dBTP")  # fmt: skip

    def frames(review: bool) -> Iterator[np.ndarray]:
        for i in plan.indices:
            fitted = fit_frame(clip.frames[i], preset)
            yield draw_safe_box(fitted, preset.safe_box) if review and preset.safe_box else fitted

    video_path = out_dir / f"{stem}.mp4"
    key = encode_key(preset, plan)
    master = encoded.get(key)
    if master is not None and master != video_path:
        _link_atomic(master, video_path)
    else:
        write_mp4(frames(False), plan.fps, audio, preset, video_path)
        encoded[key] = video_path
    written.append(video_path)
    results = [_checked_video("video", video_path, plan, clip, preset, warnings)]

    shown = plan.indices[len(plan.indices) // 2] if cover_frame is None else min(cover_frame, max(plan.indices))
    cover = fit_frame(clip.frames[shown], preset)
    image_key = ("cover", shown, preset.width, preset.height, preset.fit, preset.cover_size)
    cover_path = _shared(encoded, image_key, out_dir / f"{stem}.cover.jpg",
                         lambda path: write_jpeg(cover, path, preset.cover_size))  # fmt: skip
    written.append(cover_path)
    results.append(_deliverable("cover", cover_path, _probe_image(cover_path), [], []))
    if preset.preview_aspect is not None:
        aw, ah = preset.preview_aspect
        preview_path = _shared(encoded, (*image_key, "preview", preset.preview_aspect),
                               out_dir / f"{stem}.preview-{aw}x{ah}.jpg",
                               lambda path: write_jpeg(centre_crop(cover, preset.preview_aspect), path))  # fmt: skip
        written.append(preview_path)
        results.append(_deliverable("preview", preview_path, _probe_image(preview_path), [], []))
    if review_copy:
        review_path = out_dir / f"{stem}.review.mp4"
        write_mp4(frames(True), plan.fps, audio, preset, review_path)
        written.append(review_path)
        results.append(_checked_video("review", review_path, plan, clip, preset, []))
    return results


def _shared(made: dict[tuple[object, ...], Path], key: tuple[object, ...], path: Path,
            write: Callable[[Path], Path]) -> Path:  # fmt: skip
    """`path` written by `write(path)`, or linked to the file an equal `key` already made in this call."""
    first = made.get(key)
    if first is not None and first != path:
        _link_atomic(first, path)
        return path
    made[key] = write(path)
    return made[key]


def _link_atomic(source: Path, target: Path) -> None:
    """Give a finished file another name: a hard link (one copy on disk), else a copy where links are refused;
    the target appears complete or not at all."""
    with atomic_path(target) as partial:
        partial.unlink(missing_ok=True)
        try:
            os.link(source, partial)
        except OSError:  # a file system without hard links (FAT, some network shares): copy the bytes instead
            shutil.copyfile(source, partial)


def _checked_video(kind: str, path: Path, plan: _Plan, clip: Clip, preset: Preset, warnings: list[str]) -> Deliverable:
    """Reopen a written MP4 and check it against `preset`."""
    facts = probe_mp4(path)
    return _deliverable(kind, path, facts, check_mp4(facts, preset, plan.fps, clip.audio is not None), warnings)


def _probe_image(path: Path) -> dict[str, object]:
    """Format and size read back from a written image."""
    with Image.open(path) as image:
        return {"bytes": path.stat().st_size, "format": image.format, "width": image.width, "height": image.height}


def write_wav(clip: Clip, path: Path) -> Deliverable:
    """The clip's generated audio as 24-bit PCM WAV at its own rate and channels (no loudness change)."""
    if clip.audio is None or clip.sample_rate is None:
        raise ExportError(f"{path}: clip has no audio to write")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = (np.clip(clip.audio, -1.0, 1.0) * (2**31 - 1)).astype(np.int32)  # (C, S) s32, top 24 bits kept
    channels = pcm.shape[0]
    layout = {1: "mono", 2: "stereo"}.get(channels, f"{channels}c")
    with atomic_path(path) as partial:
        with av.open(str(partial), "w", format="wav") as out:
            stream = out.add_stream("pcm_s24le", rate=clip.sample_rate, layout=layout)
            for start in range(0, pcm.shape[-1], 4096):
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[:, start : start + 4096].T.reshape(1, -1)),
                                                   format="s32", layout=layout)  # fmt: skip
                frame.sample_rate, frame.pts = clip.sample_rate, start
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
    with av.open(str(path)) as c:
        a = c.streams.audio[0]
        facts = {"bytes": path.stat().st_size, "audio_codec": a.codec_context.name, "sample_rate": a.rate,
                 "channels": a.channels, "duration_s": round(float(a.duration * a.time_base), 6) if a.duration else None}  # fmt: skip
    problems = []
    if facts["sample_rate"] != clip.sample_rate or facts["channels"] != channels:
        problems.append(f"wav is {facts['sample_rate']} Hz {facts['channels']} ch, clip is {clip.sample_rate} Hz {channels} ch")
    return _deliverable("audio", path, facts, problems, [])
