"""What a forecast asks of a kind of scheme: the pipeline its projected months keep up to
date, which recorded return a projected month may be drawn from, what a drawn return
becomes, and which what-ifs it understands.

Each kind's part is one module here (service.py, cohort.py, participants.py), named in the
table of kinds (pricing.KINDS); simulate.py and scenario.py ask the model's part through
`forecast_kind` and never branch on the kind themselves.
"""

from __future__ import annotations

import random
from typing import Any, Protocol

from pbr_cli.forecast.moves import Volume
from pbr_cli.model.records import Model
from pbr_cli.periods import Month
from pbr_cli.pricing import kind_of
from pbr_cli.returns.checked import CheckedReturn
from pbr_cli.returns.register import Register


class Pipeline(Protocol):
    """Each provider's clients as the recorded months leave them (open episodes, or
    participants), kept up to date as projected months are added."""

    def fresh(self, rng: random.Random, changes: random.Random, volume: Volume) -> Any:
        """A copy for one simulation, its draws from `rng` and `changes`."""
        ...

    def month(self, base: CheckedReturn, month: Month, shift: int,
              provider: str | None = None) -> Any:
        """What the drawn return `base` becomes in `month` (`shift` months later), as
        `provider`'s (default: its own)."""
        ...


class ForecastKind(Protocol):
    """One kind of scheme as a forecast sees it."""

    # what a projected month's return is made of, in plain words (the forecast's assumptions)
    moves: str
    # whether a provider with no return of its own yet draws from every provider's returns
    # (a client-level scheme, whose clients are its own) or is projected at nothing
    borrows: bool
    # how a provider with no return of its own yet is projected, in plain words
    no_basis: str

    def pipeline(self, model: Model, recorded: list[CheckedReturn],
                 draws: dict[str, list[CheckedReturn]]) -> Pipeline | None:
        """The pipeline the recorded months leave (None: the kind keeps none)."""
        ...

    def fits(self, model: Model, register: Register, r: CheckedReturn, month: Month) -> bool:
        """Whether the recorded return `r` may be drawn for `month`."""
        ...

    def move(self, model: Model, pipeline: Pipeline | None, base: CheckedReturn,
             shift: int, moved: CheckedReturn) -> None:
        """Fill the projected return `moved` from the drawn one, `shift` months later."""
        ...

    def outcomes_with_rules(self, model: Model) -> set[str]:
        """The outcomes whose events a what-if may make more or less likely."""
        ...

    def results(self, model: Model) -> set[str]:
        """The results whose share a what-if may change."""
        ...

    def held_measures(self, model: Model) -> set[str]:
        """The measures a what-if may hold at a value."""
        ...

    def priced(self, model: Model) -> set[str]:
        """The outcomes (and tariff) whose prices a what-if may change."""
        ...

    def repriced(self, model: Model, name: str, factor: Any) -> Model:
        """The model with the prices of `name` multiplied by `factor`."""
        ...


def forecast_kind(model: Model) -> ForecastKind:
    """The model's kind of scheme, as a forecast sees it."""
    part: ForecastKind = kind_of(model).part("forecast")
    return part
