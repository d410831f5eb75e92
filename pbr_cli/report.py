"""A period report: a scheme's monthly schedules added up over a period, as plain tables.

The core of `pbr report`: no Excel, no rich. It takes the months of a period worked
out as `pbr calculate` would work them out now (jobs.period_schedules), and the ledger when
there is one, and returns a Report: tables of cells that every output (workbook, console,
JSON, CSV) renders. It is never for publication: a publication is made from the same months
by pbr_cli.publication, which shows only rounded counts.

Money figures are sums of schedule lines (Decimal, already rounded to the penny); rates are
exact fractions until they are shown.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from pbr_cli.money import format_money, format_percent
from pbr_cli.periods import Month

ALL = "*"
ZERO = Decimal("0.00")


# -- cells ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ratio:
    """A rate shown as a percentage: numerator / denominator, exact."""

    numerator: Fraction
    denominator: Fraction
    counts: bool = False  # numerator and denominator count people or their outcomes

    @property
    def value(self) -> Fraction | None:
        return self.numerator / self.denominator if self.denominator else None

    def __str__(self) -> str:
        return "" if self.value is None else format_percent(self.value)


@dataclass(frozen=True)
class Ref:
    """A cell showing one figure of the report's figure store (money or a count)."""

    measure: str  # payment | comparison | variance | events | paid | capped
    key: tuple[str, ...]  # (provider, month, component, *groups), ALL for summed over


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str  # text | money | count | integer | percent | ratio


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    total: list[Any] | None = None
    note: str = ""


# -- the figure store ----------------------------------------------------------------------------

@dataclass
class Fact:
    payment: Decimal = ZERO
    comparison: Decimal = ZERO
    events: int | None = None  # cohort models: outcome events and tariffs considered
    paid: int | None = None  # cohort models: those paid something
    capped: Decimal = ZERO  # cohort models: what the annual cap took off


def _add(a: int | None, b: int | None) -> int | None:
    return b if a is None else (a if b is None else a + b)


class Figures:
    """Money and counts by (provider, month, component, *groups), summed over any of them."""

    def __init__(self, dims: list[str]):
        self.dims = dims
        self.slices: dict[tuple[str, ...], Fact] = defaultdict(Fact)
        self.values: dict[str, set[str]] = {d: set() for d in dims}

    def add(self, key: tuple[str, ...], payment: Decimal, comparison: Decimal,
            events: int | None, paid: int | None, capped: Decimal = ZERO) -> None:
        for d, v in zip(self.dims, key, strict=True):
            self.values[d].add(v)
        for mask in itertools.product((False, True), repeat=len(key)):
            general = tuple(ALL if m else v for m, v in zip(mask, key, strict=True))
            f = self.slices[general]
            f.payment += payment
            f.comparison += comparison
            f.events = _add(f.events, events)
            f.paid = _add(f.paid, paid)
            f.capped += capped

    def get(self, ref: Ref) -> Any:
        f = self.slices.get(ref.key, Fact())
        if ref.measure == "variance":
            return f.payment - f.comparison
        return getattr(f, ref.measure)


# -- the report ----------------------------------------------------------------------------------

@dataclass
class Report:
    model: Any
    period: Any
    months: list[Month]
    excluded: list[tuple[Month, str]]
    tables: dict[str, Table]
    flags: list[dict[str, str]]
    totals: dict[str, Decimal]
    figures: Figures
    schedules: list[Any]
    ledger_note: str = ""
    # Per month of the period, where it stands in the ledger: month, state (approved |
    # draft | not calculated | before go-live | no ledger), run, due on that schedule.
    payments: list[dict[str, Any]] = field(default_factory=list)
    publish: bool = False  # (a publication is a publication.Publication)

    def describe_payments(self) -> str:
        """Which months the period's money has been approved (paid) for, and which not."""
        if not self.payments or all(p["state"] == "no ledger" for p in self.payments):
            return ("No ledger: nothing is known to be approved or paid; the figures are the "
                    "months worked out now.")
        parts = []
        for state, words in (("approved", "Approved (paid)"), ("draft", "Draft, not approved"),
                             ("not calculated", "Not calculated"),
                             ("before go-live", "Before the ledger's go-live")):
            months = [p for p in self.payments if p["state"] == state]
            if not months:
                continue
            text = f"{words}: " + ", ".join(
                p["month"] + (f" (run {p['run']})" if p["run"] else "") for p in months)
            if state in ("approved", "draft"):
                total = sum((p["due"] for p in months), ZERO)
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
            for m, why in self.excluded:
                groups[why.split(" (")[0] if why.startswith("outside") else "no returns"].append(m)
            text += " Not reported: " + "; ".join(
                f"{_span(ms)} ({why})" for why, ms in groups.items()) + "."
        return text


def covers(months: list[Month]) -> str:
    """The exact dates a run of months covers: 2013-04-01 to 2013-06-30."""
    return f"{months[0].first_day.isoformat()} to {months[-1].last_day.isoformat()}"


def group_label(model, column: str) -> str:
    """How a group column is headed: the register's header, or the code list's label."""
    col = model.register.column(column)
    if col is not None:
        return col.header
    name = model.cohort.group_codes if model.cohort is not None else None
    cl = model.codes.get(name) if name else None
    return (cl.label if cl else column).capitalize()


def _span(months: list[Month]) -> str:
    return str(months[0]) if len(months) == 1 else f"{months[0]} to {months[-1]}"


def build_report(ps, ledger=None, go_live: Month | None = None) -> Report:
    """The report of a period from its months' schedules (and the ledger, when given)."""
    model, schedules = ps.model, ps.schedules
    cohort = model.client_level  # lines carry events
    groups = (list(model.register.group_by) if model.cohort is None else [model.cohort.group])
    figures = Figures(["provider", "month", "component", *groups])
    names: dict[str, str] = {}
    for s in schedules:
        for p in s.providers:
            names[p.provider] = p.name
            for ln in p.lines:
                g = dict(ln.groups)
                key = (p.provider, str(s.month), ln.component, *(g.get(c, "") for c in groups))
                fig = {f.name: f.value for f in ln.figures}
                pay = ln.amount if ln.kind == "payment" else ZERO
                comp = ln.amount if ln.kind == "comparison" else ZERO
                events = paid = None
                capped = ZERO
                if cohort and ln.kind == "payment":
                    events = int(fig.get("events") or 0)
                    paid = int(fig.get("events_paid") or 0)
                    capped = Decimal(fig.get("cap_reduction") or ZERO)
                # Comparison lines key on their own component so payments never mix with them.
                if ln.kind == "comparison":
                    key = (p.provider, str(s.month), "", *key[3:])
                figures.add(key, pay, comp, events, paid, capped)
    months = [s.month for s in schedules]
    builder = _Builder(model, ps, figures, names, groups, months, ledger)
    tables = builder.tables()
    totals = {"payment": sum((s.total() for s in schedules), ZERO),
              "comparison": sum((s.total("comparison") for s in schedules), ZERO)}
    return Report(model, ps.period, months, ps.excluded, tables, builder.flags, totals, figures,
                  schedules, builder.ledger_note, _payments(model, months, ledger, go_live))


def _payments(model, months: list[Month], ledger, go_live: Month | None) -> list[dict[str, Any]]:
    out = []
    for m in months:
        if ledger is None:
            out.append({"month": str(m), "state": "no ledger", "run": None, "due": None})
            continue
        approval = ledger.approval_of(model.name, str(m))
        run = (ledger.run(approval.run_id) if approval is not None
               else ledger.latest_run(model.name, str(m)))
        if approval is not None:
            state = "approved"
        elif run is not None:
            state = "draft"
        elif go_live is not None and m < go_live:
            state = "before go-live"
        else:
            state = "not calculated"
        out.append({"month": str(m), "state": state, "run": run.id if run else None,
                    "due": run.payment if run else None,
                    "approved_by": approval.approved_by if approval is not None else None,
                    "approved_at": approval.approved_at if approval is not None else None})
    return out


class _Builder:
    def __init__(self, model, ps, figures: Figures, names: dict[str, str], groups: list[str],
                 months: list[Month], ledger):
        self.model, self.ps, self.f, self.names = model, ps, figures, names
        self.groups, self.months = groups, months
        self.ledger = ledger
        self.cohort = model.cohort is not None
        self.evented = model.client_level  # lines carry events (cohort or participant models)
        self.providers = sorted(names)
        self.components = [c for c in model.payments if not c.reported_only]
        self.flags: list[dict[str, str]] = []
        self.ledger_note = ""

    def key(self, provider=ALL, month=ALL, component=ALL, **groups) -> tuple[str, ...]:
        return (provider, month, component, *(groups.get(g, ALL) for g in self.groups))

    def cmp_key(self, provider=ALL, month=ALL, **groups) -> tuple[str, ...]:
        return (provider, month, "" if self.model.comparison else ALL,
                *(groups.get(g, ALL) for g in self.groups))

    # Payment and comparison of a slice; comparison lines are filed under component "".
    def money(self, **kw) -> list[Any]:
        out: list[Any] = []
        if self.model.comparison:
            out.append(Ref("comparison", self.cmp_key(**{k: v for k, v in kw.items()
                                                          if k != "component"})))
        out.append(Ref("payment", self.key(**kw)))
        if self.model.comparison:
            out += [Ref("variance", self.key(**kw)), self._variance_pct(**kw)]
        return out

    def _variance_pct(self, **kw) -> Ratio:
        pay = self.f.slices.get(self.key(**kw))
        block = self.f.slices.get(self.cmp_key(**kw))
        b = block.comparison if block else ZERO
        p = pay.payment if pay else ZERO
        return Ratio(Fraction(p - b), Fraction(b))

    def component_columns(self) -> list[Column]:
        """[comparison], each paid component, PbR total, [variance, variance %]."""
        cols = self.money_columns("PbR total")
        at = 1 if self.model.comparison else 0
        return cols[:at] + [Column(c.name, c.label, "money") for c in self.components] + cols[at:]

    def component_cells(self, **kw) -> list[Any]:
        money = self.money(**kw)
        at = 1 if self.model.comparison else 0
        parts = [Ref("payment", self.key(component=c.name, **kw)) for c in self.components]
        return money[:at] + parts + money[at:]

    def money_columns(self, pbr_label: str = "PbR") -> list[Column]:
        cols = []
        if self.model.comparison:
            cols.append(Column("comparison", self.model.comparison.label, "money"))
        cols.append(Column("payment", pbr_label, "money"))
        if self.model.comparison:
            cols += [Column("variance", "Variance", "money"),
                     Column("variance_pct", "Variance %", "percent")]
        return cols

    def tables(self) -> dict[str, Table]:
        t: dict[str, Table] = {}
        statuses = self.return_statuses()
        t["providers"] = self.providers_table(statuses)
        t["months"] = self.months_table()
        t["provider_months"] = self.provider_months_table("payment")
        if self.model.comparison:
            t["variance_months"] = self.provider_months_table("variance")
        for table in self.group_tables():
            t[table.name] = table
        rates = self.rates_table()
        if rates.rows:
            t["rates"] = rates
        if self.evented:
            t["events"] = self.events_table()
        if self.cohort:
            t["bands"] = self.bands_table()
        t["returns"] = self.returns_table(statuses)
        t["flags"] = self.flags_table(statuses)
        flagged = defaultdict(list)
        for f in self.flags:
            flagged[f["provider"]].append(f["flag"])
        for row in t["providers"].rows:
            row[-1] = "; ".join(flagged.get(row[0], []))
        if self.ledger is not None:
            t["adjustments"], t["reconciliation"] = self.ledger_tables()
        return t

    # -- per provider ------------------------------------------------------------------------
    def providers_table(self, statuses) -> Table:
        cols = [Column("provider", "Provider code", "text"),
                Column("name", "Provider name", "text"),
                Column("months_due", "Months due", "integer"),
                Column("months_withheld", "Months withheld", "integer")]
        cols += self.money_columns("PbR total")
        if self.evented:
            cols.append(Column("events_paid", "Events paid", "count"))
        capped = ((self.cohort and self.model.cohort.cap is not None)
                  or (self.model.participants is not None
                      and self.model.participants.maximum is not None))
        if capped:
            cols.append(Column("capped", "Reduced by the annual cap" if self.cohort
                               else "Reduced by the maximum per participant", "money"))
        cols.append(Column("flags", "Flags", "text"))
        rows = []
        for p in self.providers:
            paid = sum(1 for m in self.months if statuses[(p, m)][0] in ("used", "late",
                                                                         "resubmitted"))
            withheld = sum(1 for m in self.months if statuses[(p, m)][0] in ("missing", "faulty"))
            row: list[Any] = [p, self.names[p], paid, withheld, *self.money(provider=p)]
            if self.evented:
                row.append(Ref("paid", self.key(provider=p)))
            if capped:
                row.append(Ref("capped", self.key(provider=p)))
            row.append("")  # flags, filled in by flags_table
            rows.append(row)
        total: list[Any] = ["Total", "", None, None, *self.money()]
        if self.evented:
            total.append(Ref("paid", self.key()))
        if capped:
            total.append(Ref("capped", self.key()))
        total.append("")
        what = ("shadow PbR beside " + self.model.comparison.label.lower()
                if self.model.comparison else "payments")
        return Table("providers", f"Providers over the period: {what}", cols, rows, total,
                     "Totals are the sums of the monthly schedules' lines.")

    def months_table(self) -> Table:
        cols = [Column("month", "Month", "text"), *self.component_columns()]
        rows = [[m if m != ALL else "Total", *self.component_cells(month=m)]
                for m in [*map(str, self.months), ALL]]
        return Table("months", "Month by month: spend by component", cols, rows[:-1], rows[-1])

    def provider_months_table(self, measure: str) -> Table:
        cols = [Column("provider", "Provider code", "text"),
                Column("name", "Provider name", "text")]
        cols += [Column(str(m), m.label()[:3] + " " + str(m.year), "money") for m in self.months]
        cols.append(Column("period", "Period", "money"))
        rows = []
        for p in [*self.providers, ALL]:
            row: list[Any] = [p if p != ALL else "Total", self.names.get(p, "")]
            row += [Ref(measure, self.key(provider=p, month=str(m))) for m in self.months]
            row.append(Ref(measure, self.key(provider=p)))
            rows.append(row)
        title = ("PbR by provider and month" if measure == "payment"
                 else f"Variance (PbR − {self.model.comparison.label.lower()}) by provider and "
                 "month")
        return Table("provider_months" if measure == "payment" else "variance_months", title,
                     cols, rows[:-1], rows[-1])

    def group_tables(self) -> list[Table]:
        out = []
        for g in self.groups:
            codes = self._codes(g)
            cols = [Column("group", self._group_label(g), "text")]
            if self.cohort:
                cols += [Column("component", "Payment", "text"),
                         Column("events", "Events", "count"),
                         Column("events_paid", "Events paid", "count"),
                         Column("payment", "Paid", "money")]
                rows = []
                for v in sorted(self.f.values[g], key=lambda c: self._order(g, c)):
                    for c in self.model.payments:
                        key = self.key(component=c.name, **{g: v})
                        if key not in self.f.slices:
                            continue
                        rows.append([codes.get(v, v), c.label, Ref("events", key),
                                     Ref("paid", key), Ref("payment", key)])
                total = ["Total", "", Ref("events", self.key()), Ref("paid", self.key()),
                         Ref("payment", self.key())]
            else:
                cols += self.component_columns()
                rows = [[codes.get(v, v) if v != ALL else "Total", *self.component_cells(**{g: v})]
                        for v in [*sorted(self.f.values[g], key=lambda c: self._order(g, c)),
                                  ALL]]
                total = rows.pop()
            out.append(Table(f"group_{g}", f"By {self._group_label(g).lower()}", cols, rows,
                             total))
        return out

    def _codes(self, column: str) -> dict[str, str]:
        col = self.model.register.column(column)
        name = col.codes if col is not None and col.codes else (
            self.model.cohort.group_codes if self.cohort else None)
        cl = self.model.codes.get(name) if name else None
        return dict(cl.values) if cl else {}

    def _order(self, column: str, code: str) -> tuple[int, str]:
        codes = list(self._codes(column))
        return (codes.index(code) if code in codes else len(codes), code)

    def _group_label(self, column: str) -> str:
        return group_label(self.model, column)

    # -- rates -------------------------------------------------------------------------------
    def rates_table(self) -> Table:
        cols = [Column("rate", "Rate", "text"), Column("provider", "Provider", "text")]
        cols += [Column(str(m), m.label()[:3] + " " + str(m.year), "percent")
                 for m in self.months]
        if self.cohort:
            cols.append(Column("period", f"Rolling {self.model.cohort.window_months} months "
                               f"to {self.months[-1]}", "percent"))
            note = ("Each month's proportion is over its rolling window (episodes achieving "
                    "the outcome / episodes in the cohort), all complexity groups together.")
        else:
            cols.append(Column("period", "Period", "percent"))
            note = ("A provider's rate adds up its services' figures; the period's rate adds up "
                    "the months'. " + " ".join(
                        f"{r.label}: {self._label(r.numerator)} / {self._label(r.denominator)}."
                        for r in self.model.report.rates))
        rows = []
        for _name, label, cell in self._rate_sources():
            for p in [ALL, *self.providers]:
                per_month = [cell(p, m) for m in self.months]
                if self.cohort:
                    period = per_month[-1]
                else:
                    period = Ratio(sum((r.numerator for r in per_month), Fraction(0)),
                                   sum((r.denominator for r in per_month), Fraction(0)),
                                   per_month[0].counts)
                rows.append([label, "All providers" if p == ALL else p, *per_month, period])
        return Table("rates", "Rates month by month", cols, rows, None, note)

    def _label(self, name: str) -> str:
        m = self.model.measure(name)
        if m is not None:
            return m.label.lower()
        col = self.model.register.column(name)
        return col.header.lower() if col else name

    def _rate_sources(self):
        schedules = {s.month: s for s in self.ps.schedules}
        if not self.cohort:
            entry_provider = {}
            for s in self.ps.schedules:
                for ln in s.lines:
                    entry_provider[ln.entry] = ln.provider
            for rate in self.model.report.rates:
                def cell(p, m, rate=rate):
                    num = den = Fraction(0)
                    for entry, values in schedules[m].rate_values.items():
                        if p == ALL or entry_provider.get(entry) == p:
                            num += values[rate.numerator]
                            den += values[rate.denominator]
                    return Ratio(num, den, rate.counts)
                yield rate.name, rate.label, cell
            return
        for outcome in self.model.cohort.outcomes:
            def cell(p, m, name=outcome.name):
                num = den = Fraction(0)
                for ln in schedules[m].lines:
                    if ln.component == name and (p == ALL or ln.provider == p):
                        fig = {f.name: f.value for f in ln.figures}
                        num += Fraction(fig.get("numerator") or 0)
                        den += Fraction(fig.get("denominator") or 0)
                return Ratio(num, den, True)
            yield outcome.name, outcome.label, cell

    # -- cohort: events and bands ------------------------------------------------------------
    def events_table(self) -> Table:
        cols = [Column("provider", "Provider code", "text"), Column("component", "Payment", "text"),
                Column("events", "Events", "count"), Column("events_paid", "Events paid", "count"),
                Column("payment", "Paid", "money")]
        rows = []
        for p in self.providers:
            for c in self.model.payments:
                key = self.key(provider=p, component=c.name)
                if key in self.f.slices:
                    label = c.label + (" (reported, not paid)" if c.reported_only else "")
                    rows.append([p, label, Ref("events", key), Ref("paid", key),
                                 Ref("payment", key)])
        total = ["Total", "", Ref("events", self.key()), Ref("paid", self.key()),
                 Ref("payment", self.key())]
        return Table("events", "Events and payments by outcome over the period", cols, rows,
                     total, "Events: tariffs and outcome events considered; paid: those that "
                     "earned something (after the anti-churning rule and the annual cap).")

    def bands_table(self) -> Table:
        last = self.ps.schedules[-1]
        group = self.model.cohort.group
        codes = self._codes(group)
        cols = [Column("provider", "Provider code", "text"), Column("component", "Outcome", "text"),
                Column("group", self._group_label(group), "text"),
                Column("proportion", "Proportion", "percent"), Column("band", "Band", "text"),
                Column("price", "Price per event", "money")]
        rows = []
        for p in last.providers:
            for ln in p.lines:
                spec = next(c for c in self.model.payments if c.name == ln.component)
                fig = {f.name: f.value for f in ln.figures}
                if spec.reported_only or fig.get("denominator") is None:
                    continue
                ratio = Ratio(Fraction(fig.get("numerator") or 0),
                              Fraction(fig.get("denominator") or 0), True)
                band = str(fig.get("band") or "")
                price = fig.get("price")
                g = dict(ln.groups).get(group, "")
                rows.append([p.provider, spec.label, codes.get(g, g), ratio, band, price])
        window = self.model.cohort.window_months
        return Table("bands", f"Bands for {last.month.label()} (rolling {window} months)", cols,
                     rows, None, "The band each outcome's proportion reached in the last month "
                     "of the period, and the price it pays per event.")

    # -- returns and flags -------------------------------------------------------------------
    def return_statuses(self) -> dict[tuple[str, Month], tuple[str, str]]:
        """(provider, month) -> (status, detail): used | late | resubmitted | missing | faulty
        | none (no active contract)."""
        out: dict[tuple[str, Month], tuple[str, str]] = {}
        unreadable = defaultdict(list)
        for u in self.ps.collection.unreadable:
            for p in self.providers:
                if Path(u.path).name.startswith((f"{p}-", f"{p}_", f"{p} ")):
                    unreadable[(p, Path(u.path).parent.name)].append(Path(u.path).name)
        late = self._late_returns()
        for s in self.ps.schedules:
            resubmitted: dict[str, int] = defaultdict(int)
            for prob in s.problems:
                if prob.code == "resubmitted":
                    resubmitted[prob.message.split(":", 1)[0].removeprefix("provider ")] += 1
            seen = set()
            for p in s.providers:
                seen.add(p.provider)
                key = (p.provider, s.month)
                bad = unreadable.get((p.provider, str(s.month)))
                if p.status != "paid":
                    if p.return_file is None and not bad:
                        out[key] = ("missing", p.reason)
                    else:
                        out[key] = ("faulty", p.reason if p.return_file else
                                    f"unreadable: {', '.join(bad or [])}")
                elif key in late:
                    out[key] = ("late", late[key])
                elif resubmitted.get(p.provider):
                    out[key] = ("resubmitted", f"replaced {resubmitted[p.provider]} time(s)")
                else:
                    out[key] = ("used", "")
            for p in self.providers:
                if p not in seen:
                    out[(p, s.month)] = ("none", "no active contract")
        return out

    def _late_returns(self) -> dict[tuple[str, Month], str]:
        """Returns that arrived after their month was first calculated (from the ledger)."""
        if self.ledger is None:
            return {}
        out = {}
        runs = self.ledger.runs(self.model.name)
        for s in self.ps.schedules:
            first = next((r for r in runs if r.period == str(s.month)), None)
            if first is None:
                continue
            had = {i.provider for i in self.ledger.inputs(first.id)
                   if i.role == "return" and i.period == str(s.month) and i.used}
            for i in s.inputs:
                if (i.role == "return" and i.used and i.month == str(s.month)
                        and i.provider not in had):
                    out[(i.provider, s.month)] = (f"arrived after {s.month} was first "
                                                  f"calculated (run {first['id']})")
        return out

    def returns_table(self, statuses) -> Table:
        cols = [Column("provider", "Provider code", "text")]
        cols += [Column(str(m), m.label()[:3] + " " + str(m.year), "text") for m in self.months]
        rows = [[p, *(statuses[(p, m)][0] if statuses[(p, m)][0] != "none" else ""
                      for m in self.months)] for p in self.providers]
        note = ("used: received and used; late: arrived after the month was first calculated "
                "(from the ledger); resubmitted: replaced by a corrected version; missing: no "
                "return, nothing paid; faulty: a return with errors or one that could not be "
                "read, nothing paid.")
        if self.ledger is None:
            note += " No ledger: lateness is not known."
        return Table("returns", "Returns month by month", cols, rows, None, note)

    def flags_table(self, statuses) -> Table:
        cols = [Column("provider", "Provider code", "text"), Column("name", "Provider name", "text"),
                Column("flag", "Flag", "text"), Column("detail", "Detail", "text")]
        rows: list[list[Any]] = []
        spec = self.model.report
        small = self._small_providers()
        for p in self.providers:
            mine: list[tuple[str, str]] = []
            if self.model.comparison:
                f = self.f.slices.get(self.key(provider=p), Fact())
                block = self.f.slices.get(self.cmp_key(provider=p), Fact()).comparison
                loss = block - f.payment
                if block > 0 and Fraction(loss) > spec.loss_share * Fraction(block):
                    detail = (f"PbR {format_money(f.payment)} against "
                              f"{self.model.comparison.label.lower()} {format_money(block)}: "
                              f"{format_percent(Fraction(loss) / Fraction(block))} "
                              f"({format_money(loss)}) less, more than "
                              f"{format_percent(spec.loss_share)}")
                    if p in small:
                        detail += f"; a small provider ({small[p]})"
                    mine.append(("small provider losing income" if p in small
                                 else "losing income", detail))
            for kind, word in (("missing", "missing returns"), ("faulty", "faulty returns"),
                               ("late", "late returns"), ("resubmitted", "resubmitted returns")):
                hit = [m for m in self.months if statuses[(p, m)][0] == kind]
                if hit:
                    mine.append((word, ", ".join(str(m) for m in hit)))
            caps = [str(s.month) for s in self.ps.schedules for prob in s.problems
                    if prob.code == "cap-reached" and prob.provider == p]
            if caps:
                mine.append(("annual cap reached", ", ".join(caps)))
            for flag, detail in mine:
                rows.append([p, self.names[p], flag, detail])
                self.flags.append({"provider": p, "name": self.names[p], "flag": flag,
                                   "detail": detail})
        return Table("flags", "Flags for the evaluation", cols, rows, None,
                     f"Losing income: PbR more than {format_percent(spec.loss_share)} below the "
                     "comparison over the period." if self.model.comparison else "")

    def _small_providers(self) -> dict[str, str]:
        spec = self.model.report
        if not spec.small_column:
            return {}
        totals: dict[str, Fraction] = defaultdict(Fraction)
        for entry in self.ps.register.entries:
            value = entry.get(spec.small_column)
            if value is not None:
                totals[entry[self.model.register.provider]] += Fraction(value)
        header = self.model.register.column(spec.small_column).header.lower()
        return {p: f"{header} {format_money(Decimal(v.numerator) / v.denominator)} below "
                   f"{format_money(Decimal(spec.small_below.numerator))}"
                for p, v in totals.items() if v < spec.small_below}

    # -- the ledger --------------------------------------------------------------------------
    def ledger_tables(self) -> tuple[Table, Table]:
        adj_cols = [Column("paid_in", "Paid in", "text"), Column("month", "For month", "text"),
                    Column("provider", "Provider code", "text"),
                    Column("component", "Component", "text"),
                    Column("previous", "Previously", "money"), Column("now", "Now", "money"),
                    Column("difference", "Difference", "money"), Column("reason", "Reason", "text")]
        rec_cols = [Column("month", "Month", "text"), Column("state", "State", "text"),
                    Column("run", "Ledger run", "integer"),
                    Column("entitlement", "PbR on the schedule", "money"),
                    Column("adjustments", "Adjustments on the schedule", "money"),
                    Column("due", "Due on the schedule", "money"),
                    Column("now", "PbR worked out now", "money"),
                    Column("to_adjust", "Not yet paid", "money"),
                    Column("approved", "Approved by, at (UTC)", "text")]
        labels = {c.name: c.label for c in self.model.payments}
        adj_rows, rec_rows = [], []
        sums = [ZERO] * 5
        for s in self.ps.schedules:
            approval = self.ledger.approval_of(self.model.name, str(s.month))
            run = (self.ledger.run(approval.run_id) if approval is not None
                   else self.ledger.latest_run(self.model.name, str(s.month)))
            if run is None:
                rec_rows.append([str(s.month), "not calculated", None, None, None, None,
                                 s.total(), s.total(), ""])
                sums[3] += s.total()
                sums[4] += s.total()
                continue
            if approval is not None:
                for a in self.ledger.adjustments(run.id):
                    adj_rows.append([str(s.month), a.month, a.provider,
                                     labels.get(a.component, a.component),
                                     a.previous, a.now, a.difference, a.reason])
                paid, _ = self.ledger.paid(self.model.name, str(s.month))
                to_pay = s.total() - sum(paid.values(), ZERO)
                who = f"{approval.approved_by}, {approval.approved_at[:19].replace('T', ' ')}"
                state = "approved"
            else:
                to_pay, who, state = s.total(), "", "draft"
            row = [str(s.month), state, run.id, run.entitlement,
                   run.adjustments, run.payment, s.total(), to_pay, who]
            rec_rows.append(row)
            for i, v in enumerate(row[3:8]):
                sums[i] += v
        if any(r[1] == "approved" and r[7] for r in rec_rows):
            self.ledger_note = ("Some approved months' figures have changed since they were "
                                "paid: the next month approved pays the differences as "
                                "adjustments.")
        elif any(r[1] != "approved" for r in rec_rows):
            self.ledger_note = "Some months of the period are not approved yet: not paid."
        adj_total = ["Total", "", "", "", None, None,
                     sum((r[6] for r in adj_rows), ZERO), ""] if adj_rows else None
        return (Table("adjustments", "Prior-period adjustments paid on the period's approved "
                      "schedules", adj_cols, adj_rows, adj_total,
                      "From the ledger: changes to earlier months, paid in full on a later "
                      "approved month's schedule."),
                Table("reconciliation", "The period's months in the ledger: approved (paid), "
                      "draft or not calculated", rec_cols, rec_rows, ["Total", "", None, *sums,
                                                                     ""],
                      "Paid means approved. Due on the schedule = PbR on the schedule + "
                      "adjustments. Not yet paid: for an approved month, PbR worked out now − "
                      "everything paid for it so far (the next month approved pays it as an "
                      "adjustment); for a draft or a month not calculated, all of it."))
