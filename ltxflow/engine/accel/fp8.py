"""FP8 (e4m3) linear layers with row-wise scales: per output channel for weights, per token for activations.

On CUDA the product runs as one `torch._scaled_mm` (Hopper FP8 tensor cores, fp32 accumulation, bf16 out; PyTorch
has no public FP8 GEMM in the versions we support); elsewhere it is emulated by dequantising both operands, which
gives the same quantisation error (used by the CPU tests). `to_fp8` swaps a block's video-token linears for them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from ltxflow.engine.accel.attention import FastAttention
from ltxflow.engine.transformer.block import AVBlock

FP8 = torch.float8_e4m3fn
FP8_MAX = 448.0  # largest finite e4m3fn value

Quantize = Callable[[Tensor], tuple[Tensor, Tensor]]


def quantize_rows(x: Tensor) -> tuple[Tensor, Tensor]:
    """(M, K) -> e4m3 values (M, K) and fp32 scales (M, 1) with x ~= values * scales, each row's amax -> 448."""
    amax = x.abs().amax(dim=-1, keepdim=True).float().clamp(min=1e-12)  # (M, 1)
    scale = amax / FP8_MAX  # (M, 1)
    return (x.float() / scale).clamp(-FP8_MAX, FP8_MAX).to(FP8), scale


def scaled_mm_takes_bias(device: torch.device) -> bool:
    """Whether this PyTorch's FP8 GEMM accepts a bias together with row-wise scales on `device` (a 16x16 probe).

    A RuntimeError from the probe means "not supported here" (the bias is then added after the GEMM); running out
    of memory is not an answer and propagates."""
    a = torch.zeros(16, 16, device=device).to(FP8)
    ones_a, ones_b = torch.ones(16, 1, device=device), torch.ones(1, 16, device=device)
    bias = torch.zeros(16, device=device, dtype=torch.bfloat16)
    try:
        torch._scaled_mm(a, a.t(), scale_a=ones_a, scale_b=ones_b, bias=bias, out_dtype=torch.bfloat16)
    except torch.OutOfMemoryError:
        raise
    except RuntimeError:
        return False
    return True


class Fp8Linear(nn.Module):
    """y = x W^T + b with W (N, K) and x quantised row-wise to e4m3; replaces an `nn.Linear` at inference."""

    def __init__(self, weight: Tensor, scale: Tensor, bias: Tensor | None, quantize: Quantize = quantize_rows,
                 fused_bias: bool = True) -> None:
        super().__init__()
        self.register_buffer("weight_fp8", weight)  # (N, K) e4m3
        self.register_buffer("weight_scale", scale)  # (1, N) fp32
        self.register_buffer("bias", bias)  # (N,) in the activation dtype, or None
        self.quantize = quantize
        self.fused_bias = fused_bias  # the GEMM adds the bias (see scaled_mm_takes_bias)

    @classmethod
    @torch.no_grad()
    def from_linear(cls, linear: nn.Linear, quantize: Quantize = quantize_rows, fused_bias: bool = True) -> Fp8Linear:
        """Quantise a linear layer's weight per output channel."""
        values, scale = quantize_rows(linear.weight)  # (N, K), (N, 1)
        bias = None if linear.bias is None else linear.bias.detach()
        return cls(values, scale.view(1, -1).contiguous(), bias, quantize, fused_bias)

    def forward(self, x: Tensor) -> Tensor:
        """(..., K) -> (..., N) in x's dtype."""
        lead, k = x.shape[:-1], x.shape[-1]
        values, scale = self.quantize(x.reshape(-1, k))  # (M, K) e4m3, (M, 1) fp32
        if x.is_cuda:
            y = self._scaled_mm(values, scale, x.dtype)  # (M, N)
        else:  # emulation: the same quantised operands, multiplied in fp32
            w = self.weight_fp8.float() * self.weight_scale.t()  # (N, K)
            y = (values.float() * scale) @ w.t()  # (M, N)
            y = (y if self.bias is None else y + self.bias.float()).to(x.dtype)
        return y.view(*lead, -1)

    def _scaled_mm(self, values: Tensor, scale: Tensor, dtype: torch.dtype) -> Tensor:
        """FP8 GEMM on the tensor cores with both row-wise scales (and the bias, where supported)."""
        w = self.weight_fp8.t()  # (K, N) column-major, as _scaled_mm wants its second operand
        if self.fused_bias and self.bias is not None:
            return torch._scaled_mm(values, w, scale_a=scale, scale_b=self.weight_scale, bias=self.bias,
                                    out_dtype=dtype)
        y = torch._scaled_mm(values, w, scale_a=scale, scale_b=self.weight_scale, out_dtype=dtype)
        return y if self.bias is None else y + self.bias


def to_fp8(block: AVBlock, quantize: Quantize, fused_bias: bool) -> None:
    """FP8 for the linear layers that run over video tokens (the audio stream is too small to gain); idempotent.

    The bf16 projections a packed FP8 linear replaces are dropped, so their storage is freed (v of a packed q|k|v
    stays, in FP8: STG's value bypass calls it)."""
    def fp8(layer: nn.Module) -> nn.Module:
        if isinstance(layer, Fp8Linear):
            return layer
        assert isinstance(layer, nn.Linear)
        return Fp8Linear.from_linear(layer, quantize, fused_bias)

    for attn in (block.attn1, block.attn2, block.audio_to_video_attn):
        if not (isinstance(attn, FastAttention) and attn.packed is not None and attn.packed_kind == "qkv"):
            attn.to_q = fp8(attn.to_q)  # a packed q|k|v never calls to_q
        attn.to_out[0] = fp8(attn.to_out[0])
    for attn in (block.attn1, block.attn2, block.video_to_audio_attn):  # packed k|v of these read video tokens
        if isinstance(attn, FastAttention) and attn.packed is not None:
            attn.packed = fp8(attn.packed)
            if attn.packed_kind == "qkv":
                attn.to_q = attn.to_k = None
                attn.to_v = fp8(attn.to_v)
            else:
                attn.to_k = attn.to_v = None
    block.ff.net[0].proj = fp8(block.ff.net[0].proj)
    block.ff.net[2] = fp8(block.ff.net[2])
