"""Strict loading through the component registry: exact weights, dtype casts, one error naming every mismatch."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ltx_core.model.transformer.model_configurator import LTXModelConfigurator
from torch import nn

from ltxflow.engine.checkpoint import COMPONENTS, TRANSFORMER, Checkpoint, CheckpointError, load_component
from ltxflow.engine.tiny import tiny_config
from ltxflow.engine.transformer import LTXTransformer

from ._helpers import TINY_CONFIG, official, other_tensors, save, tiny_file, tiny_sd  # noqa: F401

# ours -> diffusers, written out here independently of the loader's own rename table
TO_DIFFUSERS = [
    ("patchify_proj.", "proj_in."), ("audio_patchify_proj.", "audio_proj_in."),
    ("audio_adaln_single.", "audio_time_embed."), ("adaln_single.", "time_embed."),
    ("av_ca_video_scale_shift_adaln_single.", "av_cross_attn_video_scale_shift."),
    ("av_ca_audio_scale_shift_adaln_single.", "av_cross_attn_audio_scale_shift."),
    ("av_ca_a2v_gate_adaln_single.", "av_cross_attn_video_a2v_gate."),
    ("av_ca_v2a_gate_adaln_single.", "av_cross_attn_audio_v2a_gate."),
]


def diffusers_name(key: str) -> str:
    """A tiny-model key under diffusers' naming."""
    for old, new in TO_DIFFUSERS:
        if key.startswith(old):
            return new + key[len(old):]
    key = key.replace(".q_norm.", ".norm_q.").replace(".k_norm.", ".norm_k.")
    key = key.replace("scale_shift_table_a2v_ca_video", "video_a2v_cross_attn_scale_shift_table")
    return key.replace("scale_shift_table_a2v_ca_audio", "audio_a2v_cross_attn_scale_shift_table")


def reference_builder(config: dict) -> nn.Module:
    """ltx-core's own transformer, as the module to load into."""
    return LTXModelConfigurator.from_config(config)


class ShapeModule(nn.Module):
    """A module whose state dict is exactly the given names and shapes (stand-in for components built elsewhere)."""

    def __init__(self, shapes: dict[str, tuple[int, ...]]) -> None:
        super().__init__()
        for name, shape in shapes.items():
            *path, leaf = name.split(".")
            owner: nn.Module = self
            for part in path:
                if not hasattr(owner, part):
                    owner.add_module(part, nn.Module())
                owner = getattr(owner, part)
            owner.register_parameter(leaf, nn.Parameter(torch.empty(shape)))


def test_official_file_loads_exact_weights(tiny_file: Path, tiny_sd: dict) -> None:
    model = load_component(tiny_file, "transformer", reference_builder)
    loaded = model.state_dict()
    assert loaded.keys() == tiny_sd.keys()
    assert all(torch.equal(loaded[k], tiny_sd[k]) for k in tiny_sd)
    assert not any(t.is_meta for t in loaded.values()) and not model.training


def test_dtype_cast(tiny_file: Path, tiny_sd: dict) -> None:
    model = load_component(tiny_file, "transformer", reference_builder, dtype=torch.bfloat16)
    loaded = model.state_dict()
    assert {t.dtype for t in loaded.values()} == {torch.bfloat16}
    assert all(torch.equal(loaded[k], tiny_sd[k].bfloat16()) for k in tiny_sd)


@pytest.mark.parametrize("layout", ["bare", "diffusers"])
def test_other_namings_load_the_same_weights(tmp_path: Path, tiny_sd: dict, layout: str) -> None:
    rename = diffusers_name if layout == "diffusers" else (lambda k: k)
    assert layout == "bare" or any(rename(k) != k for k in tiny_sd)
    path = save(tmp_path / f"{layout}.safetensors", {rename(k): v for k, v in tiny_sd.items()})
    loaded = load_component(path, "transformer", reference_builder).state_dict()
    assert loaded.keys() == tiny_sd.keys()
    assert all(torch.equal(loaded[k], tiny_sd[k]) for k in tiny_sd)


def test_one_error_names_missing_unexpected_and_wrong_shapes(tmp_path: Path, tiny_sd: dict) -> None:
    tensors = official(tiny_sd)
    del tensors["model.diffusion_model.proj_out.bias"], tensors["model.diffusion_model.audio_proj_out.weight"]
    tensors["model.diffusion_model.transformer_blocks.7.attn1.to_q.weight"] = torch.zeros(16, 16)
    tensors["model.diffusion_model.patchify_proj.weight"] = torch.zeros(16, 64)
    path = save(tmp_path / "bad.safetensors", tensors)
    with pytest.raises(CheckpointError) as err:
        load_component(path, "transformer", reference_builder)
    assert str(err.value) == (
        f"{path}: transformer does not match the checkpoint: "
        "missing 2 (audio_proj_out.weight, proj_out.bias); "
        "unexpected 1 (model.diffusion_model.transformer_blocks.7.attn1.to_q.weight); "
        "wrong shape 1 (model.diffusion_model.patchify_proj.weight [16, 64] vs model [16, 128])"
    )


def test_one_open_file_serves_several_components(tiny_file: Path, tiny_sd: dict) -> None:
    ckpt = Checkpoint.open(tiny_file)
    assert ckpt.model_version == "2.0.0" and ckpt.config == TINY_CONFIG
    assert set(ckpt.components) == {
        "transformer", "text_embeddings", "video_encoder", "video_decoder", "audio_encoder", "audio_decoder", "vocoder"
    }
    text_shapes = {ours: ckpt.tensors[f].shape for ours, f in ckpt.keys["text_embeddings"].items()}
    text = ckpt.load("text_embeddings", lambda cfg: ShapeModule(text_shapes))
    other = other_tensors()
    for ours, file_key in ckpt.keys["text_embeddings"].items():
        assert torch.equal(text.state_dict()[ours], other[file_key])
    assert torch.equal(ckpt.load("transformer", reference_builder).state_dict()["proj_out.bias"],
                       tiny_sd["proj_out.bias"])


def test_missing_component_and_unknown_component(tmp_path: Path, tiny_sd: dict) -> None:
    path = save(tmp_path / "t.safetensors", {"model.diffusion_model." + k: v for k, v in tiny_sd.items()})
    with pytest.raises(CheckpointError) as err:
        load_component(path, "vocoder", lambda cfg: nn.Linear(1, 1))
    assert str(err.value) == f"{path} has no vocoder weights (components present: transformer)"
    with pytest.raises(CheckpointError, match="unknown checkpoint component 'unet'; known: transformer, "):
        load_component(path, "unet", lambda cfg: nn.Linear(1, 1))


def test_missing_config_section(tmp_path: Path) -> None:
    path = save(tmp_path / "v.safetensors", {"vocoder.conv_pre.weight": torch.zeros(2)},
                config={"transformer": {}})
    with pytest.raises(CheckpointError, match="config metadata has no 'vocoder' section for vocoder"):
        load_component(path, "vocoder", lambda cfg: ShapeModule({"conv_pre.weight": (2,)}))


class WithScratchBuffer(nn.Module):
    """A module with a non-persistent buffer, which a checkpoint can never fill."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_pre = nn.Conv1d(4, 8, 7, bias=False)
        self.conv_post = nn.Conv1d(8, 2, 7, bias=False)
        self.register_buffer("window", torch.ones(3), persistent=False)


def test_tensors_left_on_meta_are_an_error(tiny_file: Path) -> None:
    with pytest.raises(CheckpointError, match=r"left tensors .* on the meta device .*: 1 \(window\)"):
        load_component(tiny_file, "vocoder", lambda cfg: WithScratchBuffer())


def test_a_typed_component_loads_as_its_builders_type(tiny_file: Path, tiny_sd: dict) -> None:
    model = Checkpoint.open(tiny_file).load(TRANSFORMER)  # no builder given: the registered, typed one
    assert isinstance(model, LTXTransformer)
    assert torch.equal(model.state_dict()["proj_out.bias"], tiny_sd["proj_out.bias"])


def test_video_encoder_loads_through_the_registry(tmp_path: Path) -> None:
    from ltx_core.model.video_vae import VideoEncoderConfigurator

    from ltxflow.engine.video_vae.config import VideoVAEConfig

    config = {"vae": VideoVAEConfig.tiny_v2().to_vae_section()}
    with torch.device("meta"):
        reference = VideoEncoderConfigurator.from_config(config)
    gen = torch.Generator().manual_seed(3)
    sd = {k: torch.randn(v.shape, generator=gen) for k, v in reference.state_dict().items()}
    tensors = {
        (f"vae.{k}" if k.startswith("per_channel_statistics.") else f"vae.encoder.{k}"): v for k, v in sd.items()
    }
    path = save(tmp_path / "vae.safetensors", tensors, config=config)
    encoder = load_component(path, "video_encoder")  # builder from COMPONENTS: our video VAE encoder
    assert type(encoder).__module__.startswith("ltxflow.engine.video_vae")
    loaded = encoder.state_dict()
    assert loaded.keys() == sd.keys() and all(torch.equal(loaded[k], sd[k]) for k in sd)



@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_registered_builders_build_every_component_on_meta(name: str) -> None:
    with torch.device("meta"):
        module = COMPONENTS[name].build(tiny_config())
    assert COMPONENTS[name].name == name and len(module.state_dict()) > 0
