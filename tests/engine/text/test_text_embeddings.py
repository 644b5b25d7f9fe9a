"""Text side vs ltx-core 1.0.0: feature extractors V1/V2, connectors and the whole embeddings processor.

Tiny configurations (Gemma width 8-12 x 3 layers, 2-head connectors, 4 registers, 16 tokens); both models load ONE
seeded state dict strictly. Parity runs in float64 (FP64_TOL below); the connectors' RoPE positions are float32
integers on both sides (exact) and their angles a float32 island that both compute with the same ops.
"""

import pytest
import torch
from ltx_core.model.transformer.rope import LTXRopeType
from ltx_core.text_encoders.gemma.embeddings_connector import Embeddings1DConnector
from ltx_core.text_encoders.gemma.embeddings_processor import EmbeddingsProcessor
from ltx_core.text_encoders.gemma.feature_extractor import (
    FeatureExtractorV1,
    FeatureExtractorV2,
    _norm_and_concat_padded_batch,
    norm_and_concat_per_token_rms,
)

from ltxflow.engine.text import (
    CHECKPOINT_PREFIXES,
    RANGE_NORM,
    TOKEN_RMS,
    ConnectorConfig,
    TextConfig,
    TextConfigError,
    TextEmbeddings,
    build_text_embeddings,
    range_norm_features,
    token_rms_features,
)

T = 16
# float64, max|a - b| / max|b|: the same float64 ops on both sides, so a few eps64 = 1.1e-16 roundings per op times
# accumulation lengths (<= 188 features) times depth (extractor + <= 3 connector blocks of ~20 ops): <= ~1e-12
# (measured 0.0). 1e-10 keeps margin and is far below any real bug (a wrong mask or register moves it by O(1)).
FP64_TOL = 1e-10


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


def left_padded_mask(valid: list[int]) -> torch.Tensor:
    return torch.stack([torch.arange(T) >= T - n for n in valid]).long()  # (B, T)


def reference_processor(config: TextConfig) -> EmbeddingsProcessor:
    def connector(conn: ConnectorConfig) -> Embeddings1DConnector:
        return Embeddings1DConnector(
            attention_head_dim=conn.head_dim,
            num_attention_heads=conn.heads,
            num_layers=conn.layers,
            positional_embedding_max_pos=list(config.rope_max_pos),
            num_learnable_registers=config.registers,
            rope_type=LTXRopeType(config.rope_layout),
            double_precision_rope=config.rope_float64,
            apply_gated_attention=config.gated,
        )

    lin = torch.nn.Linear
    if config.feature_norm == RANGE_NORM:
        extractor = FeatureExtractorV1(lin(config.flat_width, config.gemma_width, bias=False), is_av=True)
    else:
        extractor = FeatureExtractorV2(
            lin(config.flat_width, config.video.width), config.gemma_width, lin(config.flat_width, config.audio.width)
        )
    proc = EmbeddingsProcessor(
        feature_extractor=extractor, video_connector=connector(config.video), audio_connector=connector(config.audio)
    )
    return proc.double()  # registers are created in bf16 there


def shared_models(config: TextConfig, seed: int = 0) -> tuple[TextEmbeddings, EmbeddingsProcessor]:
    ref = reference_processor(config)
    g = torch.Generator().manual_seed(seed)
    sd = {k: (torch.randn(v.shape, generator=g) * (0.3 if v.ndim == 2 else 1.0)).double()
          for k, v in ref.state_dict().items()}
    ref.load_state_dict(sd, strict=True)
    with torch.device("meta"):
        ours = TextEmbeddings(config)
    ours.load_state_dict(sd, strict=True, assign=True)
    return ours, ref


def gemma_states(config: TextConfig, batch: int, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, T, config.gemma_width, config.gemma_layers, generator=g, dtype=torch.float64) * 3 + 0.5


# ---------------------------------------------------------------------------------------------------------------------
# Feature normalisation
# ---------------------------------------------------------------------------------------------------------------------


def test_range_norm_matches_reference() -> None:
    hidden = gemma_states(TextConfig.tiny_19b(), batch=3)
    mask = left_padded_mask([5, 16, 1])
    ours = range_norm_features(hidden, mask)
    ref = _norm_and_concat_padded_batch(hidden, mask.sum(-1), padding_side="left")
    assert ours.dtype == torch.float64 and rel_err(ours, ref) <= FP64_TOL
    assert ours[0, : T - 5].abs().sum() == 0  # pads are zero
    # within the valid tokens of each sample and layer the range is 8 R / (R + 1e-6): the formula's eps shortens it
    layer0 = ours[0, T - 5 :].reshape(5, 8, 3)[..., 0]
    valid = hidden[0, T - 5 :, :, 0]
    r = valid.max() - valid.min()
    assert (layer0.max() - layer0.min()).item() == pytest.approx((8 * r / (r + 1e-6)).item(), rel=FP64_TOL)


def test_token_rms_matches_reference() -> None:
    hidden = gemma_states(TextConfig.tiny_22b(), batch=2)
    mask = left_padded_mask([7, 12])
    assert torch.equal(token_rms_features(hidden, mask), norm_and_concat_per_token_rms(hidden, mask))


# ---------------------------------------------------------------------------------------------------------------------
# Whole text embeddings (feature extractor + both connectors)
# ---------------------------------------------------------------------------------------------------------------------

CONFIGS = {
    "19b": TextConfig.tiny_19b(),
    "22b": TextConfig.tiny_22b(),
    "22b-interleaved-fp32ladder": TextConfig(
        TOKEN_RMS, ConnectorConfig(2, 4, 1), ConnectorConfig(2, 2, 3), gemma_width=12, gemma_layers=3, registers=8,
        rope_max_pos=(1,), rope_layout="interleaved", rope_float64=False, gated=False,
    ),  # fmt: skip
}


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("valid", [3, 9, 16])
def test_text_embeddings_match_reference(name: str, valid: int) -> None:
    config = CONFIGS[name]
    ours, ref = shared_models(config)
    hidden, mask = gemma_states(config, batch=1), left_padded_mask([valid])
    want = ref.process_hidden_states(hidden, mask, padding_side="left")
    video, audio = ours(hidden, mask)
    assert video.shape == (1, T, config.video.width) and audio.shape == (1, T, config.audio.width)
    assert video.dtype == want.video_encoding.dtype == torch.float64
    assert rel_err(video, want.video_encoding) <= FP64_TOL
    assert rel_err(audio, want.audio_encoding) <= FP64_TOL
    assert bool(want.attention_mask.all())  # the reference also marks every position valid
    # a list of per-layer states is accepted as well
    v2, _ = ours([hidden[..., i] for i in range(config.gemma_layers)], mask)
    assert torch.equal(v2, video)


def test_connector_alone_matches_reference() -> None:
    config = TextConfig.tiny_22b()
    ours, ref = shared_models(config, seed=4)
    g = torch.Generator().manual_seed(9)
    x = torch.randn(1, T, config.video.width, generator=g, dtype=torch.float64)
    mask = left_padded_mask([6])
    additive = (mask - 1).double().view(1, 1, 1, T) * torch.finfo(torch.float64).max
    want, _ = ref.video_connector(x, additive)
    assert rel_err(ours.video_connector(x, mask), want) <= FP64_TOL


def test_batch_items_are_independent() -> None:
    # the reference's register replacement is written for batch 1; ours handles any batch
    config = TextConfig.tiny_19b()
    ours, _ = shared_models(config)
    hidden, mask = gemma_states(config, batch=2), left_padded_mask([4, 11])
    video, audio = ours(hidden, mask)
    for b in range(2):
        v1, a1 = ours(hidden[b : b + 1], mask[b : b + 1])
        assert rel_err(video[b : b + 1], v1) <= FP64_TOL  # only the batch size of each GEMM differs
        assert rel_err(audio[b : b + 1], a1) <= FP64_TOL


def test_registers_fill_the_padding() -> None:
    config = TextConfig.tiny_19b()
    ours, _ = shared_models(config)
    x = torch.arange(T, dtype=torch.float64).view(1, T, 1).expand(1, T, 8) + 100
    filled = ours.video_connector.fill_registers(x, left_padded_mask([3]))
    assert filled[0, :3, 0].tolist() == [113.0, 114.0, 115.0]  # the 3 real tokens, moved to the front
    regs = ours.video_connector.learnable_registers
    assert torch.equal(filled[0, 3:], regs.repeat(T // 4, 1)[3:])  # register i % 4 at position i


def test_bad_inputs() -> None:
    ours, _ = shared_models(TextConfig.tiny_19b())
    with pytest.raises(ValueError, match=r"width 9 x 3 layers, expected 8 x 3"):
        ours(torch.zeros(1, T, 9, 3, dtype=torch.float64), left_padded_mask([3]))
    with pytest.raises(ValueError, match=r"attention mask shape \(1, 15\)"):
        ours(torch.zeros(1, T, 8, 3, dtype=torch.float64), torch.ones(1, 15))
    with pytest.raises(ValueError, match="not a multiple of the 4 connector registers"):
        ours(torch.zeros(1, 10, 8, 3, dtype=torch.float64), torch.ones(1, 10))


# ---------------------------------------------------------------------------------------------------------------------
# Config from checkpoint metadata, state-dict keys
# ---------------------------------------------------------------------------------------------------------------------

META_19B = {"connector_num_layers": 2, "connector_num_attention_heads": 30, "connector_attention_head_dim": 128,
            "connector_positional_embedding_max_pos": [4096], "rope_type": "split", "frequencies_precision": "float64",
            "caption_channels": 3840}  # fmt: skip
META_22B = {**META_19B, "connector_num_layers": 8, "connector_num_attention_heads": 32,
            "audio_connector_num_attention_heads": 32, "audio_connector_attention_head_dim": 64,
            "connector_apply_gated_attention": True, "text_encoder_norm_type": "per_token_rms",
            "caption_proj_before_connector": True, "caption_projection_first_linear": False,
            "caption_proj_input_norm": False, "caption_projection_second_linear": False,
            "num_attention_heads": 32, "attention_head_dim": 128, "audio_num_attention_heads": 32,
            "audio_attention_head_dim": 64}  # fmt: skip


def test_config_from_shipped_metadata() -> None:
    c19 = TextConfig.from_metadata(META_19B)
    assert (c19.feature_norm, c19.video.width, c19.audio.width, c19.video.layers) == (RANGE_NORM, 3840, 3840, 2)
    assert (c19.rope_max_pos, c19.rope_layout, c19.rope_float64, c19.gated, c19.flat_width) == (
        (4096,), "split", True, False, 188160)  # fmt: skip
    c22 = TextConfig.from_metadata(META_22B)
    assert (c22.feature_norm, c22.video.width, c22.audio.width, c22.audio.layers, c22.gated) == (
        TOKEN_RMS, 4096, 2048, 8, True)  # fmt: skip


def test_state_dict_keys_match_shipped_key_lists() -> None:
    with torch.device("meta"):
        model = build_text_embeddings({"transformer": META_22B})
    shipped = {}
    for line in open("/work/shared/ltx2-keys/ltxcore_keys_22b.txt"):
        parts = line.split(" ", 2)
        if parts[0] == "EP":
            shipped[parts[1]] = tuple(int(s) for s in parts[2].strip("()\n ,").split(",") if s.strip())
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    # the shipped list shows block 0 of each connector; the other 7 blocks repeat its keys
    assert {k: v for k, v in ours.items() if "_blocks." not in k or "_blocks.0." in k} == shipped
    assert len(ours) == len(shipped) + 7 * 2 * 16  # 16 tensors per gated block
    assert CHECKPOINT_PREFIXES["model.diffusion_model.video_embeddings_connector."] == "video_connector."


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"caption_proj_input_norm": True}, "unsupported text projection: caption_proj_input_norm=True"),
        ({"caption_projection_first_linear": None}, "unsupported text projection"),
        ({"rope_type": "spiral"}, "rope_type='spiral' is not 'split' or 'interleaved'"),
        ({"text_encoder_norm_type": "range"}, "text_encoder_norm_type='range' does not match"),
        ({"audio_attention_head_dim": 128}, "audio connector width 2048 != transformer audio width 4096"),
    ],
)
def test_config_rejects_unsupported_metadata(change: dict, message: str) -> None:
    with pytest.raises(TextConfigError, match=message):
        TextConfig.from_metadata({**META_22B, **change})


def test_config_rejects_partial_v2_and_width_mismatch() -> None:
    with pytest.raises(TextConfigError, match="partial text-projection keys, missing caption_proj_input_norm"):
        TextConfig.from_metadata({**META_19B, "caption_proj_before_connector": True,
                                  "caption_projection_first_linear": False, "caption_projection_second_linear": False})  # fmt: skip
    with pytest.raises(TextConfigError, match="video connector width 4096 != caption_channels 3840"):
        TextConfig.from_metadata({**META_19B, "connector_num_attention_heads": 32})
