"""Export time per deliverable with and without the shipped campaign's layers (headline, logo, captions, end card).

Run: taskset -c 0,1 .venv/bin/python benchmarks/layers_bench.py [--presets reels,meta-feed-4x5] [--x264 medium]
Writes benchmarks/results/layers.md. Not a test. The clip is synthetic, LTX-2's vertical 1088x1920 at 24 fps with
48 kHz stereo, as long as campaigns/cold-brew-launch's clips (97 frames); the layer sets are that campaign's own
(its first variant), laid out by `plan`. Per preset it times `deliver()` without layers and with them, and,
separately, the layer work alone (rendering the sprites once + compositing every frame), which is what the
difference of two noisy end-to-end runs estimates.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from ltxflow.export import deliver_many
from ltxflow.export.fit import fit_frame
from ltxflow.layers.composite import Compositor
from ltxflow.plan import plan_campaign

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_bench import FPS, synthetic_clip  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--presets", default="reels,shorts,tiktok,meta-feed-4x5")
    parser.add_argument("--x264", default="medium", help="x264 preset (the shipped presets use medium)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "layers.md")
    args = parser.parse_args()
    plan = plan_campaign(ROOT / "campaigns" / "cold-brew-launch")
    task = plan.tasks[0]
    clip = synthetic_clip(task.num_frames / FPS)  # export_bench's vertical 1080p clip
    rows = []
    for name in args.presets.split(","):
        preset = plan.presets[name].with_overrides({"x264_preset": args.x264}, "bench")
        layers = plan.layers[task.id][name]
        times = {}
        with tempfile.TemporaryDirectory() as folder:
            for label, given in (("plain", None), ("layers", {name: layers})):
                start = time.perf_counter()
                deliver_many(clip, {name: preset}, Path(folder), lambda p, label=label: f"{label}-{p}", layers=given)
                times[label] = time.perf_counter() - start
        start = time.perf_counter()
        compositor = Compositor(layers, FPS)  # the sprites, rendered once
        render_s = time.perf_counter() - start
        fitted = fit_frame(clip.frames[0], preset)
        start = time.perf_counter()
        for index in range(clip.num_frames):
            compositor.apply(fitted, index)
        composite_s = time.perf_counter() - start
        layer_s = render_s + composite_s
        rows.append((name, times["plain"], times["layers"], render_s, composite_s, layer_s / times["plain"]))
        print(rows[-1], flush=True)
    lines = [
        "# Layer benchmark", "",
        f"{clip.num_frames} frames ({float(clip.duration):.2f} s) of a synthetic 1088x1920 clip at 24 fps + 48 kHz stereo, "
        f"exported per preset with x264 `{args.x264}`; layer sets of campaigns/cold-brew-launch (headline, logo, "
        "burned-in captions, end card, audio fade, .srt/.vtt). `plain` and `layers` are whole `deliver()` calls "
        "(fit, encode, read-back checks, cover, preview; `layers` adds the sprites, compositing and side files). "
        "`sprites` renders every layer once; `composite` draws them on all frames. Layer share = (sprites + "
        "composite) / plain.", "",
        f"- command: `taskset -c 0,1 .venv/bin/python benchmarks/layers_bench.py --presets {args.presets} --x264 {args.x264}`",
        f"- machine: {platform.machine()}, {len(os.sched_getaffinity(0))} cores usable, {platform.platform()}",
        f"- date: {datetime.date.today().isoformat()}", "",
        "| preset | plain s | with layers s | sprites s | composite s | layer share of the export |",
        "|---|---|---|---|---|---|",
        *[f"| {n} | {p:.1f} | {w:.1f} | {r:.2f} | {c:.2f} | {share:.1%} |" for n, p, w, r, c, share in rows],
    ]  # fmt: skip
    args.out.write_text("\n".join(lines) + "\n")
    print(args.out)


if __name__ == "__main__":
    main()
