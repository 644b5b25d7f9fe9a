"""Opening checkpoint files: safetensors only, truncation/corruption caught from the header, metadata read."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch

from ltxflow.engine.checkpoint import Checkpoint, CheckpointError
from ltxflow.engine.checkpoint.safetensors_file import open_tensors, read_config, read_header

from ._helpers import TINY_CONFIG, save


def one_line(err: pytest.ExceptionInfo) -> str:
    """The error message, asserted to be a single line."""
    text = str(err.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "legacy-pickle"])
def test_torch_save_files_are_refused(tmp_path: Path, zipped: bool) -> None:
    path = tmp_path / "model.ckpt"
    torch.save({"w": torch.zeros(2)}, path, _use_new_zipfile_serialization=zipped)
    with pytest.raises(CheckpointError) as err:
        Checkpoint.open(path)
    assert one_line(err) == f"{path} is a pickle checkpoint; ltxflow loads safetensors only"


def test_truncated_file_names_the_tensor(tmp_path: Path) -> None:
    path = save(tmp_path / "t.safetensors", {"a": torch.zeros(4), "b": torch.ones(8)})
    data = path.read_bytes()
    path.write_bytes(data[:-8])  # lose half of the last tensor
    with pytest.raises(CheckpointError) as err:
        read_header(path)
    msg = one_line(err)
    assert "is truncated" in msg and "'b'" in msg


def test_header_length_past_end_of_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", 10_000) + b'{"a": 1}')
    with pytest.raises(CheckpointError) as err:
        read_header(path)
    assert "header length 10000 runs past the end" in one_line(err)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"abc", "only 3 bytes long"),
        (struct.pack("<Q", 4) + b"nope", "header is not JSON"),
        (struct.pack("<Q", 2) + b"[]", "header is not a JSON object"),
    ],
)
def test_not_safetensors(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "x.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as err:
        read_header(path)
    assert expected in one_line(err)


def test_offsets_that_disagree_with_shape(tmp_path: Path) -> None:
    header = json.dumps({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}).encode()
    path = tmp_path / "x.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    with pytest.raises(CheckpointError) as err:
        read_header(path)
    assert "needs 12 bytes, header gives 8" in one_line(err)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError) as err:
        Checkpoint.open(tmp_path / "nope.safetensors")
    assert "does not exist" in one_line(err)


def test_header_and_metadata_read_without_data(tmp_path: Path) -> None:
    path = save(tmp_path / "m.safetensors", {"w": torch.arange(6.0).reshape(2, 3).bfloat16()}, version="2.3.0")
    header = read_header(path)
    entry = header.tensors["w"]
    assert (entry.dtype, entry.shape, entry.numel, entry.nbytes) == ("BF16", (2, 3), 6, 12)
    assert header.metadata["model_version"] == "2.3.0"
    assert read_config(header) == TINY_CONFIG
    assert header.file_size == path.stat().st_size
    with open_tensors(path) as f:
        assert torch.equal(f.get_tensor("w"), torch.arange(6.0).reshape(2, 3).bfloat16())


def test_no_config_metadata(tmp_path: Path) -> None:
    path = save(tmp_path / "m.safetensors", {"model.diffusion_model.proj_out.bias": torch.zeros(2)}, config=None)
    with pytest.raises(CheckpointError) as err:
        Checkpoint.open(path)
    assert one_line(err).startswith(f"{path} has no 'config' metadata")


def test_config_not_json(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(1)}, str(path), metadata={"config": "{oops", "model_version": "2.0.0"})
    with pytest.raises(CheckpointError) as err:
        Checkpoint.open(path)
    assert "'config' metadata is not valid JSON" in one_line(err)


@pytest.mark.parametrize("version", ["1.0.0", "0.9.8", "3.0"])
def test_unknown_model_version(tmp_path: Path, version: str) -> None:
    path = save(tmp_path / "m.safetensors", {"model.diffusion_model.proj_out.bias": torch.zeros(2)}, version=version)
    with pytest.raises(CheckpointError) as err:
        Checkpoint.open(path)
    assert one_line(err) == f"{path} has model_version {version!r}; ltxflow loads LTX-2 checkpoints (2.x) only"


def test_absent_version_needs_a_recognisable_config(tmp_path: Path) -> None:
    tensors = {"model.diffusion_model.proj_out.bias": torch.zeros(2)}
    ok = Checkpoint.open(save(tmp_path / "ok.safetensors", tensors, version=None))
    assert ok.model_version is None and ok.components == ("transformer",)
    bad = save(tmp_path / "bad.safetensors", tensors, config={"unet": {}}, version=None)
    with pytest.raises(CheckpointError) as err:
        Checkpoint.open(bad)
    assert "has no model_version and its config has none of the LTX-2 sections" in one_line(err)
