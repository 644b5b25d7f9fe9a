"""Fixtures shared by every test folder: ltx_pipelines' utility modules (the reference for sampling, pipelines
and conditioning), imported behind a temporary torchaudio placeholder (see reference_stubs.py), and a private cache
holding the tiny checkpoint."""

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
def tiny_cache(tmp_path_factory) -> Path:
    """A cache folder holding the tiny checkpoint, built once per session (tests point $LTXFLOW_CACHE at it)."""
    from ltxflow.engine.tiny import ensure_tiny_checkpoint

    folder = tmp_path_factory.mktemp("ltxflow-cache")
    ensure_tiny_checkpoint(folder)
    return folder


@pytest.fixture(scope="session")
def ltx_pipelines() -> types.SimpleNamespace:
    """ltx_pipelines.utils.{helpers,samplers,constants,types,media_io}."""
    return _load_stubs().import_ltx_pipelines("helpers", "samplers", "constants", "types", "media_io")


@pytest.fixture(autouse=True)
def _own_default_ledger_and_model_settings(tmp_path, monkeypatch):
    """Commands that follow the ledger location rule read a ledger of the test's own, never ./ltxflow-ledger.db
    of the checkout (a demo run there would make planned tasks look finished); model-setting overrides from
    the developer's shell ($LTXFLOW_DIT, ...) would change task ids, so they are cleared."""
    monkeypatch.setenv("LTXFLOW_LEDGER", str(tmp_path / "default-ledger.db"))
    for name in ("LTXFLOW_DIT", "LTXFLOW_GEMMA_DIR", "LTXFLOW_PROMPT_EMBEDDINGS", "LTXFLOW_UPSAMPLER"):
        monkeypatch.delenv(name, raising=False)
