"""Service-level schemes: a measure per register entry and month, from sums and counts of
return rows over each measure's window, priced by the model's formulas.

Every entry gets its comparison line (the block contract it replaces) even when its
provider's payment is withheld; payment lines only when it is paid. Ratios stay exact
(Fraction) until each payment line is rounded half-up to the penny.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from pbr_cli.expr import ExprError
from pbr_cli.ledger.records import LineKind
from pbr_cli.model.kinds import CountMeasure
from pbr_cli.model.records import PLACEHOLDER_RE, Component, Measure, Model, period_facts
from pbr_cli.money import fraction_to_decimal, round_pence
from pbr_cli.periods import Month, Window, days_active
from pbr_cli.pricing.cadence import Cadence
from pbr_cli.pricing.earlier import EarlierPaid, for_month
from pbr_cli.pricing.kind import Entry, MonthInputs, entry_fields, formula_values
from pbr_cli.pricing.records import PAID, Evidence, Figure, PaymentLine, ProviderResult
from pbr_cli.pricing.selection import NotCounted, Rows, select
from pbr_cli.problems import ERROR, WARNING, Problem
from pbr_cli.returns.checked import CheckedReturn
from pbr_cli.returns.register import Register


class ServiceLevel:
    """The month's windows summed once; each entry priced from them."""

    def __init__(self, inputs: MonthInputs):
        self.model, self.month, self.problems = inputs.model, inputs.month, inputs.problems
        self.aggregates = Aggregates(self.model, _combine(self.model, inputs.chosen), self.month,
                                     inputs.register)
        self.rate_values: dict[str, dict[str, Fraction]] = {}
        self.service = ServiceMonth(self.model, self.month, self.aggregates, self.problems,
                                    self.rate_values, for_month(self.model, inputs.register,
                                                                self.month, inputs.earlier))
        self.inputs = inputs
        self.cadence = Cadence(self.model, self.month, inputs.chosen, self.problems)
        self.earlier: dict[Month, ServiceMonth] = {}

    def price(self, result: ProviderResult, entries: list[Entry]) -> list[Evidence]:
        for entry in entries:
            path = result.return_file or ""
            lines = entry_lines(self.service, entry, result.status == PAID, path)
            result.lines += self.cadence.lines(entry, lines, self.earlier_lines, path)
        if result.status == PAID:
            earlier_warning(self.service, result)
        return []

    def earlier_lines(self, month: Month, entry: Entry, pay: bool, path: str) -> list[PaymentLine]:
        """An earlier month's lines for the entry, worked out as that month (its own windows,
        parameters and facts) from the returns read: what a quarter's payment adds up."""
        if month not in self.earlier:
            inputs = self.inputs
            self.earlier[month] = ServiceMonth(self.model, month, Aggregates(
                self.model, self.aggregates.tables, month, inputs.register), self.cadence.said,
                None, for_month(self.model, inputs.register, month, inputs.earlier))
        return entry_lines(self.earlier[month], entry, pay, path)


def earlier_warning(service: ServiceMonth, result: ProviderResult) -> None:
    """Say on a paid provider's schedule which earlier months its formulas counted as
    nothing paid, not being approved."""
    said = service.earlier and service.earlier.warning(result.provider, result.return_file or "")
    if said:
        service.problems.append(said)


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


class Aggregates:
    """Sums and counts of return rows per register entry, over each measure's window."""

    def __init__(self, model: Model, tables: dict[str, Any], month: Month,
                 register: Register | None = None):
        self.model, self.tables, self.month = model, tables, month
        self.cache: dict[str, tuple[dict[str, Any], Window]] = {}
        self.rows = Rows(model, month, register)
        self.uncounted: dict[str, dict[str, NotCounted]] = {}  # measure -> entry -> rows

    def window(self, measure: Measure) -> Window:
        return Window.ending(self.month, measure.window_months or 1, self.model.start)

    def value(self, measure: Measure, key: str, provider: str) -> tuple[Any, Window]:
        """(value, window) for the entry: its own rows, its provider's or the scheme's (the
        measure's `over`); the value is None for a sum when no row reported the column."""
        if measure.name not in self.cache:
            self.cache[measure.name] = self._compute(measure)
        values, window = self.cache[measure.name]
        at = {"entry": key, "provider": provider, "scheme": ""}[measure.over]
        return values.get(at, measure.rule.nothing), window

    def not_counted(self, measure: Measure, key: str) -> str | None:
        """What the entry's rows the measure's condition could not be worked out for say."""
        found = self.uncounted.get(measure.name, {}).get(key)
        sheet = self.model.sheet(measure.sheet or "")
        return found.said(measure, sheet) if found is not None and sheet is not None else None

    def _compute(self, measure: Measure) -> tuple[dict[str, Any], Window]:
        window = self.window(measure)
        assert measure.sheet is not None  # (a sum or count reads a sheet)
        frame = self.tables[measure.sheet]
        sheet = self.model.sheet(measure.sheet)
        assert sheet is not None
        key_col = {"entry": sheet.entry_column.name, "provider": "_provider",
                   "scheme": "_scheme"}[measure.over]
        if measure.over == "scheme":
            frame = frame.assign(_scheme="")
        mask = frame["_month"].isin([str(m) for m in window.months()])
        mask, self.uncounted[measure.name] = select(frame, mask, measure, sheet, self.rows)
        picked = frame[mask]
        if isinstance(measure.rule, CountMeasure):
            counts = picked.groupby(key_col).size()
            return {k: int(v) for k, v in counts.items()}, window
        sums: dict[str, Any] = defaultdict(int)
        for key, value in zip(picked[key_col], picked[measure.column], strict=True):
            if value is not None:
                sums[key] += Fraction(value)
        return dict(sums), window


@dataclass(frozen=True)
class ServiceMonth:
    """A month as each register entry is priced in it: the model, the month, the sums and
    counts over its windows, where problems are said and, for a report's rates, where each
    entry's figures go (None: nowhere)."""

    model: Model
    month: Month
    aggregates: Aggregates
    problems: list[Problem]
    rate_values: dict[str, dict[str, Fraction]] | None = None
    earlier: EarlierPaid | None = None  # what was paid before, where a formula reads it


def entry_lines(service: ServiceMonth, entry: Entry, pay: bool,
                path: str) -> list[PaymentLine]:
    """A register entry's lines for the month: its payments when `pay` (its provider is
    paid), and its comparison; problems are said against the return at `path`."""
    model, month, aggregates = service.model, service.month, service.aggregates
    problems, rate_values = service.problems, service.rate_values
    reg = model.register
    key = entry[reg.key]
    env: dict[str, Any] = dict(model.values_on(month.first_day))
    env.update(formula_values(entry))
    env.update(model.by_code(env))
    env.update(period_facts(month, model.year_starts))
    funcs = {"days_active": lambda start, end: Fraction(days_active(month, start, end))}
    if service.earlier is not None:
        funcs.update(service.earlier.of(key, entry[reg.provider]).functions())
    windows: dict[str, Window] = {}
    not_reported: set[str] = set()  # sums no row reported: 0 in formulas, blank when shown
    try:
        for measure in model.measures:
            if not measure.rule.reads_rows:
                env[measure.name] = measure.expr.evaluate(env, funcs)  # type: ignore[union-attr]
            else:
                value, window = aggregates.value(measure, key, entry[reg.provider])
                env[measure.name] = Fraction(value or 0)
                windows[measure.name] = window
                if value is None:
                    not_reported.add(measure.name)
                if said := aggregates.not_counted(measure, key):
                    problems.append(Problem(path, WARNING, "rows-not-counted",
                                            f"{reg.entity} {key}: {said}", affects_payment=pay,
                                            provider=entry[reg.provider], note=said))
    except ExprError as exc:
        problems.append(Problem(path, ERROR, "calculation-failed",
                                f"{reg.entity} {key}: {exc}"))
        return []
    if pay and rate_values is not None:
        names = {n for r in model.report.rates for n in (r.numerator, r.denominator)}
        rate_values[key] = {n: Fraction(env[n]) for n in sorted(names)}
    common: dict[str, Any] = dict(entry_fields(model, entry))
    common["groups"] = tuple((g, str(entry.get(g) or "")) for g in reg.group_by)
    lines = []
    components: list[tuple[Component, LineKind]] = [
        (c, LineKind.PAYMENT) for c in model.payments
        if c.amount is not None and (pay or c.without_return)]
    if model.comparison is not None:
        components.append((model.comparison, LineKind.COMPARISON))
    for component, kind in components:
        assert component.amount is not None  # (a service-level component has a formula)
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
                said = f"{reg.entity} {key}: " + _message(rule.message, env, windows, model)
                problems.append(Problem(path, WARNING, rule.code, said,
                                        provider=entry[reg.provider], affects_payment=True,
                                        note=said))
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


def _message(template: str, env: dict[str, Any], windows: dict[str, Window],
             model: Model) -> str:
    """A warning's message with each {name} filled in as the schedule shows it: a measure
    shown as a percent as one (21/40 as 52.50%, not 0.5250)."""
    def fill(m: re.Match[str]) -> str:
        name, window = m.group(1), m.group(2)
        if window:
            return str(windows[name])
        value = env.get(name)
        measure = model.measure(name)
        if measure is not None and measure.format == "percent" and isinstance(value, Fraction):
            return f"{fraction_to_decimal(value * 100, 2)}%"
        if isinstance(value, Fraction):
            return str(value.numerator) if value.denominator == 1 else str(
                fraction_to_decimal(value, 4))
        return str(value)

    return PLACEHOLDER_RE.sub(fill, template)
