"""Caption side files: SubRip (.srt) and WebVTT (.vtt) from timed cues, written atomically beside the MP4."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ltxflow.export.atomic import atomic_path
from ltxflow.layers.layout import Cue


def _clock(seconds: float, separator: str) -> str:
    """HH:MM:SS<sep>mmm, rounded to the millisecond."""
    ms = round(seconds * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{separator}{ms:03d}"


def srt_text(cues: Sequence[Cue]) -> str:
    """SubRip: numbered blocks `n`, `start --> end` (comma before ms), the lines, a blank line."""
    blocks = [f"{n}\n{_clock(c.start, ',')} --> {_clock(c.end, ',')}\n" + "\n".join(c.lines) + "\n"
              for n, c in enumerate(cues, start=1)]  # fmt: skip
    return "\n".join(blocks)


def vtt_text(cues: Sequence[Cue], language: str) -> str:
    """WebVTT: the `WEBVTT` header, then `start --> end` (dot before ms) blocks; `<` and `&` escaped."""
    def esc(line: str) -> str:
        return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    blocks = [f"{_clock(c.start, '.')} --> {_clock(c.end, '.')}\n" + "\n".join(esc(x) for x in c.lines) + "\n"
              for c in cues]  # fmt: skip
    return f"WEBVTT\nLanguage: {language}\n\n" + "\n".join(blocks)


def write_captions(cues: Sequence[Cue], language: str, video: Path) -> tuple[Path, Path]:
    """`<stem>.srt` and `<stem>.vtt` beside `video` (UTF-8, LF); returns both paths."""
    out = []
    for suffix, text in ((".srt", srt_text(cues)), (".vtt", vtt_text(cues, language))):
        path = video.with_suffix(suffix)
        with atomic_path(path) as partial:
            partial.write_text(text, encoding="utf-8", newline="\n")
        out.append(path)
    return out[0], out[1]
