"""Conditioning files named by a campaign: content hashes for task ids, and the problems that fail a task.

A missing or unreadable file does not stop planning: its task gets the hash marker MISSING (a stable id
that changes once the file appears), `validate` and `plan` report it, and `run` fails only that task.
"""

from __future__ import annotations

import os
from pathlib import Path

from ltxflow.errors import LtxflowError
from ltxflow.tasks import Task, file_sha256

MISSING = "missing"  # the sha256 recorded for a conditioning file that could not be read at planning time


class InputFileError(LtxflowError):
    """A task's conditioning file that is missing, empty or unreadable; names the variant and the file."""


def content_hash(path: Path) -> str:
    """The file's sha256, or MISSING when it cannot be read."""
    try:
        return file_sha256(path)
    except OSError:
        return MISSING


def file_problem(path: Path) -> str | None:
    """Why `path` cannot condition a task ("file not found", ...), or None when it is a readable non-empty file."""
    if not path.exists():
        return "file not found"
    if not path.is_file():
        return "not a regular file"
    if path.stat().st_size == 0:
        return "file is empty (0 bytes)"
    if not os.access(path, os.R_OK):
        return "file is not readable"
    return None


def task_input_problems(task: Task) -> list[str]:
    """One line per unusable conditioning file of `task`: "variant <id>: <role> <path>: <problem>"."""
    problems = []
    files = [(c.role, c.path, c.sha256) for c in task.conditioning]
    files += [("distilled_lora" if lora.stage == "refine" else "lora", lora.path, lora.sha256) for lora in task.loras]
    for role, path, sha256 in files:
        problem = file_problem(Path(path))
        if problem is None and sha256 == MISSING:
            problem = "could not be read when the campaign was planned"
        if problem is not None:
            problems.append(f"variant {task.variant_id}: {role} {path}: {problem}")
    return problems


def check_task_inputs(task: Task) -> None:
    """Raise InputFileError (one line, the first problem) if a conditioning file of `task` is unusable."""
    problems = task_input_problems(task)
    if problems:
        raise InputFileError(problems[0])
