"""`pbr init` and `pbr statements`: an authority's folder, and what each provider is sent.
Registered on the main app in app.py (in the order `pbr --help` lists them)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pbr_cli.cli.common import (
    ConfigOpt,
    LedgerOpt,
    RegisterOpt,
    ReturnsOpt,
    fail,
    in_a_folder,
    is_quiet,
    progress_factory,
    schemes_asked,
)
from pbr_cli.errors import EXIT_OK, PbrError


def init(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., help="The new folder (it must not exist, or be empty)."),
    model_names: list[str] = typer.Option([], "--model", "-m", help="A shipped model to copy in "
                                          "(repeat for several; default: every one)."),
    go_live: str | None = typer.Option(None, "--go-live", help="The first month pbr's ledger "
                                       "pays, YYYY-MM (default: each scheme's start)."),
    authority: str = typer.Option("the authority", "--authority", help="Who the folder is "
                                  "for, as its README says it."),
) -> None:
    """Make a folder for an authority's monthly routine, from the models shipped with pbr.

    It holds pbr.yaml; the chosen models with their registers and worked examples, to change
    locally; returns/<model>/ for the month folders; out/ for schedules, the ledger and the
    log; and a README of the monthly routine (with a crontab line and how to go live after
    a trial). Nothing is written over.

    Examples:

      pbr init council-pbr --model MODEL --go-live 2013-04

      pbr init trial
    """
    try:
        from pbr_cli.jobs.init import init_folder

        written = init_folder(folder, model_names or None, go_live, authority)
    except PbrError as exc:
        fail(ctx, exc)
    typer.echo(f"Made {folder}: {len(written)} file(s) and folder(s). Next: cd {folder}; file "
               "a month's returns as returns/<model>/YYYY-MM/*.xlsx; pbr run (see README.md).")
    raise typer.Exit(EXIT_OK)


def statements(
    ctx: typer.Context,
    model_name: str | None = typer.Option(None, "--model", "-m", help="The scheme's model "
                                          "(default: each scheme in the config; see `pbr "
                                          "models list`)."),
    period: str = typer.Option(..., "--period", "-p", help="The month, e.g. 2013-06."),
    provider: str | None = typer.Option(None, "--provider", help="Only this provider's "
                                        "statement (default: every provider paid that month)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Folder to write them to "
                                       "(default: OUTPUT/<model>/statements/<month>/)."),
    returns: Path | None = ReturnsOpt,
    register_path: Path | None = RegisterOpt,
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
    with_forecast: bool = typer.Option(False, "--forecast", help="Add each provider's "
                                       "projected income for the rest of the financial year "
                                       "(`pbr forecast` as at the month; a forecast, not a "
                                       "payment)."),
    ledger: str | None = LedgerOpt,
    config: Path | None = ConfigOpt,
) -> None:
    """Write each provider's statement for a month: what it is paid and why.

    A statement holds only its provider's figures: the comparison with the block contract,
    each component, every payment line with the figures behind it, its evidence rows (its
    own clients), prior-period adjustments with their reasons, the problems found in its
    returns, and whether the month is APPROVED or a DRAFT (with the ledger run) — as a
    workbook and as a PDF laid out for print, to send to the provider. Totals agree to the
    penny with the month's schedule. Nothing is recorded in the ledger.

    Examples:

      pbr statements --model MODEL --period 2013-06

      pbr statements -m MODEL -p 2013-06 --provider P01 -o statements/

      pbr statements -m MODEL -p 2013-09 --forecast
    """
    try:
        from pbr_cli.cycle.scheme import Scheme
        from pbr_cli.jobs.statements import run_statements

        in_a_folder(ctx, output)
        made = []
        for name in schemes_asked(config, model_name, output):
            progress = None if as_json else progress_factory(ctx)
            try:
                settings = None
                if with_forecast:
                    from pbr_cli.forecast import Settings

                    settings = Settings()
                scheme = Scheme.named(config, name, returns=returns, register=register_path,
                                     ledger=ledger, progress=progress)
                made.append((scheme, run_statements(scheme, period, provider, output,
                                                    settings)))
            finally:
                if progress is not None:
                    progress.close()
    except PbrError as exc:
        fail(ctx, exc, as_json)
    if as_json:
        each = [_as_dict(scheme, result) for scheme, result in made]
        # one scheme: its object as ever; several (no --model): {"schema": 1, "schemes": [...]}
        typer.echo(json.dumps({"schema": 1, **each[0]} if len(each) == 1 else
                              {"schema": 1, "schemes": each}, indent=2))
    else:
        from pbr_cli.outputs.console import console

        con = console(quiet=is_quiet(ctx))
        for i, (scheme, result) in enumerate(made):
            if i:
                con.print()
            _view(con, scheme, result)
    raise typer.Exit(EXIT_OK)


def _as_dict(scheme, result) -> dict:
    schedule = result.schedule
    totals = {p.provider: p for p in schedule.providers}
    return {"model": scheme.model.name, "period": str(schedule.month),
            "standing": schedule.standing.describe() if schedule.standing else "",
            "note": result.note,
            "statements": [{"provider": code, "status": totals[code].status,
                            "payment": str(totals[code].total()),
                            "due": str(schedule.due(code)), "workbook": str(xlsx),
                            "pdf": str(pdf)} for code, xlsx, pdf in result.written]}


def _view(con, scheme, result) -> None:
    from rich.markup import escape

    from pbr_cli.money import format_money
    from pbr_cli.outputs.console import Col, fit_table

    schedule = result.schedule
    totals = {p.provider: p for p in schedule.providers}
    con.print(f"[bold]{escape(scheme.model.title)}[/] — statements for {schedule.month.label()}: "
              f"{escape(result.note)}")
    fit_table(con, [Col("Provider", "fixed"), Col("Name", drop=2), Col("Status", "fixed"),
                    Col("Due", "money", "right"), Col("Workbook", drop=1), Col("PDF")],
              [[escape(code), escape(totals[code].name), totals[code].shown_status.lower(),
                format_money(schedule.due(code)), escape(str(xlsx)), escape(str(pdf))]
               for code, xlsx, pdf in result.written])
    con.print(f"{len(result.written)} statement(s) written.")
