"""Multi-head attention with weighted q/k RMSNorm, RoPE, optional per-head gates and the STG value bypass."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ltxflow.engine.transformer.rope import Rope, apply_rope


class Attention(nn.Module):
    """Self or cross attention; keys q_norm, k_norm, to_q, to_k, to_v, to_out.0 and (gated) to_gate_logits."""

    def __init__(self, query_dim: int, context_dim: int, heads: int, head_dim: int, *, gated: bool,
                 eps: float) -> None:
        super().__init__()
        inner = heads * head_dim
        self.heads, self.head_dim = heads, head_dim
        self.q_norm = nn.RMSNorm(inner, eps=eps)  # one weight over all heads
        self.k_norm = nn.RMSNorm(inner, eps=eps)
        self.to_q = nn.Linear(query_dim, inner)
        self.to_k = nn.Linear(context_dim, inner)
        self.to_v = nn.Linear(context_dim, inner)
        self.to_gate_logits = nn.Linear(query_dim, heads) if gated else None
        self.to_out = nn.ModuleList([nn.Linear(inner, query_dim)])

    def forward(self, x: Tensor, context: Tensor | None = None, *, rope: Rope | None = None,
                k_rope: Rope | None = None, mask: Tensor | None = None, keep: Tensor | None = None,
                skip_qk: bool = False) -> Tensor:
        """x (B, T, Dq), context (B, S, Dc) -> (B, T, Dq).

        mask: additive bias broadcastable to (B, H, T, S). keep: (B, 1, 1) with 1 = attend, 0 = pass the values
        through (STG, per batch item). skip_qk: every item passes its values through (q/k never computed).
        """
        context = x if context is None else context
        b, t, _ = x.shape
        v = self.to_v(context)  # (B, S, H*d)
        if skip_qk:
            out = v  # (B, T, H*d): STG replaces attention by the values (self-attention only, S == T)
        else:
            q = self.q_norm(self.to_q(x))  # (B, T, H*d)
            k = self.k_norm(self.to_k(context))  # (B, S, H*d)
            if rope is not None:
                q = apply_rope(q, rope)
                k = apply_rope(k, rope if k_rope is None else k_rope)
            q, k, vh = (z.unflatten(-1, (self.heads, self.head_dim)).transpose(1, 2) for z in (q, k, v))
            out = nn.functional.scaled_dot_product_attention(q, k, vh, attn_mask=mask)  # (B, H, T, d)
            out = out.transpose(1, 2).reshape(b, t, self.heads * self.head_dim)  # (B, T, H*d)
            if keep is not None:
                out = out * keep + v * (1 - keep)
        if self.to_gate_logits is not None:
            gates = 2.0 * torch.sigmoid(self.to_gate_logits(x))  # (B, T, H), 1 at zero logits
            out = (out.view(b, t, self.heads, self.head_dim) * gates.unsqueeze(-1)).view(b, t, -1)
        return self.to_out[0](out)  # (B, T, Dq)
