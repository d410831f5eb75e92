"""The period report: workbook (with native Excel charts), JSON and the finance CSV.

Every output renders the same Report tables (pbr_cli.reporting), so none can show more
than another. Amounts are values
worked out by pbr (never formulas); the same report gives a byte-identical workbook.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import textwrap
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from pbr_cli import __version__
from pbr_cli.outputs.report_charts import column_of, months_chart, provider_chart, rates_chart
from pbr_cli.outputs.table_fit import row_heights
from pbr_cli.outputs.xlsx import (
    Formats,
    atomic_output,
    heading_height,
    made_workbook,
    print_setup,
    safe_text,
    write_cell,
)
from pbr_cli.reporting.cells import Ratio, Table
from pbr_cli.reporting.kinds import reporting_kind
from pbr_cli.reporting.report import Report

SHEETS = (  # sheet name, tables on it, in order
    ("Summary", ("providers",)),
    ("Flags", ("flags",)),
    ("Signals", ("signals",)),
    ("Months", ("months",)),
    ("PbR by month", ("provider_months",)),
    ("Variance by month", ("variance_months",)),
    ("Groups", ("group_",)),
    ("Rates", ("rates",)),
    ("Events", ("events",)),
    ("Bands", ("bands",)),
    ("Returns", ("returns",)),
    ("Adjustments", ("adjustments", "reconciliation")),
)
# long text columns, wrapped in their cells; the Signals table's at these widths
WRAPPED = ("detail", "reason", "signal", "figure", "own", "peers", "test", "question")
NARROW = {"signal": 22, "figure": 36, "own": 20, "peers": 18, "test": 26, "question": 48}


def period_slug(report: Report) -> str:
    return report.period.text.replace("/", "-").replace("..", "-to-")


def report_filename(report) -> str:
    suffix = "-publication" if report.publish else ""
    return f"{report.model.name}-{period_slug(report)}-report{suffix}.xlsx"


def csv_filename(report: Report) -> str:
    return f"{report.model.name}-{period_slug(report)}-payments.csv"


# -- workbook ------------------------------------------------------------------------------------

def write_report(report: Report, target: Path) -> Path:
    with atomic_output(Path(target)) as tmp:
        with made_workbook(tmp, f"{report.model.title}: report for {report.period.text}") as wb:
            fmt = _formats(wb)
            for sheet, tables in _sheets(report, SHEETS):
                _sheet(wb, fmt, report, sheet, tables)
            _about(wb, fmt, report)
    return Path(target)


def _formats(wb) -> Formats:
    fmt = Formats(wb)
    fmt.note = wb.add_format({"italic": True, "font_color": "#555555"})
    fmt.table_title = wb.add_format({"bold": True, "font_size": 12})
    fmt.flag = wb.add_format({"font_color": "#9C0006"})
    return fmt


def _sheets(report, layout) -> list[tuple[str, list[Table]]]:
    """(sheet name, its tables) for each sheet of `layout` that has tables: a table goes on
    the sheet naming it, or a prefix of it ending in "_"."""
    out = []
    for sheet, prefixes in layout:
        tables = [_one_column_a_figure(t) for name, t in report.tables.items()
                  if any(name == p or (p.endswith("_") and name.startswith(p)) for p in prefixes)]
        if tables:
            out.append((sheet, tables))
    return out


def _one_column_a_figure(table: Table) -> Table:
    """The table as a sheet shows it: a rates table whose period column ("Rolling 12 months
    to …": a rolling proportion, the period's rate is the last month's) repeats its last
    month's, without it, its note saying which month the period's rate is. (A period that
    adds up its months keeps its column, even when only one month has figures.)"""
    if table.name != "rates" or len(table.columns) < 4:
        return table
    last, period = table.columns[-2], table.columns[-1]
    if not period.header.startswith("Rolling") or any(r[-1] != r[-2] for r in table.rows):
        return table
    return dataclasses.replace(
        table, columns=table.columns[:-1], rows=[r[:-1] for r in table.rows],
        total=table.total[:-1] if table.total else table.total,
        note=f"{table.note} The period's rate ({period.header.lower()}) is {last.header}'s."
        .strip())


def _heading(ws, fmt: Formats, report: Report, what: str) -> int:
    m = report.model
    ws.write_string(0, 0, f"{m.title}: {what}, {report.period.text}", fmt.title)
    ws.write_string(1, 0, report.describe_coverage(), fmt.subtitle)
    row = 2
    if m.virtual:
        ws.write_string(row, 0, "SHADOW PAYMENT — NOT FOR PAYMENT. This pilot is virtual: the "
                        "PbR figures show what would be paid, beside what the contract pays.",
                        fmt.banner)
        row += 1
    if report.publish:
        ws.write_string(row, 0, f"For publication: counts only, each provider's month rounded "
                        f"at random to a multiple of {getattr(report, 'threshold', '')}; no money, "
                        "proportions, client ids or file names.", fmt.banner)
        row += 1
    ws.set_row(0, 20)
    return row + 1


def _footer(report: Report) -> str:
    return "SHADOW PAYMENT - NOT FOR PAYMENT" if report.model.virtual else report.model.title


def _widths(report: Report, table: Table) -> list[int]:
    out = []
    rows = report.rows(table)
    for j, col in enumerate(table.columns):
        if table.name == "signals" and col.key in NARROW:
            out.append(NARROW[col.key])  # (wrapped in their cells: the sheet prints readably)
        elif col.kind == "text":
            longest = max([len(str(r[j] or "")) for r in rows] + [len(col.header) // 2, 8])
            out.append(min(longest + 2, 90 if j == len(table.columns) - 1 else 52))
        else:
            out.append(max(13, min(len(col.header) // 2 + 2, 18)))
    return out


def _cell(ws, fmt: Formats, row: int, col: int, value: Any, kind: str, bold: bool = False) -> None:
    if isinstance(value, Ratio):
        value = value.value
    style = {"money": fmt.money_bold if bold else fmt.money, "percent": fmt.percent,
             "wrap": fmt.wrap,
             "count": fmt.integer, "integer": fmt.integer}.get(kind, fmt.bold if bold else fmt.text)
    if kind == "text" and isinstance(value, str) and value and bold is False and \
            (value.startswith(("losing", "small provider")) or value in ("missing", "faulty")):
        style = fmt.flag
    write_cell(ws, row, col, value, style)


def _write_table(ws, fmt: Formats, report: Report, table: Table, top: int, index: int,
                 widths: list[int]) -> tuple[int, int, int]:
    """Write a titled table at `top`; return (header row, last data row, next free row)."""
    ws.write_string(top, 0, table.title, fmt.table_title)
    header = top + 1
    rows = [[report.value(c) for c in r] for r in table.rows]
    last = header + max(len(rows), 1)
    ws.add_table(header, 0, last, len(table.columns) - 1, {
        "name": f"{table.name.title().replace('_', '')}{index}", "style": "Table Style Light 9",
        "autofilter": len(rows) > 1,
        "columns": [{"header": c.header, "header_format": fmt.header} for c in table.columns],
    })
    for i, r in enumerate(rows):
        for j, (value, col) in enumerate(zip(r, table.columns, strict=True)):
            if table.name == "signals":  # text only, each cell from the top of its row
                write_cell(ws, header + 1 + i, j, value, fmt.top(fmt.text, col.key in WRAPPED))
                continue
            _cell(ws, fmt, header + 1 + i, j, value,
                  "wrap" if col.key in WRAPPED else col.kind)
    if table.name == "signals":  # its wrapped text shown whole
        wraps = [c.key in WRAPPED for c in table.columns]
        for i, height in enumerate(row_heights(rows, widths, wraps)):
            if height is not None:
                ws.set_row(header + 1 + i, height)
    nxt = last + 1
    if table.total is not None:
        for j, (value, col) in enumerate(zip(table.total, table.columns, strict=True)):
            _cell(ws, fmt, nxt, j, report.value(value), col.kind, bold=True)
        nxt += 1
    for line in textwrap.wrap(table.note, 130):
        ws.write_string(nxt, 0, line, fmt.note)  # flows over the empty cells beside it
        nxt += 1
    return header, last, nxt + 1


def _sheet(wb, fmt: Formats, report, name: str, tables: list[Table],
           charts: bool = True) -> None:
    ws = wb.add_worksheet(name)
    top = _heading(ws, fmt, report, "report" if name == "Summary" else name)
    widths = [0] * max(len(t.columns) for t in tables)
    for t in tables:
        for j, w in enumerate(_widths(report, t)):
            widths[j] = max(widths[j], w)
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    for row in range(2, top - 1):  # each banner's fill runs under its text, across the tables
        for j in range(1, len(widths)):
            ws.write_blank(row, j, None, fmt.banner)
    placed = []
    for i, t in enumerate(tables):
        header, last, top = _write_table(ws, fmt, report, t, top, i, widths)
        placed.append((t, header, last))
    charts_of = ({"Summary": provider_chart, "Months": months_chart, "Rates": rates_chart}
                 if charts else {})
    # Wide sheets print at a readable size over several pages (what each row is repeated on
    # each); a sheet of one table has its heading on every printed page.
    print_setup(ws, placed[0][1] if len(tables) == 1 else 1, _footer(report), widths,
                repeat_columns=2)  # (several tables: the sheet's title on every page)
    for t, header, _ in placed:
        ws.set_row(header, heading_height([c.header for c in t.columns], widths))
    if name in charts_of:
        table, header, last = placed[0]
        chart, height = charts_of[name](wb, report, name, table, header, last)
        if chart is not None:
            if height > 450 or top > 28:
                ws.set_h_pagebreaks([top])  # the chart prints whole, on a page of its own
            ws.insert_chart(top, 0, chart, {"x_offset": 5, "y_offset": 5})
            if name == "Summary":
                _variance_sheet(wb, fmt, report, table)


FLAGGED = "#D55E00"  # vermillion beside blue: told apart by colour-blind readers too
NOT_FLAGGED = "#0072B2"


def _variance_sheet(wb, fmt: Formats, report: Report, table: Table) -> None:
    """The Variance sheet: each provider's variance against the comparison in %, sorted
    from the largest loss, each bar labelled with its % (its £ in the table beside, as
    every spreadsheet draws labels of a bar's own value); flagged providers in vermillion and
    named so — what a mid-point review looks at. The chart's data is the table
    beside it."""
    j_pct, j_gbp = column_of(table, "variance_pct"), column_of(table, "variance")
    if report.model.comparison is None or j_pct is None or j_gbp is None or not table.rows:
        return
    flagged = {f.provider for f in report.flags}
    rows = []
    for r in table.rows:
        pct = report.value(r[j_pct])
        pct = pct.value if isinstance(pct, Ratio) else pct
        if pct is None:
            continue
        rows.append((str(report.value(r[0])), str(report.value(r[1]) or ""),
                     report.value(r[j_gbp]), pct))
    rows.sort(key=lambda x: (x[3], x[0]))
    if not rows:
        return
    sheet = "Variance"
    ws = wb.add_worksheet(sheet)
    top = _heading(ws, fmt, report, "variance by provider")
    widths = [16, 34, 14, 12, 10]
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    for row in range(2, top - 1):
        for j in range(1, 14):  # the banner's fill under its text, past the chart's edge
            ws.write_blank(row, j, None, fmt.banner)
    ws.write_string(top, 0, "Variance by provider, largest loss first (the chart's data)",
                    fmt.table_title)
    header = top + 1
    print_setup(ws, header, _footer(report), widths + [90], repeat_columns=1)
    for j, h in enumerate(["Provider", "Provider name", "Variance £", "Variance %", "Flagged"]):
        ws.write_string(header, j, h, fmt.header)
    for i, (code, name, gbp, pct) in enumerate(rows, start=header + 1):
        mark = code in flagged
        ws.write_string(i, 0, f"{code} (flagged)" if mark else code, fmt.flag if mark else fmt.text)
        ws.write_string(i, 1, safe_text(name))
        write_cell(ws, i, 2, gbp, fmt.money)
        write_cell(ws, i, 3, pct, fmt.percent)
        ws.write_string(i, 4, "flagged" if mark else "")
    last = header + len(rows)
    chart = wb.add_chart({"type": "bar"})
    chart.add_series({
        "name": "Variance %", "categories": [sheet, header + 1, 0, last, 0],
        "values": [sheet, header + 1, 3, last, 3],
        "points": [{"fill": {"color": FLAGGED if code in flagged else NOT_FLAGGED},
                    "border": {"none": True}} for code, *_ in rows],
        "data_labels": {"value": True, "position": "outside_end", "font": {"size": 7},
                        "num_format": "0.0%"},
        "gap": 40})
    chart.set_title({"name": f"Variance against {report.model.comparison.label.lower()} by "
                     f"provider, % (£ in the table), {report.period.text}; flagged in "
                     "vermillion",
                     "name_font": {"size": 11}})
    chart.set_x_axis({"name": "% of the comparison", "num_format": "0%",
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_y_axis({"name": "Provider", "reverse": True, "num_font": {"size": 8},
                      "label_position": "low"})
    chart.set_legend({"none": True})
    height = min(900, max(360, 120 + 22 * len(rows)))
    chart.set_size({"width": 640, "height": height})
    ws.insert_chart(top, 6, chart, {"x_offset": 5, "y_offset": 5})


def _about(wb, fmt: Formats, report: Report) -> None:
    ws = wb.add_worksheet("About")
    top = _heading(ws, fmt, report, "About this report")
    print_setup(ws, 1, _footer(report))
    m = report.model
    facts = [
        ("Scheme", m.title),
        ("Model", f"{m.name} version {m.version}"),
        ("Model SHA-256", m.sha256),
        ("Period asked for", report.period.describe()),
        ("Months reported", f"{report.months[0]} to {report.months[-1]} ({report.covers})"),
        ("Payments", "virtual (shadow): not for payment" if m.virtual else "real"),
        ("How the figures were made", "Each month is worked out as `pbr calculate` works it "
         "out now, from the returns as they stand; totals are sums of the monthly schedules' "
         "lines, rounded to the penny per line."),
        ("Publication", "not for publication: `pbr report --publish` makes a copy that is "
         "(docs/publication.md)"),
        ("Written by", f"pbr {__version__}"),
    ]
    for e in report.excluded:
        facts.append((f"Not reported: {e.month}", e.why))
    facts.append(("Paid (approved)", report.describe_payments()))
    if report.ledger_note:
        facts.append(("Ledger", report.ledger_note))
    for i, (k, v) in enumerate(facts):
        ws.write_string(top + i, 0, k, fmt.label)
        ws.merge_range(top + i, 1, top + i, 3, safe_text(v), fmt.wrap)
        ws.set_row(top + i, 15 * (1 + len(v) // 110))
    row = top + len(facts) + 1
    inputs = {}
    for s in report.schedules:
        for f in s.inputs:
            if f.role == "return" and f.used:
                inputs[f.path] = (f.month, f.provider, f.sha256)
    ws.write_string(row, 0, "Returns used", fmt.table_title)
    row += 1
    for j, h in enumerate(("Month", "File", "Provider", "SHA-256")):
        ws.write_string(row, j, h, fmt.header)
    ws.set_column(0, 0, 28)
    ws.set_column(1, 1, 62)
    ws.set_column(2, 2, 10)
    ws.set_column(3, 3, 68)
    for path, (month, provider, sha) in sorted(inputs.items(), key=lambda kv: (kv[1], kv[0])):
        row += 1
        for j, v in enumerate((month, path, provider, sha)):
            ws.write_string(row, j, safe_text(v), fmt.text)


# -- JSON ----------------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    from pbr_cli.money import fraction_to_decimal

    if isinstance(value, Ratio):
        v = value.value
        return None if v is None else str(fraction_to_decimal(v, 6))
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Fraction):
        return str(fraction_to_decimal(value, 6))
    return value


def report_as_dict(report: Report, output: Path | None, csv_path: Path | None) -> dict[str, Any]:
    def table(t: Table) -> dict[str, Any]:
        keys = [c.key for c in t.columns]
        rows = [dict(zip(keys, (_plain(report.value(c)) for c in r), strict=True))
                for r in t.rows]
        total = (dict(zip(keys, (_plain(report.value(c)) for c in t.total), strict=True))
                 if t.total is not None else None)
        return {"title": t.title, "columns": [{"key": c.key, "header": c.header,
                                                 "kind": c.kind} for c in t.columns],
                "rows": rows, "total": total, "note": t.note}

    return {
        "model": report.model.name,
        "model_sha256": report.model.sha256,
        "virtual": report.model.virtual,
        "period": {"text": report.period.text, "kind": report.period.kind,
                   "start": report.period.start.isoformat(),
                   "end": report.period.end.isoformat(),
                   "months": [str(m) for m in report.months],
                   "excluded": [{"month": str(e.month), "reason": e.why} for e in report.excluded]},
        "publish": False,
        "totals": {"payment": str(report.totals["payment"]),
                   "comparison": str(report.totals["comparison"])},
        "flags": [{"provider": f.provider, "name": f.name, "flag": f.flag, "detail": f.detail}
                  for f in report.flags],
        "ledger_note": report.ledger_note or None,
        "payments": [
            {"month": p.month, "state": p.state, "run": p.run,
             "due": None if p.due is None else str(p.due),
             "approved_by": p.approved_by, "approved_at": p.approved_at}
            for p in report.payments],
        "tables": {name: table(t) for name, t in report.tables.items()},
        "output": str(output) if output else None,
        "csv": str(csv_path) if csv_path else None,
    }


# -- finance CSV ---------------------------------------------------------------------------------

def payments_csv(report: Report) -> str:
    """One row per payment (and comparison) line of each month, for a finance system."""
    m = report.model
    groups = reporting_kind(m).groups(m)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["scheme", "month", "month_start", "month_end", "provider_code", "provider_name",
                m.register.entity, f"{m.register.entity}_name", *groups, "component",
                "component_label", "kind", "amount", "basis", "status"])
    basis = "shadow - not for payment" if m.virtual else "payment"
    for s in report.schedules:
        for p in s.providers:
            for ln in p.lines:
                if ln.amount == 0 and ln.kind == "payment" and any(
                        c.reported_only for c in m.payments if c.name == ln.component):
                    continue  # reported, not paid
                g = dict(ln.groups)
                w.writerow([safe_text(v) for v in (
                    m.name, str(s.month), s.month.first_day.isoformat(),
                    s.month.last_day.isoformat(), p.provider, p.name, ln.entry,
                    ln.entry_label, *(g.get(c, "") for c in groups), ln.component,
                    ln.component_label, ln.kind)] + [str(ln.amount), basis, p.status])
    return out.getvalue()


def write_csv(report: Report, target: Path) -> Path:
    with atomic_output(Path(target)) as tmp:
        Path(tmp).write_text(payments_csv(report), encoding="utf-8", newline="")
    return Path(target)
