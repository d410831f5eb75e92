"""The blank return for one provider and month, generated from the model.

A Cover sheet (which model, version, provider and month; validation reads it back), one
sheet per return sheet of the model with headings, input messages and drop-down lists,
rows pre-filled from the contract register where the model says so, and a Codes sheet.
The same writer fills in returns (used by the sample generator and tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypedDict, Unpack

from pbr_cli.model.records import Column, Model, Sheet
from pbr_cli.outputs.xlsx import (
    Formats,
    atomic_output,
    heading_height,
    made_workbook,
    print_setup,
    write_cell,
)
from pbr_cli.periods import Month
from pbr_cli.returns.layout import CODES_SHEET, COVER_SHEET, TEMPLATE_LAYOUT
from pbr_cli.returns.register import Register, entry_active, provider_name


@dataclass(frozen=True)
class Formula:
    """A formula to put in a filled return (for samples and tests of bad input)."""

    text: str
    value: Any = 0


@dataclass(frozen=True)
class Merge:
    """Merge this cell with the next `across` cells to its right (bad-input samples)."""

    value: Any
    across: int = 1


@dataclass(frozen=True)
class ReturnFor:
    """Whose return it is and for which month, under which model and contract register."""

    model: Model
    register: Register
    provider: str
    month: Month


@dataclass(frozen=True)
class Filling:
    """What a written return holds beyond the blank one: rows by sheet, Cover sheet values
    put in place of the model's, sheets hidden, whether rows are pre-filled from the
    register, and whether the empty input rows below the filled ones are left out (as a
    worked example needs)."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    cover: dict[str, Any] = field(default_factory=dict)
    hidden: tuple[str, ...] = ()
    prefill: bool = True
    filled_only: bool = False


class FillingOptions(TypedDict, total=False):
    """A Filling's fields other than its rows, as write_template takes them by name."""

    cover: dict[str, Any] | None
    hidden: tuple[str, ...]
    prefill: bool
    filled_only: bool


def write_template(target: Path, model: Model, register: Register, provider: str,
                   month: Month, rows: dict[str, list[dict[str, Any]]] | None = None,
                   **options: Unpack[FillingOptions]) -> None:
    """Write the return for `provider` and `month` to `target` (filled with `rows` if given;
    `filled_only`: without the empty input rows below them, as a worked example needs):
    write_return, with what travels together named one by one, as the sample generator and
    the tests' return writers give it."""
    filling = Filling(rows=rows or {}, cover=options.get("cover") or {},
                      hidden=options.get("hidden", ()), prefill=options.get("prefill", True),
                      filled_only=options.get("filled_only", False))
    write_return(target, ReturnFor(model, register, provider, month), filling)


def write_return(target: Path, blank: ReturnFor, filling: Filling = Filling()) -> None:
    """Write `blank`'s return to `target`, with what `filling` puts in it."""
    model, month = blank.model, blank.month
    with atomic_output(Path(target)) as tmp:
        with made_workbook(tmp, f"{model.title}: return", datetime(month.year, month.month, 1)) as wb:
            fmt = Formats(wb)
            _cover(wb, fmt, blank, filling.cover)
            code_ranges = _codes(wb, fmt, model, write=False)
            for sheet in model.sheets:
                _sheet(wb, fmt, blank, sheet, code_ranges, filling)
            _codes(wb, fmt, model, write=True)


def _cover(wb, fmt: Formats, blank: ReturnFor, overrides: dict[str, Any]) -> None:
    model, provider, month = blank.model, blank.provider, blank.month
    ws = wb.add_worksheet(COVER_SHEET)
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 80)
    print_setup(ws, None, f"{provider} {month}")
    ws.write_string(0, 0, f"{model.title}: monthly return", fmt.title)
    ws.write_string(1, 0, "Fill in the yellow cells on each sheet. Do not rename sheets or "
                    "headings; pbr reads them by name.", fmt.subtitle)
    values = {
        "Scheme": model.title,
        "Model": model.name,
        "Model version": model.version,
        "Template layout": TEMPLATE_LAYOUT,
        "Provider code": provider,
        "Provider name": provider_name(model, blank.register, provider),
        "Month": str(month),
        "Prepared by": "",
    }
    values.update(overrides)
    for i, (label, value) in enumerate(values.items()):
        ws.write_string(3 + i, 0, label, fmt.label)
        if label == "Prepared by":
            write_cell(ws, 3 + i, 1, value or None, fmt.input)
            ws.data_validation(3 + i, 1, 3 + i, 1, {
                "validate": "any", "input_title": "Prepared by",
                "input_message": "Name and phone number of the person we can ask about this "
                "return."})
        else:
            write_cell(ws, 3 + i, 1, value, fmt.text)
    row = 4 + len(values)
    ws.write_string(row, 0, "Month covered", fmt.label)
    ws.write_string(row, 1, f"{month.first_day.isoformat()} to {month.last_day.isoformat()}")
    row += 2
    ws.write_string(row, 0, "Sheets", fmt.label)
    for sheet in model.sheets:
        ws.write_string(row, 1, f"{sheet.name}: {sheet.description}", fmt.wrap)
        row += 1
    if model.virtual:
        row += 1
        ws.write_string(row, 0, "Note", fmt.label)
        ws.write_string(row, 1, "This scheme is a virtual (shadow) pilot: returns are used to "
                        "work out what would be paid; they do not change what you are paid.",
                        fmt.wrap)
    ws.activate()


def _codes(wb, fmt: Formats, model: Model, write: bool) -> dict[str, str]:
    """Lay out every code list on the Codes sheet; return list name -> range for validation."""
    ranges: dict[str, str] = {}
    ws = wb.add_worksheet(CODES_SHEET) if write else None
    if ws is not None:
        ws.set_column(0, 0, 14)
        ws.set_column(1, 1, 90, fmt.wrap)
        ws.write_string(0, 0, "Code", fmt.header)
        ws.write_string(0, 1, "Meaning", fmt.header)
        ws.freeze_panes(1, 0)
        # each code beside its meaning on paper: one page wide, headings on every page
        print_setup(ws, 0, "Codes", [14, 90])
    row = 1
    for code_list in model.codes.values():
        if ws is not None:
            ws.write_string(row, 0, code_list.label, fmt.label)
        first = row + 1
        for code, label in code_list.values.items():
            if ws is not None:
                ws.write_string(row + 1, 0, code)
                ws.write_string(row + 1, 1, label)
            row += 1
        ranges[code_list.name] = f"={CODES_SHEET}!$A${first + 1}:$A${row + 1}"
        row += 2
    return ranges


def _sheet(wb, fmt: Formats, blank: ReturnFor, sheet: Sheet, code_ranges: dict[str, str],
           filling: Filling) -> None:
    model, provider, month = blank.model, blank.provider, blank.month
    ws = wb.add_worksheet(sheet.name)
    prefilled = _prefill(blank, sheet) if filling.prefill else []
    data = _merge_rows(sheet, model, prefilled, filling.rows.get(sheet.name) or [])
    widths = []
    for j, col in enumerate(sheet.columns):
        ws.write_string(0, j, col.header, fmt.header)
        longest = max([len(str(r.get(col.name) or "")) for r in prefilled] + [len(col.header)])
        widths.append(max(12, min(48, longest + 3)))
        ws.set_column(j, j, widths[-1])
    ws.set_row(0, heading_height([c.header for c in sheet.columns], widths))
    ws.freeze_panes(1, 0)
    print_setup(ws, 0, f"{provider} {month}", widths, repeat_columns=1)
    last = max(len(data), sheet.rows if sheet.one_row_per is None and not filling.filled_only
               else len(data))
    for j, col in enumerate(sheet.columns):
        cell_fmt = fmt.info if col.info or col.prefill else (
            fmt.input_date if col.type == "date" else fmt.input)
        if col.type == "date-time" and not (col.info or col.prefill):
            # made only where a sheet has a date-time column (a format made is in the file)
            cell_fmt = wb.add_format({"bg_color": "#FFF2CC", "border": 1,
                                      "border_color": "#BFBFBF", "num_format": "yyyy-mm-dd hh:mm"})
        for i in range(last):
            value = data[i].get(col.name) if i < len(data) else None
            _write_value(ws, fmt, 1 + i, j, value, cell_fmt, col)
        if not col.info and last:
            _validation(ws, 1, last, j, col, blank, code_ranges)
    if sheet.name in filling.hidden:
        ws.hide()


def _prefill(blank: ReturnFor, sheet: Sheet) -> list[dict[str, Any]]:
    if sheet.one_row_per != "register-entry":
        return []
    model, month = blank.model, blank.month
    out = []
    for entry in blank.register.provider_entries(blank.provider):
        if entry_active(model, entry, month):
            out.append({c.name: _shown(model, c.prefill, entry.get(c.prefill))
                        for c in sheet.columns if c.prefill})
    return out


def _shown(model: Model, column: str, value: Any) -> Any:
    """A register value as a provider reads it: codes of information columns as labels."""
    spec = model.register.column(column)
    if spec is not None and spec.codes and value in model.codes[spec.codes].values:
        return model.codes[spec.codes].values[value]
    return value


def _merge_rows(sheet: Sheet, model: Model, prefilled: list[dict[str, Any]],
                rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not prefilled:
        return list(rows)
    key = sheet.entry_column.name
    by_key = {r.get(key): r for r in rows}
    merged = [{**p, **by_key.pop(p.get(key), {})} for p in prefilled]
    return merged + list(by_key.values())


def _write_value(ws, fmt: Formats, row: int, col: int, value: Any, cell_fmt, spec: Column) -> None:
    if value is None:
        ws.write_blank(row, col, None, cell_fmt)  # most cells of a template: the quick way
    elif isinstance(value, Formula):
        ws.write_formula(row, col, value.text, cell_fmt, value.value)
    elif isinstance(value, Merge):
        ws.merge_range(row, col, row, col + value.across, None, cell_fmt)
        write_cell(ws, row, col, value.value, cell_fmt, kind="raw")
    elif spec.type == "date" and isinstance(value, (int, Decimal)):
        write_cell(ws, row, col, value, fmt.input)  # a bare serial in a General cell
    elif spec.type == "money" and isinstance(value, (int, Decimal)):
        write_cell(ws, row, col, value, fmt.money)
    else:
        write_cell(ws, row, col, value, cell_fmt, kind="raw")


def _validation(ws, first: int, count: int, j: int, col: Column, blank: ReturnFor,
                code_ranges: dict[str, str]) -> None:
    model, month = blank.model, blank.month
    options: dict[str, Any] = {"input_title": col.header[:32]}
    message = col.help
    if col.type == "code" and col.codes:
        options.update(validate="list", source=code_ranges[col.codes])
        message = message or f"Choose from the list ({model.codes[col.codes].label})."
        options["error_message"] = "Choose a code from the list (see the Codes sheet)."
    elif col.type == "integer":
        minimum = _constant(col.min)
        options.update(validate="integer", criteria=">=", value=minimum if minimum is not None
                       else -(10**9))
        options["error_message"] = "Enter a whole number."
    elif col.type in ("number", "money"):
        options.update(validate="decimal", criteria=">=", value=_constant(col.min) or 0)
    elif col.type == "date":
        if col.within == "period":
            options.update(validate="date", criteria="between",
                           minimum=datetime(month.year, month.month, 1),
                           maximum=datetime(month.year, month.month, month.days))
            message = message or f"A date in {month.label()}."
            options["error_message"] = f"Enter a date in {month.label()}."
        else:
            options.update(validate="date", criteria=">=", value=datetime(1900, 1, 1))
    else:
        options["validate"] = "any"
    if message:
        options["input_message"] = message[:255]
    if options.get("validate") == "any" and not message:
        return
    ws.data_validation(first, j, first + count - 1, j, options)


def _constant(formula) -> int | None:
    if formula is None or formula.names:
        return None
    value = formula.evaluate({})
    return int(value) if value.denominator == 1 else None
