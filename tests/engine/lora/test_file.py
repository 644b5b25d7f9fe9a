"""LoRA files read strictly: the namings we route, and a one-line error naming file and key for each bad file."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import torch

from ltxflow.engine.checkpoint import Checkpoint
from ltxflow.engine.lora import LoraError, LoraFile, LoraFuser, WeightedLora
from ltxflow.engine.accel import SpeedOptions, accelerate

from ._helpers import CONFIGS, linear_shapes, random_lora, save_lora, subset, write_checkpoint

SHAPES = linear_shapes(CONFIGS["19b"])
Q0 = "transformer_blocks.0.attn1.to_q"


def lora_error(path: Path) -> str:
    """The one-line error of opening and loading `path`."""
    with pytest.raises(LoraError) as info:
        LoraFile.open(path).load()
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


@pytest.mark.parametrize(("prefix", "module", "ours"), [
    ("diffusion_model.", Q0, Q0),  # official files
    ("model.diffusion_model.", Q0, Q0),  # ComfyUI's checkpoint prefix
    ("transformer.", Q0, Q0),  # diffusers / PEFT
    ("", Q0, Q0),  # bare
    ("transformer.", "proj_in", "patchify_proj"),  # diffusers module names
    ("transformer.", "time_embed.linear", "adaln_single.linear"),
    ("", "audio_time_embed.emb.timestep_embedder.linear_1", "audio_adaln_single.emb.timestep_embedder.linear_1"),
])
def test_namings_route_to_our_modules(tmp_path, prefix, module, ours):
    out, inp = SHAPES[ours]
    path = save_lora(tmp_path / "l.safetensors", {f"{prefix}{module}.lora_A.weight": torch.zeros(3, inp),
                                                  f"{prefix}{module}.lora_B.weight": torch.zeros(out, 3)})
    pair = LoraFile.open(path).pairs[ours]
    assert (pair.rank, pair.shape, pair.dtype) == (3, (out, inp), "F32")


def test_kohya_down_up_names_with_a_unit_alpha(tmp_path):
    out, inp = SHAPES[Q0]
    tensors = {f"diffusion_model.{Q0}.lora_down.weight": torch.ones(2, inp),
               f"diffusion_model.{Q0}.lora_up.weight": torch.ones(out, 2),
               f"diffusion_model.{Q0}.alpha": torch.tensor(2.0)}
    lora = LoraFile.open(save_lora(tmp_path / "k.safetensors", tensors)).load()
    a, b = lora.factors[Q0]
    assert a.shape == (2, inp) and b.shape == (out, 2)


def test_file_summary_ranks_and_metadata(tmp_path):
    tensors = {**random_lora(subset(SHAPES, "attn1"), rank=4, seed=0), **random_lora(subset(SHAPES, "ff."), 8, 1)}
    path = save_lora(tmp_path / "ic.safetensors", tensors, metadata={"reference_downscale_factor": "2"})
    lora = LoraFile.open(path)
    assert lora.ranks == (4, 8) and lora.reference_downscale_factor == 2
    assert set(lora.pairs) == set(subset(SHAPES, "attn1", "ff."))
    assert LoraFile.open(save_lora(tmp_path / "plain.safetensors", tensors)).reference_downscale_factor == 1


def _pair(module: str = Q0, rank: int = 2, prefix: str = "diffusion_model.", dtype=torch.float32) -> dict:
    out, inp = SHAPES[module]
    return {f"{prefix}{module}.lora_A.weight": torch.zeros(rank, inp, dtype=dtype),
            f"{prefix}{module}.lora_B.weight": torch.zeros(out, rank, dtype=dtype)}


@pytest.mark.parametrize(("tensors", "needle"), [
    ({**_pair(), "diffusion_model.foo.weight": torch.zeros(2)}, "'diffusion_model.foo.weight' is not a LoRA tensor"),
    ({"lora_unet_blocks_0_attn1_to_q.lora_A.weight": torch.zeros(2, 2),
      "lora_unet_blocks_0_attn1_to_q.lora_B.weight": torch.zeros(2, 2)}, "matches no transformer module"),
    ({"diffusion_model.video_embeddings_connector.transformer_1d_blocks.0.attn1.to_q.lora_A.weight": torch.zeros(2, 4),
      "diffusion_model.video_embeddings_connector.transformer_1d_blocks.0.attn1.to_q.lora_B.weight": torch.zeros(4, 2)},
     "targets the text_embeddings weights"),
    ({f"diffusion_model.{Q0}.lora_A.weight": torch.zeros(2, 16)}, "has no lora_B partner"),
    ({f"diffusion_model.{Q0}.lora_A.weight": torch.zeros(2, 16),
      f"diffusion_model.{Q0}.lora_B.weight": torch.zeros(16, 3)}, "rank mismatch, lora_B [16, 3] has rank 3"),
    ({f"diffusion_model.{Q0}.lora_A.weight": torch.zeros(2, 16, 1),
      f"diffusion_model.{Q0}.lora_B.weight": torch.zeros(16, 2)}, "LoRA factors are matrices"),
    ({**_pair(), **_pair(prefix="transformer.")}, "both adapt transformer_blocks.0.attn1.to_q"),
    ({f"diffusion_model.{Q0}.lora_A.weight": torch.zeros(2, 16, dtype=torch.int32),
      f"diffusion_model.{Q0}.lora_B.weight": torch.zeros(16, 2, dtype=torch.int32)}, "has dtype I32"),
    ({f"diffusion_model.{Q0}.lora_A.weight": torch.zeros(2, 16, dtype=torch.bfloat16),
      f"diffusion_model.{Q0}.lora_B.weight": torch.zeros(16, 2)}, "must share a dtype"),
    ({**_pair(), f"diffusion_model.{Q0}.alpha": torch.tensor(16.0)}, "alpha/rank scale of 8"),
    ({f"diffusion_model.{Q0}.alpha": torch.tensor(2.0)}, "has no lora_A / lora_B pair"),
], ids=["not-lora", "no-module", "connector", "half-pair", "rank", "3d", "clash", "int", "mixed-dtype", "alpha",
        "alpha-only"])
def test_bad_files_are_one_line_errors_naming_file_and_key(tmp_path, tensors, needle):
    path = save_lora(tmp_path / "bad.safetensors", tensors)
    assert needle in lora_error(path)


def test_pickle_and_truncated_files_are_refused(tmp_path):
    pickled = tmp_path / "lora.safetensors"
    torch.save(_pair(), pickled)
    assert "pickle" in lora_error(pickled)
    good = save_lora(tmp_path / "good.safetensors", random_lora(subset(SHAPES, "attn1"), 4, 0))
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(good.read_bytes()[:-10])
    assert "truncated" in lora_error(cut)
    header = tmp_path / "header.safetensors"
    header.write_bytes(struct.pack("<Q", 10 ** 6) + b"{}")
    assert "truncated" in lora_error(header)
    empty = save_lora(tmp_path / "empty.safetensors", {})
    assert "holds no LoRA tensors" in lora_error(empty)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """The tiny 19B-style transformer (fp32)."""
    path = write_checkpoint(tmp_path_factory.mktemp("m") / "m.safetensors", CONFIGS["19b"], seed=1)
    return Checkpoint.open(path).load("transformer", dtype=torch.float32)


def _use(model, path: Path) -> str:
    """The one-line error of fusing `path` into `model`, which must stay unchanged."""
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(LoraError) as info:
        LoraFuser(model).use([WeightedLora(LoraFile.open(path).load(), 1.0)])
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_a_lora_for_another_model_is_refused_before_any_weight_changes(model, tmp_path):
    # a wider model (another version): every shape differs; the first pair in sorted order is named
    wide = {k: (o * 2, i * 2) for k, (o, i) in SHAPES.items()}
    path = save_lora(tmp_path / "wide.safetensors", random_lora(wide, 2, 0))
    message = _use(model, path)
    assert "made for another model version: it adapts adaln_single.emb.timestep_embedder.linear_1 as [32, 512] " \
           "but the model's weight is [16, 256]" in message
    # a LoRA trained on the 22B-style model (9 AdaLN rows, gated attention) on the 19B-style one
    other = save_lora(tmp_path / "v23.safetensors", random_lora(linear_shapes(CONFIGS["22b"]), 2, 0))
    assert "adapts adaln_single.linear as [144, 16] but the model's weight is [96, 16]" in _use(model, other)
    # more blocks than the model has: a module the model lacks
    deep = {**random_lora(subset(SHAPES, "attn1"), 2, 0),
            **random_lora({"transformer_blocks.7.attn1.to_q": SHAPES[Q0]}, 2, 1)}
    message = _use(model, save_lora(tmp_path / "deep.safetensors", deep))
    assert "'diffusion_model.transformer_blocks.7.attn1.to_q.lora_A.weight' matches no module" in message
    # a name under the official prefix that is no module at all
    odd = {**random_lora(subset(SHAPES, "attn1"), 2, 0), **random_lora({"nonsense": (4, 4)}, 2, 1)}
    message = _use(model, save_lora(tmp_path / "o.safetensors", odd))
    assert "'diffusion_model.nonsense.lora_A.weight' matches no module" in message


def test_fp8_layers_refuse_loras(tmp_path):
    path = write_checkpoint(tmp_path / "m.safetensors", CONFIGS["19b"], seed=1)
    model = Checkpoint.open(path).load("transformer", dtype=torch.float32)
    accelerate(model, SpeedOptions(fp8=True))
    lora = save_lora(tmp_path / "ff.safetensors", random_lora(subset(SHAPES, "transformer_blocks.0.ff."), 2, 0))
    assert "is FP8-quantised; LoRAs are fused before FP8 quantisation" in _use(model, lora)


def test_modules_sharing_a_weight_are_refused(tmp_path):
    """Acceleration's packed q|k|v is a module whose weight holds to_q's: a LoRA naming both would add twice."""
    path = write_checkpoint(tmp_path / "m.safetensors", CONFIGS["19b"], seed=1)
    model = Checkpoint.open(path).load("transformer", dtype=torch.float32)
    accelerate(model, SpeedOptions())
    packed = "transformer_blocks.0.attn1.packed"
    both = save_lora(tmp_path / "both.safetensors", random_lora({Q0: SHAPES[Q0], packed: (3 * 16, 16)}, 2, 0))
    assert f"{packed} shares its weight with {Q0}" in _use(model, both)
    alone = save_lora(tmp_path / "q.safetensors", random_lora({Q0: SHAPES[Q0]}, 2, 0))
    LoraFuser(model).use([WeightedLora(LoraFile.open(alone).load(), 1.0)])  # the checkpoint's module alone is fine
