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

from pbr_cli.forecast.cohort_pipeline import CohortPipeline
from pbr_cli.forecast.moves import Volume, dates_moved, months_between
from pbr_cli.forecast.participant_pipeline import ParticipantPipeline
from pbr_cli.model.records import Model
from pbr_cli.periods import Month
from pbr_cli.returns.checked import CheckedReturn
from pbr_cli.returns.register import Register, entry_active

__all__ = ["PROJECTED", "Pipeline", "Projector", "Volume", "pipeline"]

PROJECTED = "projected"  # the path of a projected return starts with this


Pipeline = CohortPipeline | ParticipantPipeline


def pipeline(model: Model, recorded: list[CheckedReturn],
             draws: dict[str, list[CheckedReturn]]) -> Pipeline | None:
    """The pipeline the recorded months leave (made once; each simulation takes a fresh copy
    of it): open episodes, or participants; None for a service-level scheme."""
    quiet = random.Random(0)  # (a pipeline being made draws nothing)
    if model.cohort is not None:
        return CohortPipeline(model, recorded, quiet, quiet, Volume())
    if model.participants is not None:
        return ParticipantPipeline(model, recorded, draws, quiet, quiet, Volume())
    return None


class Projector:
    """Makes the projected returns of one simulation, month after month: a pipeline per
    provider (open episodes, or participants and what each has claimed) kept up to date
    as projected months are added."""

    def __init__(self, model: Model, register: Register, recorded: list[CheckedReturn],
                 draws: dict[str, list[CheckedReturn]], rng: random.Random,
                 volume: Volume, start: Pipeline | None = None):
        self.model, self.register, self.rng, self.volume = model, register, rng, volume
        self.draws = draws  # provider -> its recorded returns a month may be drawn from
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
            pool = [r for r in self.draws.get(provider, []) if self._fits(r, month)]
            if not pool:
                pool = self.draws.get(provider, [])[-1:]
            if not pool:
                continue  # no month recorded: nothing to project from (said in the assumptions)
            base = pool[self.rng.randrange(len(pool))]
            out.append(self._moved(base, month))
        return out

    def _fits(self, r: CheckedReturn, month: Month) -> bool:
        """A service-level return may be drawn for a month if it has a row for every register
        entry of the provider active in that month (else a new service would have no row)."""
        if self.model.client_level or r.provider is None:
            return True
        active = {str(e[self.model.register.key]) for e in
                  self.register.provider_entries(r.provider) if entry_active(self.model, e, month)}
        for sheet in self.model.sheets:
            if sheet.one_row_per == "register-entry":
                column = sheet.register_column
                frame = r.tables.get(sheet.name)
                if column is None or frame is None:
                    continue
                have = {str(v) for v in frame[column.name].tolist()}
                if not active <= have:
                    return False
        return True

    def _moved(self, base: CheckedReturn, month: Month) -> CheckedReturn:
        assert base.month is not None and base.provider is not None
        shift = months_between(base.month, month)
        path = f"{PROJECTED}/{month}/{base.provider} (as {base.month})"
        moved = CheckedReturn(path, "", base.provider, month, {}, [], dict(base.positions))
        if isinstance(self.pipeline, CohortPipeline):
            moved.cohort = self.pipeline.month(base, month, shift)
        elif isinstance(self.pipeline, ParticipantPipeline):
            moved.tables = self.pipeline.month(base, month, shift)
        else:  # service-level: the rows as they are, dates moved
            moved.tables = {name: dates_moved(self.model, name, frame, shift)
                            for name, frame in base.tables.items()}
        return moved
