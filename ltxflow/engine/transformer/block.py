"""One joint audio+video DiT block: self-attn, text cross-attn, audio<->video cross-attn, feed-forward."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ltxflow.engine.transformer.attention import Attention
from ltxflow.engine.transformer.config import TransformerConfig
from ltxflow.engine.transformer.ops import ada_row, gated_add, gelu_tanh, modulate
from ltxflow.engine.transformer.rope import Rope

# Rows of a block's main modulation table (K = 6, or 9 with cross-attention AdaLN).
SHIFT_MSA, SCALE_MSA, GATE_MSA, SHIFT_MLP, SCALE_MLP, GATE_MLP, SHIFT_Q, SCALE_Q, GATE_CA = range(9)
# Rows of a block's AV table (5, D): note scale before shift, unlike the main table.
AV_SCALE_A2V, AV_SHIFT_A2V, AV_SCALE_V2A, AV_SHIFT_V2A, AV_GATE = range(5)


@dataclass(frozen=True)
class Stream:
    """One modality's conditioning, prepared once per forward and read by every block."""

    context: Tensor  # (B, L, D) text tokens at the modality width
    context_bias: Tensor | None  # (B, 1, 1, L) additive text mask
    self_bias: Tensor | None  # (B, 1, T, T) additive self-attention mask
    ada: Tensor  # (B, T, K*D) per-token modulation from the token's own sigma, or (B, 1, K*D): one sigma per item
    prompt_ada: Tensor | None  # (B, 1, 2*D) text-context modulation from the step sigma (22B)
    rope: Rope  # own positions, own width and heads
    cross_rope: Rope | None  # temporal-only positions at the AV width (None without the other modality)
    cross_ada: Tensor | None  # (B, 1, 4*D) AV scale/shift from the other modality's sigma
    cross_gate: Tensor | None  # (B, 1, D) AV gate from the other modality's sigma


@dataclass(frozen=True)
class Skip:
    """How one attention treats the batch: run for all, bypass for all, or per item (keep (B, 1, 1), 0 = bypass)."""

    all: bool = False
    keep: Tensor | None = None


@dataclass(frozen=True)
class BlockSkips:
    """The four perturbable attentions of one block."""

    video_self: Skip = Skip()
    audio_self: Skip = Skip()
    a2v: Skip = Skip()
    v2a: Skip = Skip()


def rms(x: Tensor, eps: float) -> Tensor:
    """Weightless RMS normalisation over the last axis."""
    return nn.functional.rms_norm(x, (x.shape[-1],), eps=eps)


class _ProjIn(nn.Module):
    """Holds the expanding linear under the checkpoint's `net.0.proj` name."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, 4 * dim)


class FeedForward(nn.Module):
    """Linear(D, 4D) -> tanh-GELU -> Linear(4D, D); keys net.0.proj and net.2."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.net = nn.ModuleList([_ProjIn(dim), nn.Identity(), nn.Linear(4 * dim, dim)])

    def activation(self, h: Tensor) -> Tensor:
        """The hidden layer's nonlinearity, (B, T, 4D) -> (B, T, 4D)."""
        return gelu_tanh(h)

    def forward(self, x: Tensor) -> Tensor:
        """(B, T, D) -> (B, T, D)."""
        return self.net[2](self.activation(self.net[0].proj(x)))  # (B, T, 4D) hidden


class AVBlock(nn.Module):
    """A transformer block over both token streams (video width D_v, audio width D_a)."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        c = config
        dv, da, eps, gated = c.video_dim, c.audio_dim, c.norm_eps, c.apply_gated_attention
        self.eps, self.adaln_text = eps, c.cross_attention_adaln
        hv, dhv, ha, dha = c.num_attention_heads, c.attention_head_dim, c.audio_num_attention_heads, \
            c.audio_attention_head_dim
        self.attn1 = Attention(dv, dv, hv, dhv, gated=gated, eps=eps)
        self.attn2 = Attention(dv, c.cross_attention_dim, hv, dhv, gated=gated, eps=eps)
        self.ff = FeedForward(dv)
        self.scale_shift_table = nn.Parameter(torch.empty(c.adaln_rows, dv))
        self.audio_attn1 = Attention(da, da, ha, dha, gated=gated, eps=eps)
        self.audio_attn2 = Attention(da, c.audio_cross_attention_dim, ha, dha, gated=gated, eps=eps)
        self.audio_ff = FeedForward(da)
        self.audio_scale_shift_table = nn.Parameter(torch.empty(c.adaln_rows, da))
        # AV attentions both use the audio head layout: q from one stream, k/v from the other.
        self.audio_to_video_attn = Attention(dv, da, ha, dha, gated=gated, eps=eps)
        self.video_to_audio_attn = Attention(da, dv, ha, dha, gated=gated, eps=eps)
        self.scale_shift_table_a2v_ca_audio = nn.Parameter(torch.empty(5, da))
        self.scale_shift_table_a2v_ca_video = nn.Parameter(torch.empty(5, dv))
        if c.cross_attention_adaln:
            self.prompt_scale_shift_table = nn.Parameter(torch.empty(2, dv))
            self.audio_prompt_scale_shift_table = nn.Parameter(torch.empty(2, da))

    # ------------------------------------------------------------------------------------------- elementwise steps
    def modulate(self, x: Tensor, table: Tensor, ada: Tensor, shift_row: int, scale_row: int) -> Tensor:
        """AdaLN rms(x) * (1 + scale) + shift from two rows of the table; x (B, T, D) -> (B, T, D)."""
        return modulate(x, table, ada, shift_row, scale_row, self.eps)

    def gated_add(self, x: Tensor, y: Tensor, table: Tensor, ada: Tensor, gate_row: int) -> Tensor:
        """The residual x + y * gate; x, y (B, T, D) -> (B, T, D)."""
        return gated_add(x, y, table, ada, gate_row)

    # ------------------------------------------------------------------------------------------- per-modality parts
    def _attend_self_and_text(self, x: Tensor, s: Stream, attn1: Attention, attn2: Attention, table: Tensor,
                              prompt_table: Tensor | None, skip: Skip) -> Tensor:
        """Self-attention then text cross-attention with their residuals; x (B, T, D)."""
        h = self.modulate(x, table, s.ada, SHIFT_MSA, SCALE_MSA)  # (B, T, D)
        y = attn1(h, rope=s.rope, mask=s.self_bias, keep=skip.keep, skip_qk=skip.all)  # (B, T, D)
        x = self.gated_add(x, y, table, s.ada, GATE_MSA)  # (B, T, D)
        if not self.adaln_text:
            return x + attn2(rms(x, self.eps), s.context, mask=s.context_bias)  # (B, T, D)
        h = self.modulate(x, table, s.ada, SHIFT_Q, SCALE_Q)  # (B, T, D)
        shift_kv, scale_kv = (ada_row(prompt_table, s.prompt_ada, r) for r in (0, 1))  # (B, 1, D) each
        ctx = s.context * (1 + scale_kv) + shift_kv  # (B, L, D)
        return self.gated_add(x, attn2(h, ctx, mask=s.context_bias), table, s.ada, GATE_CA)  # (B, T, D)

    def _feed_forward(self, x: Tensor, s: Stream, ff: FeedForward, table: Tensor) -> Tensor:
        """Modulated feed-forward with its residual; x (B, T, D)."""
        h = self.modulate(x, table, s.ada, SHIFT_MLP, SCALE_MLP)  # (B, T, D)
        return self.gated_add(x, ff(h), table, s.ada, GATE_MLP)  # (B, T, D)

    def _av_modulation(self, table: Tensor, s: Stream, rows: slice) -> tuple[Tensor, Tensor, Tensor]:
        """(scale, shift) for one AV direction and this stream's gate, each (B, 1, D)."""
        scale, shift = (ada_row(table[:AV_GATE], s.cross_ada, r) for r in range(rows.start, rows.stop))
        gate = ada_row(table[AV_GATE:], s.cross_gate, 0)
        return scale, shift, gate

    # ------------------------------------------------------------------------------------------- forward
    def forward(self, v: Tensor | None, a: Tensor | None, video: Stream | None, audio: Stream | None,
                skips: BlockSkips) -> tuple[Tensor | None, Tensor | None]:
        """v (B, T_v, D_v) and a (B, T_a, D_a) -> updated streams (either may be None)."""
        has_v = v is not None and v.shape[1] > 0
        has_a = a is not None and a.shape[1] > 0
        if has_v:
            v = self._attend_self_and_text(v, video, self.attn1, self.attn2, self.scale_shift_table,
                                           getattr(self, "prompt_scale_shift_table", None), skips.video_self)
        if has_a:
            a = self._attend_self_and_text(a, audio, self.audio_attn1, self.audio_attn2, self.audio_scale_shift_table,
                                           getattr(self, "audio_prompt_scale_shift_table", None), skips.audio_self)
        if has_v and has_a:
            v_hat, a_hat = rms(v, self.eps), rms(a, self.eps)  # (B, T_v, D_v), (B, T_a, D_a): pre-AV, used twice
            tv, ta = self.scale_shift_table_a2v_ca_video, self.scale_shift_table_a2v_ca_audio
            v_new = v
            if not skips.a2v.all:  # audio -> video: q video, k/v audio
                scale_v, shift_v, gate_v = self._av_modulation(tv, video, slice(AV_SCALE_A2V, AV_SHIFT_A2V + 1))
                scale_a, shift_a, _ = self._av_modulation(ta, audio, slice(AV_SCALE_A2V, AV_SHIFT_A2V + 1))
                out = self.audio_to_video_attn(v_hat * (1 + scale_v) + shift_v, a_hat * (1 + scale_a) + shift_a,
                                               rope=video.cross_rope, k_rope=audio.cross_rope) * gate_v
                v_new = v + (out if skips.a2v.keep is None else out * skips.a2v.keep)  # (B, T_v, D_v)
            if not skips.v2a.all:  # video -> audio: q audio, k/v video
                scale_a, shift_a, gate_a = self._av_modulation(ta, audio, slice(AV_SCALE_V2A, AV_SHIFT_V2A + 1))
                scale_v, shift_v, _ = self._av_modulation(tv, video, slice(AV_SCALE_V2A, AV_SHIFT_V2A + 1))
                out = self.video_to_audio_attn(a_hat * (1 + scale_a) + shift_a, v_hat * (1 + scale_v) + shift_v,
                                               rope=audio.cross_rope, k_rope=video.cross_rope) * gate_a
                a = a + (out if skips.v2a.keep is None else out * skips.v2a.keep)  # (B, T_a, D_a)
            v = v_new
        if has_v:
            v = self._feed_forward(v, video, self.ff, self.scale_shift_table)
        if has_a:
            a = self._feed_forward(a, audio, self.audio_ff, self.audio_scale_shift_table)
        return v, a
