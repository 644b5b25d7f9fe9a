"""Where does one DiT block spend its time? One block of the 19B/22B config at a real size, under several compile
settings, on one CUDA GPU (a diagnostic, not a test).

    python benchmarks/block_probe.py [--config 19b] [--size 1280x704] [--variants eager,compiled,...]

A forward is ~48 of these blocks plus a few milliseconds of preprocessing, so a block's time x num_layers is the
forward's to within that. For each variant: median block time (CUDA events), its difference to the eager block
(relative L2, video stream), and one profiled call split into GEMM / attention / Triton / other kernel time.
Variants:
  eager         the packed eager block (what `SpeedOptions(compile=False, compile_blocks=False)` runs)
  compiled      the default: the block through torch.compile (dynamic=False, emulate_precision_casts)
  torch-sdpa    compiled, with the attention backend left to torch's choice while tracing (before 2026-11-24: flash)
  autotune      the same with Inductor's max_autotune (Triton GEMM templates with fused epilogues compete with cuBLAS)
  uniform       compiled, with the per-token modulation given once per item, (B, 1, K*D), as it is when every
                token has the same sigma (text-to-video); exact up to rounding of the AdaLN GEMM
  unpacked      compiled, with separate q, k, v projections in the self-attentions (views of the packed weight)
Variants combine with "+" (e.g. uniform+unpacked). Also times the preprocessing (`_stream` for both modalities), the
packed q|k|v GEMM against three separate ones, and cuDNN attention with a strided v (a view of the packed output).
(Measured 2026-11-24 and dropped: max_autotune (compiles for ~5 min, its graph picked flash attention, GEMMs no
faster) and a cuBLASLt GELU epilogue for the feed-forward (`torch._addmm_activation`: 2.99 vs 2.87 ms).)
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from benchmarks.dit_bench import CONFIGS, make_inputs, time_ms  # noqa: E402
from ltxflow.engine.transformer import LTXTransformer  # noqa: E402
from ltxflow.engine.transformer.block import BlockSkips  # noqa: E402
from ltxflow.engine.transformer.model import init_random_  # noqa: E402
from ltxflow.engine.accel import SpeedOptions, accelerate  # noqa: E402

CATEGORIES = (("attention", ("sdpa", "fmha", "flash", "attention")), ("gemm", ("gemm", "nvjet", "cutlass", "xmma",
                                                                              "sm90")), ("triton", ("triton",)))


def split_profile(fn) -> dict[str, float]:
    """Kernel milliseconds of one call of `fn` by category, plus launch count."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    out: dict[str, float] = {"launches": 0}
    names: dict[str, float] = {}
    for e in prof.events():
        if e.device_type != DeviceType.CUDA:
            continue
        ms = (e.time_range.end - e.time_range.start) / 1e3
        low = e.name.lower()
        cat = next((c for c, keys in CATEGORIES if any(k in low for k in keys)), "other")
        out[cat] = out.get(cat, 0.0) + ms
        out["launches"] += 1
        names[e.name] = names.get(e.name, 0.0) + ms
    out["top"] = sorted(names.items(), key=lambda kv: -kv[1])[:12]
    out["ordered"] = [(e.name, (e.time_range.end - e.time_range.start) / 1e3) for e in
                      sorted((e for e in prof.events() if e.device_type == DeviceType.CUDA),
                             key=lambda e: e.time_range.start)]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="19b")
    p.add_argument("--size", default="1280x704")
    p.add_argument("--variants", default="eager,compiled,uniform,unpacked,uniform+unpacked")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--detail", action="store_true", help="list every kernel of the last variant's block, in order")
    args = p.parse_args()
    config = dataclasses.replace(CONFIGS[args.config](), num_layers=1)
    w, h = (int(v) for v in args.size.split("x"))
    with torch.device("meta"):
        model = LTXTransformer(config)
    model = init_random_(model.to_empty(device="cuda").to(torch.bfloat16), 1234).eval().requires_grad_(False)
    accelerate(model, SpeedOptions(compile=False, compile_blocks=False))
    inp = make_inputs(config, w, h, 121, 1024, seed=7)
    video, audio = inp.ours
    print({"torch": torch.__version__, "device": torch.cuda.get_device_name(), "config": args.config,
           "size": args.size, "video tokens": inp.n_video, "audio tokens": inp.n_audio}, flush=True)
    with torch.no_grad():
        pre = lambda: (model._stream(video, audio, audio=False), model._stream(audio, video, audio=True))  # noqa: E731
        print(f"preprocessing (_stream x2): {time_ms(pre, 3, args.repeats):.2f} ms", flush=True)
        (v, _, vs), (a, _, as_) = pre()
        block = model.transformer_blocks[0]
        backends = block.attn1.backends
        skips = BlockSkips()
        expected = block(v, a, vs, as_, skips)[0].float()
        vs_uniform = dataclasses.replace(vs, ada=vs.ada[:, :1].contiguous())
        as_uniform = dataclasses.replace(as_, ada=as_.ada[:, :1].contiguous())
        self_attns = (block.attn1, block.audio_attn1)
        packed = [m.packed for m in self_attns]
        for name in args.variants.split(","):
            parts = set(name.split("+"))
            if not parts <= {"eager", "compiled", "uniform", "unpacked", "torch-sdpa", "autotune"}:
                raise SystemExit(f"unknown variant {name!r}")
            for m, pk in zip(self_attns, packed):
                m.packed = None if "unpacked" in parts else pk
            for m in block.modules():
                if hasattr(m, "backends"):
                    m.backends = () if "torch-sdpa" in parts else backends
            stream_v, stream_a = (vs_uniform, as_uniform) if "uniform" in parts else (vs, as_)
            if "eager" in parts:
                run = block
            else:
                torch._dynamo.reset()
                options = {"emulate_precision_casts": True, **({"max_autotune": True} if "autotune" in parts else {})}
                run = torch.compile(block, dynamic=False, options=options)
            fn = lambda r=run, sv=stream_v, sa=stream_a: r(v, a, sv, sa, skips)  # noqa: E731
            t0 = time.time()
            out = fn()[0].float()
            first = time.time() - t0
            err = ((out - expected).norm() / expected.norm()).item()
            ms = time_ms(fn, 3, args.repeats)
            prof = split_profile(fn)
            split = ", ".join(f"{k} {prof.get(k, 0.0):.2f}" for k in ("gemm", "attention", "triton", "other"))
            layers = CONFIGS[args.config]().num_layers
            print(f"[{name}] {ms:.3f} ms/block (x{layers} = {ms * layers:.0f} ms), first call {first:.1f} s, "
                  f"rel. err vs eager {err:.2e}; kernels ms: {split}; launches {prof['launches']}", flush=True)
            for kname, kms in prof["top"]:
                print(f"    {kms:7.3f} ms  {kname[:140]}", flush=True)
        if args.detail:
            for kname, kms in prof["ordered"]:
                print(f"      {kms * 1e3:8.1f} us  {kname[:110]}", flush=True)
        gemms_and_attention(block.attn1, packed[0], args.repeats)
        attention_backends(inp.n_video, inp.n_audio, 1024, args.repeats)


def gemms_and_attention(attn, qkv, repeats: int) -> None:
    """Packed q|k|v GEMM vs three separate ones at several token counts; cuDNN attention with v a strided view of
    the packed output vs a contiguous v."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    d = attn.to_q.weight.shape[1]
    for tokens in (6144, 14080, 32640):
        x = torch.randn(1, tokens, d, device="cuda", dtype=torch.bfloat16)
        t_packed = time_ms(lambda: qkv(x), 3, repeats)
        t_three = time_ms(lambda: (attn.to_q(x), attn.to_k(x), attn.to_v(x)), 3, repeats)
        flops = 2 * tokens * d * qkv.weight.shape[0]
        print(f"q|k|v at {tokens} tokens: packed {t_packed:.3f} ms ({flops / t_packed / 1e9:.0f} TFLOP/s), three "
              f"{t_three:.3f} ms ({flops / t_three / 1e9:.0f} TFLOP/s)", flush=True)
        h, hd = attn.heads, attn.head_dim
        q, k, v_packed = qkv(x).split(h * hd, dim=-1)
        heads = lambda z: z.unflatten(-1, (h, hd)).transpose(1, 2)  # noqa: E731
        q, k = heads(q.contiguous()), heads(k.contiguous())
        for label, v in (("v strided (packed)", heads(v_packed)), ("v contiguous", heads(v_packed.contiguous()))):
            with sdpa_kernel([SDPBackend.CUDNN_ATTENTION]):
                ms = time_ms(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v), 2, repeats)
            print(f"    cuDNN attention, {label}: {ms:.3f} ms ({4 * tokens * tokens * h * hd / ms / 1e9:.0f} TFLOP/s)",
                  flush=True)


def attention_backends(n_video: int, n_audio: int, n_text: int, repeats: int) -> None:
    """Each SDPA backend on the block's attention shapes (19B heads): video self, video->text, a2v, v2a."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    shapes = {"video self": (n_video, n_video, 32, 128), "video->text": (n_video, n_text, 32, 128),
              "a2v (q video)": (n_video, n_audio, 32, 64), "v2a (q audio)": (n_audio, n_video, 32, 64)}
    for label, (t, s, h, d) in shapes.items():
        q = torch.randn(1, t, h * d, device="cuda", dtype=torch.bfloat16).unflatten(-1, (h, d)).transpose(1, 2)
        k, v = (torch.randn(1, s, h * d, device="cuda", dtype=torch.bfloat16).unflatten(-1, (h, d)).transpose(1, 2)
                for _ in range(2))
        row = []
        for name, backend in (("cudnn", SDPBackend.CUDNN_ATTENTION), ("flash", SDPBackend.FLASH_ATTENTION),
                              ("efficient", SDPBackend.EFFICIENT_ATTENTION)):
            try:
                with sdpa_kernel([backend]):
                    ms = time_ms(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v), 3, repeats)
                row.append(f"{name} {ms * 1e3:.0f} us ({4 * t * s * h * d / ms / 1e9:.0f} TFLOP/s)")
            except RuntimeError:
                row.append(f"{name} -")
        print(f"attention {label} {t}x{s}x{h}x{d}: " + ", ".join(row), flush=True)


if __name__ == "__main__":
    main()
