"""Our LTX-2 DiT vs ltx-core's LTXModel on one CUDA GPU: same random bf16 weights and inputs, agreement, speed.

    python benchmarks/dit_bench.py --out DIR [--configs 19b,22b] [--sizes 768x512,1280x704,1920x1088]

Both models share every weight tensor (ours loads ltx-core's state dict with assign=True), so a 19B pair needs
~38 GB. Per config: ltx-core's forward at each size (and its four sequential guidance passes), then our forward
under cumulative speed settings (plain -> packed projections -> compiled elementwise ops -> compiled blocks -> one
sigma per item, (B, 1) timesteps as the denoiser passes them for text-to-video = default -> replayed as a CUDA graph,
then FP8 without and with the graph), each checked against ltx-core's output and timed (CUDA events, warm-up,
median). ltx-core always gets per-token timesteps, as its pipelines pass them. The markdown table comes last in the
output and is written to DIR/dit_bench.md (all numbers also to DIR/dit_bench.json).
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
from dataclasses import dataclass, replace

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from ltxflow.engine.transformer import LTXTransformer, ModalityInput, Perturbation, TransformerConfig  # noqa: E402
from ltxflow.engine.transformer.flops import forward_flops  # noqa: E402
from ltxflow.engine.transformer.model import init_random_  # noqa: E402
from benchmarks.cuda_graph import GraphedForward  # noqa: E402
from ltxflow.engine.accel import PLAIN, SpeedOptions, accelerate  # noqa: E402

CONFIGS = {"19b": TransformerConfig.ltx2_19b, "22b": TransformerConfig.ltx23_22b}
STG_BLOCK = {"19b": 29, "22b": 28}
# Cumulative variants of our model: (label, options applied on top of the previous ones).
VARIANTS = [  # (label, options applied on top of the previous ones, replay as a CUDA graph, one sigma per item)
    ("ours plain", PLAIN, False, False),
    ("+ packed QKV", SpeedOptions(compile=False, compile_blocks=False), False, False),
    ("+ compiled ops", SpeedOptions(compile_blocks=False), False, False),  # each elementwise piece compiled on its own
    ("+ compiled blocks", SpeedOptions(), False, False),  # one Inductor graph per block
    # (B, 1) timesteps: what the denoiser passes when no token is conditioned (text-to-video); AdaLN once per item
    ("+ one sigma per item (default)", SpeedOptions(), False, True),
    ("+ CUDA graph", SpeedOptions(), True, True),  # the same forward replayed: no per-kernel launch cost
    ("+ FP8 (opt-in)", SpeedOptions(fp8=True), False, True),
    ("+ FP8 + CUDA graph", SpeedOptions(fp8=True), True, True),
]
FULL_VARIANTS = ("+ compiled blocks", "+ one sigma per item (default)", "+ CUDA graph", "+ FP8 (opt-in)",
                 "+ FP8 + CUDA graph")


# ---------------------------------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------------------------------

def time_ms(fn: Callable[[], object], warmup: int, repeats: int) -> float:
    """Median milliseconds of `fn` over `repeats` runs after `warmup` runs (CUDA events)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def errors(ours: torch.Tensor, ref: torch.Tensor) -> tuple[float, float]:
    """(||a-b|| / ||b||, max|a-b| / max|b|) in fp32."""
    a, b = ours.float(), ref.float()
    if not torch.isfinite(a).all():
        return float("nan"), float("nan")
    return ((a - b).norm() / b.norm()).item(), ((a - b).abs().max() / b.abs().max()).item()


def environment() -> dict:
    """Software and device facts, plus whether cuDNN attention and row-wise FP8 GEMMs run here."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    info = {"torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
            "device": torch.cuda.get_device_name(), "sms": torch.cuda.get_device_properties(0).multi_processor_count}
    q = torch.randn(1, 32, 512, 128, device="cuda", dtype=torch.bfloat16)
    for name, backend in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)):
        try:
            with sdpa_kernel([backend]):
                torch.nn.functional.scaled_dot_product_attention(q, q, q)
            info[f"sdpa_{name}"] = True
        except RuntimeError as exc:
            info[f"sdpa_{name}"] = f"no: {str(exc).splitlines()[0][:120]}"
    info["cudnn_layouts"] = cudnn_layouts()
    try:
        a = torch.randn(256, 512, device="cuda").to(torch.float8_e4m3fn)
        b = torch.randn(256, 512, device="cuda").to(torch.float8_e4m3fn)
        sa, sb = torch.ones(256, 1, device="cuda"), torch.ones(1, 256, device="cuda")
        bias = torch.zeros(256, device="cuda", dtype=torch.bfloat16)
        torch._scaled_mm(a, b.t(), scale_a=sa, scale_b=sb, bias=bias, out_dtype=torch.bfloat16)
        info["scaled_mm_rowwise_bias"] = True
    except RuntimeError as exc:
        info["scaled_mm_rowwise_bias"] = f"no: {str(exc).splitlines()[0][:120]}"
    return info


def cudnn_layouts() -> dict:
    """PyTorch's verdict (and its reasons) on cuDNN attention for our q/k/v layouts at the DiT's shapes."""
    import warnings
    from torch.nn.attention import SDPBackend, sdpa_kernel
    out = {}
    cases = {"self 6144x32x128": (6144, 6144, 32, 128), "text 6144->1024": (6144, 1024, 32, 128),
             "av 6144->126 x64": (6144, 126, 32, 64)}
    for name, (t, s, h, d) in cases.items():
        q = torch.randn(1, t, h * d, device="cuda", dtype=torch.bfloat16).unflatten(-1, (h, d)).transpose(1, 2)
        kv = torch.randn(1, s, h * d, device="cuda", dtype=torch.bfloat16).unflatten(-1, (h, d)).transpose(1, 2)
        for layout, (qq, kk) in (("bthd-view", (q, kv)), ("contiguous", (q.contiguous(), kv.contiguous()))):
            with warnings.catch_warnings(record=True) as caught, sdpa_kernel([SDPBackend.CUDNN_ATTENTION]):
                warnings.simplefilter("always")
                try:
                    ok = torch.backends.cuda.can_use_cudnn_attention(
                        torch.backends.cuda.SDPAParams(qq, kk, kk, None, 0.0, False, False), True)
                except Exception as exc:  # noqa: BLE001 - a diagnostic
                    ok = repr(exc)[:100]
            out[f"{name} {layout}"] = ok if ok is True else f"{ok}: " + " | ".join(
                str(w.message)[:160] for w in caught)
    return out


def ceilings(repeats: int = 20) -> dict:
    """Measured rates: bf16 and row-wise FP8 8192^3 GEMMs, and SDPA (flash vs cuDNN) at 6,144 x 32 x 128."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    n = 8192
    out = {}
    mats = [torch.randn(n, n, device="cuda", dtype=torch.bfloat16) for _ in range(4)]
    i = iter(range(10**9))
    ms = time_ms(lambda: mats[next(i) % 2] @ mats[2 + next(i) % 2], 3, repeats)
    out["bf16_gemm_tflops"] = 2 * n**3 / ms / 1e9
    a8 = [m.to(torch.float8_e4m3fn) for m in mats]
    sa, sb = torch.ones(n, 1, device="cuda"), torch.ones(1, n, device="cuda")
    ms = time_ms(lambda: torch._scaled_mm(a8[0], a8[1].t(), scale_a=sa, scale_b=sb, out_dtype=torch.bfloat16),
                 3, repeats)
    out["fp8_rowwise_gemm_tflops"] = 2 * n**3 / ms / 1e9
    del mats, a8
    for tokens in (6144, 32640):
        q, k, v = (torch.randn(1, 32, tokens, 128, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        for name, backend in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)):
            try:
                with sdpa_kernel([backend]):
                    ms = time_ms(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v), 2, 10)
                out[f"sdpa_{name}_{tokens}_tflops"] = 4 * tokens * tokens * 4096 / ms / 1e9
            except RuntimeError:
                out[f"sdpa_{name}_{tokens}_tflops"] = None
    return out


# ---------------------------------------------------------------------------------------------------------------------
# Models and inputs
# ---------------------------------------------------------------------------------------------------------------------

def build_pair(config: TransformerConfig, seed: int):
    """(ltx-core LTXModel, our LTXTransformer) on CUDA in bf16, sharing one seeded random state dict."""
    from ltx_core.model.transformer.model_configurator import LTXModelConfigurator
    meta = config.to_metadata()
    meta["attention_type"] = "default"  # what the official pipelines use (PyTorch SDPA without xformers)
    with torch.device("meta"):
        ref = LTXModelConfigurator.from_config({"transformer": meta})
        ours = LTXTransformer(config)
    ref = ref.to_empty(device="cuda").to(torch.bfloat16)
    init_random_(ref, seed)
    ours.load_state_dict(ref.state_dict(), strict=True, assign=True)
    return ref.eval().requires_grad_(False), ours.eval().requires_grad_(False)


def reshare(ref, ours) -> None:
    """Point ltx-core's parameters at ours again (after packing replaced some of our storage)."""
    sd = {k: v for k, v in ours.state_dict().items() if not k.endswith(("weight_fp8", "weight_scale"))}
    ref.load_state_dict(sd, strict=False, assign=True)
    gc.collect()
    torch.cuda.empty_cache()


@dataclass(frozen=True)
class Inputs:
    """One size's inputs for both models, batch of guidance passes included."""

    n_video: int
    n_audio: int
    ours: tuple[ModalityInput, ModalityInput]  # batch 1 (conditional)
    ref: tuple[object, object]  # ltx-core Modality pair, batch 1
    guided_ours: tuple[ModalityInput, ModalityInput]  # batch 4: cond, uncond, perturbed, isolated
    guided_ref: list[tuple[object, object]]  # the same four passes, batch 1 each


def make_inputs(config: TransformerConfig, width: int, height: int, frames: int, text: int, seed: int) -> Inputs:
    """Random latents/contexts (one positive and one negative prompt), pipeline positions, sigma 0.8 (audio 0.6)."""
    from ltx_core.components.patchifiers import AudioPatchifier, VideoLatentPatchifier
    from ltx_core.model.transformer.modality import Modality
    from ltx_core.tools import AudioLatentTools, VideoLatentTools
    from ltx_core.types import AudioLatentShape, VideoLatentShape
    dev, dt = "cuda", torch.bfloat16
    lf, lh, lw = (frames - 1) // 8 + 1, height // 32, width // 32
    seconds = frames / 24.0
    a_shape = AudioLatentShape.from_duration(batch=1, duration=seconds, channels=8, mel_bins=16)
    vpos = VideoLatentTools(VideoLatentPatchifier(1), VideoLatentShape(1, 128, lf, lh, lw), 24.0) \
        .create_initial_state(dev, dt).positions
    apos = AudioLatentTools(AudioPatchifier(1), a_shape).create_initial_state(dev, dt).positions
    nv, na = vpos.shape[2], apos.shape[2]
    gen = torch.Generator(device=dev).manual_seed(seed)
    rnd = lambda *s: torch.randn(*s, generator=gen, device=dev).to(dt)  # noqa: E731
    vw = config.video_dim if config.caption_proj_before_connector else config.caption_channels
    aw = config.audio_dim if config.caption_proj_before_connector else config.caption_channels
    v_lat, a_lat = rnd(1, nv, 128), rnd(1, na, 128)
    ctx = {"pos": (rnd(1, text, vw), rnd(1, text, aw)), "neg": (rnd(1, text, vw), rnd(1, text, aw))}
    sv, sa = torch.tensor([0.8], device=dev), torch.tensor([0.6], device=dev)
    tv, ta = torch.full((1, nv), 0.8, device=dev), torch.full((1, na), 0.6, device=dev)

    def ours(b: int, which: list[str]) -> tuple[ModalityInput, ModalityInput]:
        cat = lambda i: torch.cat([ctx[w][i] for w in which])  # noqa: E731
        rep = lambda x: x.expand(b, *x.shape[1:]).contiguous()  # noqa: E731
        return (ModalityInput(rep(v_lat), rep(sv), rep(tv), rep(vpos), cat(0)),
                ModalityInput(rep(a_lat), rep(sa), rep(ta), rep(apos), cat(1)))

    def ref(which: str):
        return (Modality(latent=v_lat, sigma=sv, timesteps=tv.unsqueeze(-1), positions=vpos, context=ctx[which][0]),
                Modality(latent=a_lat, sigma=sa, timesteps=ta.unsqueeze(-1), positions=apos, context=ctx[which][1]))

    return Inputs(nv, na, ours(1, ["pos"]), ref("pos"), ours(4, ["pos", "neg", "pos", "pos"]),
                  [ref("pos"), ref("neg"), ref("pos"), ref("pos")])


def one_sigma(pair: tuple[ModalityInput, ModalityInput], per_item: bool) -> tuple[ModalityInput, ModalityInput]:
    """The inputs with (B, 1) timesteps when `per_item` (every token of an item is at the item's sigma here)."""
    return tuple(replace(m, timesteps=m.timesteps[:, :1].contiguous()) for m in pair) if per_item else pair


def guidance_perturbations(stg_block: int):
    """Our four per-item perturbations and ltx-core's four batch-1 configs (cond, uncond, STG, isolated)."""
    from ltx_core.guidance.perturbations import BatchedPerturbationConfig, Perturbation as RP, PerturbationConfig
    from ltx_core.guidance.perturbations import PerturbationType as PT
    ours = [Perturbation(), Perturbation(), Perturbation.stg([stg_block], [stg_block]), Perturbation.isolated()]
    stg = [RP(PT.SKIP_VIDEO_SELF_ATTN, [stg_block]), RP(PT.SKIP_AUDIO_SELF_ATTN, [stg_block])]
    iso = [RP(PT.SKIP_A2V_CROSS_ATTN, None), RP(PT.SKIP_V2A_CROSS_ATTN, None)]
    refs = [BatchedPerturbationConfig([PerturbationConfig(p)]) for p in ([], [], stg, iso)]
    return ours, refs


# ---------------------------------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------------------------------

def run_config(name: str, sizes: list[tuple[int, int]], args, ceil: dict, rows: list[dict]) -> None:
    """All measurements of one configuration; appends result rows."""
    config = CONFIGS[name]()
    t0 = time.time()
    ref, ours = build_pair(config, seed=1234)
    weights_gb = torch.cuda.memory_allocated() / 2**30
    print(f"[{name}] built and shared in {time.time() - t0:.1f} s, {weights_gb:.1f} GiB", flush=True)
    inputs = {s: make_inputs(config, s[0], s[1], args.frames, args.text, seed=7) for s in sizes}
    ours_p, ref_p = guidance_perturbations(STG_BLOCK[name])
    reps = lambda s: args.repeats if s[0] * s[1] < 1920 * 1088 else max(3, args.repeats // 2)  # noqa: E731
    ref_out, ref_guided = {}, {}

    def record(variant: str, size, kind: str, ms: float, out, expected, batch_passes: int = 1) -> None:
        inp = inputs[size]
        flops = batch_passes * forward_flops(config, inp.n_video, inp.n_audio, args.text)
        rel, rel_max = errors(out, expected) if expected is not None else (float("nan"), float("nan"))
        row = dict(config=name, size=f"{size[0]}x{size[1]}x{args.frames}", variant=variant, kind=kind, ms=ms,
                   tflops=flops / ms / 1e9, frac=flops / ms / 1e9 / ceil["bf16_gemm_tflops"], rel=rel,
                   rel_max=rel_max, peak_gib=torch.cuda.max_memory_allocated() / 2**30, flop=flops)
        rows.append(row)
        print(json.dumps(row), flush=True)

    with torch.no_grad():
        for s in sizes:  # ltx-core: one forward, and the four sequential passes of a default-guided step
            inp = inputs[s]
            torch.cuda.reset_peak_memory_stats()
            fwd = lambda: ref(*inp.ref, ref_p[0])  # noqa: E731
            ref_out[s] = fwd()[0]
            record("ltx-core", s, "forward", time_ms(fwd, 1, reps(s)), ref_out[s], None)
            if s in args.guided:
                torch.cuda.reset_peak_memory_stats()
                step = lambda: [ref(*m, p) for m, p in zip(inp.guided_ref, ref_p)]  # noqa: E731
                ref_guided[s] = torch.cat([o[0] for o in step()])
                record("ltx-core", s, "guided step (4 passes)", time_ms(step, 1, reps(s)), ref_guided[s], None, 4)
        for label, options, graphed, per_item in VARIANTS:
            if label not in args.variants:
                continue
            t0 = time.time()
            accelerate(ours, options)
            reshare(ref, ours)
            print(f"[{name}] {label}: prepared in {time.time() - t0:.1f} s", flush=True)
            full = label in FULL_VARIANTS
            for s in sizes if full else [x for x in sizes if x in args.ablation]:
                inp = inputs[s]
                calls = [("forward", one_sigma(inp.ours, per_item), None, None, ref_out[s], 1)]
                if full and s in args.guided:  # the STG pass (item 2) has the conditional pass's inputs: its twin
                    calls.append(("guided step (batched, shared STG prefix)", one_sigma(inp.guided_ours, per_item),
                                  ours_p, [None, None, 0, None], ref_guided[s], 4))
                for kind, modal, perts, twins, expected, passes in calls:
                    torch.cuda.reset_peak_memory_stats()
                    t0 = time.time()
                    call = lambda v, a, p, t=twins: ours(v, a, p, t)  # noqa: E731
                    fwd = GraphedForward(call, *modal, perts) if graphed else (lambda m=modal, p=perts: call(*m, p))
                    out = fwd(*modal, perts)[0] if graphed else fwd()[0]
                    print(f"  {kind}: first call {time.time() - t0:.1f} s", flush=True)
                    run = (lambda f=fwd, m=modal, p=perts: f(*m, p)) if graphed else fwd
                    record(label, s, kind, time_ms(run, 1, reps(s)), out, expected, passes)
                    del fwd, run, out
                    torch.cuda.empty_cache()
    del ref, ours, inputs, ref_out, ref_guided
    gc.collect()
    torch.cuda.empty_cache()


def table(rows: list[dict], env: dict, ceil: dict, command: str) -> str:
    """The markdown report: setup, ceilings, then one row per measurement with speed-up over ltx-core."""
    base = {(r["config"], r["size"], r["kind"].split(" (")[0]): r["ms"] for r in rows if r["variant"] == "ltx-core"}
    lines = [f"GPU: {env['device']} ({env['sms']} SMs); torch {env['torch']}, CUDA {env['cuda']}, cuDNN {env['cudnn']}",
             f"Command: `{command}`",
             "Measured ceilings: bf16 GEMM 8192^3 {:.0f} TFLOP/s; row-wise FP8 GEMM {:.0f} TFLOP/s; "
             "SDPA 6144 tok x 32 x 128: flash {} / cuDNN {} TFLOP/s; 32640 tok: flash {} / cuDNN {}".format(
                 ceil["bf16_gemm_tflops"], ceil["fp8_rowwise_gemm_tflops"],
                 *(f"{ceil.get(k) or 0:.0f}" for k in ("sdpa_flash_6144_tflops", "sdpa_cudnn_6144_tflops",
                                                       "sdpa_flash_32640_tflops", "sdpa_cudnn_32640_tflops"))),
             "",
             "| config | size | what | variant | ms | speed-up vs ltx-core | TFLOP/s | of bf16 ceiling | rel. err "
             "(L2) | rel. err (max) | peak GiB |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        speed = base.get((r["config"], r["size"], r["kind"].split(" (")[0]))
        shown = dict(r, sp=f"{speed / r['ms']:.2f}x" if speed else "",
                     rel="" if r["rel"] != r["rel"] else f"{r['rel']:.2e}",
                     rel_max="" if r["rel_max"] != r["rel_max"] else f"{r['rel_max']:.2e}")
        lines.append("| {config} | {size} | {kind} | {variant} | {ms:.1f} | {sp} | {tflops:.0f} | {frac:.0%} | {rel} | "
                     "{rel_max} | {peak_gib:.1f} |".format(**shown))
    return "\n".join(lines)


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """'768x512,1280x704' -> [(768, 512), (1280, 704)]."""
    return [tuple(int(v) for v in item.split("x")) for item in text.split(",") if item]


def main() -> None:
    """Parse arguments, measure, print the table last."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=pathlib.Path, required=True)
    p.add_argument("--configs", default="19b,22b")
    p.add_argument("--sizes", default="768x512,1280x704,1920x1088")
    p.add_argument("--ablation", default="768x512", help="sizes at which every cumulative variant is timed")
    p.add_argument("--guided", default="768x512", help="sizes at which a full guided step is timed")
    p.add_argument("--variants", default=",".join(v[0] for v in VARIANTS))
    p.add_argument("--frames", type=int, default=121)
    p.add_argument("--text", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    args.ablation, args.guided = parse_sizes(args.ablation), parse_sizes(args.guided)
    args.variants = set(args.variants.split(","))
    command = "python " + " ".join(sys.argv)
    args.out.mkdir(parents=True, exist_ok=True)
    env = environment()
    print(json.dumps(env), flush=True)
    ceil = ceilings()
    print(json.dumps(ceil), flush=True)
    rows: list[dict] = []
    for name in args.configs.split(","):
        try:
            run_config(name, parse_sizes(args.sizes), args, ceil, rows)
        except Exception as exc:  # keep what was measured for the other configurations
            import traceback
            traceback.print_exc()
            print(f"[{name}] FAILED: {exc!r}", flush=True)
            gc.collect()
            torch.cuda.empty_cache()
        (args.out / "dit_bench.json").write_text(json.dumps({"env": env, "ceilings": ceil, "rows": rows}, indent=1))
    report = table(rows, env, ceil, command)
    (args.out / "dit_bench.md").write_text(report + "\n")
    print("\n" + report)


if __name__ == "__main__":
    main()
