"""What a publication counts, and how a pair of counts becomes two month figures."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from pbr_cli.errors import PbrError

# A pair of counts (events and those paid; a rate's denominator and numerator) is published
# as two month figures: OF_WHICH (those paid, the numerator) and REST (the others), each
# rounded; the first count is their sum. So the second never exceeds the first, and a share
# is never over 100%.
OF_WHICH, REST = "of_which", "rest"
BOTH = (OF_WHICH, REST)


@dataclass(frozen=True)
class Item:
    """What a pair of counts is of: a payment component (events, and those paid) or a rate
    of the model's report (its denominator, and its numerator)."""

    key: str
    label: str
    first: str  # where the counts come from: line figures, or the rate's measures
    second: str
    first_label: str
    second_label: str


def rest(first: int, second: int, what: str) -> int:
    if second > first:
        raise PbrError(f"{what}: {second} of {first}? A publication needs the second count to "
                       "be part of the first", code="not-publishable")
    return first - second


def count(value: Any) -> int:
    if value is None:
        return 0
    f = Fraction(value)
    if f.denominator != 1 or f < 0:
        raise PbrError(f"a published count must be a whole number, not {value}",
                       code="not-publishable")
    return int(f)
