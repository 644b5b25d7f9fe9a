"""Example local plugin: a `hashtag` template filter, and a JSON-lines log of finished tasks.

Any plain module in ./plugins (or $LTXFLOW_PLUGINS_DIR) loads as a plugin named `local:<file stem>`.
Set LTXFLOW_RUN_LOG=path/to/log.jsonl to record every finished task.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import Any

from ltxflow.hookspecs import hookimpl


def hashtag(text: str) -> str:
    """"spring blossom latte" -> "#SpringBlossomLatte"."""
    return "#" + "".join(word.capitalize() for word in re.findall(r"[A-Za-z0-9]+", str(text)))


@hookimpl
def register_template_filters(register: Callable[[str, Callable[..., Any]], None]) -> None:
    register("hashtag", hashtag)


@hookimpl
def task_finished(task: Any, outputs: list[Any]) -> None:
    path = os.environ.get("LTXFLOW_RUN_LOG")
    if not path:
        return
    line = {"task_id": task.id, "variant_id": task.variant_id, "seed": task.seed, "files": [o.path for o in outputs]}
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(line) + "\n")
