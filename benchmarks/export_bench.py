"""Export time per preset for a 20 s 1088x1920 clip: ltxflow.export.deliver vs the ffmpeg CLI doing the same encode.

Run: .venv/bin/python benchmarks/export_bench.py [--seconds 20] [--presets reels,meta-feed-4x5]
Writes benchmarks/results/export.md. Not a test: needs the `ffmpeg` binary on PATH.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from ltxflow.clip import Clip
from ltxflow.export import Preset, deliver, write_wav
from ltxflow.export.builtin import BUILTIN_PRESETS
from ltxflow.export.encode import video_options

SOURCE = (1920, 1088)  # (H, W) px: LTX-2's vertical 1080p
FPS = Fraction(24)
RATE = 48000  # Hz of the generated audio


def synthetic_clip(seconds: float) -> Clip:
    """Moving gradients plus noise (so x264 has real work) and a tone with a beat."""
    frames = round(seconds * FPS)
    h, w = SOURCE
    rng = np.random.default_rng(0)
    grain = rng.integers(0, 24, (h, w, 3), dtype=np.uint8)
    y, x = np.mgrid[0:h, 0:w]
    video = np.empty((frames, h, w, 3), np.uint8)
    for t in range(frames):
        video[t, ..., 0] = (x // 4 + 5 * t) % 256
        video[t, ..., 1] = (y // 8 + 3 * t) % 256
        video[t, ..., 2] = ((x + y) // 16 + t) % 256
        video[t] += np.roll(grain, 7 * t, axis=1)
    s = np.arange(round(seconds * RATE)) / RATE
    tone = 0.3 * np.sin(2 * np.pi * 220 * s) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * s))
    return Clip(video, FPS, np.stack([tone, tone]).astype(np.float32), RATE)


def ffmpeg_video_filter(preset: Preset) -> str:
    """The ffmpeg filtergraph equivalent of the preset's fit, with the BT.709 TV-range conversion."""
    w, h = preset.width, preset.height
    to_yuv = "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p"
    if preset.fit == "crop":
        return f"[0:v]crop='min(iw,ih*{w}/{h})':'min(ih,iw*{h}/{w})',scale={w}:{h}:flags=lanczos,{to_yuv}[v]"
    bg = (f"crop='min(iw,ih*{w}/{h})':'min(ih,iw*{h}/{w})',scale={w // 8}:{h // 8}:flags=area,gblur=sigma=3,"
          f"scale={w}:{h},colorchannelmixer=rr=.6:gg=.6:bb=.6")  # fmt: skip
    if preset.fit == "pad":
        bg = f"scale={w}:{h},drawbox=c=black:t=fill"
    fg = f"scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2:flags=lanczos"
    return f"[0:v]split[a][b];[a]{bg}[bg];[b]{fg}[fg];[bg][fg]overlay=(W-w)/2:(H-h)/2,{to_yuv}[v]"


def run_ffmpeg(clip: Clip, preset: Preset, wav: Path, out: Path) -> float:
    """Two-pass loudnorm + the same x264/AAC settings; raw RGB frames piped in; returns seconds."""
    start = time.perf_counter()
    target = f"I={preset.loudness_lufs}:TP={preset.true_peak_dbtp - preset.aac_headroom_db}:LRA=20"
    measure = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(wav), "-af",
                              f"loudnorm={target}:print_format=json", "-f", "null", "-"],
                             capture_output=True, text=True, check=True).stderr  # fmt: skip
    m = json.loads(measure[measure.rindex("{") :])
    loudnorm = (f"loudnorm={target}:linear=true:measured_I={m['input_i']}:measured_TP={m['input_tp']}:"
                f"measured_LRA={m['input_lra']}:measured_thresh={m['input_thresh']}:offset={m['target_offset']},"
                f"aresample={preset.sample_rate}")  # fmt: skip
    opts = video_options(preset, FPS)
    rate = preset.video_bitrate(FPS)
    h, w = clip.height, clip.width
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(FPS), "-i", "-", "-i", str(wav),
           "-filter_complex", f"{ffmpeg_video_filter(preset)};[1:a]{loudnorm}[a]", "-map", "[v]", "-map", "[a]",
           "-c:v", "libx264", "-profile:v", opts["profile"], "-preset", opts["preset"], "-g", opts["g"],
           "-bf", opts["bf"], "-flags", "+cgop", "-x264-params", opts["x264-params"], "-b:v", str(rate),
           "-maxrate", opts["maxrate"], "-bufsize", opts["bufsize"], "-color_primaries", "bt709",
           "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv",
           "-c:a", "aac", "-b:a", f"{preset.audio_kbps}k", "-ar", str(preset.sample_rate), "-ac", str(preset.channels),
           "-movflags", "+faststart", str(out)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    for frame in clip.frames:
        proc.stdin.write(frame.tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed for {preset.name}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--presets", default=",".join(p.name for p in BUILTIN_PRESETS))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "export.md")
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg is not on PATH (apt-get install -y ffmpeg)")
    chosen = [p for p in BUILTIN_PRESETS if p.name in args.presets.split(",")]
    clip = synthetic_clip(args.seconds)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        wav = write_wav(clip, Path(tmp) / "source.wav").path
        for preset in chosen:
            start = time.perf_counter()
            video = deliver(clip, preset, Path(tmp), f"ours-{preset.name}")[0]
            ours = time.perf_counter() - start
            theirs = run_ffmpeg(clip, preset, wav, Path(tmp) / f"ffmpeg-{preset.name}.mp4")
            ff_bytes = (Path(tmp) / f"ffmpeg-{preset.name}.mp4").stat().st_size
            rows.append((preset.name, ours, theirs, video.bytes, ff_bytes, video.spec_ok))
            print(f"{preset.name}: ltxflow {ours:.1f} s, ffmpeg {theirs:.1f} s, ratio {ours / theirs:.2f}", flush=True)
    version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.splitlines()[0]
    lines = [
        "# Export benchmark",
        "",
        f"{args.seconds:g} s synthetic clip, 1088x1920 RGB at 24 fps + 48 kHz stereo tone, exported per preset "
        "(x264 `medium`, 8 Mbit/s, AAC 192 kbit/s, two-pass loudness). ltxflow time covers `deliver()` "
        "(fit, encode, read-back check incl. decoded-audio loudness, cover + preview JPEGs); ffmpeg time covers "
        "loudnorm pass 1 + the encode with the equivalent filtergraph, raw RGB frames piped in.",
        "",
        f"- command: `.venv/bin/python benchmarks/export_bench.py --seconds {args.seconds:g} --presets {args.presets}`",
        f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        f"- ffmpeg: {version}",
        f"- date: {datetime.date.today().isoformat()}",
        "",
        "| preset | ltxflow s | ffmpeg s | ratio (ltxflow / ffmpeg) | ltxflow MB | ffmpeg MB | spec ok |",
        "|---|---|---|---|---|---|---|",
        *(f"| {n} | {a:.1f} | {b:.1f} | {a / b:.2f} | {x / 1e6:.1f} | {y / 1e6:.1f} | {ok} |" for n, a, b, x, y, ok in rows),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
