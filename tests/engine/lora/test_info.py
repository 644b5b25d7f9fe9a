"""`ltxflow engine info` on LoRA files: target models, ranks and covered modules from the header; errors exit 2."""

from __future__ import annotations

import torch
from click.testing import CliRunner

from ltxflow.cli.engine import engine
from ltxflow.engine.lora.info import describe_lora

from ._helpers import CONFIGS, random_lora, save_lora, write_checkpoint

D = 4096  # the shipped models' video width


def full_size_lora(extra: dict[str, tuple[int, int]] | None = None, rank: int = 1) -> dict[str, torch.Tensor]:
    """attn1.to_q of all 48 blocks at the shipped width (+ `extra` modules): small, but full-size shapes."""
    shapes = {f"transformer_blocks.{i}.attn1.to_q": (D, D) for i in range(48)} | (extra or {})
    return random_lora(shapes, rank=rank, seed=0)


def test_fits_the_models_whose_shapes_it_matches(tmp_path):
    both = describe_lora(save_lora(tmp_path / "q.safetensors", full_size_lora()))
    assert both.fits == ("LTX-2 19B", "LTX-2.3 22B") and both.ranks == (1,) and both.modules == 48
    assert both.parameters == 48 * 2 * D and both.dtypes == ("BF16",)
    only_19b = describe_lora(save_lora(tmp_path / "c.safetensors", full_size_lora({"caption_projection.linear_1":
                                                                                   (D, 3840)})))
    assert only_19b.fits == ("LTX-2 19B",)  # the 22B model has no caption projection in the DiT
    only_22b = describe_lora(save_lora(tmp_path / "g.safetensors", full_size_lora({"prompt_adaln_single.linear":
                                                                                   (2 * D, D)})))
    assert only_22b.fits == ("LTX-2.3 22B",)
    beyond = {f"transformer_blocks.{i}.attn1.to_q": (D, D) for i in range(49)}  # a 49th block: no known model
    assert describe_lora(save_lora(tmp_path / "b.safetensors", random_lora(beyond, 1, 0))).fits == ()


def test_engine_info_prints_target_rank_and_modules(tmp_path):
    tensors = full_size_lora({"patchify_proj": (D, 128)}, rank=2)
    tensors |= random_lora({f"transformer_blocks.{i}.ff.net.2": (D, 4 * D) for i in (0, 5, 7)}, rank=8, seed=1)
    path = save_lora(tmp_path / "ic.safetensors", tensors, metadata={"reference_downscale_factor": "2"})
    result = CliRunner().invoke(engine, ["info", str(path)], catch_exceptions=False)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[:6] == [
        f"lora        {path}",
        "target      transformer; fits LTX-2 19B, LTX-2.3 22B",
        "rank        2, 8",
        f"file size   {path.stat().st_size:,} bytes",
        f"parameters  {48 * 2 * 2 * D + 2 * (D + 128) + 3 * 8 * 5 * D:,} (BF16) over 52 modules",
        "IC-LoRA     reference video at 1/2 size",
    ]
    assert [line.split() for line in lines[8:]] == [
        ["patchify_proj", "rank", "2"],
        ["transformer_blocks.*.attn1.to_q", "rank", "2", "48", "blocks", "(0-47)"],
        ["transformer_blocks.*.ff.net.2", "rank", "8", "3", "blocks", "(0,", "5,", "7)"],
    ]


def test_engine_info_on_bad_loras_and_checkpoints(tmp_path):
    bad = save_lora(tmp_path / "bad.safetensors", {"diffusion_model.proj_out.lora_A.weight": torch.zeros(2, 16),
                                                   "diffusion_model.proj_out.lora_B.weight": torch.zeros(128, 3)})
    result = CliRunner().invoke(engine, ["info", str(bad)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"Error: {bad}: key 'diffusion_model.proj_out.lora_B.weight': rank "
                                                  "mismatch, lora_B [128, 3] has rank 3 but lora_A [2, 16] has rank 2"]
    checkpoint = write_checkpoint(tmp_path / "model.safetensors", CONFIGS["19b"])  # still described as a checkpoint
    result = CliRunner().invoke(engine, ["info", str(checkpoint)], catch_exceptions=False)
    assert result.exit_code == 0 and result.output.startswith(f"checkpoint  {checkpoint}\n")
