"""The fast path of the checks: cells of the usual type for their column converted exactly
as cells.convert would (anything else is left to it: SLOW), and limits worked out row by row."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pbr_cli.expr import ExprError

SLOW = object()  # a cell the fast path leaves to cells.convert
ABSENT = object()  # a name with no value


def _fast_date(value: Any) -> Any:
    kind = type(value)
    if kind is datetime:
        return value.date()
    if kind is date or value is None:
        return value
    return SLOW


def _fast_integer(value: Any) -> Any:
    kind = type(value)
    if kind is int or value is None:
        return value
    if kind is float and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return SLOW


def _fast_text(value: Any) -> Any:
    if type(value) is str and value.isascii() and value.isprintable():
        text = value.strip()
        return (text or None) if " " not in text else SLOW  # a space inside: looked at
    return None if value is None else SLOW


# Cells of the usual types for their column, converted exactly as cells.convert would.
FAST = {"date": _fast_date, "integer": _fast_integer, "text": _fast_text}


class PerRow:
    """A limit worked out for each row from the row's values (None where it cannot be)."""

    def __init__(self, bound, constant: dict[str, Any], typed: dict[str, list[Any]]):
        self.bound, self.constant, self.typed = bound, constant, typed

    def __getitem__(self, k: int) -> Any:
        context = dict(self.constant)
        context.update({n: v[k] for n, v in self.typed.items()
                        if v[k] is not None and n not in context})
        if self.bound.names - set(context):
            return None
        try:
            return self.bound.evaluate(context)
        except ExprError:
            return None
