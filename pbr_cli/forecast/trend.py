"""A trend in a provider's new people (presentations, attachments) over the months drawn from,
followed into the months to come, damped.

A projected month's return is drawn from the provider's recorded months, so its new people
are, on average, the mean of those months: a caseload rising 4% a month is projected at the
level of six months ago, and the forecast falls short more every month ahead. So each
provider's count of new people in each month it may be drawn from is fitted with a straight
line (least squares, the month as x). Where the slope is clear — at least MIN_MONTHS months,
and the slope at least T times its standard error — the trend is followed: the level `h`
months after the latest drawn month is the line's value there plus the slope damped by PHI
a month (slope x (PHI + PHI^2 + ... + PHI^h): a trend is not assumed to run on for ever, and
never adds more than four months' slope), and each projected month's new people are the
month drawn's times that level over the drawn months' mean (never below a fifth of it, nor
above five times). Where the slope is not clear, nothing changes. A step (volumes halved at
once) fits a line too, and is followed as one: its range is widened (ranges.py) as well.

Nothing here draws or prices anything: the pipelines make the new people (copies_each).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from pbr_cli.periods import month_number
from pbr_cli.returns.checked import CheckedReturn

MIN_MONTHS = 6
T = 2.0  # the slope's t statistic at least this: a clear trend
PHI = 0.8  # the damping a month
LOWEST, HIGHEST = 0.2, 5.0  # the level against the mean, at most this far either way


@dataclass(frozen=True)
class Trend:
    """A provider's new people a month: the line's value at the latest month drawn (`last`,
    a month number), its slope a month, and the drawn months' mean."""

    last: int
    level: float
    slope: float
    mean: float
    months: int  # the months fitted

    def factor(self, month: int) -> float:
        """The new people of the month numbered `month` against the drawn months' mean."""
        h = max(0, month - self.last)
        ahead = self.level + self.slope * sum(PHI ** k for k in range(1, h + 1))
        return min(HIGHEST, max(LOWEST, ahead / self.mean))

    def change(self, month: int, volume: float = 0.0) -> float:
        """The change in new people (copies_each: +0.1 is 10% more) for the month, with a
        what-if's `volume` on top."""
        return self.factor(month) * (1 + volume) - 1

    def monthly(self) -> float:
        """The slope against the mean: +0.04 is 4% of a month's mean more each month."""
        return self.slope / self.mean


def fitted(counts: dict[int, int]) -> Trend | None:
    """The trend of `counts` (month number -> new people), or None where it is not clear."""
    n = len(counts)
    if n < MIN_MONTHS:
        return None
    xs = sorted(counts)
    ys = [float(counts[x]) for x in xs]
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if my <= 0 or sxx <= 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    residual = sum((y - my - slope * (x - mx)) ** 2 for x, y in zip(xs, ys, strict=True))
    error = math.sqrt(residual / (n - 2) / sxx)
    if slope == 0 or (error > 0 and abs(slope) < T * error):
        return None
    return Trend(xs[-1], my + slope * (xs[-1] - mx), slope, my, n)


def trends(draws: dict[str, list[CheckedReturn]],
           count: Callable[[CheckedReturn], int]) -> dict[str, Trend]:
    """Each provider's clear trend in the new people (`count`) of the returns it may be drawn
    from (providers without one: none)."""
    out = {}
    for provider, returns in draws.items():
        found = fitted({month_number(r.month): count(r) for r in returns
                        if r.month is not None})
        if found is not None:
            out[provider] = found
    return out
