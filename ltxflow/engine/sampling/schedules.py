"""Sigma schedules of LTX-2: the token-shifted, stretched flow schedule and the distilled constants."""

from __future__ import annotations

import math

import torch

from ltxflow.errors import LtxflowError

SHIFT_ANCHOR_TOKENS = (1024, 4096)  # token counts at which the shift equals base_shift / max_shift
DEFAULT_SHIFT_TOKENS = 4096  # what the reference pipelines use (no latent passed => resolution independent)

# Distilled checkpoints were trained on these exact levels (8 steps, then 3 refinement steps after upsampling).
DISTILLED_STAGE1_SIGMAS = (1.0, 0.99375, 0.9875, 0.98125, 0.975, 0.909375, 0.725, 0.421875, 0.0)
DISTILLED_STAGE2_SIGMAS = (0.909375, 0.725, 0.421875, 0.0)


class ScheduleError(LtxflowError, ValueError):
    """A step count or schedule stage that no sigma schedule exists for."""


@torch.no_grad()
def ltx2_sigmas(
    steps: int,
    tokens: int = DEFAULT_SHIFT_TOKENS,
    max_shift: float = 2.05,
    base_shift: float = 0.95,
    terminal: float | None = 0.1,
) -> torch.Tensor:
    """Resolution-shifted flow-matching schedule (SD3 time shift), stretched to end at `terminal`, then 0."""
    if steps < 1:
        raise ScheduleError(f"steps must be >= 1, got {steps}")
    if terminal is not None and steps < 2:
        raise ScheduleError(f"a terminal sigma needs steps >= 2, got {steps} (use terminal=None for one step)")
    low, high = SHIFT_ANCHOR_TOKENS
    slope = (max_shift - base_shift) / (high - low)
    shift = tokens * slope + (base_shift - slope * low)  # linear in token count through both anchors
    sigma = torch.linspace(1.0, 0.0, steps + 1)  # (steps+1,) fp32
    e = math.exp(shift)
    sigma = torch.where(sigma != 0, e / (e + (1 / sigma - 1)), 0)  # time shift; sigma = 0 stays 0
    if terminal is not None:
        live = sigma != 0
        one_minus = 1.0 - sigma[live]
        scale = one_minus[-1] / (1.0 - terminal)  # so the last non-zero sigma becomes `terminal`
        sigma[live] = 1.0 - one_minus / scale
    return sigma.to(torch.float32)


def distilled_sigmas(stage: int = 1) -> torch.Tensor:
    """The distilled model's fixed sigma list: stage 1 (8 steps from noise) or stage 2 (3 refinement steps)."""
    if stage not in (1, 2):
        raise ScheduleError(f"distilled stage must be 1 or 2, got {stage}")
    return torch.tensor(DISTILLED_STAGE1_SIGMAS if stage == 1 else DISTILLED_STAGE2_SIGMAS, dtype=torch.float32)
