"""Pipelines: text -> audio+video in one stage, two stages (half size, x2 upsampling, refinement) or distilled."""

from ltxflow.engine.pipelines.denoiser import Contexts, TransformerDenoiser, pass_perturbation
from ltxflow.engine.pipelines.generate import encode_conditioning, encode_prompts, generate, generate_latents
from ltxflow.engine.pipelines.models import ModelSet, TextSource, free_memory, load_models
from ltxflow.engine.pipelines.request import PIPELINE_KINDS, Extension, GenerationRequest, PipelineError, Segment
from ltxflow.engine.pipelines.stages import Latents, StageItems, run_stage, sample

__all__ = [
    "PIPELINE_KINDS",
    "Contexts",
    "Extension",
    "GenerationRequest",
    "Latents",
    "ModelSet",
    "PipelineError",
    "Segment",
    "StageItems",
    "TextSource",
    "TransformerDenoiser",
    "encode_conditioning",
    "encode_prompts",
    "free_memory",
    "generate",
    "generate_latents",
    "load_models",
    "pass_perturbation",
    "run_stage",
    "sample",
]
