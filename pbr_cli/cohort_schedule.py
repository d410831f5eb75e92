"""A cohort model's month: episodes from the chosen returns -> provider results and evidence.

The engine calls this for models with a `cohort`; it shares the engine's records
(ProviderResult, PaymentLine, Figure) so schedules, JSON and the console treat both kinds of
model alike. One payment line per provider x group x component (the tariff and each outcome);
its amount is the sum of its events after the annual cap.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from typing import Any

from pbr_cli.cohort import PAID, CohortMonth, Evidence, apply_cap, build_history, fy_months
from pbr_cli.model.records import Model
from pbr_cli.money import format_money, round_pence, to_fraction
from pbr_cli.payment_records import PAID as STATUS_PAID
from pbr_cli.payment_records import Figure, PaymentLine, ProviderResult, provider_status
from pbr_cli.periods import Month
from pbr_cli.periods import financial_year_label as fy_label
from pbr_cli.problems import WARNING, Problem
from pbr_cli.register import Register, entry_active
from pbr_cli.returns.checks import CheckedReturn


def calculate_cohort(model: Model, register: Register, month: Month,
                     chosen: dict[tuple[str, Month], CheckedReturn],
                     problems: list[Problem]) -> tuple[list[ProviderResult], list[Evidence]]:
    cohort = model.cohort
    assert cohort is not None
    # A return with errors of its own is withheld and its rows are not counted.
    usable = {key: r for key, r in chosen.items() if not r.errors}
    covered: dict[str, set[Month]] = defaultdict(set)
    for provider, when in usable:
        covered[provider].add(when)
    history = build_history(model, usable.values(), covered)
    by_file = {r.path: r for r in usable.values()}
    current_files = {r.path for (_, when), r in chosen.items() if when == month}
    for problem in history.problems:
        by_file[problem.file].problems.append(problem)
        if problem.file not in current_files:
            problems.append(problem)  # an earlier month's: shown, the row treated as said
    calc = CohortMonth(model, history)
    results: list[ProviderResult] = []
    evidence: list[Evidence] = []
    for provider in register.providers():
        entries = [e for e in register.provider_entries(provider) if entry_active(model, e, month)]
        if not entries:
            continue
        entry = entries[0]
        result = provider_status(model, register, provider, month, chosen.get((provider, month)),
                                 problems)
        results.append(result)
        if result.status != STATUS_PAID:
            continue
        cap = entry.get(cohort.cap) if cohort.cap else None
        cap = round_pence(to_fraction(cap)) if cap is not None else None
        year = fy_label(month)
        paid_before = Decimal("0.00")
        for earlier in fy_months(model, month) if cap is not None else []:
            r = usable.get((provider, earlier))
            if r is None or r.errors:
                continue  # withheld that month: nothing was paid
            events, _ = calc.events(provider, earlier)
            paid_before += sum((e.amount for e in apply_cap(events, cap, paid_before, year)),
                               Decimal("0.00"))
        events, figures = calc.events(provider, month)
        events = apply_cap(events, cap, paid_before, year)
        if any(e.cap_reduction for e in events):
            problems.append(Problem("", WARNING, "cap-reached", f"provider {provider}: the annual "
                                    f"cap of {format_money(cap)} for {year} is reached "
                                    f"({format_money(paid_before)} paid earlier in the year); "
                                    "the events beyond it are reduced (see Evidence)",
                                    provider=provider, affects_payment=True))
        result.lines = _lines(model, entry, register, events, figures)
        order = {c.name: i for i, c in enumerate(model.payments)}
        evidence += sorted(events, key=lambda e: (order[e.component], calc.group_order(e.group),
                                                  e.day, e.client, e.source.cell))
    return results, evidence


def _lines(model: Model, entry: dict[str, Any], register: Register, events: list[Evidence],
           figures: dict[tuple[str, str], dict[str, Any]]) -> list[PaymentLine]:
    cohort = model.cohort
    assert cohort is not None
    reg = model.register
    order = {c.name: i for i, c in enumerate(model.payments)}
    codes = list(model.codes[cohort.group_codes].values) if cohort.group_codes in model.codes else []
    lines = []
    for (component, group), fig in sorted(
            figures.items(), key=lambda kv: (order[kv[0][0]], codes.index(kv[0][1])
                                             if kv[0][1] in codes else len(codes), kv[0][1])):
        spec = model.payments[order[component]]
        mine = [e for e in events if e.component == component and e.group == group]
        amount = sum((e.amount for e in mine), Decimal("0.00"))
        paid = [e for e in mine if e.status == PAID and e.amount > 0]
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
            provider=entry[reg.provider], entry=entry[reg.key],
            entry_label=str(entry.get(reg.label) or "") if reg.label else "",
            groups=((cohort.group, group),), component=component,
            component_label=spec.label, kind="payment", amount=amount,
            unrounded=Fraction(amount), figures=tuple(shown)))
    return lines
