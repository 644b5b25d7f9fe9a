"""Fixtures for the pipeline tests: a private tiny-checkpoint cache (ltx_pipelines comes from tests/conftest.py)."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory) -> Path:
    """A cache folder holding the tiny checkpoint, built once per session."""
    from ltxflow.engine.tiny import ensure_tiny_checkpoint

    folder = tmp_path_factory.mktemp("ltxflow-cache")
    ensure_tiny_checkpoint(folder)
    return folder
