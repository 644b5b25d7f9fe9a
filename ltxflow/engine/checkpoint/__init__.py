"""Strict loading of official LTX-2 / LTX-2.3 single-file checkpoints (safetensors only)."""

from ltxflow.engine.checkpoint.components import COMPONENTS, ComponentSpec
from ltxflow.engine.checkpoint.errors import CheckpointError
from ltxflow.engine.checkpoint.info import CheckpointInfo, ComponentInfo, describe
from ltxflow.engine.checkpoint.keys import route
from ltxflow.engine.checkpoint.loader import Checkpoint, load_component

__all__ = [
    "COMPONENTS",
    "Checkpoint",
    "CheckpointError",
    "CheckpointInfo",
    "ComponentInfo",
    "ComponentSpec",
    "describe",
    "load_component",
    "route",
]
