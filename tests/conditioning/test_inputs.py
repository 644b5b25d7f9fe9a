"""A task's files -> decoded media (the ltx2 plugin) -> conditioning items (the engine) with tiny random VAEs:
shapes, strengths, delivered media, errors."""

from fractions import Fraction

import av
import numpy as np
import pytest
import torch
from PIL import Image

from ltxflow.default_plugins.ltx2.request import DELIVERY_RATE, read_media
from ltxflow.engine.audio import AudioEncoder, AudioVAEConfig
from ltxflow.engine.conditioning import CleanAudio, EncodedImage, Target, encoded_audio, video_items
from ltxflow.engine.latents import VideoLatentShape, video_positions
from ltxflow.engine.sampling import LatentState
from ltxflow.engine.video_vae import VideoEncoder, VideoVAEConfig
from ltxflow.media import MediaError
from ltxflow.tasks import Conditioning, Guidance, Task

W, H, FRAMES = 64, 64, 9


def make_task(mode: str = "text", **files: tuple[str, float]) -> Task:
    """A 64x64x9 task at 24 fps with the given conditioning files {role: (path, strength)}."""
    conds = tuple(Conditioning(role, str(path), "0" * 64, strength) for role, (path, strength) in sorted(files.items()))
    return Task(
        campaign="c", variant_id="row-1", seed=1, prompt="p", negative_prompt="", engine="ltx2", checkpoint="tiny",
        checkpoint_id="tiny", width=W, height=H, num_frames=FRAMES, fps="24/1", steps=2, pipeline="one-stage",
        video_guidance=Guidance(), audio_guidance=Guidance(), audio_mode=mode, conditioning=conds,
    )  # fmt: skip


def seeded(module: torch.nn.Module) -> torch.nn.Module:
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
        for name, b in module.named_buffers():
            b.copy_(torch.rand(b.shape, generator=gen) + 0.5 if "std" in name else torch.zeros(b.shape))
    return module.eval()


def initial(size: int) -> tuple[LatentState, Target]:
    """An empty 9-frame video state of size x size pixels (8 latent channels) and its target."""
    shape = VideoLatentShape.from_pixels(1, FRAMES, size, size, channels=8)
    return LatentState.empty(video_positions(shape, Fraction(24)), 8, torch.float32), Target(shape, Fraction(24))


@pytest.fixture(scope="module")
def encoders():
    return seeded(VideoEncoder(VideoVAEConfig.tiny_v2())), seeded(AudioEncoder(AudioVAEConfig.tiny()))


def task_conditioning(task: Task, video_encoder: VideoEncoder, audio_encoder: AudioEncoder):
    """The plugin's decoded media, and the engine's video / audio items made from it."""
    media = read_media(task, audio_encoder.cfg.sample_rate)
    video = video_items(media.images, media.source_video, video_encoder)
    audio = () if media.reference_audio is None else (
        encoded_audio(media.reference_audio, audio_encoder, task.num_frames, task.frame_rate),)
    return media, video, audio


def test_image_becomes_frame_zero_with_its_strength(tmp_path, encoders):
    Image.fromarray(np.full((50, 90, 3), 200, np.uint8)).save(tmp_path / "p.png")
    media, video, audio = task_conditioning(make_task(image=(tmp_path / "p.png", 0.7)), *encoders)
    (item,) = video
    assert isinstance(item, EncodedImage) and item.image.frame == 0 and item.image.strength == 0.7
    for size in (32, 64):  # encoded per grid: the half-size stage 1 and the full-size stage 2 alike
        state = item.apply(*initial(size))
        # the float32 mask and torch.tensor(0.3) each round 1 - 0.7 to within half a float32 ulp
        assert torch.allclose(state.denoise_mask[:, : (size // 32) ** 2], torch.tensor(0.3), rtol=2.0**-23, atol=0)
        assert (state.denoise_mask[:, (size // 32) ** 2 :] == 1).all()
    assert audio == () and media.delivery.audio is None and media.delivery.frames is None


def test_end_image_becomes_a_keyframe_at_the_last_frame(tmp_path, encoders):
    Image.fromarray(np.full((50, 90, 3), 200, np.uint8)).save(tmp_path / "first.png")
    Image.fromarray(np.full((90, 50, 3), 40, np.uint8)).save(tmp_path / "last.png")
    task = make_task(image=(tmp_path / "first.png", 1.0), end_image=(tmp_path / "last.png", 0.8))
    first, last = task_conditioning(task, *encoders)[1]
    assert (first.image.frame, last.image.frame, last.image.strength) == (0, FRAMES - 1, 0.8)
    state, target = initial(64)
    tokens = state.latent.shape[1]  # 2 latent frames x 2 x 2
    state = last.apply(first.apply(state, target), target)
    assert state.latent.shape[1] == tokens + 4  # one latent frame of 2 x 2 appended
    # float32 values of 1 - 0.8 and of frame / 24 seconds on both sides: each within half a float32 ulp
    assert torch.allclose(state.denoise_mask[:, tokens:], torch.tensor(0.2), rtol=2.0**-23, atol=0)
    seconds = state.positions[0, 0, tokens:]  # (4, 2) time bounds of the keyframe tokens
    want = torch.tensor([(FRAMES - 1) / 24, (FRAMES - 1 + 8) / 24]).expand(4, 2)
    assert torch.allclose(seconds, want, rtol=2.0**-23, atol=0)


def test_reference_audio_is_encoded_and_delivered_as_the_original(tmp_path, encoders):
    rate = 22050
    t = np.arange(rate // 4) / rate  # 0.25 s: shorter than the 0.375 s clip, so it loops
    tone = (0.4 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    with av.open(str(tmp_path / "logo.wav"), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray((tone[None] * 32767).astype(np.int16), format="s16", layout="mono")
        frame.sample_rate = rate
        out.mux(stream.encode(frame))
        out.mux(stream.encode())
    media, _, audio = task_conditioning(make_task("reference", brand_audio=(tmp_path / "logo.wav", 1.0)), *encoders)
    (item,) = audio
    delivered = media.delivery
    assert isinstance(item, CleanAudio) and item.latent.shape == (1, 2, round(FRAMES / 24 * 25), 16)
    assert delivered.sample_rate == DELIVERY_RATE and delivered.audio.shape == (2, round(FRAMES / 24 * DELIVERY_RATE))
    expected = 0.4 * np.sin(2 * np.pi * 330 * np.arange(delivered.audio.shape[1]) / DELIVERY_RATE)
    core = slice(500, 11000)  # inside the first pass of the file, away from resampler edges
    assert np.corrcoef(delivered.audio[0, core], expected[core])[0, 1] > 0.999


def test_video_to_audio_keeps_every_frame(tmp_path, encoders):
    frames = np.random.default_rng(0).integers(0, 255, (12, 64, 64, 3), dtype=np.uint8)
    with av.open(str(tmp_path / "cut.mp4"), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(24), options={"crf": "0"})
        stream.height, stream.width, stream.pix_fmt = 64, 64, "yuv444p"
        for f in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        out.mux(stream.encode())
    media, video, _ = task_conditioning(make_task("video-to-audio", source_video=(tmp_path / "cut.mp4", 1.0)),
                                        *encoders)
    (item,) = video
    state = item.apply(*initial(64))
    assert (state.denoise_mask == 0).all() and not torch.equal(state.latent, torch.zeros_like(state.latent))
    delivered = media.delivery.frames
    assert delivered.shape == (FRAMES, H, W, 3)
    assert np.abs(delivered.astype(int) - frames[:FRAMES]).mean() < 3  # crf 0 yuv444: nearly exact


def test_bad_files_name_file_and_variant(tmp_path, encoders):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(MediaError, match=r"^variant row-1: image .*broken\.png: cannot decode image"):
        task_conditioning(make_task(image=(tmp_path / "broken.png", 1.0)), *encoders)
    with pytest.raises(MediaError, match=r"^variant row-1: audio .*gone\.wav: file not found$"):
        task_conditioning(make_task("reference", brand_audio=(tmp_path / "gone.wav", 1.0)), *encoders)
