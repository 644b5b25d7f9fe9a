"""An official-layout tiny checkpoint loads strictly into OUR transformer and matches ltx-core's forward."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ltx_core.components.patchifiers import AudioPatchifier, VideoLatentPatchifier
from ltx_core.guidance.perturbations import BatchedPerturbationConfig
from ltx_core.model.transformer.modality import Modality
from ltx_core.model.transformer.model_configurator import LTXModelConfigurator
from ltx_core.tools import AudioLatentTools, VideoLatentTools
from ltx_core.types import AudioLatentShape, VideoLatentShape

from ltxflow.engine.checkpoint import load_component
from ltxflow.engine.transformer import LTXTransformer, ModalityInput, TransformerConfig

from ._helpers import official, save

# Float64 on both sides (the fp32 file is loaded with dtype=float64, the reference cast by .double()): the same
# float64 ops, so a few eps64 = 1.1e-16 roundings x accumulation lengths (<= 128) x depth (2 blocks of ~30 ops)
# ~ 1e-12 at most (measured 0.0); 1e-10 leaves margin and is far below any real bug (>= 1e-3).
TOLERANCE = 1e-10


def rel_err(ours: torch.Tensor, ref: torch.Tensor) -> float:
    """max|a - b| / max|b|."""
    return ((ours.double() - ref.double()).abs().max() / ref.double().abs().max()).item()


@pytest.mark.parametrize("style", ["19b", "22b"])
def test_checkpoint_to_our_transformer_matches_reference(tmp_path: Path, style: str) -> None:
    ours_config = TransformerConfig.tiny_19b() if style == "19b" else TransformerConfig.tiny_22b()
    config = {"transformer": {**ours_config.to_metadata(), "attention_type": "pytorch"}}
    with torch.device("meta"):
        reference = LTXModelConfigurator.from_config(config)
    gen = torch.Generator().manual_seed(7)
    sd = {k: torch.randn(v.shape, generator=gen) * 0.3 for k, v in sorted(reference.state_dict().items())}
    reference.load_state_dict(sd, strict=True, assign=True)
    reference = reference.double()
    path = save(tmp_path / f"tiny_{style}.safetensors", official(sd), config=config,
                version="2.0.0" if style == "19b" else "2.3.0")

    model = load_component(path, "transformer", dtype=torch.float64)  # default builder from the registry
    assert isinstance(model, LTXTransformer) and model.config == ours_config
    assert next(model.parameters()).dtype == torch.float64

    frames, height, width, audio_len, text_len = 2, 2, 3, 5, 4
    video_tools = VideoLatentTools(VideoLatentPatchifier(1), VideoLatentShape(1, 128, frames, height, width), 24.0)
    audio_tools = AudioLatentTools(AudioPatchifier(1), AudioLatentShape(1, 8, audio_len, 16))
    v_pos = video_tools.create_initial_state("cpu", torch.float64).positions
    a_pos = audio_tools.create_initial_state("cpu", torch.float64).positions
    v_ctx_width = ours_config.video_dim if ours_config.caption_proj_before_connector else ours_config.caption_channels
    a_ctx_width = ours_config.audio_dim if ours_config.caption_proj_before_connector else ours_config.caption_channels
    v_lat = torch.randn(1, frames * height * width, 128, generator=gen).double()  # (B, T_v, C)
    a_lat = torch.randn(1, audio_len, 128, generator=gen).double()  # (B, T_a, C)
    v_ctx = torch.randn(1, text_len, v_ctx_width, generator=gen).double()  # (B, L, C_ctx)
    a_ctx = torch.randn(1, text_len, a_ctx_width, generator=gen).double()
    sigma_v, sigma_a = torch.tensor([0.6], dtype=torch.float64), torch.tensor([0.4], dtype=torch.float64)
    ts_v, ts_a = sigma_v.expand(1, frames * height * width), sigma_a.expand(1, audio_len)

    with torch.no_grad():
        ref_v, ref_a = reference(
            Modality(latent=v_lat, sigma=sigma_v, timesteps=ts_v[..., None], positions=v_pos, context=v_ctx),
            Modality(latent=a_lat, sigma=sigma_a, timesteps=ts_a[..., None], positions=a_pos, context=a_ctx),
            BatchedPerturbationConfig.empty(1),
        )
        out_v, out_a = model(
            ModalityInput(v_lat, sigma_v, ts_v, v_pos, v_ctx), ModalityInput(a_lat, sigma_a, ts_a, a_pos, a_ctx)
        )
    assert out_v.shape == ref_v.shape == (1, frames * height * width, 128)
    assert out_a.shape == ref_a.shape == (1, audio_len, 128) and out_v.dtype == ref_v.dtype == torch.float64
    assert rel_err(out_v, ref_v) <= TOLERANCE
    assert rel_err(out_a, ref_a) <= TOLERANCE
