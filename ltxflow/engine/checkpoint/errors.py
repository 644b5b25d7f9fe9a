"""The one exception type raised for unusable checkpoint files."""

from __future__ import annotations

try:  # the project-wide base class, once the workflow side provides it
    from ltxflow.errors import LtxflowError as _Base
except ImportError:  # pragma: no cover - depends on what has landed
    _Base = ValueError  # type: ignore[misc,assignment]


class CheckpointError(_Base):  # type: ignore[valid-type,misc]
    """A checkpoint file that cannot be read, routed or loaded; the message names the file and the problem."""
