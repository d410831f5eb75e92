"""What a kind of scheme is: one entry in the table of kinds (pricing.KINDS), naming the
part each concern asks of it, and the small protocol of its pricing part.

Each concern — pricing, reporting, forecast, outputs — asks what differs by kind of scheme
through that concern's own protocol (`Kind` here; `reporting.kinds.ReportingKind`,
`forecast.kinds.ForecastKind`, `outputs.kinds.OutputKind`), and finds the kind's
implementation of it through its `SchemeKind` entry. An entry names each part by its module
and attribute, and the part is imported when first asked for: so the table sits below every
concern that reads it, and a kind's modules are imported only when a model of that kind is
used.

The engine (pricing/__init__.py) runs the one provider loop: each provider with a register
entry active in the month gets its standing (paid, or withheld and why) and then its kind's
`price`. A kind is made once per calculation, from the month's inputs, so work shared by
every provider (the joined history, the window's sums) is done once.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Protocol, TypedDict

from pbr_cli.model.records import Model
from pbr_cli.periods import Month
from pbr_cli.pricing.earlier import Paid
from pbr_cli.pricing.records import Evidence, ProviderResult
from pbr_cli.problems import Problem
from pbr_cli.returns.checked import CheckedReturn
from pbr_cli.returns.register import Register

Entry = dict[str, Any]  # one register row


@dataclass
class MonthInputs:
    """What a calculation for one month reads: the returns chosen per (provider, month) of
    its history (returns/versions.py decides between resubmissions), and where problems go."""

    model: Model
    register: Register
    month: Month
    chosen: dict[tuple[str, Month], CheckedReturn]
    problems: list[Problem]
    # returns of months after this one read only for what they declare of the time before
    # the scheme (a cohort's opening caseload), by (provider, month)
    later: dict[tuple[str, Month], CheckedReturn] = field(default_factory=dict)
    # what the ledger says was paid for earlier months (None: no ledger was read)
    earlier: Paid | None = None
    # the returns' client-level records are read once, by the history, then let go
    # (pricing.worth.month_schedule's `last`)
    records_once: bool = False

    @property
    def usable(self) -> dict[tuple[str, Month], CheckedReturn]:
        """The chosen returns without errors of their own (a faulty return is withheld and its
        rows never counted)."""
        return {key: r for key, r in self.chosen.items() if not r.errors}


def formula_values(values: dict[str, Any]) -> dict[str, Any]:
    """Row or register values as formulas read them: numbers exact (Fraction)."""
    return {k: (Fraction(v) if isinstance(v, (int, Decimal)) and not isinstance(v, bool) else v)
            for k, v in values.items()}


class EntryFields(TypedDict):
    """What a payment line says of its register entry."""

    provider: str
    entry: str
    entry_label: str


def entry_fields(model: Model, entry: Entry) -> EntryFields:
    """What every payment line says of its register entry: provider, entry and its label."""
    reg = model.register
    return {"provider": entry[reg.provider], "entry": entry[reg.key],
            "entry_label": str(entry.get(reg.label) or "") if reg.label else ""}


class Kind(Protocol):
    """One kind of scheme (service-level, cohort, per participant)."""

    # per register entry, the exact figures the model's report rates add up
    rate_values: dict[str, dict[str, Fraction]]

    def price(self, result: ProviderResult, entries: list[Entry]) -> list[Evidence]:
        """Set `result.lines` for the provider's active register entries; return the events
        behind them, in the order the schedule shows them."""
        ...


@dataclass(frozen=True)
class SchemeKind:
    """One kind of scheme: what is true of every model of it, and where each concern finds
    its part ("module:attribute")."""

    name: str  # Model.kind
    # its returns name clients (episodes or participants): a calculation reads every month
    # since the scheme start, and each line carries its events
    clients: bool
    pricing: str  # a Callable[[MonthInputs], Kind]
    reporting: str  # a reporting.kinds.ReportingKind
    forecast: str  # a forecast.kinds.ForecastKind
    outputs: str  # an outputs.kinds.OutputKind

    def part(self, concern: str) -> Any:
        """The kind's part for a concern ("pricing", "reporting", "forecast", "outputs")."""
        return _load(getattr(self, concern))


@functools.cache
def _load(where: str) -> Any:
    module, _, attribute = where.partition(":")
    return getattr(importlib.import_module(module), attribute)
