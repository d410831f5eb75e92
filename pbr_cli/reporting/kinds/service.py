"""A service-level scheme in a period report and a publication: money by component, the
report's rates added up from each register entry's figures, counts from counted rates."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from pbr_cli.model.records import Model
from pbr_cli.pricing.records import Schedule
from pbr_cli.reporting.cells import ALL, Column, ColumnKind, Table
from pbr_cli.reporting.counts import OF_WHICH, REST, Item, count, rest
from pbr_cli.reporting.kinds import MonthFigures, RateCell, Rates, summed
from pbr_cli.reporting.record_keys import Records, rated_entries, service_records
from pbr_cli.reporting.slices import Slices


class ServiceReporting:
    evented = False
    rates_title = "Rates month by month, all providers"

    def groups(self, model: Model) -> list[str]:
        return list(model.register.group_by)

    def publication_groups(self, model: Model) -> list[str]:
        return []  # a service-level scheme's counts are by provider only

    def group_codes(self, model: Model) -> str | None:
        return None

    def cap_label(self, model: Model) -> str | None:
        return None

    def group_table(self, sl: Slices, group: str,
                    ) -> tuple[list[Column], list[list[Any]], list[Any]]:
        codes = sl.codes(group)
        cols = [Column("group", sl.group_label(group), ColumnKind.TEXT), *sl.component_columns()]
        rows = [[codes.get(v, v) if v != ALL else "Total", *sl.component_cells(**{group: v})]
                for v in [*sorted(sl.f.values[group], key=lambda c: sl.order(group, c)), ALL]]
        total = rows.pop()
        return cols, rows, total

    def rates(self, sl: Slices) -> Rates:
        note = ("A provider's rate adds up its services' figures; the period's rate adds up "
                "the months'. " + " ".join(
                    f"{r.label}: {sl.label(r.numerator)} / {sl.label(r.denominator)}."
                    for r in sl.model.report.rates))
        return Rates(Column("period", "Period", ColumnKind.PERCENT), note, _rate_sources(sl), False)

    def tables(self, sl: Slices) -> list[Table]:
        return []

    def publication_items(self, model: Model) -> list[Item]:
        """Each rate of the report that counts people's outcomes."""
        out = []
        for rate in model.report.rates:
            if rate.counts:
                out.append(Item(rate.name, rate.label, rate.denominator, rate.numerator,
                                _measure_label(model, rate.denominator).capitalize(),
                                _measure_label(model, rate.numerator).capitalize()))
        return out

    def add_month_figures(self, s: Schedule, items: list[Item], groups: list[str],
                          out: MonthFigures) -> None:
        month = str(s.month)
        for provider, _, values in rated_entries(s):
            for item in items:
                first, second = count(values.get(item.first)), count(values.get(item.second))
                out[(provider, month, item.key, OF_WHICH)] += second
                out[(provider, month, item.key, REST)] += rest(first, second, item.key)

    def month_records(self, s: Schedule, items: list[Item], groups: list[str]) -> Records:
        return service_records(s, items)


def _measure_label(model: Model, name: str) -> str:
    m = model.measure(name)
    return m.label.lower() if m is not None else name


def _rate_sources(sl: Slices) -> Iterator[tuple[str, str, RateCell]]:
    """Each rate's numerator and denominator per provider and month, added up once (a
    national report has a thousand providers: looking through every line for each cell
    took most of its time)."""
    entry_provider = {}
    for s in sl.ps.schedules:
        for ln in s.lines:
            entry_provider[ln.entry] = ln.provider
    for rate in sl.model.report.rates:
        sums: dict = {}
        for s in sl.ps.schedules:
            per = sums.setdefault(s.month, {})
            for entry, values in s.rate_values.items():
                for who in (ALL, entry_provider.get(entry)):
                    if who is not None:
                        pair = per.setdefault(who, [Fraction(0), Fraction(0)])
                        pair[0] += values[rate.numerator]
                        pair[1] += values[rate.denominator]
        yield rate.name, rate.label, summed(sums, rate.counts)


REPORTING = ServiceReporting()
