"""Why is our DiT forward not faster than ltx-core's? One profiled forward per variant on one CUDA GPU (not a test).

    python benchmarks/dit_profile.py [--config 19b] [--size 768x512] [--variants ltx-core,plain,default]

For each variant: wall time of a forward (synchronised) vs the time the host needs to enqueue it, then one forward
under `torch.profiler`: the top CUDA kernels by total time (their names say which attention kernel ran), the number
of kernel launches, the summed kernel time and how much of the wall time the GPU was busy. Then the q/k/v of a real
video self-attention call are captured and each SDPA backend is timed on them directly.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from benchmarks.dit_bench import CONFIGS, build_pair, make_inputs, time_ms  # noqa: E402
from benchmarks.cuda_graph import GraphedForward  # noqa: E402
from ltxflow.engine.accel import PLAIN, SpeedOptions, accelerate  # noqa: E402
from ltxflow.engine.accel.attention import FastAttention  # noqa: E402

VARIANTS = {"plain": PLAIN, "cudnn": SpeedOptions(fuse_projections=False, compile=False),
            "packed": SpeedOptions(compile=False), "default": SpeedOptions(),
            "torch-sdpa": SpeedOptions(attention=())}  # compiled blocks, SDPA backend left to torch's own choice


def wall_and_enqueue(fn, repeats: int = 3) -> tuple[float, float]:
    """(median synchronised wall ms, median ms until `fn` returns without synchronising)."""
    walls, enq = [], []
    for _ in range(repeats):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        torch.cuda.synchronize()
        t2 = time.perf_counter()
        enq.append((t1 - t0) * 1e3)
        walls.append((t2 - t0) * 1e3)
    return statistics.median(walls), statistics.median(enq)


def profile(label: str, fn, top: int) -> None:
    """One forward under the profiler: top kernels, launches, busy time."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile as prof_ctx
    torch.cuda.synchronize()
    with prof_ctx(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        wall = (time.perf_counter() - t0) * 1e3
    kernels = [e for e in prof.events() if e.device_type == DeviceType.CUDA]
    spans = sorted((e.time_range.start, e.time_range.end) for e in kernels)
    busy, cur_s, cur_e = 0.0, None, None
    for s, e in spans:  # union of kernel intervals (us)
        if cur_e is None or s > cur_e:
            busy += 0 if cur_e is None else cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    busy += 0 if cur_e is None else cur_e - cur_s
    total = sum(e.time_range.end - e.time_range.start for e in kernels)
    first, last = (spans[0][0], max(e for _, e in spans)) if spans else (0, 0)
    by_name: dict[str, list[float]] = {}
    for e in kernels:
        by_name.setdefault(e.name, []).append((e.time_range.end - e.time_range.start) / 1e3)
    print(f"\n=== {label}: wall {wall:.1f} ms (profiled), kernels {len(kernels)}, kernel time {total / 1e3:.1f} ms, "
          f"GPU busy {busy / 1e3:.1f} ms of span {(last - first) / 1e3:.1f} ms", flush=True)
    rows = sorted(by_name.items(), key=lambda kv: -sum(kv[1]))[:top]
    for name, ts in rows:
        print(f"  {sum(ts):8.1f} ms {len(ts):6d}x {sum(ts) / len(ts) * 1e3:8.1f} us  {name[:150]}")
    attn = {k: sum(v) for k, v in by_name.items() if any(w in k.lower() for w in
                                                           ("cudnn", "fmha", "flash", "efficient", "attention"))}
    print(f"  attention-like kernels: {sum(attn.values()):.1f} ms in {len(attn)} names", flush=True)


def capture_qkv(ours, inputs) -> tuple:
    """q, k, v, mask of block 0's video self-attention SDPA call."""
    attn = ours.transformer_blocks[0].attn1
    seen = []
    original = attn._sdpa
    attn._sdpa = lambda q, k, v, m: (seen.append((q, k, v, m)), original(q, k, v, m))[1]
    try:
        ours(*inputs)
    finally:
        del attn._sdpa
    return seen[0]


def sdpa_direct(q, k, v, mask) -> None:
    """Each backend on the captured tensors: runs?, ms, TFLOP/s, difference to flash."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    print(f"\ncaptured q {tuple(q.shape)} stride {q.stride()} contiguous {q.is_contiguous()} {q.dtype}; "
          f"k {tuple(k.shape)} stride {k.stride()}; v stride {v.stride()}; mask {None if mask is None else mask.shape}")
    flops = 4 * q.shape[0] * q.shape[1] * q.shape[2] * k.shape[2] * q.shape[3]
    ref = None
    for name, backend in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION),
                          ("efficient", SDPBackend.EFFICIENT_ATTENTION)):
        for layout, (qq, kk, vv) in (("as captured", (q, k, v)), ("contiguous", (q.contiguous(), k.contiguous(),
                                                                                  v.contiguous()))):
            try:
                with sdpa_kernel([backend]):
                    out = torch.nn.functional.scaled_dot_product_attention(qq, kk, vv, attn_mask=mask)
                    ms = time_ms(lambda: torch.nn.functional.scaled_dot_product_attention(qq, kk, vv, attn_mask=mask),
                                 2, 10)
                ref = out if ref is None else ref
                diff = (out.float() - ref.float()).abs().max().item()
                print(f"  {name:9s} {layout:12s} {ms:7.3f} ms {flops / ms / 1e9:6.0f} TFLOP/s  max|diff vs flash| "
                      f"{diff:.3e}")
            except RuntimeError as exc:
                print(f"  {name:9s} {layout:12s} FAILED: {str(exc).splitlines()[0][:150]}")
    try:
        out = torch.ops.aten._scaled_dot_product_cudnn_attention(q, k, v, mask, False, 0.0, False, False)[0]
        print(f"  aten cudnn op direct: max|diff vs flash| {(out.float() - ref.float()).abs().max().item():.3e}")
    except Exception as exc:  # noqa: BLE001 - a diagnostic
        print(f"  aten cudnn op direct FAILED: {exc!r}"[:200])
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    print(f"  no context (torch default): max|diff vs flash| {(out.float() - ref.float()).abs().max().item():.3e}")


def main() -> None:
    """Build, profile each variant, then the SDPA backends on real tensors."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="19b")
    p.add_argument("--size", default="768x512")
    p.add_argument("--variants", default="ltx-core,plain,cudnn,packed,default")
    p.add_argument("--graph", action="store_true", help="also profile a CUDA-graph replay of the last variant")
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args()
    print({"torch": torch.__version__, "cudnn": torch.backends.cudnn.version(),
           "flash_sdp": torch.backends.cuda.flash_sdp_enabled(), "cudnn_sdp": torch.backends.cuda.cudnn_sdp_enabled(),
           "priority": getattr(torch._C, "_get_sdp_priority_order", lambda: "n/a")()}, flush=True)
    config = CONFIGS[args.config]()
    w, h = (int(v) for v in args.size.split("x"))
    ref, ours = build_pair(config, seed=1234)
    inp = make_inputs(config, w, h, 121, 1024, seed=7)
    with torch.no_grad():
        expected = ref(*inp.ref, None)[0]
        last = None
        for name in args.variants.split(","):
            if name == "ltx-core":
                fn = lambda: ref(*inp.ref, None)  # noqa: E731
            else:
                torch._dynamo.reset()  # a variant's compiled blocks never reuse another's graphs
                accelerate(ours, VARIANTS[name])
                from benchmarks.dit_bench import reshare
                reshare(ref, ours)
                backends = {m.backends for m in ours.modules() if isinstance(m, FastAttention)}
                print(f"\n[{name}] attention backends set: {backends}", flush=True)
                fn = lambda: ours(*inp.ours)  # noqa: E731
                last = name
            t0 = time.time()
            out = fn()[0]
            err = ((out.float() - expected.float()).norm() / expected.float().norm()).item()
            print(f"[{name}] first call {time.time() - t0:.1f} s, rel. err vs ltx-core {err:.3e}", flush=True)
            fn()
            wall, enq = wall_and_enqueue(fn)
            print(f"[{name}] wall {wall:.1f} ms, host enqueue {enq:.1f} ms, events {time_ms(fn, 0, 3):.1f} ms",
                  flush=True)
            profile(name, fn, args.top)
        if args.graph and last is not None:
            try:
                graphed = GraphedForward(ours, *inp.ours)
                out = graphed(*inp.ours)[0]
                err = ((out.float() - expected.float()).norm() / expected.float().norm()).item()
                gfn = lambda: graphed(*inp.ours)  # noqa: E731
                wall, enq = wall_and_enqueue(gfn)
                print(f"[{last} graphed] rel. err {err:.3e}, wall {wall:.1f} ms, enqueue {enq:.1f} ms", flush=True)
                del graphed
            except Exception as exc:  # noqa: BLE001 - a diagnostic
                print(f"[{last} graphed] FAILED: {exc!r}"[:300], flush=True)
        q, k, v, mask = capture_qkv(ours, inp.ours)
        sdpa_direct(q, k, v, mask)


if __name__ == "__main__":
    main()
