"""Our LTX-2 audio+video Diffusion Transformer as a library: load a checkpoint, ask for a clip, get a `Clip`.

    import torch
    from fractions import Fraction
    from ltxflow.engine import GenerationRequest, generate, load_models

    models = load_models("ltx-2-19b-dev.safetensors", torch.device("cuda"), torch.bfloat16, ...)
    clip = generate(models, GenerationRequest("a red bicycle in the rain", 768, 512, 121, Fraction(24)))

This module lists the whole public surface (docs/engine.md walks through it). The engine reads no task, campaign,
ledger or media file: requests carry text (or precomputed contexts) and already decoded pixels and samples.
"""

from ltxflow.clip import Clip
from ltxflow.engine.accel import PLAIN, Acceleration, SpeedOptions, accelerate
from ltxflow.engine.checkpoint import Checkpoint, CheckpointError, describe
from ltxflow.engine.conditioning import AudioCondition, ConditioningError, ImageCondition, VideoCondition
from ltxflow.engine.pipelines import (
    PIPELINE_KINDS,
    Contexts,
    Extension,
    GenerationRequest,
    Latents,
    ModelSet,
    PipelineError,
    TextSource,
    encode_prompts,
    generate,
    generate_latents,
    load_models,
)
from ltxflow.engine.pipelines.generate import Progress
from ltxflow.engine.pipelines.request import PipelineKind
from ltxflow.engine.sampling import (
    LTX2_AUDIO_GUIDANCE,
    LTX2_VIDEO_GUIDANCE,
    LTX23_AUDIO_GUIDANCE,
    LTX23_VIDEO_GUIDANCE,
    NO_GUIDANCE,
    GuidanceParams,
    default_guidance,
)
from ltxflow.engine.tiny import TINY_NAME, ensure_tiny_checkpoint
from ltxflow.engine.transformer import LTXTransformer, ModalityInput, Perturbation, TransformerConfig
from ltxflow.engine.video_vae import TilingConfig

__all__ = [
    # loading
    "Checkpoint",
    "ModelSet",
    "TextSource",
    "TINY_NAME",
    "describe",
    "ensure_tiny_checkpoint",
    "load_models",
    # asking
    "AudioCondition",
    "Contexts",
    "Extension",
    "GenerationRequest",
    "GuidanceParams",
    "ImageCondition",
    "PIPELINE_KINDS",
    "PipelineKind",
    "TilingConfig",
    "VideoCondition",
    "LTX2_AUDIO_GUIDANCE",
    "LTX2_VIDEO_GUIDANCE",
    "LTX23_AUDIO_GUIDANCE",
    "LTX23_VIDEO_GUIDANCE",
    "NO_GUIDANCE",
    "default_guidance",
    # generating
    "Clip",
    "Latents",
    "Progress",
    "encode_prompts",
    "generate",
    "generate_latents",
    # acceleration
    "PLAIN",
    "Acceleration",
    "SpeedOptions",
    "accelerate",
    # the model itself
    "LTXTransformer",
    "ModalityInput",
    "Perturbation",
    "TransformerConfig",
    # errors
    "CheckpointError",
    "ConditioningError",
    "PipelineError",
]
