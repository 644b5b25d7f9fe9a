"""Media readers: images fitted to the clip, audio resampled/stereo/trimmed/looped, video frames by time; errors."""

import wave
from fractions import Fraction

import av
import numpy as np
import pytest
import torch
from PIL import Image

from ltxflow.errors import LtxflowError
from ltxflow.media import MediaError, fit_cover, read_audio, read_image, read_video
from ltxflow.media.image import h264_round_trip


def gradient_image(h: int, w: int) -> np.ndarray:
    """(h, w, 3) uint8 with distinct rows and columns."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) % 256], -1).astype(np.uint8)


def write_wav(path, samples: np.ndarray, rate: int) -> None:
    """(C, S) float32 -> 16-bit PCM WAV with PyAV."""
    layout = "mono" if samples.shape[0] == 1 else "stereo"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=rate, layout=layout)
        pcm = (samples.T.reshape(1, -1) * 32767).astype(np.int16)  # (1, S*C) interleaved
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout=layout)
        frame.sample_rate = rate
        out.mux(stream.encode(frame))
        out.mux(stream.encode())


def write_video(path, frames: np.ndarray, fps: Fraction) -> None:
    """(T, H, W, 3) uint8 -> H.264 mp4 at fps (nearly lossless)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"crf": "0"})
        stream.height, stream.width, stream.pix_fmt = frames.shape[1], frames.shape[2], "yuv444p"
        for f in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        out.mux(stream.encode())


# ── images ──────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_read_image_formats_cover_and_range(tmp_path, fmt):
    path = tmp_path / f"p.{fmt.lower()}"
    Image.fromarray(gradient_image(40, 80)).save(path, format=fmt, quality=95)
    out = read_image(path, width=64, height=64, crf=0)
    assert out.shape == (64, 64, 3) and out.dtype == torch.float32
    assert out.min() >= -1 and out.max() <= 1
    # cover: a 2:1 image into a square keeps the full height and the middle half of the width
    src = torch.from_numpy(gradient_image(40, 80)).float()
    expected = fit_cover(src, 64, 64) / 127.5 - 1
    # PNG is lossless and crf=0 skips the H.264 round trip: the same pixels through the same resize, so only the
    # float32 roundings of the [-1, 1] mapping remain (two, each <= 2^-24 of a value <= 1; measured 0.0).
    # JPEG / WebP at quality 95 add their coding error: q95 scales the standard quantisers by 0.1, so the coarsest
    # step is ~12 levels and a coefficient is off by <= 6 levels = 0.047; the mean over the image lies far below
    # (measured 0.005-0.007). 0.05 still fails a stretch instead of a cover crop (mean error 0.11 here).
    tol = 2 * 2.0**-24 if fmt == "PNG" else 0.05
    assert (out - expected).abs().mean() < tol


def test_fit_cover_geometry_matches_reference(ltx_pipelines):
    """Upscaling (no antialias on either side): the reference's resize_and_center_crop, exactly."""
    src = torch.from_numpy(gradient_image(21, 34)).float()
    for h, w in ((64, 96), (96, 64), (32, 32)):
        ref = ltx_pipelines.media_io.resize_and_center_crop(src, h, w)[0, :, 0].permute(1, 2, 0)  # (h, w, 3)
        assert torch.equal(fit_cover(src, h, w), ref)  # the same bilinear interpolation on the same pixels


def test_h264_round_trip_matches_reference(ltx_pipelines):
    pixels = gradient_image(37, 50)
    np.testing.assert_array_equal(h264_round_trip(pixels, 33), ltx_pipelines.media_io.preprocess(pixels, 33))


def test_transparent_png_is_composited_on_white(tmp_path):
    rgba = np.zeros((32, 32, 4), np.uint8)  # fully transparent black
    Image.fromarray(rgba, "RGBA").save(tmp_path / "t.png")
    assert torch.equal(read_image(tmp_path / "t.png", 32, 32, crf=0), torch.ones(32, 32, 3))  # 255 -> exactly 1


def test_image_errors_name_file_and_variant(tmp_path):
    with pytest.raises(MediaError, match=r"^variant v7: image .*missing\.png: file not found$"):
        read_image(tmp_path / "missing.png", 32, 32, variant="v7")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(MediaError, match=r"empty\.png: file is empty"):
        read_image(tmp_path / "empty.png", 32, 32, variant="v7")
    (tmp_path / "junk.jpg").write_bytes(b"not an image at all" * 10)
    with pytest.raises(MediaError, match=r"^variant v7: image .*junk\.jpg: cannot decode image"):
        read_image(tmp_path / "junk.jpg", 32, 32, variant="v7")
    Image.fromarray(gradient_image(64, 64)).save(tmp_path / "cut.png")
    data = (tmp_path / "cut.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(MediaError, match=r"cut\.png: cannot decode image") as info:
        read_image(tmp_path / "cut.png", 32, 32, variant="v7")
    assert "\n" not in str(info.value) and isinstance(info.value, LtxflowError)
    Image.fromarray(gradient_image(8, 8)).save(tmp_path / "x.gif")
    with pytest.raises(MediaError, match="unsupported format GIF"):
        read_image(tmp_path / "x.gif", 32, 32)


# ── audio ───────────────────────────────────────────────────────────────────────────────────────


def test_read_audio_resamples_and_duplicates_mono(tmp_path):
    t = np.arange(22050) / 22050
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]  # (1, S) 1 s at 22.05 kHz
    write_wav(tmp_path / "m.wav", tone, 22050)
    out = read_audio(tmp_path / "m.wav", 16000)
    assert out.shape[0] == 2 and out.dtype == np.float32 and abs(out.shape[1] - 16000) <= 64
    np.testing.assert_array_equal(out[0], out[1])  # duplicated, not panned
    ref = 0.5 * np.sin(2 * np.pi * 440 * np.arange(out.shape[1]) / 16000)
    core = slice(200, 15000)  # away from the resampler's edges
    assert np.corrcoef(out[0, core], ref[core])[0, 1] > 0.999
    assert abs(np.abs(out[0, core]).max() - 0.5) < 0.01  # no -3 dB pan law


def test_read_audio_trims_and_loops(tmp_path):
    wave = np.linspace(-0.5, 0.5, 1600, dtype=np.float32)[None].repeat(2, 0)  # 0.1 s stereo ramp
    write_wav(tmp_path / "s.wav", wave, 16000)
    # 16-bit PCM: write_wav truncates x * 32767 and decoding divides by 32768, so a sample |x| <= 0.5 comes back
    # within (1 + |x|) / 32768 = 4.6e-5 (no resampling at the same rate)
    atol = 1.5 / 32768
    short = read_audio(tmp_path / "s.wav", 16000, 1000)
    np.testing.assert_allclose(short, wave[:, :1000], rtol=0, atol=atol)
    looped = read_audio(tmp_path / "s.wav", 16000, 4000)
    np.testing.assert_allclose(looped[:, 1600:3200], wave, rtol=0, atol=atol)
    np.testing.assert_allclose(looped[:, 3200:], wave[:, :800], rtol=0, atol=atol)
    padded = read_audio(tmp_path / "s.wav", 16000, 4000, fill="silence")
    assert (padded[:, 1600:] == 0).all()


def test_audio_errors_name_file_and_variant(tmp_path):
    with wave.open(str(tmp_path / "zero.wav"), "wb") as header_only:  # a valid WAV header, no samples
        header_only.setnchannels(2), header_only.setsampwidth(2), header_only.setframerate(16000)
    with pytest.raises(MediaError, match=r"^variant v2: audio .*zero\.wav: contains no audio samples"):
        read_audio(tmp_path / "zero.wav", 16000, variant="v2")
    (tmp_path / "bad.mp3").write_bytes(b"\x00\x01garbage" * 100)
    with pytest.raises(MediaError, match=r"^variant v2: audio .*bad\.mp3: (cannot decode audio|has no audio stream)"):
        read_audio(tmp_path / "bad.mp3", 16000, variant="v2")
    with pytest.raises(MediaError, match=r"nope\.wav: file not found"):
        read_audio(tmp_path / "nope.wav", 16000, variant="v2")
    write_video(tmp_path / "silent.mp4", np.zeros((3, 32, 32, 3), np.uint8), Fraction(24))
    with pytest.raises(MediaError, match=r"silent\.mp4: has no audio stream"):
        read_audio(tmp_path / "silent.mp4", 16000, variant="v2")


# ── video ───────────────────────────────────────────────────────────────────────────────────────


def numbered_frames(n: int, h: int = 32, w: int = 32) -> np.ndarray:
    """Frame i is a flat grey of level 10 * i."""
    return np.stack([np.full((h, w, 3), 10 * i, np.uint8) for i in range(n)])


def test_read_video_same_rate_and_resampled_rate(tmp_path):
    write_video(tmp_path / "v.mp4", numbered_frames(20), Fraction(24))
    out = read_video(tmp_path / "v.mp4", 9, Fraction(24), 64, 32)
    assert out.shape == (9, 32, 64, 3) and out.dtype == np.uint8
    # crf 0 yuv444p is lossless in YUV; the RGB <-> limited-range YUV conversions of a flat grey round twice
    # (<= 0.5 level each way, the way back scaled by 255/219): <= 1 level, and swscale's fixed-point SIMD paths
    # may differ by one more level between CPUs (measured 1)
    np.testing.assert_allclose(out[:, 0, 0, 0], 10 * np.arange(9), atol=2)
    half = read_video(tmp_path / "v.mp4", 9, Fraction(12), 32, 32)  # every other source frame
    np.testing.assert_allclose(half[:, 0, 0, 0], 20 * np.arange(9), atol=2)


def test_video_shorter_than_clip_is_an_error(tmp_path):
    write_video(tmp_path / "short.mp4", numbered_frames(5), Fraction(24))
    with pytest.raises(MediaError, match=r"^variant v3: video .*short\.mp4: is shorter than the clip: 0\.208 s"):
        read_video(tmp_path / "short.mp4", 9, Fraction(24), 32, 32, variant="v3")
    (tmp_path / "junk.mp4").write_bytes(b"junk" * 50)
    with pytest.raises(MediaError, match=r"junk\.mp4: (cannot decode video|has no video stream)"):
        read_video(tmp_path / "junk.mp4", 9, Fraction(24), 32, 32, variant="v3")
