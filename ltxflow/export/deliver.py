"""One clip -> one platform's files: the MP4, its cover and preview, an optional review copy, caption side files;
plus the WAV. Layers (ltxflow.layers) are drawn on the fitted frames before the one encode per distinct MP4."""

from __future__ import annotations

import hashlib
import math
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Literal

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

if TYPE_CHECKING:
    from ltxflow.layers.composite import Compositor
    from ltxflow.layers.credentials import C2paSigner
    from ltxflow.layers.layout import LayerSet


@dataclass(frozen=True)
class Deliverable:
    """A written file, what was read back from it, and whether it meets its preset."""

    kind: Literal["video", "cover", "preview", "audio", "review", "captions"]
    path: Path
    sha256: str  # hex digest of the file
    bytes: int  # file size
    probe: Mapping[str, object]  # facts read back from the file (JSON-serialisable)
    spec_ok: bool
    spec_problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # what the exporter changed: trims, rate conversion, limiting
    facts: Mapping[str, object] = field(default_factory=dict)  # what the exporter put in: layers, captions, C2PA


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _deliverable(kind: str, path: Path, probe: Mapping[str, object], problems: list[str], warnings: list[str],
                 facts: Mapping[str, object] | None = None) -> Deliverable:  # fmt: skip
    return Deliverable(kind, path, sha256_file(path), path.stat().st_size, dict(probe), not problems,  # type: ignore[arg-type]
                       tuple(problems), tuple(warnings), dict(facts or {}))  # fmt: skip


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
                 review_copy: bool = False, cover_frame: int | None = None, layers: Mapping[str, LayerSet] | None = None,
                 metadata: Mapping[str, str] | None = None, signer: C2paSigner | None = None) -> dict[str, list[Deliverable]]:  # fmt: skip
    """`deliver` for each platform -> preset, encoding each distinct MP4 (and cover) once.

    Presets that agree on every encode field (`ENCODE_FIELDS`), on the cut (same frames, rate and
    length after trimming) and on their layer set share one encode: the other platforms' names are hard
    links to the first platform's MP4 (a copy where the file system has no links); equal covers and
    previews are shared the same way. `layers` (platform -> LayerSet) are drawn on the fitted frames;
    `metadata` tags go into every MP4; `signer` embeds a signed C2PA manifest in each. Every MP4 is
    still reopened and checked against its own preset. On any failure every file this call wrote is removed.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stems = {name: _checked_stem(stem_for(name)) for name in presets}
    job = _Job(out_dir, review_copy, cover_frame, dict(layers or {}), dict(metadata or {}), signer)
    if clip.joins:  # an extended clip: its seams go into every video's facts (and so into the ledger)
        from ltxflow.seams import measure

        job.seams = measure(clip).facts()  # type: ignore[union-attr]
    results: dict[str, list[Deliverable]] = {}
    try:
        for name, preset in presets.items():
            results[name] = _deliver_one(clip, preset, stems[name], job)
    except BaseException:
        for path in job.written:
            path.unlink(missing_ok=True)
        raise
    finally:
        for path in job.unsigned:
            path.unlink(missing_ok=True)
    return results


@dataclass
class _Job:
    """What one deliver_many call shares between its platforms."""

    out_dir: Path
    review_copy: bool
    cover_frame: int | None  # source frame of the covers; None = the middle one
    layers: dict[str, LayerSet]  # platform -> its layer set
    metadata: dict[str, str]  # MP4 tags
    signer: C2paSigner | None
    seams: dict[str, object] | None = None  # seam metrics of an extended clip (ltxflow.seams)
    encoded: dict[tuple[object, ...], Path] = field(default_factory=dict)  # encode key -> file written (unsigned)
    compositors: dict[tuple[str, Fraction], Compositor] = field(default_factory=dict)  # (layer set id, fps) -> sprites
    written: list[Path] = field(default_factory=list)
    unsigned: list[Path] = field(default_factory=list)  # encodes waiting to be signed into their platforms' files

    def compositor(self, platform: str, fps: Fraction) -> Compositor | None:
        """The platform's layer sprites at `fps`, rendered once per distinct layer set."""
        layer_set = self.layers.get(platform)
        if layer_set is None:
            return None
        key = (layer_set.id, fps)
        if key not in self.compositors:
            from ltxflow.layers.composite import Compositor

            self.compositors[key] = Compositor(layer_set, fps)
        return self.compositors[key]


def encode_key(preset: Preset, plan: _Plan, layers: str = "", metadata: Mapping[str, str] | None = None) -> tuple[object, ...]:
    """What decides an MP4's bytes: the preset's encode fields, the frames, rate and length, the layer set, the tags."""
    tags = tuple(sorted((metadata or {}).items()))
    return (*(getattr(preset, name) for name in ENCODE_FIELDS), plan.indices, plan.fps, layers, tags)


def _checked_stem(stem: str) -> str:
    if not stem or "/" in stem or "\\" in stem or stem.startswith("."):
        raise ExportError(f"export file stem {stem!r} must be a plain file name")
    return stem


def _deliver_one(clip: Clip, preset: Preset, stem: str, job: _Job) -> list[Deliverable]:
    """One platform's files; its MP4 and images are linked from `job.encoded` when identical ones exist."""
    plan = _plan(clip, preset)
    layer_set = job.layers.get(preset.name)
    source = clip.audio
    if layer_set is not None and layer_set.audio_fade is not None and clip.audio is not None:
        source = _fade_out(clip.audio, clip.sample_rate, *layer_set.audio_fade)  # type: ignore[arg-type]
    audio, report = delivery_audio(source, clip.sample_rate, plan.seconds, preset)
    warnings = list(plan.warnings)
    if clip.audio is None and audio is not None:
        warnings.append(f"clip is silent; added a silent AAC track because {preset.name} requires audio")
    if report is not None and not math.isfinite(report.input_lufs):
        warnings.append("audio too quiet to measure; left without loudness normalisation")
    if report is not None and report.limited_db > 0.05:
        warnings.append(f"peaks limited by up to {report.limited_db:.1f} dB to keep true peak ≤ "
                        f"{preset.true_peak_dbtp - preset.aac_headroom_db:g} dBTP")  # fmt: skip
    compositor = job.compositor(preset.name, plan.fps)

    def frames(review: bool) -> Iterator[np.ndarray]:
        for n, i in enumerate(plan.indices):
            fitted = fit_frame(clip.frames[i], preset)
            fitted = fitted if compositor is None else compositor.apply(fitted, n)
            yield draw_safe_box(fitted, preset.safe_box) if review and preset.safe_box else fitted

    out_dir, written = job.out_dir, job.written
    video_path = out_dir / f"{stem}.mp4"
    key = encode_key(preset, plan, layer_set.id if layer_set else "", job.metadata)
    master = job.encoded.get(key)
    if master is None:
        master = video_path if job.signer is None else out_dir / f"{stem}.unsigned.mp4"
        write_mp4(frames(False), plan.fps, audio, preset, master, metadata=job.metadata)
        (job.unsigned if job.signer is not None else written).append(master)  # after: a failed write removes nothing old
        job.encoded[key] = master
    if job.signer is not None:
        job.signer.sign(master, video_path)  # each file its own manifest, so never a link
    elif master != video_path:
        _link_atomic(master, video_path)
    if master != video_path:
        written.append(video_path)
    facts: dict[str, object] = {"c2pa": job.signer is not None}
    if job.seams is not None:
        facts["seams"] = job.seams
    if layer_set is not None:
        facts["layers"] = layer_set.facts()
    extra: list[Deliverable] = []
    if layer_set is not None and layer_set.sidecars:
        from ltxflow.layers.captions import write_captions

        srt, vtt = write_captions(layer_set.cues, layer_set.language, video_path)
        written += [srt, vtt]
        facts["captions"] = {"srt": str(srt), "vtt": str(vtt)}
        extra = [_deliverable("captions", p, {"format": p.suffix[1:], "cues": len(layer_set.cues),
                                               "language": layer_set.language}, [], []) for p in (srt, vtt)]  # fmt: skip
    results = [_checked_video("video", video_path, plan, clip, preset, warnings, job.metadata, facts), *extra]

    middle = len(plan.indices) // 2
    shown = plan.indices[middle] if job.cover_frame is None else min(job.cover_frame, max(plan.indices))
    at = middle if job.cover_frame is None else plan.indices.index(shown) if shown in plan.indices else middle
    cover = fit_frame(clip.frames[shown], preset)
    cover = cover if compositor is None else compositor.apply(cover, at)  # layers as they are at that frame
    image_key = ("cover", shown, preset.width, preset.height, preset.fit, preset.cover_size, layer_set.id if layer_set else "")
    cover_path = _shared(job.encoded, image_key, out_dir / f"{stem}.cover.jpg",
                         lambda path: write_jpeg(cover, path, preset.cover_size))  # fmt: skip
    written.append(cover_path)
    results.append(_deliverable("cover", cover_path, _probe_image(cover_path), [], []))
    if preset.preview_aspect is not None:
        aw, ah = preset.preview_aspect
        preview_path = _shared(job.encoded, (*image_key, "preview", preset.preview_aspect),
                               out_dir / f"{stem}.preview-{aw}x{ah}.jpg",
                               lambda path: write_jpeg(centre_crop(cover, preset.preview_aspect), path))  # fmt: skip
        written.append(preview_path)
        results.append(_deliverable("preview", preview_path, _probe_image(preview_path), [], []))
    if job.review_copy:
        review_path = out_dir / f"{stem}.review.mp4"
        write_mp4(frames(True), plan.fps, audio, preset, review_path, metadata=job.metadata)
        written.append(review_path)
        results.append(_checked_video("review", review_path, plan, clip, preset, [], job.metadata, {}))
    return results


def _fade_out(audio: np.ndarray, rate: int, start: float, end: float) -> np.ndarray:
    """(C, S) audio with a linear fade to silence over [start, end] s and silence after (before loudness)."""
    gain = np.ones(audio.shape[-1], np.float32)
    a, b = min(len(gain), round(start * rate)), min(len(gain), round(end * rate))
    gain[a:b] = np.linspace(1.0, 0.0, b - a, endpoint=False, dtype=np.float32)
    gain[b:] = 0.0
    return audio * gain


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


def _checked_video(kind: str, path: Path, plan: _Plan, clip: Clip, preset: Preset, warnings: list[str],
                   tags: Mapping[str, str], facts: Mapping[str, object]) -> Deliverable:  # fmt: skip
    """Reopen a written MP4 and check it against `preset` and the metadata tags it should carry."""
    probe = probe_mp4(path)
    problems = check_mp4(probe, preset, plan.fps, clip.audio is not None)
    found = probe.get("tags") or {}
    problems += [f"metadata tag {k!r} is missing" for k, v in tags.items() if found.get(k) != v]  # type: ignore[union-attr]
    return _deliverable(kind, path, probe, problems, warnings, facts)


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
