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
        self.env = SandboxedEnvironment(
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
            module = self.template.make_module(dict(context))
            prompt = _tidy(str(module))
            negative = _tidy(str(getattr(module, NEGATIVE_VARIABLE, "")))
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


def _tidy(text: str) -> str:
    """Collapse runs of whitespace (template line breaks) into single spaces."""
    return " ".join(text.split())
