"""The built-in tiny text encoder: UTF-8 bytes -> a small RoPE transformer -> per-layer hidden states.

It stands in for Gemma in the embedded `tiny` checkpoint: same contract (left-padded fixed-length tokens, a mask,
layers + 1 hidden states of one width), so its states take the same feature-extractor and connector path.
Its weights live in the checkpoint under `TINY_TEXT_PREFIX`, its shape in the `text_encoder` config section.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ltxflow.engine.text.config import TextConfigError
from ltxflow.engine.transformer.attention import Attention
from ltxflow.engine.transformer.block import FeedForward, rms
from ltxflow.engine.transformer.rope import Rope, rope_tables

TINY_TEXT_PREFIX = "ltxflow_text_encoder."  # checkpoint key prefix of the tiny encoder's weights
TINY_TEXT_KIND = "ltxflow-tiny-bytes"  # config["text_encoder"]["kind"]
PAD_ID = 0  # byte b is token b + 1
VOCAB = 257  # padding + 256 byte values


@dataclass(frozen=True)
class TinyTextConfig:
    """Shape of the tiny encoder, stored as the checkpoint's `text_encoder` config section."""

    width: int = 32  # hidden width = the transformer's caption_channels
    layers: int = 2  # transformer blocks; hidden states = layers + 1
    heads: int = 2
    max_length: int = 1024  # tokens per prompt (left padded), as Gemma in the reference
    eps: float = 1e-6

    @property
    def hidden_states(self) -> int:
        """How many hidden states a forward returns (embeddings + one per block)."""
        return self.layers + 1

    def to_section(self) -> dict[str, Any]:
        """The `text_encoder` config section."""
        return {"kind": TINY_TEXT_KIND, "width": self.width, "layers": self.layers, "heads": self.heads,
                "max_length": self.max_length, "hidden_states": self.hidden_states}  # fmt: skip

    @staticmethod
    def from_section(section: Any) -> TinyTextConfig:
        """Parse the `text_encoder` section; anything but the tiny byte encoder is an error."""
        if not isinstance(section, dict) or section.get("kind") != TINY_TEXT_KIND:
            raise TextConfigError(f"config text_encoder: expected kind {TINY_TEXT_KIND!r}, got {section!r}")
        values = {}
        for key in ("width", "layers", "heads", "max_length"):
            value = section.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise TextConfigError(f"config text_encoder.{key}: expected a positive integer, got {value!r}")
            values[key] = value
        config = TinyTextConfig(**values)
        if config.width % (2 * config.heads):
            raise TextConfigError(f"config text_encoder: width {config.width} must split into {config.heads} heads")
        return config


def byte_tokens(prompts: list[str], max_length: int) -> tuple[Tensor, Tensor]:
    """Stripped UTF-8 bytes as ids (B, L) int64, left padded / right truncated, and the mask (B, L) int64."""
    ids = torch.full((len(prompts), max_length), PAD_ID, dtype=torch.int64)
    mask = torch.zeros((len(prompts), max_length), dtype=torch.int64)
    for i, prompt in enumerate(prompts):
        data = list(prompt.strip().encode("utf-8"))[:max_length]
        if data:
            ids[i, max_length - len(data) :] = torch.tensor(data, dtype=torch.int64) + 1
            mask[i, max_length - len(data) :] = 1
    return ids, mask


class TinyTextBlock(nn.Module):
    """Pre-norm self-attention (pads masked out) + feed-forward."""

    def __init__(self, config: TinyTextConfig) -> None:
        super().__init__()
        self.eps = config.eps
        self.attn = Attention(config.width, config.width, config.heads, config.width // config.heads, gated=False,
                              eps=config.eps)  # fmt: skip
        self.ff = FeedForward(config.width)

    def forward(self, x: Tensor, rope: Rope, bias: Tensor) -> Tensor:
        """(B, L, D) -> (B, L, D); bias (B, 1, 1, L) additive key mask."""
        x = x + self.attn(rms(x, self.eps), rope=rope, mask=bias)  # (B, L, D)
        return x + self.ff(rms(x, self.eps))  # (B, L, D)


class TinyTextModel(nn.Module):
    """Byte embedding + RoPE transformer; keys embed.weight, blocks.N.*, norm.weight."""

    def __init__(self, config: TinyTextConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(VOCAB, config.width)
        self.blocks = nn.ModuleList(TinyTextBlock(config) for _ in range(config.layers))
        self.norm = nn.RMSNorm(config.width, eps=config.eps)

    def forward(self, ids: Tensor, mask: Tensor) -> list[Tensor]:
        """ids, mask (B, L) -> layers + 1 hidden states (B, L, D): embeddings, each block, the last one normed."""
        b, length = ids.shape
        x = self.embed(ids)  # (B, L, D)
        dtype = x.dtype
        index = torch.arange(length, dtype=torch.float32, device=ids.device).expand(b, 1, length)  # (B, 1, L)
        rope = rope_tables(index, width=self.config.width, heads=self.config.heads, max_pos=(self.config.max_length,),
                           theta=10000.0, layout="split", float64_ladder=True, dtype=dtype)  # fmt: skip
        keys = mask.bool() | (mask.sum(dim=1, keepdim=True) == 0)  # (B, L) an empty prompt attends to its pads
        bias = torch.zeros(b, 1, 1, length, dtype=dtype, device=ids.device)  # (B, 1, 1, L)
        bias = bias.masked_fill(~keys[:, None, None, :], torch.finfo(dtype).min)
        states = [x]
        for i, block in enumerate(self.blocks):
            x = block(x, rope, bias)  # (B, L, D)
            states.append(self.norm(x) if i == len(self.blocks) - 1 else x)
        return states


def build_tiny_text_model(config: dict[str, Any]) -> TinyTextModel:
    """Loader entry point: the checkpoint's full `config` dict -> TinyTextModel (build it on the meta device)."""
    return TinyTextModel(TinyTextConfig.from_section(config.get("text_encoder")))
