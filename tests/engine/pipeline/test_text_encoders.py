"""Text encoders: Gemma-3 (tiny random config, local folder) vs ltx-core's Gemma path, the tiny byte encoder,
precomputed contexts and the per-prompt cache.

The Gemma model and tokenizer are built in the test (no download): a 2-layer Gemma-3 text model of width 16 and a
WordLevel tokenizer, saved to tmp_path. Both sides tokenize to 1024 left-padded tokens, run the same weights and
share one seeded feature-extractor/connector state dict. Parity runs in float64 (FP64_TOL below).
"""

import pytest
import torch
from ltx_core.model.transformer.rope import LTXRopeType
from ltx_core.text_encoders.gemma.embeddings_connector import Embeddings1DConnector
from ltx_core.text_encoders.gemma.embeddings_processor import EmbeddingsProcessor
from ltx_core.text_encoders.gemma.encoders.base_encoder import GemmaTextEncoder as RefGemmaEncoder
from ltx_core.text_encoders.gemma.feature_extractor import FeatureExtractorV1
from ltx_core.text_encoders.gemma.tokenizer import LTXVGemmaTokenizer

from ltxflow.engine.text import RANGE_NORM, ConnectorConfig, TextConfig, TextEmbeddings
from ltxflow.engine.text.encoders import (
    CachedTextEncoder,
    GemmaTextEncoder,
    PrecomputedTextEncoder,
    TextEncoderError,
    TinyTextEncoder,
    save_precomputed,
)
from ltxflow.engine.text.tiny_encoder import TinyTextConfig, TinyTextModel, byte_tokens

WIDTH, LAYERS = 16, 2  # Gemma hidden size and layers -> 3 hidden states
WORDS = ["a", "lamp", "on", "desk", "warm", "light", "night", "the", "camera", "orbits", "soft", "click", "hum"]


# float64, max|a - b| / max|b|: the same float64 ops on both sides, a few eps64 = 1.1e-16 roundings per op times
# accumulation lengths (<= 48 features) times depth (extractor + 1 connector block, ~20 ops): <= ~1e-13 (measured
# 0.0); 1e-10 keeps margin and is far below any real bug (a misplaced pad or register moves the output by O(1)).
FP64_TOL = 1e-10
# Hugging Face's Gemma-3 computes its RMSNorms and softmaxes in float32 whatever the model dtype (x.float() in
# Gemma3RMSNorm, softmax(dtype=float32)). A batch of two runs its GEMMs with twice the rows; if that changes a
# float64 rounding (~1e-16), a float32 island may round to the neighbouring value: <= 2^-23 relative per island
# output, over the 7 islands on the path (2 norms + 1 softmax per layer x 2 layers, the final norm), each followed
# by layers of gain <= 1 (std-0.02 init, residual stream); the range normalisation 8 (x - mean) / range then
# scales errors relative to the largest value by at most 8 (its output peaks at >= 4, and range >= max|x| since
# the states take both signs).
GEMMA_BATCH_TOL = 7 * 8 * 2.0**-23  # 6.7e-6 (measured 0.0)


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.fixture(scope="module", params=["text-only", "multimodal"])
def gemma_dir(request, tmp_path_factory):
    """A tiny random Gemma-3 (text-only causal LM, or the image-text layout the real 12B folder has) and a
    word-level tokenizer in one local folder."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import Gemma3Config, Gemma3ForCausalLM, Gemma3ForConditionalGeneration, Gemma3TextConfig
    from transformers import PreTrainedTokenizerFast, SiglipVisionConfig

    folder = tmp_path_factory.mktemp("gemma")
    vocab = {tok: i for i, tok in enumerate(["<pad>", "<eos>", "<bos>", "<unk>", *WORDS])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", bos_token="<bos>",
                                   unk_token="<unk>")
    fast.save_pretrained(folder)
    config = Gemma3TextConfig(vocab_size=len(vocab) + 3, hidden_size=WIDTH, intermediate_size=32,
                              num_hidden_layers=LAYERS,
                              num_attention_heads=2, num_key_value_heads=1, head_dim=8, sliding_window=16,
                              max_position_embeddings=1024, pad_token_id=0, eos_token_id=1, bos_token_id=2)
    torch.manual_seed(0)
    if request.param == "text-only":
        Gemma3ForCausalLM(config).float().eval().save_pretrained(folder)
        return folder, Gemma3ForCausalLM
    vision = SiglipVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                                image_size=28, patch_size=14)
    full = Gemma3Config(text_config=config, vision_config=vision, mm_tokens_per_image=4, boi_token_index=len(vocab),
                        eoi_token_index=len(vocab) + 1, image_token_index=len(vocab) + 2)
    Gemma3ForConditionalGeneration(full).float().eval().save_pretrained(folder)
    return folder, Gemma3ForConditionalGeneration


def text_config() -> TextConfig:
    conn = ConnectorConfig(heads=2, head_dim=WIDTH // 2, layers=1)
    return TextConfig(RANGE_NORM, conn, conn, gemma_width=WIDTH, gemma_layers=LAYERS + 1, rope_max_pos=(4096,),
                      rope_layout="split", rope_float64=True)


def shared_embeddings(config: TextConfig) -> tuple[TextEmbeddings, EmbeddingsProcessor]:
    """Our TextEmbeddings and ltx-core's EmbeddingsProcessor holding one seeded state dict."""

    def connector() -> Embeddings1DConnector:
        return Embeddings1DConnector(attention_head_dim=config.video.head_dim, num_attention_heads=config.video.heads,
                                     num_layers=1, positional_embedding_max_pos=[4096], num_learnable_registers=128,
                                     rope_type=LTXRopeType.SPLIT, double_precision_rope=True)

    extractor = FeatureExtractorV1(torch.nn.Linear(config.flat_width, WIDTH, bias=False), is_av=True)
    ref = EmbeddingsProcessor(feature_extractor=extractor, video_connector=connector(), audio_connector=connector())
    ref = ref.double()
    g = torch.Generator().manual_seed(3)
    sd = {k: (torch.randn(v.shape, generator=g) * 0.3).double() for k, v in sorted(ref.state_dict().items())}
    ref.load_state_dict(sd, strict=True)
    with torch.device("meta"):
        ours = TextEmbeddings(config)
    ours.load_state_dict(sd, strict=True, assign=True)
    return ours.eval(), ref.eval()


def test_gemma_encoder_matches_ltx_core(gemma_dir) -> None:
    folder, model_class = gemma_dir
    ours_emb, ref_emb = shared_embeddings(text_config())
    encoder = GemmaTextEncoder(folder, ours_emb, dtype=torch.float64)
    ref = RefGemmaEncoder(model=model_class.from_pretrained(folder, dtype=torch.float64).eval(),
                          tokenizer=LTXVGemmaTokenizer(str(folder), 1024), dtype=torch.float64)
    prompts = ["  a lamp on the desk at night ", "warm light soft click"]
    ids, mask = encoder.tokenize(prompts)
    assert ids.shape == (2, 1024) and mask[:, -1].all() and not mask[:, 0].any()  # left padded to 1024
    assert mask[0].sum() == 7  # stripped, one token per word
    video, audio = encoder.encode(prompts)
    assert video.shape == audio.shape == (2, 1024, WIDTH) and video.dtype == torch.float64
    with torch.inference_mode():
        for i, prompt in enumerate(prompts):
            states, ref_mask = ref.encode(prompt)
            assert len(states) == LAYERS + 1 and states[-1].dtype == torch.float64
            assert torch.equal(ref_mask[0], mask[i])
            out = ref_emb.process_hidden_states(states, ref_mask)
            # one prompt alone: the same Gemma kernels on the same shapes as ltx-core's call, so its float32
            # islands see the same inputs; what differs is float64 only
            one_v, one_a = encoder.encode([prompt])
            assert rel_err(one_v[0], out.video_encoding[0]) <= FP64_TOL
            assert rel_err(one_a[0], out.audio_encoding[0]) <= FP64_TOL
            assert rel_err(video[i], out.video_encoding[0]) <= GEMMA_BATCH_TOL  # batched: see the bound
            assert rel_err(audio[i], out.audio_encoding[0]) <= GEMMA_BATCH_TOL


def test_gemma_encoder_errors(tmp_path) -> None:
    ours, _ = shared_embeddings(text_config())
    with pytest.raises(TextEncoderError, match="no config.json"):
        GemmaTextEncoder(tmp_path, ours)


def test_tiny_encoder_tokens_and_contexts() -> None:
    ids, mask = byte_tokens(["  hi ", "é", ""], 8)
    assert ids[0].tolist() == [0] * 6 + [ord("h") + 1, ord("i") + 1]  # stripped, left padded, byte + 1
    assert mask[1].tolist() == [0] * 6 + [1, 1]  # two UTF-8 bytes
    assert mask[2].sum() == 0
    config = TinyTextConfig(width=16, layers=2, heads=2, max_length=128)
    model = TinyTextModel(config)
    torch.manual_seed(0)
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.3)
    conn = ConnectorConfig(heads=2, head_dim=8, layers=1)
    emb = TextEmbeddings(TextConfig(RANGE_NORM, conn, conn, gemma_width=16, gemma_layers=3, rope_max_pos=(4096,),
                                    rope_layout="split"))
    for p in emb.parameters():
        torch.nn.init.normal_(p, std=0.3)
    encoder = TinyTextEncoder(model.double().eval(), emb.double().eval())
    video, audio = encoder.encode(["a lamp", "a lamp at night", "a lamp"])
    assert video.shape == audio.shape == (3, 128, 16)
    assert torch.equal(video[0], video[2]) and not torch.allclose(video[0], video[1])
    one, _ = encoder.encode(["a lamp at night"])
    assert one.dtype == torch.float64
    assert rel_err(one[0], video[1]) <= FP64_TOL  # batch items independent: only GEMM row counts differ


class Counting:
    """An encoder that records which prompts reach it."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, prompts):
        self.seen.extend(prompts)
        code = torch.tensor([float(sum(map(ord, p))) for p in prompts])  # (B,)
        return code[:, None, None].expand(-1, 4, 3).clone(), -code[:, None, None].expand(-1, 4, 2).clone()


def test_cache_encodes_each_distinct_prompt_once() -> None:
    inner = Counting()
    cached = CachedTextEncoder(inner, max_prompts=2)
    v, a = cached.encode(["x", "y", "x"])
    assert inner.seen == ["x", "y"] and cached.encoded == 2
    assert v.shape == (3, 4, 3) and torch.equal(v[0], v[2]) and a[1, 0, 0] == -ord("y")
    cached.encode(["y", "x"])
    assert inner.seen == ["x", "y"]
    cached.encode(["z", "y"])  # evicts "x", the oldest one not needed now
    assert set(cached.cache) == {"y", "z"}
    cached.encode(["p", "q", "r"])  # more than the cache holds: passed straight through
    assert inner.seen[-3:] == ["p", "q", "r"]


def test_precomputed_round_trip_and_missing_prompt(tmp_path) -> None:
    g = torch.Generator().manual_seed(0)
    contexts = {p: (torch.randn(4, 6, generator=g), torch.randn(4, 3, generator=g)) for p in ["lamp", "Ünïcode ✓"]}
    path = tmp_path / "prompts.safetensors"
    save_precomputed(path, contexts)
    assert [f.name for f in tmp_path.iterdir()] == ["prompts.safetensors"]  # no temp file left
    enc = PrecomputedTextEncoder(path)
    v, a = enc.encode(["Ünïcode ✓", "lamp"])
    assert torch.equal(v[0], contexts["Ünïcode ✓"][0]) and torch.equal(a[1], contexts["lamp"][1])
    with pytest.raises(TextEncoderError, match="no precomputed embeddings for prompt 'desk'"):
        enc.encode(["desk"])
    (tmp_path / "bad.safetensors").write_bytes(b"not a file")
    with pytest.raises(TextEncoderError, match="bad.safetensors"):
        PrecomputedTextEncoder(tmp_path / "bad.safetensors")
