"""A period report: a scheme's monthly schedules added up over a period, as plain tables.

The core of `pbr report`: no Excel, no rich. It takes the months of a period worked out as
`pbr calculate` would work them out now (worth.PeriodSchedules), and the ledger when there is
one, and returns a Report: tables of cells that every output (workbook, console, JSON, CSV)
renders. It is never for publication: a publication is made from the same months by
pbr_cli.reporting.publication, which shows only rounded counts.

`build_report` is a pipeline of steps, each a function of what the steps before it returned:
the figures of every line → the return statuses → the flags → the tables → the ledger's
record. Money figures are sums of schedule lines (Decimal, already rounded to the penny);
rates are exact fractions until they are shown.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pbr_cli.ledger.records import LineKind
from pbr_cli.ledger.store import Ledger
from pbr_cli.model.records import Model
from pbr_cli.money import format_money
from pbr_cli.periods import Month, Period
from pbr_cli.pricing.records import Schedule
from pbr_cli.pricing.worth import Excluded, PeriodSchedules
from pbr_cli.reporting import tables as money_tables
from pbr_cli.reporting.cells import ZERO, Figures, Quantity, Ref, Table
from pbr_cli.reporting.kinds import reporting_kind
from pbr_cli.reporting.ledger_tables import MonthPayment, PaymentState, ledger_tables, month_payments
from pbr_cli.reporting.returns import (
    Flag,
    Statuses,
    find_flags,
    flags_table,
    return_statuses,
    returns_table,
)
from pbr_cli.reporting.slices import Slices, figures_of


@dataclass
class Report:
    model: Model
    period: Period
    months: list[Month]
    excluded: list[Excluded]
    tables: dict[str, Table]
    flags: list[Flag]
    totals: dict[str, Decimal]
    figures: Figures
    schedules: list[Schedule]
    ledger_note: str = ""
    # Per month of the period, where it stands in the ledger.
    payments: list[MonthPayment] = field(default_factory=list)
    publish: bool = False  # (a publication is a publication.Publication)

    def describe_payments(self) -> str:
        """Which months the period's money has been approved (paid) for, and which not."""
        if not self.payments or all(p.state == PaymentState.NO_LEDGER for p in self.payments):
            return ("No ledger: nothing is known to be approved or paid; the figures are the "
                    "months worked out now.")
        parts = []
        for state, words in ((PaymentState.APPROVED, "Approved (paid)"),
                             (PaymentState.DRAFT, "Draft, not approved"),
                             (PaymentState.NOT_CALCULATED, "Not calculated"),
                             (PaymentState.BEFORE_GO_LIVE, "Before the ledger's go-live")):
            months = [p for p in self.payments if p.state == state]
            if not months:
                continue
            text = f"{words}: " + ", ".join(
                p.month + (f" (run {p.run})" if p.run else "") for p in months)
            if state in (PaymentState.APPROVED, PaymentState.DRAFT):
                total = sum((p.due or ZERO for p in months), ZERO)
                text += f" ({format_money(total)} due on those schedules)"
            parts.append(text)
        return "; ".join(parts) + "."

    def value(self, cell: Any) -> Any:
        """What a cell shows: a figure, a rate or text."""
        if isinstance(cell, Ref):
            return self.figures.get(cell)
        return cell

    def rows(self, table: Table) -> list[list[Any]]:
        out = [[self.value(c) for c in row] for row in table.rows]
        if table.total is not None:
            out.append([self.value(c) for c in table.total])
        return out

    @property
    def covers(self) -> str:
        return covers(self.months)

    def describe_coverage(self) -> str:
        text = (f"Period {self.period.describe()}. Reported: {len(self.months)} month(s), "
                f"{self.months[0]} to {self.months[-1]} ({self.covers}).")
        if self.excluded:
            groups: dict[str, list[Month]] = defaultdict(list)
            for e in self.excluded:
                groups[e.short].append(e.month)
            text += " Not reported: " + "; ".join(
                f"{_span(ms)} ({why})" for why, ms in groups.items()) + "."
        return text


def covers(months: list[Month]) -> str:
    """The exact dates a run of months covers: 2013-04-01 to 2013-06-30."""
    return f"{months[0].first_day.isoformat()} to {months[-1].last_day.isoformat()}"


def _span(months: list[Month]) -> str:
    return str(months[0]) if len(months) == 1 else f"{months[0]} to {months[-1]}"


def build_report(ps: PeriodSchedules, ledger: Ledger | None = None,
                 go_live: Month | None = None) -> Report:
    """The report of a period from its months' schedules (and the ledger, when given)."""
    model, schedules = ps.model, ps.schedules
    kind = reporting_kind(model)
    groups = kind.groups(model)
    figures, names = figures_of(ps, groups, kind.evented)
    months = [s.month for s in schedules]
    sl = Slices(model, ps, figures, names, groups, kind.evented, kind.group_codes(model))
    statuses = return_statuses(sl, ledger)
    flags = find_flags(sl, statuses)
    tables = _tables(sl, statuses, flags, ledger)
    note = ""
    if ledger is not None:
        tables["adjustments"], tables["reconciliation"], note = ledger_tables(sl, ledger)
    totals = {"payment": sum((s.total() for s in schedules), ZERO),
              "comparison": sum((s.total(LineKind.COMPARISON) for s in schedules), ZERO)}
    return Report(model, ps.period, months, ps.excluded, tables, flags, totals, figures,
                  schedules, note, month_payments(model.name, months, ledger, go_live))


def _tables(sl: Slices, statuses: Statuses, flags: list[Flag],
            ledger: Ledger | None) -> dict[str, Table]:
    """The report's tables, in the order the outputs show them."""
    t: dict[str, Table] = {}
    t["providers"] = money_tables.providers_table(sl, statuses, flags)
    t["months"] = money_tables.months_table(sl)
    t["provider_months"] = money_tables.provider_months_table(sl, Quantity.PAYMENT)
    if sl.model.comparison:
        t["variance_months"] = money_tables.provider_months_table(sl, Quantity.VARIANCE)
    for table in money_tables.group_tables(sl):
        t[table.name] = table
    rates = money_tables.rates_table(sl)
    if rates.rows:
        t["rates"] = rates
    for table in reporting_kind(sl.model).tables(sl):
        t[table.name] = table
    t["returns"] = returns_table(sl, statuses, ledger)
    t["flags"] = flags_table(sl, flags)
    return t
