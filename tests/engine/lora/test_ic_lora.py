"""IC-LoRA reference tokens vs ltx-core's VideoConditionByReferenceLatent: tokens, clean tokens, denoise masks and
positions equal bit for bit (copies and small-integer arithmetic), the attention mask absent on both sides."""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from ltx_core.components.patchifiers import VideoLatentPatchifier
from ltx_core.conditioning import VideoConditionByKeyframeIndex, VideoConditionByLatentIndex
from ltx_core.conditioning.types.reference_video_cond import VideoConditionByReferenceLatent
from ltx_core.tools import VideoLatentTools
from ltx_core.types import VideoLatentShape as RefVideoShape

from ltxflow.engine.conditioning import ConditioningError, Keyframe, LatentFrames, Target, apply_all, clear_appended
from ltxflow.engine.latents import VideoLatentShape, video_positions
from ltxflow.engine.lora import LoraError, LoraFile
from ltxflow.engine.lora.ic_lora import ReferenceVideo, reference_downscale_factor, reference_size
from ltxflow.engine.sampling import LatentState

from ._helpers import save_lora

B, C, F, H, W = 1, 16, 3, 4, 6  # the generated latent grid


def rand(*shape: int, seed: int, dtype: torch.dtype) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("fps", [Fraction(24), Fraction(30000, 1001)])
@pytest.mark.parametrize(("factor", "strength"), [(1, 1.0), (2, 1.0), (2, 0.7), (4, 0.0)])
def test_reference_tokens_positions_and_masks_equal_the_reference(dtype, fps, factor, strength):
    tools = VideoLatentTools(VideoLatentPatchifier(1), RefVideoShape(B, C, F, H, W), float(fps))
    ref = tools.create_initial_state("cpu", dtype)
    shape = VideoLatentShape(B, C, F, H, W)
    ours = LatentState.empty(video_positions(shape, fps, dtype=dtype), C, dtype)
    control = rand(B, C, F, H // factor if factor < 4 else 1, W // factor if factor < 4 else 2, seed=1, dtype=dtype)
    first, later = rand(B, C, 1, H, W, seed=2, dtype=dtype), rand(B, C, 1, H, W, seed=3, dtype=dtype)
    # with an image at frame 0 and a keyframe (as a product shot would use), in the same order on both sides
    for item in (VideoConditionByLatentIndex(first, 1.0, 0), VideoConditionByReferenceLatent(control, factor, strength),
                 VideoConditionByKeyframeIndex(later, frame_idx=16, strength=0.9)):
        ref = item.apply_to(ref, tools)
    target = Target(shape, fps)
    ours = apply_all([LatentFrames(first, 0, 1.0), ReferenceVideo(control, factor, strength), Keyframe(later, 16, 0.9)],
                     ours, target)
    assert ref.attention_mask is None
    assert ours.latent.dtype == ref.latent.dtype and ours.positions.dtype == ref.positions.dtype
    for got, want in ((ours.latent, ref.latent), (ours.clean, ref.clean_latent),
                      (ours.denoise_mask, ref.denoise_mask.float()), (ours.positions, ref.positions)):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    n, k = F * H * W, control[0, 0].numel()
    assert ours.latent.shape[1] == n + k + H * W
    # the reference's spatial positions cover the generated frame: its last token ends at the frame's right edge
    assert ours.positions[0, 2, n + k - 1, 1] == control.shape[-1] * 32 * factor
    cleared = clear_appended(ours, target)
    torch.testing.assert_close(cleared.positions, tools.clear_conditioning(ref).positions, rtol=0, atol=0)


def test_downscale_factor_from_the_loras_metadata(tmp_path):
    pair = {"diffusion_model.proj_out.lora_A.weight": torch.zeros(1, 16),
            "diffusion_model.proj_out.lora_B.weight": torch.zeros(128, 1)}
    files = {name: LoraFile.open(save_lora(tmp_path / f"{name}.safetensors", pair, meta))
             for name, meta in (("plain", None), ("half", {"reference_downscale_factor": "2"}),
                                ("quarter", {"reference_downscale_factor": "4"}),
                                ("odd", {"reference_downscale_factor": "1.5"}))}
    assert reference_downscale_factor([files["plain"], files["half"], files["plain"]]) == 2
    assert reference_downscale_factor([files["plain"]]) == 1
    with pytest.raises(LoraError, match="conflicts with 2 of .*half.safetensors"):
        reference_downscale_factor([files["half"], files["quarter"]])
    with pytest.raises(LoraError, match="is not a positive integer"):
        reference_downscale_factor([files["odd"]])
    assert reference_size(512, 768, 2) == (256, 384)
    with pytest.raises(ConditioningError, match="768x502 is not divisible"):
        reference_size(502, 768, 4)
