"""VAE building blocks: PixelNorm resnet blocks, space-to-depth downsampling, depth-to-space upsampling."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ltxflow.engine.video_vae.conv import CausalConv3d

PIXEL_NORM_EPS = 1e-8
SHORTCUT_NORM_EPS = 1e-6
SIGMA_FREQ_DIM = 256  # sinusoidal features fed to the timestep MLP


def pixel_norm(x: torch.Tensor, eps: float = PIXEL_NORM_EPS) -> torch.Tensor:
    """Divide every (b, f, h, w) position by the RMS of its channels."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


def patchify(x: torch.Tensor, p: int) -> torch.Tensor:
    """(B, C, F, H*p, W*p) -> (B, C*p*p, F, H, W); channel-major, then the W sub-position, then H (as shipped)."""
    return rearrange(x, "b c f (h ph) (w pw) -> b (c pw ph) f h w", ph=p, pw=p)


def unpatchify(x: torch.Tensor, p: int) -> torch.Tensor:
    """Inverse of `patchify`."""
    return rearrange(x, "b (c pw ph) f h w -> b c f (h ph) (w pw)", ph=p, pw=p)


def fold_to_channels(x: torch.Tensor, stride: tuple[int, int, int]) -> torch.Tensor:
    """(B, C, F*st, H*sh, W*sw) -> (B, C*st*sh*sw, F, H, W); channel-major, then t, h, w sub-positions."""
    st, sh, sw = stride
    return rearrange(x, "b c (f st) (h sh) (w sw) -> b (c st sh sw) f h w", st=st, sh=sh, sw=sw)


def unfold_from_channels(x: torch.Tensor, stride: tuple[int, int, int]) -> torch.Tensor:
    """Inverse of `fold_to_channels`."""
    st, sh, sw = stride
    return rearrange(x, "b (c st sh sw) f h w -> b c (f st) (h sh) (w sw)", st=st, sh=sh, sw=sw)


# ------------------------------------------------------------------------- timestep conditioning


class _SigmaMLP(nn.Module):
    """Linear -> SiLU -> Linear on the sinusoidal features."""

    def __init__(self, out_dim: int) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(SIGMA_FREQ_DIM, out_dim)
        self.linear_2 = nn.Linear(out_dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(F.silu(self.linear_1(x)))


class SigmaEmbedder(nn.Module):
    """Embed a per-sample decode timestep: cos|sin features (max period 1e4) through a 2-layer MLP."""

    def __init__(self, out_dim: int) -> None:
        super().__init__()
        self.timestep_embedder = _SigmaMLP(out_dim)

    def forward(self, t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """(B,) -> (B, out_dim)."""
        half = SIGMA_FREQ_DIM // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
        angles = t.float()[:, None] * freqs[None, :]  # (B, half)
        features = torch.cat([angles.cos(), angles.sin()], dim=-1)  # (B, 256)
        return self.timestep_embedder(features.to(dtype))  # (B, out_dim)


# ------------------------------------------------------------------------- resnet blocks


class ResnetBlock(nn.Module):
    """PixelNorm -> SiLU -> conv -> PixelNorm -> SiLU -> conv, plus a (projected) shortcut."""

    def __init__(
        self, in_channels: int, out_channels: int, *, padding_mode: str, timestep_conditioning: bool = False
    ) -> None:
        super().__init__()
        self.conv1 = CausalConv3d(in_channels, out_channels, spatial_padding_mode=padding_mode)
        self.conv2 = CausalConv3d(out_channels, out_channels, spatial_padding_mode=padding_mode)
        self.timestep_conditioning = timestep_conditioning
        if in_channels != out_channels:
            # LayerNorm over channels (one group), then a 1x1x1 projection.
            self.norm3 = nn.GroupNorm(1, in_channels, eps=SHORTCUT_NORM_EPS)
            self.conv_shortcut = nn.Conv3d(in_channels, out_channels, kernel_size=1)
        else:
            self.norm3 = None
            self.conv_shortcut = None
        if timestep_conditioning:
            # Rows: shift1, scale1, shift2, scale2 (added to the stage's timestep embedding).
            self.scale_shift_table = nn.Parameter(torch.empty(4, in_channels))

    def forward(self, x: torch.Tensor, causal: bool = True, t_emb: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C_in, F, H, W) -> (B, C_out, F, H, W); t_emb (B, 4*C_in) when timestep conditioned."""
        h = pixel_norm(x)  # (B, C_in, F, H, W)
        if self.timestep_conditioning:
            if t_emb is None:
                raise ValueError("this resnet block is timestep conditioned: pass t_emb")
            mod = self.scale_shift_table[None].to(h) + t_emb.view(x.shape[0], 4, -1)  # (B, 4, C_in)
            shift1, scale1, shift2, scale2 = (m[:, :, None, None, None] for m in mod.unbind(dim=1))  # (B, C, 1, 1, 1)
            h = h * (1 + scale1) + shift1  # (B, C_in, F, H, W)
        h = self.conv1(F.silu(h), causal=causal)  # (B, C_out, F, H, W)
        h = pixel_norm(h)  # (B, C_out, F, H, W)
        if self.timestep_conditioning:
            h = h * (1 + scale2) + shift2  # (B, C_out, F, H, W)
        h = self.conv2(F.silu(h), causal=causal)  # (B, C_out, F, H, W)
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(self.norm3(x))  # (B, C_out, F, H, W)
        return x + h  # (B, C_out, F, H, W)


class ResStage(nn.Module):
    """`num_layers` resnet blocks of constant width sharing one optional timestep embedding."""

    def __init__(
        self, channels: int, num_layers: int, *, padding_mode: str, timestep_conditioning: bool = False
    ) -> None:
        super().__init__()
        self.timestep_conditioning = timestep_conditioning
        if timestep_conditioning:
            self.time_embedder = SigmaEmbedder(4 * channels)
        self.res_blocks = nn.ModuleList(
            ResnetBlock(channels, channels, padding_mode=padding_mode, timestep_conditioning=timestep_conditioning)
            for _ in range(num_layers)
        )

    def forward(self, x: torch.Tensor, causal: bool = True, t: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, F, H, W) -> (B, C, F, H, W); t (B,) scaled timestep when conditioned."""
        t_emb = None
        if self.timestep_conditioning:
            if t is None:
                raise ValueError("this stage is timestep conditioned: pass t")
            t_emb = self.time_embedder(t.flatten(), x.dtype)  # (B, 4C)
        for block in self.res_blocks:
            x = block(x, causal=causal, t_emb=t_emb)  # (B, C, F, H, W)
        return x


# ------------------------------------------------------------------------- resampling


class SpaceToDepthDown(nn.Module):
    """Downsample by folding strided pixels into channels: conv path plus a channel-averaged shortcut."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: tuple[int, int, int], *, padding_mode: str
    ) -> None:
        super().__init__()
        self.stride = stride
        volume = math.prod(stride)
        if out_channels % volume or (in_channels * volume) % out_channels:
            raise ValueError(f"cannot fold {in_channels} channels by {stride} into {out_channels}")
        self.shortcut_group = in_channels * volume // out_channels  # folded channels averaged per output
        self.conv = CausalConv3d(in_channels, out_channels // volume, spatial_padding_mode=padding_mode)

    def forward(self, x: torch.Tensor, causal: bool = True) -> torch.Tensor:
        """(B, C, F, H, W) -> (B, C_out, (F+1)/st or F, H/sh, W/sw)."""
        if self.stride[0] == 2:
            x = torch.cat([x[:, :, :1], x], dim=2)  # (B, C, F+1, H, W): the lone first frame gets a twin
        shortcut = fold_to_channels(x, self.stride)  # (B, C*V, F', H', W')
        shortcut = rearrange(shortcut, "b (c g) f h w -> b c g f h w", g=self.shortcut_group).mean(dim=2)
        h = fold_to_channels(self.conv(x, causal=causal), self.stride)  # (B, C_out, F', H', W')
        return h + shortcut  # (B, C_out, F', H', W')


class DepthToSpaceUp(nn.Module):
    """Upsample by a conv to stride-volume times the channels, then unfolding them into space/time."""

    def __init__(
        self,
        in_channels: int,
        stride: tuple[int, int, int],
        *,
        reduction: int = 1,
        residual: bool = False,
        padding_mode: str,
    ) -> None:
        super().__init__()
        self.stride = stride
        self.reduction = reduction
        self.residual = residual
        volume = math.prod(stride)
        if (volume * in_channels) % reduction or volume % reduction and residual:
            raise ValueError(f"cannot unfold {in_channels} channels by {stride} with reduction {reduction}")
        self.conv = CausalConv3d(in_channels, volume * in_channels // reduction, spatial_padding_mode=padding_mode)

    def forward(self, x: torch.Tensor, causal: bool = True) -> torch.Tensor:
        """(B, C, F, H, W) -> (B, C/r, st*F - (st-1), sh*H, sw*W)."""
        drop = self.stride[0] - 1  # time upsampling yields one frame too many in front
        h = unfold_from_channels(self.conv(x, causal=causal), self.stride)[:, :, drop:]  # (B, C/r, F', H', W')
        if self.residual:
            repeat = math.prod(self.stride) // self.reduction
            shortcut = unfold_from_channels(x, self.stride).repeat(1, repeat, 1, 1, 1)  # (B, C/r, F'+drop, H', W')
            h = h + shortcut[:, :, drop:]  # (B, C/r, F', H', W')
        return h
