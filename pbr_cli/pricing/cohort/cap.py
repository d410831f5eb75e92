"""A cohort model's annual cap: a provider's events reduced, in date order, to what the cap
leaves of its financial year after the months paid before."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from pbr_cli.model.records import Model
from pbr_cli.money import format_money
from pbr_cli.periods import Month, Window, financial_year_start
from pbr_cli.pricing.records import PAID_EVENT as PAID
from pbr_cli.pricing.records import REFUSED, Evidence


def apply_cap(events: list[Evidence], cap: Decimal | None, paid_before: Decimal,
              year: str) -> list[Evidence]:
    """Reduce the month's events, in date order, to what the annual cap leaves."""
    if cap is None:
        return events
    left = max(cap - paid_before, Decimal("0.00"))
    out = []
    for ev in sorted(events, key=lambda v: (v.day, v.component, v.client)):
        if ev.status != PAID or ev.amount <= 0:
            out.append(ev)
        elif ev.amount <= left:
            left -= ev.amount
            out.append(ev)
        elif left > 0:
            out.append(replace(ev, amount=left, cap_reduction=ev.amount - left,
                               reason=f"reduced by the annual cap of {format_money(cap)} for "
                               f"{year}: {format_money(left)} of {format_money(ev.price)} paid"))
            left = Decimal("0.00")
        else:
            out.append(replace(ev, status=REFUSED, amount=Decimal("0.00"),
                               cap_reduction=ev.amount, reason=f"annual cap of {format_money(cap)} for {year} reached"))
    return out


def fy_months(model: Model, month: Month) -> list[Month]:
    """The months of `month`'s financial year before it, from the scheme start."""
    first = Month.of(max(financial_year_start(month.first_day, model.year_starts), model.start))
    return [m for m in Window(first, month).months() if m != month]
