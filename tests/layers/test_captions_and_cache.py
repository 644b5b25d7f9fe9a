"""Captions split into readable cues, timed over their window, written as SRT and WebVTT that independent parsers
read back; the clip cache returns exactly the clip it was given."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from ltxflow.clip import Clip
from ltxflow.clip_cache import load_clip, save_clip
from ltxflow.layers.captions import srt_text, vtt_text
from ltxflow.layers.layout import split_cues, time_cues

from .conftest import parse_srt, parse_vtt, words

TEXT = "Twenty hours steeped in cold water. Smooth from the very first sip, never bitter! Ready <now> & always?"


def test_cues_keep_sentences_apart_and_respect_line_limits():
    cues = split_cues(TEXT, max_chars=20, max_lines=2)
    assert all(len(cue) <= 2 and all(len(line) <= 20 for line in cue) for cue in cues)
    assert [w for cue in cues for line in cue for w in line.split()] == TEXT.split()
    ends = [cue[-1] for cue in cues]
    assert "water." in ends[0] or any(e.endswith("water.") for e in ends)  # a sentence never runs into the next cue
    assert not any("water. Smooth" in line for cue in cues for line in cue)


def test_cues_fill_their_window_in_order_by_length():
    timed = time_cues(split_cues(TEXT, 20, 2), 0.5, 3.5)
    assert timed[0].start == 0.5 and timed[-1].end == 3.5
    assert all(a.end == b.start for a, b in zip(timed, timed[1:]))  # back to back, no gap or overlap
    lengths = [sum(map(len, c.lines)) for c in timed]
    spans = [c.end - c.start for c in timed]
    longest = int(np.argmax(lengths))
    assert spans[longest] == max(spans)  # reading time follows the characters


@pytest.mark.parametrize("write, parse", [(srt_text, parse_srt), (lambda c: vtt_text(c, "en"), parse_vtt)])
def test_side_files_parse_back_to_the_cues(write, parse):
    timed = time_cues(split_cues(TEXT, 24, 2), 0.0, 61.25)
    text = write(timed)
    cues = parse(text)
    assert [(round(s, 3), round(e, 3)) for s, e, _ in cues] == [(c.start, c.end) for c in timed]
    read = " ".join(t for _, _, t in cues)
    if write is srt_text:
        assert words(read) == words(TEXT) and "<now>" in read
    else:  # WebVTT escapes markup characters
        assert "&lt;now&gt; &amp;" in read and "01:01.250" in text


def test_the_clip_cache_is_lossless(tmp_path):
    rng = np.random.default_rng(3)
    frames = rng.integers(0, 256, (9, 48, 80, 3), dtype=np.uint8)
    audio = rng.uniform(-1, 1, (2, 7777)).astype(np.float32)
    clip = Clip(frames, Fraction(30000, 1001), audio, 48000)
    back = load_clip(save_clip(clip, tmp_path / "clips" / "x.mkv"))
    assert back.fps == Fraction(30000, 1001) and back.sample_rate == 48000
    assert np.array_equal(back.frames, frames) and np.array_equal(back.audio, audio)
    silent = load_clip(save_clip(Clip(frames[:3], Fraction(24)), tmp_path / "s.mkv"))
    assert silent.audio is None and np.array_equal(silent.frames, frames[:3])
    (tmp_path / "bad.mkv").write_bytes(b"\x1a\x45\xdf\xa3 not really")
    assert load_clip(tmp_path / "bad.mkv") is None and load_clip(tmp_path / "missing.mkv") is None
