"""What a period report and a publication ask of a kind of scheme.

Each kind's part is one module here (service.py, cohort.py, participants.py), named in the
table of kinds (pricing.KINDS); `events.py` holds what the kinds whose lines carry events
report alike. A report's tables and a publication's counts ask the model's part through
`reporting_kind` and never branch on the kind themselves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

from pbr_cli.model.records import Model
from pbr_cli.periods import Month
from pbr_cli.pricing import kind_of
from pbr_cli.pricing.records import Schedule
from pbr_cli.reporting.cells import Column, Ratio, Table
from pbr_cli.reporting.counts import Item
from pbr_cli.reporting.record_keys import Records
from pbr_cli.reporting.slices import Slices

# (provider, month, item, *group values, OF_WHICH or REST) -> count
MonthFigures = defaultdict[tuple[str, ...], int]


# a rate's cell for a provider (or all of them) and a month
RateCell = Callable[[str, Month], Ratio]


@dataclass(frozen=True)
class Rates:
    """The rates month by month: the period's column, the note under them, each rate
    (name, label, its cells), and whether a period's rate is its last month's (a rolling
    proportion) rather than the months' figures added up."""

    period: Column
    note: str
    sources: Iterable[tuple[str, str, RateCell]]
    last_month: bool


def summed(sums: dict[Month, dict[str, list[Fraction]]], counts: bool) -> RateCell:
    """A rate's cells from its numerator and denominator per month and provider."""
    def cell(p: str, m: Month) -> Ratio:
        num, den = sums.get(m, {}).get(p, (Fraction(0), Fraction(0)))
        return Ratio(num, den, counts)
    return cell


class ReportingKind(Protocol):
    """One kind of scheme as a period report and a publication see it."""

    # its lines carry events (events, those paid, what the annual cap took)
    evented: bool
    # the title of the rates month by month, all providers
    rates_title: str

    def groups(self, model: Model) -> list[str]:
        """The columns a report's totals (and a finance CSV's lines) are broken down by."""
        ...

    def publication_groups(self, model: Model) -> list[str]:
        """The columns a publication's counts are broken down by."""
        ...

    def group_codes(self, model: Model) -> str | None:
        """The code list of a group column the register does not name (None: none)."""
        ...

    def cap_label(self, model: Model) -> str | None:
        """The heading of what a cap or maximum took from a provider; None without one."""
        ...

    def group_table(self, sl: Slices, group: str,
                    ) -> tuple[list[Column], list[list[Any]], list[Any]]:
        """A report's table by one group: its columns, rows and total."""
        ...

    def rates(self, sl: Slices) -> Rates:
        """What the rates month by month are, and how a period's rate is made."""
        ...

    def tables(self, sl: Slices) -> list[Table]:
        """The report's tables only this kind has, in the order the outputs show them."""
        ...

    def publication_items(self, model: Model) -> list[Item]:
        """What a publication counts."""
        ...

    def add_month_figures(self, s: Schedule, items: list[Item], groups: list[str],
                          out: MonthFigures) -> None:
        """Add a month's schedule to a publication's true month figures."""
        ...

    def month_records(self, s: Schedule, items: list[Item], groups: list[str]) -> Records:
        """Each of a month's publication figures' records (pbr_cli/reporting/record_keys.py)."""
        ...


def reporting_kind(model: Model) -> ReportingKind:
    """The model's kind of scheme, as a report and a publication see it."""
    part: ReportingKind = kind_of(model).part("reporting")
    return part
