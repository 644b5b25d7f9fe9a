"""Fixtures for the pipeline tests: the tiny checkpoint's model set, loaded once per module on the CPU in float32
(`tiny_cache` comes from tests/conftest.py; test_sampling_parity.py defines its own `models`)."""

import pytest
import torch

from ltxflow.engine import load_models
from ltxflow.engine.tiny import tiny_paths


@pytest.fixture(scope="module")
def models(tiny_cache):
    checkpoint, upsampler = tiny_paths(tiny_cache)
    loaded = load_models(checkpoint, torch.device("cpu"), torch.float32, upsampler=upsampler)
    yield loaded
    loaded.close()
