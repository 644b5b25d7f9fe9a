"""Conditioning items: edits of the initial latent state that pin tokens to encoded images, video or audio.

Each item maps (state, target) -> state in token layout. Items that replace tokens keep the sequence length;
items that add tokens append them after the generated ones, so `clear_appended` can drop them after sampling.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Protocol

import torch

from ltxflow.engine.latents import AudioLatentShape, VideoLatentShape, patchify_audio, patchify_video
from ltxflow.engine.latents.shapes import VIDEO_SPACE_STRIDE, VIDEO_TIME_STRIDE
from ltxflow.engine.sampling.state import LatentState
from ltxflow.errors import LtxflowError


class ConditioningError(LtxflowError):
    """A conditioning latent that does not fit the clip being generated."""


@dataclass(frozen=True)
class Target:
    """The grid being generated: its noisy tokens are the first `shape.token_count()` tokens of the state."""

    shape: VideoLatentShape | AudioLatentShape
    fps: Fraction  # video frames per second (time positions are in seconds)


class ConditioningItem(Protocol):
    """Something that edits the initial latent state of one modality before noising."""

    def apply(self, state: LatentState, target: Target) -> LatentState:
        """Return the conditioned state (never modifies `state` in place)."""
        ...


def apply_all(items: list[ConditioningItem] | tuple[ConditioningItem, ...], state: LatentState, target: Target) -> LatentState:
    """Apply items in order (replacements first is the caller's choice; appended tokens stay in item order)."""
    for item in items:
        state = item.apply(state, target)
    return state


def clear_appended(state: LatentState, target: Target) -> LatentState:
    """Drop tokens appended after the generated grid (keyframes) once sampling is done."""
    n = target.shape.token_count()
    return LatentState(
        latent=state.latent[:, :n],  # (B, N, C)
        clean=state.clean[:, :n],  # (B, N, C)
        denoise_mask=state.denoise_mask[:, :n],  # (B, N, 1)
        positions=state.positions[:, :, :n],  # (B, n_axes, N, 2)
    )


# ---------------------------------------------------------------------------------------------------------------------
# Video: replace the tokens of latent frames (image at frame 0, or a whole source video)
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LatentFrames:
    """Encoded frames written over the generated grid from latent frame `index` on; mask = 1 - strength there."""

    latent: torch.Tensor  # (B, C, F_c, H', W') normalised VAE latent, same B, C, H', W' as the target
    index: int = 0  # first latent frame it replaces
    strength: float = 1.0  # 1 = keep exactly (denoise mask 0), 0 = free to change (mask 1)

    def apply(self, state: LatentState, target: Target) -> LatentState:
        """Overwrite tokens [index*H'*W', (index+F_c)*H'*W') in latent and clean, and set their mask."""
        shape = target.shape
        if not isinstance(shape, VideoLatentShape):
            raise ConditioningError("latent-frame conditioning applies to the video state only")
        b, c, f, h, w = self.latent.shape
        if (b, c, h, w) != (shape.batch, shape.channels, shape.height, shape.width):
            raise ConditioningError(
                f"conditioning latent {tuple(self.latent.shape)} does not match the clip's latent grid "
                f"{tuple(shape)} (batch, channels, height, width must agree)"
            )
        if self.index < 0 or self.index + f > shape.frames:
            raise ConditioningError(
                f"conditioning covers latent frames {self.index}..{self.index + f - 1}, the clip has {shape.frames}"
            )
        _check_strength(self.strength)
        tokens = patchify_video(self.latent).to(state.latent.dtype)  # (B, F_c*H'*W', C)
        start = self.index * h * w
        stop = start + tokens.shape[1]
        latent, clean, mask = state.latent.clone(), state.clean.clone(), state.denoise_mask.clone()
        latent[:, start:stop] = tokens
        clean[:, start:stop] = tokens
        mask[:, start:stop] = 1.0 - self.strength
        return replace(state, latent=latent, clean=clean, denoise_mask=mask)


# ---------------------------------------------------------------------------------------------------------------------
# Video: keyframes at later pixel frames, as extra tokens with their own positions
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Keyframe:
    """An encoded still (or short clip) appended as extra tokens placed at pixel frame `frame` in time."""

    latent: torch.Tensor  # (B, C, F_k, H_k', W_k') normalised VAE latent
    frame: int  # pixel frame index it shows (0 = first frame)
    strength: float = 1.0  # 1 = clean (mask 0)

    def apply(self, state: LatentState, target: Target) -> LatentState:
        """Append the keyframe's tokens, positions (offset by `frame`, in seconds) and mask 1 - strength."""
        if not isinstance(target.shape, VideoLatentShape):
            raise ConditioningError("keyframe conditioning applies to the video state only")
        if self.frame < 0:
            raise ConditioningError(f"keyframe frame index must be >= 0, got {self.frame}")
        _check_strength(self.strength)
        b, c, f, h, w = self.latent.shape
        if (b, c) != (target.shape.batch, target.shape.channels):
            raise ConditioningError(f"keyframe latent {tuple(self.latent.shape)} does not match batch/channels of {tuple(target.shape)}")
        tokens = patchify_video(self.latent).to(state.latent.dtype)  # (B, K, C)
        positions = keyframe_positions(VideoLatentShape(b, c, f, h, w), self.frame, target.fps)  # (B, 3, K, 2) fp32
        positions = positions.to(state.positions.device)
        # the mask value is rounded through the latent's dtype (as the reference does), then kept in fp32 or wider
        mask = torch.full((b, tokens.shape[1], 1), 1.0 - self.strength, dtype=self.latent.dtype, device=tokens.device)
        mask = mask.to(torch.promote_types(mask.dtype, torch.float32))  # (B, K, 1)
        return LatentState(
            latent=torch.cat([state.latent, tokens], dim=1),  # (B, N+K, C)
            clean=torch.cat([state.clean, tokens], dim=1),  # (B, N+K, C)
            denoise_mask=torch.cat([state.denoise_mask, mask], dim=1),  # (B, N+K, 1)
            positions=torch.cat([state.positions, positions], dim=2),  # (B, 3, N+K, 2), promotes to fp32
        )


def keyframe_positions(shape: VideoLatentShape, frame: int, fps: Fraction | float) -> torch.Tensor:
    """RoPE bounds (B, 3, K, 2) fp32 of a keyframe grid shown from pixel frame `frame` on.

    Latent frame i spans pixel frames [8i, 8i+8) shifted by `frame`; only a keyframe at frame 0 gets the causal
    first-frame fix (its first latent frame covers pixel frame 0 alone), as for the generated grid.
    """
    f = torch.arange(shape.frames)  # (F,)
    start, end = f * VIDEO_TIME_STRIDE, (f + 1) * VIDEO_TIME_STRIDE  # (F,) pixel frames
    if frame == 0:
        start, end = (start + 1 - VIDEO_TIME_STRIDE).clamp(min=0), (end + 1 - VIDEO_TIME_STRIDE).clamp(min=0)
    t = (torch.stack([start, end], dim=-1) + frame).float() / float(fps)  # (F, 2) seconds
    hy, wx = torch.arange(shape.height), torch.arange(shape.width)
    y = torch.stack([hy, hy + 1], dim=-1).float() * VIDEO_SPACE_STRIDE  # (H, 2) pixels
    x = torch.stack([wx, wx + 1], dim=-1).float() * VIDEO_SPACE_STRIDE  # (W, 2) pixels
    grid = (shape.frames, shape.height, shape.width, 2)
    axes = torch.stack(
        [t[:, None, None].expand(grid), y[None, :, None].expand(grid), x[None, None, :].expand(grid)]
    )  # (3, F, H, W, 2)
    return axes.reshape(3, -1, 2).unsqueeze(0).expand(shape.batch, -1, -1, -1).contiguous()  # (B, 3, K, 2)


# ---------------------------------------------------------------------------------------------------------------------
# Audio: a reference track kept clean while the video is generated
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CleanAudio:
    """Encoded reference audio that replaces every audio token and stays clean (mask 0)."""

    latent: torch.Tensor  # (B, z, A', 16) normalised audio-VAE latent, A' >= the target's frames (cropped)

    def apply(self, state: LatentState, target: Target) -> LatentState:
        """Latent and clean := the reference tokens; denoise mask := 0 everywhere."""
        shape = target.shape
        if not isinstance(shape, AudioLatentShape):
            raise ConditioningError("reference-audio conditioning applies to the audio state only")
        b, z, a, m = self.latent.shape
        if (b, z, m) != (shape.batch, shape.channels, shape.mel_bins):
            raise ConditioningError(f"audio latent {tuple(self.latent.shape)} does not match the clip's {tuple(shape)}")
        if a < shape.frames:
            raise ConditioningError(f"reference audio has {a} latent frames, the clip needs {shape.frames}")
        tokens = patchify_audio(self.latent[:, :, : shape.frames]).to(state.latent.dtype)  # (B, A, z*16)
        if tokens.shape != state.latent.shape:
            raise ConditioningError(f"audio tokens {tuple(tokens.shape)} do not match the state {tuple(state.latent.shape)}")
        return replace(state, latent=tokens, clean=tokens.clone(), denoise_mask=torch.zeros_like(state.denoise_mask))


@dataclass(frozen=True)
class LeadingAudio:
    """Audio tokens that replace the first tokens of the audio state and stay clean (the end of the audio before an
    extension segment)."""

    tokens: torch.Tensor  # (B, A_lead, z*16) patchified audio latents, A_lead <= the target's frames

    def apply(self, state: LatentState, target: Target) -> LatentState:
        """Latent and clean := the tokens over [0, A_lead); denoise mask := 0 there."""
        if not isinstance(target.shape, AudioLatentShape):
            raise ConditioningError("leading-audio conditioning applies to the audio state only")
        b, a, c = self.tokens.shape
        if b != state.latent.shape[0] or c != state.latent.shape[2] or a > state.latent.shape[1]:
            raise ConditioningError(f"leading audio tokens {tuple(self.tokens.shape)} do not fit the state "
                                    f"{tuple(state.latent.shape)}")  # fmt: skip
        tokens = self.tokens.to(state.latent.dtype)
        latent, clean, mask = state.latent.clone(), state.clean.clone(), state.denoise_mask.clone()
        latent[:, :a], clean[:, :a], mask[:, :a] = tokens, tokens, 0.0
        return replace(state, latent=latent, clean=clean, denoise_mask=mask)


def _check_strength(strength: float) -> None:
    """Strength must lie in [0, 1]."""
    if not 0.0 <= strength <= 1.0:
        raise ConditioningError(f"conditioning strength must be in [0, 1], got {strength}")
