"""The LTX-2 joint audio+video diffusion transformer (checkpoint-compatible with the reference LTXModel)."""

from ltxflow.engine.transformer.config import TransformerConfig, TransformerConfigError
from ltxflow.engine.transformer.modality import ModalityInput, Perturbation, TransformerInputError
from ltxflow.engine.transformer.model import LTXTransformer, init_random_, velocity_to_x0

__all__ = ["LTXTransformer", "ModalityInput", "Perturbation", "TransformerConfig", "TransformerConfigError",
           "TransformerInputError", "init_random_", "velocity_to_x0"]
