"""How far the months to come may differ from the expected figure: calibrated from the
forecast's own past errors.

The simulations draw from the months recorded, so their spread says only how much those
months differ as drawn; a trend, a step or noise the draws do not reproduce leaves it too
narrow. So each projected month's range is the expected figure scaled by the quantiles of
the relative errors (actual / expected - 1) that forecasts of the same kind of scheme made
that many months ahead on the backtest's histories (calibration.py, written by
benchmarks/forecast_backtest.py --calibrate): the scheme's total by the totals' errors, a
provider's by the providers'. A range is never narrower than the simulations' own.

Where the method cannot know, the range widens, and the assumptions say so:

- a provider with fewer than THIN recorded months (a thin basis): THIN_FACTOR times;
- a provider with no return of its own, projected from other providers' months or the
  register: NO_BASIS_FACTOR times;
- (a month a cap or maximum cuts in at least half the simulations keeps the simulations'
  range: the cap sets it);
- a step (the latest three recorded months' mean over the three before, by more than STEP
  either way): STEP_FACTOR times, since the months drawn mix before and after it.

No range's top is above the most that could be paid (ceiling.py: a provider's or the
scheme's month, or its period), unless the expected figure itself is (a component rounded
on its own can pass a ceiling rounded once by a penny): the top is then the expected figure.

A range never narrows further ahead: each side is the widest of the calibrated points up to
that many months ahead (the points are measured, so noisy; what is unknown one month ahead is
still unknown six months ahead), and always holds the expected figure. Beyond the calibrated
months ahead the last one's sides grow with the square root of the months ahead.

A period's range is its recorded months plus the sum of its projected months' low and high
sides (their errors move together: a level missed one month is missed the next).
Nothing here prices or draws anything.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from pbr_cli.forecast.calibration import QUANTILES
from pbr_cli.money import round_pence
from pbr_cli.periods import Month

THIN = 3  # fewer recorded months than this: a thin basis
THIN_FACTOR = 1.5
NO_BASIS_FACTOR = 2.0
STEP = 0.3  # the latest three months' mean against the three before: a step beyond ±30%
STEP_FACTOR = 1.5
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Basis:
    """What each range rests on: the kind of scheme (its calibration), each provider's
    (and the scheme's, "") recorded months, oldest first, and who has no return of its own."""

    kind: str
    history: dict[str, list[Decimal]]
    without: frozenset[str] = field(default_factory=frozenset)
    # (provider, month) a cap or maximum cut in at least half the simulations: the cap, not
    # the draws, sets the month, so its range is the simulations' own
    capped: frozenset[tuple[str, Month]] = field(default_factory=frozenset)

    def thin(self, who: str) -> bool:
        return who != "" and who not in self.without and len(self.history.get(who, [])) < THIN

    def step(self, who: str) -> bool:
        return stepped(self.history.get(who, []))

    def factor(self, who: str) -> float:
        f = NO_BASIS_FACTOR if who in self.without else THIN_FACTOR if self.thin(who) else 1.0
        return f * (STEP_FACTOR if self.step(who) else 1.0)


def stepped(series: list[Decimal]) -> bool:
    """Whether the latest three months' mean differs from the three before's by more than
    STEP (a step, or a steep trend)."""
    if len(series) < 6:
        return False
    before = sum(series[-6:-3], ZERO) / 3
    after = sum(series[-3:], ZERO) / 3
    if before <= 0:
        return after > 0
    return abs(float(after / before) - 1) > STEP


def quantile(points: list[tuple[float, float]], p: float) -> float:
    """The relative error at probability `p` (0-1), between the calibrated points."""
    for (p0, q0), (p1, q1) in zip(points, points[1:], strict=False):
        if p0 <= p <= p1:
            return q0 + (q1 - q0) * (p - p0) / (p1 - p0) if p1 > p0 else q0
    return points[0][1] if p < points[0][0] else points[-1][1]


def relative_band(kind: str, level_of: str, ahead: int, level: int) -> tuple[float, float]:
    """The relative errors bounding the middle `level`% at `ahead` months ahead, for the
    scheme's total (`level_of` "total") or a provider's ("provider")."""
    table = QUANTILES.get(kind, {}).get(level_of, {})
    if not table:
        return (-0.25 * math.sqrt(ahead), 0.25 * math.sqrt(ahead))  # no calibration: ±25%/√h
    last = max(table)
    grow = math.sqrt(ahead / last) if ahead > last else 1.0
    # never narrower than a nearer month's: what is unknown a month ahead is still unknown
    # further on (the calibrated points are noisy, not a reason for a range to shrink)
    nearer = [h for h in table if h <= ahead] or [min(table)]
    low = min(quantile(table[h], (100 - level) / 200) for h in nearer)
    high = max(quantile(table[h], (100 + level) / 200) for h in nearer)
    return (min(0.0, low) * grow, max(0.0, high) * grow)


def _scaled(value: Decimal, relative: float) -> Decimal:
    return round_pence(Fraction(value) * (1 + Fraction(str(round(relative, 6)))))


def calibrate(month_range: dict[tuple[str, Month], tuple[Decimal, Decimal]],
              total_range: dict[str, tuple[Decimal, Decimal]],
              lines: dict[tuple[str, Month, str], Decimal], basis: Basis,
              projected: list[Month], level: int) -> None:
    """Each projected month's range (of a provider, of the scheme: "") set to its expected
    figure scaled by the calibrated relative errors (widened where the basis is thin, missing
    or stepped), never narrower than the simulations'; each period total's to its recorded
    months plus its projected months' sides."""
    expected: dict[tuple[str, Month], Decimal] = {}
    for (provider, month, _), amount in lines.items():
        if month in projected:
            for who in {provider, ""}:
                expected[(who, month)] = expected.get((who, month), ZERO) + amount
    below: dict[str, Decimal] = {}
    above: dict[str, Decimal] = {}
    for (who, month), value in expected.items():
        if (who, month) not in month_range or (who, month) in basis.capped or (
                who == "" and all((p, m) in basis.capped for (p, m), v in expected.items()
                                  if m == month and p and v)):
            continue
        low, high = relative_band(basis.kind, "total" if who == "" else "provider",
                                  projected.index(month) + 1, level)
        f = basis.factor(who)
        sim_low, sim_high = month_range[(who, month)]
        lo = min(sim_low, max(ZERO, _scaled(value, low * f)))
        hi = max(sim_high, _scaled(value, high * f))
        month_range[(who, month)] = (lo, hi)
        below[who] = below.get(who, ZERO) + (value - lo)
        above[who] = above.get(who, ZERO) + (hi - value)
    for who in below:
        if who in total_range:
            middle = sum((a for (p, _, _), a in lines.items() if p == who or who == ""), ZERO)
            sim_low, sim_high = total_range[who]
            total_range[who] = (min(sim_low, max(ZERO, middle - below[who])),
                                max(sim_high, middle + above[who]))


def clip(month_range: dict[tuple[str, Month], tuple[Decimal, Decimal]],
         total_range: dict[str, tuple[Decimal, Decimal]],
         expected: Callable[[str, Month | None], Decimal],
         ceiling: tuple[dict[tuple[str, Month], Decimal], dict[str, Decimal]]) -> None:
    """Each range's top brought down to the most that could be paid, where one is known
    (`ceiling`: (provider or "", month) -> the month's most, provider or "" -> the period's),
    never below the expected figure (`expected(who, month)`; month None: the period)."""
    months, period = ceiling
    for key, (lo, hi) in month_range.items():
        top = months.get(key)
        if top is not None and hi > top:
            hi = max(top, expected(*key))
            month_range[key] = (min(lo, hi), hi)
    for who, (lo, hi) in total_range.items():
        top = period.get(who)
        if top is not None and hi > top:
            hi = max(top, expected(who, None))
            total_range[who] = (min(lo, hi), hi)
