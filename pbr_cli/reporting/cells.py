"""The cells of a period report's tables: figures by reference into one store, rates as
exact ratios, and the tables every output (workbook, console, JSON, CSV) renders."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from pbr_cli.money import format_percent

ALL = "*"  # summed over this dimension
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Ratio:
    """A rate shown as a percentage: numerator / denominator, exact."""

    numerator: Fraction
    denominator: Fraction
    counts: bool = False  # numerator and denominator count people or their outcomes

    @property
    def value(self) -> Fraction | None:
        return self.numerator / self.denominator if self.denominator else None

    def __str__(self) -> str:
        return "" if self.value is None else format_percent(self.value)


class Quantity(StrEnum):
    """What a cell of the figure store shows: money, or a count of cohort events."""

    PAYMENT = "payment"
    COMPARISON = "comparison"
    VARIANCE = "variance"  # payment - comparison
    EVENTS = "events"
    PAID = "paid"
    CAPPED = "capped"


class ColumnKind(StrEnum):
    """What a report table's column holds, which decides how every output shows it."""

    TEXT = "text"
    MONEY = "money"
    COUNT = "count"
    INTEGER = "integer"
    PERCENT = "percent"
    RATIO = "ratio"


@dataclass(frozen=True)
class Ref:
    """A cell showing one figure of the report's figure store (money or a count)."""

    measure: Quantity
    key: tuple[str, ...]  # (provider, month, component, *groups), ALL for summed over


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: ColumnKind


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    total: list[Any] | None = None
    note: str = ""


@dataclass
class Fact:
    payment: Decimal = ZERO
    comparison: Decimal = ZERO
    events: int | None = None  # cohort models: outcome events and tariffs considered
    paid: int | None = None  # cohort models: those paid something
    capped: Decimal = ZERO  # cohort models: what the annual cap took off


def _add(a: int | None, b: int | None) -> int | None:
    return b if a is None else (a if b is None else a + b)


class Figures:
    """Money and counts by (provider, month, component, *groups), summed over any of them."""

    def __init__(self, dims: list[str]):
        self.dims = dims
        self.slices: dict[tuple[str, ...], Fact] = defaultdict(Fact)
        self.values: dict[str, set[str]] = {d: set() for d in dims}

    def add(self, key: tuple[str, ...], payment: Decimal, comparison: Decimal,
            events: int | None, paid: int | None, capped: Decimal = ZERO) -> None:
        for d, v in zip(self.dims, key, strict=True):
            self.values[d].add(v)
        for mask in itertools.product((False, True), repeat=len(key)):
            general = tuple(ALL if m else v for m, v in zip(mask, key, strict=True))
            f = self.slices[general]
            f.payment += payment
            f.comparison += comparison
            f.events = _add(f.events, events)
            f.paid = _add(f.paid, paid)
            f.capped += capped

    def get(self, ref: Ref) -> Any:
        f = self.slices.get(ref.key, Fact())
        if ref.measure == Quantity.VARIANCE:
            return f.payment - f.comparison
        return getattr(f, ref.measure)
