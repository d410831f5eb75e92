"""How far the months to come may differ from the expected figure: the simulations' own
spread, widened where the recorded months varied more than the simulations do.

The simulations draw from the months recorded, so their spread says only how much those
months differ as drawn; a trend, a step or noise that the draws do not reproduce leaves the
range too narrow (the backtest found the actual inside the stated 80% range half the time or
less). So each range is widened, where narrower, to the spread the recorded months
themselves show: the mean change from one recorded month to the next (of the provider, or of
the scheme for its total), grown with the square root of the months ahead, times the factor
that makes a mean absolute change a central interval of the stated level (1.60 for 80%). A
provider with fewer than three recorded months has no spread of its own: its range is
widened by the scheme's relative change, half as much again (a thin basis). Nothing here
prices or draws anything.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from statistics import NormalDist

from pbr_cli.money import round_pence
from pbr_cli.periods import Month

THIN = 3  # fewer recorded months than this: a thin basis
THIN_FACTOR = 1.5  # a thin basis's range, widened by the scheme's relative change, times this


def factor(level: int) -> float:
    """The half-width of a central `level`% interval, in mean absolute deviations of a
    normal distribution (80%: 1.2816 / 0.7979 = 1.606)."""
    z = NormalDist().inv_cdf(0.5 + level / 200)
    return z / math.sqrt(2 / math.pi)


def mean_change(series: list[Decimal]) -> float | None:
    """The mean absolute change from one month to the next (None with fewer than THIN)."""
    if len(series) < THIN:
        return None
    return sum(abs(float(b - a)) for a, b in zip(series, series[1:], strict=False)) / (
        len(series) - 1)


def widened(low: Decimal, high: Decimal, expected: Decimal, half: float) -> tuple[Decimal,
                                                                                 Decimal]:
    """The range, widened to at least `expected` ± `half` (never below £0)."""
    width = round_pence(Fraction(str(round(half, 2))))
    return (min(low, max(Decimal("0.00"), expected - width)), max(high, expected + width))


def spreads(history: dict[str, list[Decimal]], total: str, expected_month: dict[str, Decimal],
            level: int) -> dict[str, float]:
    """Each provider's (and the scheme's, `total`) half-width for one month ahead: the
    factor times its mean change, or, with a thin basis, the scheme's relative change times
    its expected month, half as much again."""
    f = factor(level)
    scheme = mean_change(history.get(total, []))
    mean_total = (sum(float(v) for v in history.get(total, [])) / len(history[total])
                  if history.get(total) else 0.0)
    relative = scheme / mean_total if scheme is not None and mean_total else 0.25
    out = {}
    for provider, expected in expected_month.items():
        own = mean_change(history.get(provider, []))
        out[provider] = f * (own if own is not None
                             else THIN_FACTOR * relative * float(expected))
    return out


def widen(month_range: dict[tuple[str, Month], tuple[Decimal, Decimal]],
          total_range: dict[str, tuple[Decimal, Decimal]],
          lines: dict[tuple[str, Month, str], Decimal], history: dict[str, list[Decimal]],
          projected: list[Month], level: int) -> None:
    """Each projected month's range (of a provider, of the scheme: "") widened to its spread
    times the square root of the months ahead, and each period total's to the spread times
    the square root of the sum of the months ahead over the months it is paid in."""
    expected: dict[tuple[str, Month], Decimal] = {}
    for (provider, month, _), amount in lines.items():
        if month in projected:
            for who in {provider, ""}:
                expected[(who, month)] = expected.get((who, month), Decimal("0.00")) + amount
    paid = {key: v for key, v in expected.items() if v > 0}
    per_month: dict[str, list[Decimal]] = {}
    for (provider, _), v in paid.items():
        per_month.setdefault(provider, []).append(v)
    half = spreads(history, "", {p: sum(v, Decimal(0)) / len(v) for p, v in per_month.items()},
                   level)
    steps: dict[str, float] = {}
    for (provider, month), value in paid.items():
        h = projected.index(month) + 1
        steps[provider] = steps.get(provider, 0.0) + h
        low, high = month_range.get((provider, month), (value, value))
        month_range[(provider, month)] = widened(low, high, value, half[provider] * math.sqrt(h))
    for provider, total in steps.items():
        if provider in total_range:
            low, high = total_range[provider]
            middle = sum((a for (p, m, _), a in lines.items() if p == provider or provider == ""),
                         Decimal("0.00"))
            total_range[provider] = widened(low, high, middle,
                                            half[provider] * math.sqrt(total))
