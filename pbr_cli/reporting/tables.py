"""The money tables of a period report: providers, months, provider by month, groups,
rates, and for client-level models events and bands. Each is a function of the period's
slices (and what the earlier steps found: return statuses, flags), nothing else."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any

from pbr_cli.periods import Month
from pbr_cli.reporting.cells import ALL, Column, Ratio, Ref, Table
from pbr_cli.reporting.returns import Flag, ReturnState, Statuses
from pbr_cli.reporting.slices import Slices

PAID_STATES = (ReturnState.USED, ReturnState.LATE, ReturnState.RESUBMITTED)
WITHHELD_STATES = (ReturnState.MISSING, ReturnState.FAULTY)


def providers_table(sl: Slices, statuses: Statuses, flags: list[Flag]) -> Table:
    cols = [Column("provider", "Provider code", "text"),
            Column("name", "Provider name", "text"),
            Column("months_due", "Months due", "integer"),
            Column("months_withheld", "Months withheld", "integer")]
    cols += sl.money_columns("PbR total")
    if sl.evented:
        cols.append(Column("events_paid", "Events paid", "count"))
    capped = ((sl.model.cohort is not None and sl.model.cohort.cap is not None)
              or (sl.model.participants is not None
                  and sl.model.participants.maximum is not None))
    if capped:
        cols.append(Column("capped", "Reduced by the annual cap" if sl.cohort
                           else "Reduced by the maximum per participant", "money"))
    cols.append(Column("flags", "Flags", "text"))
    rows = []
    for p in sl.providers:
        paid = sum(1 for m in sl.months if statuses[(p, m)][0] in PAID_STATES)
        withheld = sum(1 for m in sl.months if statuses[(p, m)][0] in WITHHELD_STATES)
        row: list[Any] = [p, sl.names[p], paid, withheld, *sl.money(provider=p)]
        if sl.evented:
            row.append(Ref("paid", sl.key(provider=p)))
        if capped:
            row.append(Ref("capped", sl.key(provider=p)))
        row.append("; ".join(f.flag for f in flags if f.provider == p))
        rows.append(row)
    total: list[Any] = ["Total", "", None, None, *sl.money()]
    if sl.evented:
        total.append(Ref("paid", sl.key()))
    if capped:
        total.append(Ref("capped", sl.key()))
    total.append("")
    what = ("shadow PbR beside " + sl.model.comparison.label.lower()
            if sl.model.comparison else "payments")
    return Table("providers", f"Providers over the period: {what}", cols, rows, total,
                 "Totals are the sums of the monthly schedules' lines.")


def months_table(sl: Slices) -> Table:
    cols = [Column("month", "Month", "text"), *sl.component_columns()]
    rows = [[m if m != ALL else "Total", *sl.component_cells(month=m)]
            for m in [*map(str, sl.months), ALL]]
    return Table("months", "Month by month: spend by component", cols, rows[:-1], rows[-1])


def provider_months_table(sl: Slices, measure: str) -> Table:
    cols = [Column("provider", "Provider code", "text"),
            Column("name", "Provider name", "text")]
    cols += [Column(str(m), m.label()[:3] + " " + str(m.year), "money") for m in sl.months]
    cols.append(Column("period", "Period", "money"))
    rows = []
    for p in [*sl.providers, ALL]:
        row: list[Any] = [p if p != ALL else "Total", sl.names.get(p, "")]
        row += [Ref(measure, sl.key(provider=p, month=str(m))) for m in sl.months]
        row.append(Ref(measure, sl.key(provider=p)))
        rows.append(row)
    block = sl.model.comparison.label.lower() if sl.model.comparison else ""
    title = ("PbR by provider and month" if measure == "payment"
             else f"Variance (PbR − {block}) by provider and month")
    return Table("provider_months" if measure == "payment" else "variance_months", title,
                 cols, rows[:-1], rows[-1])


def group_tables(sl: Slices) -> list[Table]:
    out = []
    for g in sl.groups:
        codes = sl.codes(g)
        cols = [Column("group", sl.group_label(g), "text")]
        if sl.cohort:
            cols += [Column("component", "Payment", "text"),
                     Column("events", "Events", "count"),
                     Column("events_paid", "Events paid", "count"),
                     Column("payment", "Paid", "money")]
            rows = []
            for v in sorted(sl.f.values[g], key=lambda c: sl.order(g, c)):
                for c in sl.model.payments:
                    key = sl.key(component=c.name, **{g: v})
                    if key not in sl.f.slices:
                        continue
                    rows.append([codes.get(v, v), c.label, Ref("events", key),
                                 Ref("paid", key), Ref("payment", key)])
            total = ["Total", "", Ref("events", sl.key()), Ref("paid", sl.key()),
                     Ref("payment", sl.key())]
        else:
            cols += sl.component_columns()
            rows = [[codes.get(v, v) if v != ALL else "Total", *sl.component_cells(**{g: v})]
                    for v in [*sorted(sl.f.values[g], key=lambda c: sl.order(g, c)),
                              ALL]]
            total = rows.pop()
        out.append(Table(f"group_{g}", f"By {sl.group_label(g).lower()}", cols, rows,
                         total))
    return out


def rates_table(sl: Slices) -> Table:
    cols = [Column("rate", "Rate", "text"), Column("provider", "Provider", "text")]
    cols += [Column(str(m), m.label()[:3] + " " + str(m.year), "percent")
             for m in sl.months]
    if sl.model.cohort is not None:
        cols.append(Column("period", f"Rolling {sl.model.cohort.window_months} months "
                           f"to {sl.months[-1]}", "percent"))
        note = ("Each month's proportion is over its rolling window (episodes achieving "
                "the outcome / episodes in the cohort), all complexity groups together.")
    else:
        cols.append(Column("period", "Period", "percent"))
        note = ("A provider's rate adds up its services' figures; the period's rate adds up "
                "the months'. " + " ".join(
                    f"{r.label}: {sl.label(r.numerator)} / {sl.label(r.denominator)}."
                    for r in sl.model.report.rates))
    rows = []
    for _name, label, cell in _rate_sources(sl):
        for p in [ALL, *sl.providers]:
            per_month = [cell(p, m) for m in sl.months]
            if sl.cohort:
                period = per_month[-1]
            else:
                period = Ratio(sum((r.numerator for r in per_month), Fraction(0)),
                               sum((r.denominator for r in per_month), Fraction(0)),
                               per_month[0].counts)
            rows.append([label, "All providers" if p == ALL else p, *per_month, period])
    return Table("rates", "Rates month by month", cols, rows, None, note)


def _rate_sources(sl: Slices) -> Iterator[tuple[str, str, Callable[[str, Month], Ratio]]]:
    """Each rate's numerator and denominator per provider and month, added up once (a
    national report has a thousand providers: looking through every line for each cell
    took most of its time)."""
    if not sl.cohort:
        entry_provider = {}
        for s in sl.ps.schedules:
            for ln in s.lines:
                entry_provider[ln.entry] = ln.provider
        for rate in sl.model.report.rates:
            sums: dict[Month, dict[str, list[Fraction]]] = {}
            for s in sl.ps.schedules:
                per = sums.setdefault(s.month, {})
                for entry, values in s.rate_values.items():
                    for who in (ALL, entry_provider.get(entry)):
                        if who is not None:
                            pair = per.setdefault(who, [Fraction(0), Fraction(0)])
                            pair[0] += values[rate.numerator]
                            pair[1] += values[rate.denominator]
            yield rate.name, rate.label, _summed(sums, rate.counts)
        return
    assert sl.model.cohort is not None
    for outcome in sl.model.cohort.outcomes:
        sums = {}
        for s in sl.ps.schedules:
            per = sums.setdefault(s.month, {})
            for ln in s.lines:
                if ln.component == outcome.name:
                    fig = {f.name: f.value for f in ln.figures}
                    for who in (ALL, ln.provider):
                        pair = per.setdefault(who, [Fraction(0), Fraction(0)])
                        pair[0] += Fraction(fig.get("numerator") or 0)
                        pair[1] += Fraction(fig.get("denominator") or 0)
        yield outcome.name, outcome.label, _summed(sums, True)


def _summed(sums: dict[Month, dict[str, list[Fraction]]],
            counts: bool) -> Callable[[str, Month], Ratio]:
    def cell(p: str, m: Month) -> Ratio:
        num, den = sums.get(m, {}).get(p, (Fraction(0), Fraction(0)))
        return Ratio(num, den, counts)
    return cell


def events_table(sl: Slices) -> Table:
    cols = [Column("provider", "Provider code", "text"), Column("component", "Payment", "text"),
            Column("events", "Events", "count"), Column("events_paid", "Events paid", "count"),
            Column("payment", "Paid", "money")]
    rows = []
    for p in sl.providers:
        for c in sl.model.payments:
            key = sl.key(provider=p, component=c.name)
            if key in sl.f.slices:
                label = c.label + (" (reported, not paid)" if c.reported_only else "")
                rows.append([p, label, Ref("events", key), Ref("paid", key),
                             Ref("payment", key)])
    total = ["Total", "", Ref("events", sl.key()), Ref("paid", sl.key()),
             Ref("payment", sl.key())]
    return Table("events", "Events and payments by outcome over the period", cols, rows,
                 total, "Events: tariffs and outcome events considered; paid: those that "
                 "earned something (after the anti-churning rule and the annual cap).")


def bands_table(sl: Slices) -> Table:
    last = sl.ps.schedules[-1]
    assert sl.model.cohort is not None  # (bands are a cohort model's)
    group = sl.model.cohort.group
    codes = sl.codes(group)
    cols = [Column("provider", "Provider code", "text"), Column("component", "Outcome", "text"),
            Column("group", sl.group_label(group), "text"),
            Column("proportion", "Proportion", "percent"), Column("band", "Band", "text"),
            Column("price", "Price per event", "money")]
    rows = []
    for p in last.providers:
        for ln in p.lines:
            spec = next(c for c in sl.model.payments if c.name == ln.component)
            fig = {f.name: f.value for f in ln.figures}
            if spec.reported_only or fig.get("denominator") is None:
                continue
            ratio = Ratio(Fraction(fig.get("numerator") or 0),
                          Fraction(fig.get("denominator") or 0), True)
            band = str(fig.get("band") or "")
            price = fig.get("price")
            g = dict(ln.groups).get(group, "")
            rows.append([p.provider, spec.label, codes.get(g, g), ratio, band, price])
    window = sl.model.cohort.window_months
    return Table("bands", f"Bands for {last.month.label()} (rolling {window} months)", cols,
                 rows, None, "The band each outcome's proportion reached in the last month "
                 "of the period, and the price it pays per event.")
