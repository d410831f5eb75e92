"""The value rules of a sheet's typed rows (rules.Required, rules.Dates, rules.Bounds and,
on a sheet of register entries, rules.Entries): a cell that must be filled, a date inside
the month or before the scheme starts, a number or date within its min and max. A rule's
formula is worked out once for each distinct set of values it reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from pbr_cli.expr import Expr, ExprError
from pbr_cli.model.kinds import ColumnType, Within
from pbr_cli.model.records import Column, Model, Sheet, period_facts
from pbr_cli.periods import Month
from pbr_cli.returns import columns as whole
from pbr_cli.returns.cells import shown
from pbr_cli.returns.fast import ABSENT, PerRow
from pbr_cli.returns.register import Register, entry_active
from pbr_cli.returns.rules import Bounds, Dates, Entries, Message, Required


def day_of(value: Any) -> Any:
    """The day of a date and time (a date, or a blank, as it is): what `within` compares."""
    return value.date() if isinstance(value, datetime) else value


@dataclass
class TypedRows:
    """A sheet's rows that hold anything, typed, column by column."""

    spec: Sheet
    columns: list[Column]  # the sheet's columns found in the return
    typed: dict[str, list[Any]]  # column -> each kept row's value
    kept: list[int]  # each kept row's index in the sheet (0: the heading)
    positions: dict[str, int]  # column -> its index in the sheet


@dataclass(frozen=True)
class Place:
    """One column of a sheet: where a rule's problems are put."""

    spec: Sheet
    col: Column
    j: int  # the column's index in the sheet


@dataclass(frozen=True)
class Bound:
    """A column's min or max, and the message a value beyond it gets."""

    formula: Expr
    message: Message

    @property
    def below(self) -> bool:
        return self.message is Bounds.BELOW


def _whole(limit: Any) -> Any:
    """A whole Fraction as an int: the same comparisons, with whole numbers."""
    if isinstance(limit, Fraction) and limit.denominator == 1:
        return int(limit)
    return limit


class ValueRules:
    """The value rules of one return's sheets, with what they have worked out so far."""

    def __init__(self, model: Model, register: Register, add: Callable[..., None],
                 flagged: set[tuple[str | None, int | None, int | None]]):
        self.model, self.register, self.add, self.flagged = model, register, add, flagged
        self.params: dict[str, Any] = model.values_on(model.start)  # per month: context()
        self.entries: dict[str, tuple[dict[str, Any] | None, Message | None, dict]] = {}
        self.contexts: dict[tuple, tuple[Any, dict[str, Any]]] = {}  # (entry, month) -> names
        self.reads: dict[str, tuple[str, ...]] = {}  # formula -> the names it reads
        self.worked: dict[tuple, Any] = {}  # (formula, values read) -> value or ExprError

    def say(self, message: Message, place: Place, row: int, **fields: Any) -> None:
        self.add(message.code, message.text(header=place.col.header, **fields),
                 place.spec.name, row, place.j)

    def bounds(self, col: Column) -> list[Bound]:
        return [Bound(formula, message) for formula, message in
                ((col.min, Bounds.BELOW), (col.max, Bounds.ABOVE)) if formula is not None]

    def why_required(self, col: Column) -> str:
        return f" for this {self.model.register.entity}" if col.required_when else ""

    def column_rules(self, rows: TypedRows, month: Month | None) -> None:
        """The value rules of a sheet whose rows are not register entries, column by column:
        required, within the period, and min/max limits (worked out once when they read only
        parameters; compared with the row's own value when they name one of its columns)."""
        constant = self.context(None, month)
        typed, kept = rows.typed, rows.kept
        for col in rows.columns:
            place = Place(rows.spec, col, rows.positions[col.name])
            values = typed[col.name]
            if col.required:
                for k, value in enumerate(values):
                    if value is None and (rows.spec.name, kept[k] + 1, place.j) not in self.flagged:
                        self.say(Required.MISSING, place, kept[k] + 1, why=self.why_required(col))
            days = values if col.type != ColumnType.DATE_TIME else [day_of(v) for v in values]
            if col.within == Within.PERIOD and month is not None:
                first, last = month.first_day, month.last_day
                for k, value in enumerate(days):
                    if value is not None and not (first <= value <= last):
                        self.say(Dates.OUTSIDE, place, kept[k] + 1, value=shown(values[k]),
                                 month=month.label())
            if col.within == Within.BEFORE_START:
                for k, value in enumerate(days):
                    if value is not None and value >= self.model.start:
                        self.not_before_start(place, values[k], kept[k] + 1)
            self.column_bounds(place, typed, kept, constant)

    def whole_columns(self, rows: TypedRows, month: Month | None) -> None:
        """column_rules, each rule finding the failing cells of a whole column at once
        (columns.py); the same problems in the same order."""
        constant = self.context(None, month)
        typed, kept, name = rows.typed, rows.kept, rows.spec.name
        excel = [r + 1 for r in kept]
        for col in rows.columns:
            place = Place(rows.spec, col, rows.positions[col.name])
            values = typed[col.name]
            if col.required:
                whole.say_required(self.add_say, col, name, place.j,
                                   whole.required(values, excel, place.j, name, self.flagged),
                                   self.why_required(col))
            if col.within is not None:
                whole.say_dates(self.add_say, col, (name, place.j), excel, values, month,
                                self.model.start)
            self.column_bounds(place, typed, kept, constant, whole.all_within)

    def add_say(self, message: Message, sheet: str, row: int, col: int, **fields: Any) -> None:
        self.add(message.code, message.text(**fields), sheet, row, col)

    def column_bounds(self, place: Place, typed: dict[str, list[Any]], kept: list[int],
                      constant: dict[str, Any], within: Callable[..., bool] | None = None
                      ) -> None:
        """A column's min and max: worked out once when they read only parameters; compared
        with the row's own value when they name one of its columns. `within(values, limit,
        below)`: whether the column is within a fixed limit, found at once (columns.py)."""
        values = typed[place.col.name]
        for bound in self.bounds(place.col):
            formula = bound.formula
            if formula.names <= set(constant):
                try:
                    fixed = formula.evaluate(constant)
                except ExprError:
                    continue
                if within is not None and within(values, _whole(fixed), bound.below):
                    continue
                self.fixed_bound(place, bound, values, fixed, kept)
                continue
            elif (len(formula.names) == 1 and formula.text.strip() in typed
                  and formula.text.strip() not in constant):
                limits: Any = typed[formula.text.strip()]
            else:
                limits = PerRow(formula, constant, typed)
            for k, value in enumerate(values):
                if value is None:
                    continue
                limit = limits[k]
                if limit is None or isinstance(value, date) != isinstance(limit, date):
                    continue
                if (value < limit) if bound.below else (value > limit):
                    self.out_of_bounds(place, bound, value, limit, kept[k])

    def fixed_bound(self, place: Place, bound: Bound, values: list[Any], limit: Any,
                    kept: list[int]) -> None:
        """A min/max that is the same for every row (it reads only parameters)."""
        if limit is None:
            return
        limit = _whole(limit)
        is_date = isinstance(limit, date)
        if bound.below:
            outside = [k for k, v in enumerate(values)
                       if v is not None and isinstance(v, date) == is_date and v < limit]
        else:
            outside = [k for k, v in enumerate(values)
                       if v is not None and isinstance(v, date) == is_date and v > limit]
        for k in outside:
            self.out_of_bounds(place, bound, values[k], limit, kept[k])

    def out_of_bounds(self, place: Place, bound: Bound, value: Any, limit: Any, r: int) -> None:
        if isinstance(value, date):
            # the column itself when the bound is that column; else the date the formula gives
            other = next((c.header for c in place.spec.columns
                          if c.name == bound.formula.text.strip()), "")
            self.say(bound.message, place, r + 1, value=value.isoformat(),
                     word="before" if bound.below else "after",
                     what=other or ("earliest allowed date" if bound.below
                                    else "latest allowed date"),
                     limit=limit.isoformat() if other else
                     f"{limit.isoformat()} ({bound.formula.text})")
            return
        self.say(bound.message, place, r + 1, value=value,
                 word="less than" if bound.below else "more than", what="allowed", limit=limit)

    def row_rules(self, rows: TypedRows, provider: str | None, month: Month | None) -> None:
        """The value rules of a sheet of register entries, row by row: a rule may read the
        row's entry in the register."""
        spec = rows.spec
        reg_col = spec.register_column
        assert reg_col is not None
        # where an entry's problem is put (only a row that names one has any)
        at = Place(spec, reg_col, rows.positions.get(reg_col.name, -1))
        for k, r in enumerate(rows.kept):
            values = {c.name: rows.typed[c.name][k] for c in rows.columns}
            entry = self.entry_for(values.get(reg_col.name), at, r, provider, month)
            context = self.context(entry, month)
            # min/max may name the row's other columns (e.g. a discharge after its start)
            context.update({k: v for k, v in values.items() if v is not None and k not in context})
            for col in rows.columns:
                self.value_rules(Place(spec, col, rows.positions[col.name]), values, context,
                                 entry, r, month)

    def whole_rows(self, rows: TypedRows, provider: str | None, month: Month | None) -> None:
        """row_rules a column at a time: each row's entry looked up once, then each rule over
        a whole column, a formula reading only the names it names (each distinct set of their
        values worked out once); the same problems in the same order."""
        spec, typed, kept = rows.spec, rows.typed, rows.kept
        reg_col = spec.register_column
        assert reg_col is not None
        at = Place(spec, reg_col, rows.positions.get(reg_col.name, -1))
        keys = typed.get(reg_col.name) or [None] * len(kept)
        entries = [self.entry_for(key, at, r, provider, month)
                   for key, r in zip(keys, kept, strict=True)]
        bases = {id(e): self.context(e, month) for e in entries}  # what a rule may read

        def reads(formula: Expr, k: int) -> dict[str, Any]:
            """The names the formula reads that have a value in row k: the entry's, the
            parameters' and the period's (even a blank one), else the row's own."""
            base, found = bases[id(entries[k])], {}
            for name in formula.names:
                if name in base:
                    found[name] = base[name]
                elif name in typed and typed[name][k] is not None:
                    found[name] = typed[name][k]
            return found

        excel = [r + 1 for r in kept]
        for col in rows.columns:
            place = Place(spec, col, rows.positions[col.name])
            values = typed[col.name]
            for k in (range(len(values)) if None in values else ()):
                if values[k] is not None:
                    continue
                needed = col.required
                if col.required_when is not None and entries[k] is not None:
                    needed = self.formula_true(col.required_when, reads(col.required_when, k))
                if needed and (spec.name, excel[k], place.j) not in self.flagged:
                    self.say(Required.MISSING, place, excel[k], why=self.why_required(col))
            if col.within is not None:
                whole.say_dates(self.add_say, col, (spec.name, place.j), excel, values, month,
                                self.model.start)
            for bound in self.bounds(col):
                for k, value in enumerate(values):
                    if value is not None:
                        self.bound_check(place, bound, value, reads(bound.formula, k), kept[k])

    def context(self, entry: dict[str, Any] | None, month: Month | None) -> dict[str, Any]:
        """The names a rule may read: parameters, period facts and the register entry (a
        fresh dict each time: callers add the row's values)."""
        key = (id(entry), month)
        base = self.contexts.get(key)
        if base is None or base[0] is not entry:
            ctx: dict[str, Any] = dict(self.params)
            if month is not None:
                ctx.update(self.model.values_on(month.first_day))
                ctx.update(period_facts(month, self.model.year_starts))
            if entry is not None:
                ctx.update(entry)
                ctx.update(self.model.by_code(ctx))
            base = self.contexts[key] = (entry, ctx)
        return dict(base[1])

    def entry_for(self, key: Any, place: Place, r: int, provider: str | None,
                  month: Month | None) -> dict[str, Any] | None:
        if key is None:
            return None
        found = self.entries.get(str(key))
        if found is None:
            found = self.entries[str(key)] = self.look_up(key, provider, month)
        entry, message, fields = found
        if message is not None:
            self.add(message.code, message.text(**fields), place.spec.name, r + 1, place.j)
        return entry

    def look_up(self, key: Any, provider: str | None, month: Month | None
                ) -> tuple[dict[str, Any] | None, Message | None, dict[str, Any]]:
        """(the entry to check the row against, and what is wrong with it, if anything)."""
        entry = self.register.entry(str(key))
        noun = self.model.register.entity
        if entry is None:
            return None, Entries.UNKNOWN, {"noun": noun, "key": key}
        owner = entry[self.model.register.provider]
        if provider and owner != provider:
            return None, Entries.OTHERS, {"noun": noun, "key": key, "owner": owner,
                                          "provider": provider}
        if month and not entry_active(self.model, entry, month):
            return entry, Entries.INACTIVE, {"noun": noun, "key": key, "month": month}
        return entry, None, {}

    def value_rules(self, place: Place, values: dict[str, Any], context: dict[str, Any],
                    entry: dict[str, Any] | None, r: int, month: Month | None) -> None:
        col = place.col
        value = values.get(col.name)
        if value is None:
            needed = col.required
            if col.required_when is not None and entry is not None:
                needed = self.formula_true(col.required_when, context)
            if needed and (place.spec.name, r + 1, place.j) not in self.flagged:
                self.say(Required.MISSING, place, r + 1, why=self.why_required(col))
            return
        if col.within == Within.PERIOD and month is not None and not (
                month.first_day <= day_of(value) <= month.last_day):
            self.say(Dates.OUTSIDE, place, r + 1, value=shown(value), month=month.label())
        if col.within == Within.BEFORE_START and day_of(value) >= self.model.start:
            self.not_before_start(place, value, r + 1)
        for bound in self.bounds(col):
            self.bound_check(place, bound, value, context, r)

    def bound_check(self, place: Place, bound: Bound, value: Any, context: dict[str, Any],
                    r: int) -> None:
        """A value against one min or max worked out from `context` (no limit where a name it
        reads has no value, the formula cannot be worked out, or the limit is blank or of
        another kind than the value)."""
        if bound.formula.names - set(context):
            return
        try:
            limit = self.evaluate(bound.formula, context)
        except ExprError:
            return
        if limit is None or isinstance(value, date) != isinstance(limit, date):
            return
        if (value < limit) if bound.below else (value > limit):
            self.out_of_bounds(place, bound, value, limit, r)

    def not_before_start(self, place: Place, value: date, row: int) -> None:
        self.say(Dates.NOT_BEFORE, place, row, value=shown(value),
                 start=self.model.start.isoformat())

    def before_start(self, rows: TypedRows, at_once: bool = False) -> TypedRows:
        """Rows whose own date (a column dated within the return's month) falls before the
        scheme starts never count: left out, with a warning (a scheme starting mid-month).
        `at_once`: a column whose earliest day is not before the start is not walked."""
        start = self.model.start
        kept, typed = rows.kept, rows.typed
        drop: set[int] = set()
        for col in rows.columns:
            if col.type not in (ColumnType.DATE, ColumnType.DATE_TIME) or (
                    col.within != Within.PERIOD):
                continue
            if at_once and col.type == ColumnType.DATE and whole.none_before(
                    typed[col.name], start):
                continue
            place = Place(rows.spec, col, rows.positions[col.name])
            for k, value in enumerate(typed[col.name]):
                if value is not None and day_of(value) < start and k not in drop:
                    drop.add(k)
                    self.say(Dates.BEFORE_START, place, kept[k] + 1, value=shown(value),
                             start=start.isoformat())
        if not drop:
            return rows
        keep = [k for k in range(len(kept)) if k not in drop]
        return TypedRows(rows.spec, rows.columns,
                         {name: [values[k] for k in keep] for name, values in typed.items()},
                         [kept[k] for k in keep], rows.positions)

    def formula_true(self, formula: Expr, context: dict[str, Any]) -> bool:
        try:
            return bool(self.evaluate(formula, context))
        except ExprError:
            return False

    def evaluate(self, formula: Expr, context: dict[str, Any]) -> Any:
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
