"""The one exception type raised for unusable checkpoint files."""

from __future__ import annotations

from ltxflow.errors import LtxflowError


class CheckpointError(LtxflowError):
    """A checkpoint file that cannot be read, routed or loaded; the message names the file and the problem."""
