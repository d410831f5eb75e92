"""Model + register + checked returns for a month -> the schedule's records.

The calculation core: no Excel, no Typer, no rich. `calculate` chooses the returns to use
(returns/versions.py), runs the one provider loop — each provider with a register entry
active in the month, its standing (paid or withheld), then its kind's pricing — and gathers
the schedule. A kind of scheme is one module implementing `kind.Kind`, named in KINDS.
Ratios stay exact (Fraction) until each payment line is rounded half-up to the penny; totals
are sums of rounded lines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from pbr_cli.ledger.records import InputRole
from pbr_cli.model.records import Model
from pbr_cli.periods import Month, Window
from pbr_cli.pricing.cadence import earliest
from pbr_cli.pricing.earlier import Paid
from pbr_cli.pricing.kind import Kind, MonthInputs, SchemeKind
from pbr_cli.pricing.records import (  # noqa: F401  (the schedule's records, re-exported)
    PAID,
    WITHHELD,
    Evidence,
    Figure,
    InputFile,
    PaymentLine,
    ProviderResult,
    Schedule,
    Standing,
    provider_status,
)
from pbr_cli.problems import ERROR, WARNING, Problem
from pbr_cli.returns.checked import CheckedReturn
from pbr_cli.returns.cohort_records import declares_opening
from pbr_cli.returns.register import Register, entry_active
from pbr_cli.returns.versions import latest_version, version_problems

# The kinds of scheme, by Model.kind: the one place a kind is named. Each entry names the
# kind's part for every concern that differs by kind; a part's module is imported only when
# a model of its kind is used.
KINDS: dict[str, SchemeKind] = {
    "service-level": SchemeKind(
        "service-level", clients=False,
        pricing="pbr_cli.pricing.service:ServiceLevel",
        reporting="pbr_cli.reporting.kinds.service:REPORTING",
        forecast="pbr_cli.forecast.kinds.service:FORECAST",
        outputs="pbr_cli.outputs.kinds.service:OUTPUTS"),
    "cohort": SchemeKind(
        "cohort", clients=True,
        pricing="pbr_cli.pricing.cohort:CohortPricing",
        reporting="pbr_cli.reporting.kinds.cohort:REPORTING",
        forecast="pbr_cli.forecast.kinds.cohort:FORECAST",
        outputs="pbr_cli.outputs.kinds.cohort:OUTPUTS"),
    "participants": SchemeKind(
        "participants", clients=True,
        pricing="pbr_cli.pricing.participants:ParticipantPricing",
        reporting="pbr_cli.reporting.kinds.participants:REPORTING",
        forecast="pbr_cli.forecast.kinds.participants:FORECAST",
        outputs="pbr_cli.outputs.kinds.participants:OUTPUTS"),
}


def kind_of(model: Model) -> SchemeKind:
    """The model's kind of scheme, from the table of kinds."""
    return KINDS[model.kind]


def history_months(model: Model, month: Month) -> list[Month]:
    """The months whose returns a calculation for `month` reads: its longest window, or for
    a cohort model every month since the scheme start (episodes can be years long)."""
    if kind_of(model).clients:
        start = Month.of(model.start)
        return Window(start, month).months()
    longest = max([m.window_months or 1 for m in model.measures] + [1])
    first = earliest(model, month)  # a quarter's or year's first month it pays (cadence.py)
    back = (month.year - first.year) * 12 + month.month - first.month
    return Window.ending(month, longest + back, model.start).months()


def calculate(model: Model, register: Register, month: Month,
              returns: list[CheckedReturn], extra_problems: list[Problem] | None = None,
              earlier: Paid | None = None, records_once: bool = False) -> Schedule:
    """The month's schedule from the returns given; `earlier` is what was paid for the
    months before it, where a formula reads it (docs/models.md, "What was paid before").
    With `records_once`, the returns' client-level records are let go once the history has
    them (kind.MonthInputs)."""
    problems: list[Problem] = list(extra_problems or [])
    months = history_months(model, month)
    replaced: list[tuple[str, Month, str]] = []
    chosen = _choose_returns(model, register, month, months, returns, problems, replaced)
    for r in returns:  # a return that does not say whose it is, or for which month, is not
        if r.provider is None or r.month is None:  # used: its own errors say why
            problems.extend(p for p in r.problems if p.is_error)
    later = _later_returns(model, month, returns)
    all_inputs = [InputFile(InputRole.MODEL, str(model.path), model.sha256),
                  InputFile(InputRole.REGISTER, str(register.path), register.sha256)]
    used = {id(r) for r in [*chosen.values(), *later.values()]}
    for r in sorted(returns, key=lambda r: (str(r.month), r.provider or "", r.path)):
        all_inputs.append(InputFile(InputRole.RETURN, r.path, r.sha256, r.provider or "",
                                    str(r.month or ""), id(r) in used))
    price: Callable[[MonthInputs], Kind] = kind_of(model).part("pricing")
    kind = price(MonthInputs(model, register, month, chosen, problems, later, earlier,
                              records_once))
    results: list[ProviderResult] = []
    evidence: list[Evidence] = []
    for provider in register.providers():
        entries = [e for e in register.provider_entries(provider)
                   if entry_active(model, e, month)]
        if not entries:
            continue
        result = provider_status(model, register, provider, month,
                                 chosen.get((provider, month)), problems)
        evidence += kind.price(result, entries)
        results.append(result)
    return Schedule(model, month, results, problems, all_inputs, months, evidence,
                    rate_values=kind.rate_values, replaced=replaced)


def _later_returns(model: Model, month: Month, returns: list[CheckedReturn],
                   ) -> dict[tuple[str, Month], CheckedReturn]:
    """Returns of months after `month` among those given that declare the time before the
    scheme (a cohort's opening caseload): the one used for each provider and month, if it
    has no errors of its own."""
    by_key: dict[tuple[str, Month], list[CheckedReturn]] = defaultdict(list)
    for r in returns:
        if r.provider and r.month is not None and r.month > month:
            by_key[(r.provider, r.month)].append(r)
    out = {}
    for key, found in sorted(by_key.items()):
        best, _, clash = latest_version(found)
        if not clash and declares_opening(model, best):
            out[key] = best
    return out


def _choose_returns(model: Model, register: Register, month: Month, months: list[Month],
                    returns: list[CheckedReturn], problems: list[Problem],
                    replaced: list[tuple[str, Month, str]],
                    ) -> dict[tuple[str, Month], CheckedReturn]:
    clients = kind_of(model).clients
    by_key: dict[tuple[str, Month], list[CheckedReturn]] = defaultdict(list)
    for r in returns:
        if r.provider and r.month in months:
            by_key[(r.provider, r.month)].append(r)
    chosen: dict[tuple[str, Month], CheckedReturn] = {}
    for key, found in sorted(by_key.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        provider, when = key
        best, superseded, clash = latest_version(found)
        for old in superseded:
            replaced.append((provider, when, old.path))
            problems.append(Problem(old.path, WARNING, "resubmitted", f"provider {provider}: "
                                    f"{best.path} replaces this {when} return"))
        if clash:
            same = [best, *clash]
            names = ", ".join(r.path for r in same)
            problems.append(Problem(best.path, ERROR, "duplicate-return",
                                    f"provider {provider} has {len(same)} returns for {when} "
                                    f"({names}); keep one, or name the corrected one -v2"))
            for r, problem in version_problems(provider, when, best, [], clash):
                r.problems.append(problem)
        if when != month and (best.errors or clash):
            problems.append(Problem(best.path, WARNING, "history-return-excluded",
                                    f"provider {provider}: the {when} return has errors; its rows "
                                    "are left out of " + ("the episodes" if clients
                                                          else "rolling windows")))
            continue
        chosen[key] = best
    for provider in register.providers():
        for when in months:
            if when == month or (provider, when) in by_key:
                continue
            if any(entry_active(model, e, when) for e in register.provider_entries(provider)):
                assumed = ("assumed no presentations, discharges or reviews that month"
                           if clients
                           else "the rolling window counts nothing for that month")
                if when < month and earliest(model, month) <= when:  # (cadence.py)
                    assumed = ("it adds nothing to the quarter's or year's payment (nor to "
                               "a rolling window) until it comes")
                problems.append(Problem("", WARNING, "no-return",
                                        f"provider {provider}: no return for {when}; {assumed}"))
    return chosen


