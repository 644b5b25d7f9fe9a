"""1-D connector: a small pre-norm transformer that turns padded text features into a full-length DiT context."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ltxflow.engine.text.config import ConnectorConfig, TextConfig
from ltxflow.engine.transformer.attention import Attention
from ltxflow.engine.transformer.block import FeedForward, rms
from ltxflow.engine.transformer.rope import Rope, rope_tables


class ConnectorBlock(nn.Module):
    """x += attn(rms(x)); x += ff(rms(x)) — no modulation; keys attn1.*, ff.net.*."""

    def __init__(self, width: int, conn: ConnectorConfig, config: TextConfig) -> None:
        super().__init__()
        self.eps = config.eps
        self.attn1 = Attention(width, width, conn.heads, conn.head_dim, gated=config.gated, eps=config.eps)
        self.ff = FeedForward(width)

    def forward(self, x: Tensor, rope: Rope) -> Tensor:
        """(B, T, D) -> (B, T, D)."""
        x = x + self.attn1(rms(x, self.eps), rope=rope)  # (B, T, D) every token attends to every token
        return x + self.ff(rms(x, self.eps))  # (B, T, D)


class Connector(nn.Module):
    """Registers replace padding, then RoPE'd transformer blocks and a final weightless RMS norm."""

    def __init__(self, conn: ConnectorConfig, config: TextConfig) -> None:
        super().__init__()
        self.conn, self.config = conn, config
        self.learnable_registers = nn.Parameter(torch.empty(config.registers, conn.width))  # (R, D)
        self.transformer_1d_blocks = nn.ModuleList(ConnectorBlock(conn.width, conn, config) for _ in range(conn.layers))

    def fill_registers(self, x: Tensor, mask: Tensor) -> Tensor:
        """Valid tokens move to the front (in order); the positions a flipped mask marks as padding take registers."""
        b, t, d = x.shape
        r = self.config.registers
        if t % r != 0:
            raise ValueError(f"text sequence length {t} is not a multiple of the {r} connector registers")
        valid = mask.bool()  # (B, T)
        order = torch.sort((~valid).to(torch.int8), dim=1, stable=True).indices  # (B, T) valid indices first
        front = x.gather(1, order.unsqueeze(-1).expand(b, t, d))  # (B, T, D)
        n = valid.sum(dim=1, keepdim=True)  # (B, 1)
        front = front * (torch.arange(t, device=x.device) < n).unsqueeze(-1)  # (B, T, D) zeros after the n valid
        registers = self.learnable_registers.repeat(t // r, 1)  # (T, D) register i at position i % R
        # with left padding the flipped mask is exactly "first n positions": tokens there, registers after
        keep = valid.flip(1).unsqueeze(-1)  # (B, T, 1)
        return torch.where(keep, front, registers.to(front.dtype))  # (B, T, D)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """x (B, T, D) features, mask (B, T) 1 = real token -> (B, T, D) context (all T positions valid)."""
        b, t, _ = x.shape
        x = self.fill_registers(x, mask)  # (B, T, D)
        index = torch.arange(t, dtype=torch.float32, device=x.device)  # (T,) token index is the position
        rope = rope_tables(
            index.expand(b, 1, t), width=self.conn.width, heads=self.conn.heads, max_pos=self.config.rope_max_pos,
            theta=self.config.rope_theta, layout=self.config.rope_layout, float64_ladder=self.config.rope_float64,
            dtype=x.dtype,
        )  # fmt: skip
        for block in self.transformer_1d_blocks:
            x = block(x, rope)  # (B, T, D)
        return rms(x, self.config.eps)  # (B, T, D)
