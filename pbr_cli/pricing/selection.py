"""Which rows of a return sheet a sum or count adds up: those of the measure's window, and
of them those its `where` picks — by column: value pairs, or by a condition worked out for
each row over the row's own columns, its register entry, the parameters and the period.

A row whose condition cannot be worked out (it reads a blank figure) is not counted: nothing
is guessed for it. Each such row is kept, by the entry whose row it is, so the entry's
calculation can say how many and which (a `rows-not-counted` warning)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pbr_cli.expr import ExprError
from pbr_cli.model.records import Measure, Model, Sheet, period_facts
from pbr_cli.periods import Month
from pbr_cli.pricing.kind import formula_values
from pbr_cli.returns.register import Register

SHOWN_ROWS = 10  # rows named in a warning; the rest are counted


@dataclass
class NotCounted:
    """An entry's rows a measure's condition could not be worked out for, and why."""

    rows: list[tuple[str, int]] = field(default_factory=list)  # (month, Excel row)
    why: list[str] = field(default_factory=list)  # each distinct reason, in order found

    def said(self, measure: Measure, sheet: Sheet) -> str:
        """The warning's words: how many rows, which, and why."""
        n = len(self.rows)
        rows = ", ".join(f"{month} row {row}" for month, row in self.rows[:SHOWN_ROWS])
        more = f" and {n - SHOWN_ROWS} more" if n > SHOWN_ROWS else ""
        assert measure.condition is not None
        text = measure.condition.text
        quoted = f'"{text}"' if "'" in text else f"'{text}'"
        return (f"{n} row{'s' if n != 1 else ''} of {sheet.name} not counted in "
                f"{measure.name}: the condition {quoted} cannot be worked "
                f"out for {'them' if n != 1 else 'it'} ({'; '.join(self.why)}): {rows}{more}")


@dataclass(frozen=True)
class Rows:
    """What a condition reads beyond the row: the model, the month priced and the register."""

    model: Model
    month: Month
    register: Register | None


def select(frame: Any, mask: Any, measure: Measure, sheet: Sheet,
           rows: Rows) -> tuple[Any, dict[str, NotCounted]]:
    """The rows of `frame` within `mask` that `measure.where` picks, and by entry the rows
    its condition could not be worked out for."""
    for column, wanted in measure.where:
        mask &= frame[column].isin(list(wanted))
    condition = measure.condition
    if condition is None:
        return mask, {}
    entry_col = sheet.entry_column.name
    own = sorted(n for n in condition.names if sheet.column(n) is not None)
    reads_entry = bool(condition.names - set(own))
    picked = frame[mask]
    keys = picked[entry_col].tolist()
    values = list(zip(*(picked[n].tolist() for n in own), strict=True)) if own else (
        [()] * len(keys))
    month_of, row_of = picked["_month"].tolist(), picked["_row"].tolist()
    bases: dict[Any, dict[str, Any]] = {}
    worked: dict[tuple, bool | str] = {}
    not_counted: dict[str, NotCounted] = {}
    keep: list[bool] = []
    for i, key in enumerate(keys):
        memo = (key if reads_entry else None, values[i])
        found = worked.get(memo)
        if found is None:
            base = bases.get(key) if reads_entry else bases.get(None)
            if base is None:
                base = bases[key if reads_entry else None] = _names(rows, key, reads_entry)
            env = dict(base)
            env.update(formula_values(dict(zip(own, values[i], strict=True))))
            found = worked[memo] = _worked_out(measure, sheet, env, own)
        if isinstance(found, str):
            failed = not_counted.setdefault(str(key), NotCounted())
            failed.rows.append((str(month_of[i]), int(row_of[i])))
            if found not in failed.why:
                failed.why.append(found)
            found = False
        keep.append(found)
    chosen = mask.copy()
    chosen.loc[picked.index] = keep
    return chosen, not_counted


def _names(rows: Rows, key: Any, reads_entry: bool) -> dict[str, Any]:
    """The names a condition reads beyond the row: the parameters and period facts of the
    month priced, and (when it reads them) the columns of the row's register entry."""
    env: dict[str, Any] = dict(rows.model.values_on(rows.month.first_day))
    entry = rows.register.entry(str(key)) if reads_entry and rows.register else None
    if entry is not None:
        env.update(formula_values(entry))
        env.update(rows.model.by_code(env))
    env.update(period_facts(rows.month, rows.model.year_starts))
    return env


def _worked_out(measure: Measure, sheet: Sheet, env: dict[str, Any],
                own: list[str]) -> bool | str:
    """True or False for the row, or why it cannot be worked out."""
    assert measure.condition is not None
    try:
        value = measure.condition.evaluate(env)
    except ExprError as exc:
        blank = [sheet.header(n) for n in own if env.get(n) is None]
        return f"a blank {' and '.join(blank)}" if blank else str(exc)
    if not isinstance(value, bool):
        return "it gives a figure, not true or false"
    return value
