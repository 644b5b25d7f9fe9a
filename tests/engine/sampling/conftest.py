"""Fixtures for the sampling tests: access to ltx_pipelines' helpers, samplers and constants."""

import importlib
import importlib.machinery
import importlib.util
import sys
import types

import pytest


@pytest.fixture(scope="session")
def ltx_pipelines() -> types.SimpleNamespace:
    """ltx_pipelines.utils.{helpers,samplers,constants}; its package imports ltx_core's audio VAE, which imports
    torchaudio (not installed): a placeholder module is visible only while importing."""
    stubbed = importlib.util.find_spec("torchaudio") is None and "torchaudio" not in sys.modules
    if stubbed:
        stub = types.ModuleType("torchaudio")
        stub.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
        sys.modules["torchaudio"] = stub
    try:
        names = ("helpers", "samplers", "constants")
        mods = {n: importlib.import_module(f"ltx_pipelines.utils.{n}") for n in names}
    finally:
        if stubbed:
            del sys.modules["torchaudio"]
    return types.SimpleNamespace(**mods)
