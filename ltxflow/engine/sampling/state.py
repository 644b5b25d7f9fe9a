"""The per-modality latent state the sampler carries between steps (token layout)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LatentState:
    """Noisy tokens plus what conditioning pins: clean values and a per-token denoise mask."""

    latent: torch.Tensor  # (B, T, C) current noisy tokens, model dtype
    clean: torch.Tensor  # (B, T, C) conditioning tokens (used where denoise_mask < 1)
    denoise_mask: torch.Tensor  # (B, T, 1) fp32 in [0, 1]; 1 = generate, 0 = keep clean
    positions: torch.Tensor  # (B, n_axes, T, 2) RoPE bounds

    @staticmethod
    def empty(positions: torch.Tensor, channels: int, dtype: torch.dtype) -> LatentState:
        """All-zero tokens, fully denoised (mask 1), for the given positions (B, n, T, 2)."""
        b, _, t, _ = positions.shape
        zeros = torch.zeros(b, t, channels, dtype=dtype, device=positions.device)  # (B, T, C)
        mask = torch.ones(b, t, 1, dtype=torch.float32, device=positions.device)  # (B, T, 1)
        return LatentState(latent=zeros, clean=zeros.clone(), denoise_mask=mask, positions=positions)

    def token_sigmas(self, sigma: torch.Tensor | float) -> torch.Tensor:
        """Per-token noise level (B, T, 1) = denoise_mask * sigma (conditioning tokens are at sigma 0)."""
        return self.denoise_mask * sigma
