"""One resident model serving tasks with different LoRA sets: each task's output equals a fresh load of its set,
and the clean weights come back bit for bit from host copies (never from disk)."""

from __future__ import annotations

import pytest
import torch

from ltxflow.engine.checkpoint import Checkpoint
from ltxflow.engine.lora import LoraFile, LoraFuser, WeightedLora
from ltxflow.engine.transformer import Perturbation
from ltxflow.engine.accel import SpeedOptions, accelerate

from ._helpers import CONFIGS, linear_shapes, random_lora, save_lora, subset, write_checkpoint

CONFIG = CONFIGS["22b"]
# ten tasks: (file name, strength) per LoRA; sets repeat, shrink, grow, reorder and go empty
TASKS = [
    (("brand", 1.0),),
    (("brand", 0.5),),
    (("brand", 1.0), ("style", -0.7)),
    (),
    (("camera", 0.8),),
    (("style", -0.7), ("brand", 1.0)),  # the same pair in the other order: a different sum order
    (("camera", 0.3), ("brand", 0.9), ("style", 1.2)),
    (("brand", 1.0),),
    (("brand", 0.0), ("style", 2.0)),  # a zero strength adds nothing
    (("camera", 1.0),),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A tiny bf16 checkpoint and three LoRAs over different (overlapping) module sets."""
    tmp = tmp_path_factory.mktemp("swap")
    shapes = linear_shapes(CONFIG)
    loras = {
        "brand": random_lora(subset(shapes, "attn1", "attn2"), rank=4, seed=1),
        "style": random_lora(subset(shapes, "ff.", "attn1.to_q"), rank=2, seed=2),
        "camera": random_lora(shapes, rank=3, seed=3),  # every linear layer
    }
    return (write_checkpoint(tmp / "model.safetensors", CONFIG, seed=2),
            {name: save_lora(tmp / f"{name}.safetensors", t) for name, t in loras.items()})


def forward(tref, model):
    """Both modalities' velocities for one fixed case (fp32)."""
    case = tref.make_case(CONFIG, seed=8, batch=2, dtype=torch.float32)  # the CPU engine runs fp32
    with torch.inference_mode():  # as the engine runs it
        return model(case.video, case.audio, [Perturbation(), Perturbation.stg([1], [1])])


def fresh(tref, checkpoint, paths, task, speed: SpeedOptions | None = None):
    """A newly loaded model with the task's set fused from newly read files: the reference for the swaps."""
    model = Checkpoint.open(checkpoint).load("transformer", dtype=torch.float32)
    LoraFuser(model).use([WeightedLora(LoraFile.open(paths[n]).load(), s) for n, s in task])
    if speed is not None:
        accelerate(model, speed, device="cpu")
    return forward(tref, model)


@pytest.mark.parametrize("speed", [None, SpeedOptions(), SpeedOptions(offload_blocks=True)],
                         ids=["plain", "packed-projections", "offloaded"])
def test_ten_tasks_on_one_resident_model_equal_fresh_loads(tref, files, tmp_path, speed):
    checkpoint, paths = files
    loaded = {name: LoraFile.open(path).load() for name, path in paths.items()}
    copy = tmp_path / "resident.safetensors"  # deleted once loaded: restoring must not read the disk
    copy.write_bytes(checkpoint.read_bytes())
    resident = Checkpoint.open(copy).load("transformer", dtype=torch.float32)
    copy.unlink()
    clean = {k: v.clone() for k, v in resident.state_dict().items()}
    acceleration = accelerate(resident, speed, device="cpu") if speed is not None else None
    plain_out = forward(tref, resident)  # offloaded: leaves block 0 prefetched with the clean weights
    fuser = LoraFuser(resident, acceleration.offloader if acceleration is not None else None)
    for task in TASKS:
        fuser.use([WeightedLora(loaded[n], s) for n, s in task])
        got = forward(tref, resident)
        want = fresh(tref, checkpoint, paths, task)  # a plain fresh model
        if speed is not None:  # packed GEMMs round differently from three GEMMs: compare like with like
            want = fresh(tref, checkpoint, paths, task, speed) if speed.fuse_projections else want
        for g, w in zip(got, want, strict=True):
            assert torch.equal(g, w), task
        if all(s == 0.0 for _, s in task):
            assert all(torch.equal(g, p) for g, p in zip(got, plain_out))
    fuser.restore()
    now = resident.state_dict()  # (packed projections add keys: views of the checkpoint's, compared through those)
    assert all(torch.equal(now[k], v) for k, v in clean.items())  # bit for bit
    assert all(torch.equal(g, p) for g, p in zip(forward(tref, resident), plain_out))
    touched = {m for lora in loaded.values() for m in lora.factors}
    assert set(fuser.clean) == touched  # one host copy of just the touched weights
    assert fuser.host_bytes == sum(clean[m + ".weight"].nbytes for m in touched)
    assert all(t.device.type == "cpu" for t in fuser.clean.values())


def test_packed_projections_see_the_fused_weights(files):
    """Fusing writes in place, so a packed q|k|v (one GEMM over shared storage) holds the fused rows."""
    checkpoint, paths = files
    model = Checkpoint.open(checkpoint).load("transformer", dtype=torch.float32)
    accelerate(model, SpeedOptions(), device="cpu")
    LoraFuser(model).use([WeightedLora(LoraFile.open(paths["style"]).load(), 1.0)])
    attn = model.transformer_blocks[0].attn1
    packed = attn.packed
    inner = attn.heads * attn.head_dim
    assert attn.packed_kind == "qkv" and torch.equal(packed.weight[:inner], attn.to_q.weight)
    reference = Checkpoint.open(checkpoint).load("transformer", dtype=torch.float32)
    assert not torch.equal(packed.weight[:inner], reference.transformer_blocks[0].attn1.to_q.weight)


def test_the_same_set_again_is_not_refused(files):
    """Asking for the fused set again changes nothing (no restore + re-add, which would cost a copy per weight)."""
    checkpoint, paths = files
    model = Checkpoint.open(checkpoint).load("transformer", dtype=torch.float32)
    lora = LoraFile.open(paths["brand"]).load()
    fuser = LoraFuser(model)
    fuser.use([WeightedLora(lora, 1.0)])
    weight = model.transformer_blocks[0].attn1.to_q.weight
    version = weight._version
    fuser.use([WeightedLora(lora, 1.0)])
    assert weight._version == version
    fuser.use([WeightedLora(lora, 0.5)])
    assert weight._version > version
