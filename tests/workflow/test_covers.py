"""Covers chosen by a rule: the sharpest frame of the first second, the middle, a given time or a row's cover_at."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from PIL import Image

from ltxflow.clip import Clip
from ltxflow.export.cover import cover_frame, sharpness
from ltxflow.hookspecs import hookimpl
from ltxflow.ledger.store import Ledger
from ltxflow.runner import run_campaign
from ltxflow.tasks import Cover


def _frames(n: int, sharp: dict[int, int]) -> np.ndarray:
    """(n, 64, 64, 3): grey frames, a checkerboard of contrast `sharp[i]` on frame i."""
    frames = np.full((n, 64, 64, 3), 128, np.uint8)
    board = (np.indices((64, 64)).sum(0) % 2)[..., None]  # (64, 64, 1)
    for i, contrast in sharp.items():
        frames[i] = (128 + contrast * (2 * board - 1)).astype(np.uint8)
    return frames


def test_sharpest_looks_only_at_the_first_seconds():
    clip = Clip(_frames(73, {5: 40, 12: 60, 40: 120}), Fraction(24))
    assert sharpness(clip.frames[40]) > sharpness(clip.frames[12]) > sharpness(clip.frames[5]) > sharpness(clip.frames[0])
    assert cover_frame(clip, Cover("sharpest", 1.0)) == 12  # frame 40 is at 1.67 s, outside the first second
    assert cover_frame(clip, Cover("sharpest", 2.0)) == 40
    assert cover_frame(clip, Cover("middle")) == 36
    assert cover_frame(clip, Cover("at", 0.5)) == 12 and cover_frame(clip, Cover("at", 99.0)) == 72


def test_a_rows_cover_at_picks_its_covers_frame(make_campaign, toml, tmp_path, pm):
    class Ramp:
        """Frame i is flat grey 3 * i: a cover's brightness says which frame it shows."""

        name, device_name = "ramp", "cpu"

        def generate(self, task, progress=None):
            frames = np.repeat(np.arange(task.num_frames, dtype=np.uint8)[:, None, None, None] * 3, 3, axis=-1)
            return Clip(np.ascontiguousarray(np.broadcast_to(frames, (task.num_frames, task.height, task.width, 3))),
                        task.frame_rate)  # fmt: skip

        def close(self):
            pass

    class Plugin:
        @hookimpl
        def register_engines(self, register):
            register("ramp", lambda settings: Ramp())

    pm.register(plugin := Plugin(), name="test-ramp")
    try:
        csv = "variant_id,product,scene,sound,avoid,cover_at\nalpha,m,s,x,y,0.5\nbeta,m,s,x,y,\n"
        text = toml(platforms='["shorts"]', extra='[cover]\nrule = "middle"\n[export.shorts]\nwidth = 144\nheight = 256\n'
                    'x264_preset = "ultrafast"').replace('engine = "fake"', 'engine = "ramp"').replace("frames = 9", "frames = 49")
        folder = make_campaign(text, csv=csv)
        with Ledger.open(tmp_path / "l.db") as book:
            assert run_campaign(folder, ledger=book, out_dir=tmp_path / "out", progress=False).exit_code == 0
    finally:
        pm.unregister(plugin)
    out = tmp_path / "out" / "spring" / "current"  # the readable names
    for variant, frame in (("alpha", 12), ("beta", 24)):  # cover_at 0.5 s = frame 12; the middle of 49 = frame 24
        mean = np.asarray(Image.open(out / f"spring__{variant}__s1__shorts.cover.jpg")).mean()
        assert abs(mean - 3 * frame) < 2, (variant, mean)
