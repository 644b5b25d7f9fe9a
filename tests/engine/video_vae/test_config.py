"""VideoVAEConfig parsing: reference defaults, shipped layouts, loud errors, meta-device builders."""

from __future__ import annotations

import pytest
import torch

from ltxflow.engine.video_vae import VideoVAEConfig, VideoVAEError, build_decoder, build_encoder

# The shape of the shipped LTX-2 ("2.0") `vae` metadata section, with vendor keys we do not read.
SHIPPED_V2 = {
    "_class_name": "CausalVideoAutoencoder",
    "dims": 3,
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 128,
    "encoder_blocks": [
        ["res_x", {"num_layers": 4}], ["compress_space_res", {"multiplier": 2}],
        ["res_x", {"num_layers": 6}], ["compress_time_res", {"multiplier": 2}],
        ["res_x", {"num_layers": 6}], ["compress_all_res", {"multiplier": 2}],
        ["res_x", {"num_layers": 2}], ["compress_all_res", {"multiplier": 2}], ["res_x", {"num_layers": 2}],
    ],
    "decoder_blocks": [
        ["res_x", {"num_layers": 5, "inject_noise": False}], ["compress_all", {"residual": True, "multiplier": 2}],
        ["res_x", {"num_layers": 5, "inject_noise": False}], ["compress_all", {"residual": True, "multiplier": 2}],
        ["res_x", {"num_layers": 5, "inject_noise": False}], ["compress_all", {"residual": True, "multiplier": 2}],
        ["res_x", {"num_layers": 5, "inject_noise": False}],
    ],
    "scaling_factor": 1.0,
    "norm_layer": "pixel_norm",
    "patch_size": 4,
    "latent_log_var": "uniform",
    "use_quant_conv": False,
    "causal_decoder": False,
    "timestep_conditioning": False,
}  # fmt: skip


def test_shipped_v2_section_parses_with_factors_and_defaults() -> None:
    cfg = VideoVAEConfig.from_checkpoint_config({"vae": SHIPPED_V2, "transformer": {}})
    assert (cfg.time_factor, cfg.space_factor) == (8, 32)
    assert len(cfg.encoder_blocks) == 9 and len(cfg.decoder_blocks) == 7
    assert cfg.decoder_blocks[1].residual and cfg.decoder_blocks[1].multiplier == 2
    assert cfg.encoder_padding == "zeros" and cfg.decoder_padding == "reflect"  # key absent: reference defaults
    assert cfg.decoder_base_channels == 128 and cfg.timestep_conditioning is False


def test_absent_timestep_conditioning_defaults_to_true_like_the_reference() -> None:
    section = {k: v for k, v in SHIPPED_V2.items() if k != "timestep_conditioning"}
    assert VideoVAEConfig.from_vae_section(section).timestep_conditioning is True


def test_shipped_size_builds_on_meta_with_reference_parameter_count() -> None:
    from ltx_core.model.video_vae import VideoDecoderConfigurator, VideoEncoderConfigurator

    config = {"vae": SHIPPED_V2}
    ours_enc, ours_dec = build_encoder(config), build_decoder(config)
    assert all(p.device.type == "meta" for p in ours_enc.parameters())
    with torch.device("meta"):
        ref_enc = VideoEncoderConfigurator.from_config(config)
        ref_dec = VideoDecoderConfigurator.from_config(config)
    for ours, ref in ((ours_enc, ref_enc), (ours_dec, ref_dec)):
        ours_shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
        assert ours_shapes == {k: tuple(v.shape) for k, v in ref.state_dict().items()}


@pytest.mark.parametrize("layout", [VideoVAEConfig.tiny_v2, VideoVAEConfig.tiny_v23])
def test_section_round_trip(layout) -> None:
    cfg = layout()
    assert VideoVAEConfig.from_vae_section(cfg.to_vae_section()) == cfg


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"norm_layer": "group_norm"}, "norm_layer"),
        ({"dims": 2}, "dims"),
        ({"latent_log_var": "none"}, "latent_log_var"),
        ({"spatial_padding_mode": "mirror"}, "spatial_padding_mode"),
        ({"latent_channels": 0}, "latent_channels"),
        ({"causal_decoder": "no"}, "causal_decoder"),
        ({"encoder_blocks": [["res_x", {"num_layers": 1}], ["warp", 1]]}, r"encoder_blocks'\]\[1\]: block 'warp'"),
        ({"decoder_blocks": [["res_x", {"num_layers": 1, "inject_noise": True}]]}, "inject_noise"),
        ({"decoder_blocks": [["attn_res_x", {"num_layers": 1}]]}, "attn_res_x"),
        ({"decoder_blocks": [["compress_all", {"multiplier": 0}]]}, "multiplier"),
        ({"encoder_blocks": "res_x"}, "must be a list"),
    ],
)
def test_unsupported_values_raise_one_line_errors(change: dict, message: str) -> None:
    with pytest.raises(VideoVAEError, match=message) as info:
        VideoVAEConfig.from_vae_section({**SHIPPED_V2, **change})
    assert "\n" not in str(info.value)
