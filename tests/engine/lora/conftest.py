"""Fixture `tref`: the transformer parity helpers (reference inputs, error metric) of tests/engine/transformer."""

import importlib.util
import pathlib
import sys
import types

import pytest


@pytest.fixture(scope="session")
def tref() -> types.ModuleType:
    """tests/engine/transformer/_reference.py loaded under a private name (tests run with --import-mode=importlib)."""
    path = pathlib.Path(__file__).parents[1] / "transformer" / "_reference.py"
    name = "ltxflow_tests_transformer_reference"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module
