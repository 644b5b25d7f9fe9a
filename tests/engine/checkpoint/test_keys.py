"""Key routing: official, ComfyUI-prefixed, bare and diffusers names all land on the same components and names."""

from __future__ import annotations

from pathlib import Path

import pytest

from ltxflow.engine.checkpoint import COMPONENTS, CheckpointError, route

KEYS = Path("/work/shared/ltx2-keys")


def key_list(name: str, section: str) -> list[str]:
    """Names from a shipped key list: section "transformer" (plain lines) or "EP" (text embeddings processor)."""
    lines = (KEYS / name).read_text().splitlines()
    if section == "EP":
        return [line.split()[1] for line in lines if line.startswith("EP ")]
    return [line.split()[0] for line in lines if line and not line.startswith(("[", "EP "))]


@pytest.mark.parametrize("size", ["19b", "22b"])
def test_official_layout_routes_transformer_and_text_stack(size: str) -> None:
    transformer = key_list(f"ltxcore_keys_{size}.txt", "transformer")
    processor = key_list(f"ltxcore_keys_{size}.txt", "EP")
    file_keys = ["model.diffusion_model." + k for k in transformer]
    for k in processor:  # back to the file's names (ltx-core's EMBEDDINGS_PROCESSOR_KEY_OPS in reverse)
        if k.startswith("feature_extractor."):
            file_keys.append("text_embedding_projection." + k.removeprefix("feature_extractor."))
        else:
            modality, rest = k.split("_connector.", 1)
            file_keys.append(f"model.diffusion_model.{modality}_embeddings_connector.{rest}")
    table = route(file_keys)
    assert set(table) == {"transformer", "text_embeddings"}
    assert table["transformer"] == {k: "model.diffusion_model." + k for k in transformer}
    assert sorted(table["text_embeddings"]) == sorted(processor)


@pytest.mark.parametrize("size", ["19b", "22b"])
def test_diffusers_and_bare_names_route_like_comfy(size: str) -> None:
    ours = key_list(f"ltxcore_keys_{size}.txt", "transformer")
    ours_1layer = [k for k in ours if not k.startswith("transformer_blocks.") or k.startswith("transformer_blocks.0.")]
    comfy = route(["model.diffusion_model." + k for k in ours_1layer])["transformer"]
    bare = route(ours_1layer)["transformer"]
    diffusers = route(key_list(f"diffusers_keys_{size}_1layer.txt", "transformer"))["transformer"]
    assert set(comfy) == set(bare) == set(diffusers) == set(ours_1layer)
    assert diffusers["patchify_proj.weight"] == "proj_in.weight"
    assert diffusers["transformer_blocks.0.attn1.q_norm.weight"] == "transformer_blocks.0.attn1.norm_q.weight"
    assert (
        diffusers["transformer_blocks.0.scale_shift_table_a2v_ca_video"]
        == "transformer_blocks.0.video_a2v_cross_attn_scale_shift_table"
    )


def test_diffusers_connectors() -> None:
    table = route([
        "text_proj_in.weight",
        "video_text_proj_in.bias",
        "audio_text_proj_in.weight",
        "video_connector.learnable_registers",
        "video_connector.transformer_blocks.0.attn1.norm_q.weight",
        "audio_connector.transformer_blocks.1.ff.net.2.bias",
    ])
    assert table == {"text_embeddings": {
        "feature_extractor.aggregate_embed.weight": "text_proj_in.weight",
        "feature_extractor.video_aggregate_embed.bias": "video_text_proj_in.bias",
        "feature_extractor.audio_aggregate_embed.weight": "audio_text_proj_in.weight",
        "video_connector.learnable_registers": "video_connector.learnable_registers",
        "video_connector.transformer_1d_blocks.0.attn1.q_norm.weight":
            "video_connector.transformer_blocks.0.attn1.norm_q.weight",
        "audio_connector.transformer_1d_blocks.1.ff.net.2.bias": "audio_connector.transformer_blocks.1.ff.net.2.bias",
    }}


def test_vae_audio_vocoder_prefixes_and_shared_statistics() -> None:
    table = route([
        "vae.encoder.conv_in.conv.weight",
        "vae.decoder.up_blocks.0.res_blocks.0.conv1.conv.weight",
        "vae.per_channel_statistics.mean-of-means",
        "vae.per_channel_statistics.std-of-means",
        "vae.per_channel_statistics.channel",
        "vae.per_channel_statistics.mean-of-stds",
        "audio_vae.encoder.conv_in.conv.weight",
        "audio_vae.decoder.conv_out.conv.bias",
        "audio_vae.per_channel_statistics.std-of-means",
        "vocoder.vocoder.conv_pre.weight",
        "vocoder.bwe_generator.conv_post.weight",
        "vocoder.mel_stft.mel_basis",
    ])
    stats = {
        "per_channel_statistics.mean-of-means": "vae.per_channel_statistics.mean-of-means",
        "per_channel_statistics.std-of-means": "vae.per_channel_statistics.std-of-means",
    }
    audio_stats = {"per_channel_statistics.std-of-means": "audio_vae.per_channel_statistics.std-of-means"}
    assert table == {
        "video_encoder": {"conv_in.conv.weight": "vae.encoder.conv_in.conv.weight", **stats},
        "video_decoder": {
            "up_blocks.0.res_blocks.0.conv1.conv.weight": "vae.decoder.up_blocks.0.res_blocks.0.conv1.conv.weight",
            **stats,
        },
        "audio_encoder": {"conv_in.conv.weight": "audio_vae.encoder.conv_in.conv.weight", **audio_stats},
        "audio_decoder": {"conv_out.conv.bias": "audio_vae.decoder.conv_out.conv.bias", **audio_stats},
        "vocoder": {
            "vocoder.conv_pre.weight": "vocoder.vocoder.conv_pre.weight",
            "bwe_generator.conv_post.weight": "vocoder.bwe_generator.conv_post.weight",
            "mel_stft.mel_basis": "vocoder.mel_stft.mel_basis",
        },
    }


def test_unknown_keys_are_an_error_listing_them() -> None:
    with pytest.raises(CheckpointError) as err:
        route(["model.diffusion_model.proj_out.bias", "first_stage_model.x", "cond_stage_model.y"])
    assert str(err.value) == "2 checkpoint key(s) match no routing rule: cond_stage_model.y, first_stage_model.x"


def test_feature_extractor_prefix_is_strict() -> None:
    with pytest.raises(CheckpointError, match="text_embedding_projection.something_new.weight"):
        route(["text_embedding_projection.something_new.weight"])


def test_bare_names_outside_the_transformer_are_not_guessed() -> None:
    with pytest.raises(CheckpointError, match="lm_head.weight"):
        route(["proj_out.weight", "lm_head.weight"])


def test_two_file_keys_for_one_weight_collide() -> None:
    with pytest.raises(CheckpointError) as err:
        route(["model.diffusion_model.proj_out.bias", "proj_out.bias"])
    assert "collide after renaming" in str(err.value) and "transformer.proj_out.bias" in str(err.value)


def test_every_component_has_rules() -> None:
    for spec in COMPONENTS.values():
        assert spec.rules, spec.name
