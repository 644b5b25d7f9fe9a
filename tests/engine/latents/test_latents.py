"""Latent shapes, patchify and positions vs ltx-core 1.0.0 (bit-exact: same integer/fp32 arithmetic)."""

from fractions import Fraction

import pytest
import torch
from ltx_core.components.patchifiers import AudioPatchifier, VideoLatentPatchifier
from ltx_core.tools import AudioLatentTools, VideoLatentTools
from ltx_core.types import AudioLatentShape as RefAudioShape
from ltx_core.types import VideoLatentShape as RefVideoShape
from ltx_core.types import VideoPixelShape

from ltxflow.errors import LtxflowError
from ltxflow.engine.latents import (
    AudioLatentShape,
    VideoLatentShape,
    audio_positions,
    patchify_audio,
    patchify_video,
    unpatchify_audio,
    unpatchify_video,
    video_positions,
)


@pytest.mark.parametrize(("frames", "height", "width"), [(121, 512, 768), (1, 32, 64), (17, 704, 1280)])
def test_video_shape_matches_reference(frames: int, height: int, width: int) -> None:
    ours = VideoLatentShape.from_pixels(2, frames, height, width)
    ref = RefVideoShape.from_pixel_shape(VideoPixelShape(2, frames, height, width, 24.0))
    assert tuple(ours) == tuple(ref)
    assert ours.token_count() == ref.token_count()
    assert ours.pixel_frames == frames


@pytest.mark.parametrize(
    ("frames", "height", "width", "message"),
    [
        (120, 512, 768, "frames=120 is not 8k+1 (1, 9, 17, ..., 121); nearest valid: 113 or 121"),
        (0, 512, 768, "frames=0 is not 8k+1 (1, 9, 17, ..., 121); nearest valid: 1"),
        (121, 500, 768, "height=500 is not a positive multiple of 32; nearest valid: 480 or 512"),
        (121, 512, 770, "width=770 is not a positive multiple of 32; nearest valid: 768 or 800"),
        (121, 512, 10, "width=10 is not a positive multiple of 32; nearest valid: 32"),
    ],
)
def test_video_shape_rejects_sizes_the_vae_cannot_make(frames: int, height: int, width: int, message: str) -> None:
    with pytest.raises(LtxflowError) as info:
        VideoLatentShape.from_pixels(1, frames, height, width)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("frames", "fps"), [(121, 24), (121, 25), (121, Fraction(24000, 1001)), (97, Fraction(30000, 1001)), (9, 8)]
)
def test_audio_token_count_matches_reference(frames: int, fps: Fraction | int) -> None:
    ours = AudioLatentShape.from_video(1, frames, fps)
    ref = RefAudioShape.from_video_pixel_shape(VideoPixelShape(1, frames, 64, 64, float(fps)))
    assert tuple(ours) == tuple(ref)
    assert ours.token_count() == ref.frames


def test_audio_shape_known_values() -> None:
    assert AudioLatentShape.from_video(1, 121, 24).frames == 126
    assert AudioLatentShape.from_video(1, 121, 25).frames == 121
    with pytest.raises(ValueError, match="fps must be > 0"):
        AudioLatentShape.from_video(1, 121, 0)


def test_patchify_matches_reference_and_round_trips() -> None:
    g = torch.Generator().manual_seed(0)
    video = torch.randn(2, 128, 3, 2, 4, generator=g)
    vshape = VideoLatentShape(2, 128, 3, 2, 4)
    ref = VideoLatentPatchifier(1)
    tokens = patchify_video(video)
    assert torch.equal(tokens, ref.patchify(video))
    assert torch.equal(unpatchify_video(tokens, vshape), video)
    assert torch.equal(ref.unpatchify(tokens, RefVideoShape(*vshape)), unpatchify_video(tokens, vshape))

    audio = torch.randn(2, 8, 5, 16, generator=g)
    ashape = AudioLatentShape(2, 8, 5, 16)
    aref = AudioPatchifier(1)
    atokens = patchify_audio(audio)
    assert atokens.shape == (2, 5, 128)
    assert torch.equal(atokens, aref.patchify(audio))
    assert torch.equal(unpatchify_audio(atokens, ashape), audio)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("fps", [24, 25, Fraction(24000, 1001)])
def test_video_positions_match_reference(dtype: torch.dtype, fps: Fraction | int) -> None:
    shape = VideoLatentShape(2, 128, 4, 3, 5)
    ref_state = VideoLatentTools(VideoLatentPatchifier(1), RefVideoShape(*shape), float(fps)).create_initial_state(
        "cpu", dtype
    )
    ours = video_positions(shape, fps, dtype=dtype)
    assert ours.shape == (2, 3, 60, 2)
    assert ours.dtype == dtype
    assert torch.equal(ours, ref_state.positions)


def test_video_positions_known_values() -> None:
    pos = video_positions(VideoLatentShape(1, 128, 3, 2, 2), 24)
    # frame 0 covers pixel frame 0 only, frame 1 covers pixel frames 1..8, frame 2 covers 9..16 (causal VAE)
    expected_t = torch.tensor([[0.0, 1.0], [1.0, 9.0], [9.0, 17.0]]) / 24
    torch.testing.assert_close(pos[0, 0, ::4], expected_t, rtol=2.0**-23, atol=0)  # float32 quotients, each side
    assert pos[0, 1, :4].tolist() == [[0, 32], [0, 32], [32, 64], [32, 64]]
    assert pos[0, 2, :4].tolist() == [[0, 32], [32, 64], [0, 32], [32, 64]]
    with pytest.raises(ValueError, match="fps must be > 0"):
        video_positions(VideoLatentShape(1, 128, 3, 2, 2), 0)


def test_audio_positions_match_reference() -> None:
    shape = AudioLatentShape(2, 8, 7, 16)
    ref_state = AudioLatentTools(AudioPatchifier(1), RefAudioShape(*shape)).create_initial_state("cpu", torch.bfloat16)
    ours = audio_positions(shape)
    assert ours.dtype == torch.float32
    assert torch.equal(ours, ref_state.positions)
    # float32 seconds (mel frame * hop / rate) against float32 roundings of the exact values: <= half an ulp each
    torch.testing.assert_close(ours[0, 0, :2], torch.tensor([[0.0, 0.01], [0.01, 0.05]]), rtol=2.0**-23, atol=0)
