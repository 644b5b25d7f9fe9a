"""Draft → final and --export approved: finals are new tasks beside their drafts; exports hold the chosen only."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ltxflow.campaign import load_campaign
from ltxflow.cli import cli
from ltxflow.errors import CampaignError, LtxflowError
from ltxflow.gc import collect_garbage
from ltxflow.ledger import DecisionIn
from ltxflow.plan import plan_campaign
from ltxflow.review.approved import export_approved
from ltxflow.review.model import ReviewSource
from ltxflow.review.promote import promote_campaign
from ltxflow.tasks import file_sha256


def _decide(book, variant: str, action: str, **extra) -> str:
    task = next(t for t in book.tasks("spring") if t.variant_id == variant and json.loads(t.settings_json)["steps"] == 2)
    book.record_decision(DecisionIn(task_id=task.id, action=action, reviewer="ana", **extra))
    return task.id


def _hashes(book) -> dict[int, str]:
    return {o.output_id: file_sha256(Path(o.path)) for o in book.outputs("spring")}


def test_promote_renders_finals_of_the_approved_only_and_keeps_the_drafts(finished):
    with finished.ledger() as book:
        drafts_before = _hashes(book)
        winner = _decide(book, "alpha", "winner")
        _decide(book, "beta", "approve")
        _decide(book, "gamma", "reject")
        generated = len(finished.control.generated)
        result = promote_campaign(finished.folder, ledger=book, out_dir=finished.out)
        assert sorted((p.variant_id, p.status) for p in result.promotions) == [("alpha", "rendered"), ("beta", "rendered")]
        assert len(finished.control.generated) == generated + 2 and result.exit_code == 0
        finals = {t.variant_id: t for t in book.tasks("spring") if json.loads(t.settings_json)["steps"] == 4}
        assert sorted(finals) == ["alpha", "beta"]
        draft = next(t for t in book.tasks("spring") if t.id == winner)
        final = finals["alpha"]
        settings = json.loads(final.settings_json)
        campaign = load_campaign(finished.folder)
        planned = next(t for t in plan_campaign(campaign.final_campaign()).tasks if t.variant_id == "alpha")
        assert (final.id, final.prompt, final.seed) == (planned.id, draft.prompt, draft.seed)
        assert (settings["width"], settings["height"]) == (planned.width, planned.height)
        drafted = json.loads(draft.settings_json)
        assert settings["width"] * settings["height"] > drafted["width"] * drafted["height"]  # the final's budget
        assert final.id != draft.id
        assert {k: v for k, v in _hashes(book).items() if k in drafts_before} == drafts_before  # drafts untouched
        final_files = [Path(o.path) for o in book.outputs("spring") if o.task_id == final.id]
        draft_files = {Path(o.path) for o in book.outputs("spring") if o.task_id == draft.id}
        assert final_files and not draft_files & set(final_files)  # own files, not the draft's names
        assert all(p.is_relative_to(finished.out / "spring") for p in final_files)
        # the current view: the finals where they exist, the drafts elsewhere (gamma's rejected draft included)
        current = book.current_task_ids("spring")
        assert set(current) == {finals["alpha"].id, finals["beta"].id, next(
            t.id for t in book.tasks("spring") if t.variant_id == "gamma")}  # fmt: skip
        linked = {p.name for p in (finished.out / "spring" / "current").iterdir()}
        assert {Path(o.path).name for o in book.outputs("spring") if o.task_id == final.id} <= linked
        garbage = collect_garbage(finished.folder, ledger=book, out_dir=finished.out)  # finals are not garbage
        assert garbage.remove == () and garbage.keep == len(book.outputs("spring"))
        again = promote_campaign(finished.folder, ledger=book, out_dir=finished.out)
        assert {p.status for p in again.promotions} == {"already"} and len(finished.control.generated) == generated + 2


def test_promote_winners_only_and_a_campaign_without_final(finished, tmp_path):
    with finished.ledger() as book:
        _decide(book, "alpha", "approve")
        assert promote_campaign(finished.folder, ledger=book, out_dir=finished.out, winners_only=True).promotions == ()
        toml = finished.folder / "campaign.toml"
        toml.write_text(toml.read_text().replace("[final]\nwidth = 128\nheight = 192\nsteps = 4\n", ""))
        with pytest.raises(CampaignError, match=r"final: no \[final\] profile"):
            promote_campaign(finished.folder, ledger=book, out_dir=finished.out)


def _manifest(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_export_approved_writes_the_chosen_renders_and_their_manifest(finished):
    with finished.ledger() as book:
        _decide(book, "alpha", "winner")
        _decide(book, "beta", "approve")
        _decide(book, "gamma", "reject")
        source = ReviewSource(finished.folder, book, finished.out)
        result = export_approved(source)
        rows = _manifest(result.manifest)
        assert result.folder == finished.out / "spring" / "approved"
        assert sorted({r["variant_id"] for r in rows}) == ["alpha", "beta"]
        assert {(r["platform"], r["kind"]) for r in rows if r["variant_id"] == "alpha"} == {
            (p, k) for p in ("reels", "shorts", "tiktok") for k in ("video", "cover", "preview")}  # fmt: skip
        for r in rows:  # the copies are the recorded files
            assert file_sha256(Path(r["file"])) == r["sha256"] and Path(r["file"]).parent == result.folder
        assert {r["decision"] for r in rows} == {"winner", "approved"} and {r["stage"] for r in rows} == {"draft"}
        assert {p.name for p in result.folder.iterdir()} == {Path(r["file"]).name for r in rows} | {
            "manifest.csv", ".ltxflow-export"}  # fmt: skip
        winners = export_approved(source, which="winner")
        assert {r["variant_id"] for r in _manifest(winners.manifest)} == {"alpha"}

        promote_campaign(finished.folder, ledger=book, out_dir=finished.out)  # finals replace drafts in the export
        _decide(book, "beta", "clear")
        again = _manifest(export_approved(source).manifest)
        assert {(r["variant_id"], r["stage"]) for r in again} == {("alpha", "final")}
        assert not any(p.name.startswith("spring__beta") for p in result.folder.iterdir())  # beta's copies are gone


def test_export_refuses_changed_files_and_foreign_folders_without_writing(finished, tmp_path):
    with finished.ledger() as book:
        _decide(book, "alpha", "approve")
        source = ReviewSource(finished.folder, book, finished.out)
        first = export_approved(source)
        before = {p.name: p.read_bytes() for p in first.folder.iterdir()}
        video = next(o for o in book.outputs("spring") if o.variant_id == "alpha" and o.kind == "video")
        data = bytearray(Path(video.path).read_bytes())
        data[-1] ^= 0xFF  # same size, different bytes: only the hash can tell
        Path(video.path).write_bytes(bytes(data))
        with pytest.raises(LtxflowError, match=r"alpha s3 draft reels video: .* changed since it was recorded"):
            export_approved(source)
        assert {p.name: p.read_bytes() for p in first.folder.iterdir()} == before  # the earlier export stays
        mine = tmp_path / "mine"
        mine.mkdir()
        (mine / "notes.txt").write_text("keep me")
        with pytest.raises(LtxflowError, match="exists and is not an earlier export"):
            export_approved(source, mine)
        assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_cli_promote_export_and_ledger_filter(finished, tmp_path):
    ledger = ["--ledger", str(finished.ledger_path)]
    with finished.ledger() as book:
        _decide(book, "alpha", "winner")
        _decide(book, "gamma", "reject")
    runner = CliRunner()
    result = runner.invoke(cli, ["promote", str(finished.folder), *ledger, "--out", str(finished.out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("rendered: alpha s3 final ") and result.output.endswith("spring: 1 chosen, 1 rendered\n")
    result = runner.invoke(cli, ["ledger", *ledger, "--by", "variant", "--decision", "rejected"])
    assert result.exit_code == 0, result.output
    assert [line.split()[1] for line in result.output.splitlines()[1:-1]] == ["gamma"]
    assert result.output.endswith("decision rejected: 1 task\n")
    result = runner.invoke(cli, ["ledger", *ledger, "--by", "variant", "--decision", "undecided", "--csv",
                                 str(tmp_path / "u.csv")])  # fmt: skip
    undecided = {r["variant_id"] for r in _manifest(tmp_path / "u.csv")}
    assert undecided == {"alpha", "beta"}  # beta's draft and alpha's final (nobody decided on it yet)
    result = runner.invoke(cli, ["review", str(finished.folder), *ledger, "--out", str(finished.out), "--export",
                                 "approved", "--to", str(tmp_path / "deliver")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "exported 1 approved variant(s) (1 final, 0 draft)" in result.output
    assert {r["variant_id"] for r in _manifest(tmp_path / "deliver" / "manifest.csv")} == {"alpha"}
