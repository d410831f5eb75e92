"""A cohort scheme in a forecast: open episodes kept up to date (cohort_pipeline.py), a
drawn return's records given to them; what-ifs on outcomes' events and on prices."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from pbr_cli.forecast.cohort_pipeline import CohortPipeline
from pbr_cli.forecast.kinds import Pipeline
from pbr_cli.forecast.kinds.events import ClientForecast
from pbr_cli.forecast.moves import Volume
from pbr_cli.model.records import Band, Model
from pbr_cli.returns.checked import CheckedReturn


class CohortForecast(ClientForecast):
    moves = ("its presentations, discharges and reviews, given to its own open "
             "episodes of the same group and nearest age")

    def pipeline(self, model: Model, recorded: list[CheckedReturn],
                 draws: dict[str, list[CheckedReturn]]) -> Pipeline | None:
        quiet = random.Random(0)  # (a pipeline being made draws nothing)
        return CohortPipeline(model, recorded, quiet, quiet, Volume())

    def move(self, model: Model, pipeline: Pipeline | None, base: CheckedReturn,
             shift: int, moved: CheckedReturn) -> None:
        assert pipeline is not None and moved.month is not None
        moved.cohort = pipeline.month(base, moved.month, shift, moved.provider)

    def outcomes_with_rules(self, model: Model) -> set[str]:
        if model.cohort is None:
            return set()
        return {o.name for o in model.cohort.outcomes if o.when is not None}

    def priced(self, model: Model) -> set[str]:
        cohort = model.cohort
        names = ({o.name for o in cohort.outcomes if not o.reported_only} if cohort else set())
        if cohort is not None and cohort.tariff is not None:
            names.add(cohort.tariff.name)
        return names

    def repriced(self, model: Model, name: str, factor: Any) -> Model:
        """An outcome's band prices, or the tariff's, multiplied by `factor`."""
        c = model.cohort
        if c is None:
            return model
        outcomes = tuple(dataclasses.replace(o, bands={g: tuple(Band(b.lower, b.price * factor)
                                                                for b in bands)
                                                       for g, bands in o.bands.items()})
                         if o.name == name else o for o in c.outcomes)
        tariff = c.tariff
        if tariff is not None and tariff.name == name:
            tariff = dataclasses.replace(tariff, prices={g: p * factor
                                                         for g, p in tariff.prices.items()})
        return dataclasses.replace(model, cohort=dataclasses.replace(c, outcomes=outcomes,
                                                                     tariff=tariff))


FORECAST = CohortForecast()
