"""LoRAs through a whole campaign run on the tiny engine: bad LoRA files fail only their variants with one line
naming the file (and key), the good ones finish, and a variant run after the others' LoRA swaps produces exactly
what a fresh engine produces for it alone."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import torch
from click.testing import CliRunner

from ltxflow.cli import cli
from ltxflow.engine.tiny import tiny_transformer
from ltxflow.plan import plan_campaign

from ._helpers import linear_shapes, random_lora, save_lora, subset

CAMPAIGN = """name = "lora-run"
brand = "Luma"
template = "prompt.j2"
variants = "variants.csv"
platforms = ["shorts"]
seeds = [5]

[generation]
checkpoint = "tiny"
width = 64
height = 64
frames = 9
steps = 2
device = "cpu"

[guidance.video]
stg_blocks = [0]

[guidance.audio]
stg_blocks = [0]

[[lora]]
path = "loras/brand.safetensors"
strength = 0.8

[export.shorts]
width = 64
height = 112
x264_preset = "ultrafast"

[estimate]
device = "cpu"
seconds_per_task = 1
"""
ROWS = """variant_id,scene,lora,lora_strength
styled,on a shelf,loras/style.safetensors,1.5
bad-rank,by a sink,loras/rank.safetensors,
other-model,in a bath,loras/wide.safetensors,
pickled,on a towel,loras/pickled.safetensors,
gone,at the beach,loras/nowhere.safetensors,
brand-off,in the sun,loras/brand.safetensors,0
base,in the sun,,
"""


def make_campaign(folder: Path, rows: str = ROWS) -> Path:
    shapes = linear_shapes(tiny_transformer())
    loras = folder / "loras"
    loras.mkdir(parents=True)
    (folder / "campaign.toml").write_text(CAMPAIGN, encoding="utf-8")
    (folder / "prompt.j2").write_text("A bottle of body wash {{ scene }}, with a soft chime.", encoding="utf-8")
    (folder / "variants.csv").write_text(rows, encoding="utf-8")
    save_lora(loras / "brand.safetensors", random_lora(subset(shapes, "attn1"), rank=2, seed=1))
    save_lora(loras / "style.safetensors", random_lora(subset(shapes, "ff."), rank=4, seed=2))
    rank = random_lora(subset(shapes, "transformer_blocks.0.ff.net.2"), rank=2, seed=3)
    rank["diffusion_model.transformer_blocks.0.ff.net.2.lora_B.weight"] = torch.zeros(32, 3, dtype=torch.bfloat16)
    save_lora(loras / "rank.safetensors", rank)
    save_lora(loras / "wide.safetensors", random_lora({k: (2 * o, 2 * i) for k, (o, i) in shapes.items()}, 2, 4))
    torch.save(random_lora(subset(shapes, "attn2"), 2, 5), loras / "pickled.safetensors")
    return folder


def run(folder: Path, out: Path, *extra: str):
    return CliRunner().invoke(cli, ["run", str(folder), "--ledger", str(out / "ledger.db"), "--out", str(out),
                                    "--no-progress", *extra])  # fmt: skip


def test_bad_loras_fail_only_their_variants_and_swaps_leave_no_trace(tmp_path, tiny_cache, monkeypatch):
    monkeypatch.setenv("LTXFLOW_CACHE", str(tiny_cache))
    folder = make_campaign(tmp_path / "c")
    out = tmp_path / "out"
    result = run(folder, out)
    assert result.exit_code == 1, result.output
    assert "lora-run: 3 finished, 4 failed" in result.output
    with sqlite3.connect(out / "ledger.db") as db:
        rows = dict(db.execute("SELECT variant_id, status || ': ' || coalesce(error, '') FROM tasks").fetchall())
    loras = folder / "loras"
    assert rows["styled"] == rows["brand-off"] == rows["base"] == "finished: "
    assert all("\n" not in e for e in rows.values())
    assert rows["bad-rank"] == (f"failed: LoraError: {loras / 'rank.safetensors'}: key 'diffusion_model.transformer_"
                                "blocks.0.ff.net.2.lora_B.weight': rank mismatch, lora_B [32, 3] has rank 3 but "
                                "lora_A [2, 128] has rank 2")
    assert f"{loras / 'wide.safetensors'}: key " in rows["other-model"]
    assert "made for another model version" in rows["other-model"]
    assert rows["pickled"] == (f"failed: LoraError: {loras / 'pickled.safetensors'} is a pickle checkpoint; ltxflow "
                               "loads safetensors only")
    assert f"variant gone: lora {loras / 'nowhere.safetensors'}: file not found" in rows["gone"]

    # `base` ran last, after six other LoRA sets were fused into (and restored from) the same resident model:
    # its audio master equals a fresh engine's for `base` alone, bit for bit
    alone = tmp_path / "alone"
    assert run(folder, alone, "--only", "base").exit_code == 0
    name = "lora-run__base__s5.wav"
    assert (out / "lora-run" / "current" / name).read_bytes() == (alone / "lora-run" / "current" / name).read_bytes()
    # and the LoRAs change the clip: `brand-off` (the campaign LoRA at 0) differs from `base` only by the LoRA
    assert (out / "lora-run" / "current" / "lora-run__brand-off__s5.wav").read_bytes() != (out / "lora-run" / "current" / name).read_bytes()


def test_lora_content_and_strength_enter_the_task_id_not_the_path(tmp_path):
    rows = "variant_id,scene,lora,lora_strength\na,x,loras/style.safetensors,0.5\nb,x,,\n"
    folder = make_campaign(tmp_path / "c", rows)
    first = {t.variant_id: t for t in plan_campaign(folder).tasks}
    a = first["a"]
    assert [(Path(r.path).name, r.strength, r.stage) for r in a.loras] == [("brand.safetensors", 0.8, "all"),
                                                                          ("style.safetensors", 0.5, "all")]
    moved = tmp_path / "moved"
    folder.rename(moved)
    assert {t.variant_id: t.id for t in plan_campaign(moved).tasks} == {k: t.id for k, t in first.items()}
    (moved / "variants.csv").write_text(rows.replace("0.5", "0.6"), encoding="utf-8")
    changed = {t.variant_id: t.id for t in plan_campaign(moved).tasks}
    assert changed["a"] != a.id and changed["b"] == first["b"].id
    style = moved / "loras" / "style.safetensors"
    style.write_bytes(style.read_bytes()[:-2] + b"\x00\x01")  # same size, other content
    assert {t.variant_id: t.id for t in plan_campaign(moved).tasks}["a"] not in (a.id, changed["a"])
