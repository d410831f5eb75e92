"""A per-participant scheme in a forecast: participants kept up to date
(participant_pipeline.py), a drawn return's attachments and claims given to them; what-ifs
on the share of each result."""

from __future__ import annotations

import random

from pbr_cli.forecast.kinds import Pipeline
from pbr_cli.forecast.kinds.events import ClientForecast
from pbr_cli.forecast.moves import Volume
from pbr_cli.forecast.participant_pipeline import ParticipantPipeline
from pbr_cli.model.records import Model
from pbr_cli.returns.checked import CheckedReturn


class ParticipantForecast(ClientForecast):
    moves = ("its attachments (new participants) and claims, given to its own "
             "participants who have claimed the same results so far and are "
             "nearest in months since attachment")

    def pipeline(self, model: Model, recorded: list[CheckedReturn],
                 draws: dict[str, list[CheckedReturn]]) -> Pipeline | None:
        quiet = random.Random(0)  # (a pipeline being made draws nothing)
        return ParticipantPipeline(model, recorded, draws, quiet, quiet, Volume())

    def move(self, model: Model, pipeline: Pipeline | None, base: CheckedReturn,
             shift: int, moved: CheckedReturn) -> None:
        assert pipeline is not None and moved.month is not None
        moved.tables = pipeline.month(base, moved.month, shift, moved.provider)

    def results(self, model: Model) -> set[str]:
        people = model.participants
        return {r.name for r in people.results} if people is not None else set()


FORECAST = ParticipantForecast()
