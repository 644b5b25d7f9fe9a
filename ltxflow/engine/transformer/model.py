"""LTXTransformer: the LTX-2 / LTX-2.3 joint audio+video diffusion transformer (velocity prediction).

Checkpoint-compatible with the reference `LTXModel`: the state-dict keys are the reference's, so a loader builds
`LTXTransformer(TransformerConfig.from_metadata(meta["transformer"]))` on the meta device and calls
`load_state_dict(sd, strict=True, assign=True)`.

Compute (FLOPs = 2 x multiply-adds, batch 1, dense attention; `flops.forward_flops` implements it). With video
width D_v, audio width D_a, AV attention width D_x (= D_a), text widths C_v = D_v and C_a = D_a after projection,
N_v / N_a / L video / audio / text tokens and K modulation rows (6; 9 for 22B), per block:

    linear    = N_v (28 D_v^2 + 8 D_v D_x) + N_a (28 D_a^2 + 8 D_a D_x) + L (4 D_v C_v + 4 D_a C_a)
    attention = 4 N_v^2 D_v + 4 N_v L D_v + 4 N_a^2 D_a + 4 N_a L D_a + 8 N_v N_a D_x

(28 D^2 = self-attention q/k/v/o 8 D^2 + text-attention q/o 4 D^2 + feed-forward 16 D^2; 8 D D_x = the AV q/o on
the own side plus the AV k/v this stream feeds to the other side.) A forward is num_layers x (linear + attention)
plus the per-token AdaLN MLPs N (2*256 D + 2 D^2 + 2 K D^2) per modality, plus (gated models) 2 D H per query
token for each of its 3 attentions. For the 19B config that is 25.77 GFLOP per video token, 7.25 GFLOP per audio
token and 4.03 GFLOP per text token before attention; patchify, caption projection and output heads (<0.1%) are
left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ltxflow.engine.transformer.block import AVBlock, Stream
from ltxflow.engine.transformer.config import TransformerConfig
from ltxflow.engine.transformer.modality import ModalityInput, Perturbation, TransformerInputError
from ltxflow.engine.transformer.rope import LadderCache, rope_tables
from ltxflow.engine.transformer.timestep import AdaLNSingle
from ltxflow.engine.transformer.twins import BlockSchedule


class CaptionProjection(nn.Module):
    """Text-encoder features -> model width: Linear -> tanh-GELU -> Linear (19B only)."""

    def __init__(self, in_channels: int, width: int) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(in_channels, width)
        self.linear_2 = nn.Linear(width, width)

    def forward(self, context: Tensor) -> Tensor:
        """(B, L, C) -> (B, L, D)."""
        return self.linear_2(nn.functional.gelu(self.linear_1(context), approximate="tanh"))


def velocity_to_x0(latent: Tensor, velocity: Tensor, timesteps: Tensor) -> Tensor:
    """x0 = x - sigma_token * velocity, in float32, returned in the latent dtype; timesteps (B, T) or (B, 1)."""
    return (latent.float() - velocity.float() * timesteps.float().unsqueeze(-1)).to(latent.dtype)


class LTXTransformer(nn.Module):
    """The AV DiT: patchify -> AdaLN-conditioned blocks over video and audio tokens -> per-token velocity."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        c = self.config = config
        dv, da = c.video_dim, c.audio_dim
        self.patchify_proj = nn.Linear(c.in_channels, dv)
        self.audio_patchify_proj = nn.Linear(c.audio_in_channels, da)
        if not c.caption_proj_before_connector:
            self.caption_projection = CaptionProjection(c.caption_channels, dv)
            self.audio_caption_projection = CaptionProjection(c.caption_channels, da)
        self.adaln_single = AdaLNSingle(dv, c.adaln_rows)
        self.audio_adaln_single = AdaLNSingle(da, c.adaln_rows)
        if c.cross_attention_adaln:
            self.prompt_adaln_single = AdaLNSingle(dv, 2)
            self.audio_prompt_adaln_single = AdaLNSingle(da, 2)
        self.av_ca_video_scale_shift_adaln_single = AdaLNSingle(dv, 4)
        self.av_ca_audio_scale_shift_adaln_single = AdaLNSingle(da, 4)
        self.av_ca_a2v_gate_adaln_single = AdaLNSingle(dv, 1)
        self.av_ca_v2a_gate_adaln_single = AdaLNSingle(da, 1)
        self.transformer_blocks = nn.ModuleList([AVBlock(c) for _ in range(c.num_layers)])
        self.scale_shift_table = nn.Parameter(torch.empty(2, dv))  # output head rows: shift, scale
        self.audio_scale_shift_table = nn.Parameter(torch.empty(2, da))
        self.norm_out = nn.LayerNorm(dv, elementwise_affine=False, eps=c.norm_eps)
        self.audio_norm_out = nn.LayerNorm(da, elementwise_affine=False, eps=c.norm_eps)
        self.proj_out = nn.Linear(dv, c.out_channels)
        self.audio_proj_out = nn.Linear(da, c.audio_out_channels)
        self.rope_ladders: LadderCache = {}  # RoPE frequency ladders per device, built on first use (no state)

    # ------------------------------------------------------------------------------------------- preprocessing
    def _stream(self, m: ModalityInput, other: ModalityInput | None, audio: bool) -> tuple[Tensor, Tensor, Stream]:
        """Tokens (B, T, D), embedded sigma (B, T', D) and block conditioning for one modality (T' = T, or 1 when
        the timesteps give one sigma per item)."""
        c, p = self.config, ("audio_" if audio else "")
        width, heads = (c.audio_dim, c.audio_num_attention_heads) if audio else (c.video_dim, c.num_attention_heads)
        max_pos = c.audio_positional_embedding_max_pos if audio else c.positional_embedding_max_pos
        dtype, tsm = m.latent.dtype, c.timestep_scale_multiplier
        b = m.latent.shape[0]
        x = getattr(self, p + "patchify_proj")(m.latent)  # (B, T, D)
        t_ada = m.timesteps.shape[1]  # T, or 1 when every token has the same sigma
        adaln = getattr(self, p + "adaln_single")
        ada, embedded = adaln((m.timesteps * tsm).flatten(), dtype)  # (B*T', K*D), (B*T', D)
        ada, embedded = ada.view(b, t_ada, -1), embedded.view(b, t_ada, -1)  # (B, T', K*D), (B, T', D)
        prompt_ada = None
        if c.cross_attention_adaln:
            prompt_ada = getattr(self, p + "prompt_adaln_single")(m.sigma * tsm, dtype)[0].view(b, 1, -1)  # (B,1,2D)
        context = m.context
        if not c.caption_proj_before_connector:
            context = getattr(self, p + "caption_projection")(context)  # (B, L, D)
        if context.shape[-1] != width:
            raise TransformerInputError(f"{p or 'video_'}context: width {context.shape[-1]} does not match the model's {width}")
        context_bias = None
        if m.context_mask is not None:
            context_bias = (m.context_mask - 1).to(dtype).view(b, 1, 1, -1) * torch.finfo(dtype).max  # (B,1,1,L)
        self_bias = None
        if m.attention_mask is not None:
            finfo = torch.finfo(dtype)
            log_strength = torch.log(m.attention_mask.clamp(min=finfo.tiny)).to(dtype)
            self_bias = torch.where(m.attention_mask > 0, log_strength, finfo.min).unsqueeze(1)  # (B, 1, T, T)
        rope_args = dict(theta=c.positional_embedding_theta, layout=c.rope_type,
                         float64_ladder=c.double_precision_rope, dtype=dtype, ladders=self.rope_ladders)
        rope = rope_tables(m.positions, width=width, heads=heads, max_pos=max_pos, **rope_args)
        cross_rope = cross_ada = cross_gate = None
        if other is not None:
            cross_rope = rope_tables(m.positions[:, 0:1], width=c.audio_cross_attention_dim, heads=heads,
                                     max_pos=(c.cross_max_pos,), **rope_args)  # temporal axis only
            t_other = other.sigma * tsm  # (B,) the other modality's step sigma drives this side's AV modulation
            own = "audio" if audio else "video"
            gate_name = "av_ca_v2a_gate_adaln_single" if audio else "av_ca_a2v_gate_adaln_single"
            cross_ada = getattr(self, f"av_ca_{own}_scale_shift_adaln_single")(t_other, dtype)[0].view(b, 1, -1)
            gate_t = t_other * (c.av_ca_timestep_scale_multiplier / tsm)  # (B,)
            cross_gate = getattr(self, gate_name)(gate_t, dtype)[0].view(b, 1, -1)  # (B, 1, D)
        stream = Stream(context, context_bias, self_bias, ada, prompt_ada, rope, cross_rope, cross_ada, cross_gate)
        return x, embedded, stream

    def _head(self, x: Tensor, embedded: Tensor, audio: bool) -> Tensor:
        """LayerNorm + per-token shift/scale + projection to latent channels: (B, T, D) -> (B, T, C_out)."""
        p = "audio_" if audio else ""
        table = getattr(self, p + "scale_shift_table")
        shift, scale = (table[None, None].to(x.dtype) + embedded[:, :, None]).unbind(2)  # (B, T', D) each
        return getattr(self, p + "proj_out")(getattr(self, p + "norm_out")(x) * (1 + scale) + shift)

    # ------------------------------------------------------------------------------------------- forward
    def forward(self, video: ModalityInput | None, audio: ModalityInput | None,
                perturbations: Sequence[Perturbation] | None = None,
                twins: Sequence[int | None] | None = None) -> tuple[Tensor | None, Tensor | None]:
        """Velocity for each given modality: (B, T_v, C_out) and (B, T_a, C_audio_out); batch item i uses
        perturbations[i] (None = no perturbation anywhere).

        twins[i] = j (j < i, itself without a twin) is the caller's statement that item i has exactly item j's
        inputs. Item i then joins the computation only at the first block where its perturbation differs from
        j's, starting from a copy of j's hidden states: an STG pass shares every block before its skipped one with
        the conditional pass (the same function, fewer FLOPs)."""
        if video is None and audio is None:
            raise TransformerInputError("LTXTransformer: give video, audio or both")
        b = (video or audio).latent.shape[0]
        if video is not None and audio is not None and audio.latent.shape[0] != b:
            raise TransformerInputError(f"LTXTransformer: video batch {b} != audio batch {audio.latent.shape[0]}")
        perts = list(perturbations) if perturbations is not None else [Perturbation()] * b
        if len(perts) != b:
            raise TransformerInputError(f"LTXTransformer: {len(perts)} perturbations for a batch of {b}")
        v = a = v_emb = a_emb = vs = as_ = None
        if video is not None:
            v, v_emb, vs = self._stream(video, audio, audio=False)  # (B, T_v, D_v), (B, T_v', D_v), conditioning
        if audio is not None:
            a, a_emb, as_ = self._stream(audio, video, audio=True)  # (B, T_a, D_a), (B, T_a', D_a), conditioning
        schedule = BlockSchedule(perts, twins, len(self.transformer_blocks), vs, as_)
        v, a = schedule.start(v, a)  # (B', T, D): the items that run from block 0 (all of them without twins)
        for idx, block in enumerate(self.transformer_blocks):
            v, a = schedule.enter(idx, v, a)  # twins whose perturbation starts here join as copies of their twin
            vs, as_ = schedule.streams
            v, a = block(v, a, vs, as_, schedule.skips(idx, v, a))  # (B', T_v, D_v), (B', T_a, D_a)
        v, a = schedule.finish(v, a)  # (B, T, D) in batch order
        v_out = self._head(v, v_emb, audio=False) if v is not None else None  # (B, T_v, C_out)
        a_out = self._head(a, a_emb, audio=True) if a is not None else None  # (B, T_a, C_audio_out)
        return v_out, a_out

    def predict_x0(self, video: ModalityInput | None, audio: ModalityInput | None,
                   perturbations: Sequence[Perturbation] | None = None,
                   twins: Sequence[int | None] | None = None) -> tuple[Tensor | None, Tensor | None]:
        """Denoised latents x0 = latent - per-token sigma * velocity for each given modality (twins: see forward)."""
        v_vel, a_vel = self(video, audio, perturbations, twins)
        v_x0 = velocity_to_x0(video.latent, v_vel, video.timesteps) if v_vel is not None else None
        a_x0 = velocity_to_x0(audio.latent, a_vel, audio.timesteps) if a_vel is not None else None
        return v_x0, a_x0


@torch.no_grad()
def init_random_(model: nn.Module, seed: int, std: float = 0.02) -> nn.Module:
    """Fill every state-dict tensor with seeded N(0, std^2) values (tests and benchmarks; not a training init)."""
    for name, tensor in sorted(model.state_dict().items()):
        if tensor.is_meta:
            raise ValueError(f"init_random_: {name} is on the meta device; call model.to_empty(device=...) first")
        gen = torch.Generator(device=tensor.device).manual_seed(seed)
        seed += 1
        tensor.copy_(torch.randn(tensor.shape, generator=gen, device=tensor.device, dtype=torch.float32) * std)
    return model
