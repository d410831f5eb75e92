"""The most the commissioner could have to pay over a forecast's period, beside the expected
figure: what the recorded months paid, plus what the register and the model allow in the
months to come. No range's top goes above it (ranges.clip).

- A scheme whose register holds each contract's value, paid by service (service-level): a
  service is paid at most its contract's value (its factors are at most 1), so the months to
  come add every contract's value for them (register_basis.most), and each provider's month
  is at most its contracts' value that month.
- A cohort scheme whose register holds each provider's annual cap: each provider at most its
  cap in each financial year the months to come fall in, less what that year's recorded
  months paid it (and any one month of the year at most that). A provider without a cap
  leaves no ceiling.
- Otherwise (a maximum per participant bounds each participant, not how many there are):
  none, and the words say why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from pbr_cli.forecast.register_basis import most
from pbr_cli.model.records import Model
from pbr_cli.money import round_pence, to_fraction
from pbr_cli.periods import Month, financial_year_label
from pbr_cli.returns.register import Register, entry_active

ZERO = Decimal("0.00")
SCHEME = ""  # the scheme's own key among providers (forecast.TOTAL)


@dataclass(frozen=True)
class Ceiling:
    """The most that could be paid: over the period (None: nothing bounds it) and how it is
    worked out; each provider's (and the scheme's, SCHEME) period and projected months where
    a ceiling is known."""

    total: Decimal | None
    how: str
    period: dict[str, Decimal] = field(default_factory=dict)
    months: dict[tuple[str, Month], Decimal] = field(default_factory=dict)


def most_payable(model: Model, register: Register, paid: dict[tuple[str, Month], Decimal],
                 months: tuple[list[Month], list[Month]],
                 value_column: str | None) -> tuple[Decimal | None, str]:
    """(the most, how it is worked out) from each provider's recorded months as paid
    (`paid`: (provider, month) -> amount) and the (recorded, projected) months."""
    c = ceiling(model, register, paid, months, value_column)
    return c.total, c.how


def ceiling(model: Model, register: Register, paid: dict[tuple[str, Month], Decimal],
            months: tuple[list[Month], list[Month]], value_column: str | None) -> Ceiling:
    """The most that could be paid, over the period and by provider and month (most_payable)."""
    actual, projected = months
    recorded = sum((v for (_, m), v in paid.items() if m in actual), ZERO)
    if not projected:
        return Ceiling(recorded, "every month is recorded")
    if model.kind == "service-level" and value_column:
        return _by_value(model, register, paid, months, value_column)
    cap_column = model.cohort.cap if model.cohort is not None else None
    if not cap_column:
        return Ceiling(None, "none stated: nothing in the register bounds the total (a maximum "
                       "per participant bounds each participant, not how many there are)")
    years = sorted({financial_year_label(m, model.year_starts) for m in projected})
    total = recorded
    out = Ceiling(ZERO, "")
    for provider in register.providers():
        entries = register.provider_entries(provider)
        mine = sum((v for (p, m), v in paid.items() if p == provider and m in actual), ZERO)
        if not any(entry_active(model, e, m) for m in projected for e in entries):
            out.period[provider] = mine
            continue
        caps = [e.get(cap_column) for e in entries if e.get(cap_column) is not None]
        if not caps:
            return Ceiling(None, f"none stated: {provider} has no annual cap ({cap_column})")
        cap = round_pence(to_fraction(caps[0]))
        for year in years:
            so_far = sum((v for (p, m), v in paid.items() if p == provider and m in actual
                          and financial_year_label(m, model.year_starts) == year), ZERO)
            left = max(ZERO, cap - so_far)
            total += left
            mine += left
            for m in projected:
                if financial_year_label(m, model.year_starts) == year:
                    out.months[(provider, m)] = left
        out.period[provider] = mine
    _scheme_months(out, projected)
    out.period[SCHEME] = total
    return Ceiling(total, (f"the recorded months, plus each provider's annual cap "
                           f"({cap_column}) less what its year's recorded months paid, for "
                           "each financial year of the months to come"),
                   out.period, out.months)


def _by_value(model: Model, register: Register, paid: dict[tuple[str, Month], Decimal],
              months: tuple[list[Month], list[Month]], value_column: str) -> Ceiling:
    actual, projected = months
    recorded = sum((v for (_, m), v in paid.items() if m in actual), ZERO)
    for entry in register.entries:
        if entry.get(value_column) is None and any(entry_active(model, entry, m)
                                                   for m in projected):
            who = entry[register.provider]
            return Ceiling(None, f"none stated: {who} has a contract with no value "
                           f"({value_column})")
    to_come = most(model, register, projected, value_column)
    assert to_come is not None
    out = Ceiling(recorded + to_come, (
        f"the recorded months, plus every contract's value ({value_column}, a twelfth a "
        "month, pro rata by days) for the months to come: a service is paid at most "
        "its contract's value"))
    for provider in register.providers():
        mine = sum((v for (p, m), v in paid.items() if p == provider and m in actual), ZERO)
        for m in projected:
            value = most(model, register, [m], value_column, provider) or ZERO
            out.months[(provider, m)] = value
            mine += value
        out.period[provider] = mine
    _scheme_months(out, projected)
    out.period[SCHEME] = recorded + to_come
    return out


def _scheme_months(out: Ceiling, projected: list[Month]) -> None:
    """The scheme's month: at most the sum of its providers' (each provider has one)."""
    for m in projected:
        out.months[(SCHEME, m)] = sum((v for (p, n), v in out.months.items()
                                       if n == m and p != SCHEME), ZERO)
