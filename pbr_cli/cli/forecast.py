"""`pbr forecast`: what the rest of a period will cost and bring each provider. Registered
on the main app in app.py."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pbr_cli.cli.common import (
    ConfigOpt,
    RegisterOpt,
    ReturnsOpt,
    fail,
    in_a_folder,
    is_quiet,
    progress_factory,
    schemes_asked,
)
from pbr_cli.errors import EXIT_OK, PbrError


def forecast(
    ctx: typer.Context,
    model_name: str | None = typer.Option(None, "--model", "-m", help="The scheme's model "
                                          "(default: each scheme in the config)."),
    period: str | None = typer.Option(None, "--period", "-p", help="The period to forecast: "
                                      "a financial year 2013/14, a quarter, a range "
                                      "2013-04..2014-03 (default: the financial year of the "
                                      "latest recorded month)."),
    to: str | None = typer.Option(None, "--to", help="Forecast from the scheme's start to "
                                  "this month, YYYY-MM (the contract so far and to come)."),
    as_at: str | None = typer.Option(None, "--as-at", help="Forecast as if only the months up "
                                     "to this one, YYYY-MM, were recorded (to see how a "
                                     "forecast made then did)."),
    what_if: list[str] = typer.Option([], "--what-if", help="A change to a rate, a volume or a "
                                      "price, shown beside the base case (repeat to combine): "
                                      "NAME=VALUE [from YYYY-MM], NAME+N points, volume+N%, "
                                      "NAME+N%, NAME price+N% [from YYYY-MM]. See "
                                      "docs/forecast.md."),
    simulations: int = typer.Option(100, "--simulations", min=10, max=10_000,
                                    help="How many simulations the ranges come from (a range "
                                    "is stated from ten beyond each of its ends: 100 for 80%; "
                                    "fewer are said to be rough)."),
    level: int = typer.Option(80, "--level", min=50, max=98, help="Per cent of simulations "
                              "each range holds."),
    basis: int = typer.Option(12, "--basis", min=1, max=120, help="Draw each provider's "
                              "months from its latest this many recorded months."),
    seed: int = typer.Option(1, "--seed", help="Seed of the draws (the same seed and returns "
                             "give the same forecast)."),
    no_budget: bool = typer.Option(False, "--no-budget", help="Forecast without a budget."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Workbook to write "
                                       "(default: OUTPUT/<model>/<model>-<period>-forecast-"
                                       "as-at-<month>.xlsx)."),
    returns: Path | None = ReturnsOpt,
    register_path: Path | None = RegisterOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the forecast as JSON "
                                 "(schema: docs/json.md)."),
    config: Path | None = ConfigOpt,
) -> None:
    """Forecast a period: each provider's payment for every month still to come, by the
    scheme's own rules, with a range; the commissioner's spend against the budget.

    Every provider's return for a month to come is one of its recent returns drawn at
    random and moved to that month; each month is then priced as `pbr calculate` prices
    it. Many such simulations give the expected figure (their average) and a range (their
    middle 80%). The budget is the scheme's `budget:` in the config. Writes a workbook
    (a chart of recorded and projected months, per provider and in total; the
    assumptions). Records nothing. See docs/forecast.md.

    Examples:

      pbr forecast -m MODEL -p 2013/14

      pbr forecast -m MODEL --what-if "completion+5 points" --what-if "volume-10%"

      pbr forecast -m MODEL --as-at 2013-06 --no-budget --json
    """
    try:
        from pbr_cli.cycle.scheme import Scheme
        from pbr_cli.forecast import Settings
        from pbr_cli.jobs.forecast import ForecastAsk, run_forecast

        in_a_folder(ctx, output)
        made = []
        for name in schemes_asked(config, model_name, output):
            progress = None if as_json else progress_factory(ctx)
            try:
                scheme = Scheme.named(config, name, returns=returns, register=register_path,
                                     progress=progress)
                made.append(run_forecast(scheme, ForecastAsk(period, to, as_at,
                                                             tuple(what_if), no_budget),
                                         Settings(simulations, level, basis, seed), output))
            finally:
                if progress is not None:
                    progress.close()
    except PbrError as exc:
        fail(ctx, exc, as_json)
    thin = _too_few(simulations, level)
    if thin:
        typer.echo(f"pbr: {thin}", err=True)
    if as_json:
        from pbr_cli.outputs.forecast import forecast_as_dict

        each = [forecast_as_dict(result, written[0]) for result, written in made]
        # one scheme: "forecast"; several (no --model, several in the config): "forecasts"
        typer.echo(json.dumps({"schema": 1, **({"forecast": each[0]} if len(each) == 1
                                               else {"forecasts": each}),
                               "range_note": thin or None}, indent=2))
    else:
        from pbr_cli.outputs.console import console
        from pbr_cli.outputs.forecast_view import forecast_view

        con = console(quiet=is_quiet(ctx))
        for i, (result, written) in enumerate(made):
            if i:
                con.print()
            forecast_view(con, result, [str(p) for p in written])
    raise typer.Exit(EXIT_OK)


BEYOND_EACH_END = 10  # simulations outside each end of a range, for the range to be stated


def fewest_simulations(level: int) -> int:
    """The fewest simulations a `level` per cent range is stated from: ten beyond each of
    its ends (80%: 100; 90%: 200; 98%: 1,000)."""
    return -(-BEYOND_EACH_END * 200 // (100 - level))


def _too_few(simulations: int, level: int) -> str:
    """What to say when the range rests on too few simulations ('' when it does not)."""
    fewest = fewest_simulations(level)
    if simulations >= fewest:
        return ""
    return (f"the {level}% ranges are from only {simulations} simulations, too few to state "
            f"them ({fewest} or more put ten beyond each end of a range): read them as "
            f"rough; --simulations {fewest} states them")
