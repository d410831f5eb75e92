"""Model + register + checked returns for a month -> payment lines, evidence and problems.

The calculation core: no Excel, no Typer, no rich. Ratios stay exact (Fraction) until each
payment line is rounded half-up to the penny; totals are sums of rounded lines.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from pbr_cli.collect import latest_version
from pbr_cli.expr import ExprError
from pbr_cli.model.loader import PLACEHOLDER_RE
from pbr_cli.model.records import Component, Measure, Model
from pbr_cli.money import fraction_to_decimal, round_pence
from pbr_cli.periods import Month, Window, days_active
from pbr_cli.problems import ERROR, WARNING, Problem
from pbr_cli.register import Register, entry_active, provider_name
from pbr_cli.returns.checks import CheckedReturn

PAID, WITHHELD = "paid", "withheld"


@dataclass(frozen=True)
class Figure:
    """One intermediate figure shown beside an amount."""

    name: str
    label: str
    value: Any
    format: str
    window: Window | None = None


@dataclass(frozen=True)
class PaymentLine:
    provider: str
    entry: str
    entry_label: str
    groups: tuple[tuple[str, str], ...]  # (column, code) the register breaks totals down by
    component: str
    component_label: str
    kind: str  # payment | comparison
    amount: Decimal
    unrounded: Fraction
    figures: tuple[Figure, ...]


@dataclass(frozen=True)
class InputFile:
    role: str  # model | register | return
    path: str
    sha256: str
    provider: str = ""
    month: str = ""
    used: bool = True


@dataclass
class ProviderResult:
    provider: str
    name: str
    status: str
    reason: str
    return_file: str | None
    lines: list[PaymentLine] = field(default_factory=list)

    def total(self, kind: str = "payment") -> Decimal:
        return sum((ln.amount for ln in self.lines if ln.kind == kind), Decimal("0.00"))

    def component_total(self, name: str) -> Decimal:
        return sum((ln.amount for ln in self.lines if ln.kind == "payment"
                    and ln.component == name), Decimal("0.00"))

    @property
    def variance(self) -> Decimal:
        return self.total("payment") - self.total("comparison")


@dataclass(frozen=True)
class Standing:
    """Where a schedule stands in the payment cycle, as every output says it."""

    state: str  # DRAFT | APPROVED | SUPERSEDED | WHAT-IF | DRY RUN | NOT RECORDED
    run: int | None = None
    approved_by: str = ""
    approved_at: str = ""
    how: str = ""  # approved | automatic

    def describe(self) -> str:
        if self.state == "APPROVED":
            who = ("approved automatically (the scheme's setting)" if self.how == "automatic"
                   else f"approved by {self.approved_by}")
            return f"APPROVED — ledger run {self.run}, {who} at {self.approved_at}"
        if self.state == "DRAFT":
            return (f"DRAFT — ledger run {self.run}: not approved for payment (approve it with "
                    "`pbr approve`)")
        if self.state == "SUPERSEDED":
            return (f"SUPERSEDED DRAFT — ledger run {self.run}, replaced by a later calculation: "
                    "not for payment")
        if self.state == "WHAT-IF":
            return "WHAT-IF — not recorded in the ledger, not for payment"
        if self.state == "DRY RUN":
            return "DRY RUN — not recorded in the ledger, not for payment"
        return "NOT RECORDED — not in any ledger, not for payment"


@dataclass
class Schedule:
    model: Model
    month: Month
    providers: list[ProviderResult]
    problems: list[Problem]
    inputs: list[InputFile]
    history: list[Month]
    evidence: list[Any] = field(default_factory=list)  # cohort models: cohort.Evidence events
    adjustments: list[Any] = field(default_factory=list)  # ledger.Adjustment, earlier months
    # For reports: per register entry, the figures the model's report rates add up (exact).
    rate_values: dict[str, dict[str, Fraction]] = field(default_factory=dict)
    standing: Standing | None = None  # set once the ledger has placed it in the cycle

    def payment_notes(self, provider: str) -> list[str]:
        """What changed or stopped this provider's payment (caps, factors of 0, withheld)."""
        out: list[str] = []
        for p in self.problems:
            if p.affects_payment and p.provider == provider:
                note = p.message.removeprefix(f"provider {provider}: ")
                if note not in out:
                    out.append(note)
        return out

    def adjustment_total(self, provider: str | None = None) -> Decimal:
        return sum((a.difference for a in self.adjustments
                    if provider is None or a.provider == provider), Decimal("0.00"))

    def due(self, provider: str | None = None) -> Decimal:
        """This month's entitlement plus prior-period adjustments."""
        own = (self.total() if provider is None
               else next((p.total() for p in self.providers if p.provider == provider),
                         Decimal("0.00")))
        return own + self.adjustment_total(provider)

    @property
    def lines(self) -> list[PaymentLine]:
        return [ln for p in self.providers for ln in p.lines]

    def total(self, kind: str = "payment") -> Decimal:
        return sum((p.total(kind) for p in self.providers), Decimal("0.00"))

    @property
    def withheld(self) -> list[ProviderResult]:
        return [p for p in self.providers if p.status == WITHHELD]


def history_months(model: Model, month: Month) -> list[Month]:
    """The months whose returns a calculation for `month` reads: its longest window, or for
    a cohort model every month since the scheme start (episodes can be years long)."""
    if model.client_level:
        start = Month.of(model.start)
        return Window.ending(month, (month.year - start.year) * 12 + month.month - start.month + 1,
                             model.start).months()
    longest = max([m.window_months or 1 for m in model.measures] + [1])
    return Window.ending(month, longest, model.start).months()


def calculate(model: Model, register: Register, month: Month,
              returns: list[CheckedReturn], extra_problems: list[Problem] | None = None,
              inputs: list[InputFile] | None = None) -> Schedule:
    problems: list[Problem] = list(extra_problems or [])
    months = history_months(model, month)
    chosen = _choose_returns(model, register, month, months, returns, problems)
    all_inputs = [InputFile("model", str(model.path), model.sha256),
                  InputFile("register", str(register.path), register.sha256)]
    used = {id(r) for r in chosen.values()}
    for r in sorted(returns, key=lambda r: (str(r.month), r.provider or "", r.path)):
        all_inputs.append(InputFile("return", r.path, r.sha256, r.provider or "",
                                    str(r.month or ""), id(r) in used))
    all_inputs += inputs or []
    if model.cohort is not None:
        from pbr_cli.cohort_schedule import calculate_cohort

        results, evidence = calculate_cohort(model, register, month, chosen, problems)
        return Schedule(model, month, results, problems, all_inputs, months, evidence)
    if model.participants is not None:
        from pbr_cli.participants import calculate_participants

        results, evidence = calculate_participants(model, register, month, chosen, problems)
        return Schedule(model, month, results, problems, all_inputs, months, evidence)
    tables = _combine(model, chosen)
    aggregates = _Aggregates(model, tables, month)
    results = []
    rate_values: dict[str, dict[str, Fraction]] = {}
    for provider in register.providers():
        entries = [e for e in register.provider_entries(provider)
                   if entry_active(model, e, month)]
        if not entries:
            continue
        current = chosen.get((provider, month))
        result = provider_status(model, register, provider, month, current, problems)
        status = result.status
        for entry in entries:
            result.lines += _entry_lines(model, entry, month, aggregates, status == PAID,
                                         problems, current.path if current else "", rate_values)
        results.append(result)
    return Schedule(model, month, results, problems, all_inputs, months,
                    rate_values=rate_values)


def provider_status(model: Model, register: Register, provider: str, month: Month,
                    current: CheckedReturn | None, problems: list[Problem]) -> ProviderResult:
    """Paid, or withheld because the month's return is missing or has errors (said in
    `problems`, with the return's own problems, which explain it)."""
    status, reason = PAID, ""
    if current is None:
        status, reason = WITHHELD, f"no return received for {month}"
        problems.append(Problem("", ERROR, "no-return",
                                f"provider {provider}: {reason}; nothing is paid",
                                provider=provider, affects_payment=True))
    elif current.errors:
        status = WITHHELD
        reason = f"the return has {len(current.errors)} error(s)"
        problems.append(Problem(current.path, ERROR, "return-has-errors",
                                f"provider {provider}: {reason}; nothing is paid until "
                                "a corrected return is received", provider=provider,
                                affects_payment=True))
    if current is not None:
        problems.extend(current.problems)  # the month's own return: why it was (not) paid
    return ProviderResult(provider, provider_name(model, register, provider), status,
                          reason, current.path if current else None)


def _choose_returns(model: Model, register: Register, month: Month, months: list[Month],
                    returns: list[CheckedReturn], problems: list[Problem]):
    by_key: dict[tuple[str, Month], list[CheckedReturn]] = defaultdict(list)
    for r in returns:
        if r.provider and r.month in months:
            by_key[(r.provider, r.month)].append(r)
    chosen: dict[tuple[str, Month], CheckedReturn] = {}
    for key, found in sorted(by_key.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        provider, when = key
        best, replaced, clash = latest_version(found)
        for old in replaced:
            problems.append(Problem(old.path, WARNING, "resubmitted", f"provider {provider}: "
                                    f"{best.path} replaces this {when} return"))
        if clash:
            same = [best, *clash]
            names = ", ".join(r.path for r in same)
            problems.append(Problem(best.path, ERROR, "duplicate-return",
                                    f"provider {provider} has {len(same)} returns for {when} "
                                    f"({names}); keep one, or name the corrected one -v2"))
            for r in same:
                r.problems.append(Problem(r.path, ERROR, "duplicate-return",
                                          f"another return for {provider} {when} exists"))
        if when != month and (best.errors or clash):
            problems.append(Problem(best.path, WARNING, "history-return-excluded",
                                    f"provider {provider}: the {when} return has errors; its rows "
                                    "are left out of " + ("the episodes" if model.client_level
                                                          else "rolling windows")))
            continue
        chosen[key] = best
    for provider in register.providers():
        for when in months:
            if when == month or (provider, when) in by_key:
                continue
            if any(entry_active(model, e, when) for e in register.provider_entries(provider)):
                assumed = ("assumed no presentations, discharges or reviews that month"
                           if model.client_level
                           else "the rolling window counts nothing for that month")
                problems.append(Problem("", WARNING, "no-return",
                                        f"provider {provider}: no return for {when}; {assumed}"))
    return chosen


def _combine(model: Model, chosen: dict[tuple[str, Month], CheckedReturn]) -> dict[str, Any]:
    import pandas as pd

    tables: dict[str, Any] = {}
    for sheet in model.sheets:
        parts = []
        for (provider, when), r in chosen.items():
            if r.errors:
                continue  # the current month's faulty return: withheld, never counted
            frame = r.tables[sheet.name].copy()
            frame["_month"] = str(when)
            frame["_provider"] = provider
            parts.append(frame)
        columns = [c.name for c in sheet.read_columns] + ["_row", "_month", "_provider"]
        tables[sheet.name] = (pd.concat(parts, ignore_index=True) if parts
                              else pd.DataFrame(columns=columns, dtype=object))
    return tables


class _Aggregates:
    """Sums and counts of return rows per register entry, over each measure's window."""

    def __init__(self, model: Model, tables: dict[str, Any], month: Month):
        self.model, self.tables, self.month = model, tables, month
        self.cache: dict[str, tuple[dict[str, Any], Window]] = {}

    def window(self, measure: Measure) -> Window:
        return Window.ending(self.month, measure.window_months or 1, self.model.start)

    def value(self, measure: Measure, key: str) -> tuple[Any, Window]:
        """(value, window); the value is None for a sum when no row reported the column."""
        if measure.name not in self.cache:
            self.cache[measure.name] = self._compute(measure)
        values, window = self.cache[measure.name]
        return values.get(key, 0 if measure.kind == "count" else None), window

    def _compute(self, measure: Measure) -> tuple[dict[str, Any], Window]:
        window = self.window(measure)
        frame = self.tables[measure.sheet]
        sheet = self.model.sheet(measure.sheet)
        assert sheet is not None
        key_col = sheet.register_column.name
        mask = frame["_month"].isin([str(m) for m in window.months()])
        for column, values in measure.where:
            mask &= frame[column].isin(list(values))
        picked = frame[mask]
        if measure.kind == "count":
            counts = picked.groupby(key_col).size()
            return {k: int(v) for k, v in counts.items()}, window
        sums: dict[str, Any] = defaultdict(int)
        for key, value in zip(picked[key_col], picked[measure.column], strict=True):
            if value is not None:
                sums[key] += Fraction(value)
        return dict(sums), window


def _entry_lines(model: Model, entry: dict[str, Any], month: Month, aggregates: _Aggregates,
                 pay: bool, problems: list[Problem], path: str,
                 rate_values: dict[str, dict[str, Fraction]] | None = None) -> list[PaymentLine]:
    reg = model.register
    key = entry[reg.key]
    env: dict[str, Any] = {n: p.value for n, p in model.parameters.items()}
    env.update({k: (Fraction(v) if isinstance(v, (int, Decimal)) and not isinstance(v, bool)
                    else v) for k, v in entry.items()})
    env["days_in_month"] = Fraction(month.days)
    funcs = {"days_active": lambda start, end: Fraction(days_active(month, start, end))}
    windows: dict[str, Window] = {}
    not_reported: set[str] = set()  # sums no row reported: 0 in formulas, blank when shown
    try:
        for measure in model.measures:
            if measure.kind == "expr":
                env[measure.name] = measure.expr.evaluate(env, funcs)  # type: ignore[union-attr]
            else:
                value, window = aggregates.value(measure, key)
                env[measure.name] = Fraction(value or 0)
                windows[measure.name] = window
                if value is None:
                    not_reported.add(measure.name)
    except ExprError as exc:
        problems.append(Problem(path, ERROR, "calculation-failed",
                                f"{reg.entity} {key}: {exc}"))
        return []
    if pay and rate_values is not None:
        names = {n for r in model.report.rates for n in (r.numerator, r.denominator)}
        rate_values[key] = {n: Fraction(env[n]) for n in sorted(names)}
    common = dict(provider=entry[reg.provider], entry=key,
                  entry_label=str(entry.get(reg.label) or "") if reg.label else "",
                  groups=tuple((g, str(entry.get(g) or "")) for g in reg.group_by))
    lines = []
    components: list[tuple[Component, str]] = [(c, "payment") for c in model.payments] if pay else []
    if model.comparison is not None:
        components.append((model.comparison, "comparison"))
    for component, kind in components:
        try:
            exact = Fraction(component.amount.evaluate(env, funcs))
        except ExprError as exc:
            problems.append(Problem(path, ERROR, "calculation-failed",
                                    f"{reg.entity} {key}, {component.label}: {exc}"))
            continue
        figures = tuple(_figure(model, name, env, windows, not_reported)
                        for name in component.shows)
        lines.append(PaymentLine(component=component.name, component_label=component.label,
                                 kind=kind, amount=round_pence(exact), unrounded=exact,
                                 figures=figures, **common))
    if pay:
        for rule in model.warnings:
            try:
                fire = rule.when.evaluate(env, funcs)
            except ExprError:
                fire = False
            if fire:
                problems.append(Problem(path, WARNING, rule.code, f"{reg.entity} {key}: "
                                        + _message(rule.message, env, windows),
                                        provider=entry[reg.provider], affects_payment=True))
    return lines


def _figure(model: Model, name: str, env: dict[str, Any], windows: dict[str, Window],
            not_reported: set[str]) -> Figure:
    measure = model.measure(name)
    column = model.register.column(name)
    if measure is not None:
        value = None if name in not_reported else env[name]
        return Figure(name, measure.label, value, measure.format, windows.get(name))
    label = column.header if column else name
    fmt = "integer" if column is not None and column.type == "integer" else "number"
    return Figure(name, label, env[name], fmt)


def _message(template: str, env: dict[str, Any], windows: dict[str, Window]) -> str:
    def fill(m) -> str:
        name, window = m.group(1), m.group(2)
        if window:
            return str(windows[name])
        value = env.get(name)
        if isinstance(value, Fraction):
            return str(value.numerator) if value.denominator == 1 else str(
                fraction_to_decimal(value, 4))
        return str(value)

    return PLACEHOLDER_RE.sub(fill, template)
