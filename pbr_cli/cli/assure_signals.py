"""`pbr assure signals`: each provider's signals of gaming for a period. Registered on the
`assure` group by assure.py."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pbr_cli.cli.common import ConfigOpt, RegisterOpt, ReturnsOpt, fail, in_a_folder, is_quiet
from pbr_cli.errors import EXIT_OK, PbrError


def signals(
    ctx: typer.Context,
    model_name: str = typer.Option(..., "--model", "-m", help="The scheme's model."),
    period: str = typer.Option(..., "--period", "-p", help="A month 2013-06, a quarter "
                               "2013-Q2, a financial year 2013/14, or a range "
                               "2013-04..2013-09."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Also write the signals "
                                       "as a workbook here."),
    returns: Path | None = ReturnsOpt,
    register_path: Path | None = RegisterOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the signals as JSON "
                                 "(schema: docs/json.md)."),
    config: Path | None = ConfigOpt,
) -> None:
    """Signals of gaming for a period: for each provider, each signal the model names
    (`signals:`) with its figure, its own history and the other providers, an exact test,
    and what a commissioner might ask. The tests are one family, its false alarms held to
    the model's share by the Benjamini-Hochberg rule. Signals never change a payment;
    nothing is recorded. See docs/assurance.md.

    Examples:

      pbr assure signals -m MODEL -p 2013/14

      pbr assure signals -m MODEL -p 2013-Q2 --json

      pbr assure signals -m MODEL -p 2013/14 -o signals.xlsx
    """
    try:
        from pbr_cli.cycle.scheme import Scheme
        from pbr_cli.jobs.assure_signals import run_signals, title_of
        from pbr_cli.periods import parse_period

        in_a_folder(ctx, output)
        wanted = parse_period(period)
        scheme = Scheme.named(config, model_name, returns=returns, register=register_path)
        found, table, written = run_signals(scheme, wanted, output)
    except PbrError as exc:
        fail(ctx, exc, as_json)
    if as_json:
        from pbr_cli.outputs.signals_view import signals_as_dict

        typer.echo(json.dumps({"schema": 1, "signals": signals_as_dict(
            found, written[0] if written else None)}, indent=2))
    else:
        from pbr_cli.outputs.console import console
        from pbr_cli.outputs.signals_view import signals_view

        signals_view(console(quiet=is_quiet(ctx)), table, title_of(found),
                     [str(p) for p in written])
    raise typer.Exit(EXIT_OK)
