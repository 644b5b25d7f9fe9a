"""The transformer as the sampler's Denoiser: every guidance pass of a step, batched into one forward by default."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ltxflow.engine.sampling import LatentState, Pass, Prediction, StepRequest, split_predictions, stack_passes
from ltxflow.engine.transformer import LTXTransformer, ModalityInput, Perturbation


@dataclass(frozen=True)
class Contexts:
    """Text contexts of one batch: positive prompt and (for CFG) the negative one."""

    video: Tensor  # (B, L, Cv)
    audio: Tensor  # (B, L, Ca)
    negative_video: Tensor | None = None  # (B, L, Cv), needed by the UNCOND pass
    negative_audio: Tensor | None = None  # (B, L, Ca)

    def for_pass(self, p: Pass) -> tuple[Tensor, Tensor]:
        """(video, audio) contexts a pass attends to."""
        if p is not Pass.UNCOND:
            return self.video, self.audio
        if self.negative_video is None or self.negative_audio is None:
            raise ValueError("classifier-free guidance (cfg != 1) needs negative-prompt contexts")
        return self.negative_video, self.negative_audio


def pass_perturbation(p: Pass, request: StepRequest) -> Perturbation:
    """What the transformer skips for pass `p`: STG blocks, AV cross-attention, or nothing."""
    if p is Pass.PERTURBED:
        return Perturbation.stg(request.video_stg_blocks, request.audio_stg_blocks)
    if p is Pass.ISOLATED:
        return Perturbation.isolated()
    return Perturbation()


def pass_twins(passes: tuple[Pass, ...], b: int) -> list[int | None] | None:
    """Per stacked item (pass-major, `b` items per pass): the earlier item with the same inputs, if any.

    PERTURBED reads exactly what COND reads (latent, sigma, positive prompt); only its perturbation differs, so the
    transformer computes it from COND's hidden states at its first skipped block."""
    if Pass.PERTURBED not in passes or Pass.COND not in passes:
        return None
    cond, perturbed = passes.index(Pass.COND), passes.index(Pass.PERTURBED)
    if perturbed < cond:
        return None
    return [cond * b + i % b if i // b == perturbed else None for i in range(len(passes) * b)]


class TransformerDenoiser:
    """x0 predictions of `model` for the passes a step requests; `batched` stacks them pass-major in one forward."""

    def __init__(self, model: LTXTransformer, contexts: Contexts, batched: bool = True) -> None:
        self.model, self.contexts, self.batched = model, contexts, batched
        self.forwards = 0  # transformer calls made so far (tests and benchmarks count them)

    def __call__(self, video: LatentState, audio: LatentState | None, request: StepRequest) -> dict[Pass, Prediction]:
        """{pass: Prediction} for every pass in `request.passes`."""
        if self.batched:
            return self._run(video, audio, request, request.passes)
        return {p: self._run(video, audio, request, (p,))[p] for p in request.passes}

    def _run(self, video: LatentState, audio: LatentState | None, request: StepRequest,
             passes: tuple[Pass, ...]) -> dict[Pass, Prediction]:  # fmt: skip
        """One forward over `passes` stacked along the batch axis."""
        b = video.latent.shape[0]
        contexts = [self.contexts.for_pass(p) for p in passes]
        perturbations = [pass_perturbation(p, request) for p in passes for _ in range(b)]  # (P*B,)
        v_in = self._modality(video, request.sigma, passes, torch.cat([c[0] for c in contexts]))
        a_in = None
        if audio is not None:
            a_in = self._modality(audio, request.sigma, passes, torch.cat([c[1] for c in contexts]))
        twins = pass_twins(passes, b)  # the STG pass shares the blocks before its skipped one with COND
        v_x0, a_x0 = self.model.predict_x0(v_in, a_in, perturbations, twins)  # (P*B, Tv, C), (P*B, Ta, C) | None
        self.forwards += 1
        return split_predictions(v_x0, a_x0, passes)

    @staticmethod
    def _modality(state: LatentState, sigma: Tensor, passes: tuple[Pass, ...], context: Tensor) -> ModalityInput:
        """The transformer input of one modality for P stacked passes; context already (P*B, L, C)."""
        latent = stack_passes(state.latent, passes)  # (P*B, T, C)
        n = latent.shape[0]
        step_sigma = sigma.to(latent.device).reshape(1).expand(n)  # (P*B,)
        timesteps = state.token_sigmas(sigma.to(latent.device))[..., 0]  # (B, T)
        if bool((state.denoise_mask == 1).all()):  # no conditioning tokens (one host sync per call)
            timesteps = timesteps[:, :1]  # (B, 1): one sigma per item, so the AdaLN runs once, not once per token
        timesteps = stack_passes(timesteps, passes)  # (P*B, T) or (P*B, 1)
        positions = stack_passes(state.positions, passes)  # (P*B, n_axes, T, 2)
        return ModalityInput(latent, step_sigma, timesteps, positions, context.to(latent.dtype))
