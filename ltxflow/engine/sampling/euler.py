"""Flow-matching Euler step on x0 predictions, mask blending and masked noising (x_sigma = (1-sigma) x0 + sigma eps)."""

from __future__ import annotations

import torch


def to_velocity(x: torch.Tensor, x0: torch.Tensor, sigma: float) -> torch.Tensor:
    """Velocity (x - x0) / sigma in fp32, returned in x's dtype."""
    if sigma == 0:
        raise ValueError("velocity is undefined at sigma = 0")
    return ((x.float() - x0.float()) / sigma).to(x.dtype)


@torch.no_grad()
def euler_step(x: torch.Tensor, x0: torch.Tensor, sigma: torch.Tensor, sigma_next: torch.Tensor) -> torch.Tensor:
    """Euler step of the probability-flow ODE dx/dsigma = (x - x0)/sigma (Karras et al. 2022, Alg. 1 w/o churn)."""
    velocity = to_velocity(x, x0, float(sigma))  # (B, T, C) in x.dtype
    dt = sigma_next - sigma  # negative: sigma decreases
    return (x.float() + velocity.float() * dt).to(x.dtype)  # fp32 update, cast back


@torch.no_grad()
def blend_clean(x0: torch.Tensor, denoise_mask: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """x0*mask + clean*(1-mask) in fp32, cast to x0's dtype: conditioning tokens predict their clean value."""
    return (x0 * denoise_mask + clean.float() * (1 - denoise_mask)).to(x0.dtype)


@torch.no_grad()
def add_noise(
    latent: torch.Tensor, noise: torch.Tensor, denoise_mask: torch.Tensor, noise_scale: float = 1.0
) -> torch.Tensor:
    """Forward flow process per token: noise*m + latent*(1-m) with m = mask*noise_scale (the token's sigma)."""
    m = denoise_mask * noise_scale  # (B, T, 1) fp32
    return (noise * m + latent * (1 - m)).to(latent.dtype)
