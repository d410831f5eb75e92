"""What was paid before: the earlier months' payments a formula reads with `paid_before`
and `paid_before_in_year` (docs/models.md, "What was paid before").

The ledger is read elsewhere (cycle/, where it is chosen and opened) and handed to the
pricing as data, a `Paid`: the months approved, each approved run's payment lines by
register entry and component, and the adjustments carried for each approved month — by the
approved runs since, and by the draft being worked out — by provider and component (the
ledger keeps an adjustment by provider; it is counted for the provider's one entry paid the
component, `Paid.payer`). A month not approved counts as nothing paid, and the schedule says
which months those were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from functools import cached_property

from pbr_cli.expr import ExprError, earlier_reads
from pbr_cli.model.records import Model
from pbr_cli.money import format_money
from pbr_cli.periods import Month, financial_year_start
from pbr_cli.problems import WARNING, Problem
from pbr_cli.returns.register import Register, entry_active

IN_YEAR = "paid_before_in_year"


@dataclass(frozen=True)
class Paid:
    """What the ledger holds as paid for a scheme's months (or, for a model test, what the
    case says was paid)."""

    approved: frozenset[Month] = frozenset()
    # (month, entry, component) -> the approved run's payment line
    lines: dict[tuple[Month, str, str], Decimal] = field(default_factory=dict)
    # (month, provider, component) -> adjustments carried for the month, added up
    adjusted: dict[tuple[Month, str, str], Decimal] = field(default_factory=dict)
    where: str = "the ledger"  # what it was read from, as the schedule says it

    def with_adjustments(self, found: list[tuple[Month, str, str, Decimal]]) -> Paid:
        """This, and the adjustments a draft carries (month, provider, component,
        difference): what will have been paid once it is approved."""
        adjusted = dict(self.adjusted)
        for month, provider, component, difference in found:
            key = (month, provider, component)
            adjusted[key] = adjusted.get(key, Decimal("0.00")) + difference
        return replace(self, adjusted=adjusted)

    @cached_property
    def paid_entries(self) -> dict[str, set[str]]:
        """component -> the register entries with an approved line of it not £0."""
        out: dict[str, set[str]] = {}
        for (_, entry, component), amount in self.lines.items():
            if amount != 0:
                out.setdefault(component, set()).add(entry)
        return out

    def payer(self, component: str, entries: list[str]) -> list[str]:
        """Which of a provider's entries (those active in an adjusted month) an adjustment
        of the component is counted for: the one entry, else those ever paid the component
        (one, or the adjustment cannot be placed)."""
        if len(entries) == 1:
            return entries
        return [e for e in entries if e in self.paid_entries.get(component, set())]

    def digest(self) -> list:
        """Its content, as a cache key's part."""
        return [sorted(str(m) for m in self.approved),
                sorted([str(m), e, c, str(a)] for (m, e, c), a in self.lines.items()),
                sorted([str(m), p, c, str(a)] for (m, p, c), a in self.adjusted.items())]


def reads_earlier(model: Model) -> dict[str, set[str]]:
    """Which of the functions a model's formulas call, each with the components it reads
    ({} when none does: its months need nothing from the ledger)."""
    exprs = [m.expr for m in model.measures] + [c.amount for c in model.payments]
    exprs += [model.comparison.amount] if model.comparison is not None else []
    exprs += [w.when for w in model.warnings]
    out: dict[str, set[str]] = {}
    for e in exprs:
        if e is not None:
            for function, component in earlier_reads(e):
                out.setdefault(function, set()).add(component)
    return out


def months_read(model: Model, month: Month, function: str) -> list[Month]:
    """The months a function reads for `month`: from the scheme's first month (or the
    contract year's, for `paid_before_in_year`) up to the month before it."""
    first = Month.of(model.start)
    if function == IN_YEAR:
        first = max(first, Month.of(financial_year_start(month.first_day, model.year_starts)))
    out, at = [], first
    while at < month:
        out.append(at)
        at = at.plus(1)
    return out


def not_approved(model: Model, month: Month, paid: Paid) -> list[Month]:
    """The earlier months a formula reads that are not approved (counted as nothing paid)."""
    reads = reads_earlier(model)
    months = sorted({m for function in reads for m in months_read(model, month, function)})
    return [m for m in months if m not in paid.approved]


# (provider, month) -> the provider's register entries active in the month
EntriesOf = Callable[[str, Month], list[str]]


def entries_in(model: Model, register: Register) -> EntriesOf:
    """Which of a provider's register entries were active in a month."""
    def entries_of(provider: str, month: Month) -> list[str]:
        return [str(e[model.register.key]) for e in register.provider_entries(provider)
                if entry_active(model, e, month)]
    return entries_of


@dataclass(frozen=True)
class EarlierPaid:
    """What a month's formulas read of earlier payments: what was paid, whose entries were
    active when, and the earlier months read that are not approved."""

    model: Model
    month: Month
    paid: Paid
    entries_of: EntriesOf
    missing: tuple[Month, ...]
    # the providers whose formulas read what was paid before this month (a formula whose
    # branch reading it was not taken, IF(month_of_year == 12, ...), reads nothing)
    read_by: set[str] = field(default_factory=set)

    def of(self, entry: str, provider: str) -> EntryPaid:
        return EntryPaid(self.model, self.month, self.paid, entry, provider, self.entries_of,
                         self.read_by)

    def warning(self, provider: str, path: str) -> Problem | None:
        """What the provider's schedule says of the earlier months counted as nothing paid
        (None when every month read is approved)."""
        if not self.missing or provider not in self.read_by:
            return None
        names = ", ".join(str(m) for m in self.missing[:6]) + (
            ", ..." if len(self.missing) > 6 else "")
        said = (f"what was paid before {self.month} is read from {self.paid.where}: "
                f"{len(self.missing)} earlier month(s) not approved there ({names}) count as "
                "nothing paid")
        return Problem(path, WARNING, "earlier-month-not-approved", f"provider {provider}: "
                       f"{said}", provider=provider, affects_payment=True,
                       note=f"earlier months not approved, counted as nothing paid: {names}")


def for_month(model: Model, register: Register, month: Month,
              paid: Paid | None) -> EarlierPaid | None:
    """What the month's formulas read of earlier payments (None: none reads any). Without a
    ledger, no month is approved."""
    if not reads_earlier(model):
        return None
    paid = paid if paid is not None else Paid(where="no ledger")
    return EarlierPaid(model, month, paid, entries_in(model, register),
                       tuple(not_approved(model, month, paid)))


@dataclass(frozen=True)
class EntryPaid:
    """The two functions a register entry's formulas call in one month."""

    model: Model
    month: Month
    paid: Paid
    entry: str
    provider: str
    entries_of: EntriesOf
    read_by: set[str]

    def functions(self) -> dict[str, Callable[..., Fraction]]:
        return {"paid_before": lambda *c: self.total("paid_before", c),
                IN_YEAR: lambda *c: self.total(IN_YEAR, c)}

    def total(self, function: str, components: tuple[str, ...]) -> Fraction:
        """Paid for the entry, for the components, in the approved months the function
        reads: each month's approved lines, and the adjustments carried for it where this
        is the provider's entry they are counted for (`Paid.payer`)."""
        self.read_by.add(self.provider)
        total = Decimal("0.00")
        for m in months_read(self.model, self.month, function):
            if m not in self.paid.approved:
                continue
            for c in components:
                total += self.paid.lines.get((m, self.entry, c), Decimal("0.00"))
                adjusted = self.paid.adjusted.get((m, self.provider, c))
                if adjusted is None or adjusted == 0:
                    continue
                entries = self.entries_of(self.provider, m)
                payers = self.paid.payer(c, entries)
                if len(payers) != 1:
                    raise ExprError(self._unplaced(function, c, m, adjusted, payers))
                if payers == [self.entry]:
                    total += adjusted
        return Fraction(total)

    def _unplaced(self, function: str, component: str, month: Month, adjusted: Decimal,
                  payers: list[str]) -> str:
        """Why an adjustment kept for the provider cannot be counted for one entry."""
        which = (f"{len(payers)} of its entries in {month} were paid {component} "
                 f"({', '.join(sorted(payers))})" if payers else
                 f"none of its entries in {month} was ever paid {component}")
        return (f"{format_money(adjusted)} of {component} for {month} is known from "
                f"{self.paid.where} for {self.provider} as a whole (an adjustment is kept by "
                f"provider) and {which}: which entry it adjusts is not known, so "
                f"{function}() cannot be worked out for {self.entry}; it needs one entry of "
                f"{self.provider} paid {component} (the others' lines £0), or adjustments "
                "kept by register entry")
