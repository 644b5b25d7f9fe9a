"""`review` and `promote`: look at the drafts, decide, render the chosen ones at final quality."""

from __future__ import annotations

from pathlib import Path

import click

from ltxflow.errors import LtxflowError

_ledger_opt = click.option("--ledger", "ledger_url", default=None, help="Ledger: SQLite path or SQLAlchemy URL "
                           "(default $LTXFLOW_LEDGER or ./ltxflow-ledger.db).")  # fmt: skip
_out_opt = click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("out"), show_default=True,
                        help="The output folder the campaign was run with.")  # fmt: skip


@click.command()
@click.argument("campaigns", nargs=-1, type=click.Path(path_type=Path))
@_ledger_opt
@_out_opt
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback unless --allow-remote).")
@click.option("--port", type=int, default=8765, show_default=True, help="Port; 0 picks a free one.")
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --host (needs --token).")
@click.option("--token", default=None, envvar="LTXFLOW_REVIEW_TOKEN", help="Secret every request must carry "
              "(>= 16 characters; $LTXFLOW_REVIEW_TOKEN).")  # fmt: skip
@click.option("--reviewer", default=None, help="Name recorded with decisions (default: the OS user).")
@click.option("--export", "export_which", type=click.Choice(["approved", "winner"]), default=None,
              help="Write the deliverables and manifest of the approved (or winning) variants, then exit.")  # fmt: skip
@click.option("--to", "export_to", type=click.Path(path_type=Path), default=None,
              help="Folder for --export (default <out>/<campaign>/<approved|winner>).")  # fmt: skip
def review(campaigns: tuple[Path, ...], ledger_url: str | None, out_dir: Path, host: str, port: int,
           allow_remote: bool, token: str | None, reviewer: str | None, export_which: str | None,
           export_to: Path | None) -> None:  # fmt: skip
    """Review CAMPAIGNS (default: every folder under ./campaigns) in a local web app: play the drafts per
    platform, compare them side by side, approve, reject, mark winners, rate and note, promote to final."""
    from ltxflow.ledger.store import Ledger

    if export_which is None:
        try:
            from ltxflow.review.server import serve
        except ImportError as exc:
            raise LtxflowError(f"review needs the optional extra: pip install 'ltxflow[review]' ({exc.name} missing)") from None
        with Ledger.open(ledger_url, create=False) as book:
            serve(campaigns, ledger=book, out_dir=out_dir, host=host, port=port, allow_remote=allow_remote,
                  token=token, reviewer=reviewer, echo=click.echo)  # fmt: skip
        return
    from ltxflow.review.approved import export_approved
    from ltxflow.review.model import ReviewSource

    if len(campaigns) != 1:
        raise LtxflowError("review --export: name exactly one campaign")
    with Ledger.open(ledger_url, create=False) as book:
        result = export_approved(ReviewSource(campaigns[0], book, out_dir), export_to, export_which)  # type: ignore[arg-type]
    finals = sum(r.stage == "final" for r in result.renders)
    click.echo(f"exported {len(result.renders)} {export_which} variant(s) ({finals} final, "
               f"{len(result.renders) - finals} draft): {len(result.files)} files in {result.folder}")  # fmt: skip
    click.echo(f"manifest: {result.manifest}")


@click.command()
@click.argument("campaign", type=click.Path(path_type=Path))
@_ledger_opt
@_out_opt
@click.option("--winners-only", is_flag=True, help="Only variants marked winner (default: every approved one).")
@click.option("--device", default=None, help="Engine device (auto, cpu, cuda, cuda:1); default from the campaign.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
def promote(campaign: Path, ledger_url: str | None, out_dir: Path, winners_only: bool, device: str | None,
            progress: bool) -> None:  # fmt: skip
    """Render the approved (or winning) drafts of CAMPAIGN with its [final] profile: same prompt and seed, new
    tasks and files; the drafts stay. Exit 1 when a final failed."""
    from ltxflow.ledger.store import Ledger
    from ltxflow.review.promote import promote_campaign

    with Ledger.open(ledger_url, create=False) as book:
        result = promote_campaign(campaign, ledger=book, out_dir=out_dir, winners_only=winners_only, device=device,
                                  progress=progress)  # fmt: skip
    for p in result.promotions:
        click.echo(f"{p.status}: {p.variant_id} s{p.seed} final {p.final_task_id} (draft {p.draft_task_id})")
    for run in result.runs:
        for stem, error in run.failed:
            click.echo(f"failed: {stem}: {error}")
    rendered = sum(p.status == "rendered" for p in result.promotions)
    if not result.promotions:
        click.echo(f"{result.campaign}: nothing to promote: no {'winner' if winners_only else 'approved'} draft")
    else:
        click.echo(f"{result.campaign}: {len(result.promotions)} chosen, {rendered} rendered")
    raise SystemExit(result.exit_code)
