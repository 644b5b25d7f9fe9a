"""Importing ltx_pipelines for reference tests: its package imports torchaudio (no CPU wheel here), so a placeholder
module with a real __spec__ is visible only while importing, then removed so other probes see torchaudio as absent."""

import importlib
import importlib.machinery
import importlib.util
import sys
import types


def import_ltx_pipelines(*names: str) -> types.SimpleNamespace:
    """ltx_pipelines.utils.<name> for each name, imported behind a temporary torchaudio placeholder."""
    stubbed = importlib.util.find_spec("torchaudio") is None and "torchaudio" not in sys.modules
    if stubbed:
        stub = types.ModuleType("torchaudio")
        stub.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
        sys.modules["torchaudio"] = stub
    try:
        return types.SimpleNamespace(**{n: importlib.import_module(f"ltx_pipelines.utils.{n}") for n in names})
    finally:
        if stubbed:
            del sys.modules["torchaudio"]
