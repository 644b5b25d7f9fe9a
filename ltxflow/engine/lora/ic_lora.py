"""IC-LoRA control: a reference (control) video appended as extra tokens the IC-LoRA learned to follow.

IC-LoRAs (depth, canny/edges, pose, camera) are trained on [target | reference] token sequences. At inference the
encoded control video is appended after the generated tokens, clean (denoise mask 1 - strength), over the same time
span as the clip. A LoRA trained with references at 1/f of the target size says so in its metadata
(`reference_downscale_factor`); the reference is then encoded at (H/f, W/f) and its spatial positions are scaled by
f, so each reference token sits where the pixels it shows sit in the generated frame (as the reference's
`VideoConditionByReferenceLatent`). Full conditioning attention only: the reference's optional attention-strength
mask between generated and reference tokens is not offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ltxflow.engine.conditioning.items import ConditioningError, Target, keyframe_positions
from ltxflow.engine.latents import VideoLatentShape, patchify_video
from ltxflow.engine.lora.file import LoraError, LoraFile
from ltxflow.engine.sampling.state import LatentState


@dataclass(frozen=True)
class ReferenceVideo:
    """An encoded control video appended as tokens over the clip's time span, positions scaled by the factor."""

    latent: Tensor  # (B, C, F, H_r', W_r') normalised VAE latent of the control video at 1/factor size
    downscale_factor: int = 1  # target size / reference size, from the IC-LoRA's metadata
    strength: float = 1.0  # 1 = the reference tokens stay clean (denoise mask 0)

    def apply(self, state: LatentState, target: Target) -> LatentState:
        """Append the reference tokens (B, K, C), their positions (B, 3, K, 2) fp32 and mask 1 - strength."""
        if not isinstance(target.shape, VideoLatentShape):
            raise ConditioningError("reference-video conditioning applies to the video state only")
        if not 0.0 <= self.strength <= 1.0:
            raise ConditioningError(f"reference video strength must be in [0, 1], got {self.strength}")
        if self.downscale_factor < 1:
            raise ConditioningError(f"reference downscale factor must be >= 1, got {self.downscale_factor}")
        b, c, f, h, w = self.latent.shape
        if (b, c) != (target.shape.batch, target.shape.channels):
            raise ConditioningError(f"reference video latent {tuple(self.latent.shape)} does not match batch/channels "
                                    f"of {tuple(target.shape)}")  # fmt: skip
        tokens = patchify_video(self.latent).to(state.latent.dtype)  # (B, K, C)
        positions = keyframe_positions(VideoLatentShape(b, c, f, h, w), 0, target.fps)  # (B, 3, K, 2), from frame 0
        positions[:, 1:] *= self.downscale_factor  # (y, x) in the generated frame's pixels
        # the mask value is rounded through the latent's dtype (as the reference), then kept in fp32
        mask = torch.full((b, tokens.shape[1], 1), 1.0 - self.strength, dtype=self.latent.dtype).float()  # (B, K, 1)
        return LatentState(
            latent=torch.cat([state.latent, tokens], dim=1),  # (B, N+K, C)
            clean=torch.cat([state.clean, tokens], dim=1),  # (B, N+K, C)
            denoise_mask=torch.cat([state.denoise_mask, mask.to(state.denoise_mask.device)], dim=1),  # (B, N+K, 1)
            positions=torch.cat([state.positions, positions.to(state.positions.device)], dim=2),  # (B, 3, N+K, 2)
        )


def reference_downscale_factor(files: Sequence[LoraFile]) -> int:
    """The one downscale factor the LoRAs of a set agree on (1 if none says); a conflict is an error."""
    factor, source = 1, None
    for file in files:
        own = file.reference_downscale_factor
        if own == 1:
            continue
        if source is not None and own != factor:
            raise LoraError(f"{file.path}: reference_downscale_factor {own} conflicts with {factor} of {source}; "
                            "IC-LoRAs with different reference scales cannot be combined")  # fmt: skip
        factor, source = own, file.path
    return factor


def reference_size(height: int, width: int, factor: int) -> tuple[int, int]:
    """(height, width) in pixels the control video is encoded at for a clip of height x width."""
    if height % factor or width % factor:
        raise ConditioningError(f"the clip size {width}x{height} is not divisible by the IC-LoRA's reference "
                                f"downscale factor {factor}")  # fmt: skip
    return height // factor, width // factor
