"""FP8 quality against our bf16, and the 22B model in a 24 GB budget with FP8 weights and block offloading.

    python benchmarks/memory_bench.py --out DIR [--configs 22b,19b] [--sizes 768x512,1920x1088] [--budget-gib 24]
    python benchmarks/memory_bench.py --dry-run        # tiny model on the CPU: checks the script runs

Per configuration (random bf16 weights, 1024 text tokens, 121 frames, sigma 0.8 / audio 0.6, batch 1), our model
only: the default bf16 forward, then the FP8 forward (error against that bf16 output: the quality cost of FP8), then,
for the configs named by --offload, the same FP8 model with its blocks offloaded to pinned host memory while the
allocator is capped at --budget-gib (the forward fails with out-of-memory if it does not fit): time, slowdown and
peak memory. Also measured: the pinned host-to-device copy rate that bounds offloading. Only the DiT forward is
counted: the text encoder and decoders run before and after it and are not resident at the same time.
The table comes last and goes to DIR/memory_bench.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import pathlib
import statistics
import sys
import time
from collections.abc import Callable

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from ltxflow.engine.latents import AudioLatentShape, VideoLatentShape  # noqa: E402
from ltxflow.engine.latents.positions import audio_positions, video_positions  # noqa: E402
from ltxflow.engine.transformer import LTXTransformer, ModalityInput, TransformerConfig  # noqa: E402
from ltxflow.engine.transformer.flops import forward_flops  # noqa: E402
from ltxflow.engine.transformer.model import init_random_  # noqa: E402
from ltxflow.engine.accel import SpeedOptions, accelerate  # noqa: E402

CONFIGS = {"19b": TransformerConfig.ltx2_19b, "22b": TransformerConfig.ltx23_22b,
           "tiny": TransformerConfig.tiny_22b}
GIB = 2**30


def time_ms(fn: Callable[[], object], device: torch.device, warmup: int, repeats: int) -> float:
    """Median wall milliseconds of `fn` (synchronised before and after each run)."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def rel_l2(a: torch.Tensor, b: torch.Tensor) -> float:
    """||a - b|| / ||b|| in fp32 (nan if a is not finite)."""
    a, b = a.float(), b.float()
    return ((a - b).norm() / b.norm()).item() if torch.isfinite(a).all() else float("nan")


def h2d_gbps(device: torch.device) -> float | None:
    """Pinned host -> device copy rate for 1 GiB, GB/s (None off CUDA)."""
    if device.type != "cuda":
        return None
    host = torch.empty(GIB, dtype=torch.uint8, pin_memory=True)
    dev = torch.empty(GIB, dtype=torch.uint8, device=device)
    ms = time_ms(lambda: dev.copy_(host, non_blocking=True), device, 2, 10)
    return GIB / ms / 1e6


def make_input(config: TransformerConfig, width: int, height: int, frames: int, text: int,
               device: torch.device, dtype: torch.dtype) -> tuple[ModalityInput, ModalityInput, int, int]:
    """Seeded random latents and contexts at a pixel size, with the pipelines' positions."""
    vshape = VideoLatentShape.from_pixels(1, frames, height, width)
    ashape = AudioLatentShape.from_video(1, frames, 24)
    nv, na = vshape.token_count(), ashape.token_count()
    gen = torch.Generator(device=device).manual_seed(7)
    rnd = lambda *s: torch.randn(*s, generator=gen, device=device).to(dtype)  # noqa: E731
    vw = config.video_dim if config.caption_proj_before_connector else config.caption_channels
    aw = config.audio_dim if config.caption_proj_before_connector else config.caption_channels
    sv, sa = torch.tensor([0.8], device=device), torch.tensor([0.6], device=device)
    video = ModalityInput(rnd(1, nv, config.in_channels), sv, torch.full((1, nv), 0.8, device=device),
                          video_positions(vshape, 24, dtype, device), rnd(1, text, vw))
    audio = ModalityInput(rnd(1, na, config.audio_in_channels), sa, torch.full((1, na), 0.6, device=device),
                          audio_positions(ashape, device), rnd(1, text, aw))
    return video, audio, nv, na


def run_config(name: str, args, device: torch.device, rows: list[dict]) -> None:
    """bf16, FP8 and (optionally) FP8 + offload under the memory cap for one configuration."""
    config = CONFIGS[name]()
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    t0 = time.time()
    with torch.device("meta"):
        model = LTXTransformer(config)
    model = init_random_(model.to_empty(device=device).to(dtype), seed=1234).eval().requires_grad_(False)
    print(f"[{name}] built in {time.time() - t0:.1f} s", flush=True)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    inputs = {s: make_input(config, s[0], s[1], args.frames, args.text, device, dtype) for s in sizes}
    bf16_out: dict[tuple, torch.Tensor] = {}
    fp8_out: dict[tuple, torch.Tensor] = {}
    base_ms: dict[tuple, float] = {}

    def measure(variant: str, size, cap_gib: float | None = None) -> None:
        video, audio, nv, na = inputs[size]
        if device.type == "cuda":
            gc.collect()
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        t1 = time.time()
        out = model(video, audio)[0]
        first = time.time() - t1
        ms = time_ms(lambda: model(video, audio), device, 1, args.repeats)
        flop = forward_flops(config, nv, na, args.text)
        row = dict(config=name, size=f"{size[0]}x{size[1]}x{args.frames}", variant=variant, ms=ms,
                   first_s=first, tflops=flop / ms / 1e9,
                   peak_alloc_gib=torch.cuda.max_memory_allocated() / GIB if device.type == "cuda" else None,
                   peak_reserved_gib=torch.cuda.max_memory_reserved() / GIB if device.type == "cuda" else None,
                   cap_gib=cap_gib, err_vs_bf16=None, err_vs_fp8=None, vs_bf16=None)
        if variant == "bf16 (default)":
            bf16_out[size], base_ms[size] = out.float().cpu(), ms
        else:
            row["err_vs_bf16"] = rel_l2(out.cpu(), bf16_out[size])
            row["vs_bf16"] = base_ms[size] / ms
            if variant == "FP8":
                fp8_out[size] = out.float().cpu()
            else:
                row["err_vs_fp8"] = rel_l2(out.cpu(), fp8_out[size])
        rows.append(row)
        print(json.dumps(row), flush=True)

    with torch.inference_mode():
        accelerate(model, SpeedOptions())
        for s in sizes:
            measure("bf16 (default)", s)
        accelerate(model, SpeedOptions(fp8=True))
        for s in sizes:
            measure("FP8", s)
        if name in args.offload.split(","):
            t0 = time.time()
            offloader = accelerate(model, SpeedOptions(fp8=True, offload_blocks=True)).offloader
            assert offloader is not None
            host = offloader.host_bytes / GIB
            print(f"[{name}] offloaded {host:.1f} GiB of block weights in {time.time() - t0:.1f} s "
                  f"(pinned: {offloader.pinned})", flush=True)
            cap = None
            if device.type == "cuda":
                gc.collect()
                torch.cuda.empty_cache()
                total = torch.cuda.get_device_properties(device).total_memory
                cap = args.budget_gib
                torch.cuda.set_per_process_memory_fraction(min(1.0, cap * GIB / total), device)
            try:
                for s in sizes:
                    measure(f"FP8 + block offload ({host:.1f} GiB in host memory)", s, cap)
            finally:
                if device.type == "cuda":
                    torch.cuda.set_per_process_memory_fraction(1.0, device)
    del model, inputs
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def table(rows: list[dict], env: dict, command: str) -> str:
    """Markdown: setup, then one row per measurement."""
    lines = [f"GPU: {env['device']}; torch {env['torch']}; pinned host->device copy {env['h2d_gbps'] or 0:.1f} GB/s",
             f"Command: `{command}`", "",
             "| config | size | variant | ms | vs our bf16 | TFLOP/s | rel. err vs our bf16 (L2) | "
             "rel. err vs FP8 resident | memory cap GiB | peak allocated GiB | peak reserved GiB |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    fmt = lambda v, f: "" if v is None else format(v, f)  # noqa: E731
    for r in rows:
        lines.append(f"| {r['config']} | {r['size']} | {r['variant']} | {r['ms']:.1f} | {fmt(r['vs_bf16'], '.2f')} | "
                     f"{r['tflops']:.0f} | {fmt(r['err_vs_bf16'], '.2e')} | {fmt(r['err_vs_fp8'], '.1e')} | "
                     f"{fmt(r['cap_gib'], '.0f')} | {fmt(r['peak_alloc_gib'], '.1f')} | "
                     f"{fmt(r['peak_reserved_gib'], '.1f')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    """Parse arguments, measure, print and return the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=pathlib.Path)
    p.add_argument("--configs", default="22b,19b")
    p.add_argument("--offload", default="22b", help="configs also run with FP8 + block offloading")
    p.add_argument("--sizes", default="768x512,1920x1088")
    p.add_argument("--budget-gib", type=float, default=24.0)
    p.add_argument("--frames", type=int, default=121)
    p.add_argument("--text", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--dry-run", action="store_true", help="tiny model on the CPU (checks the script, no timing value)")
    args = p.parse_args(argv)
    if args.dry_run:
        args.configs, args.offload, args.sizes, args.frames, args.text, args.repeats = \
            "tiny", "tiny", "64x64", 9, 8, 1
    device = torch.device("cpu") if args.dry_run else torch.device("cuda", torch.cuda.current_device())
    command = "python benchmarks/memory_bench.py " + " ".join(argv if argv is not None else sys.argv[1:])
    env = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "torch": torch.__version__,
           "h2d_gbps": h2d_gbps(device)}
    print(json.dumps(env), flush=True)
    rows: list[dict] = []

    def save() -> str:
        report = table(rows, env, command)
        if args.out is not None:  # after every configuration: a run cut short keeps what it measured
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "memory_bench.json").write_text(json.dumps({"env": env, "rows": rows}, indent=1))
            (args.out / "memory_bench.md").write_text(report + "\n")
        return report

    for name in args.configs.split(","):
        try:
            run_config(name, args, device, rows)
        except Exception as exc:  # keep what was measured for the other configurations
            import traceback
            traceback.print_exc()
            print(f"[{name}] FAILED: {exc!r}", flush=True)
            gc.collect()
            if device.type == "cuda":
                torch.cuda.empty_cache()
        report = save()
    print("\n" + report)
    return report


if __name__ == "__main__":
    main()
