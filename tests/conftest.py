"""Fixtures shared by every test folder: ltx_pipelines' utility modules (the reference for sampling, pipelines
and conditioning), imported behind a temporary torchaudio placeholder (see reference_stubs.py)."""

import importlib.util
import sys
import types
from pathlib import Path

import pytest

_STUBS = Path(__file__).resolve().with_name("reference_stubs.py")


def _load_stubs() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("ltxflow_tests_reference_stubs", _STUBS)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def ltx_pipelines() -> types.SimpleNamespace:
    """ltx_pipelines.utils.{helpers,samplers,constants,types,media_io}."""
    return _load_stubs().import_ltx_pipelines("helpers", "samplers", "constants", "types", "media_io")
