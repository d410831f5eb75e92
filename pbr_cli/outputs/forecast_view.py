"""A forecast on the console: the headline figures against the budget, then each provider's
expected income with its range (and the what-if beside it)."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console
from rich.markup import escape

from pbr_cli.forecast import Forecast
from pbr_cli.forecast.kinds import forecast_kind
from pbr_cli.money import format_money, format_percent
from pbr_cli.outputs.forecast import summary
from pbr_cli.outputs.table_fit import Col, fit_table, sparkline


def forecast_view(con: Console, f: Forecast, written: list[str]) -> None:
    m = f.model
    con.print(f"[bold]{escape(m.title)}[/] — forecast for {escape(f.period.describe())}, "
              f"as at {f.as_at}")
    con.print(f"[bold red]FORECAST — NOT FOR PAYMENT[/]: {len(f.actual_months)} month(s) "
              f"recorded, {len(f.projected_months)} projected; {f.settings.simulations} "
              f"simulations, ranges hold the middle {f.settings.level}%.")
    if m.virtual:
        con.print("SHADOW PAYMENT — a virtual pilot: nobody is paid by this model.")
    s = summary(f)
    con.print(f"Recorded so far: {format_money(s['actual'])}; expected for the months to "
              f"come: {format_money(s['projected'])}.")
    con.print(f"Expected total: [bold]{format_money(s['total'])}[/] "
              f"({f.settings.level}% range {format_money(s['low'])} to "
              f"{format_money(s['high'])}).")
    if f.no_basis:
        names = dict(f.providers)
        con.print("[yellow]Projected without a return of its own[/]: " + escape(", ".join(
            f"{p} ({names[p]})" if names.get(p) else p for p in f.no_basis))
            + " — see below.")
    con.print("The most that could be paid: " + (
        f"{format_money(f.most)} ({escape(f.most_how)})." if f.most is not None
        else escape(f.most_how) + "."))
    if f.budget is not None:
        over = s["over_budget_chance"]
        left = s["headroom"]
        words = ("left" if left >= 0 else "over")
        con.print(f"Budget: {format_money(f.budget)}; {format_money(abs(left))} {words} "
                  f"after the expected total; chance of passing it: "
                  f"{format_percent(over) if over is not None else 'n/a'}.")
    else:
        con.print("Budget: none given (--no-budget).")
    if f.scenario is not None:
        w = summary(f, f.scenario)
        con.print(f"[bold]What-if[/] ({escape('; '.join(f.scenario_text))}): expected total "
                  f"[bold]{format_money(w['total'])}[/], "
                  f"{_signed(w['total'] - s['total'])} beside the base case "
                  f"(range {format_money(w['low'])} to {format_money(w['high'])}).")
    cols = [Col("Provider", "fixed"), Col("Name", drop=3), Col("Recorded", "money", "right"),
            Col("To come", "money", "right"), Col("Expected", "money", "right"),
            Col("Low", "money", "right"), Col("High", "money", "right")]
    if f.scenario is not None:
        cols.append(Col("What-if +/-", "money", "right"))
    cols += [Col("Cap or max from", "fixed", drop=4), Col("By month", "extra", drop=5)]
    rows = []
    for code, name in f.providers:
        t = f.split(code)
        cells = [escape(code), escape(name), format_money(t.recorded), format_money(t.to_come),
                 format_money(t.total), format_money(t.low), format_money(t.high)]
        if f.scenario is not None:
            cells.append(_signed(f.scenario.total(code) - t.total))
        bite = f.base.limit_bites.get(code)
        cells.append(str(bite[0]) if bite else "")
        cells.append(sparkline([f.base.total(code, mo) for mo in f.months]))
        rows.append(cells)
    total = [f"[bold]{c}[/]" for c in (
        "All", "", format_money(s["actual"]), format_money(s["projected"]),
        format_money(s["total"]), format_money(s["low"]), format_money(s["high"]))]
    if f.scenario is not None:
        total.append(f"[bold]{_signed(summary(f, f.scenario)['total'] - s['total'])}[/]")
    total += ["", sparkline([f.base.total("", mo) for mo in f.months])]
    rows.append(total)
    fit_table(con, cols, rows, title="Each provider's expected income over the period",
              section_after=len(rows) - 2)
    if f.no_basis:
        con.print(f"[yellow]No months to draw from[/] ({escape(', '.join(f.no_basis))}): "
                  f"{escape(forecast_kind(f.model).no_basis)}.")
    if f.base.defects.simulations:
        con.print(f"[bold red]Projected returns refused[/]: {escape(f.base.defects.said())}")
    for path in written:
        con.print(f"Written: [bold]{escape(path)}[/]")


def _signed(value: Decimal) -> str:
    return ("+" if value > 0 else "-" if value < 0 else "") + format_money(abs(value))
