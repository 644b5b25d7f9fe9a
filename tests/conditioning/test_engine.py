"""The ltx2 engine on the tiny checkpoint with conditioning: first frame, delivered audio, failures per variant."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ltxflow.default_plugins.ltx2 import LTX2Engine
from ltxflow.engine.video_vae import decode_to_frames, encode_frames
from ltxflow.engines import EngineSettings
from ltxflow.media import MediaError, read_audio, read_image
from ltxflow.tasks import Conditioning, Guidance, Task

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "campaigns/product-photo/assets"
SIZE, FRAMES = 64, 9


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("LTXFLOW_CACHE", str(tmp_path_factory.mktemp("cache")))
    built = LTX2Engine(EngineSettings("tiny", device="cpu"))
    yield built
    built.close()
    mp.undo()


def task(mode: str = "text", variant: str = "v1", **files: Path) -> Task:
    conds = tuple(Conditioning(role, str(p), "x", 1.0) for role, p in sorted(files.items()))
    return Task(
        campaign="c", variant_id=variant, seed=3, prompt="a bottle on a shelf", negative_prompt="", engine="ltx2",
        checkpoint="tiny", checkpoint_id="tiny", width=SIZE, height=SIZE, num_frames=FRAMES, fps="24/1", steps=3,
        pipeline="one-stage", video_guidance=Guidance(), audio_guidance=Guidance(), audio_mode=mode,
        conditioning=conds,
    )  # fmt: skip


def test_first_frame_stays_close_to_the_image_round_trip(engine):
    """Metric: mean absolute error (0-255 levels) of frame 0 against decode(encode(image)) through the same tiny VAE.
    Bound: <= 1 level (uint8 truncation) for a one-frame clip, where frame 0 decodes from the pinned latent alone;
    the unconditioned clip is far off (> 20 levels). In longer clips the tiny random decoder mixes frame 0 with later
    latent frames (non-causal), so the guarantee there is at the latent level (test_first_steps: tokens unchanged)."""
    image = ASSETS / "product.png"
    clip = engine.generate(replace(task(image=image), num_frames=1))
    plain = engine.generate(replace(task(), num_frames=1))
    still = read_image(image, SIZE, SIZE)  # (H, W, 3) in [-1, 1], as the engine reads it
    latent = encode_frames(engine._video_encoder, still[None])  # (1, C, 1, H', W')
    round_trip = decode_to_frames(engine.models.video_decoder, latent)[0].numpy().astype(float)  # (H, W, 3)
    assert np.abs(clip.frames[0].astype(float) - round_trip).mean() <= 1.0
    assert np.abs(plain.frames[0].astype(float) - round_trip).mean() > 20.0


def test_end_image_keyframe_shapes_the_clip_and_is_dropped_before_decoding(engine):
    plain = engine.generate(task())
    ended = engine.generate(task(end_image=ASSETS / "product_sage.png"))
    assert ended.frames.shape == plain.frames.shape  # the appended keyframe tokens never reach the decoder
    assert np.abs(ended.frames.astype(float) - plain.frames.astype(float)).mean() > 1.0  # but they steered it


def test_reference_audio_clip_delivers_the_brand_audio(engine):
    """Correlation of the delivered track with the brand file (resampled to the clip's rate, loudness-normalised
    to unit RMS) over the clip: >= 0.999 (only resampler and 16-bit rounding differ)."""
    logo = ASSETS / "sonic_logo.wav"
    clip = engine.generate(task("reference", brand_audio=logo))
    assert clip.audio.shape[0] == 2 and clip.audio.shape[1] == round(FRAMES / 24 * clip.sample_rate)
    brand = read_audio(logo, clip.sample_rate, clip.audio.shape[1])
    a, b = clip.audio[0] / np.sqrt(np.mean(clip.audio[0] ** 2)), brand[0] / np.sqrt(np.mean(brand[0] ** 2))
    assert np.corrcoef(a, b)[0, 1] >= 0.999
    generated = engine.generate(task("text"))
    assert generated.audio.shape[1] != clip.audio.shape[1] or not np.allclose(generated.audio, clip.audio)


def test_bad_conditioning_files_fail_that_task_only(engine, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes((ASSETS / "product.png").read_bytes()[:200])  # truncated PNG
    with pytest.raises(MediaError, match=r"^variant bad-photo: image .*broken\.png: cannot decode image"):
        engine.generate(task(variant="bad-photo", image=broken))
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")  # header cut short
    with pytest.raises(MediaError, match=r"^variant bad-audio: audio .*empty\.wav: cannot decode audio"):
        engine.generate(task("reference", variant="bad-audio", brand_audio=empty))
    assert engine.generate(task(image=ASSETS / "product.png")).frames.shape == (FRAMES, SIZE, SIZE, 3)  # still serves
