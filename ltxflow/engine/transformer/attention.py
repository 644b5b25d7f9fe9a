"""Multi-head attention with weighted q/k RMSNorm, RoPE, optional per-head gates and the STG value bypass."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from ltxflow.engine.transformer.ops import EAGER_OPS, BlockOps
from ltxflow.engine.transformer.rope import Rope


class Attention(nn.Module):
    """Self or cross attention; keys q_norm, k_norm, to_q, to_k, to_v, to_out.0 and (gated) to_gate_logits.

    Speed settings (see `speed.py`) live outside the state dict: `packed` holds one linear computing q|k|v (self)
    or k|v (cross) whose weight the separate projections view, `backends` the SDPA backends to try first on CUDA.
    """

    def __init__(self, query_dim: int, context_dim: int, heads: int, head_dim: int, *, gated: bool,
                 eps: float) -> None:
        super().__init__()
        inner = heads * head_dim
        self.heads, self.head_dim, self.eps = heads, head_dim, eps
        self.q_norm = nn.RMSNorm(inner, eps=eps)  # one weight over all heads
        self.k_norm = nn.RMSNorm(inner, eps=eps)
        self.to_q = nn.Linear(query_dim, inner)
        self.to_k = nn.Linear(context_dim, inner)
        self.to_v = nn.Linear(context_dim, inner)
        self.to_gate_logits = nn.Linear(query_dim, heads) if gated else None
        self.to_out = nn.ModuleList([nn.Linear(inner, query_dim)])
        self.ops: BlockOps = EAGER_OPS
        self.packed: tuple[str, nn.Module] | None = None  # ("qkv" | "kv", linear); plain attribute, no state
        self.backends: tuple[SDPBackend, ...] = ()  # () = PyTorch's own choice

    def _project(self, x: Tensor, context: Tensor, self_attn: bool) -> tuple[Tensor, Tensor, Tensor]:
        """q (B, T, H*d), k and v (B, S, H*d), through the packed linear when there is one."""
        inner = self.heads * self.head_dim
        kind, linear = self.packed or ("", None)
        if kind == "qkv" and self_attn:
            return linear(x).split(inner, dim=-1)  # (B, T, 3*H*d) -> 3 x (B, T, H*d)
        if kind == "kv":
            k, v = linear(context).split(inner, dim=-1)  # (B, S, 2*H*d) -> 2 x (B, S, H*d)
            return self.to_q(x), k, v
        return self.to_q(x), self.to_k(context), self.to_v(context)

    def _sdpa(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> Tensor:
        """Scaled dot-product attention over (B, H, T, d) heads, preferring `backends` on CUDA."""
        if not (self.backends and q.is_cuda):
            return nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, H, T, d)
        backends = list(self.backends)
        if torch.compiler.is_compiling():  # chosen while tracing: left to itself, a compiled graph took flash
            with sdpa_kernel(backends, set_priority=True):
                return nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, H, T, d)
        if backends[0] is SDPBackend.CUDNN_ATTENTION:  # a priority list alone did not make torch 2.11 pick cuDNN
            if not cudnn_accepts(q, k, v, mask):
                q, k, v = q.contiguous(), k.contiguous(), v.contiguous()  # cuDNN's own (B, H, T, d) layout
            backends = backends[:1] if cudnn_accepts(q, k, v, mask) else backends[1:] or [SDPBackend.MATH]
        with sdpa_kernel(backends, set_priority=True):
            return nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, H, T, d)

    def forward(self, x: Tensor, context: Tensor | None = None, *, rope: Rope | None = None,
                k_rope: Rope | None = None, mask: Tensor | None = None, keep: Tensor | None = None,
                skip_qk: bool = False) -> Tensor:
        """x (B, T, Dq), context (B, S, Dc) -> (B, T, Dq).

        mask: additive bias broadcastable to (B, H, T, S). keep: (B, 1, 1) with 1 = attend, 0 = pass the values
        through (STG, per batch item). skip_qk: every item passes its values through (q/k never computed).
        """
        self_attn = context is None
        context = x if context is None else context
        b, t, _ = x.shape
        if skip_qk:
            out = self.to_v(context)  # (B, T, H*d): STG replaces attention by the values (self-attention, S == T)
        else:
            q, k, v = self._project(x, context, self_attn)  # (B, T, H*d), (B, S, H*d), (B, S, H*d)
            q = self.ops.norm_rope(q, self.q_norm.weight, self.eps, rope)  # (B, T, H*d)
            k = self.ops.norm_rope(k, self.k_norm.weight, self.eps, rope if k_rope is None else k_rope)
            q, k, vh = (z.unflatten(-1, (self.heads, self.head_dim)).transpose(1, 2) for z in (q, k, v))
            out = self._sdpa(q, k, vh, mask)  # (B, H, T, d)
            out = out.transpose(1, 2).reshape(b, t, self.heads * self.head_dim)  # (B, T, H*d)
            if keep is not None:
                out = out * keep + v * (1 - keep)
        if self.to_gate_logits is not None:
            gates = 2.0 * torch.sigmoid(self.to_gate_logits(x))  # (B, T, H), 1 at zero logits
            out = (out.view(b, t, self.heads, self.head_dim) * gates.unsqueeze(-1)).view(b, t, -1)
        return self.to_out[0](out)  # (B, T, Dq)


_CUDNN_VERDICTS: dict[tuple, bool] = {}


def cudnn_accepts(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> bool:
    """Whether PyTorch would run cuDNN attention on these tensors as laid out (memoised per shape and strides)."""
    key = tuple((z.shape, z.stride(), z.dtype) for z in (q, k, v)) + (None if mask is None else
                                                                         (mask.shape, mask.stride()),)
    if key not in _CUDNN_VERDICTS:
        try:
            params = torch.backends.cuda.SDPAParams(q, k, v, mask, 0.0, False, False)
            with sdpa_kernel([SDPBackend.CUDNN_ATTENTION]):  # the check also reads the global enable flag
                _CUDNN_VERDICTS[key] = torch.backends.cuda.can_use_cudnn_attention(params, False)
        except (AttributeError, TypeError, RuntimeError):  # API differs in this torch: leave the layout alone
            _CUDNN_VERDICTS[key] = True
    return _CUDNN_VERDICTS[key]
