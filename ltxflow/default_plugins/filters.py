"""Built-in template filters for writing prompts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ltxflow.hookspecs import hookimpl


def sentence(text: str) -> str:
    """Capitalise the first letter and end with a full stop."""
    text = str(text).strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def join_and(items: Iterable[Any] | str, sep: str = ";") -> str:
    """'a;b;c' or [a, b, c] as "a, b and c"."""
    parts = [p.strip() for p in (items.split(sep) if isinstance(items, str) else map(str, items)) if p.strip()]
    if len(parts) < 2:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def words(text: str, limit: int) -> str:
    """The first `limit` words."""
    return " ".join(str(text).split()[:limit])


@hookimpl
def register_template_filters(register: Callable[[str, Callable[..., Any]], None]) -> None:
    register("sentence", sentence)
    register("join_and", join_and)
    register("words", words)
