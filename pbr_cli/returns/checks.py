"""Check one return against its model and the contract register.

Input: a RawWorkbook (values and positions). Output: a CheckedReturn holding the cover facts,
one DataFrame per return sheet (typed values, plus `_row`, the Excel row), and every Problem
found, each pointing at its sheet and cell. Nothing here prints or raises for bad data.

Here: the sheets and their columns (rules.Layout) and each cell as its column's type
(rules.Cells); the Cover is checked in cover.py, the value rules in values.py, the checks
across rows in across_rows.py. By default a sheet's columns are checked whole (columns.py);
`check_return(..., by_cell=True)` checks a cell at a time, the reference the column checks
give exactly the same problems as (tests/test_column_checks.py).
"""

from __future__ import annotations

from typing import Any

from pbr_cli.model.records import Column, Model, Sheet
from pbr_cli.periods import Month
from pbr_cli.problems import Problem, ProblemCode, Severity, column_letter
from pbr_cli.returns import columns as whole
from pbr_cli.returns.across_rows import duplicate_keys, group_checks, missing_entries
from pbr_cli.returns.cells import convert, is_blank
from pbr_cli.returns.checked import CheckedReturn
from pbr_cli.returns.cover import check_cover, norm
from pbr_cli.returns.fast import FAST, SLOW
from pbr_cli.returns.layout import COVER_SHEET
from pbr_cli.returns.register import Register
from pbr_cli.returns.rules import Cells, Layout, Message
from pbr_cli.returns.values import TypedRows, ValueRules
from pbr_cli.workbook.reader import RawSheet, RawWorkbook


class _Checker:
    def __init__(self, raw: RawWorkbook, model: Model, register: Register,
                 expected_month: Month | None, by_cell: bool = False):
        self.raw, self.model, self.register = raw, model, register
        self.expected_month = expected_month
        self.by_cell = by_cell  # the reference: a cell at a time
        self.problems: list[Problem] = []
        self.flagged: set[tuple[str | None, int | None, int | None]] = set()  # cells with a problem
        self.positions: dict[str, dict[str, int]] = {}
        self.details: dict[tuple[int, int], str] = {}  # what a marked cell shows (reader)
        self.values = ValueRules(model, register, self.add, self.flagged)

    def add(self, code: ProblemCode, message: str, sheet: str | None = None,
            row: int | None = None, col: int | None = None,
            severity: Severity | None = None) -> None:
        self.flagged.add((sheet, row, col))
        self.problems.append(Problem(
            file=self.raw.path, severity=severity or code.severity, code=code.name,
            message=message, sheet=sheet, row=row,
            column=column_letter(col) if col is not None else None))

    def say(self, message: Message, sheet: str | None = None, row: int | None = None,
            col: int | None = None, **fields: Any) -> None:
        self.add(message.code, message.text(**fields), sheet, row, col)

    # -- sheets ----------------------------------------------------------------------------
    def sheet(self, spec: Sheet, provider: str | None, month: Month | None):
        import pandas as pd

        names = [c.name for c in spec.read_columns]
        raw = self.raw.sheets.get(spec.name)
        if raw is None and spec.optional and not any(
                norm(n) == norm(spec.name) for n in self.raw.sheet_names):
            return pd.DataFrame(columns=[*names, "_row"], dtype=object)
        if raw is None:
            close = [n for n in self.raw.sheet_names if norm(n) == norm(spec.name)]
            hint = f" (found '{close[0]}': rename it back)" if close else ""
            self.say(Layout.NO_SHEET, name=spec.name, hint=hint)
            return pd.DataFrame(columns=[*names, "_row"], dtype=object)
        header = raw.rows[0] if raw.rows else []
        positions: dict[str, int] = {}
        by_header = {norm(h): j for j, h in enumerate(header) if not is_blank(h)}
        for col in spec.columns:
            j = by_header.get(norm(col.header))
            if j is None:
                if not col.info:
                    self.say(Layout.NO_COLUMN, spec.name, 1, header=col.header)
            else:
                positions[col.name] = j
        known = {norm(c.header) for c in spec.columns}
        for h, j in by_header.items():
            if h not in known:
                self.say(Layout.EXTRA_COLUMN, spec.name, 1, j, header=header[j])
        self.positions[spec.name] = positions
        for name, j in positions.items():
            if j + 1 in raw.hidden_columns and any(
                    j < len(row) and not is_blank(row[j]) for row in raw.rows[1:]):
                self.say(Layout.HIDDEN_COLUMN, spec.name, None, j, header=spec.header(name))
        self.merged(raw, spec, positions)
        found = self.rows(raw, spec, positions, provider, month)
        if self.by_cell:
            frame = pd.DataFrame(found, columns=[*names, "_row"], dtype=object)
            duplicate_keys(spec, frame, positions, self.add)
        else:
            frame = whole.table(found, [*names, "_row"])
            whole.duplicate_keys(spec, found, positions, self.add)
        if spec.one_row_per == "register-entry" and provider and month:
            missing_entries(self.model, self.register, spec, frame, provider, month, self.add)
        return frame

    def merged(self, raw: RawSheet, spec: Sheet, positions: dict[str, int]) -> None:
        used = set(positions.values())
        for (r0, c0), (r1, c1) in raw.merged:
            if any(c0 <= j <= c1 for j in used):
                ref = f"{column_letter(c0)}{r0 + 1}:{column_letter(c1)}{r1 + 1}"
                self.say(Layout.MERGED, spec.name, r0 + 1, c0, ref=ref)

    def rows(self, raw: RawSheet, spec: Sheet, positions: dict[str, int],
             provider: str | None, month: Month | None) -> dict[str, list[Any]]:
        """The sheet's rows that hold anything, typed, as columns (plus `_row`), with every
        problem of their cells. Column by column: each cell is converted once, and a rule
        whose limit does not change from row to row is worked out once."""
        columns = [c for c in spec.read_columns if c.name in positions]
        special = raw.special
        self.details = raw.details
        at = {c.name: positions[c.name] for c in columns}
        at_once = None if self.by_cell else whole.kept_cells(raw, at)
        cells, kept = at_once if at_once is not None else self.kept_cells(raw, at)
        for r in kept if raw.hidden_rows else ():
            if r + 1 in raw.hidden_rows:
                self.say(Layout.HIDDEN_ROW, spec.name, r + 1, number=r + 1)
        typed: dict[str, list[Any]] = {}
        rows = [r + 1 for r in kept]
        marked = {k for _, k in special}  # columns with a cell the reader marked
        for col in columns:
            j = positions[col.name]
            done = None
            if not self.by_cell and j not in marked:
                done = whole.convert_column(col, cells[col.name], rows, j, spec.name,
                                            self.model.codes, self.say)
            typed[col.name] = (done if done is not None else self.convert_column(
                col, cells[col.name], kept, j, spec.name, special))
        found = TypedRows(spec, columns, typed, kept, positions)
        if spec.register_column is not None and self.by_cell:
            self.values.row_rules(found, provider, month)
        elif spec.register_column is not None:
            self.values.whole_rows(found, provider, month)
        elif self.by_cell:
            self.values.column_rules(found, month)
        else:
            self.values.whole_columns(found, month)
        found = self.values.before_start(found, at_once=not self.by_cell)
        out = {c.name: found.typed.get(c.name) or [None] * len(found.kept)
               for c in spec.read_columns}
        out["_row"] = [r + 1 for r in found.kept]
        return out

    @staticmethod
    def kept_cells(raw: RawSheet, at: dict[str, int]) -> tuple[dict[str, list[Any]], list[int]]:
        """(each column's cells in the rows that hold anything, those rows' indices), a cell
        at a time: a row is kept when a cell of a column read holds anything, or the reader
        marked one."""
        body = raw.rows
        cols_raw = {name: [row[j] if j < len(row) else None for row in body]
                    for name, j in at.items()}
        specials_at = {r for r, j in raw.special if j in set(at.values())}
        blank = [[v is None or (type(v) is str and not v.strip()) for v in cols_raw[name]]
                 for name in at]
        kept = [r for r, flags in enumerate(zip(*blank, strict=True))
                if r and (not all(flags) or r in specials_at)]
        return {name: [cells[r] for r in kept] for name, cells in cols_raw.items()}, kept

    def convert_column(self, col: Column, values: list[Any], kept: list[int], j: int,
                       sheet: str, special: dict[tuple[int, int], str]) -> list[Any]:
        """Each cell of a column as the column's type; a cell that cannot be, or that the
        reader marked (an error value, a formula without a value), is None and a problem."""
        fast = FAST.get(col.type)
        codes = self.model.codes
        seen: dict[Any, tuple[Any, str | None, str]] = {}
        out: list[Any] = []
        append = out.append
        for k, value in enumerate(values):
            if special:
                code = special.get((kept[k], j))
                if code:
                    note = self.raw.sheets[sheet].notes.get((kept[k], j))
                    if note:  # what is wrong with this cell's formula, in particular
                        self.add(Cells.MARKED[code].code, note, sheet, kept[k] + 1, j)
                    else:
                        self.say(Cells.MARKED[code], sheet, kept[k] + 1, j,
                                 detail=self.details.get((kept[k], j), ""))
                    append(None)
                    continue
            if fast is not None:
                done = fast(value)
                if done is not SLOW:
                    append(done)
                    continue
            key = (type(value), value) if isinstance(value, (str, int, float)) else None
            found = seen.get(key) if key is not None else None
            if found is None:
                found = convert(value, col, codes)
                if key is not None:
                    seen[key] = found
            result, code, detail = found
            if code:
                self.say(Cells.CONVERTED[code], sheet, kept[k] + 1, j, header=col.header,
                         detail=detail)
            append(result)
        return out


def check_return(raw: RawWorkbook, model: Model, register: Register,
                 expected_month: Month | None = None, by_cell: bool = False) -> CheckedReturn:
    """Check a read workbook; never raises for bad data, returns every problem found.
    `by_cell`: a cell at a time (the reference), not a column at a time."""
    checker = _Checker(raw, model, register, expected_month, by_cell)
    provider, month = check_cover(raw, model, register, expected_month, checker.add)
    for name in sorted(raw.hidden):
        if model.sheet(name) is not None or name == COVER_SHEET:
            checker.say(Layout.HIDDEN_SHEET, name, name=name)
        elif name in raw.sheet_names:
            checker.say(Layout.EXTRA_SHEET, name, name=name)
    tables = {spec.name: checker.sheet(spec, provider, month) for spec in model.sheets}
    group_checks(model, tables, checker.problems, checker.add)
    order = {COVER_SHEET: 0, **{s.name: i + 1 for i, s in enumerate(model.sheets)}}
    problems = sorted(checker.problems, key=lambda p: (
        order.get(p.sheet or "", -1), p.row or 0, len(p.column or ""), p.column or ""))
    return CheckedReturn(raw.path, raw.sha256, provider, month, tables, problems, checker.positions)
