"""Text side of LTX-2: Gemma hidden states -> feature extractor -> 1-D connectors -> DiT contexts."""

from ltxflow.engine.text.config import RANGE_NORM, TOKEN_RMS, ConnectorConfig, TextConfig, TextConfigError
from ltxflow.engine.text.connector import Connector
from ltxflow.engine.text.embeddings import CHECKPOINT_PREFIXES, TextEmbeddings, build_text_embeddings
from ltxflow.engine.text.feature_extractor import (
    RangeNormFeatures,
    TokenRmsFeatures,
    range_norm_features,
    token_rms_features,
)

__all__ = [
    "CHECKPOINT_PREFIXES",
    "RANGE_NORM",
    "TOKEN_RMS",
    "Connector",
    "ConnectorConfig",
    "RangeNormFeatures",
    "TextConfig",
    "TextConfigError",
    "TextEmbeddings",
    "TokenRmsFeatures",
    "build_text_embeddings",
    "range_norm_features",
    "token_rms_features",
]
