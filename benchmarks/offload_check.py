"""Is block offloading exact on the GPU? Offloaded vs resident outputs of one model, per compile setting.

    python benchmarks/offload_check.py [--config 22b] [--size 768x512] [--modes eager,ops,graph]

For each compile setting (`eager`: nothing compiled; `ops`: the elementwise ops compiled one by one; `graph`: each
block one compiled graph, the default) a fresh FP8 model runs resident twice, then offloaded twice with the same
setting; a race in the streamed copies shows as offloaded runs that differ from each other, a wrong weight or
another kernel as offloaded != resident. Prints one line per comparison (relative L2 difference).
"""

from __future__ import annotations

import argparse
import gc
from dataclasses import replace
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from memory_bench import CONFIGS, make_input, rel_l2  # noqa: E402
from ltxflow.engine.transformer import LTXTransformer  # noqa: E402
from ltxflow.engine.transformer.model import init_random_  # noqa: E402
from ltxflow.engine.accel import SpeedOptions, accelerate  # noqa: E402


def main(argv: list[str] | None = None) -> list[str]:
    """Run the comparisons; return the printed lines."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="22b")
    p.add_argument("--size", default="768x512")
    p.add_argument("--fp8", type=int, default=1)
    p.add_argument("--modes", default="eager,ops,graph", help="compile settings to check (eager, ops, graph)")
    p.add_argument("--dry-run", action="store_true", help="tiny model on the CPU")
    args = p.parse_args(argv)
    if args.dry_run:
        args.config, args.size = "tiny", "64x64"
    device = torch.device("cpu") if args.dry_run else torch.device("cuda", torch.cuda.current_device())
    dtype = torch.float32 if args.dry_run else torch.bfloat16
    config = CONFIGS[args.config]()
    w, h = (int(v) for v in args.size.split("x"))
    video, audio, _, _ = make_input(config, w, h, 9 if args.dry_run else 121, 8 if args.dry_run else 1024,
                                    device, dtype)
    lines = []
    with torch.inference_mode():
        for mode in args.modes.split(","):
            with torch.device("meta"):
                model = LTXTransformer(config)
            model = init_random_(model.to_empty(device=device).to(dtype), seed=1234).eval()
            options = SpeedOptions(compile=mode != "eager", compile_blocks=mode == "graph", fp8=bool(args.fp8))
            accelerate(model, options)
            r1, r2 = (model(video, audio)[0].float().cpu() for _ in range(2))
            acc = accelerate(model, replace(options, offload_blocks=True))
            o1, o2 = (model(video, audio)[0].float().cpu() for _ in range(2))
            tag = f"{args.config} {args.size} fp8={bool(args.fp8)} compile={mode}"
            for name, a, b in (("resident run 2 vs 1", r2, r1), ("offloaded run 2 vs 1", o2, o1),
                               ("offloaded vs resident", o1, r1)):
                lines.append(f"{tag}: {name}: {rel_l2(a, b):.3e} (bitwise equal: {torch.equal(a, b)})")
                print(lines[-1], flush=True)
            acc.close()
            del model
            gc.collect()
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return lines


if __name__ == "__main__":
    main()
