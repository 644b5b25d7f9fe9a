"""Fixtures for the pipeline tests: ltx_pipelines' helpers/samplers, and a private tiny-checkpoint cache."""

import importlib.util
import sys
import types
from pathlib import Path

import pytest

_STUBS = Path(__file__).resolve().parents[2] / "reference_stubs.py"


def _load_stubs() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("ltxflow_tests_reference_stubs", _STUBS)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def ltx_pipelines() -> types.SimpleNamespace:
    """ltx_pipelines.utils.{helpers,samplers,types}."""
    return _load_stubs().import_ltx_pipelines("helpers", "samplers", "types")


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory) -> Path:
    """A cache folder holding the tiny checkpoint, built once per session."""
    from ltxflow.engine.tiny import ensure_tiny_checkpoint

    folder = tmp_path_factory.mktemp("ltxflow-cache")
    ensure_tiny_checkpoint(folder)
    return folder
