"""Multi-head attention with weighted q/k RMSNorm, RoPE, optional per-head gates and the STG value bypass."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ltxflow.engine.transformer.ops import norm_rope
from ltxflow.engine.transformer.rope import Rope


class Attention(nn.Module):
    """Self or cross attention; keys q_norm, k_norm, to_q, to_k, to_v, to_out.0 and (gated) to_gate_logits.

    `project`, `normalise` and `attend` are the three steps of `forward` a faster implementation may replace (see
    `ltxflow.engine.accel.attention`); here they are the reference's own operations.
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

    def project(self, x: Tensor, context: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """q (B, T, H*d) from x, k and v (B, S, H*d) from the context (x itself for self-attention)."""
        return self.to_q(x), self.to_k(context), self.to_v(context)

    def normalise(self, z: Tensor, weight: Tensor, rope: Rope | None) -> Tensor:
        """RMSNorm with `weight` over all heads, then RoPE: q or k (B, T, H*d) -> (B, T, H*d)."""
        return norm_rope(z, weight, self.eps, rope)

    def attend(self, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> Tensor:
        """softmax(q k^T / sqrt(d) + mask) v over heads: q (B, H, T, d), k and v (B, H, S, d) -> (B, H, T, d)."""
        return nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    def forward(self, x: Tensor, context: Tensor | None = None, *, rope: Rope | None = None,
                k_rope: Rope | None = None, mask: Tensor | None = None, keep: Tensor | None = None,
                skip_qk: bool = False) -> Tensor:
        """x (B, T, Dq), context (B, S, Dc) -> (B, T, Dq).

        mask: additive bias broadcastable to (B, H, T, S). keep: (B, 1, 1) with 1 = attend, 0 = pass the values
        through (STG, per batch item). skip_qk: every item passes its values through (q/k never computed).
        """
        context = x if context is None else context
        b, t, _ = x.shape
        if skip_qk:
            out = self.to_v(context)  # (B, T, H*d): STG replaces attention by the values (self-attention, S == T)
        else:
            q, k, v = self.project(x, context)  # (B, T, H*d), (B, S, H*d), (B, S, H*d)
            q = self.normalise(q, self.q_norm.weight, rope)  # (B, T, H*d)
            k = self.normalise(k, self.k_norm.weight, rope if k_rope is None else k_rope)  # (B, S, H*d)
            q, k, vh = (z.unflatten(-1, (self.heads, self.head_dim)).transpose(1, 2) for z in (q, k, v))
            out = self.attend(q, k, vh, mask)  # (B, H, T, d)
            out = out.transpose(1, 2).reshape(b, t, self.heads * self.head_dim)  # (B, T, H*d)
            if keep is not None:
                out = out * keep + v * (1 - keep)  # (B, T, H*d): items with keep 0 pass their values through
        if self.to_gate_logits is not None:
            gates = 2.0 * torch.sigmoid(self.to_gate_logits(x))  # (B, T, H), 1 at zero logits
            out = (out.view(b, t, self.heads, self.head_dim) * gates.unsqueeze(-1)).view(b, t, -1)
        return self.to_out[0](out)  # (B, T, Dq)
