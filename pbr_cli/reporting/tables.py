"""The money tables of a period report every kind of scheme has: providers, months,
provider by month, groups, rates. Each is a function of the period's slices (and what the
earlier steps found: return statuses, flags), nothing else; what differs by kind of scheme
(and the tables only one kind has) is the kind's part (reporting/kinds/)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from pbr_cli.reporting.cells import ALL, Column, ColumnKind, Quantity, Ratio, Ref, Table
from pbr_cli.reporting.kinds import reporting_kind
from pbr_cli.reporting.returns import Flag, ReturnState, Statuses
from pbr_cli.reporting.slices import Slices

PAID_STATES = (ReturnState.USED, ReturnState.LATE, ReturnState.RESUBMITTED)
WITHHELD_STATES = (ReturnState.MISSING, ReturnState.FAULTY)


def providers_table(sl: Slices, statuses: Statuses, flags: list[Flag]) -> Table:
    cols = [Column("provider", "Provider code", ColumnKind.TEXT),
            Column("name", "Provider name", ColumnKind.TEXT),
            Column("months_due", "Months due", ColumnKind.INTEGER),
            Column("months_withheld", "Months withheld", ColumnKind.INTEGER)]
    cols += sl.money_columns("PbR total")
    if sl.evented:
        cols.append(Column("events_paid", "Events paid", ColumnKind.COUNT))
    cap_label = reporting_kind(sl.model).cap_label(sl.model)
    capped = cap_label is not None
    if cap_label is not None:
        cols.append(Column("capped", cap_label, ColumnKind.MONEY))
    cols.append(Column("flags", "Flags", ColumnKind.TEXT))
    rows = []
    for p in sl.providers:
        paid = sum(1 for m in sl.months if statuses[(p, m)][0] in PAID_STATES)
        withheld = sum(1 for m in sl.months if statuses[(p, m)][0] in WITHHELD_STATES)
        row: list[Any] = [p, sl.names[p], paid, withheld, *sl.money(provider=p)]
        if sl.evented:
            row.append(Ref(Quantity.PAID, sl.key(provider=p)))
        if capped:
            row.append(Ref(Quantity.CAPPED, sl.key(provider=p)))
        row.append("; ".join(f.flag for f in flags if f.provider == p))
        rows.append(row)
    total: list[Any] = ["Total", "", None, None, *sl.money()]
    if sl.evented:
        total.append(Ref(Quantity.PAID, sl.key()))
    if capped:
        total.append(Ref(Quantity.CAPPED, sl.key()))
    total.append("")
    what = ("shadow PbR beside " + sl.model.comparison.label.lower()
            if sl.model.comparison else "payments")
    return Table("providers", f"Providers over the period: {what}", cols, rows, total,
                 "Totals are the sums of the monthly schedules' lines.")


def months_table(sl: Slices) -> Table:
    cols = [Column("month", "Month", ColumnKind.TEXT), *sl.component_columns()]
    rows = [[m if m != ALL else "Total", *sl.component_cells(month=m)]
            for m in [*map(str, sl.months), ALL]]
    return Table("months", "Month by month: spend by component", cols, rows[:-1], rows[-1])


def provider_months_table(sl: Slices, measure: Quantity) -> Table:
    cols = [Column("provider", "Provider code", ColumnKind.TEXT),
            Column("name", "Provider name", ColumnKind.TEXT)]
    cols += [Column(str(m), m.label()[:3] + " " + str(m.year), ColumnKind.MONEY) for m in sl.months]
    cols.append(Column("period", "Period", ColumnKind.MONEY))
    rows = []
    for p in [*sl.providers, ALL]:
        row: list[Any] = [p if p != ALL else "Total", sl.names.get(p, "")]
        row += [Ref(measure, sl.key(provider=p, month=str(m))) for m in sl.months]
        row.append(Ref(measure, sl.key(provider=p)))
        rows.append(row)
    block = sl.model.comparison.label.lower() if sl.model.comparison else ""
    title = ("PbR by provider and month" if measure == Quantity.PAYMENT
             else f"Variance (PbR − {block}) by provider and month")
    return Table("provider_months" if measure == Quantity.PAYMENT else "variance_months", title,
                 cols, rows[:-1], rows[-1])


def group_tables(sl: Slices) -> list[Table]:
    out = []
    for g in sl.groups:
        cols, rows, total = reporting_kind(sl.model).group_table(sl, g)
        out.append(Table(f"group_{g}", f"By {sl.group_label(g).lower()}", cols, rows,
                         total))
    return out


def rates_table(sl: Slices) -> Table:
    cols = [Column("rate", "Rate", ColumnKind.TEXT), Column("provider", "Provider", ColumnKind.TEXT)]
    cols += [Column(str(m), m.label()[:3] + " " + str(m.year), ColumnKind.PERCENT)
             for m in sl.months]
    rates = reporting_kind(sl.model).rates(sl)
    cols.append(rates.period)
    rows = []
    for _name, label, cell in rates.sources:
        for p in [ALL, *sl.providers]:
            per_month = [cell(p, m) for m in sl.months]
            if rates.last_month:
                period = per_month[-1]
            else:
                period = Ratio(sum((r.numerator for r in per_month), Fraction(0)),
                               sum((r.denominator for r in per_month), Fraction(0)),
                               per_month[0].counts)
            rows.append([label, "All providers" if p == ALL else p, *per_month, period])
    return Table("rates", "Rates month by month", cols, rows, None, rates.note)
