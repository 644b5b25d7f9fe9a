"""Strict loading of official LTX-2 / LTX-2.3 single-file checkpoints (safetensors only)."""

from ltxflow.engine.checkpoint.components import (
    AUDIO_DECODER,
    AUDIO_ENCODER,
    COMPONENTS,
    TEXT_EMBEDDINGS,
    TINY_TEXT_ENCODER,
    TRANSFORMER,
    VIDEO_DECODER,
    VIDEO_ENCODER,
    VOCODER,
    Component,
)
from ltxflow.engine.checkpoint.errors import CheckpointError
from ltxflow.engine.checkpoint.info import CheckpointInfo, ComponentInfo, describe
from ltxflow.engine.checkpoint.keys import route
from ltxflow.engine.checkpoint.loader import Checkpoint, load_component

__all__ = [
    "AUDIO_DECODER",
    "AUDIO_ENCODER",
    "COMPONENTS",
    "TEXT_EMBEDDINGS",
    "TINY_TEXT_ENCODER",
    "TRANSFORMER",
    "VIDEO_DECODER",
    "VIDEO_ENCODER",
    "VOCODER",
    "Checkpoint",
    "CheckpointError",
    "CheckpointInfo",
    "Component",
    "ComponentInfo",
    "describe",
    "load_component",
    "route",
]
