"""The checks over whole columns, the default: each column's cells are sorted into kinds at
once and converted in bulk (the whole column when every cell is of its usual type, each
distinct value once in a code column), the value rules find the failing cells of a column in
one pass, a sheet's keys are compared as columns and its table is made in one block. Every
problem is the one the cell at a time checks (checks.py, `by_cell=True`) give, for the same
cell, with the same message, in the same order; a column this module cannot do in bulk (a
cell the reader marked, a cell of an unusual type) is checked a cell at a time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from pbr_cli.model.kinds import ColumnType, Within
from pbr_cli.model.records import CodeList, Column, Sheet
from pbr_cli.periods import Month
from pbr_cli.returns.cells import convert, shown
from pbr_cli.returns.rules import Cells, Dates, DuplicateRows, Required

# say(message, sheet, row, column index, **fields), as checks._Checker.say
Say = Callable[..., None]
_NONE = type(None)
_EXACT = 2**53  # a float beyond this may not be the whole number it shows


def _texts(values: list[Any]) -> list[Any] | None:
    """A text column whose cells are all printable ASCII with no space inside (or blank):
    each stripped, a blank None. None when any cell needs looking at (cells.convert)."""
    if not set(map(type, values)) <= {str, _NONE}:
        return None
    texts = [v for v in values if v is not None]
    # printable ASCII side by side is printable ASCII, and each piece of it is
    joined = "".join(texts)
    if not (joined.isascii() and joined.isprintable()):
        return None
    stripped = [v.strip() if v is not None else None for v in values]
    if " " in "|".join(t for t in stripped if t):
        return None
    return [t or None for t in stripped]


def _integers(values: list[Any]) -> list[Any] | None:
    """An integer column of whole numbers (as Excel holds them, ints or exact floats)."""
    kinds = set(map(type, values))
    if kinds <= {int, _NONE}:
        return list(values)
    if not kinds <= {int, float, _NONE}:
        return None
    import numpy as np

    floats = [v for v in values if type(v) is float]
    held = np.fromiter(floats, dtype=float, count=len(floats))
    if not bool(np.all((held == np.floor(held)) & (np.abs(held) < _EXACT))):
        return None  # a fraction, an infinity, NaN or a float too big to be exact
    return [int(v) if type(v) is float else v for v in values]


def _dates(values: list[Any]) -> list[Any] | None:
    """A date column of dates (a date and time is its day)."""
    if not set(map(type, values)) <= {date, datetime, _NONE}:
        return None
    return [v.date() if type(v) is datetime else v for v in values]


_BULK = {ColumnType.TEXT: _texts, ColumnType.INTEGER: _integers, ColumnType.DATE: _dates}


def convert_column(col: Column, values: list[Any], rows: list[int], j: int, sheet: str,
                   codes: dict[str, CodeList], say: Say) -> list[Any] | None:
    """The column's cells as its type, with a problem for each that cannot be; None when
    the column is to be checked a cell at a time. `rows` are the cells' Excel rows."""
    bulk = _BULK.get(col.type)  # type: ignore[call-overload]
    if bulk is not None:
        return bulk(values)
    if col.type != ColumnType.CODE or not set(map(type, values)) <= {str, int, float, _NONE}:
        return None
    # each distinct value converted once; the cells that are not a code, in row order
    found = {key: convert(key[1], col, codes) for key in set(zip(map(type, values), values,
                                                                 strict=True))}
    results = [found[(type(v), v)] for v in values]
    for k, (_, code, detail) in enumerate(results):
        if code:
            say(Cells.CONVERTED[code], sheet, rows[k], j, header=col.header, detail=detail)
    return [result for result, _, _ in results]


def required(values: list[Any], rows: list[int], j: int, sheet: str,
             flagged: set[tuple[str | None, int | None, int | None]]) -> list[int]:
    """The Excel rows of a required column's blank cells that have no problem already."""
    return [rows[k] for k, v in enumerate(values)
            if v is None and (sheet, rows[k], j) not in flagged]


def outside_month(days: list[Any], month: Month) -> list[int]:
    """The positions of the days outside the month."""
    first, last = month.first_day, month.last_day
    return [k for k, v in enumerate(days) if v is not None and not first <= v <= last]


def from_start(days: list[Any], start: date) -> list[int]:
    """The positions of the days on or after the scheme's start."""
    return [k for k, v in enumerate(days) if v is not None and v >= start]


def date_rules(col: Column, values: list[Any], days: list[Any], month: Month | None,
               start: date) -> tuple[list[int], list[int]]:
    """(the cells outside the month, the cells not before the scheme starts), as positions."""
    outside = (outside_month(days, month)
               if col.within == Within.PERIOD and month is not None else [])
    late = from_start(days, start) if col.within == Within.BEFORE_START else []
    return outside, late


def say_dates(say: Say, col: Column, where: tuple[str, int], rows: list[int],
              values: list[Any], found: tuple[list[int], list[int]], month: Month | None,
              start: date) -> None:
    sheet, j = where
    outside, late = found
    for k in outside:
        say(Dates.OUTSIDE, sheet, rows[k], j, header=col.header, value=shown(values[k]),
            month=month.label() if month is not None else "")
    for k in late:
        say(Dates.NOT_BEFORE, sheet, rows[k], j, header=col.header, value=shown(values[k]),
            start=start.isoformat())


def say_required(say: Say, col: Column, sheet: str, j: int, rows: list[int], why: str) -> None:
    for row in rows:
        say(Required.MISSING, sheet, row, j, header=col.header, why=why)


def duplicate_keys(spec: Sheet, columns: dict[str, list[Any]], positions: dict[str, int],
                   add: Callable[..., None]) -> None:
    """A sheet's key twice, from its columns: the second row, naming the first (as
    across_rows.duplicate_keys says it from the table)."""
    if not spec.key or not columns["_row"]:
        return
    key_cols = list(spec.key)
    keys = list(zip(*(columns[c] for c in key_cols), strict=True))
    whole = [k for k in keys if None not in k]
    if len(set(whole)) == len(whole):
        return
    first_seen: dict[tuple, int] = {}
    for key, row in zip(keys, columns["_row"], strict=True):
        if None in key:
            continue
        if key in first_seen:
            named = ", ".join(f"{spec.header(c)} {v}" for c, v in zip(key_cols, key, strict=True))
            add(DuplicateRows.TWICE.code, DuplicateRows.TWICE.text(
                shown=named, first=first_seen[key]), spec.name, row, positions.get(key_cols[0]))
        else:
            first_seen[key] = row


def table(columns: dict[str, list[Any]], names: list[str]) -> Any:
    """The sheet's table: every column of Python values, as objects, in one block (the same
    table pandas makes column by column, made at once)."""
    import numpy as np
    import pandas as pd

    n = len(columns["_row"])
    block = np.empty((len(names), n), dtype=object)
    for i, name in enumerate(names):
        block[i] = np.fromiter(columns[name], dtype=object, count=n)
    return pd.DataFrame(block.T, columns=names, dtype=object, copy=False)
