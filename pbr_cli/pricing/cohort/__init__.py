"""Cohort schemes (client-level episodes, rolling proportions, bands, tariff, annual cap):
the kind's pricing of one provider's month.

The history of every episode is built once per calculation (history.py), priced per month by
CohortMonth (month.py) and reduced to the annual cap (cap.py). One payment line per provider
x group x component (the tariff and each outcome); its amount is the sum of its events after
the cap.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from typing import Any

from pbr_cli.ledger.records import LineKind
from pbr_cli.model.records import Model
from pbr_cli.money import format_money, round_pence, to_fraction
from pbr_cli.periods import Month
from pbr_cli.periods import financial_year_label as fy_label
from pbr_cli.pricing.cohort.cap import apply_cap, fy_months
from pbr_cli.pricing.cohort.history import build_history
from pbr_cli.pricing.cohort.month import CohortMonth
from pbr_cli.pricing.kind import Entry, MonthInputs, entry_fields
from pbr_cli.pricing.records import PAID, PAID_EVENT, Evidence, Figure, PaymentLine, ProviderResult
from pbr_cli.problems import WARNING, Problem


class CohortPricing:
    def __init__(self, inputs: MonthInputs):
        self.model, self.register, self.month = inputs.model, inputs.register, inputs.month
        self.problems = inputs.problems
        self.rate_values: dict[str, dict[str, Fraction]] = {}
        assert self.model.cohort is not None
        self.cohort = self.model.cohort
        # A return with errors of its own is withheld and its rows are not counted.
        self.usable = usable = inputs.usable
        covered: dict[str, set[Month]] = defaultdict(set)
        for provider, when in usable:
            covered[provider].add(when)
        history = build_history(self.model, usable.values(), covered,
                                later=inputs.later.values(), records_once=inputs.records_once)
        by_file = {r.path: r for r in usable.values()}
        current_files = {r.path for (_, when), r in inputs.chosen.items() if when == self.month}
        for problem in history.problems:
            if problem.file not in by_file:
                continue  # a later month's own: said when that month is worked out
            by_file[problem.file].problems.append(problem)
            if problem.file not in current_files:
                self.problems.append(problem)  # an earlier month's: shown, the row treated as said
        self.calc = CohortMonth(self.model, history)

    def price(self, result: ProviderResult, entries: list[Entry]) -> list[Evidence]:
        if result.status != PAID:
            return []
        model, month, provider, entry = self.model, self.month, result.provider, entries[0]
        cap = entry.get(self.cohort.cap) if self.cohort.cap else None
        cap = round_pence(to_fraction(cap)) if cap is not None else None
        year = fy_label(month, model.year_starts)
        paid_before = Decimal("0.00")
        for earlier in fy_months(model, month) if cap is not None else []:
            r = self.usable.get((provider, earlier))
            if r is None:
                continue  # withheld that month: nothing was paid
            events, _ = self.calc.events(provider, earlier)
            paid_before += sum((e.amount for e in apply_cap(events, cap, paid_before, year)),
                               Decimal("0.00"))
        events, figures = self.calc.events(provider, month)
        self.calc.done_with(provider)  # each provider is priced once
        events = apply_cap(events, cap, paid_before, year)
        if any(e.cap_reduction for e in events):
            self.problems.append(Problem.on_payment(
                "", WARNING, "cap-reached", provider, f"the annual cap of {format_money(cap)} "
                f"for {year} is reached ({format_money(paid_before)} paid earlier in the "
                "year); the events beyond it are reduced (see Evidence)"))
        result.lines = _lines(model, entry, events, figures)
        order = {c.name: i for i, c in enumerate(model.payments)}
        return sorted(events, key=lambda e: (order[e.component], self.calc.group_order(e.group),
                                             e.day, e.client, e.source.cell))


def _lines(model: Model, entry: Entry, events: list[Evidence],
           figures: dict[tuple[str, str], dict[str, Any]]) -> list[PaymentLine]:
    cohort = model.cohort
    assert cohort is not None
    order = {c.name: i for i, c in enumerate(model.payments)}
    codes = list(model.codes[cohort.group_codes].values) if cohort.group_codes in model.codes else []
    lines = []
    for (component, group), fig in sorted(
            figures.items(), key=lambda kv: (order[kv[0][0]], codes.index(kv[0][1])
                                             if kv[0][1] in codes else len(codes), kv[0][1])):
        spec = model.payments[order[component]]
        mine = [e for e in events if e.component == component and e.group == group]
        amount = sum((e.amount for e in mine), Decimal("0.00"))
        paid = [e for e in mine if e.status == PAID_EVENT and e.amount > 0]
        reduced = sum((e.cap_reduction for e in mine), Decimal("0.00"))
        window = fig.get("window")
        shown = [
            Figure("numerator", "Achieved in window", fig.get("numerator"), "integer", window),
            Figure("denominator", "Cohort in window", fig.get("denominator"), "integer", window),
            Figure("proportion", "Proportion", fig.get("proportion"), "percent", window),
            Figure("band", "Band", fig.get("band", "tariff"), "text"),
            Figure("price", "Price", fig["price"], "money"),
            Figure("events", "Events in month", fig["events"] if spec.reported_only
                   else len(mine), "integer"),
            Figure("events_paid", "Events paid", len(paid), "integer"),
            Figure("cap_reduction", "Reduced by cap", reduced, "money"),
        ]
        lines.append(PaymentLine(
            **entry_fields(model, entry), groups=((cohort.group, group),), component=component,
            component_label=spec.label, kind=LineKind.PAYMENT, amount=amount,
            unrounded=Fraction(amount), figures=tuple(shown), counted=fig.get("counted", ())))
    return lines
