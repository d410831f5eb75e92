"""What the kinds of scheme whose lines carry events (cohort, per participant) report alike:
events and those paid by component, counted for a publication from the lines' figures."""

from __future__ import annotations

from pbr_cli.model.records import Model
from pbr_cli.pricing.records import Schedule
from pbr_cli.reporting.cells import Column, ColumnKind, Quantity, Ref, Table
from pbr_cli.reporting.counts import OF_WHICH, REST, Item, count, rest
from pbr_cli.reporting.kinds import MonthFigures
from pbr_cli.reporting.kinds.service import ServiceReporting
from pbr_cli.reporting.record_keys import Records, event_records, payment_lines
from pbr_cli.reporting.slices import Slices


class EventReporting(ServiceReporting):
    evented = True

    def publication_groups(self, model: Model) -> list[str]:
        return self.groups(model)

    def tables(self, sl: Slices) -> list[Table]:
        return [events_table(sl)]

    def publication_items(self, model: Model) -> list[Item]:
        """Each component's events and those paid."""
        return [Item(c.name, c.label + (" (reported, not paid)" if c.reported_only
                                        and "reported" not in c.label.lower() else ""),
                     "events", "events_paid", "Events", "Paid")
                for c in model.payments]

    def add_month_figures(self, s: Schedule, items: list[Item], groups: list[str],
                          out: MonthFigures) -> None:
        for base, ln, fig in payment_lines(s, items, groups):
            first, second = count(fig.get("events")), count(fig.get("events_paid"))
            out[(*base, OF_WHICH)] += second
            out[(*base, REST)] += rest(first, second, ln.component)

    def month_records(self, s: Schedule, items: list[Item], groups: list[str]) -> Records:
        return event_records(s, items, groups)


def events_table(sl: Slices) -> Table:
    cols = [Column("provider", "Provider code", ColumnKind.TEXT), Column("component", "Payment", ColumnKind.TEXT),
            Column("events", "Events", ColumnKind.COUNT), Column("events_paid", "Events paid", ColumnKind.COUNT),
            Column("payment", "Paid", ColumnKind.MONEY)]
    rows = []
    for p in sl.providers:
        for c in sl.model.payments:
            key = sl.key(provider=p, component=c.name)
            if key in sl.f.slices:
                label = c.label + (" (reported, not paid)" if c.reported_only else "")
                rows.append([p, label, Ref(Quantity.EVENTS, key), Ref(Quantity.PAID, key),
                             Ref(Quantity.PAYMENT, key)])
    total = ["Total", "", Ref(Quantity.EVENTS, sl.key()), Ref(Quantity.PAID, sl.key()),
             Ref(Quantity.PAYMENT, sl.key())]
    return Table("events", "Events and payments by outcome over the period", cols, rows,
                 total, "Events: tariffs and outcome events considered; paid: those that "
                 "earned something (after the anti-churning rule and the annual cap).")
