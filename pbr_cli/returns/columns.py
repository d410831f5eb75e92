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
from functools import partial
from itertools import zip_longest
from operator import is_not, itemgetter
from typing import Any

from pbr_cli.model.kinds import ColumnType, Within
from pbr_cli.model.records import CodeList, Column, Sheet
from pbr_cli.periods import Month
from pbr_cli.returns.across_rows import say_duplicates
from pbr_cli.returns.cells import convert, shown
from pbr_cli.returns.rules import Cells, Dates, Required

# say(message, sheet, row, column index, **fields), as checks._Checker.say
Say = Callable[..., None]
_NONE = type(None)
_EXACT = 2**53  # a float beyond this may not be the whole number it shows


def _full(cells: list[Any]) -> bool:
    """No cell blank (None, or text of nothing but spaces)."""
    kinds = set(map(type, cells))
    if _NONE in kinds:
        return False
    if str not in kinds:
        return True
    return all(map(str.strip, cells if kinds == {str} else
                   [v for v in cells if type(v) is str]))


def kept_cells(raw: Any, at: dict[str, int]) -> tuple[dict[str, list[Any]], list[int]] | None:
    """checks._Checker.kept_cells when a column read has no blank cell (every row is kept):
    the sheet turned into columns at once (a short row's missing cells None). None when
    each row is to be looked at."""
    body = raw.rows
    if body and at and min(map(len, body)) > max(at.values()):  # every row reaches them
        cols = {name: list(map(itemgetter(j), body[1:])) for name, j in at.items()}
    else:
        across = list(zip_longest(*body)) if body else []
        cols = {name: list(across[j][1:]) if j < len(across) else [None] * (len(body) - 1)
                for name, j in at.items()}
    if not any(_full(cells) for cells in cols.values()):
        return None
    return cols, list(range(1, len(body)))


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
    if len(texts) == len(values):
        stripped = list(map(str.strip, values))
        if " " in "|".join(stripped):
            return None
        return stripped if all(stripped) else [t or None for t in stripped]
    some = [v.strip() if v is not None else None for v in values]
    if " " in "|".join(t for t in some if t):
        return None
    return [t or None for t in some]


def _integers(values: list[Any]) -> list[Any] | None:
    """An integer column of whole numbers (as Excel holds them, ints or exact floats)."""
    kinds = set(map(type, values))
    if kinds <= {int, _NONE}:
        return list(values)
    if not kinds <= {int, float, _NONE}:
        return None
    floats = values if kinds == {float} else [v for v in values if type(v) is float]
    # a fraction, an infinity, NaN or a float too big to be exact: looked at (cells.convert)
    if not all(map(float.is_integer, floats)) or max(map(abs, floats)) >= _EXACT:
        return None
    if kinds == {float}:
        return list(map(int, values))
    return [int(v) if type(v) is float else v for v in values]


def _dates(values: list[Any]) -> list[Any] | None:
    """A date column of dates (a date and time is its day)."""
    kinds = set(map(type, values))
    if kinds <= {date, _NONE}:
        return list(values)
    if not kinds <= {date, datetime, _NONE}:
        return None
    return [v.date() if type(v) is datetime else v for v in values]


_BULK = {ColumnType.TEXT: _texts, ColumnType.INTEGER: _integers, ColumnType.DATE: _dates}


def convert_column(col: Column, values: list[Any], rows: list[int], j: int, sheet: str,
                   codes: dict[str, CodeList], say: Say) -> list[Any] | None:
    """The column's cells as its type, with a problem for each that cannot be; None when
    the column is to be checked a cell at a time. `rows` are the cells' Excel rows."""
    bulk = _BULK.get(col.type)
    if bulk is not None:
        return bulk(values)
    kinds = set(map(type, values))
    if col.type != ColumnType.CODE or not kinds <= {str, int, float, _NONE}:
        return None
    # each distinct value converted once (by its type too: 1, 1.0 and True are one key)
    if kinds <= {str, _NONE}:
        found = {v: convert(v, col, codes) for v in set(values)}
        results = list(map(found.__getitem__, values))
    else:
        typed = {key: convert(key[1], col, codes)
                 for key in set(zip(map(type, values), values, strict=True))}
        results = [typed[(type(v), v)] for v in values]
        found = dict(enumerate(typed.values()))
    if any(code for _, code, _ in found.values()):  # the cells that are not a code, in order
        for k, (_, code, detail) in enumerate(results):
            if code:
                say(Cells.CONVERTED[code], sheet, rows[k], j, header=col.header,
                    detail=detail)
    return [result for result, _, _ in results]


def present(values: list[Any]) -> list[Any]:
    """The column's values that are not blank (None), in order."""
    return values if None not in values else list(filter(partial(is_not, None), values))


def required(values: list[Any], rows: list[int], j: int, sheet: str,
             flagged: set[tuple[str | None, int | None, int | None]]) -> list[int]:
    """The Excel rows of a required column's blank cells that have no problem already."""
    if None not in values:
        return []
    return [rows[k] for k, v in enumerate(values)
            if v is None and (sheet, rows[k], j) not in flagged]


def outside_month(days: list[Any], month: Month) -> list[int]:
    """The positions of the days outside the month."""
    first, last = month.first_day, month.last_day
    filled = present(days)
    if not filled or (first <= min(filled) and max(filled) <= last):
        return []  # the usual column, found at once: its earliest and latest days are in
    return [k for k, v in enumerate(days) if v is not None and not first <= v <= last]


def from_start(days: list[Any], start: date) -> list[int]:
    """The positions of the days on or after the scheme's start."""
    filled = present(days)
    if not filled or max(filled) < start:
        return []
    return [k for k, v in enumerate(days) if v is not None and v >= start]


def none_before(days: list[Any], start: date) -> bool:
    """Whether no day of the column is before the scheme starts, found at once."""
    filled = present(days)
    return not filled or min(filled) >= start


def all_within(values: list[Any], limit: Any, below: bool) -> bool:
    """Whether no value of the column can be beyond a limit the same for every row (then
    none is looked at): its values and the limit are all dates, or all numbers, and its
    least (or greatest) is within it."""
    filled = present(values)
    if not filled:
        return True
    kinds = set(map(type, filled))
    if isinstance(limit, date):
        if not kinds <= {date} or type(limit) is not date:
            return False
    elif not kinds <= {int} or type(limit) is not int:
        return False
    return min(filled) >= limit if below else max(filled) <= limit


def say_dates(say: Say, col: Column, where: tuple[str, int], rows: list[int],
              values: list[Any], month: Month | None, start: date) -> None:
    """A date column's dates outside the month, or not before the scheme starts."""
    sheet, j = where
    days = values if col.type != ColumnType.DATE_TIME else [
        v.date() if isinstance(v, datetime) else v for v in values]
    if col.within == Within.PERIOD and month is not None:
        for k in outside_month(days, month):
            say(Dates.OUTSIDE, sheet, rows[k], j, header=col.header, value=shown(values[k]),
                month=month.label())
    if col.within == Within.BEFORE_START:
        for k in from_start(days, start):
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
    say_duplicates(spec, zip(keys, columns["_row"], strict=True), positions, add)


def table(columns: dict[str, list[Any]], names: list[str]) -> Any:
    """The sheet's table: every column of Python values, as objects, in one block (the same
    table pandas makes column by column, made at once)."""
    import numpy as np
    import pandas as pd

    n = len(columns["_row"])
    block = np.empty((len(names), n), dtype=object)
    for i, name in enumerate(names):
        block[i] = np.fromiter(columns[name], dtype=object, count=n)
    heading = _HEADINGS.get(tuple(names))
    if heading is None:  # an Index cannot be changed, so every table of a sheet shares one
        heading = _HEADINGS[tuple(names)] = pd.DataFrame(columns=names, dtype=object).columns
    return pd.DataFrame(block.T, columns=heading, dtype=object, copy=False)


_HEADINGS: dict[tuple[str, ...], Any] = {}  # a sheet's column names -> the tables' Index
