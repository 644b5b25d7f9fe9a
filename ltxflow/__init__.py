"""ltxflow: campaign workflows for AI video ads on an LTX-2 audio+video diffusion engine."""

__version__ = "0.1.0"
