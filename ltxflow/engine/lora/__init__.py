"""LoRA adapters: strict loading of LoRA safetensors files, fusing into the transformer, exact unfusing."""

from ltxflow.engine.lora.file import Lora, LoraError, LoraFile, LoraPair, WeightedLora
from ltxflow.engine.lora.fuse import LoraFuser, lora_delta

__all__ = ["Lora", "LoraError", "LoraFile", "LoraFuser", "LoraPair", "WeightedLora", "lora_delta"]
