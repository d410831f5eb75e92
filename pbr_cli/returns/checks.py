"""Check one return against its model and the contract register.

Input: a RawWorkbook (values and positions). Output: a CheckedReturn holding the cover facts,
one DataFrame per return sheet (typed values, plus `_row`, the Excel row), and every Problem
found, each pointing at its sheet and cell. Nothing here prints or raises for bad data.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from fractions import Fraction
from pathlib import PurePath
from typing import Any

from pbr_cli.expr import ExprError
from pbr_cli.model.records import Column, Model, Sheet, period_facts
from pbr_cli.periods import Month
from pbr_cli.problems import Problem, column_letter, severity_of
from pbr_cli.returns.across_rows import duplicate_keys, group_checks, missing_entries
from pbr_cli.returns.cells import convert, is_blank
from pbr_cli.returns.checked import CheckedReturn
from pbr_cli.returns.fast import ABSENT, FAST, SLOW, PerRow
from pbr_cli.returns.layout import COVER_FIELDS, COVER_SHEET, REQUIRED_COVER, TEMPLATE_LAYOUT
from pbr_cli.returns.register import Register, entry_active
from pbr_cli.workbook.reader import RawSheet, RawWorkbook

SPECIAL_MESSAGES = {
    "error-value": "the cell holds an Excel error value",
    "formula-without-value": "a formula with no saved value; open the file in Excel, let it "
                             "calculate, and save",
    "formula-in-input": "the cell holds a formula: its saved value is what the file says, not "
                        "necessarily what the formula gives, so it is not paid on; type the "
                        "value itself",
    "invisible-value": "the cell holds a value its number format hides (e.g. ;;;): nobody "
                       "looking at the return can see it; give the cell a format that shows it",
    "not-a-date": "the cell is formatted as a date but holds a number no calendar date has",
}


def norm(text: Any) -> str:
    return " ".join(str(text or "").split()).casefold()


class _Checker:
    def __init__(self, raw: RawWorkbook, model: Model, register: Register,
                 expected_month: Month | None):
        self.raw, self.model, self.register = raw, model, register
        self.expected_month = expected_month
        self.problems: list[Problem] = []
        self.flagged: set[tuple[str | None, int | None, int | None]] = set()  # cells with a problem
        self.params: dict[str, Any] = model.values_on(model.start)  # per month: context()
        self.positions: dict[str, dict[str, int]] = {}
        self.entries: dict[str, tuple[dict[str, Any] | None, str, str]] = {}  # key -> look_up
        self.contexts: dict[tuple, tuple[Any, dict[str, Any]]] = {}  # (entry, month) -> names
        self.reads: dict[str, tuple[str, ...]] = {}  # formula -> the names it reads
        self.worked: dict[tuple, Any] = {}  # (formula, values read) -> value or ExprError

    def add(self, code: str, message: str, sheet: str | None = None, row: int | None = None,
            col: int | None = None, severity: str | None = None) -> None:
        sev = severity or severity_of(code)
        self.flagged.add((sheet, row, col))
        self.problems.append(Problem(
            file=self.raw.path, severity=sev, code=code,
            message=message, sheet=sheet, row=row,
            column=column_letter(col) if col is not None else None))

    # -- cover ---------------------------------------------------------------------------
    def cover(self) -> tuple[str | None, Month | None]:
        sheet = self.raw.sheets.get(COVER_SHEET)
        if sheet is None:
            self.add("missing-cover", f"there is no '{COVER_SHEET}' sheet; make the return from "
                     f"the template (pbr template --model {self.model.name})")
            return None, None
        labels = {norm(label): key for label, key in COVER_FIELDS}
        found: dict[str, tuple[Any, int | None]] = {}
        for r, row in enumerate(sheet.rows):
            if row and norm(row[0]) in labels:
                found[labels[norm(row[0])]] = (row[1] if len(row) > 1 else None, r)
        for key in REQUIRED_COVER:
            label = next(lbl for lbl, k in COVER_FIELDS if k == key)
            value, at = found.get(key, (None, None))
            if is_blank(value):
                self.add("cover-missing-field", f"'{label}' is blank", COVER_SHEET,
                         None if at is None else at + 1, 1)

        def text(key: str) -> str:
            value = found.get(key, (None, 0))[0]
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            return "" if is_blank(value) else str(value).strip()

        def where(key: str) -> int | None:
            at = found[key][1] if key in found else None
            return at + 1 if at is not None else None

        if text("model") and text("model") != self.model.name:
            self.add("wrong-model", f"this return is for the model '{text('model')}', not "
                     f"'{self.model.name}'", COVER_SHEET, where("model"), 1)
        if text("model_version") and text("model_version") != self.model.version:
            self.add("wrong-template-version",
                     f"the template is for model version {text('model_version')}; the current "
                     f"version is {self.model.version}: copy the figures into a new template",
                     COVER_SHEET, where("model_version"), 1)
        if text("layout") and text("layout") != TEMPLATE_LAYOUT:
            self.add("wrong-template-version", f"template layout {text('layout')} is not "
                     f"layout {TEMPLATE_LAYOUT}", COVER_SHEET, where("layout"), 1)
        provider = text("provider") or None
        if provider and provider not in self.register.providers():
            self.add("unknown-provider", f"the provider code '{provider}' is not in the "
                     "contract register", COVER_SHEET, where("provider"), 1)
            provider = None
        month = None
        raw_month = found.get("month", (None, 0))[0]
        if isinstance(raw_month, (date, datetime)):
            month = Month(raw_month.year, raw_month.month)
        elif text("month"):
            try:
                month = Month.parse(text("month"))
            except Exception:
                self.add("period-mismatch", f"'{text('month')}' is not a month written YYYY-MM",
                         COVER_SHEET, where("month"), 1)
        self.name_agrees(provider or text("provider"), month, where)
        if month is not None:
            if self.expected_month is not None and month != self.expected_month:
                self.add("period-mismatch", f"the Cover says {month} but the file is filed under "
                         f"{self.expected_month}", COVER_SHEET, where("month"), 1)
            if not self.model.covers(month):
                self.add("period-outside-scheme", f"{month} is outside the scheme "
                         f"({self.model.start} to {self.model.end})", COVER_SHEET,
                         where("month"), 1)
        return provider, month

    def name_agrees(self, provider: str | None, month: Month | None, where) -> None:
        """A file name that gives a month (YYYY-MM) or a provider code must agree with the
        Cover: a copied-forward return with last month's Cover is the usual cause."""
        stem = PurePath(self.raw.path).stem
        if month is not None:
            named = {f"{y}-{m}" for y, m in re.findall(r"(?<!\d)(\d{4})-(\d{2})(?!\d)", stem)}
            if named and str(month) not in named:
                self.add("name-mismatch", f"the file name says {', '.join(sorted(named))} but "
                         f"the Cover says {month}", COVER_SHEET, where("month"), 1)
        if provider:
            codes = set(self.register.providers())
            named = {t for t in re.split(r"[^0-9A-Za-z]+", stem) if t in codes}
            if named and provider not in named:
                self.add("name-mismatch", f"the file name names provider "
                         f"{', '.join(sorted(named))} but the Cover says {provider}",
                         COVER_SHEET, where("provider"), 1)

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
            self.add("missing-sheet", f"the sheet '{spec.name}' is missing{hint}")
            return pd.DataFrame(columns=[*names, "_row"], dtype=object)
        header = raw.rows[0] if raw.rows else []
        positions: dict[str, int] = {}
        by_header = {norm(h): j for j, h in enumerate(header) if not is_blank(h)}
        for col in spec.columns:
            j = by_header.get(norm(col.header))
            if j is None:
                if not col.info:
                    self.add("missing-column", f"the column '{col.header}' is missing or its "
                             "heading was changed", spec.name, 1)
            else:
                positions[col.name] = j
        known = {norm(c.header) for c in spec.columns}
        for h, j in by_header.items():
            if h not in known:
                self.add("unexpected-column", f"the column '{header[j]}' is not in the template; "
                         "it is ignored", spec.name, 1, j)
        self.positions[spec.name] = positions
        for name, j in positions.items():
            if j + 1 in raw.hidden_columns and any(
                    j < len(row) and not is_blank(row[j]) for row in raw.rows[1:]):
                self.add("hidden-data", f"the column '{spec.header(name)}' is hidden "
                         "but holds data; unhide it", spec.name, None, j)
        self.merged(raw, spec, positions)
        frame = pd.DataFrame(self.rows(raw, spec, positions, provider, month),
                             columns=[*names, "_row"], dtype=object)
        duplicate_keys(spec, frame, positions, self.add)
        if spec.one_row_per == "register-entry" and provider and month:
            missing_entries(self.model, self.register, spec, frame, provider, month, self.add)
        return frame

    def merged(self, raw: RawSheet, spec: Sheet, positions: dict[str, int]) -> None:
        used = set(positions.values())
        for (r0, c0), (r1, c1) in raw.merged:
            if any(c0 <= j <= c1 for j in used):
                ref = f"{column_letter(c0)}{r0 + 1}:{column_letter(c1)}{r1 + 1}"
                self.add("merged-cells", f"cells {ref} are merged; unmerge them and fill each "
                         "cell", spec.name, r0 + 1, c0)

    def rows(self, raw: RawSheet, spec: Sheet, positions: dict[str, int],
             provider: str | None, month: Month | None) -> dict[str, list[Any]]:
        """The sheet's rows that hold anything, typed, as columns (plus `_row`), with every
        problem of their cells. Column by column: each cell is converted once, and a rule
        whose limit does not change from row to row is worked out once."""
        columns = [c for c in spec.read_columns if c.name in positions]
        body = raw.rows
        special = raw.special
        cols_raw = {c.name: [row[positions[c.name]] if positions[c.name] < len(row) else None
                             for row in body] for c in columns}
        specials_at = {r for r, j in special if j in {positions[c.name] for c in columns}}
        blank = [[v is None or (type(v) is str and not v.strip()) for v in cols_raw[c.name]]
                 for c in columns]
        kept = [r for r, flags in enumerate(zip(*blank, strict=True))
                if r and (not all(flags) or r in specials_at)]
        for r in kept:
            if r + 1 in raw.hidden_rows:
                self.add("hidden-data", f"row {r + 1} is hidden but holds data; unhide it, or "
                         "delete the row if it should not be paid on", spec.name, r + 1)
        typed: dict[str, list[Any]] = {}
        for col in columns:
            j = positions[col.name]
            values = [cols_raw[col.name][r] for r in kept]
            typed[col.name] = self.convert_column(col, values, kept, j, spec.name, special)
        if spec.register_column is not None:
            self.row_rules(spec, columns, typed, kept, positions, provider, month)
        else:
            self.column_rules(spec, columns, typed, kept, positions, month)
        kept, typed = self.before_start(spec, columns, typed, kept, positions)
        out = {c.name: typed.get(c.name) or [None] * len(kept) for c in spec.read_columns}
        out["_row"] = [r + 1 for r in kept]
        return out

    def before_start(self, spec: Sheet, columns: list[Column], typed: dict[str, list[Any]],
                     kept: list[int], positions: dict[str, int]):
        """Rows whose own date (a column dated within the return's month) falls before the
        scheme starts never count: left out, with a warning (a scheme starting mid-month)."""
        start = self.model.start
        drop: set[int] = set()
        for col in columns:
            if col.type != "date" or col.within != "period":
                continue
            for k, value in enumerate(typed[col.name]):
                if value is not None and value < start and k not in drop:
                    drop.add(k)
                    self.add("before-scheme-start", f"{col.header}: {value.isoformat()} is "
                             f"before the scheme starts ({start.isoformat()}); the row is left "
                             "out", spec.name, kept[k] + 1, positions[col.name])
        if not drop:
            return kept, typed
        keep = [k for k in range(len(kept)) if k not in drop]
        return ([kept[k] for k in keep],
                {name: [values[k] for k in keep] for name, values in typed.items()})

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
                    self.add(code, SPECIAL_MESSAGES[code], sheet, kept[k] + 1, j)
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
                self.add(code, f"{col.header}: {detail}", sheet, kept[k] + 1, j)
            append(result)
        return out

    def column_rules(self, spec: Sheet, columns: list[Column], typed: dict[str, list[Any]],
                     kept: list[int], positions: dict[str, int], month: Month | None) -> None:
        """The value rules of a sheet whose rows are not register entries, column by column:
        required, within the period, and min/max limits (worked out once when they read only
        parameters; compared with the row's own value when they name one of its columns)."""
        constant = self.context(None, month)
        for col in columns:
            j = positions[col.name]
            values = typed[col.name]
            if col.required:
                why = f" for this {self.model.register.entity}" if col.required_when else ""
                for k, value in enumerate(values):
                    if value is None and (spec.name, kept[k] + 1, j) not in self.flagged:
                        self.add("required-missing", f"{col.header} must be filled{why}",
                                 spec.name, kept[k] + 1, j)
            if col.within == "period" and month is not None:
                first, last = month.first_day, month.last_day
                for k, value in enumerate(values):
                    if value is not None and not (first <= value <= last):
                        self.add("date-outside-period", f"{col.header}: {value.isoformat()} "
                                 f"is not in {month.label()}", spec.name, kept[k] + 1, j)
            if col.within == "before-start":
                for k, value in enumerate(values):
                    if value is not None and value >= self.model.start:
                        self.not_before_start(col, value, spec.name, kept[k] + 1, j)
            for bound, code in ((col.min, "below-minimum"), (col.max, "above-maximum")):
                if bound is None:
                    continue
                if bound.names <= set(constant):
                    try:
                        fixed = bound.evaluate(constant)
                    except ExprError:
                        continue
                    self.fixed_bound(col, code, values, fixed, bound, spec, kept, j)
                    continue
                elif (len(bound.names) == 1 and bound.text.strip() in typed
                      and bound.text.strip() not in constant):
                    limits: Any = typed[bound.text.strip()]
                else:
                    limits = PerRow(bound, constant, typed)
                for k, value in enumerate(values):
                    if value is None:
                        continue
                    limit = limits[k]
                    if limit is None or isinstance(value, date) != isinstance(limit, date):
                        continue
                    if (value < limit) if code == "below-minimum" else (value > limit):
                        self.out_of_bounds(col, code, value, limit, bound, spec,
                                           kept[k], j)

    def fixed_bound(self, col: Column, code: str, values: list[Any], limit: Any, bound,
                    spec: Sheet, kept: list[int], j: int) -> None:
        """A min/max that is the same for every row (it reads only parameters)."""
        if limit is None:
            return
        if isinstance(limit, Fraction) and limit.denominator == 1:
            limit = int(limit)  # the same comparisons, with whole numbers
        is_date = isinstance(limit, date)
        if code == "below-minimum":
            outside = [k for k, v in enumerate(values)
                       if v is not None and isinstance(v, date) == is_date and v < limit]
        else:
            outside = [k for k, v in enumerate(values)
                       if v is not None and isinstance(v, date) == is_date and v > limit]
        for k in outside:
            self.out_of_bounds(col, code, values[k], limit, bound, spec, kept[k], j)

    def out_of_bounds(self, col: Column, code: str, value: Any, limit: Any, bound, spec: Sheet,
                      r: int, j: int) -> None:
        if isinstance(value, date):
            other = next((c.header for c in spec.columns if c.name in bound.names), "")
            word = "before" if code == "below-minimum" else "after"
            self.add(code, f"{col.header}: {value.isoformat()} is {word} the "
                     f"{other or 'allowed date'} {limit.isoformat()}", spec.name, r + 1, j)
            return
        word = "less than" if code == "below-minimum" else "more than"
        self.add(code, f"{col.header}: {value} is {word} the allowed {limit}", spec.name, r + 1, j)

    def row_rules(self, spec: Sheet, columns: list[Column], typed: dict[str, list[Any]],
                  kept: list[int], positions: dict[str, int], provider: str | None,
                  month: Month | None) -> None:
        """The value rules of a sheet of register entries, row by row: a rule may read the
        row's entry in the register."""
        reg_col = spec.register_column
        assert reg_col is not None
        for k, r in enumerate(kept):
            values = {c.name: typed[c.name][k] for c in columns}
            entry = self.entry_for(values.get(reg_col.name), spec, r, positions, provider, month)
            context = self.context(entry, month)
            # min/max may name the row's other columns (e.g. a discharge after its start)
            context.update({k: v for k, v in values.items() if v is not None and k not in context})
            for col in columns:
                self.value_rules(col, values, context, entry, spec, r, positions[col.name], month)

    def context(self, entry: dict[str, Any] | None, month: Month | None) -> dict[str, Any]:
        """The names a rule may read: parameters, period facts and the register entry (a
        fresh dict each time: callers add the row's values)."""
        key = (id(entry), month)
        base = self.contexts.get(key)
        if base is None or base[0] is not entry:
            ctx: dict[str, Any] = dict(self.params)
            if month is not None:
                ctx.update(self.model.values_on(month.first_day))
                ctx.update(period_facts(month))
            if entry is not None:
                ctx.update(entry)
                ctx.update(self.model.by_code(ctx))
            base = self.contexts[key] = (entry, ctx)
        return dict(base[1])

    def entry_for(self, key: Any, spec: Sheet, r: int, positions: dict[str, int],
                  provider: str | None, month: Month | None) -> dict[str, Any] | None:
        if key is None:
            return None
        found = self.entries.get(str(key))
        if found is None:
            found = self.entries[str(key)] = self.look_up(key, provider, month)
        entry, code, message = found
        if code:
            self.add(code, message, spec.name, r + 1, positions[spec.entry_column.name])
        return entry

    def look_up(self, key: Any, provider: str | None,
                month: Month | None) -> tuple[dict[str, Any] | None, str, str]:
        """(the entry to check the row against, and a problem code and message, or "")."""
        entry = self.register.entry(str(key))
        noun = self.model.register.entity
        if entry is None:
            return None, "unknown-entry", f"the {noun} '{key}' is not in the contract register"
        if provider and entry[self.model.register.provider] != provider:
            return None, "entry-of-other-provider", (
                f"the {noun} '{key}' belongs to provider "
                f"{entry[self.model.register.provider]}, not {provider}")
        if month and not entry_active(self.model, entry, month):
            return entry, "entry-not-active", (f"the contract for {noun} '{key}' is not active "
                                               f"in {month}")
        return entry, "", ""

    def value_rules(self, col: Column, values: dict[str, Any], context: dict[str, Any],
                    entry: dict[str, Any] | None, spec: Sheet, r: int, j: int,
                    month: Month | None) -> None:
        value = values.get(col.name)
        if value is None:
            needed = col.required
            if col.required_when is not None and entry is not None:
                needed = self.formula_true(col.required_when, context)
            if needed and (spec.name, r + 1, j) not in self.flagged:
                why = f" for this {self.model.register.entity}" if col.required_when else ""
                self.add("required-missing", f"{col.header} must be filled{why}", spec.name,
                         r + 1, j)
            return
        if col.within == "period" and month is not None and not (
                month.first_day <= value <= month.last_day):
            self.add("date-outside-period", f"{col.header}: {value.isoformat()} is not in "
                     f"{month.label()}", spec.name, r + 1, j)
        if col.within == "before-start" and value >= self.model.start:
            self.not_before_start(col, value, spec.name, r + 1, j)
        for bound, code in ((col.min, "below-minimum"), (col.max, "above-maximum")):
            if bound is None or (bound.names - set(context)):
                continue
            try:
                limit = self.evaluate(bound, context)
            except ExprError:
                continue
            if isinstance(value, date) != isinstance(limit, date):
                continue
            if (value < limit) if code == "below-minimum" else (value > limit):
                self.out_of_bounds(col, code, value, limit, bound, spec, r, j)

    def not_before_start(self, col: Column, value: date, sheet: str, row: int, j: int) -> None:
        self.add("date-not-before-start", f"{col.header}: {value.isoformat()} is not before "
                 f"the scheme starts ({self.model.start.isoformat()}); an episode that started "
                 "since belongs with its presentation", sheet, row, j)

    def formula_true(self, formula, context: dict[str, Any]) -> bool:
        try:
            return bool(self.evaluate(formula, context))
        except ExprError:
            return False

    def evaluate(self, formula, context: dict[str, Any]) -> Any:
        """The formula's value, worked out once for each distinct set of the values it reads
        (rows of one register entry share them); raises ExprError as Expr.evaluate does."""
        names = self.reads.get(formula.text)
        if names is None:
            names = self.reads[formula.text] = tuple(sorted(formula.names))
        try:
            key = (formula.text, *[context.get(n, ABSENT) for n in names])
            found = self.worked.get(key, ABSENT)
        except TypeError:  # a value that cannot be a key
            return formula.evaluate(context)
        if found is ABSENT:
            try:
                found = formula.evaluate(context)
            except ExprError as exc:
                found = exc
            self.worked[key] = found
        if isinstance(found, ExprError):
            raise found
        return found


def check_return(raw: RawWorkbook, model: Model, register: Register,
                 expected_month: Month | None = None) -> CheckedReturn:
    """Check a read workbook; never raises for bad data, returns every problem found."""
    checker = _Checker(raw, model, register, expected_month)
    provider, month = checker.cover()
    for name in sorted(raw.hidden):
        if model.sheet(name) is not None or name == COVER_SHEET:
            checker.add("hidden-sheet", f"the sheet '{name}' is hidden; it was read, but unhide "
                        "it so that what is paid on can be seen", name)
        elif name in raw.sheet_names:
            checker.add("hidden-extra-sheet", f"the hidden sheet '{name}' is not part of the "
                        "template and is not read; anything to be paid on belongs in the "
                        "template's sheets", name)
    tables = {spec.name: checker.sheet(spec, provider, month) for spec in model.sheets}
    group_checks(model, tables, checker.problems, checker.add)
    order = {COVER_SHEET: 0, **{s.name: i + 1 for i, s in enumerate(model.sheets)}}
    problems = sorted(checker.problems, key=lambda p: (
        order.get(p.sheet or "", -1), p.row or 0, len(p.column or ""), p.column or ""))
    return CheckedReturn(raw.path, raw.sha256, provider, month, tables, problems, checker.positions)
