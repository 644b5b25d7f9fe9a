"""The embedded tiny checkpoint: byte-identical builds, official layout, strict loading of every component."""

import hashlib
import json

import pytest
from safetensors import safe_open

from ltxflow.engine.checkpoint import COMPONENTS, Checkpoint, CheckpointError
from ltxflow.engine.tiny import CACHE_ENV, TINY_VERSION, ensure_tiny_checkpoint, tiny_paths, write_tiny_checkpoint
from ltxflow.engine.upsampler import load_upsampler


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_builds_are_byte_identical(tmp_path, tiny_cache) -> None:
    ckpt, up = tmp_path / "a.safetensors", tmp_path / "a-up.safetensors"
    write_tiny_checkpoint(ckpt, up)
    cached_ckpt, cached_up = tiny_paths(tiny_cache)
    assert digest(ckpt) == digest(cached_ckpt)
    assert digest(up) == digest(cached_up)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-up.safetensors", "a.safetensors"]  # no temp files


def test_official_layout_and_strict_load(tiny_cache) -> None:
    path, up = tiny_paths(tiny_cache)
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
        keys = list(f.keys())
    config = json.loads(meta["config"])
    assert meta["model_version"] == TINY_VERSION
    assert {"transformer", "vae", "audio_vae", "vocoder", "text_encoder"} <= set(config)
    prefixes = {"model.diffusion_model.", "model.diffusion_model.video_embeddings_connector.",
                "text_embedding_projection.aggregate_embed.", "vae.encoder.", "vae.decoder.",
                "vae.per_channel_statistics.", "audio_vae.encoder.", "audio_vae.decoder.",
                "audio_vae.per_channel_statistics.", "vocoder.", "ltxflow_text_encoder."}  # fmt: skip
    assert all(any(k.startswith(p) for k in keys) for p in prefixes)
    ckpt = Checkpoint.open(path)
    assert set(ckpt.components) == set(COMPONENTS)
    for component in ckpt.components:
        module = ckpt.load(component)  # strict: every key used, every parameter filled
        assert sum(p.numel() for p in module.parameters()) > 0
    assert load_upsampler(up).config.in_channels == config["transformer"]["in_channels"]
    assert path.stat().st_size < 64 * 2**20  # keeps the first demo run quick


def test_cache_env_and_rebuild(tmp_path, monkeypatch, tiny_cache) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    ckpt, up = ensure_tiny_checkpoint()
    assert ckpt.parent == tmp_path / "cache" and ckpt.is_file() and up.is_file()
    first = ckpt.stat().st_mtime_ns
    assert ensure_tiny_checkpoint() == (ckpt, up) and ckpt.stat().st_mtime_ns == first  # cached, not rebuilt
    good = digest(ckpt)
    ckpt.write_bytes(ckpt.read_bytes()[:1000])  # a damaged cache file is refused by the strict loader ...
    with pytest.raises(CheckpointError):
        Checkpoint.open(ckpt)
    ensure_tiny_checkpoint()  # ... and rebuilt on the next use
    assert digest(ckpt) == good


def test_script_in_another_process_gives_the_same_bytes(tmp_path, tiny_cache) -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[3] / "scripts" / "make_tiny_checkpoint.py"
    done = subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], capture_output=True, text=True,
                          check=True)  # fmt: skip
    for built, cached in zip(tiny_paths(tmp_path), tiny_paths(tiny_cache), strict=True):
        assert digest(built) == digest(cached)
        assert f"{digest(built)}  {built}" in done.stdout
