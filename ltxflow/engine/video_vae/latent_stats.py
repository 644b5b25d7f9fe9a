"""Per-channel latent statistics: the diffusion model sees (z - mean_c) / std_c."""

from __future__ import annotations

import torch
from torch import nn

STD_KEY = "std-of-means"  # buffer names as stored in the checkpoint (hyphenated)
MEAN_KEY = "mean-of-means"


class PerChannelStatistics(nn.Module):
    """Holds the dataset mean and std of each latent channel's means; maps raw <-> normalised latents."""

    def __init__(self, latent_channels: int) -> None:
        super().__init__()
        self.register_buffer(STD_KEY, torch.empty(latent_channels))
        self.register_buffer(MEAN_KEY, torch.empty(latent_channels))

    def _stats(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, std) shaped (1, C, 1, 1, 1) in the dtype/device of `like`."""
        shape = (1, -1) + (1,) * (like.dim() - 2)
        mean = self.get_buffer(MEAN_KEY).view(shape).to(like)
        std = self.get_buffer(STD_KEY).view(shape).to(like)
        return mean, std

    def normalize(self, z: torch.Tensor) -> torch.Tensor:
        """Raw VAE latent (B, C, F, H, W) -> normalised latent."""
        mean, std = self._stats(z)
        return (z - mean) / std

    def un_normalize(self, z: torch.Tensor) -> torch.Tensor:
        """Normalised latent (B, C, F, H, W) -> raw VAE latent."""
        mean, std = self._stats(z)
        return z * std + mean
