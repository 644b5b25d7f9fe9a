"""Prompt templates: Jinja in a sandbox with StrictUndefined, filters from plugins."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from ltxflow.errors import TemplateError

NEGATIVE_VARIABLE = "negative_prompt"  # a template sets it with {% set negative_prompt = "..." %}
MAX_RENDERED_CHARS = 20_000  # a rendered prompt (or negative prompt) longer than this is refused
MAX_POWER = 64  # `a ** b` on integers with b above this is refused (10 ** 10 ** 9 would take the CPU for ever)


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox, plus limits on what one expression may build: `*` on text or lists and `**` on integers."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_RENDERED_CHARS:
                    raise SecurityError(f"repeating {len(seq)} items {times} times exceeds the "
                                        f"{MAX_RENDERED_CHARS}-character prompt limit")  # fmt: skip
        if operator == "**" and isinstance(right, int) and isinstance(left, int) and right > MAX_POWER:
            raise SecurityError(f"integer power {right} is over the limit of {MAX_POWER}")
        return super().call_binop(context, operator, left, right)


@dataclass(frozen=True)
class Rendered:
    """A rendered prompt pair."""

    prompt: str  # picture and sound in one description
    negative_prompt: str  # "" when the template sets none


class PromptTemplate:
    """One loaded template file that renders a prompt per variant row."""

    def __init__(self, path: Path, filters: Mapping[str, Callable[..., Any]] | None = None) -> None:
        """Load and compile `path`; raise TemplateError naming the file and line on a syntax error."""
        self.path = Path(path)
        self.env = _Sandbox(
            loader=jinja2.FileSystemLoader(str(self.path.parent)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
        )
        self.env.filters.update(filters or {})
        try:
            self.template = self.env.get_template(self.path.name)
        except jinja2.TemplateNotFound:
            raise TemplateError(f"{self.path}: template not found") from None
        except UnicodeDecodeError:
            raise TemplateError(f"{self.path}: not UTF-8 text") from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{self.path}:{exc.lineno}: template syntax error: {exc.message}") from None

    def render(self, context: Mapping[str, Any], where: str) -> Rendered:
        """Render for one row; `where` names the row in errors ("variants.csv: row 4")."""
        try:
            prompt, negative = self._bounded(dict(context), where)
        except SecurityError as exc:
            raise TemplateError(f"{self.path}: {where}: blocked by the template sandbox: {exc}") from None
        except jinja2.UndefinedError as exc:
            match = re.search(r"'([^']+)' is undefined", str(exc))
            name = match.group(1) if match else str(exc)
            if match is None:
                raise TemplateError(f"{self.path}: {where}: {exc}") from None
            raise TemplateError(f"{self.path}: {where}: undefined variable {name!r} (not a column of the row)") from None
        except jinja2.TemplateError as exc:
            raise TemplateError(f"{self.path}: {where}: {type(exc).__name__}: {exc}") from None
        except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
            raise TemplateError(f"{self.path}: {where}: {type(exc).__name__}: {exc}") from None
        if not prompt:
            raise TemplateError(f"{self.path}: {where}: the template rendered an empty prompt")
        return Rendered(prompt, negative)


    def _bounded(self, context: dict[str, Any], where: str) -> tuple[str, str]:
        """Render chunk by chunk, stopping as soon as the output passes MAX_RENDERED_CHARS (a loop of many
        small pieces could otherwise fill memory before the result is ever measured)."""
        ctx = self.template.new_context(context)
        chunks, size = [], 0
        for chunk in self.template.root_render_func(ctx):
            size += len(chunk)
            if size > 4 * MAX_RENDERED_CHARS:  # whitespace collapses below; this bounds what is held meanwhile
                raise TemplateError(f"{self.path}: {where}: the rendered prompt passes the "
                                    f"{MAX_RENDERED_CHARS}-character limit")  # fmt: skip
            chunks.append(chunk)
        prompt = _tidy("".join(chunks))
        negative = _tidy(str(ctx.get_exported().get(NEGATIVE_VARIABLE, "")))
        for text in (prompt, negative):
            if len(text) > MAX_RENDERED_CHARS:
                raise TemplateError(f"{self.path}: {where}: the rendered prompt is {len(text)} characters, over "
                                    f"the {MAX_RENDERED_CHARS}-character limit")  # fmt: skip
        return prompt, negative


def _tidy(text: str) -> str:
    """Collapse runs of whitespace (template line breaks) into single spaces."""
    return " ".join(text.split())
