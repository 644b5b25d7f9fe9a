"""One-stage text -> audio+video sampling at the LTX-2 19B configuration with random bf16 weights (not a test).

    python benchmarks/pipeline_bench.py                       # H100: 768x512x121, 40 steps, 4 passes/step, batched
    python benchmarks/pipeline_bench.py --steps 5             # shorter run, same per-step numbers
    python benchmarks/pipeline_bench.py --separate-passes     # the reference's four batch-1 forwards per step
    python benchmarks/pipeline_bench.py --dry-run             # CPU, tiny config: checks that everything starts

The transformer is built on the meta device, materialised on the GPU and filled with seeded random values (no
checkpoint, ~38 GB bf16); text contexts are random (1, 1024, 3840) tensors (no Gemma). Measured: the guided
sampling loop of our one-stage pipeline (noise -> 40 Euler steps with the default LTX-2 guidance: CFG, STG on
block 29, modality isolation, rescale), each step's passes in one batched forward. VAE decoding and the text
encoder are not included. Prints a markdown table row (seconds per step, total, peak GPU memory).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time
from dataclasses import replace
from fractions import Fraction

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from ltxflow.engine.latents import (  # noqa: E402
    AudioLatentShape,
    VideoLatentShape,
    audio_positions,
    video_positions,
)
from ltxflow.engine.pipelines import Contexts, TransformerDenoiser  # noqa: E402
from ltxflow.engine.sampling import (  # noqa: E402
    LTX2_AUDIO_GUIDANCE,
    LTX2_VIDEO_GUIDANCE,
    LatentState,
    StepInfo,
    denoise,
    ltx2_sigmas,
    noise_states,
    passes_needed,
)
from ltxflow.engine.transformer import LTXTransformer, TransformerConfig, init_random_  # noqa: E402
from ltxflow.engine.accel import PLAIN, SpeedOptions, accelerate  # noqa: E402

TEXT_TOKENS = 1024
HEADER = ("| config | size | steps | passes/step | forward | speed | s/step | total s | peak GiB | device |\n"
          "|---|---|---|---|---|---|---|---|---|---|")  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="denoising steps (default 40)")
    parser.add_argument("--width", type=int, default=768)
    parser.add_argument("--height", type=int, default=512)
    parser.add_argument("--frames", type=int, default=121)
    parser.add_argument("--fps", type=int, default=24)
    parser.add_argument("--separate-passes", action="store_true", help="one forward per guidance pass")
    parser.add_argument("--plain", action="store_true", help="no speed settings (the reference-identical path)")
    parser.add_argument("--tiny", "--dry-run", dest="tiny", action="store_true",
                        help="CPU, tiny config, 64x64x9, 2 steps: checks the script starts and runs")
    parser.add_argument("--seed", type=int, default=10)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> str:
    """Run the benchmark and return (and print) the markdown table."""
    args = parse_args(argv)
    if args.tiny:
        config, device, dtype = TransformerConfig.tiny_19b(), torch.device("cpu"), torch.float32
        args.width, args.height, args.frames, args.steps = 64, 64, 9, min(args.steps, 2)
        vg, ag = replace(LTX2_VIDEO_GUIDANCE, stg_blocks=(1,)), replace(LTX2_AUDIO_GUIDANCE, stg_blocks=(1,))
        label = "tiny 19B-style"
    else:
        if not torch.cuda.is_available():
            raise SystemExit("pipeline_bench: needs a CUDA GPU (use --dry-run to check it on a CPU)")
        config, device, dtype = TransformerConfig.ltx2_19b(), torch.device("cuda"), torch.bfloat16
        vg, ag, label = LTX2_VIDEO_GUIDANCE, LTX2_AUDIO_GUIDANCE, "LTX-2 19B"

    with torch.device("meta"):
        model = LTXTransformer(config).to(dtype)  # cast on meta: a 19B fp32 copy would not fit next to bf16
    model = model.to_empty(device=device)
    init_random_(model, seed=args.seed).eval()
    speed = PLAIN if args.plain or device.type == "cpu" else SpeedOptions()
    accelerate(model, speed)

    fps = Fraction(args.fps)
    v_shape = VideoLatentShape.from_pixels(1, args.frames, args.height, args.width, channels=config.in_channels)
    a_shape = AudioLatentShape.from_video(1, args.frames, fps)
    video = LatentState.empty(video_positions(v_shape, fps, dtype=dtype, device=device), config.in_channels, dtype)
    audio = LatentState.empty(audio_positions(a_shape, device=device), config.audio_in_channels, dtype)
    gen = torch.Generator(device=device).manual_seed(args.seed)
    width = config.caption_channels or config.video_dim
    contexts = Contexts(*(torch.randn(1, TEXT_TOKENS, width, generator=gen, device=device, dtype=dtype)
                          for _ in range(4)))  # fmt: skip
    video, audio = noise_states(video, audio, gen)
    denoiser = TransformerDenoiser(model, contexts, batched=not args.separate_passes)
    sigmas = ltx2_sigmas(args.steps).to(device)

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    stamps: list[float] = []

    def on_step(_: StepInfo) -> None:
        sync()
        stamps.append(time.perf_counter())

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    sync()
    start = time.perf_counter()
    with torch.inference_mode():
        out_v, _ = denoise(denoiser, video, audio, sigmas, vg, ag, on_step)
    total = time.perf_counter() - start
    durations = [b - a for a, b in zip([start, *stamps[:-1]], stamps, strict=True)]
    steady = durations[1:] or durations  # the first step includes compilation and autotuning
    per_step = sum(steady) / len(steady)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    passes = len(passes_needed(vg, ag))
    forward = f"{'separate' if args.separate_passes else 'batched'} ({denoiser.forwards} calls)"
    speed_name = "plain" if speed is PLAIN else "default"
    row = (f"| {label} | {args.width}x{args.height}x{args.frames} ({v_shape.token_count()} + {a_shape.frames} tok) "
           f"| {args.steps} | {passes} | {forward} | {speed_name} | {per_step:.3f} (first {durations[0]:.2f}) "
           f"| {total:.1f} | {peak:.1f} | {device_name} |")  # fmt: skip
    if not torch.isfinite(out_v.latent.float()).all():
        row += " NON-FINITE OUTPUT"
    table = f"{HEADER}\n{row}"
    print(table)
    return table


if __name__ == "__main__":
    main()
