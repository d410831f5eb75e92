"""What every table of a period report reads: the months' figures in one store, and how a
slice of them (a provider, a month, a component, a group) is keyed, headed and shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from pbr_cli.ledger.records import LineKind
from pbr_cli.model.records import Component, Model
from pbr_cli.periods import Month
from pbr_cli.pricing.worth import PeriodSchedules
from pbr_cli.reporting.cells import ALL, ZERO, Column, ColumnKind, Figures, Quantity, Ratio, Ref


def group_label(model: Model, column: str, group_codes: str | None) -> str:
    """How a group column is headed: the register's header, or the label of its code list
    (`group_codes`, for a group the register does not name)."""
    col = model.register.column(column)
    if col is not None:
        return col.header
    name = group_codes
    cl = model.codes.get(name) if name else None
    return (cl.label if cl else column).capitalize()


def figures_of(ps: PeriodSchedules, groups: list[str],
               evented: bool) -> tuple[Figures, dict[str, str]]:
    """Every line of the period's schedules in one store, keyed (provider, month, component,
    *groups); and each provider's name. `evented`: lines carry events."""
    figures = Figures(["provider", "month", "component", *groups])
    names: dict[str, str] = {}
    for s in ps.schedules:
        for p in s.providers:
            names[p.provider] = p.name
            for ln in p.lines:
                g = dict(ln.groups)
                key = (p.provider, str(s.month), ln.component, *(g.get(c, "") for c in groups))
                fig = {f.name: f.value for f in ln.figures}
                pay = ln.amount if ln.kind == LineKind.PAYMENT else ZERO
                comp = ln.amount if ln.kind == LineKind.COMPARISON else ZERO
                events = paid = None
                capped = ZERO
                if evented and ln.kind == LineKind.PAYMENT:
                    events = int(fig.get("events") or 0)
                    paid = int(fig.get("events_paid") or 0)
                    capped = Decimal(fig.get("cap_reduction") or ZERO)
                # Comparison lines key on their own component so payments never mix with them.
                if ln.kind == LineKind.COMPARISON:
                    key = (p.provider, str(s.month), "", *key[3:])
                figures.add(key, pay, comp, events, paid, capped)
    return figures, names


@dataclass
class Slices:
    """The period's figures and how each table keys, heads and shows a slice of them."""

    model: Model
    ps: PeriodSchedules
    f: Figures
    names: dict[str, str]  # provider -> name
    groups: list[str]  # the columns totals are broken down by
    evented: bool  # lines carry events (cohort or participant models)
    group_codes: str | None  # the code list of a group the register does not name
    months: list[Month] = field(init=False)
    providers: list[str] = field(init=False)
    components: list[Component] = field(init=False)  # the paid ones, in the model's order

    def __post_init__(self) -> None:
        self.months = [s.month for s in self.ps.schedules]
        self.providers = sorted(self.names)
        self.components = [c for c in self.model.payments if not c.reported_only]

    def key(self, provider: str = ALL, month: str = ALL, component: str = ALL,
            **groups: str) -> tuple[str, ...]:
        return (provider, month, component, *(groups.get(g, ALL) for g in self.groups))

    def cmp_key(self, provider: str = ALL, month: str = ALL, **groups: str) -> tuple[str, ...]:
        return (provider, month, "" if self.model.comparison else ALL,
                *(groups.get(g, ALL) for g in self.groups))

    def money(self, **kw: str) -> list[Any]:
        out: list[Any] = []
        if self.model.comparison:
            out.append(Ref(Quantity.COMPARISON, self.cmp_key(**{k: v for k, v in kw.items()
                                                          if k != "component"})))
        out.append(Ref(Quantity.PAYMENT, self.key(**kw)))
        if self.model.comparison:
            out += [Ref(Quantity.VARIANCE, self.key(**kw)), self._variance_pct(**kw)]
        return out

    def _variance_pct(self, **kw: str) -> Ratio:
        pay = self.f.slices.get(self.key(**kw))
        block = self.f.slices.get(self.cmp_key(**kw))
        b = block.comparison if block else ZERO
        p = pay.payment if pay else ZERO
        return Ratio(Fraction(p - b), Fraction(b))

    def component_columns(self) -> list[Column]:
        """[comparison], each paid component, PbR total, [variance, variance %]."""
        cols = self.money_columns("PbR total")
        at = 1 if self.model.comparison else 0
        return cols[:at] + [Column(c.name, c.label, ColumnKind.MONEY) for c in self.components] + cols[at:]

    def component_cells(self, **kw: str) -> list[Any]:
        money = self.money(**kw)
        at = 1 if self.model.comparison else 0
        parts = [Ref(Quantity.PAYMENT, self.key(component=c.name, **kw)) for c in self.components]
        return money[:at] + parts + money[at:]

    def money_columns(self, pbr_label: str = "PbR") -> list[Column]:
        cols = []
        if self.model.comparison:
            cols.append(Column("comparison", self.model.comparison.label, ColumnKind.MONEY))
        cols.append(Column("payment", pbr_label, ColumnKind.MONEY))
        if self.model.comparison:
            cols += [Column("variance", "Variance", ColumnKind.MONEY),
                     Column("variance_pct", "Variance %", ColumnKind.PERCENT)]
        return cols

    def codes(self, column: str) -> dict[str, str]:
        col = self.model.register.column(column)
        name = col.codes if col is not None and col.codes else self.group_codes
        cl = self.model.codes.get(name) if name else None
        return dict(cl.values) if cl else {}

    def order(self, column: str, code: str) -> tuple[int, str]:
        codes = list(self.codes(column))
        return (codes.index(code) if code in codes else len(codes), code)

    def group_label(self, column: str) -> str:
        return group_label(self.model, column, self.group_codes)

    def label(self, name: str) -> str:
        m = self.model.measure(name)
        if m is not None:
            return m.label.lower()
        col = self.model.register.column(name)
        return col.header.lower() if col else name
