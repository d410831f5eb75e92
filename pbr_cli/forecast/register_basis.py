"""A provider with no return of its own yet, in a scheme whose rows are services (nothing of
another provider's can be drawn for it): projected from what the register knows of it, not
at nothing.

Each projected month, in each simulation, the provider is paid what the providers with a
basis are paid that month, component by component, per pound of contract value active in
the month: the register's value column (a twelfth of the annual value for each month, pro
rata by the days its contract is active), or, with no value column, per day of contract
active. So a service starting in August is paid from August, at the rate its contract's
size and the scheme's recorded performance make; each line rounded half-up to the penny.

The most the commissioner could have to pay in a projected month (`most`) is the same
value: a service-level scheme pays at most its contract value (utilisation and outcome
factors are at most 1), so the months' values are the period's ceiling.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from pbr_cli.model.records import Model
from pbr_cli.money import round_pence, to_fraction
from pbr_cli.periods import Month
from pbr_cli.returns.register import Register, entry_days


def weight(model: Model, register: Register, provider: str, month: Month,
           value_column: str | None) -> Fraction:
    """The provider's contract active in the month: its entries' value for the month (a
    twelfth of the annual value, times the days active over the month's days) or, without
    a value column, its entries' days active."""
    out = Fraction(0)
    for entry in register.provider_entries(provider):
        days = entry_days(model, entry, month)
        if not days:
            continue
        if value_column:
            value = entry.get(value_column)
            if value is not None:
                out += to_fraction(value) / 12 * Fraction(days, month.days)
        else:
            out += days
    return out


def projected_lines(model: Model, register: Register, month: Month,
                    paid: dict[tuple[str, str], Decimal], without: list[str],
                    value_column: str | None) -> dict[tuple[str, str], Decimal]:
    """The lines (provider, component) -> amount of each provider `without` a basis in
    `month`: each component at the rate, per unit of contract active, of the providers
    with one (`paid`, their lines that month)."""
    with_basis = {p for p, _ in paid if p not in without}
    units = sum((weight(model, register, p, month, value_column) for p in with_basis),
                Fraction(0))
    if not units:
        return {}
    per_component: dict[str, Fraction] = {}
    for (p, component), amount in paid.items():
        if p in with_basis:
            per_component[component] = per_component.get(component, Fraction(0)) + \
                to_fraction(amount)
    out = {}
    for provider in without:
        mine = weight(model, register, provider, month, value_column)
        if mine:
            for component, rate in per_component.items():
                out[(provider, component)] = round_pence(rate * mine / units)
    return out


def most(model: Model, register: Register, months: list[Month],
         value_column: str | None, provider: str | None = None) -> Decimal | None:
    """The sum of every provider's (or the one's) contract value over the months, each
    entry's month rounded half-up to the penny (None without a value column)."""
    if not value_column:
        return None
    total = Decimal("0.00")
    entries = register.entries if provider is None else register.provider_entries(provider)
    for entry in entries:
        value = entry.get(value_column)
        if value is None:
            continue
        for month in months:
            total += round_pence(to_fraction(value) / 12
                                 * Fraction(entry_days(model, entry, month), month.days))
    return total
