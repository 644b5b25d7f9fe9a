"""Multimodal guidance of LTX-2: CFG, STG and modality isolation with variance rescale, per modality."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import torch


class Pass(Enum):
    """One model evaluation a guided step may need; all passes share the step's latents and sigma."""

    COND = "cond"  # positive prompt, unperturbed
    UNCOND = "uncond"  # negative prompt (CFG)
    PERTURBED = "perturbed"  # positive prompt, self-attention skipped in the STG blocks (video and audio)
    ISOLATED = "isolated"  # positive prompt, audio<->video cross-attention skipped in all blocks


@dataclass(frozen=True)
class GuidanceParams:
    """Guidance scales for one modality; neutral values (1, 0, 0, 1) mean plain conditional prediction."""

    cfg: float = 1.0  # classifier-free guidance scale (1 = off)
    stg: float = 0.0  # spatio-temporal guidance scale (0 = off)
    rescale: float = 0.0  # blend towards the cond prediction's std (0 = off, 1 = full)
    modality: float = 1.0  # audio<->video cross-modal guidance scale (1 = off)
    stg_blocks: tuple[int, ...] = ()  # transformer blocks whose self-attention the PERTURBED pass skips

    def needs(self, p: Pass) -> bool:
        """Whether this modality's guidance uses pass `p`."""
        if p is Pass.UNCOND:
            return not math.isclose(self.cfg, 1.0)
        if p is Pass.PERTURBED:
            return not math.isclose(self.stg, 0.0)
        if p is Pass.ISOLATED:
            return not math.isclose(self.modality, 1.0)
        return True


NO_GUIDANCE = GuidanceParams()  # distilled models / A2V audio side
LTX2_VIDEO_GUIDANCE = GuidanceParams(cfg=3.0, stg=1.0, rescale=0.7, modality=3.0, stg_blocks=(29,))
LTX2_AUDIO_GUIDANCE = GuidanceParams(cfg=7.0, stg=1.0, rescale=0.7, modality=3.0, stg_blocks=(29,))
LTX23_VIDEO_GUIDANCE = GuidanceParams(cfg=3.0, stg=1.0, rescale=0.7, modality=3.0, stg_blocks=(28,))
LTX23_AUDIO_GUIDANCE = GuidanceParams(cfg=7.0, stg=1.0, rescale=0.7, modality=3.0, stg_blocks=(28,))


def default_guidance(model_version: str) -> tuple[GuidanceParams, GuidanceParams]:
    """(video, audio) defaults of the reference pipelines for a checkpoint's `model_version` ("2.0.x" / "2.3.x")."""
    if model_version.startswith("2.3"):
        return LTX23_VIDEO_GUIDANCE, LTX23_AUDIO_GUIDANCE
    return LTX2_VIDEO_GUIDANCE, LTX2_AUDIO_GUIDANCE


def passes_needed(video: GuidanceParams, audio: GuidanceParams | None = None) -> tuple[Pass, ...]:
    """Passes one step must evaluate (COND first); a pass either modality needs is run for both."""
    modalities = [video] if audio is None else [video, audio]
    return tuple(p for p in Pass if any(m.needs(p) for m in modalities))


def stg_blocks(video: GuidanceParams, audio: GuidanceParams | None = None) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(video, audio) blocks whose self-attention the PERTURBED pass skips; empty where that STG is off."""
    v = video.stg_blocks if video.needs(Pass.PERTURBED) else ()
    a = audio.stg_blocks if audio is not None and audio.needs(Pass.PERTURBED) else ()
    return v, a


@torch.no_grad()
def guide(x0: dict[Pass, torch.Tensor], params: GuidanceParams) -> torch.Tensor:
    """Combine per-pass x0 predictions (B, T, C): c + (cfg-1)(c-u) + stg(c-p) + (mod-1)(c-iso), then rescale.

    STG: Hyung et al. 2024 (arXiv:2411.18664); rescale: Lin et al. 2023 (arXiv:2305.08891) sec. 3.4.
    Math runs in the predictions' dtype, as in the reference. The rescale std is taken per batch item (over T and C),
    which equals the reference's whole-tensor std for its batch of one and keeps batch items independent.
    """
    c = x0[Pass.COND]
    pred = c
    terms = ((Pass.UNCOND, params.cfg - 1), (Pass.PERTURBED, params.stg), (Pass.ISOLATED, params.modality - 1))
    for p, weight in terms:
        if params.needs(p):
            if p not in x0:
                raise ValueError(f"guidance {params} needs the {p.value} pass, which the denoiser did not return")
            pred = pred + weight * (c - x0[p])
    if params.rescale != 0:
        shape = (-1,) + (1,) * (c.ndim - 1)
        ratio = torch.stack([ci.std() / pi.std() for ci, pi in zip(c, pred, strict=True)]).view(shape)  # (B, 1, 1)
        pred = pred * (params.rescale * ratio + (1 - params.rescale))
    return pred
