"""The months to come as returns: each provider's return for a projected month is one of its
recorded returns, drawn at random and moved to that month.

What moves with it, by kind of scheme (docs/forecast.md says the same in plain words):

- every date moves by the months between (the 31st becomes the month's last day);
- service-level: the rows as they are (a measure of a month is that month's rows);
- cohort: a new presentation is a new client (a client who had presented within the tariff's
  churn months is instead one of the provider's recently discharged clients, so that
  re-presentation stays as common as it was); a discharge or a review of an episode
  already under way goes to one of the provider's open episodes of the same group, the one
  nearest in age to the original; an open episode is discharged once;
- per participant: a new attachment is a new participant; a claim for someone attached
  earlier goes to one of the provider's participants who has claimed the same results so far
  and is nearest in age (months since attachment) to the original; a claim nobody in the
  pipeline can make is dropped.

The draws are made by `random.Random` with a seed of its own, so a forecast is the same every
time it is made from the same returns. Nothing here prices anything: pricing.calculate prices
the months, real and projected, by the scheme's own rules.
"""

from __future__ import annotations

import random

from pbr_cli.forecast.defects import PROJECTED
from pbr_cli.forecast.kinds import Pipeline, forecast_kind
from pbr_cli.forecast.moves import Volume, months_between
from pbr_cli.model.records import Model
from pbr_cli.periods import Month
from pbr_cli.returns.checked import CheckedReturn
from pbr_cli.returns.register import Register, entry_active

__all__ = ["PROJECTED", "Pipeline", "Projector", "Volume", "pipeline"]


def pipeline(model: Model, recorded: list[CheckedReturn],
             draws: dict[str, list[CheckedReturn]]) -> Pipeline | None:
    """The pipeline the recorded months leave (made once; each simulation takes a fresh copy
    of it): open episodes, or participants; None for a service-level scheme."""
    return forecast_kind(model).pipeline(model, recorded, draws)


class Projector:
    """Makes the projected returns of one simulation, month after month: a pipeline per
    provider (open episodes, or participants and what each has claimed) kept up to date
    as projected months are added."""

    def __init__(self, model: Model, register: Register, recorded: list[CheckedReturn],
                 draws: dict[str, list[CheckedReturn]], rng: random.Random,
                 volume: Volume, start: Pipeline | None = None):
        self.model, self.register, self.rng, self.volume = model, register, rng, volume
        self.draws = draws  # provider -> its recorded returns a month may be drawn from
        self.everyone = [r for p in sorted(draws) for r in draws[p]]
        self.kind = forecast_kind(model)
        # the scenario's own draws (more clients, outcomes made successful) come from a
        # generator of their own, so that the base case's draws stay the same beside it
        changes = random.Random(rng.random())
        if start is None:
            start = pipeline(model, recorded, draws)
        self.pipeline = start.fresh(rng, changes, volume) if start is not None else None

    # -- one projected month ----------------------------------------------------------------

    def month(self, month: Month) -> list[CheckedReturn]:
        out = []
        for provider in self.register.providers():
            if not any(entry_active(self.model, e, month)
                       for e in self.register.provider_entries(provider)):
                continue
            pool = [r for r in self.draws.get(provider, [])
                    if self.kind.fits(self.model, self.register, r, month)]
            if not pool:
                pool = self.draws.get(provider, [])[-1:]
            if not pool and self.kind.borrows:
                pool = self.everyone  # no month of its own yet: a return of any provider
            if not pool:
                continue  # no month recorded: nothing to project from (said in the assumptions)
            base = pool[self.rng.randrange(len(pool))]
            out.append(self._moved(base, month, provider))
        return out

    def _moved(self, base: CheckedReturn, month: Month, provider: str) -> CheckedReturn:
        assert base.month is not None and base.provider is not None
        shift = months_between(base.month, month)
        drawn = base.month if provider == base.provider else f"{base.provider} {base.month}"
        path = f"{PROJECTED}/{month}/{provider} (as {drawn})"
        moved = CheckedReturn(path, "", provider, month, {}, [], dict(base.positions))
        self.kind.move(self.model, self.pipeline, base, shift, moved)
        return moved
