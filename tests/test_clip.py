from fractions import Fraction

import numpy as np
import pytest

from ltxflow.clip import Clip


def test_clip_duration_is_exact_for_ntsc_rates():
    clip = Clip(frames=np.zeros((30, 4, 6, 3), np.uint8), fps=Fraction(30000, 1001))
    assert clip.duration == Fraction(1001, 1000)
    assert (clip.height, clip.width) == (4, 6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(frames=np.zeros((2, 4, 4, 3), np.float32), fps=Fraction(24)), "uint8"),
        (dict(frames=np.zeros((2, 4, 4, 3), np.uint8), fps=24.0), "Fraction"),
        (dict(frames=np.zeros((2, 4, 4, 3), np.uint8), fps=Fraction(24), audio=np.zeros((2, 10), np.float32)), "together"),
    ],
)
def test_clip_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Clip(**kwargs)
