"""Payment cadence: a service-level component paid quarterly or annually (`paid:`).

Quarters and years follow the scheme's contract year (`scheme.year_starts`, April when not
given). In a month that does not pay it, the component is worked out as in any month and its
line is shown as accrued ("accrued: paid with 2014-06"), never in a total. The month that
pays it (the quarter's or year's last, or the entry's last under the contract or the scheme,
if sooner) pays the sum of each month's own amount, each rounded half-up to the penny as its
accrued line was: every earlier month worked out again, from the returns as they stand now,
as that month would be — a month whose provider is still withheld (its return missing or
faulty) adds nothing, and adds its amount through a prior-period adjustment of the paying
month once it is mended (docs/models.md, "Paid quarterly or annually").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

from pbr_cli.ledger.records import LineKind
from pbr_cli.model.records import Component, Model
from pbr_cli.periods import Month, financial_year_start
from pbr_cli.pricing.kind import Entry
from pbr_cli.pricing.records import Accrual, PaymentLine
from pbr_cli.problems import Problem
from pbr_cli.returns.checked import CheckedReturn
from pbr_cli.returns.register import entry_active

MONTHS = {"quarterly": 3, "annually": 12}  # the months one payment covers, by `paid`

# An earlier month's lines for an entry: (month, entry, provider paid that month, return)
EarlierLines = Callable[[Month, Entry, bool, str], list[PaymentLine]]


def _index(month: Month) -> int:
    return month.year * 12 + month.month - 1


def period_first(model: Model, paid: str, month: Month) -> Month:
    """The first month of the quarter or contract year `month` is in."""
    start = Month.of(financial_year_start(month.first_day, model.year_starts))
    size = MONTHS[paid]
    return start.plus((_index(month) - _index(start)) // size * size)


def earliest(model: Model, month: Month) -> Month:
    """The first month whose amount `month` may pay (itself when nothing is paid later)."""
    return min([period_first(model, c.paid, month) for c in model.payments
                if c.paid in MONTHS and c.amount is not None], default=month)


def paying_month(model: Model, entry: Entry, paid: str, month: Month) -> Month:
    """The month that pays the entry's quarter or year: its last month, or the last the
    entry's contract (or the scheme) is active in, if sooner."""
    last = period_first(model, paid, month).plus(MONTHS[paid] - 1)
    pays = month
    while pays < last and model.covers(pays.plus(1)) and entry_active(model, entry,
                                                                        pays.plus(1)):
        pays = pays.plus(1)
    return pays


class Cadence:
    """Each line of a component paid quarterly or annually made accrued, or, in the month
    that pays it, the sum of its months."""

    def __init__(self, model: Model, month: Month,
                 chosen: dict[tuple[str, Month], CheckedReturn], problems: list[Problem]):
        self.model, self.month, self.chosen, self.problems = model, month, chosen, problems
        self.said: list[Problem] = []  # what working out earlier months again said

    def lines(self, entry: Entry, lines: list[PaymentLine], earlier: EarlierLines,
              path: str) -> list[PaymentLine]:
        out = []
        for line in lines:
            component = next((c for c in self.model.payments if c.name == line.component), None)
            if line.kind != LineKind.PAYMENT or component is None or component.paid not in MONTHS:
                out.append(line)
                continue
            pays = paying_month(self.model, entry, component.paid, self.month)
            if pays != self.month:
                out.append(replace(line, kind=LineKind.ACCRUED, paid_with=pays))
                continue
            first = period_first(self.model, component.paid, self.month)
            months = [first.plus(i) for i in range(_index(self.month) - _index(first))]
            accrued = [self._accrual(entry, component, m, earlier, path) for m in months
                       if self.model.covers(m) and entry_active(self.model, entry, m)]
            accrued.append(Accrual(self.month, line.amount))
            total = sum((a.amount for a in accrued), Decimal("0.00"))
            out.append(replace(line, amount=total, unrounded=Fraction(total),
                               accrued=tuple(accrued)))
        return out

    def _accrual(self, entry: Entry, component: Component, month: Month,
                 earlier: EarlierLines, path: str) -> Accrual:
        provider = str(entry[self.model.register.provider])
        used = self.chosen.get((provider, month))  # (an earlier faulty return is not chosen)
        paid = used is not None and not used.errors
        why = "" if paid else "withheld"  # (its return missing or faulty)
        if why and not component.without_return:
            return Accrual(month, Decimal("0.00"), why)
        before = len(self.said)
        found = [ln for ln in earlier(month, entry, paid, path)
                 if ln.component == component.name and ln.kind == LineKind.PAYMENT]
        for problem in self.said[before:]:
            if problem.is_error:
                self.problems.append(replace(problem, message=f"{month}, accrued for "
                                             f"{self.month}: {problem.message}"))
        if not found:
            return Accrual(month, Decimal("0.00"), "not worked out")
        return Accrual(month, found[0].amount)
