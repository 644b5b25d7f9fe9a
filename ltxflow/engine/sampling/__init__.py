"""Sampling math of LTX-2: sigma schedules, multimodal guidance, Euler flow-matching steps, noise and the loop."""

from ltxflow.engine.sampling.euler import add_noise, blend_clean, euler_step, to_velocity
from ltxflow.engine.sampling.guidance import (
    LTX2_AUDIO_GUIDANCE,
    LTX2_VIDEO_GUIDANCE,
    LTX23_AUDIO_GUIDANCE,
    LTX23_VIDEO_GUIDANCE,
    NO_GUIDANCE,
    GuidanceParams,
    Pass,
    default_guidance,
    guide,
    passes_needed,
    stg_blocks,
)
from ltxflow.engine.sampling.loop import (
    Denoiser,
    Prediction,
    StepInfo,
    StepRequest,
    denoise,
    split_passes,
    split_predictions,
    stack_passes,
)
from ltxflow.engine.sampling.noise import draw_noise, make_generator, noise_states
from ltxflow.engine.sampling.schedules import (
    DISTILLED_STAGE1_SIGMAS,
    DISTILLED_STAGE2_SIGMAS,
    ScheduleError,
    distilled_sigmas,
    ltx2_sigmas,
)
from ltxflow.engine.sampling.state import LatentState

__all__ = [
    "DISTILLED_STAGE1_SIGMAS",
    "DISTILLED_STAGE2_SIGMAS",
    "LTX23_AUDIO_GUIDANCE",
    "LTX23_VIDEO_GUIDANCE",
    "LTX2_AUDIO_GUIDANCE",
    "LTX2_VIDEO_GUIDANCE",
    "NO_GUIDANCE",
    "Denoiser",
    "GuidanceParams",
    "LatentState",
    "Pass",
    "Prediction",
    "ScheduleError",
    "StepInfo",
    "StepRequest",
    "add_noise",
    "blend_clean",
    "default_guidance",
    "denoise",
    "distilled_sigmas",
    "draw_noise",
    "euler_step",
    "guide",
    "ltx2_sigmas",
    "make_generator",
    "noise_states",
    "passes_needed",
    "split_passes",
    "split_predictions",
    "stack_passes",
    "stg_blocks",
    "to_velocity",
]
