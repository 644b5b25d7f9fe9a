"""Every setting that changes the output is in the task id, set in the campaign, overridden (visibly) by the
environment; settings that change only speed or memory are not (issue 13)."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from ltxflow.campaign import load_campaign
from ltxflow import plugins
from ltxflow.cli import cli
from ltxflow.errors import CampaignError
from ltxflow.hookspecs import hookimpl
from ltxflow.ledger.store import Ledger
from ltxflow.plan import build_tasks, plan_campaign
from ltxflow.runner import run_campaign

SMALL = '[export.reels]\nwidth = 144\nheight = 256\nx264_preset = "ultrafast"\nmin_seconds = 0'


@pytest.fixture
def finished(make_campaign, toml, tmp_path, fake_engine):
    """A campaign run once with the exact defaults: (folder, ledger path)."""
    folder = make_campaign(toml(platforms='["reels"]', extra=SMALL))
    run_campaign(folder, ledger=tmp_path / "l.db", out_dir=tmp_path / "out", progress=False)
    return folder, tmp_path / "l.db"


def _pending(folder, db) -> tuple[int, tuple[str, ...]]:
    with Ledger.open(db) as book:
        plan = plan_campaign(folder, ledger=book)
    return len(plan.pending), plan.overrides


def test_precision_from_the_environment_makes_every_task_pending_offload_none(finished, monkeypatch):
    folder, db = finished
    assert _pending(folder, db) == (0, ())
    monkeypatch.setenv("LTXFLOW_DIT", "fp8")
    assert _pending(folder, db) == (2, ('$LTXFLOW_DIT=fp8 sets generation.precision = "fp8"',))
    monkeypatch.setenv("LTXFLOW_DIT", "offload")
    assert _pending(folder, db) == (0, ("$LTXFLOW_DIT=offload sets generation.offload = true",))
    monkeypatch.setenv("LTXFLOW_DIT", "plain")
    assert _pending(folder, db)[0] == 0  # the reference path is an exact speed path too


def test_precision_and_offload_in_the_campaign_itself(finished, toml, tmp_path):
    folder, db = finished
    text = (folder / "campaign.toml").read_text()
    (folder / "campaign.toml").write_text(text.replace("steps = 2\n", 'steps = 2\nprecision = "fp8"\n'))
    assert _pending(folder, db) == (2, ())
    (folder / "campaign.toml").write_text(text.replace("steps = 2\n", "steps = 2\noffload = true\n"))
    assert _pending(folder, db) == (0, ())
    (folder / "campaign.toml").write_text(text.replace("steps = 2\n", 'steps = 2\ndtype = "bfloat16"\n'))
    assert _pending(folder, db) == (2, ())  # the compute dtype changes the output too


def test_plan_command_names_the_override_and_shows_finished_tasks(finished, monkeypatch):
    folder, db = finished
    shown = CliRunner().invoke(cli, ["plan", str(folder), "--ledger", str(db)], catch_exceptions=False)
    header, *rows = shown.output.splitlines()
    status = header.split().index("status")
    assert [line.split()[status] for line in rows[:2]] == ["finished", "finished"]
    assert "2 tasks, 0 pending; estimate $0.00" in shown.output and f"ledger: {db.resolve()}\n" in shown.output
    monkeypatch.setenv("LTXFLOW_DIT", "fp8,offload")
    shown = CliRunner().invoke(cli, ["plan", str(folder), "--ledger", str(db)], catch_exceptions=False)
    assert 'override: $LTXFLOW_DIT=fp8,offload sets generation.precision = "fp8", generation.offload = true\n' in shown.output
    assert "2 tasks, 2 pending" in shown.output


def test_the_engine_gets_the_resolved_settings(make_campaign, toml, tmp_path, fake_engine, pm, monkeypatch):
    seen = {}

    class Probe:
        @hookimpl
        def register_engines(self, register):
            def build(settings):
                seen["env"] = os.environ.get("LTXFLOW_DIT")  # what an engine that reads the environment sees
                return plugins.engines()["fake"].item(settings)

            register("probe", build)

    folder = make_campaign(toml(platforms='["reels"]', extra=SMALL, generation="offload = true")
                           .replace('engine = "fake"', 'engine = "probe"'))  # fmt: skip
    monkeypatch.setenv("LTXFLOW_DIT", "fp8")
    pm.register(Probe(), name="probe")
    try:
        run_campaign(folder, ledger=tmp_path / "l.db", out_dir=tmp_path / "out", progress=False)
    finally:
        pm.unregister(name="probe")
    settings = fake_engine.settings
    assert (settings.precision, settings.offload, settings.reference_path) == ("fp8", False, False)  # env wins
    assert seen["env"] == "fp8" and "LTXFLOW_DIT" in os.environ  # set for the engine, the caller's value kept


def test_text_encoder_and_upsampler_identities_enter_ids_of_real_checkpoints_only(make_campaign, toml, tmp_path,
                                                                                  monkeypatch):  # fmt: skip
    refine = '[[lora]]\npath = "distilled.safetensors"\nstage = "refine"\n'  # a real two-stage refines with it
    real = make_campaign(toml(extra=refine, generation='checkpoint = "weights/model.safetensors"\npipeline = "two-stage"')
                         .replace("width = 64", "width = 128").replace("height = 64", "height = 128"))  # fmt: skip
    (real / "distilled.safetensors").write_bytes(b"lora")
    ids = lambda folder: [t.id for t in build_tasks(load_campaign(folder))]  # noqa: E731
    base = ids(real)
    contexts = tmp_path / "contexts.safetensors"
    contexts.write_bytes(b"one")
    monkeypatch.setenv("LTXFLOW_PROMPT_EMBEDDINGS", str(contexts))
    with_contexts = ids(real)
    assert set(with_contexts).isdisjoint(base)
    contexts.write_bytes(b"two")  # same file, new content: new ids
    assert set(ids(real)).isdisjoint(with_contexts)
    upsampler = tmp_path / "up.safetensors"
    upsampler.write_bytes(b"x" * 10)
    before = ids(real)
    monkeypatch.setenv("LTXFLOW_UPSAMPLER", str(upsampler))
    assert set(ids(real)).isdisjoint(before)  # two-stage: the upsampler's identity counts
    tiny = make_campaign(toml())
    monkeypatch.delenv("LTXFLOW_PROMPT_EMBEDDINGS")
    tiny_ids = ids(tiny)
    monkeypatch.setenv("LTXFLOW_PROMPT_EMBEDDINGS", str(contexts))
    monkeypatch.setenv("LTXFLOW_GEMMA_DIR", str(tmp_path))
    assert ids(tiny) == tiny_ids  # the tiny checkpoint brings its own text encoder and upsampler


def test_bad_override_is_a_one_line_error(make_campaign, toml, monkeypatch):
    monkeypatch.setenv("LTXFLOW_DIT", "fp4")
    with pytest.raises(CampaignError, match=r"^\$LTXFLOW_DIT: unknown setting\(s\) fp4; use fp8, offload or plain$"):
        plan_campaign(make_campaign(toml(platforms='["reels"]')))
