"""Adapters from a checkpoint's full `config` dict to modules whose own entry points take something else."""

from __future__ import annotations

from typing import Any

from torch import nn

from ltxflow.engine.checkpoint.errors import CheckpointError


def _section(config: dict[str, Any], name: str) -> dict[str, Any]:
    """config[name], which must be a JSON object."""
    section = config.get(name)
    if not isinstance(section, dict):
        raise CheckpointError(f"checkpoint config has no {name!r} section")
    return section


def build_transformer(config: dict[str, Any]) -> nn.Module:
    """Our LTX-2 transformer for `config["transformer"]`."""
    from ltxflow.engine.transformer.config import TransformerConfig
    from ltxflow.engine.transformer.model import LTXTransformer

    return LTXTransformer(TransformerConfig.from_metadata(_section(config, "transformer")))

