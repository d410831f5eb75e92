"""Moving a recorded return to a month to come: what every kind of scheme's projection
shares (dates moved by whole months, a row made more or less often), and what a scenario
changes in the projected returns."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pbr_cli.model.records import Model
from pbr_cli.periods import Month, add_months


@dataclass(frozen=True)
class Volume:
    """What a scenario changes in the projected returns (scenario.py parses it)."""

    new_people: float = 0.0  # presentations or attachments: +0.10 is 10% more
    outcome_points: dict[str, float] = field(default_factory=dict)  # cohort outcome -> +points
    results: dict[str, float] = field(default_factory=dict)  # participants result -> +share


def shift_day(day: date, months: int) -> date:
    return add_months(day, months)


def months_between(a: Month, b: Month) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def scaled(n: int, change: float, rng: random.Random) -> int:
    """How many copies of one row a change of `change` (e.g. +0.1) makes: 1 plus or minus a
    draw, so that on average there are 1 + change."""
    whole = int(change) if change >= 0 else 0
    rest = change - whole
    copies = n + whole
    if rest > 0 and rng.random() < rest:
        copies += 1
    if change < 0 and rng.random() < -change:
        copies -= 1
    return max(0, copies)


def copies_each(n: int, change: float, rng: random.Random) -> list[int]:
    """How many copies each of `n` rows of a month (new clients, new participants) makes
    under a change of `change` (+0.5: half as many again): the month's total is n x (1 +
    change), its fraction of a row made whole at random (so that on average it is exact),
    and which rows gain or lose a copy is drawn at random. 10 rows at +50% are 15, always;
    7 rows at +50% are 10 or 11, as likely."""
    if not change or not n:
        return [1] * n
    whole = int(change) if change >= 0 else 0
    rest = n * (change - whole) if change > 0 else n * -change
    k = int(rest) + (1 if rng.random() < rest - int(rest) else 0)
    chosen = set(rng.sample(range(n), min(k, n)))
    if change > 0:
        return [1 + whole + (i in chosen) for i in range(n)]
    return [0 if i in chosen else 1 for i in range(n)]


def dates_moved(model: Model, sheet: str, frame: Any, shift: int) -> Any:
    """A copy of a return's table with every date column moved by `shift` months."""
    spec = model.sheet(sheet)
    frame = frame.copy()
    if spec is None:
        return frame
    for column in spec.columns:
        if column.type == "date" and column.name in frame.columns:
            frame[column.name] = [shift_day(v, shift) if isinstance(v, date) else v
                                  for v in frame[column.name].tolist()]
    return frame
