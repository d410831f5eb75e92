"""The payment schedule workbook: Summary, Lines, Warnings, About.

Every amount is a value (not a formula) worked out by pbr and rounded to the penny; the
Lines sheet carries beside each amount the figures it came from; About records the model,
every input file with its SHA-256, and the tool version. Virtual schemes say so on every
sheet. The same schedule gives a byte-identical file.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from pbr_cli import __version__
from pbr_cli.ledger.records import LineKind
from pbr_cli.outputs.kinds import EvidenceFile, output_kind
from pbr_cli.outputs.table_fit import (
    FIT_ROWS,
    fit_columns,
    heading_lines_height,
    repeated,
    row_heights,
)
from pbr_cli.outputs.xlsx import (
    Formats,
    add_long_table,
    atomic_output,
    made_workbook,
    print_setup,
    safe_text,
    write_cell,
    write_rows,
)
from pbr_cli.pricing.records import Schedule, State, accrued_note
from pbr_cli.reporting.kinds import reporting_kind

KIND_SHOWN = {LineKind.PAYMENT: "PbR", LineKind.COMPARISON: "Comparison",
              LineKind.ACCRUED: "Accrued"}  # (an accrued line is in no total)
TABLE_ROW = 4  # tables start on row 5, under the heading block
# The evidence rows one sheet holds (Excel's 1,048,576 rows, less the heading block and the
# table's heading row). A month with more — about 4,100 providers of a client-level scheme —
# has its evidence in a CSV file beside the workbook, named and fingerprinted on the sheet.
EVIDENCE_SHEET_ROWS = 1_048_576 - TABLE_ROW - 1
EVIDENCE_SUFFIX = "-evidence.csv"



def evidence_path(workbook: Path) -> Path:
    """The CSV beside a schedule workbook that holds its evidence when one sheet cannot."""
    return workbook.with_name(workbook.stem + EVIDENCE_SUFFIX)


def write_schedule(schedule: Schedule, target: Path, what: str = "payment schedule") -> Path:
    """Write the schedule to `target` through a temporary file (never half a file), and its
    evidence CSV beside it when there is more evidence than a sheet holds. `what` names it
    (a provider's statement is the schedule cut down to that provider)."""
    target = Path(target)
    with contextlib.ExitStack() as files:  # the CSV (when there is one) renamed first
        tmp = files.enter_context(atomic_output(target))

        def evidence_file() -> tuple[Path, Path]:
            final = evidence_path(target)
            return files.enter_context(atomic_output(final)), final

        render_schedule(schedule, tmp, what, evidence_file)
    return target


def render_schedule(schedule: Schedule, path: Path, what: str = "payment schedule",
                    evidence_file: EvidenceFile | None = None) -> None:
    """Write the schedule workbook to `path` itself (the caller renames it into place);
    `evidence_file` gives the CSV for evidence that one sheet cannot hold."""
    with made_workbook(path, f"{schedule.model.title}: {what} {schedule.month}") as wb:
        fmt = Formats(wb)
        _summary(wb, fmt, schedule, what)
        _lines(wb, fmt, schedule)
        output_kind(schedule.model).evidence(wb, fmt, schedule, evidence_file)
        if schedule.adjustments:
            _adjustments(wb, fmt, schedule)
        if schedule.projection is not None:
            _projection(wb, fmt, schedule)
        _warnings(wb, fmt, schedule)
        _about(wb, fmt, schedule)


def standing_text(schedule: Schedule) -> str:
    standing = schedule.standing
    return standing.describe() if standing is not None else "NOT RECORDED — not for payment"


def heading(ws, fmt: Formats, schedule: Schedule, what: str) -> None:
    model, month = schedule.model, schedule.month
    ws.write_string(0, 0, f"{model.title}: {what}, {month.label()}", fmt.title)
    ws.write_string(1, 0, f"Period {month} ({month.first_day.isoformat()} to "
                    f"{month.last_day.isoformat()}). Model {model.name} version {model.version}. "
                    f"{standing_text(schedule)}.", fmt.subtitle)
    if model.virtual:
        ws.write_string(2, 0, "SHADOW PAYMENT — NOT FOR PAYMENT. This pilot is virtual: the "
                        "figures show what would be paid, beside what the contract pays.",
                        fmt.banner)
    elif schedule.standing is None or schedule.standing.state != State.APPROVED:
        ws.write_string(2, 0, f"{standing_text(schedule)}.", fmt.banner)
    ws.set_row(0, 20)


def _has_banner(schedule: Schedule) -> bool:
    return schedule.model.virtual or schedule.standing is None or \
        schedule.standing.state != State.APPROVED


def _footer(schedule: Schedule) -> str:
    model = schedule.model
    state = schedule.standing.state if schedule.standing is not None else State.NOT_RECORDED
    run = f" run {schedule.standing.run}" if schedule.standing and schedule.standing.run else ""
    return (f"SHADOW PAYMENT - NOT FOR PAYMENT - {state}{run}" if model.virtual
            else f"{model.title} - {state}{run}")


@dataclass(frozen=True)
class Layout:
    """How a sheet's table looks: its name, each column's heading and format, the widest
    each text column grows before its text wraps, and how many columns each printed page
    repeats."""

    name: str
    headers: list[str]
    formats: list
    widths: list[int]
    repeat_columns: int = 2


def write_table(ws, fmt: Formats, schedule: Schedule, layout: Layout, rows: list[list]) -> int:
    """Write an Excel table at TABLE_ROW, set up for print; return the row after it. Each
    column is as wide as its widest value (amounts, dates and codes are never cut), text
    wider than its layout's width wraps in a row tall enough for it."""
    name, headers, formats = layout.name, layout.headers, layout.formats
    if len(rows) <= FIT_ROWS:
        widths, wraps = fit_columns(headers, rows, [fmt.kind(f) for f in formats],
                                    layout.widths, layout.repeat_columns)
    else:  # nobody prints it: the widths as given, nothing measured
        widths, wraps = [float(w) for w in layout.widths], [False] * len(headers)
    heights = row_heights(rows, widths, wraps) if any(wraps) else []
    if any(heights):  # a row's wrapped text makes it taller: every cell reads from the top
        formats = [fmt.top(f, w) for f, w in zip(formats, wraps, strict=True)]
    for j, width in enumerate(widths):
        ws.set_column(j, j, width)
    last = TABLE_ROW + max(len(rows), 1)
    add_long_table(ws, TABLE_ROW, last, len(headers) - 1, {
        "name": name, "style": "Table Style Light 9", "autofilter": True,
        "columns": [{"header": h, "header_format": fmt.header} for h in headers],
    })
    write_rows(ws, TABLE_ROW + 1, rows, formats, heights)
    ws.freeze_panes(TABLE_ROW + 1, 0)
    ws.set_row(TABLE_ROW, heading_lines_height(headers, widths))  # every heading whole
    if _has_banner(schedule):  # the banner's fill runs under its text, across the table
        for j in range(1, len(headers)):
            ws.write_blank(2, j, None, fmt.banner)
    print_setup(ws, TABLE_ROW, _footer(schedule), widths,
                repeated(widths, layout.repeat_columns))
    return last + 1


def _summary(wb, fmt: Formats, s: Schedule, what: str) -> None:
    ws = wb.add_worksheet("Summary")
    heading(ws, fmt, s, what)
    comparison = s.model.comparison
    paid = [c for c in s.model.payments if not c.reported_only]
    headers = ["Provider code", "Provider name", "Status", _plural(s.model.register.entity).capitalize()]
    formats: list = [fmt.text, fmt.text, fmt.text, fmt.integer]
    if comparison:
        headers.append(comparison.label)
        formats.append(fmt.money)
    headers += [c.label for c in paid] + ["PbR total"]
    formats += [fmt.money] * (len(paid) + 1)
    if comparison:
        headers += ["Variance", "Variance %"]
        formats += [fmt.money, fmt.percent]
    if s.adjustments:
        headers += ["Prior-period adjustments", "Due this month"]
        formats += [fmt.money, fmt.money]
    headers.append("Note")
    formats.append(fmt.wrap)  # what changed the payment, in words (wrapped in its column)
    rows = []
    for p in s.providers:
        row: list[Any] = [p.provider, p.name, p.shown_status,
               len({ln.entry for ln in p.lines})]
        if comparison:
            row.append(p.total(LineKind.COMPARISON))
        row += [p.component_total(c.name) for c in paid] + [p.total()]
        if comparison:
            block = p.total(LineKind.COMPARISON)
            row += [p.variance, (p.variance / block) if block else None]
        if s.adjustments:
            row += [s.adjustment_total(p.provider), s.due(p.provider)]
        row.append("; ".join([p.reason] * bool(p.reason) + s.payment_notes(p.provider)
                             if p.status == "paid" else [p.reason]))
        rows.append(row)
    widths = [10, 34, 11, 9] + [16] * (len(headers) - 5) + [60]
    after = write_table(ws, fmt, s, Layout("Summary", headers, formats, widths), rows)
    # Totals: sums of the rounded lines, written as values.
    total = ["Total", "", "", len({ln.entry for ln in s.lines})]
    if comparison:
        total.append(s.total(LineKind.COMPARISON))
    total += [sum((p.component_total(c.name) for p in s.providers), start=Decimal("0.00"))
              for c in paid] + [s.total()]
    if comparison:
        variance = s.total() - s.total(LineKind.COMPARISON)
        total += [variance, (variance / s.total(LineKind.COMPARISON)) if s.total(LineKind.COMPARISON) else None]
    if s.adjustments:
        total += [s.adjustment_total(), s.due()]
    for j, value in enumerate(total):
        f = fmt.money_bold if formats[j] is fmt.money else fmt.bold
        if formats[j] is fmt.percent:
            f = fmt.percent
        write_cell(ws, after, j, value, f)
    note = after + 2
    if s.withheld:
        but = (" but what the model pays without a return (Status: Fee only)"
               if any(p.shown_status == "Fee only" for p in s.withheld) else "")
        ws.write_string(note, 0, f"{len(s.withheld)} provider(s) withheld: nothing is paid to "
                        f"them{but} until their return is received or corrected (see Warnings).",
                        fmt.warning)
        note += 1
    if accrued_note(s.lines):
        ws.write_string(note, 0, accrued_note(s.lines) + " (see Lines)", fmt.subtitle)
        note += 1
    ws.write_string(note, 0, "Amounts are rounded half-up to the penny per line; totals are "
                    "sums of the rounded lines (see Lines).", fmt.subtitle)
    ws.activate()


def _plural(noun: str) -> str:
    """service -> services, authority -> authorities."""
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")


def _adjustments(wb, fmt: Formats, s: Schedule) -> None:
    ws = wb.add_worksheet("Adjustments")
    heading(ws, fmt, s, "prior-period adjustments")
    headers = ["Month", "Provider code", "Component", "Previously calculated", "Now",
               "Difference", "Reason"]
    formats = [fmt.text, fmt.text, fmt.text, fmt.money, fmt.money, fmt.money, fmt.wrap]
    rows = [[a.month, a.provider, a.component, a.previous, a.now, a.difference, a.reason]
            for a in s.adjustments]
    after = write_table(ws, fmt, s, Layout("Adjustments", headers, formats,
                                           [10, 10, 22, 14, 14, 14, 70]), rows)
    write_cell(ws, after, 0, "Total", fmt.bold)
    write_cell(ws, after, 5, s.adjustment_total(), fmt.money_bold)
    ws.write_string(after + 2, 0, "Each earlier month recorded in the ledger was worked out again "
                    "from the returns as they are now; the difference from what was accounted "
                    "for it is paid this month.", fmt.subtitle)


def _projection(wb, fmt: Formats, s: Schedule) -> None:
    """A statement's projected income: the provider's months to come, expected, with the
    range of each (`pbr forecast` as at the month). Never a payment."""
    pr = s.projection
    assert pr is not None
    ws = wb.add_worksheet("Projected income")
    heading(ws, fmt, s, "projected income")
    headers = ["Month", "Expected", "Range low", "Range high"]
    rows: list[list] = [[m, expected, low, high] for m, expected, low, high in pr.months]
    after = write_table(ws, fmt, s, Layout("Projection", headers, [fmt.text, fmt.money,
                                                                  fmt.money, fmt.money],
                                           [16, 16, 16, 16]), rows)
    write_cell(ws, after, 0, "Months to come", fmt.bold)
    write_cell(ws, after, 1, pr.total, fmt.money_bold)
    write_cell(ws, after, 2, pr.low, fmt.money_bold)
    write_cell(ws, after, 3, pr.high, fmt.money_bold)
    ws.write_string(after + 2, 0, projection_note(pr), fmt.subtitle)


def projection_note(pr) -> str:
    return (f"A FORECAST, NOT A PAYMENT: the rest of {pr.period} as at {pr.as_at}, worked "
            f"out by `pbr forecast` from the returns so far ({pr.simulations} simulations; "
            f"each range holds the middle {pr.level}%). "
            + ("" if pr.months else "No month of the period is still to come."))


def _figure_columns(s: Schedule) -> list[tuple[str, str, str]]:
    seen: dict[str, tuple[str, str, str]] = {}
    for line in s.lines:
        for f in line.figures:
            seen.setdefault(f.name, (f.name, f.label, f.format))
    return list(seen.values())


def _lines(wb, fmt: Formats, s: Schedule) -> None:
    ws = wb.add_worksheet("Lines")
    heading(ws, fmt, s, "payment lines and evidence")
    reg = s.model.register
    group_headers = [column_header(s, g) for g in reporting_kind(s.model).groups(s.model)]
    figures = _figure_columns(s)
    fig_fmt = {"money": fmt.money, "percent": fmt.percent, "ratio": fmt.ratio,
               "integer": fmt.integer, "number": fmt.number, "text": fmt.text}
    cadence = any(line.cadence() for line in s.lines)  # a component paid quarterly, yearly
    headers = (["Provider code", "Provider name", f"{reg.entity.capitalize()} ID",
                f"{reg.entity.capitalize()} name", *group_headers, "Component", "Kind", "Amount",
                "Exact amount before rounding"] + [label for _, label, _ in figures] + ["Window"]
               + ["When paid"] * cadence)
    formats = ([fmt.text] * (4 + len(group_headers)) + [fmt.text, fmt.text, fmt.money, fmt.ratio]
               + [fig_fmt.get(f, fmt.number) for _, _, f in figures] + [fmt.text]
               + [fmt.text] * cadence)
    names = {p.provider: p.name for p in s.providers}
    rows = []
    for line in s.lines:
        values = {f.name: f.value for f in line.figures}
        windows = sorted({str(f.window) for f in line.figures if f.window is not None})
        rows.append([line.provider, names.get(line.provider, ""), line.entry, line.entry_label,
                     *[code_label(s, g, code) for g, code in line.groups],
                     line.component_label,
                     KIND_SHOWN[line.kind], line.amount, line.unrounded]
                    + [values.get(name) for name, _, _ in figures] + ["; ".join(windows)]
                    + [line.cadence() or None] * cadence)
    widths = ([10, 30, 10, 50] + [18] * len(group_headers) + [32, 11, 14, 14]
              + [13] * len(figures) + [26] + [60] * cadence)
    write_table(ws, fmt, s, Layout("Lines", headers, formats, widths, repeat_columns=4), rows)


def _column_spec(s: Schedule, column: str):
    spec = s.model.register.column(column)
    for sheet in s.model.sheets:
        spec = spec or sheet.column(column)
    return spec


def column_header(s: Schedule, column: str) -> str:
    spec = _column_spec(s, column)
    return spec.header if spec is not None else column


def code_label(s: Schedule, column: str, code: str) -> str:
    """A code as its list labels it (Low complexity), else the code (the schedule and each
    statement say groups alike)."""
    col = _column_spec(s, column)
    if col is not None and col.codes and code in s.model.codes[col.codes].values:
        return s.model.codes[col.codes].values[code]
    return code


def evidence_sheet(wb, fmt: Formats, s: Schedule):
    """The Evidence sheet, under its heading: every event paid or refused."""
    ws = wb.add_worksheet("Evidence")
    heading(ws, fmt, s, "evidence: each event paid or refused")
    return ws


def write_evidence(ws, fmt: Formats, s: Schedule, layout: Layout, rows: list[list],
                   evidence_file: EvidenceFile | None) -> None:
    """The evidence rows as a table on the sheet, or, when more than a sheet holds, in the
    CSV beside the workbook."""
    if len(rows) > EVIDENCE_SHEET_ROWS:
        _evidence_elsewhere(ws, fmt, s, layout.headers, rows, evidence_file)
        return
    write_table(ws, fmt, s, layout, rows)


def _evidence_elsewhere(ws, fmt: Formats, s: Schedule, headers: list[str], rows: list[list],
                        evidence_file: EvidenceFile | None) -> None:
    """Evidence too long for a sheet: every row in a CSV beside the workbook, which the
    sheet names with its SHA-256 (so the workbook's own SHA-256, recorded in the ledger,
    fixes the CSV's content too)."""
    from pbr_cli.errors import PbrError

    if evidence_file is None:
        raise PbrError(f"{len(rows):,} evidence rows do not fit on an Excel sheet "
                       f"({EVIDENCE_SHEET_ROWS:,} rows) and this output has no evidence file "
                       "beside it", code="output-too-large")
    path, final = evidence_file()
    digest = hashlib.sha256()
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\r\n")
        out.writerow(headers)
        for row in rows:
            out.writerow([_csv_value(v) for v in row])
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    ws.set_column(0, 0, 120)
    lines = [f"This month has {len(rows):,} evidence rows: more than an Excel sheet holds "
             f"({EVIDENCE_SHEET_ROWS:,}).",
             f"Every one of them is in {final.name}, beside this workbook (one row each, "
             "the columns as they would be here).",
             f"Its SHA-256 is {digest.hexdigest()}: the file is this schedule's evidence only "
             "while it has that SHA-256."]
    for i, text in enumerate(lines):
        ws.write_string(TABLE_ROW + i, 0, text)
    print_setup(ws, None, _footer(s), [120])


def _csv_value(value: Any) -> str:
    """A value as the evidence CSV holds it: dates as YYYY-MM-DD, amounts and proportions
    exactly, text neutralised against formulas."""
    if value is None:
        return ""
    if isinstance(value, Decimal | int):
        return str(value)
    if isinstance(value, Fraction):  # a proportion: to six places (its parts are beside it)
        return str((Decimal(value.numerator) / Decimal(value.denominator)).quantize(
            Decimal("0.000001"), rounding=ROUND_HALF_UP))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return safe_text(value)


def _warnings(wb, fmt: Formats, s: Schedule) -> None:
    ws = wb.add_worksheet("Warnings")
    heading(ws, fmt, s, "warnings and errors")
    rows = [[p.severity, p.code, p.file, p.cell or "", p.message] for p in s.problems]
    write_table(ws, fmt, s, Layout("Warnings", ["Severity", "Code", "File", "Cell", "Message"],
                                   [fmt.text] * 5, [10, 24, 52, 16, 90], repeat_columns=0),
                rows)


def _about(wb, fmt: Formats, s: Schedule) -> None:
    ws = wb.add_worksheet("About")
    heading(ws, fmt, s, "about this schedule")
    print_setup(ws, 2, _footer(s), [18, 70, 66, 12, 12, 12])
    if _has_banner(s):
        for j in range(1, 6):  # the banner's fill under its text, across the sheet
            ws.write_blank(2, j, None, fmt.banner)
    m = s.model
    facts = [
        ("Scheme", m.title), ("Commissioner", m.commissioner), ("Model", m.name),
        ("Model version", m.version), ("Model SHA-256", m.sha256),
        ("Payments", "virtual (shadow) — not for payment" if m.virtual else "real"),
        ("Period", str(s.month)), ("Period start", s.month.first_day.isoformat()),
        ("Period end", s.month.last_day.isoformat()),
        ("Months read", f"{s.history[0]} to {s.history[-1]}"),
        ("Tool", f"pbr {__version__}"),
        ("Standing", standing_text(s)),
    ]
    ws.set_column(0, 0, 18)
    ws.set_column(1, 1, 70)
    ws.set_column(2, 2, 66)
    ws.set_column(3, 5, 12)
    row = 4
    for label, value in facts:
        ws.write_string(row, 0, label, fmt.label)
        ws.write_string(row, 1, safe_text(value))
        row += 1
    row += 1
    ws.write_string(row, 0, "Input files", fmt.label)
    row += 1
    for j, h in enumerate(["Role", "File", "SHA-256", "Provider", "Month", "Used"]):
        ws.write_string(row, j, h, fmt.header)
    for f in s.inputs:
        row += 1
        for j, value in enumerate([f.role, f.path, f.sha256, f.provider, f.month,
                                   "yes" if f.used else "no"]):
            ws.write_string(row, j, safe_text(value))
