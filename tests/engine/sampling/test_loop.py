"""The guided denoising loop vs ltx_pipelines' euler_denoising_loop + multi_modal_guider_denoising_func.

The model is a fake x0 predictor (fixed linear maps) whose output depends on everything a real pass would change:
latents of both modalities, per-token sigma, the text context (cond vs negative), STG-skipped blocks and AV isolation.
"""

from dataclasses import replace

import pytest
import torch
from ltx_core.components.diffusion_steps import EulerDiffusionStep
from ltx_core.components.guiders import MultiModalGuider, MultiModalGuiderParams
from ltx_core.guidance.perturbations import PerturbationType
from ltx_core.types import LatentState as RefState

from ltxflow.engine.sampling import (
    LTX2_AUDIO_GUIDANCE,
    LTX2_VIDEO_GUIDANCE,
    GuidanceParams,
    LatentState,
    Pass,
    Prediction,
    StepInfo,
    StepRequest,
    denoise,
    ltx2_sigmas,
    split_predictions,
    stack_passes,
)

C, DC, NUM_BLOCKS, TV, TA, L = 8, 6, 4, 10, 5, 3
# float64, max|a - b| / max|b|: the fake's maps (<= 8-term sums), guidance (total weight <= 1 + 2 (cfg - 1 + stg +
# modality - 1) <= 19 here) and 6 Euler steps: a few eps64 = 1.1e-16 roundings x 8 x 19 x 6 ~ 1e-13. Both loops
# also round to float32 at the same points, which ltx-core hard-codes and ours mirrors (the velocity and the Euler
# update): identical float64 inputs round identically, and the float64 values are identical here (measured 0.0).
FP64_TOL = 1e-10


class FakeModel:
    """x0 = linear maps of (own latent, other modality's mean, context mean, per-token sigma); STG/isolation change it."""

    def __init__(self, dtype: torch.dtype) -> None:
        g = torch.Generator().manual_seed(123)
        w = lambda *s: (torch.randn(*s, generator=g) / s[0] ** 0.5).to(dtype)  # noqa: E731
        self.wv, self.wa, self.pv, self.pa = w(C, C), w(C, C), w(DC, C), w(DC, C)
        self.xav, self.xva, self.bv, self.ba = w(C, C), w(C, C), w(1, C), w(1, C)

    def __call__(self, v, a, tv, ta, cv, ca, v_skips, a_skips, isolated):
        """Per batch item: v (B,Tv,C), tv (B,Tv,1), cv (B,L,DC); v_skips/a_skips/isolated (B,) numbers."""
        shape = (-1, 1, 1)
        v_out = v @ self.wv + cv.mean(1, keepdim=True) @ self.pv + tv * self.bv  # (B, Tv, C)
        a_out = a @ self.wa + ca.mean(1, keepdim=True) @ self.pa + ta * self.ba  # (B, Ta, C)
        keep_av = (1 - isolated).view(shape).to(v.dtype)
        v_out = v_out + keep_av * (a.mean(1, keepdim=True) @ self.xav)
        a_out = a_out + keep_av * (v.mean(1, keepdim=True) @ self.xva)
        v_out = v_out * (0.8 ** v_skips).view(shape).to(v.dtype)
        a_out = a_out * (0.7 ** a_skips).view(shape).to(v.dtype)
        return v_out, a_out


class RefTransformer:
    """The fake behind ltx-core's X0Model call signature."""

    def __init__(self, model: FakeModel) -> None:
        self.model = model

    def __call__(self, video, audio, perturbations):
        def count(kind: PerturbationType) -> torch.Tensor:
            if perturbations is None:
                return torch.zeros(1)
            masks = [perturbations.mask(kind, blk, "cpu", torch.float32) for blk in range(NUM_BLOCKS)]
            return (1 - torch.stack(masks)).sum(0)  # (B,)

        iso = count(PerturbationType.SKIP_A2V_CROSS_ATTN).clamp(max=1)
        return self.model(
            video.latent, audio.latent, video.timesteps, audio.timesteps, video.context, audio.context,
            count(PerturbationType.SKIP_VIDEO_SELF_ATTN), count(PerturbationType.SKIP_AUDIO_SELF_ATTN), iso,
        )  # fmt: skip


def our_denoiser(model: FakeModel, contexts: dict[str, torch.Tensor], batched: bool, log: list | None = None):
    """Our Denoiser over the fake: all passes of a step in one pass-major batch, or one forward per pass."""

    def run(video: LatentState, audio: LatentState, req: StepRequest, passes: tuple[Pass, ...]):
        if log is not None:
            log.append(passes)
        b = video.latent.shape[0]
        per_item = lambda xs: torch.tensor(xs, dtype=torch.float32).repeat_interleave(b)  # noqa: E731
        in_range = lambda blocks: sum(1 for k in blocks if 0 <= k < NUM_BLOCKS)  # noqa: E731
        cv = torch.cat([contexts["v_neg" if p is Pass.UNCOND else "v"] for p in passes])  # (P*B, L, DC)
        ca = torch.cat([contexts["a_neg" if p is Pass.UNCOND else "a"] for p in passes])
        v_out, a_out = model(
            stack_passes(video.latent, passes), stack_passes(audio.latent, passes),
            stack_passes(video.token_sigmas(req.sigma), passes), stack_passes(audio.token_sigmas(req.sigma), passes),
            cv, ca,
            per_item([in_range(req.video_stg_blocks) if p is Pass.PERTURBED else 0 for p in passes]),
            per_item([in_range(req.audio_stg_blocks) if p is Pass.PERTURBED else 0 for p in passes]),
            per_item([1 if p is Pass.ISOLATED else 0 for p in passes]),
        )  # fmt: skip
        return split_predictions(v_out, a_out, passes)

    def denoiser(video, audio, req):
        if batched:
            return run(video, audio, req, req.passes)
        return {p: run(video, audio, req, (p,))[p] for p in req.passes}

    return denoiser


def make_inputs(dtype: torch.dtype):
    g = torch.Generator().manual_seed(7)
    r = lambda *s: torch.randn(*s, generator=g).to(dtype)  # noqa: E731
    v_mask = torch.ones(1, TV, 1)
    v_mask[:, :2] = 0.0  # i2v-like: two conditioning tokens stay clean
    v_mask[:, 2] = 0.5
    video = LatentState(r(1, TV, C), r(1, TV, C), v_mask, torch.zeros(1, 3, TV, 2))
    audio = LatentState(r(1, TA, C), r(1, TA, C), torch.ones(1, TA, 1), torch.zeros(1, 1, TA, 2))
    contexts = {k: r(1, L, DC) for k in ("v", "a", "v_neg", "a_neg")}
    return video, audio, contexts


def reference_loop(ltx_pipelines, model, video, audio, contexts, sigmas, vg: GuidanceParams, ag: GuidanceParams):
    def ref_params(p: GuidanceParams) -> MultiModalGuiderParams:
        return MultiModalGuiderParams(p.cfg, p.stg, list(p.stg_blocks), p.rescale, p.modality)

    fn = ltx_pipelines.helpers.multi_modal_guider_denoising_func(
        MultiModalGuider(ref_params(vg), negative_context=contexts["v_neg"]),
        MultiModalGuider(ref_params(ag), negative_context=contexts["a_neg"]),
        contexts["v"],
        contexts["a"],
        RefTransformer(model),
    )
    to_ref = lambda s: RefState(s.latent, s.denoise_mask, s.positions, s.clean)  # noqa: E731
    return ltx_pipelines.samplers.euler_denoising_loop(sigmas, to_ref(video), to_ref(audio), EulerDiffusionStep(), fn)


GUIDANCES = [
    (LTX2_VIDEO_GUIDANCE, LTX2_AUDIO_GUIDANCE),
    (GuidanceParams(), GuidanceParams()),
    (GuidanceParams(cfg=4.0, rescale=0.5), GuidanceParams(modality=2.0)),
    (GuidanceParams(stg=1.0, stg_blocks=(1, 3)), GuidanceParams(stg=0.5, stg_blocks=(0,), rescale=1.0)),
]


@pytest.mark.parametrize(("vg", "ag"), GUIDANCES)
@pytest.mark.parametrize("batched", [True, False])
def test_loop_matches_reference_fp64(ltx_pipelines, vg: GuidanceParams, ag: GuidanceParams, batched: bool) -> None:
    model = FakeModel(torch.float64)
    video, audio, contexts = make_inputs(torch.float64)
    sigmas = ltx2_sigmas(6)
    ref_v, ref_a = reference_loop(ltx_pipelines, model, video, audio, contexts, sigmas, vg, ag)
    out_v, out_a = denoise(our_denoiser(model, contexts, batched), video, audio, sigmas, vg, ag)
    for ours, ref in ((out_v.latent, ref_v.latent), (out_a.latent, ref_a.latent)):
        assert ours.dtype == ref.dtype == torch.float64
        assert ((ours - ref).abs().max() / ref.abs().max()).item() <= FP64_TOL
    assert torch.equal(out_v.latent[:, :2], video.clean[:, :2])  # conditioning tokens end at their clean values


def test_loop_matches_reference_bf16(ltx_pipelines) -> None:
    model = FakeModel(torch.bfloat16)
    video, audio, contexts = make_inputs(torch.bfloat16)
    sigmas = ltx2_sigmas(5)
    vg, ag = LTX2_VIDEO_GUIDANCE, LTX2_AUDIO_GUIDANCE
    ref_v, ref_a = reference_loop(ltx_pipelines, model, video, audio, contexts, sigmas, vg, ag)
    out_v, out_a = denoise(our_denoiser(model, contexts, batched=False), video, audio, sigmas, vg, ag)
    # separate batch-1 passes do exactly the reference's bf16 operations: bit-identical
    assert out_v.latent.dtype == torch.bfloat16
    assert torch.equal(out_v.latent, ref_v.latent)
    assert torch.equal(out_a.latent, ref_a.latent)


def test_batched_passes_equal_separate_passes_and_batch_items_independent() -> None:
    model = FakeModel(torch.float64)
    video, audio, contexts = make_inputs(torch.float64)
    sigmas = ltx2_sigmas(4)
    vg, ag = LTX2_VIDEO_GUIDANCE, LTX2_AUDIO_GUIDANCE
    log: list = []
    one = denoise(our_denoiser(model, contexts, batched=True, log=log), video, audio, sigmas, vg, ag)
    assert log == [tuple(Pass)] * 4  # default guidance: 4 passes per step, run as one forward
    many = denoise(our_denoiser(model, contexts, batched=False), video, audio, sigmas, vg, ag)
    # float64, only the batch sizes of the fake's matmuls differ (the float32 islands: see FP64_TOL)
    rel = lambda a, b: ((a - b).abs().max() / b.abs().max()).item()  # noqa: E731
    assert rel(one[0].latent, many[0].latent) <= FP64_TOL and rel(one[1].latent, many[1].latent) <= FP64_TOL

    # two prompts in one batch == each alone
    video2, audio2, contexts2 = make_inputs(torch.float64)
    video2 = replace(video2, latent=video2.latent.flip(1))
    cat = lambda x, y: torch.cat([x, y])  # noqa: E731
    both_v = LatentState(*(cat(x, y) for x, y in zip(vars(video).values(), vars(video2).values(), strict=True)))
    both_a = LatentState(*(cat(x, y) for x, y in zip(vars(audio).values(), vars(audio2).values(), strict=True)))
    both_ctx = {k: cat(contexts[k], contexts2[k]) for k in contexts}
    bv, _ = denoise(our_denoiser(model, both_ctx, batched=True), both_v, both_a, sigmas, vg, ag)
    v2, _ = denoise(our_denoiser(model, contexts2, batched=True), video2, audio2, sigmas, vg, ag)
    assert rel(bv.latent[:1], one[0].latent) <= FP64_TOL and rel(bv.latent[1:], v2.latent) <= FP64_TOL


def test_callback_video_only_and_missing_pass() -> None:
    sigmas = ltx2_sigmas(3)
    video, _, _ = make_inputs(torch.float32)
    seen: list[StepInfo] = []
    requested: list[tuple[Pass, ...]] = []

    def video_only(v, a, req):
        assert a is None
        requested.append(req.passes)
        return {Pass.COND: Prediction(torch.zeros_like(v.latent), None)}

    out_v, out_a = denoise(video_only, video, None, sigmas, callback=seen.append)
    assert out_a is None
    assert requested == [(Pass.COND,)] * 3
    assert [s.step for s in seen] == [0, 1, 2] and seen[-1].sigma_next == 0.0
    # x0 = 0 for generated tokens, clean for conditioning tokens; the last step x + (x - x0) / sigma * (0 - sigma)
    # lands on it up to its float32 roundings (u = 2^-24): the difference, the division, the product and the sum,
    # each <= u of a magnitude <= 1.5 max(|latent|, |clean|) (every step moves x between its start and x0, and
    # x0 is 0, clean or clean / 2)
    expected = video.clean * (1 - video.denoise_mask)
    scale = max(video.latent.abs().max().item(), video.clean.abs().max().item())
    torch.testing.assert_close(out_v.latent, expected, rtol=0, atol=4 * 1.5 * 2.0**-24 * scale)

    with pytest.raises(ValueError, match=r"no prediction for pass\(es\) \['uncond'\] at step 0"):
        denoise(video_only, video, None, sigmas, GuidanceParams(cfg=2.0))
    with pytest.raises(ValueError, match="sigmas must be a 1-D tensor"):
        denoise(video_only, video, None, torch.tensor([1.0]))
