"""Adapters from a checkpoint's full `config` dict to our modules, imported lazily by the component registry."""

from __future__ import annotations

import importlib
from typing import Any

from torch import nn

from ltxflow.engine.checkpoint.errors import CheckpointError


def _section(config: dict[str, Any], name: str) -> dict[str, Any]:
    """config[name], which must be a JSON object."""
    section = config.get(name)
    if not isinstance(section, dict):
        raise CheckpointError(f"checkpoint config has no {name!r} section")
    return section


def _call(target: str, *args: Any) -> Any:
    """Call "module:function" with `args` (the module is imported on first use)."""
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)(*args)


def build_transformer(config: dict[str, Any]) -> nn.Module:
    """Our LTX-2 transformer for `config["transformer"]`."""
    from ltxflow.engine.transformer.config import TransformerConfig
    from ltxflow.engine.transformer.model import LTXTransformer

    return LTXTransformer(TransformerConfig.from_metadata(_section(config, "transformer")))


def build_text_embeddings(config: dict[str, Any]) -> nn.Module:
    """Feature extractor + video/audio connectors, configured by `config["transformer"]`."""
    return _call("ltxflow.engine.text.embeddings:build_embeddings_processor", config)


def build_audio_encoder(config: dict[str, Any]) -> nn.Module:
    """Audio VAE encoder for `config["audio_vae"]`."""
    return _call("ltxflow.engine.audio:build_audio_encoder", config)


def build_audio_decoder(config: dict[str, Any]) -> nn.Module:
    """Audio VAE decoder for `config["audio_vae"]`."""
    return _call("ltxflow.engine.audio:build_audio_decoder", config)


def build_vocoder(config: dict[str, Any]) -> nn.Module:
    """Vocoder (HiFi-GAN for 2.0, BigVGAN + bandwidth extension for 2.3) for `config["vocoder"]`."""
    return _call("ltxflow.engine.audio:build_vocoder", config)
