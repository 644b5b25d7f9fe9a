"""The first denoising steps of conditioned generation vs ltx-core/ltx-pipelines, on a tiny random transformer.

Both sides: same seeded generator for the noise (video drawn first, then audio), same conditioning, the same
state dict in ltx-core's LTXModel (wrapped in X0Model) and our LTXTransformer, float64, two Euler steps (FP64_TOL
below; in float32 the two differed by ~1e-6, CPU-dependent).
"""

from dataclasses import replace
from fractions import Fraction

import pytest
import torch
from ltx_core.components.diffusion_steps import EulerDiffusionStep
from ltx_core.components.noisers import GaussianNoiser
from ltx_core.components.patchifiers import AudioPatchifier, VideoLatentPatchifier
from ltx_core.conditioning import VideoConditionByKeyframeIndex, VideoConditionByLatentIndex
from ltx_core.model.transformer.model import X0Model
from ltx_core.model.transformer.model_configurator import LTXModelConfigurator
from ltx_core.tools import AudioLatentTools, VideoLatentTools
from ltx_core.types import AudioLatentShape as RefAudioShape
from ltx_core.types import VideoLatentShape as RefVideoShape

from ltxflow.engine.conditioning import CleanAudio, Keyframe, LatentFrames, Target, apply_all
from ltxflow.engine.latents import AudioLatentShape, VideoLatentShape, audio_positions, video_positions
from ltxflow.engine.sampling import LatentState, Pass, Prediction, denoise, noise_states
from ltxflow.engine.transformer import LTXTransformer, ModalityInput, TransformerConfig
from ltxflow.engine.transformer.model import velocity_to_x0

F, H, W, A, L = 3, 2, 2, 9, 5  # latent frames, rows, columns; audio latents; text tokens
FPS = Fraction(24)
SIGMAS = torch.tensor([1.0, 0.8, 0.55])  # two steps
F64 = torch.float64
# float64, max|a - b| / max|b|: a few eps64 = 1.1e-16 roundings per op x accumulation lengths (<= 128) x depth
# (2 blocks of ~30 ops, 2 steps) ~ 1e-12 (measured 0.0). Both sides also round to float32 at the same points,
# which ltx-core hard-codes and ours mirrors (x0 in to_denoised / velocity_to_x0, the Euler update, keyframe
# positions): identical float64 inputs round identically there.
FP64_TOL = 1e-10


def build_pair(config: TransformerConfig, seed: int = 0):
    """(reference X0Model, our transformer) sharing one seeded random state dict, float64."""
    meta = {**config.to_metadata(), "attention_type": "pytorch"}
    with torch.device("meta"):
        ref = LTXModelConfigurator.from_config({"transformer": meta})
        ours = LTXTransformer(config)
    ref = ref.to_empty(device="cpu")
    gen = torch.Generator().manual_seed(seed)
    sd = {k: (torch.randn(v.shape, generator=gen) * 0.3).to(F64) for k, v in sorted(ref.state_dict().items())}
    ref.load_state_dict(sd, strict=True, assign=True)
    ours.load_state_dict(sd, strict=True, assign=True)
    return X0Model(ref.eval()), ours.eval()


def rand(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)).to(F64)


def our_denoiser(model: LTXTransformer, v_ctx: torch.Tensor, a_ctx: torch.Tensor):
    """A plain conditional denoiser: x0 from the velocity with per-token sigma = mask * sigma."""

    def run(video: LatentState, audio: LatentState, request):
        sigma = request.sigma.reshape(1).expand(video.latent.shape[0])  # (B,)
        tv, ta = video.token_sigmas(request.sigma)[..., 0], audio.token_sigmas(request.sigma)[..., 0]  # (B, T)
        vel_v, vel_a = model(
            ModalityInput(video.latent, sigma, tv, video.positions, v_ctx),
            ModalityInput(audio.latent, sigma, ta, audio.positions, a_ctx),
        )
        return {Pass.COND: Prediction(velocity_to_x0(video.latent, vel_v, tv), velocity_to_x0(audio.latent, vel_a, ta))}

    return run


def rel_err(ours: torch.Tensor, ref: torch.Tensor) -> float:
    ours, ref = ours.detach().double(), ref.detach().double()
    return float((ours - ref).abs().max() / ref.abs().max())


@pytest.mark.parametrize("mode", ["image", "keyframes", "reference-audio", "video-to-audio"])
def test_first_steps_match_reference(ltx_pipelines, mode):
    helpers, samplers = ltx_pipelines.helpers, ltx_pipelines.samplers
    config = TransformerConfig.tiny_22b()
    ref_model, ours = build_pair(config)
    c = config.in_channels
    v_ctx, a_ctx = rand(1, L, config.video_dim, seed=1), rand(1, L, config.audio_dim, seed=2)
    image = rand(1, c, 1, H, W, seed=3)
    key = rand(1, c, 1, H, W, seed=4)
    video_latent = rand(1, c, F, H, W, seed=5)
    audio_latent = rand(1, 8, A + 2, 16, seed=6)

    ref_items, our_items = [], []
    if mode in ("image", "keyframes"):
        ref_items.append(VideoConditionByLatentIndex(image, 1.0, 0))
        our_items.append(LatentFrames(image, 0, 1.0))
    if mode == "keyframes":
        ref_items.append(VideoConditionByKeyframeIndex(key, frame_idx=16, strength=0.8))
        our_items.append(Keyframe(key, 16, 0.8))
    if mode == "video-to-audio":
        ref_items.append(VideoConditionByLatentIndex(video_latent, 1.0, 0))
        our_items.append(LatentFrames(video_latent, 0, 1.0))

    # reference: initial states, conditionings, noise (video then audio) and two Euler steps
    gen = torch.Generator().manual_seed(42)
    noiser = GaussianNoiser(gen)
    v_tools = VideoLatentTools(VideoLatentPatchifier(1), RefVideoShape(1, c, F, H, W), float(FPS))
    a_tools = AudioLatentTools(AudioPatchifier(1), RefAudioShape(1, 8, A, 16))
    ref_v = helpers.create_noised_state(v_tools, ref_items, noiser, F64, "cpu")
    if mode == "reference-audio":  # as denoise_video_only: clean encoded audio, scale-0 noise, mask 0
        ref_a = helpers.create_noised_state(a_tools, [], noiser, F64, "cpu", 0.0, audio_latent[:, :, :A])
        ref_a = replace(ref_a, denoise_mask=torch.zeros_like(ref_a.denoise_mask))
    else:
        ref_a = helpers.create_noised_state(a_tools, [], noiser, F64, "cpu")
    denoise_fn = helpers.simple_denoising_func(v_ctx, a_ctx, ref_model)
    ref_v, ref_a = samplers.euler_denoising_loop(SIGMAS, ref_v, ref_a, EulerDiffusionStep(), denoise_fn)

    # ours
    v_target = Target(VideoLatentShape(1, c, F, H, W), FPS)
    a_target = Target(AudioLatentShape(1, 8, A, 16), FPS)
    video = apply_all(our_items, LatentState.empty(video_positions(v_target.shape, FPS, dtype=F64), c, F64), v_target)
    audio = LatentState.empty(audio_positions(a_target.shape), 128, F64)
    if mode == "reference-audio":
        audio = CleanAudio(audio_latent).apply(audio, a_target)
    video, audio = noise_states(video, audio, torch.Generator().manual_seed(42))
    video, audio = denoise(our_denoiser(ours, v_ctx, a_ctx), video, audio, SIGMAS)

    assert video.latent.dtype == ref_v.latent.dtype == F64
    assert rel_err(video.latent, ref_v.latent) <= FP64_TOL
    assert rel_err(audio.latent, ref_a.latent) <= FP64_TOL
    n_img = H * W
    if mode in ("image", "keyframes"):  # the conditioned first frame never moved
        assert torch.equal(video.latent[:, :n_img], image.flatten(2).transpose(1, 2))
    if mode == "reference-audio":  # the brand audio tokens never moved
        assert torch.equal(audio.latent, audio_latent[:, :, :A].permute(0, 2, 1, 3).flatten(2))
    if mode == "video-to-audio":
        assert torch.equal(video.latent, video_latent.flatten(2).transpose(1, 2))
