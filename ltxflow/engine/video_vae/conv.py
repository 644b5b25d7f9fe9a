"""Causal 3-D convolution: time is padded by repeating edge frames, space by the configured mode."""

from __future__ import annotations

import torch
from torch import nn


class CausalConv3d(nn.Module):
    """3x3x3 conv whose temporal context comes from repeated first (and, if non-causal, last) frames."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        kernel_size: int = 3,
        stride: int | tuple[int, int, int] = 1,
        spatial_padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        self.time_kernel = kernel_size
        # Spatial padding lives in the conv itself; temporal padding is done by hand in forward.
        self.conv = nn.Conv3d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=(0, kernel_size // 2, kernel_size // 2),
            padding_mode=spatial_padding_mode,
        )

    def forward(self, x: torch.Tensor, causal: bool = True) -> torch.Tensor:
        """(B, C, F, H, W) -> (B, C_out, F / stride_t, H / stride_s, W / stride_s)."""
        if causal:
            head = x[:, :, :1].expand(-1, -1, self.time_kernel - 1, -1, -1)  # (B, C, k-1, H, W)
            x = torch.cat([head, x], dim=2)  # (B, C, F+k-1, H, W)
        else:
            side = (self.time_kernel - 1) // 2
            head = x[:, :, :1].expand(-1, -1, side, -1, -1)  # (B, C, (k-1)/2, H, W)
            tail = x[:, :, -1:].expand(-1, -1, side, -1, -1)  # (B, C, (k-1)/2, H, W)
            x = torch.cat([head, x, tail], dim=2)  # (B, C, F+k-1, H, W)
        return self.conv(x)  # (B, C_out, F', H', W')
