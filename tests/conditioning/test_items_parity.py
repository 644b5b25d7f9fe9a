"""Conditioning items vs ltx-core 1.0.0's: latents, clean latents, denoise masks and positions on tiny grids."""

from fractions import Fraction

import pytest
import torch
from ltx_core.components.noisers import GaussianNoiser
from ltx_core.components.patchifiers import AudioPatchifier, VideoLatentPatchifier
from ltx_core.conditioning import VideoConditionByKeyframeIndex, VideoConditionByLatentIndex
from ltx_core.tools import AudioLatentTools, VideoLatentTools
from ltx_core.types import AudioLatentShape as RefAudioShape
from ltx_core.types import VideoLatentShape as RefVideoShape

from ltxflow.engine.conditioning import (
    CleanAudio,
    ConditioningError,
    Keyframe,
    LatentFrames,
    Target,
    apply_all,
    clear_appended,
)
from ltxflow.engine.latents import AudioLatentShape, VideoLatentShape, audio_positions, video_positions
from ltxflow.engine.sampling import LatentState

B, C, F, H, W = 2, 16, 3, 2, 3  # a tiny video latent grid (channels kept small)
FPS = Fraction(24)


def video_pair(dtype: torch.dtype, fps: Fraction = FPS):
    """(reference tools, reference initial state, our target, our initial state) for the tiny grid."""
    tools = VideoLatentTools(VideoLatentPatchifier(1), RefVideoShape(B, C, F, H, W), float(fps))
    ref = tools.create_initial_state("cpu", dtype)
    shape = VideoLatentShape(B, C, F, H, W)
    ours = LatentState.empty(video_positions(shape, fps, dtype=dtype), C, dtype)
    return tools, ref, Target(shape, fps), ours


def assert_same(ours: LatentState, ref, *, exact_positions: bool = True) -> None:
    """Every field equal (bit for bit: these are copies and small integer arithmetic)."""
    assert ours.latent.dtype == ref.latent.dtype and ours.positions.dtype == ref.positions.dtype
    torch.testing.assert_close(ours.latent, ref.latent, rtol=0, atol=0)
    torch.testing.assert_close(ours.clean, ref.clean_latent, rtol=0, atol=0)
    torch.testing.assert_close(ours.denoise_mask, ref.denoise_mask.float(), rtol=0, atol=0)
    torch.testing.assert_close(ours.positions, ref.positions, rtol=0, atol=0)


def rand(*shape: int, seed: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize(("strength", "index", "frames"), [(1.0, 0, 1), (0.6, 0, 1), (0.8, 1, 2), (1.0, 0, F)])
def test_latent_frames_match_latent_index_conditioning(dtype, strength, index, frames):
    tools, ref, target, ours = video_pair(dtype)
    latent = rand(B, C, frames, H, W, seed=1, dtype=dtype)
    ref = VideoConditionByLatentIndex(latent, strength, index).apply_to(ref, tools)
    ours = LatentFrames(latent, index, strength).apply(ours, target)
    assert_same(ours, ref)
    span = slice(index * H * W, (index + frames) * H * W)
    # float32 roundings of 1 - strength on both sides, each within half an ulp
    assert torch.allclose(ours.denoise_mask[:, span], torch.tensor(1.0 - strength), rtol=2.0**-23, atol=0)
    assert (ours.denoise_mask[:, span.stop :] == 1).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("fps", [Fraction(24), Fraction(30000, 1001)])
def test_keyframes_match_keyframe_index_conditioning(dtype, fps):
    tools, ref, target, ours = video_pair(dtype, fps)
    first = rand(B, C, 1, H, W, seed=2, dtype=dtype)
    later = rand(B, C, 1, H, W, seed=3, dtype=dtype)
    clip = rand(B, C, 2, 1, 2, seed=4, dtype=dtype)  # a 2-latent-frame, smaller keyframe clip
    ref_items = [
        VideoConditionByLatentIndex(first, 1.0, 0),
        VideoConditionByKeyframeIndex(later, frame_idx=16, strength=0.9),
        VideoConditionByKeyframeIndex(clip, frame_idx=0, strength=1.0),  # frame 0 gets the causal fix
        VideoConditionByKeyframeIndex(later, frame_idx=9, strength=0.5),
    ]
    our_items = [LatentFrames(first, 0, 1.0), Keyframe(later, 16, 0.9), Keyframe(clip, 0, 1.0), Keyframe(later, 9, 0.5)]
    for item in ref_items:
        ref = item.apply_to(ref, tools)
    ours = apply_all(our_items, ours, target)
    assert ref.attention_mask is None  # the reference builds no attention mask for unwrapped keyframes
    assert_same(ours, ref)
    assert ours.latent.shape[1] == F * H * W + 2 * H * W + 2 * 2
    # after sampling the appended tokens go, as the reference's clear_conditioning drops them
    cleared, ref_cleared = clear_appended(ours, target), tools.clear_conditioning(ref)
    torch.testing.assert_close(cleared.latent, ref_cleared.latent, rtol=0, atol=0)
    torch.testing.assert_close(cleared.positions, ref_cleared.positions, rtol=0, atol=0)


def test_keyframe_positions_are_in_seconds_and_offset():
    _, _, target, ours = video_pair(torch.float32)
    state = Keyframe(rand(B, C, 1, H, W, seed=5), 16, 1.0).apply(ours, target)
    times = state.positions[0, 0, F * H * W :]  # (H*W, 2) seconds
    # float32 quotients frame / 24 on both sides, each within half an ulp of the exact value
    assert torch.allclose(times, torch.tensor([16 / 24, 24 / 24]).expand_as(times), rtol=2.0**-23, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_clean_audio_matches_the_reference_audio_to_video_state(dtype):
    frames = 7
    tools = AudioLatentTools(AudioPatchifier(1), RefAudioShape(1, 8, frames, 16))
    encoded = rand(1, 8, frames + 3, 16, seed=6, dtype=dtype)  # encoders give a few frames more; cropped
    # denoise_video_only: initial latent = encoded audio, noised at scale 0, then mask 0 everywhere
    ref = tools.create_initial_state("cpu", dtype, encoded[:, :, :frames])
    ref = GaussianNoiser(torch.Generator().manual_seed(0))(ref, 0.0)
    shape = AudioLatentShape(1, 8, frames, 16)
    ours = LatentState.empty(audio_positions(shape), 128, dtype)
    ours = CleanAudio(encoded).apply(ours, Target(shape, FPS))
    torch.testing.assert_close(ours.latent, ref.latent, rtol=0, atol=0)
    torch.testing.assert_close(ours.clean, ref.clean_latent, rtol=0, atol=0)
    torch.testing.assert_close(ours.positions, ref.positions, rtol=0, atol=0)
    assert (ours.denoise_mask == 0).all() and ours.denoise_mask.shape == ref.denoise_mask.shape


def test_items_do_not_modify_their_input():
    _, _, target, ours = video_pair(torch.float32)
    before = ours.latent.clone(), ours.denoise_mask.clone()
    LatentFrames(rand(B, C, 1, H, W, seed=7), 0, 1.0).apply(ours, target)
    assert torch.equal(ours.latent, before[0]) and torch.equal(ours.denoise_mask, before[1])


def test_bad_conditioning_latents_are_one_line_errors():
    _, _, target, ours = video_pair(torch.float32)
    with pytest.raises(ConditioningError, match="does not match the clip's latent grid"):
        LatentFrames(rand(B, C, 1, H + 1, W, seed=8), 0, 1.0).apply(ours, target)
    with pytest.raises(ConditioningError, match="covers latent frames 2..3"):
        LatentFrames(rand(B, C, 2, H, W, seed=8), 2, 1.0).apply(ours, target)
    with pytest.raises(ConditioningError, match=r"strength must be in \[0, 1\]"):
        Keyframe(rand(B, C, 1, H, W, seed=8), 8, 1.5).apply(ours, target)
    shape = AudioLatentShape(1, 8, 9, 16)
    audio = LatentState.empty(audio_positions(shape), 128, torch.float32)
    with pytest.raises(ConditioningError, match="has 4 latent frames, the clip needs 9"):
        CleanAudio(rand(1, 8, 4, 16, seed=9)).apply(audio, Target(shape, FPS))
