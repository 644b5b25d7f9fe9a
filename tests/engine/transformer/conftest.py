"""Fixture `tref`: the shared helpers of the transformer parity tests (reference builders, inputs, error metric)."""

import importlib.util
import pathlib
import sys
import types

import pytest


@pytest.fixture(scope="session")
def tref() -> types.ModuleType:
    """_reference.py loaded under a private name (tests run with --import-mode=importlib)."""
    path = pathlib.Path(__file__).with_name("_reference.py")
    spec = importlib.util.spec_from_file_location("ltxflow_tests_transformer_reference", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module
