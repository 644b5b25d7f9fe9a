"""What the transformer is called with: per-modality inputs and per-batch-item guidance perturbations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from torch import Tensor

from ltxflow.errors import LtxflowError


class TransformerInputError(LtxflowError, ValueError):
    """Tensors handed to the transformer with the wrong shapes, or a mismatched call."""


@dataclass(frozen=True)
class ModalityInput:
    """One modality's tokens and conditioning for one forward pass."""

    latent: Tensor  # (B, T, C_in) patchified noisy tokens; its dtype is the compute dtype
    sigma: Tensor  # (B,) step noise level; also drives the *other* modality's AV-attention modulation
    # (B, T) per-token sigma = denoise_mask * sigma (0 on clean conditioning tokens), or (B, 1) when every token is
    # at one sigma: the AdaLN then runs once per item instead of once per token (same function, less work)
    timesteps: Tensor
    positions: Tensor  # (B, n, T, 2) [start, end) bounds: video n=3 (seconds, px, px), audio n=1 (seconds)
    context: Tensor  # (B, L, C_ctx) text embeddings: caption_channels wide (19B) or the modality width (22B)
    context_mask: Tensor | None = None  # (B, L) bool/int, 1 = attend; None = all text tokens valid
    attention_mask: Tensor | None = None  # (B, T, T) in [0, 1]: self-attention strength between tokens

    def __post_init__(self) -> None:
        if self.latent.ndim != 3:
            raise TransformerInputError(f"ModalityInput.latent: expected (B, T, C), got {tuple(self.latent.shape)}")
        b, t = self.latent.shape[:2]
        if tuple(self.sigma.shape) != (b,):
            raise TransformerInputError(f"ModalityInput.sigma: expected ({b},), got {tuple(self.sigma.shape)}")
        if tuple(self.timesteps.shape) not in ((b, t), (b, 1)):
            raise TransformerInputError(f"ModalityInput.timesteps: expected ({b}, {t}) or ({b}, 1), "
                                        f"got {tuple(self.timesteps.shape)}")
        if self.positions.ndim != 4 or self.positions.shape[0] != b or self.positions.shape[2:] != (t, 2):
            raise TransformerInputError(f"ModalityInput.positions: expected ({b}, n, {t}, 2), got {tuple(self.positions.shape)}")
        if self.context.ndim != 3 or self.context.shape[0] != b:
            raise TransformerInputError(f"ModalityInput.context: expected ({b}, L, C), got {tuple(self.context.shape)}")
        if self.context_mask is not None and (self.context_mask.is_floating_point()
                                              or tuple(self.context_mask.shape) != tuple(self.context.shape[:2])):
            raise TransformerInputError("ModalityInput.context_mask: expected a bool/int (B, L) mask")
        if self.attention_mask is not None and tuple(self.attention_mask.shape) != (b, t, t):
            raise TransformerInputError(f"ModalityInput.attention_mask: expected ({b}, {t}, {t}), "
                             f"got {tuple(self.attention_mask.shape)}")


@dataclass(frozen=True)
class Perturbation:
    """What one batch item skips, so guidance passes (plain, STG, isolated) can share one batched forward."""

    skip_video_self_attn: frozenset[int] = frozenset()  # blocks whose video self-attention outputs its values (STG)
    skip_audio_self_attn: frozenset[int] = frozenset()  # same for audio
    skip_a2v: bool = False  # drop audio->video cross-attention in every block (modality isolation)
    skip_v2a: bool = False  # drop video->audio cross-attention in every block

    @classmethod
    def stg(cls, video_blocks: Iterable[int], audio_blocks: Iterable[int]) -> Perturbation:
        """Spatio-temporal guidance: skip self-attention q/k in the given blocks."""
        return cls(frozenset(video_blocks), frozenset(audio_blocks))

    @classmethod
    def isolated(cls) -> Perturbation:
        """Modality isolation: no audio<->video cross-attention anywhere."""
        return cls(skip_a2v=True, skip_v2a=True)
