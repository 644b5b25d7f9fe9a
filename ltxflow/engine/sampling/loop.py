"""The guided Euler denoising loop over both modalities, and helpers to run a step's passes as one batch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import NamedTuple, Protocol

import torch

from ltxflow.engine.sampling.euler import blend_clean, euler_step
from ltxflow.engine.sampling.guidance import NO_GUIDANCE, GuidanceParams, Pass, guide, passes_needed, stg_blocks
from ltxflow.engine.sampling.state import LatentState


class Prediction(NamedTuple):
    """x0 predictions of one pass: video (B, Tv, C), audio (B, Ta, C) or None when there is no audio."""

    video: torch.Tensor
    audio: torch.Tensor | None


@dataclass(frozen=True)
class StepRequest:
    """What the denoiser must evaluate at one step."""

    step: int  # index into sigmas
    sigma: torch.Tensor  # 0-d fp32, the step's noise level (per-token level = denoise_mask * sigma)
    passes: tuple[Pass, ...]  # always starts with Pass.COND
    video_stg_blocks: tuple[int, ...]  # blocks whose video self-attention the PERTURBED pass skips
    audio_stg_blocks: tuple[int, ...]  # blocks whose audio self-attention the PERTURBED pass skips


class Denoiser(Protocol):
    """Model wrapper: x0 predictions for every requested pass (in one batched forward or several)."""

    def __call__(
        self, video: LatentState, audio: LatentState | None, request: StepRequest
    ) -> Mapping[Pass, Prediction]:
        """Return {pass: Prediction} for each pass in `request.passes`."""
        ...


@dataclass(frozen=True)
class StepInfo:
    """Progress report handed to the callback after each step."""

    step: int
    sigma: float
    sigma_next: float
    video_x0: torch.Tensor  # (B, Tv, C) guided, mask-blended prediction
    audio_x0: torch.Tensor | None
    video: LatentState  # state after the step
    audio: LatentState | None


# ---------------------------------------------------------------------------------------------------------------------
# Running several passes as one forward: pass-major stacking along the batch axis
# ---------------------------------------------------------------------------------------------------------------------


def stack_passes(x: torch.Tensor, passes: tuple[Pass, ...]) -> torch.Tensor:
    """(B, ...) -> (P*B, ...): one copy per pass, pass-major (items of pass i are rows i*B .. i*B+B-1)."""
    return torch.cat([x] * len(passes), dim=0)


def split_passes(y: torch.Tensor, passes: tuple[Pass, ...]) -> dict[Pass, torch.Tensor]:
    """(P*B, ...) -> {pass: (B, ...)}, inverse of `stack_passes`."""
    if y.shape[0] % len(passes) != 0:
        raise ValueError(f"batch {y.shape[0]} is not a multiple of {len(passes)} passes")
    return dict(zip(passes, y.chunk(len(passes), dim=0), strict=True))


def split_predictions(
    video: torch.Tensor, audio: torch.Tensor | None, passes: tuple[Pass, ...]
) -> dict[Pass, Prediction]:
    """Split pass-major stacked video/audio x0 (P*B, T, C) into per-pass Predictions."""
    v = split_passes(video, passes)
    a = split_passes(audio, passes) if audio is not None else dict.fromkeys(passes)
    return {p: Prediction(v[p], a[p]) for p in passes}


# ---------------------------------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------------------------------


@torch.no_grad()
def denoise(
    denoiser: Denoiser,
    video: LatentState,
    audio: LatentState | None,
    sigmas: torch.Tensor,
    video_guidance: GuidanceParams = NO_GUIDANCE,
    audio_guidance: GuidanceParams = NO_GUIDANCE,
    callback: Callable[[StepInfo], None] | None = None,
) -> tuple[LatentState, LatentState | None]:
    """Guided flow-matching Euler sampling (Lipman et al. 2023; Karras et al. 2022, Alg. 1) over `sigmas`."""
    if sigmas.ndim != 1 or len(sigmas) < 2:
        raise ValueError(f"sigmas must be a 1-D tensor with at least 2 values, got shape {tuple(sigmas.shape)}")
    a_guidance = audio_guidance if audio is not None else None
    passes = passes_needed(video_guidance, a_guidance)
    v_blocks, a_blocks = stg_blocks(video_guidance, a_guidance)
    for i in range(len(sigmas) - 1):
        request = StepRequest(i, sigmas[i], passes, v_blocks, a_blocks)
        preds = denoiser(video, audio, request)
        missing = [p.value for p in passes if p not in preds]
        if missing:
            raise ValueError(f"denoiser returned no prediction for pass(es) {missing} at step {i}")
        video_x0 = guide({p: preds[p].video for p in passes}, video_guidance)  # (B, Tv, C)
        video_x0 = blend_clean(video_x0, video.denoise_mask, video.clean)
        video = replace(video, latent=euler_step(video.latent, video_x0, sigmas[i], sigmas[i + 1]))
        audio_x0 = None
        if audio is not None:
            audio_x0 = guide({p: preds[p].audio for p in passes}, audio_guidance)  # (B, Ta, C)
            audio_x0 = blend_clean(audio_x0, audio.denoise_mask, audio.clean)
            audio = replace(audio, latent=euler_step(audio.latent, audio_x0, sigmas[i], sigmas[i + 1]))
        if callback is not None:
            callback(StepInfo(i, float(sigmas[i]), float(sigmas[i + 1]), video_x0, audio_x0, video, audio))
    return video, audio
