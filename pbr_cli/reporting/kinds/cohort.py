"""A cohort scheme in a period report and a publication: totals by the cohort's group,
events by group, each outcome's rolling proportion, and the bands of the period's last
month."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from pbr_cli.model.records import Cohort, Model
from pbr_cli.reporting.cells import ALL, Column, ColumnKind, Quantity, Ratio, Ref, Table
from pbr_cli.reporting.kinds import RateCell, Rates, summed
from pbr_cli.reporting.kinds.events import EventReporting, events_table
from pbr_cli.reporting.slices import Slices


def _cohort(model: Model) -> Cohort:
    assert model.cohort is not None  # (a cohort scheme's model has its cohort)
    return model.cohort


class CohortReporting(EventReporting):
    rates_title = "Proportions achieving each outcome (rolling window), all providers"

    def groups(self, model: Model) -> list[str]:
        return [_cohort(model).group]

    def group_codes(self, model: Model) -> str | None:
        return _cohort(model).group_codes

    def cap_label(self, model: Model) -> str | None:
        return "Reduced by the annual cap" if _cohort(model).cap is not None else None

    def group_table(self, sl: Slices, group: str,
                    ) -> tuple[list[Column], list[list[Any]], list[Any]]:
        codes = sl.codes(group)
        cols = [Column("group", sl.group_label(group), ColumnKind.TEXT),
                Column("component", "Payment", ColumnKind.TEXT),
                Column("events", "Events", ColumnKind.COUNT),
                Column("events_paid", "Events paid", ColumnKind.COUNT),
                Column("payment", "Paid", ColumnKind.MONEY)]
        rows = []
        for v in sorted(sl.f.values[group], key=lambda c: sl.order(group, c)):
            for c in sl.model.payments:
                key = sl.key(component=c.name, **{group: v})
                if key not in sl.f.slices:
                    continue
                rows.append([codes.get(v, v), c.label, Ref(Quantity.EVENTS, key),
                             Ref(Quantity.PAID, key), Ref(Quantity.PAYMENT, key)])
        total = ["Total", "", Ref(Quantity.EVENTS, sl.key()), Ref(Quantity.PAID, sl.key()),
                 Ref(Quantity.PAYMENT, sl.key())]
        return cols, rows, total

    def rates(self, sl: Slices) -> Rates:
        period = Column("period", f"Rolling {_cohort(sl.model).window_months} months "
                        f"to {sl.months[-1]}", ColumnKind.PERCENT)
        note = ("Each month's proportion is over its rolling window (episodes achieving "
                "the outcome / episodes in the cohort), all complexity groups together.")
        return Rates(period, note, _rate_sources(sl), True)

    def tables(self, sl: Slices) -> list[Table]:
        return [events_table(sl), bands_table(sl)]


def _rate_sources(sl: Slices) -> Iterator[tuple[str, str, RateCell]]:
    """Each outcome's events achieving it and episodes in its cohort, per provider and
    month, added up once."""
    for outcome in _cohort(sl.model).outcomes:
        sums: dict = {}
        for s in sl.ps.schedules:
            per = sums.setdefault(s.month, {})
            for ln in s.lines:
                if ln.component == outcome.name:
                    fig = {f.name: f.value for f in ln.figures}
                    for who in (ALL, ln.provider):
                        pair = per.setdefault(who, [Fraction(0), Fraction(0)])
                        pair[0] += Fraction(fig.get("numerator") or 0)
                        pair[1] += Fraction(fig.get("denominator") or 0)
        yield outcome.name, outcome.label, summed(sums, True)


def bands_table(sl: Slices) -> Table:
    last = sl.ps.schedules[-1]
    group = _cohort(sl.model).group
    codes = sl.codes(group)
    cols = [Column("provider", "Provider code", ColumnKind.TEXT), Column("component", "Outcome", ColumnKind.TEXT),
            Column("group", sl.group_label(group), ColumnKind.TEXT),
            Column("proportion", "Proportion", ColumnKind.PERCENT), Column("band", "Band", ColumnKind.TEXT),
            Column("price", "Price per event", ColumnKind.MONEY)]
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
    window = _cohort(sl.model).window_months
    return Table("bands", f"Bands for {last.month.label()} (rolling {window} months)", cols,
                 rows, None, "The band each outcome's proportion reached in the last month "
                 "of the period, and the price it pays per event.")


REPORTING = CohortReporting()
