"""Fixtures for the conditioning tests: ltx_pipelines helpers (imported behind a torchaudio placeholder)."""

import importlib
import importlib.machinery
import importlib.util
import sys
import types

import pytest


@pytest.fixture(scope="session")
def ltx_pipelines() -> types.SimpleNamespace:
    """ltx_pipelines.utils.{helpers,samplers,media_io}; their package imports torchaudio (not installed), so a
    placeholder module is visible only while importing."""
    stubbed = importlib.util.find_spec("torchaudio") is None and "torchaudio" not in sys.modules
    if stubbed:
        stub = types.ModuleType("torchaudio")
        stub.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
        sys.modules["torchaudio"] = stub
    try:
        mods = {n: importlib.import_module(f"ltx_pipelines.utils.{n}") for n in ("helpers", "samplers", "media_io")}
    finally:
        if stubbed:
            del sys.modules["torchaudio"]
    return types.SimpleNamespace(**mods)
