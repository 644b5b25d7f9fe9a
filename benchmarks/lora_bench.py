"""Fusing and unfusing a LoRA on the DiT on one GPU, and the forward with it fused (issue 21).

    python benchmarks/lora_bench.py --out DIR [--config 19b] [--rank 64] [--size 768x512] [--frames 121]

Random bf16 weights built on the device; a random rank-r bf16 LoRA over every linear layer of the transformer
blocks, its factors in host memory as a loaded file's are. Wall-clock times (synchronised) of: the first fuse (the
clean host copies are taken then), a fuse once the copies exist, a switch to another strength (restore + fuse) and
a restore alone (unfuse); the restore is checked bit for bit against the clean copies. Then the forward (eager,
packed projections) clean vs fused, CUDA events, median of --repeats after a warm-up. Writes DIR/lora_bench.json and
DIR/lora_bench.md. `--config tiny --device cpu` runs the same steps on the CPU in seconds (a smoke test).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time
from pathlib import Path
from types import MappingProxyType

import torch
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from ltxflow.engine.latents import AudioLatentShape, VideoLatentShape  # noqa: E402
from ltxflow.engine.latents.positions import audio_positions, video_positions  # noqa: E402
from ltxflow.engine.lora import Lora, LoraFile, LoraFuser, LoraPair, WeightedLora  # noqa: E402
from ltxflow.engine.transformer import LTXTransformer, ModalityInput, TransformerConfig  # noqa: E402
from ltxflow.engine.transformer.model import init_random_  # noqa: E402
from ltxflow.engine.accel import SpeedOptions, accelerate  # noqa: E402

CONFIGS = {"19b": TransformerConfig.ltx2_19b, "22b": TransformerConfig.ltx23_22b, "tiny": TransformerConfig.tiny_19b}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds(fn, device: torch.device) -> float:
    """Wall-clock seconds of fn(), synchronised before and after."""
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def random_lora(model: nn.Module, rank: int, device: torch.device) -> Lora:
    """A rank-`rank` bf16 LoRA over every linear layer of the blocks, factors in host memory."""
    pairs, factors = {}, {}
    gen = torch.Generator(device=device).manual_seed(0)
    for name, module in model.named_modules():
        if not (isinstance(module, nn.Linear) and name.startswith("transformer_blocks.")) or ".packed" in name:
            continue  # (the packed projections acceleration adds are views of the checkpoint's q/k/v)
        out, inp = module.weight.shape
        a = (torch.randn(rank, inp, generator=gen, device=device) * inp ** -0.5).to(torch.bfloat16).cpu()
        b = (torch.randn(out, rank, generator=gen, device=device) * 0.01).to(torch.bfloat16).cpu()
        pairs[name] = LoraPair(name, f"{name}.lora_A.weight", f"{name}.lora_B.weight", rank, out, inp, "BF16")
        factors[name] = (a, b)
    file = LoraFile(Path("random.safetensors"), 0, MappingProxyType(pairs), MappingProxyType({}))
    return Lora(file, MappingProxyType(factors))


def make_input(config: TransformerConfig, width: int, height: int, frames: int, device: torch.device):
    """Seeded random latents and contexts (1024 text tokens) at a pixel size, with the pipelines' positions."""
    vshape, ashape = VideoLatentShape.from_pixels(1, frames, height, width), AudioLatentShape.from_video(1, frames, 24)
    nv, na = vshape.token_count(), ashape.token_count()
    gen = torch.Generator(device=device).manual_seed(7)
    rnd = lambda *s: torch.randn(*s, generator=gen, device=device).to(torch.bfloat16)  # noqa: E731
    vw = config.video_dim if config.caption_proj_before_connector else config.caption_channels
    aw = config.audio_dim if config.caption_proj_before_connector else config.caption_channels
    sv, sa = torch.tensor([0.8], device=device), torch.tensor([0.6], device=device)
    video = ModalityInput(rnd(1, nv, config.in_channels), sv, torch.full((1, nv), 0.8, device=device),
                          video_positions(vshape, 24, torch.bfloat16, device), rnd(1, 1024, vw))
    audio = ModalityInput(rnd(1, na, config.audio_in_channels), sa, torch.full((1, na), 0.6, device=device),
                          audio_positions(ashape, device), rnd(1, 1024, aw))
    return video, audio, nv, na


def forward_ms(model, video, audio, device: torch.device, repeats: int) -> float:
    """Median milliseconds of one forward after a warm-up."""
    with torch.inference_mode():
        model(video, audio)
        times = []
        for _ in range(repeats):
            times.append(seconds(lambda: model(video, audio), device) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--config", default="19b", choices=sorted(CONFIGS))
    parser.add_argument("--rank", type=int, default=64)
    parser.add_argument("--size", default="768x512")
    parser.add_argument("--frames", type=int, default=121)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    device = torch.device(args.device)
    width, height = map(int, args.size.split("x"))
    config = CONFIGS[args.config]()
    row: dict = {"config": args.config, "rank": args.rank, "size": args.size, "frames": args.frames,
                 "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                 "torch": torch.__version__}  # fmt: skip

    with torch.device("meta"):
        model = LTXTransformer(config).to(torch.bfloat16)  # bf16 before any memory exists (fp32 19B: 76 GB)
    model = init_random_(model.to_empty(device=device), seed=0).eval()
    accelerate(model, SpeedOptions(compile=False, compile_blocks=False), device)  # packed q|k|v, eager
    lora = random_lora(model, args.rank, device)
    row["lora_bytes"] = lora.nbytes
    row["lora_modules"] = len(lora.factors)
    fuser = LoraFuser(model)
    video, audio, nv, na = make_input(config, width, height, args.frames, device)
    row["tokens"] = {"video": nv, "audio": na}

    row["forward_clean_ms"] = forward_ms(model, video, audio, device, args.repeats)
    with torch.inference_mode():
        clean_out = model(video, audio)[0].float()
    row["fuse_first_s"] = seconds(lambda: fuser.use([WeightedLora(lora, 1.0)]), device)  # clean copies taken here
    row["clean_copy_bytes"] = fuser.host_bytes
    row["forward_fused_ms"] = forward_ms(model, video, audio, device, args.repeats)
    with torch.inference_mode():
        fused_out = model(video, audio)[0].float()
    row["fused_output_change"] = ((fused_out - clean_out).norm() / clean_out.norm()).item()
    row["switch_s"] = seconds(lambda: fuser.use([WeightedLora(lora, 0.5)]), device)  # restore + fuse
    row["restore_s"] = seconds(fuser.restore, device)  # unfuse
    row["fuse_again_s"] = seconds(lambda: fuser.use([WeightedLora(lora, 1.0)]), device)  # copies exist: fuse only
    fuser.restore()
    row["restored_bit_for_bit"] = all(torch.equal(fuser.weight(m).cpu(), clean) for m, clean in fuser.clean.items())
    with torch.inference_mode():
        row["restored_output_equal"] = torch.equal(model(video, audio)[0].float(), clean_out)

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "lora_bench.json").write_text(json.dumps(row, indent=2))
    gb = lambda n: f"{n / 1e9:.2f} GB"  # noqa: E731
    table = "\n".join([
        f"| {args.config} rank {args.rank} ({row['lora_modules']} linear layers, LoRA {gb(row['lora_bytes'])}) "
        f"on {row['device']}, torch {row['torch']} | |", "|---|---|",
        f"| first fuse (takes the {gb(row['clean_copy_bytes'])} of clean host copies) | {row['fuse_first_s']:.2f} s |",
        f"| fuse, copies already kept | {row['fuse_again_s']:.2f} s |",
        f"| switch strength (restore + fuse) | {row['switch_s']:.2f} s |",
        f"| restore (unfuse) | {row['restore_s']:.2f} s |",
        f"| restored bit for bit / output equal | {row['restored_bit_for_bit']} / {row['restored_output_equal']} |",
        f"| forward {args.size}x{args.frames} ({nv} + {na} tokens), clean | {row['forward_clean_ms']:.1f} ms |",
        f"| forward, LoRA fused | {row['forward_fused_ms']:.1f} ms |",
        f"| output change from the LoRA (rel. L2) | {row['fused_output_change']:.3g} |",
    ])
    (args.out / "lora_bench.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
