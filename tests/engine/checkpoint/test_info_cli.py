"""`describe` and `ltxflow engine info`: counts from the header, one-line errors with exit code 2."""

from __future__ import annotations

from pathlib import Path

import torch
from click.testing import CliRunner
from ltx_core.model.transformer.model_configurator import LTXModelConfigurator

from ltxflow.cli.engine import engine
from ltxflow.engine.checkpoint import describe

from ._helpers import TINY_CONFIG, save, tiny_file, tiny_sd  # noqa: F401


def test_describe_counts_parameters_per_component(tiny_file: Path) -> None:
    with torch.device("meta"):
        reference = LTXModelConfigurator.from_config(TINY_CONFIG)
    transformer_params = sum(p.numel() for p in reference.parameters())
    info = describe(tiny_file)
    counts = {c.name: (c.tensors, c.parameters, c.dtypes) for c in info.components}
    assert counts == {
        "transformer": (len(reference.state_dict()), transformer_params, ("F32",)),
        "text_embeddings": (6, 12 * 20 + 4 * 12 + 12 + 144 + 4 * 12 + 12, ("F32",)),
        "video_encoder": (4, 8 * 48 * 27 + 8 + 4 + 4, ("F32",)),
        "video_decoder": (3, 48 * 8 * 27 + 4 + 4, ("F32",)),
        "audio_encoder": (3, 8 * 2 * 9 + 4 + 4, ("F32",)),
        "audio_decoder": (3, 2 * 8 * 9 + 4 + 4, ("F32",)),
        "vocoder": (2, 8 * 4 * 7 + 2 * 8 * 7, ("F32",)),
    }
    assert info.dropped == ("vae.per_channel_statistics.channel", "vae.per_channel_statistics.mean-of-stds")
    assert info.file_size == tiny_file.stat().st_size and info.model_version == "2.0.0"
    assert next(c for c in info.components if c.name == "vocoder").nbytes == (8 * 4 * 7 + 2 * 8 * 7) * 4


def test_engine_info_prints_the_table(tiny_file: Path) -> None:
    result = CliRunner().invoke(engine, ["info", str(tiny_file)], catch_exceptions=False)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[:3] == [
        f"checkpoint  {tiny_file}", "version     2.0.0", f"file size   {tiny_file.stat().st_size:,} bytes"
    ]
    assert lines[4].split() == ["component", "tensors", "parameters", "dtypes"]
    assert lines[-1] == "dropped (known unused): 2 tensor(s)"
    vocoder = next(line for line in lines if line.startswith("vocoder"))
    assert vocoder.split() == ["vocoder", "2", f"{8 * 4 * 7 + 2 * 8 * 7:,}", "F32"]


def test_engine_info_bf16_dtypes(tmp_path: Path) -> None:
    path = save(tmp_path / "v.safetensors", {"vocoder.conv_pre.weight": torch.zeros(3, 5, dtype=torch.bfloat16),
                                             "vocoder.conv_pre.bias": torch.zeros(3)})
    result = CliRunner().invoke(engine, ["info", str(path)])
    assert result.exit_code == 0
    assert result.output.splitlines()[-1].split() == ["vocoder", "2", "18", "BF16,F32"]


def test_engine_info_bad_input_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "model.ckpt"
    torch.save({"w": torch.zeros(1)}, bad)
    result = CliRunner().invoke(engine, ["info", str(bad)])
    assert result.exit_code == 2
    assert result.output == f"Error: {bad} is a pickle checkpoint; ltxflow loads safetensors only\n"
    assert result.exception is None or isinstance(result.exception, SystemExit)
    missing = CliRunner().invoke(engine, ["info", str(tmp_path / "none.safetensors")])
    assert missing.exit_code == 2 and len(missing.output.splitlines()) == 1
