"""FP8 (e4m3) linear layers with row-wise scales: per output channel for weights, per token for activations.

On CUDA the product runs as one `torch._scaled_mm` (Hopper FP8 tensor cores, fp32 accumulation, bf16 out); elsewhere
it is emulated by dequantising both operands, which gives the same quantisation error (used by the CPU tests).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

FP8 = torch.float8_e4m3fn
FP8_MAX = 448.0  # largest finite e4m3fn value


def quantize_rows(x: Tensor) -> tuple[Tensor, Tensor]:
    """(M, K) -> e4m3 values (M, K) and fp32 scales (M, 1) with x ~= values * scales, each row's amax -> 448."""
    amax = x.abs().amax(dim=-1, keepdim=True).float().clamp(min=1e-12)  # (M, 1)
    scale = amax / FP8_MAX  # (M, 1)
    return (x.float() / scale).clamp(-FP8_MAX, FP8_MAX).to(FP8), scale


class Fp8Linear(nn.Module):
    """y = x W^T + b with W (N, K) and x quantised row-wise to e4m3; replaces an `nn.Linear` at inference."""

    def __init__(self, weight: Tensor, scale: Tensor, bias: Tensor | None,
                 quantize: Callable[[Tensor], tuple[Tensor, Tensor]] = quantize_rows) -> None:
        super().__init__()
        self.register_buffer("weight_fp8", weight)  # (N, K) e4m3
        self.register_buffer("weight_scale", scale)  # (1, N) fp32
        self.register_buffer("bias", bias)  # (N,) in the activation dtype, or None
        self.quantize = quantize
        self.fused_bias = True  # cleared if this torch's _scaled_mm rejects a bias with row-wise scales

    @classmethod
    @torch.no_grad()
    def from_linear(cls, linear: nn.Linear,
                    quantize: Callable[[Tensor], tuple[Tensor, Tensor]] = quantize_rows) -> Fp8Linear:
        """Quantise a linear layer's weight per output channel."""
        values, scale = quantize_rows(linear.weight)  # (N, K), (N, 1)
        bias = None if linear.bias is None else linear.bias.detach()
        return cls(values, scale.view(1, -1).contiguous(), bias, quantize)

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
            try:
                return torch._scaled_mm(values, w, scale_a=scale, scale_b=self.weight_scale, bias=self.bias,
                                        out_dtype=dtype)
            except RuntimeError:
                self.fused_bias = False
        y = torch._scaled_mm(values, w, scale_a=scale, scale_b=self.weight_scale, out_dtype=dtype)
        return y if self.bias is None else y + self.bias
