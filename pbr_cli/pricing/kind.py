"""What every kind of scheme implements: pricing one provider's month.

The engine (pricing/__init__.py) runs the one provider loop: each provider with a register
entry active in the month gets its standing (paid, or withheld and why) and then its kind's
`price`. A kind is made once per calculation, from the month's inputs, so work shared by
every provider (the joined history, the window's sums) is done once.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Protocol

from pbr_cli.model.records import Model
from pbr_cli.periods import Month
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

    @property
    def usable(self) -> dict[tuple[str, Month], CheckedReturn]:
        """The chosen returns without errors of their own (a faulty return is withheld and its
        rows never counted)."""
        return {key: r for key, r in self.chosen.items() if not r.errors}


def formula_values(values: dict[str, Any]) -> dict[str, Any]:
    """Row or register values as formulas read them: numbers exact (Fraction)."""
    return {k: (Fraction(v) if isinstance(v, (int, Decimal)) and not isinstance(v, bool) else v)
            for k, v in values.items()}


def entry_fields(model: Model, entry: Entry) -> dict[str, str]:
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
