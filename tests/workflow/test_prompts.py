"""Prompt templates: sandboxed, strict, filters from plugins."""

from __future__ import annotations

import pytest

from ltxflow.campaign import load_campaign
from ltxflow.errors import TemplateError
from ltxflow.plan import build_tasks
from ltxflow.prompts import PromptTemplate


def test_renders_prompt_and_negative_prompt_with_builtin_filters(make_campaign):
    tasks = build_tasks(load_campaign(make_campaign()))
    assert tasks[0].prompt == "A sunny kitchen. Acme red mug. Sound: a kettle whistle."
    assert tasks[0].negative_prompt == "blurry, watermark"
    assert tasks[1].negative_prompt == "blurry, text"


def test_undefined_variable_names_template_variable_and_row(make_campaign):
    folder = make_campaign(template="{{ product }} with {{ flavour }}")
    with pytest.raises(TemplateError) as err:
        build_tasks(load_campaign(folder))
    message = str(err.value)
    assert message.startswith(str(folder.absolute() / "prompt.j2"))
    assert "variants.csv: row 2 (variant_id=alpha)" in message and "undefined variable 'flavour'" in message


@pytest.mark.parametrize(
    "source",
    ["{{ ''.__class__.__mro__ }}", "{{ product.__class__.__mro__[1].__subclasses__() }}", "{{ cycler.__init__.__globals__ }}"],
)
def test_sandbox_blocks_escapes(make_campaign, source):
    folder = make_campaign(template=source)
    with pytest.raises(TemplateError) as err:
        build_tasks(load_campaign(folder))
    assert "prompt.j2: variants.csv: row 2" in str(err.value)


def test_syntax_error_names_line_and_empty_prompt_rejected(tmp_path):
    path = tmp_path / "t.j2"
    path.write_text("ok\n{% if %}")
    with pytest.raises(TemplateError, match=r"t.j2:2: template syntax error"):
        PromptTemplate(path)
    path.write_text("{{ '' }}")
    with pytest.raises(TemplateError, match=r"t.j2: row 9: the template rendered an empty prompt"):
        PromptTemplate(path).render({}, "row 9")


def test_whitespace_collapsed_and_filters_given(tmp_path):
    path = tmp_path / "t.j2"
    path.write_text("{{ x | shout }}\n\n   and   more\n")
    assert PromptTemplate(path, {"shout": str.upper}).render({"x": "hi"}, "row 2").prompt == "HI and more"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ 'ab' * 10**9 }}", "blocked by the template sandbox: repeating 2 items 1000000000 times exceeds the 20000-"),
        ("{{ [1] * 10**6 }}", "blocked by the template sandbox: repeating 1 items 1000000 times"),
        ("{{ 10 ** 1000000000 }}", "blocked by the template sandbox: integer power 1000000000 is over the limit of 64"),
        ("{% for i in range(100000) %}{{ 'abcdefghij' * 100 }}{% endfor %}", "passes the 20000-character limit"),
        ("{{ 'x' * 19999 }} {{ 'y' * 19999 }}", "is 39999 characters, over the 20000-character limit"),
    ],
)
def test_a_template_cannot_render_without_bound(make_campaign, source, message):
    folder = make_campaign(template=source)
    with pytest.raises(TemplateError) as err:
        build_tasks(load_campaign(folder))
    assert message in str(err.value) and "variants.csv: row 2" in str(err.value) and "\n" not in str(err.value)
