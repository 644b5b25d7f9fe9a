"""The built-in `ltx2` engine on the tiny checkpoint: clip sizes, audio length, silent mode, the pipeline kinds,
progress, determinism and one-line errors; registered through the same hook as third-party engines."""

from fractions import Fraction

import numpy as np
import pytest

from ltxflow.engines import EngineSettings
from ltxflow.errors import LtxflowError
from ltxflow.plugins import engines, get_plugin_manager
from ltxflow.tasks import Guidance, Task

VG = Guidance(cfg=3.0, stg=1.0, rescale=0.7, modality=3.0, stg_blocks=(0,))
AG = Guidance(cfg=7.0, stg=1.0, rescale=0.7, modality=3.0, stg_blocks=(1,))


def task(**changes) -> Task:
    base = dict(campaign="t", variant_id="v", seed=7, prompt="a desk lamp clicks on", negative_prompt="blurry",
                engine="ltx2", checkpoint="tiny", checkpoint_id="tiny", width=128, height=64, num_frames=9,
                fps="24/1", steps=3, pipeline="one-stage", video_guidance=VG, audio_guidance=AG, audio_mode="text")
    return Task(**{**base, **changes})


@pytest.fixture(scope="module")
def engine(tiny_cache):
    mp = pytest.MonkeyPatch()
    mp.setenv("LTXFLOW_CACHE", str(tiny_cache))
    factory = engines()["ltx2"].item  # the registry entry the runner uses
    eng = factory(EngineSettings("tiny", device="cpu", dtype="float32"))
    yield eng
    eng.close()
    mp.undo()


def test_registered_through_the_engine_hook() -> None:
    pm = get_plugin_manager()
    assert "ltxflow.ltx2" in {name for name, _ in pm.list_name_plugin()}
    assert "ltx2" in engines()


def test_clip_size_fps_and_audio_length(engine) -> None:
    steps: list[tuple[int, int]] = []
    clip = engine.generate(task(fps="30000/1001", num_frames=17), progress=lambda d, t: steps.append((d, t)))
    assert clip.frames.shape == (17, 64, 128, 3) and clip.frames.dtype == np.uint8
    assert clip.fps == Fraction(30000, 1001)
    assert clip.sample_rate == 24000 and clip.audio.shape == (2, round(17 * Fraction(1001, 30000) * 24000))
    assert np.abs(clip.audio).max() > 1e-3 and clip.frames.std() > 1  # not silent, not a flat picture
    assert steps == [(1, 3), (2, 3), (3, 3)]
    assert engine.device_name == "cpu"


def test_same_task_same_clip_and_seed_matters(engine) -> None:
    a, b, c = engine.generate(task()), engine.generate(task()), engine.generate(task(seed=8))
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.audio, b.audio)
    assert not np.array_equal(a.frames, c.frames)
    assert engine.models.text.encoded == 2  # prompt and negative prompt encoded once across all three tasks


def test_silent_mode_has_no_audio(engine) -> None:
    clip = engine.generate(task(audio_mode="silent"))
    assert clip.audio is None and clip.sample_rate is None and clip.frames.shape == (9, 64, 128, 3)


@pytest.mark.parametrize("pipeline", ["two-stage", "distilled"])
def test_two_stage_kinds(engine, pipeline) -> None:
    steps: list[int] = []
    clip = engine.generate(task(pipeline=pipeline, width=128, height=128, negative_prompt=f"not {pipeline}"),
                           progress=lambda d, t: steps.append(t))  # fmt: skip
    assert clip.frames.shape == (9, 128, 128, 3) and clip.audio.shape == (2, 9000)
    assert (f"not {pipeline}" in engine.models.text.cache) == (pipeline == "two-stage")  # distilled: no CFG
    assert set(steps) == {3 + 3 if pipeline == "two-stage" else 8 + 3} and len(steps) == steps[0]


def test_bad_settings_are_one_line_errors(engine, tmp_path) -> None:
    with pytest.raises(LtxflowError, match=r"guidance.video.stg_blocks: block 29 does not exist"):
        engine.generate(task(video_guidance=Guidance(stg=1.0, stg_blocks=(29,))))
    with pytest.raises(LtxflowError, match="multiples of 64"):
        engine.generate(task(pipeline="two-stage", width=96))
    factory = engines()["ltx2"].item
    with pytest.raises(LtxflowError, match="is not a .safetensors file"):
        factory(EngineSettings(str(tmp_path / "missing.safetensors"), device="cpu"))
    with pytest.raises(LtxflowError, match="generation.dtype"):
        factory(EngineSettings("tiny", device="cpu", dtype="float8"))


def test_speed_settings_keep_the_function(tiny_cache) -> None:
    import torch

    from ltxflow.engine.pipelines import GenerationRequest, generate_latents, load_models
    from ltxflow.engine.tiny import tiny_paths
    from ltxflow.engine.accel import SpeedOptions

    ckpt, up = tiny_paths(tiny_cache)
    cpu = torch.device("cpu")
    plain = load_models(ckpt, cpu, torch.float64, upsampler=up)
    packed = load_models(ckpt, cpu, torch.float64, upsampler=up, speed=SpeedOptions(attention=(), compile=False))
    request = GenerationRequest("lamp", 64, 64, 9, Fraction(24), steps=2, negative_prompt="no")
    a, b = generate_latents(plain, request), generate_latents(packed, request)
    # float64: packing q|k|v into one GEMM changes only the GEMMs' blocking, i.e. the rounding order of float64
    # sums: a few eps64 = 1.1e-16 x accumulation length (<= 128) x depth (2 blocks of ~30 ops, 4 guided passes,
    # 2 steps) ~ 1e-12 (the float32 islands x0 / Euler round identical inputs identically); 1e-10 keeps margin
    assert a.video.latent.dtype == torch.float64
    for got, want in ((b.video.latent, a.video.latent), (b.audio.latent, a.audio.latent)):
        assert ((got - want).abs().max() / want.abs().max()).item() <= 1e-10
