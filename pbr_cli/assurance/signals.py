"""Signals of gaming: for each provider, each signal the model names (`signals.checks`),
its figure beside its own history and its peers, an exact test, and a question a
commissioner might ask. The p-values of every provider and signal are one family, controlled
by the Benjamini-Hochberg rule at the model's `false_discovery` share; a signal is raised
when the rule rejects it. `same_person` is a fact, not a rate: raised when a case is found.

Signals read what was returned and worked out; they never change a payment (a test holds
the schedules to that). docs/assurance.md, "Signals", says what each one reads and why."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction

from pbr_cli.assurance.signals_cohort import SIGNALS, Finding
from pbr_cli.assurance.signals_data import Proportion, SignalData, from_period
from pbr_cli.assurance.signals_stats import benjamini_hochberg, shown_p
from pbr_cli.model.records import Model
from pbr_cli.model.signals import SIGNAL_NAMES
from pbr_cli.money import format_percent
from pbr_cli.pricing.worth import PeriodSchedules
from pbr_cli.reporting.cells import Column, ColumnKind, Table

LABELS = {
    "creaming": "Cheaper group taken (creaming)",
    "parking": "Open with nothing recorded (parking)",
    "churn": "Re-presented just after the churn window",
    "bands": "Proportion just above a band bound",
    "deadline": "Discharges at the month's end",
    "same_person": "Same person at two providers",
    "first_of_month": "Dates on the 1st",
    "closed_days": "Dates when the service is closed",
    "round_figures": "Round figures",
}


@dataclass
class Signals:
    model: Model
    period: str
    months: list[str]
    level: Fraction
    findings: list[Finding]

    @property
    def raised(self) -> list[Finding]:
        return [f for f in self.findings if f.raised]

    @property
    def tested(self) -> int:
        return sum(f.p is not None for f in self.findings)

    def describe(self) -> str:
        return (f"{len(self.raised)} signal(s) raised of {len(self.findings)} worked out "
                f"({self.tested} tested, false alarms held to {format_percent(self.level)} of "
                "those raised by the Benjamini-Hochberg rule). Signals never change a payment.")


def assess(model: Model, data: SignalData, period: str = "") -> Signals:
    """Every signal the model names for every provider, with the family's decisions."""
    spec = model.signals
    assert spec is not None
    findings: list[Finding] = []
    for name in SIGNAL_NAMES:
        if name in spec.checks:
            findings.extend(SIGNALS[name](data, spec, model))
    tested = [i for i, f in enumerate(findings) if f.p is not None]
    decisions = benjamini_hochberg([findings[i].p for i in tested],  # type: ignore[misc]
                                   spec.false_discovery)
    for i, raised in zip(tested, decisions, strict=True):
        findings[i] = dataclasses.replace(findings[i], raised=raised)
    findings.sort(key=lambda f: (f.provider, SIGNAL_NAMES.index(f.signal)))
    return Signals(model, period, [str(m) for m in data.months], spec.false_discovery, findings)


def period_signals(ps: PeriodSchedules, proportions: list[Proportion] | None = None) -> Signals:
    """The signals of a period worked out from its returns and schedules (and the rolling
    `proportions`, where they were gathered as the schedules were made)."""
    return assess(ps.model, from_period(ps, proportions), ps.period.text)


COLUMNS = [
    Column("provider", "Provider", ColumnKind.TEXT),
    Column("signal", "Signal", ColumnKind.TEXT),
    Column("raised", "Raised", ColumnKind.TEXT),
    Column("figure", "Figure", ColumnKind.TEXT),
    Column("own", "Own history", ColumnKind.TEXT),
    Column("peers", "Other providers", ColumnKind.TEXT),
    Column("p_value", "p-value", ColumnKind.TEXT),
    Column("test", "Test", ColumnKind.TEXT),
    Column("question", "What to ask", ColumnKind.TEXT),
]


def signals_table(signals: Signals) -> Table:
    """The Signals table the report and `pbr assure signals` show: raised ones first."""
    rows = [[f.provider, LABELS[f.signal], "raised" if f.raised else "", f.figure, f.own,
             f.peers, shown_p(f.p), f.test, f.question if f.raised else ""]
            for f in sorted(signals.findings, key=lambda f: not f.raised)]
    return Table("signals", "Signals of gaming (never a payment)", COLUMNS, rows,
                 note=signals.describe() + " A raised signal is a question to ask, not a "
                 "finding: the figure and the test say how unusual the provider's records are.")
