"""Helpers shared by the transformer parity tests: the reference model, shared weights and inputs built by ltx-core.

Parity runs in float64 by default (`build_pair(..., dtype=torch.float64)`, `make_case(..., dtype=torch.float64)`):
both models then follow the input dtype everywhere except three float32 islands that ltx-core hard-codes and we
mirror (sinusoidal sigma features, the RoPE frequency ladder, x0 = x - sigma * v), which both sides compute with
the same float32 ops on the same values, so the islands add no difference of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from ltx_core.components.patchifiers import AudioPatchifier, VideoLatentPatchifier
from ltx_core.guidance.perturbations import (BatchedPerturbationConfig, Perturbation as RefPerturbation,
                                             PerturbationConfig, PerturbationType)
from ltx_core.model.transformer.modality import Modality
from ltx_core.model.transformer.model_configurator import LTXModelConfigurator
from ltx_core.tools import AudioLatentTools, VideoLatentTools
from ltx_core.types import AudioLatentShape, VideoLatentShape

from ltxflow.engine.transformer import LTXTransformer, ModalityInput, Perturbation, TransformerConfig


def rel_err(ours: torch.Tensor, ref: torch.Tensor) -> float:
    """max|a - b| / max|b| in float64."""
    ours, ref = ours.double(), ref.double()
    return ((ours - ref).abs().max() / ref.abs().max()).item()


# float64 parity bound, max|a - b| / max|b|. Both sides run the same float64 ops, so each output is off by a few
# roundings of eps64 = 1.1e-16 per op, times accumulation lengths (<= 128 channels here) and depth (2 blocks of
# ~30 ops, x0 and AdaLN on top): at most ~1e-16 * 128 * 60 ~ 1e-12. Observed: 0.0 ours vs ltx-core, ~2e-15 for
# ours vs ours with a different GEMM shape. 1e-10 keeps two orders of margin and is 1e7 below any real bug
# (a wrong sign, scale or mask moves the output by >= 1e-3).
FP64_TOL = 1e-10


def build_pair(config: TransformerConfig, seed: int, dtype: torch.dtype = torch.float64, std: float = 0.3):
    """(reference LTXModel, our LTXTransformer) sharing one seeded random state dict."""
    meta = config.to_metadata()
    meta["attention_type"] = "pytorch"
    with torch.device("meta"):
        ref = LTXModelConfigurator.from_config({"transformer": meta})
        ours = LTXTransformer(config)
    ref = ref.to_empty(device="cpu")
    gen = torch.Generator().manual_seed(seed)
    sd = {k: (torch.randn(v.shape, generator=gen) * std).to(dtype) for k, v in sorted(ref.state_dict().items())}
    ref.load_state_dict(sd, strict=True)
    ours.load_state_dict(sd, strict=True, assign=True)
    return ref.to(dtype).eval(), ours.eval()


@dataclass(frozen=True)
class Case:
    """Inputs for both models: ours and the reference's Modality objects."""

    video: ModalityInput | None
    audio: ModalityInput | None
    ref_video: Modality | None
    ref_audio: Modality | None


def positions(batch: int, frames: int, height: int, width: int, audio_len: int, fps: float, dtype: torch.dtype):
    """Video (B, 3, T, 2) and audio (B, 1, T, 2) position bounds from ltx-core's latent tools."""
    video = VideoLatentTools(VideoLatentPatchifier(1), VideoLatentShape(batch, 128, frames, height, width), fps)
    audio = AudioLatentTools(AudioPatchifier(1), AudioLatentShape(batch, 8, audio_len, 16))
    return video.create_initial_state("cpu", dtype).positions, audio.create_initial_state("cpu", dtype).positions


def make_case(config: TransformerConfig, *, seed: int, batch: int = 1, frames: int = 3, height: int = 2,
              width: int = 3, audio_len: int = 5, text_len: int = 7, dtype: torch.dtype = torch.float64,
              with_audio: bool = True, first_frame_clean: bool = False, sigmas: tuple[float, ...] | None = None,
              audio_sigmas: tuple[float, ...] | None = None) -> Case:
    """Random latents and contexts, pipeline-style positions and per-token timesteps for both models."""
    gen = torch.Generator().manual_seed(seed)
    vpos, apos = positions(batch, frames, height, width, audio_len, 24.0, dtype)
    t_v, t_a = frames * height * width, audio_len
    v_ctx_w = config.video_dim if config.caption_proj_before_connector else config.caption_channels
    a_ctx_w = config.audio_dim if config.caption_proj_before_connector else config.caption_channels
    sig_dtype = torch.float64 if dtype == torch.float64 else torch.float32  # pipelines keep sigmas in float32
    sig_v = torch.tensor(sigmas or [0.7 - 0.2 * i for i in range(batch)], dtype=sig_dtype)
    sig_a = torch.tensor(audio_sigmas or [0.4 + 0.1 * i for i in range(batch)], dtype=sig_dtype)
    mask_v = torch.ones(batch, t_v, dtype=sig_dtype)
    if first_frame_clean:
        mask_v[:, : height * width] = 0.0
    rnd = lambda *s: torch.randn(*s, generator=gen).to(dtype)  # noqa: E731
    v_lat, v_ctx = rnd(batch, t_v, 128), rnd(batch, text_len, v_ctx_w)
    a_lat, a_ctx = rnd(batch, t_a, 128), rnd(batch, text_len, a_ctx_w)
    ts_v, ts_a = mask_v * sig_v[:, None], torch.ones(batch, t_a) * sig_a[:, None]
    video = ModalityInput(v_lat, sig_v, ts_v, vpos, v_ctx)
    ref_video = Modality(latent=v_lat, sigma=sig_v, timesteps=ts_v.unsqueeze(-1), positions=vpos, context=v_ctx)
    if not with_audio:
        return Case(video, None, ref_video, None)
    audio = ModalityInput(a_lat, sig_a, ts_a, apos, a_ctx)
    ref_audio = Modality(latent=a_lat, sigma=sig_a, timesteps=ts_a.unsqueeze(-1), positions=apos, context=a_ctx)
    return Case(video, audio, ref_video, ref_audio)


def ref_perturbations(perts: list[Perturbation]) -> BatchedPerturbationConfig:
    """The reference's batched perturbation config equivalent to ours."""
    items = []
    for p in perts:
        entries = []
        if p.skip_video_self_attn:
            entries.append(RefPerturbation(PerturbationType.SKIP_VIDEO_SELF_ATTN, sorted(p.skip_video_self_attn)))
        if p.skip_audio_self_attn:
            entries.append(RefPerturbation(PerturbationType.SKIP_AUDIO_SELF_ATTN, sorted(p.skip_audio_self_attn)))
        if p.skip_a2v:
            entries.append(RefPerturbation(PerturbationType.SKIP_A2V_CROSS_ATTN, None))
        if p.skip_v2a:
            entries.append(RefPerturbation(PerturbationType.SKIP_V2A_CROSS_ATTN, None))
        items.append(PerturbationConfig(entries))
    return BatchedPerturbationConfig(items)
