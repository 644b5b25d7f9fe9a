"""TransformerConfig.from_metadata (defaults, shipped sections, loud rejections) and the FLOP formula."""

from __future__ import annotations

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode
from ltx_core.model.transformer.model_configurator import LTXModelConfigurator

from ltxflow.engine.transformer import LTXTransformer, Perturbation, TransformerConfig, TransformerConfigError
from ltxflow.engine.transformer.flops import adaln_flops, block_attention_flops, block_linear_flops, forward_flops

FIXED = {
    "dropout": 0.0, "attention_bias": True, "num_vector_embeds": None, "activation_fn": "gelu-approximate",
    "num_embeds_ada_norm": 1000, "use_linear_projection": False, "only_cross_attention": False,
    "cross_attention_norm": True, "double_self_attention": False, "upcast_attention": False,
    "standardization_norm": "rms_norm", "norm_elementwise_affine": False, "qk_norm": "rms_norm",
    "positional_embedding_type": "rope", "use_audio_video_cross_attention": True, "share_ff": False,
    "av_cross_ada_norm": True, "use_middle_indices_grid": True,
}
# The shape of the shipped LTX-2 19B `transformer` section (vendor and text-connector keys included).
SHIPPED_19B = {
    **FIXED, "_class_name": "AVTransformer3DModel", "_diffusers_version": "0.25.1", "attention_head_dim": 128,
    "attention_type": "default", "audio_attention_head_dim": 64, "audio_cross_attention_dim": 2048,
    "audio_num_attention_heads": 32, "audio_out_channels": 128, "audio_positional_embedding_max_pos": [20],
    "av_ca_timestep_scale_multiplier": 1000.0, "caption_channels": 3840, "causal_temporal_positioning": True,
    "connector_attention_head_dim": 128, "connector_norm_output": True, "connector_num_attention_heads": 30,
    "connector_num_layers": 2, "connector_num_learnable_registers": 128,
    "connector_positional_embedding_max_pos": [4096], "cross_attention_dim": 4096,
    "frequencies_precision": "float64", "in_channels": 128, "norm_eps": 1e-06, "norm_num_groups": 32,
    "num_attention_heads": 32, "num_layers": 48, "out_channels": 128,
    "positional_embedding_max_pos": [20, 2048, 2048], "positional_embedding_theta": 10000.0,
    "rope_type": "split", "timestep_scale_multiplier": 1000, "use_embeddings_connector": True,
}
SHIPPED_22B = {
    **SHIPPED_19B, "apply_gated_attention": True, "audio_connector_attention_head_dim": 64,
    "audio_connector_num_attention_heads": 32, "caption_proj_before_connector": True,
    "caption_proj_input_norm": False, "caption_projection_first_linear": False,
    "caption_projection_second_linear": False, "connector_apply_gated_attention": True,
    "connector_learnable_registers_std": 1, "connector_num_attention_heads": 32, "connector_num_layers": 8,
    "cross_attention_adaln": True, "text_encoder_norm_type": "per_token_rms",
}


@pytest.mark.parametrize("section,expected,params", [
    (SHIPPED_19B, TransformerConfig.ltx2_19b(), 18_876_174_592),
    (SHIPPED_22B, TransformerConfig.ltx23_22b(), 18_988_838_144),
], ids=["19b", "22b"])
def test_shipped_sections_give_shipped_configs_and_reference_keys(section, expected, params):
    config = TransformerConfig.from_metadata(section)
    assert config == expected
    with torch.device("meta"):
        ours = LTXTransformer(config)
        ref = LTXModelConfigurator.from_config({"transformer": section})
    shapes = lambda m: {k: tuple(v.shape) for k, v in m.state_dict().items()}  # noqa: E731
    assert shapes(ours) == shapes(ref)
    assert sum(p.numel() for p in ours.parameters()) == params


def test_absent_keys_take_reference_defaults():
    section = {**FIXED, "caption_channels": 12, "num_layers": 1, "num_attention_heads": 2, "attention_head_dim": 8,
               "cross_attention_dim": 16, "audio_num_attention_heads": 2, "audio_attention_head_dim": 4,
               "audio_cross_attention_dim": 8, "attention_type": "pytorch"}
    config = TransformerConfig.from_metadata(section)
    with torch.device("meta"):
        ref = LTXModelConfigurator.from_config({"transformer": section})
    assert config.rope_type == ref.rope_type.value == "interleaved"
    assert config.double_precision_rope is ref.double_precision_rope is False
    assert config.av_ca_timestep_scale_multiplier == ref.av_ca_timestep_scale_multiplier == 1
    assert config.timestep_scale_multiplier == ref.timestep_scale_multiplier == 1000
    assert list(config.positional_embedding_max_pos) == ref.positional_embedding_max_pos
    assert list(config.audio_positional_embedding_max_pos) == ref.audio_positional_embedding_max_pos
    assert config.positional_embedding_theta == ref.positional_embedding_theta
    assert not config.apply_gated_attention and not config.cross_attention_adaln
    assert not config.caption_proj_before_connector


def test_to_metadata_round_trips():
    for config in (TransformerConfig.tiny_19b(), TransformerConfig.tiny_22b(), TransformerConfig.ltx23_22b()):
        assert TransformerConfig.from_metadata(config.to_metadata()) == config


@pytest.mark.parametrize("change,message", [
    ({"qk_norm": "layer_norm"}, "transformer.qk_norm: is 'layer_norm'"),
    ({"dropout": 0.1}, "transformer.dropout"),
    ({"use_middle_indices_grid": False}, "transformer.use_middle_indices_grid"),
    ({"share_ff": 0}, "transformer.share_ff"),
    ({"rope_type": "spiral"}, "rope_type"),
    ({"frequencies_precision": "float16"}, "frequencies_precision"),
    ({"num_layers": "48"}, "transformer.num_layers: expected a positive integer"),
    ({"num_layers": 0}, "transformer.num_layers"),
    ({"apply_gated_attention": 1}, "transformer.apply_gated_attention: expected true/false"),
    ({"positional_embedding_max_pos": [20, 2048]}, "positional_embedding_max_pos"),
    ({"cross_attention_dim": 3840}, "transformer.cross_attention_dim: 3840 must equal"),
    ({"num_attention_heads": 48}, "cross_attention_dim"),
    ({"attention_bias": None}, "transformer.attention_bias"),
    ({"rope_theta": 1e4}, r"unknown keys \['rope_theta'\]"),
], ids=lambda v: str(v)[:40])
def test_rejects_unsupported_sections(change, message):
    with pytest.raises(TransformerConfigError, match=message):
        TransformerConfig.from_metadata({**SHIPPED_19B, **change})


def test_rejects_missing_fixed_key_like_the_reference():
    section = dict(SHIPPED_19B)
    del section["activation_fn"]
    with pytest.raises(TransformerConfigError, match="transformer.activation_fn: is None"):
        TransformerConfig.from_metadata(section)


def test_19b_needs_caption_channels():
    section = dict(SHIPPED_19B)
    del section["caption_channels"]
    with pytest.raises(TransformerConfigError, match="caption_channels"):
        TransformerConfig.from_metadata(section)


@pytest.mark.parametrize("config", [TransformerConfig.tiny_19b(), TransformerConfig.tiny_22b()], ids=["19b", "22b"])
@pytest.mark.parametrize("frames,audio_len,text_len", [(3, 5, 7), (5, 11, 4)])
def test_flop_formula_equals_a_count_of_the_reference_forward(tref, config, frames, audio_len, text_len):
    """The formula against torch's FlopCounterMode on ltx-core's own model: every matmul of the blocks (linears,
    QK^T and PV through the math SDPA) and of the two per-token sigma AdaLNs, counted op by op. Two token shapes,
    so a wrong quadratic or cross term cannot hide behind a lucky sum."""
    ref, _ = tref.build_pair(config, seed=0)
    case = tref.make_case(config, seed=0, frames=frames, audio_len=audio_len, text_len=text_len)
    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        ref(case.ref_video, case.ref_audio, tref.ref_perturbations([Perturbation()]))
    by_module = {name: sum(ops.values()) for name, ops in counter.get_flop_counts().items()}
    blocks = sum(by_module[f"LTXModel.transformer_blocks.{i}"] for i in range(config.num_layers))
    sigma_mlps = by_module["LTXModel.adaln_single"] + by_module["LTXModel.audio_adaln_single"]
    n_video, n_text = frames * 2 * 3, text_len  # make_case's latent grid is frames x 2 x 3
    per_block = block_linear_flops(config, n_video, audio_len, n_text) + block_attention_flops(
        config, n_video, audio_len, n_text)
    assert config.num_layers * per_block == blocks
    assert adaln_flops(config, n_video, audio_len) == sigma_mlps
    assert forward_flops(config, n_video, audio_len, n_text) == blocks + sigma_mlps


def test_flops_scale_as_the_formula_says():
    c = TransformerConfig.ltx2_19b()
    # attention is quadratic in tokens, linear layers are linear: doubling video tokens quadruples N_v^2 terms
    a1, a2 = block_attention_flops(c, 1000, 0, 0), block_attention_flops(c, 2000, 0, 0)
    assert a2 == 4 * a1
    assert forward_flops(TransformerConfig.ltx23_22b(), 14_080, 121, 1024) > forward_flops(c, 14_080, 121, 1024)
