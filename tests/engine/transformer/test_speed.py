"""The speed path (`prepare_for_speed_`) computes what the plain path computes; RoPE tables are reproducible."""

from __future__ import annotations

import pytest
import torch

from ltxflow.engine.transformer import Perturbation, TransformerConfig
from ltxflow.engine.transformer.rope import device_ladder, frequency_ladder, rope_tables
from ltxflow.engine.transformer.speed import SpeedOptions, prepare_for_speed_

# fp32, max|fast - plain| / max|plain|: packing q|k|v into one GEMM changes only the GEMM's blocking (observed ~1e-7)
TOL = 1e-5
CONFIGS = {"19b": TransformerConfig.tiny_19b(), "22b": TransformerConfig.tiny_22b()}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_default_speed_options_on_cpu_match_the_plain_path(tref, name):
    config = CONFIGS[name]
    _, plain = tref.build_pair(config, seed=5)
    _, fast = tref.build_pair(config, seed=5)
    prepare_for_speed_(fast, SpeedOptions())
    assert any(m.packed is not None for m in fast.modules() if hasattr(m, "packed"))
    case = tref.make_case(config, seed=9, batch=3)
    last = config.num_layers - 1
    perts = [Perturbation(), Perturbation.stg([last], [last]), Perturbation.isolated()]
    with torch.no_grad():
        want = plain(case.video, case.audio, perts)
        got = fast(case.video, case.audio, perts)
        again = fast(case.video, case.audio, perts)  # a second forward (memoised RoPE ladder) gives the same bits
    for g, w, a in zip(got, want, again, strict=True):
        assert g.shape == w.shape
        assert tref.rel_err(g, w) <= TOL
        assert torch.equal(g, a)


def test_device_ladder_is_the_cpu_ladder_built_once():
    first = device_ladder(10000.0, 3, 64, True, torch.device("cpu"))
    assert torch.equal(first, frequency_ladder(10000.0, 3, 64, float64=True))
    assert device_ladder(10000.0, 3, 64, True, torch.device("cpu")) is first
    assert not torch.equal(device_ladder(10000.0, 3, 64, False, torch.device("cpu")), torch.zeros_like(first))


@pytest.mark.parametrize("layout", ["split", "interleaved"])
def test_rope_tables_are_identical_across_calls(tref, layout):
    vpos, _ = tref.positions(1, 3, 2, 3, 5, 24.0, torch.float32)
    args = dict(width=64, heads=4, max_pos=(20, 2048, 2048), theta=10000.0, layout=layout, float64_ladder=True,
                dtype=torch.float32)
    a, b = rope_tables(vpos, **args), rope_tables(vpos.clone(), **args)
    assert torch.equal(a.cos, b.cos) and torch.equal(a.sin, b.sin)
    assert not torch.equal(a.cos, torch.ones_like(a.cos))
