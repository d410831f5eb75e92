"""A forecast's workbook and JSON: the recorded months, then the projection with its range,
in total and per provider (a chart of each), the what-if beside the base case, and the
assumptions it rests on. Renders; decides nothing."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from pbr_cli.forecast import TOTAL, Forecast, Outlook
from pbr_cli.forecast.kinds import forecast_kind
from pbr_cli.money import format_percent
from pbr_cli.outputs.xlsx import (
    Formats,
    atomic_output,
    heading_height,
    made_workbook,
    print_setup,
    write_cell,
)

BANNER = "FORECAST — NOT FOR PAYMENT. Projected months are estimates, not entitlements."
ACTUAL_COLOUR, EXPECTED_COLOUR, RANGE_COLOUR, WHAT_IF_COLOUR = (
    "#1F4E78", "#0072B2", "#A5A5A5", "#D55E00")


def forecast_filename(f: Forecast) -> str:
    period = f.period.text.replace("/", "-").replace("..", "_to_")
    return f"{f.model.name}-{period}-forecast-as-at-{f.as_at}.xlsx"


def summary(f: Forecast, outlook: Outlook | None = None) -> dict[str, Any]:
    """The headline figures: spent so far, expected for the rest, the period's total with its
    range, the budget and how likely it is to be passed."""
    o = outlook or f.base
    t = f.split(TOTAL, o)
    return {"actual": t.recorded, "projected": t.to_come, "total": t.total, "low": t.low,
            "high": t.high, "budget": f.budget,
            "headroom": (f.budget - t.total) if f.budget is not None else None,
            "over_budget_chance": o.over_budget}


class ForecastFormats(Formats):
    rounded: Any  # an expected figure rounded to what the simulations support
    rounded_bold: Any


class Rounded(Decimal):
    """An expected figure as the simulations support it: rounded to the forecast's unit
    (written as a number, shown without pence)."""


def unit(f: Forecast) -> Decimal | None:
    """What the simulations support: the power of ten (£1 to £1,000) at or below the
    standard error of the expected period total (the simulations' spread over the square
    root of their number); None when they all agree (the figure is exact)."""
    se = f.base.standard_error
    if se <= 0:
        return None
    return Decimal(10) ** max(0, min(3, se.adjusted()))


def est(f: Forecast, value: Decimal | None) -> Decimal | None:
    """An expected figure rounded half-up to the unit the simulations support."""
    u = unit(f)
    if value is None or u is None:
        return value
    return Rounded((value / u).quantize(Decimal(1), ROUND_HALF_UP) * u)


def rounding_note(f: Forecast) -> str:
    u = unit(f)
    if u is None or not f.projected_months:
        return "Every figure to the penny (the simulations agree on the months to come)."
    return (f"Expected figures and ranges of the months to come are rounded to the nearest "
            f"£{u:,.0f}: {f.settings.simulations} simulations give the expected total to "
            f"about ±£{f.base.standard_error:,.0f} (one standard error). Recorded months are "
            "to the penny.")


def _style(fmt: ForecastFormats, v: Any, plain: Any = None) -> Any:
    return fmt.rounded if isinstance(v, Rounded) else (plain or fmt.money)


def no_basis_text(f: Forecast) -> str:
    """Each provider projected with no return of its own, by code and name, and how."""
    names = dict(f.providers)
    return "; ".join(f"{p} {names.get(p, '')}".strip() for p in f.no_basis) + (
        f" ({forecast_kind(f.model).no_basis})")


def write_forecast(f: Forecast, target: Path) -> Path:
    with atomic_output(Path(target)) as tmp:
        with made_workbook(tmp, f"{f.model.title}: forecast for {f.period.text}") as wb:
            fmt = ForecastFormats(wb)
            fmt.note = wb.add_format({"italic": True, "font_color": "#555555"})
            fmt.table_title = wb.add_format({"bold": True, "font_size": 12})
            fmt.rounded = wb.add_format({"num_format": "£#,##0"})
            fmt.rounded_bold = wb.add_format({"num_format": "£#,##0", "bold": True,
                                              "top": 1})
            _summary_sheet(wb, fmt, f)
            _providers_sheet(wb, fmt, f)
            tables = _months_sheet(wb, fmt, f)
            _charts_sheet(wb, fmt, f, tables)
            _assumptions_sheet(wb, fmt, f)
    return Path(target)


def _heading(ws, fmt: Formats, f: Forecast, what: str) -> int:
    ws.write_string(0, 0, f"{f.model.title}: {what}, {f.period.describe()}", fmt.title)
    ws.write_string(1, 0, f"As at {f.as_at}: {len(f.actual_months)} month(s) recorded, "
                    f"{len(f.projected_months)} projected; ranges hold the middle "
                    f"{f.settings.level}% of {f.settings.simulations} simulations.",
                    fmt.subtitle)
    ws.write_string(2, 0, BANNER, fmt.banner)
    ws.write_string(3, 0, rounding_note(f), fmt.note)
    row = 4
    if f.scenario is not None:
        ws.write_string(row, 0, "WHAT-IF: " + "; ".join(f.scenario_text)
                        + " — beside the base case; nothing recorded.", fmt.banner)
        row += 1
    return row + 1


def _headers(ws, fmt: Formats, row: int, headers: list[str], widths: list[float]) -> None:
    for j, (h, w) in enumerate(zip(headers, widths, strict=True)):
        ws.write_string(row, j, h, fmt.header)
        ws.set_column(j, j, w)
    ws.set_row(row, heading_height(headers, widths))  # every heading whole


def _month_rows(f: Forecast, provider: str) -> list[list[Any]]:
    rows = []
    for m in f.months:
        expected = f.base.total(provider, m)
        low, high = f.base.month_range.get((provider, m), (None, None))
        if f.is_actual(m):
            low = high = None
        row: list[Any] = [str(m), "recorded" if f.is_actual(m) else "projected",
                          expected if f.is_actual(m) else None,
                          None if f.is_actual(m) else est(f, expected), est(f, low),
                          est(f, high)]
        if f.scenario is not None:
            alt = f.scenario.total(provider, m)
            row += ([alt, alt - expected] if f.is_actual(m)
                    else [est(f, alt), est(f, alt - expected)])
        rows.append(row)
    return rows


def _summary_sheet(wb, fmt: ForecastFormats, f: Forecast) -> None:
    ws = wb.add_worksheet("Forecast")
    row = _heading(ws, fmt, f, "forecast")
    s = summary(f)
    to_come = est(f, s["projected"])
    total = s["actual"] + to_come if to_come is not None else s["total"]
    facts: list[tuple[str, Any, Any]] = [
        ("Recorded so far", s["actual"], fmt.money),
        ("Expected for the months to come", to_come, _style(fmt, to_come)),
        ("Expected total for the period", total, fmt.money_bold if unit(f) is None
         else fmt.rounded_bold),
        (f"Range ({f.settings.level}%): low", est(f, s["low"]), _style(fmt, est(f, s["low"]))),
        (f"Range ({f.settings.level}%): high", est(f, s["high"]),
         _style(fmt, est(f, s["high"]))),
    ]
    if f.no_basis:
        facts.append(("Projected without a return of its own", no_basis_text(f), fmt.text))
    facts.append(("The most that could be paid", f.most if f.most is not None
                  else f.most_how, fmt.money if f.most is not None else fmt.text))
    if f.budget is not None:
        facts += [("Budget", f.budget, fmt.money),
                  ("Budget left after the expected total", f.budget - total,
                   fmt.money if unit(f) is None else fmt.rounded),
                  ("Chance of passing the budget", s["over_budget_chance"], fmt.percent)]
    if f.scenario is not None:
        w = summary(f, f.scenario)
        alt = est(f, w["total"])
        facts += [("What-if: expected total", alt, _style(fmt, alt, fmt.money_bold)),
                  ("What-if: difference from the base case", est(f, w["total"] - s["total"]),
                   _style(fmt, est(f, w["total"] - s["total"]))),
                  (f"What-if: range ({f.settings.level}%)", f"£{est(f, w['low']):,.0f} to "
                   f"£{est(f, w['high']):,.0f}" if unit(f) is not None else
                   f"£{w['low']:,.2f} to £{w['high']:,.2f}", fmt.text)]
    ws.set_column(0, 0, 40)
    for label, value, style in facts:
        ws.write_string(row, 0, label, fmt.label)
        write_cell(ws, row, 1, value, style)
        row += 1
    row += 1
    ws.write_string(row, 0, "Month by month, all providers", fmt.table_title)
    row += 1
    headers = ["Month", "Recorded or projected", "Recorded", "Expected", "Range low",
               "Range high"] + (["What-if", "Difference"] if f.scenario is not None else [])
    widths = [40.0, 20.0, 15.0, 15.0, 15.0, 15.0] + ([15.0, 15.0] if f.scenario else [])
    _headers(ws, fmt, row, headers, widths)
    header = row
    rows = _month_rows(f, TOTAL)
    for i, values in enumerate(rows, start=row + 1):
        for j, v in enumerate(values):
            write_cell(ws, i, j, v, fmt.text if j < 2 else _style(fmt, v))
    last = header + len(rows)
    chart = _chart(wb, f, "Forecast", header, last, f"All providers, {f.period.text}")
    ws.insert_chart(header, len(headers) + 1, chart, {"x_offset": 10})
    ws.freeze_panes(header + 1, 0)
    print_setup(ws, header, f"{f.model.name} forecast {f.period.text}", widths)


def _chart(wb, f: Forecast, sheet: str, header: int, last: int, title: str):
    """Recorded months as columns, then the expected months with the range's low and high
    as lines (and the what-if's as a line when there is one)."""
    chart = wb.add_chart({"type": "column"})
    cats = [sheet, header + 1, 0, last, 0]
    chart.add_series({"name": "Recorded", "categories": cats,
                      "values": [sheet, header + 1, 2, last, 2],
                      "fill": {"color": ACTUAL_COLOUR}, "gap": 60, "overlap": 100})
    chart.add_series({"name": "Expected", "categories": cats,
                      "values": [sheet, header + 1, 3, last, 3],
                      "fill": {"color": EXPECTED_COLOUR, "transparency": 40},
                      "border": {"color": EXPECTED_COLOUR}, "gap": 60, "overlap": 100})
    lines = wb.add_chart({"type": "line"})
    for name, j, dash in (("Range low", 4, "dash"), ("Range high", 5, "dash")):
        lines.add_series({"name": name, "categories": cats,
                          "values": [sheet, header + 1, j, last, j],
                          "line": {"color": RANGE_COLOUR, "width": 1.75, "dash_type": dash},
                          "marker": {"type": "none"}})
    if f.scenario is not None:
        lines.add_series({"name": "What-if", "categories": cats,
                          "values": [sheet, header + 1, 6, last, 6],
                          "line": {"color": WHAT_IF_COLOUR, "width": 2},
                          "marker": {"type": "circle", "size": 5,
                                     "fill": {"color": WHAT_IF_COLOUR},
                                     "border": {"color": WHAT_IF_COLOUR}}})
    chart.combine(lines)
    chart.set_title({"name": title, "name_font": {"size": 11}})
    chart.set_y_axis({"num_format": "£#,##0", "major_gridlines": {
        "visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_x_axis({"num_font": {"size": 8}})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 620, "height": 300})
    return chart


def _providers_sheet(wb, fmt: ForecastFormats, f: Forecast) -> None:
    ws = wb.add_worksheet("Providers")
    row = _heading(ws, fmt, f, "each provider's expected income")
    headers = ["Provider", "Name", "Recorded so far", "Expected for the months to come",
               "Expected total", "Range low", "Range high", "Cap or maximum reached"]
    widths = [10.0, 30.0, 14.0, 14.0, 14.0, 14.0, 14.0, 36.0]
    if f.scenario is not None:
        headers += ["What-if total", "Difference"]
        widths += [15.0, 15.0]
    _headers(ws, fmt, row, headers, widths)
    header = row
    for code, name in f.providers:
        row += 1
        t = f.split(code)
        bite = f.base.limit_bites.get(code)
        said = ("" if not bite else f"from {bite[0]} (recorded)" if f.is_actual(bite[0])
                else f"from {bite[0]} (in {format_percent(bite[1])} of simulations)")
        to_come = est(f, t.to_come)
        assert to_come is not None
        total = t.recorded + to_come
        values: list[Any] = [code, name, t.recorded, to_come,
                             Rounded(total) if isinstance(to_come, Rounded) else total,
                             est(f, t.low), est(f, t.high), said]
        if f.scenario is not None:
            alt = f.scenario.total(code)
            values += [est(f, alt), est(f, alt - t.total)]
        for j, v in enumerate(values):
            write_cell(ws, row, j, v, fmt.text if j in (0, 1, 7) else _style(fmt, v))
    ws.freeze_panes(header + 1, 2)
    ws.autofilter(header, 0, row, len(headers) - 1)
    print_setup(ws, header, f"{f.model.name} forecast {f.period.text}", widths, 2)


def _months_sheet(wb, fmt: ForecastFormats, f: Forecast) -> list[tuple[str, int, int]]:
    """Each provider's months: the components, the total and its range. Returns where each
    provider's table is (its name, heading row, last row), for its chart."""
    ws = wb.add_worksheet("By month")
    row = _heading(ws, fmt, f, "each provider month by month")
    comps = f.components
    headers = ["Month", "Recorded or projected", "Recorded", "Expected", "Range low",
               "Range high"] + (["What-if", "Difference"] if f.scenario is not None else [])
    headers += [label for _, label in comps]
    widths = [12.0, 12.0] + [14.0] * (len(headers) - 2)
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    tables: list[tuple[str, int, int]] = []
    breaks = []
    for code, name in f.providers:
        if tables:
            breaks.append(row)  # each provider's table starts a printed page, its heading with it
        ws.write_string(row, 0, f"{code} {name}", fmt.table_title)
        row += 1
        _headers(ws, fmt, row, headers, widths)
        header = row
        for values in _month_rows(f, code):
            row += 1
            month = next(m for m in f.months if str(m) == values[0])
            values = values + [f.base.lines.get((code, month, c), Decimal("0.00"))
                               if f.is_actual(month) else
                               est(f, f.base.lines.get((code, month, c), Decimal("0.00")))
                               for c, _ in comps]
            for j, v in enumerate(values):
                write_cell(ws, row, j, v, fmt.text if j < 2 else _style(fmt, v))
        tables.append((f"{code} {name}", header, row))
        row += 2
    print_setup(ws, None, f"{f.model.name} forecast {f.period.text}", widths, 1)
    ws.set_h_pagebreaks(breaks[:1022])  # (the most a sheet holds)
    return tables


def _charts_sheet(wb, fmt: Formats, f: Forecast, tables: list[tuple[str, int, int]]) -> None:
    """A chart of each provider's months (from the By month sheet), two across a page."""
    ws = wb.add_worksheet("Charts")
    row = _heading(ws, fmt, f, "each provider's months, recorded then projected")
    for i, (title, header, last) in enumerate(tables):
        chart = _chart(wb, f, "By month", header, last, title)
        chart.set_size({"width": 480, "height": 250})
        ws.insert_chart(row + (i // 2) * 13, (i % 2) * 8, chart, {"x_offset": 5, "y_offset": 5})
    print_setup(ws, None, f"{f.model.name} forecast {f.period.text}", [8.43] * 16)


def _assumptions_sheet(wb, fmt: Formats, f: Forecast) -> None:
    ws = wb.add_worksheet("Assumptions")
    row = _heading(ws, fmt, f, "what the forecast assumes")
    _headers(ws, fmt, row, ["Assumption", "What is assumed"], [26.0, 110.0])
    header = row
    for topic, text in f.assumptions:
        row += 1
        ws.write_string(row, 0, topic, fmt.label)
        ws.write_string(row, 1, text, fmt.wrap)
    print_setup(ws, header, f"{f.model.name} forecast {f.period.text}", [26.0, 110.0])


def forecast_as_dict(f: Forecast, path: Path | None) -> dict[str, Any]:
    """The forecast as JSON (docs/json.md): money as strings of pounds and pence."""
    def money(v: Decimal | None) -> str | None:
        return None if v is None else str(v)

    def outlook(o: Outlook) -> dict[str, Any]:
        s = summary(f, o)
        return {
            "total": {"recorded": money(s["actual"]), "projected": money(s["projected"]),
                      "expected": money(s["total"]), "low": money(s["low"]),
                      "high": money(s["high"]),
                      "over_budget_chance": (None if s["over_budget_chance"] is None
                                             else float(s["over_budget_chance"]))},
            "projection_defects": o.defects.as_json(),
            "months": [{"month": str(m), "recorded": f.is_actual(m),
                        "expected": money(o.total(TOTAL, m)),
                        "low": money(o.month_range[(TOTAL, m)][0])
                        if (TOTAL, m) in o.month_range else None,
                        "high": money(o.month_range[(TOTAL, m)][1])
                        if (TOTAL, m) in o.month_range else None} for m in f.months],
            "providers": [{
                "provider": code, "name": name,
                "expected": money(o.total(code)),
                "low": money(o.total_range.get(code, (o.total(code),) * 2)[0]),
                "high": money(o.total_range.get(code, (o.total(code),) * 2)[1]),
                "limit_reached": ({"month": str(o.limit_bites[code][0]),
                                   "share": float(o.limit_bites[code][1])}
                                  if code in o.limit_bites else None),
                "months": [{"month": str(m), "recorded": f.is_actual(m),
                            "expected": money(o.total(code, m)),
                            "components": {c: money(o.lines.get((code, m, c),
                                                                Decimal("0.00")))
                                           for c, _ in f.components}}
                           for m in f.months]} for code, name in f.providers]}

    out = {
        "model": f.model.name, "period": {"text": f.period.text, "start":
                                          f.period.start.isoformat(),
                                          "end": f.period.end.isoformat()},
        "as_at": str(f.as_at), "recorded_months": [str(m) for m in f.actual_months],
        "projected_months": [str(m) for m in f.projected_months],
        "simulations": f.settings.simulations, "level": f.settings.level,
        "seed": f.settings.seed, "basis_months": f.settings.basis_months,
        "budget": money(f.budget), "budget_source": f.budget_source or None,
        "base": outlook(f.base),
        "what_if": ({"changes": f.scenario_text, **outlook(f.scenario)}
                    if f.scenario is not None else None),
        "no_basis": [{"provider": p, "name": dict(f.providers).get(p, ""),
                      "how": forecast_kind(f.model).no_basis} for p in f.no_basis],
        "most_payable": money(f.most), "most_payable_how": f.most_how,
        "assumptions": [{"topic": t, "text": x} for t, x in f.assumptions],
        "workbook": str(path) if path is not None else None,
    }
    return out
