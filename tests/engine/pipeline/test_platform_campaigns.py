"""Campaigns made for their platforms, end to end on the tiny checkpoint: `ltxflow init`'s starter makes spec-valid
Reels, Shorts and TikTok files on its first run; one campaign tests a jingle row against generated-sound rows, and
the jingle row's audio is the brand file where it is placed, once. (About a minute on 2 CPU cores.)"""

import shutil
import wave
from pathlib import Path

import av
import numpy as np
from click.testing import CliRunner
from scipy.io import wavfile
from scipy.signal import resample_poly

from ltxflow.cli import cli
from ltxflow.ledger.store import Ledger

REPO = Path(__file__).resolve().parents[3]
LOGO = REPO / "campaigns" / "product-photo" / "assets" / "sonic_logo.wav"


def _run(folder: Path, tmp_path: Path):
    return CliRunner().invoke(cli, ["run", str(folder), "--ledger", str(tmp_path / "l.db"), "--out", str(tmp_path / "out"),
                                    "--device", "cpu", "--no-progress"], catch_exceptions=False)  # fmt: skip


def test_the_init_starter_makes_spec_valid_vertical_files_on_its_first_run(tmp_path, monkeypatch, tiny_cache):
    monkeypatch.setenv("LTXFLOW_CACHE", str(tiny_cache))
    folder = tmp_path / "summer-sale"
    assert CliRunner().invoke(cli, ["init", str(folder)]).exit_code == 0
    validated = CliRunner().invoke(cli, ["validate", str(folder)])
    assert validated.exit_code == 0 and "spec:" not in validated.output, validated.output
    result = _run(folder, tmp_path)
    assert result.exit_code == 0, result.output
    with Ledger.open(tmp_path / "l.db") as book:
        videos = [o for o in book.outputs("summer-sale") if o.kind == "video"]
    assert sorted({o.platform for o in videos}) == ["reels", "shorts", "tiktok"] and len(videos) == 6
    assert all(o.spec_ok for o in videos), [(o.path, o.spec_problems) for o in videos]
    for o in videos:
        with av.open(o.path) as c:
            (v,) = c.streams.video
            assert (v.codec_context.width, v.codec_context.height) == (1080, 1920)
            assert float(v.frames / v.average_rate) >= 3.0  # Reels' minimum


def _brand(path: Path) -> tuple[np.ndarray, int]:
    """(S,) float64 of the 16-bit mono brand file, read with the standard library's wave module."""
    with wave.open(str(path)) as w:
        assert (w.getsampwidth(), w.getnchannels()) == (2, 1)
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64) / 2**15, w.getframerate()


def _pcm(path: Path) -> tuple[np.ndarray, int]:
    """(C, S) float64 of a delivered 24-bit WAV (WAVE_FORMAT_EXTENSIBLE, which wave cannot read), through scipy."""
    rate, data = wavfile.read(path)  # (S, C) int32 with the 24-bit sample in the top bytes
    return data.T.astype(np.float64) / 2**31, rate


def test_a_jingle_row_and_generated_sound_rows_in_one_campaign(tmp_path, monkeypatch, tiny_cache):
    monkeypatch.setenv("LTXFLOW_CACHE", str(tiny_cache))
    folder = tmp_path / "jingle-test"
    folder.mkdir()
    shutil.copy(LOGO, folder / "jingle.wav")
    (folder / "prompt.j2").write_text("{{ scene }}. Sound: {{ sound }}.")
    (folder / "variants.csv").write_text(
        "variant_id,scene,sound,audio_mode,brand_audio\n"
        "jingle,a bottle on a shelf,the brand chime,reference,jingle.wav\n"
        "rain,a bottle in the rain,rain on glass,,\n"
        "birds,a bottle in a garden,birdsong,,\n"
    )
    (folder / "campaign.toml").write_text(
        'brand = "Luma"\ntemplate = "prompt.j2"\nvariants = "variants.csv"\nplatforms = ["reels"]\nseeds = [3]\n'
        '[generation]\nwidth = 160\nheight = 288\nframes = 73\n[audio]\nmode = "text"\n'
        '[export.reels]\nwidth = 144\nheight = 256\nx264_preset = "ultrafast"\n'
    )
    result = _run(folder, tmp_path)
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "jingle-test" / "current"  # the current view (issue 13)
    brand, rate = _brand(LOGO)  # (30000,) at 24 kHz
    brand = resample_poly(brand, 48000 // rate, 1)  # (60000,) at 48 kHz, resampled independently of ltxflow
    jingle, wav_rate = _pcm(out / "jingle-test__jingle__s3.wav")
    assert wav_rate == 48000 and jingle.shape[0] == 2 and jingle.shape[1] == 73 * 2000  # 3.04 s at 48 kHz
    n = brand.shape[0]
    for channel in jingle:
        placed = channel[:n]
        correlation = np.dot(placed, brand) / np.sqrt(np.dot(placed, placed) * np.dot(brand, brand))
        assert correlation >= 0.999, correlation
        assert np.abs(channel[n + 480 :]).max() < 1e-4  # silent after it: the 1.25 s logo is not repeated
    for variant in ("rain", "birds"):  # generated sound: audible, and not the brand file
        sound, _ = _pcm(out / f"jingle-test__{variant}__s3.wav")
        assert np.sqrt(np.mean(sound**2)) > 1e-3
        head = sound[0, :n]
        assert abs(np.dot(head, brand)) / np.sqrt(np.dot(head, head) * np.dot(brand, brand)) < 0.2
    with Ledger.open(tmp_path / "l.db") as book:
        assert {o.variant_id for o in book.outputs("jingle-test") if o.kind == "video" and o.spec_ok} == {
            "jingle", "rain", "birds"}  # fmt: skip
