"""LoRA fusing vs ltx-core's own (SingleGPUModelBuilder with loras -> apply_loras) on tiny checkpoints.

Both sides start from the same bf16 checkpoint file and the same LoRA files, so equal weights mean equal semantics:
the prefix renaming, W + sum_i cast(B_i * s_i @ A_i), no alpha/rank scale, the product in the LoRA's dtype, the sum
and the add in the target dtype. We run the reference's operations in its order, so fused weights are compared bit
for bit (not within a tolerance) in bf16, fp32 and fp64.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ltx_core.loader import LTXV_LORA_COMFY_RENAMING_MAP, LoraPathStrengthAndSDOps
from ltx_core.loader.single_gpu_model_builder import SingleGPUModelBuilder
from ltx_core.model.transformer.model_configurator import LTXV_MODEL_COMFY_RENAMING_MAP, LTXModelConfigurator

from ltxflow.engine.checkpoint import Checkpoint
from ltxflow.engine.lora import LoraFile, LoraFuser, WeightedLora, lora_delta

from ._helpers import CONFIGS, linear_shapes, random_lora, save_lora, subset, write_checkpoint

FORWARD_TOL = 1e-10  # fp64 max relative error of the forward: equal weights, the same kernels in float64
DTYPES = {"bf16": torch.bfloat16, "fp32": torch.float32, "fp64": torch.float64}


def reference_model(checkpoint: Path, loras: list[tuple[Path, float]], dtype: torch.dtype):
    """ltx-core's transformer built from the files with the LoRAs fused, as ltx_pipelines' model ledger builds it."""
    return SingleGPUModelBuilder(
        model_path=str(checkpoint), model_class_configurator=LTXModelConfigurator,
        model_sd_ops=LTXV_MODEL_COMFY_RENAMING_MAP,
        loras=tuple(LoraPathStrengthAndSDOps(str(p), s, LTXV_LORA_COMFY_RENAMING_MAP) for p, s in loras),
    ).build(device=torch.device("cpu"), dtype=dtype)


def our_model(checkpoint: Path, loras: list[tuple[Path, float]], dtype: torch.dtype):
    """Our strict loader, then the fuser."""
    model = Checkpoint.open(checkpoint).load("transformer", dtype=dtype)
    LoraFuser(model).use([WeightedLora(LoraFile.open(p).load(), s) for p, s in loras])
    return model


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def files(request, tmp_path_factory):
    """(config, checkpoint, [(lora, strength)]): two bf16 LoRAs of different ranks, one over a subset of modules."""
    config = CONFIGS[request.param]
    tmp = tmp_path_factory.mktemp(f"lora-{request.param}")
    checkpoint = write_checkpoint(tmp / "model.safetensors", config, seed=3)
    shapes = linear_shapes(config)
    everything = save_lora(tmp / "all.safetensors", random_lora(shapes, rank=4, seed=1))
    some = save_lora(tmp / "some.safetensors", random_lora(subset(shapes, "attn1", "ff.", "adaln"), rank=3, seed=2))
    return config, checkpoint, [(everything, 0.7), (some, -1.3)]


@pytest.mark.parametrize("dtype", sorted(DTYPES))
def test_fused_weights_equal_the_reference_bit_for_bit(files, dtype):
    _, checkpoint, loras = files
    ref = reference_model(checkpoint, loras, DTYPES[dtype]).state_dict()
    ours = our_model(checkpoint, loras, DTYPES[dtype]).state_dict()
    assert ours.keys() == ref.keys()
    adapted = {p.module + ".weight" for path, _ in loras for p in LoraFile.open(path).pairs.values()}
    assert adapted <= ours.keys() and len(adapted) > 20
    for key, value in ours.items():
        assert value.dtype == DTYPES[dtype], key
        # with a dtype the reference leaves weights no LoRA touches in the file's bf16 (apply_loras skips keys
        # already in its destination dict); bf16 -> fp64 is exact, so compare values in our dtype
        assert torch.equal(value, ref[key].to(value.dtype)), key


def test_forward_equals_the_reference_in_float64(tref, files):
    config, checkpoint, loras = files
    ref = reference_model(checkpoint, loras, torch.float64).to(torch.float64).eval()
    ours = our_model(checkpoint, loras, torch.float64)
    plain = Checkpoint.open(checkpoint).load("transformer", dtype=torch.float64)
    case = tref.make_case(config, seed=5, dtype=torch.float64)
    with torch.no_grad():
        expected = ref(case.ref_video, case.ref_audio, tref.ref_perturbations([tref.Perturbation()]))
        got = ours(case.video, case.audio)
        unfused = plain(case.video, case.audio)
    for g, e, u in zip(got, expected, unfused, strict=True):
        assert g.dtype == torch.float64 and tref.rel_err(g, e) <= FORWARD_TOL
        assert tref.rel_err(u, e) > 1e-3  # the LoRAs change the function (so equality above is not vacuous)


def test_delta_is_strength_times_b_at_a_without_alpha_over_rank(tmp_path):
    """fp64 factors: the fused change is exactly s * B @ A; an alpha/rank scale (PEFT's) would be off by 1/rank."""
    config = CONFIGS["19b"]
    checkpoint = write_checkpoint(tmp_path / "m.safetensors", config, seed=4)
    shapes = subset(linear_shapes(config), "transformer_blocks.0.attn1.to_q")
    path = save_lora(tmp_path / "r8.safetensors", random_lora(shapes, rank=8, seed=9, dtype=torch.float64))
    lora = LoraFile.open(path).load()
    model = Checkpoint.open(checkpoint).load("transformer", dtype=torch.float64)
    before = model.transformer_blocks[0].attn1.to_q.weight.clone()
    LoraFuser(model).use([WeightedLora(lora, 0.25)])
    a, b = lora.factors["transformer_blocks.0.attn1.to_q"]
    assert torch.equal(model.transformer_blocks[0].attn1.to_q.weight, before + 0.25 * b @ a)  # 0.25: exact scaling


def test_several_loras_sum_in_the_target_dtype_like_the_reference():
    """Three bf16 products are rounded to bf16, then summed (stacked, fp32 accumulation) and rounded once: the same
    bits as the reference's _prepare_deltas, and not the sequential bf16 sum W + d1 + d2 + d3."""
    from ltx_core.loader.fuse_loras import _prepare_deltas
    from ltx_core.loader.primitives import LoraStateDictWithStrength, StateDict

    gen = torch.Generator().manual_seed(0)
    factors = [(torch.randn(4, 64, generator=gen).bfloat16(), torch.randn(48, 4, generator=gen).bfloat16(), s)
               for s in (0.5, -2.0, 1.5)]
    lsds = [LoraStateDictWithStrength(StateDict({"m.lora_A.weight": a, "m.lora_B.weight": b}, "cpu", 0, set()), s)
            for a, b, s in factors]
    expected = _prepare_deltas(lsds, "m.weight", torch.bfloat16, torch.device("cpu"))
    got = lora_delta(factors, torch.bfloat16, torch.device("cpu"))
    assert torch.equal(got, expected)
    sequential = factors[0][1] * 0.5 @ factors[0][0]
    for a, b, s in factors[1:]:
        sequential = sequential + (b * s @ a)
    assert not torch.equal(got, sequential)  # the order matters in bf16: the test can tell them apart
