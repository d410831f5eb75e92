"""What the kinds of scheme whose returns name clients (cohort, per participant) do alike in
a forecast: any recorded return may be drawn for any month; what it becomes comes from the
kind's pipeline."""

from __future__ import annotations

from pbr_cli.forecast.kinds.service import ServiceForecast
from pbr_cli.model.records import Model
from pbr_cli.periods import Month
from pbr_cli.returns.checked import CheckedReturn
from pbr_cli.returns.register import Register


class ClientForecast(ServiceForecast):
    borrows = True  # a provider with no return yet: a return of any provider, its clients
    no_basis = ("no return recorded yet; each projected month of its contract is a return of "
                "any provider drawn at random, its clients its own: a typical provider of the "
                "scheme, not one of its own size, so its figures are the least certain")
    def fits(self, model: Model, register: Register, r: CheckedReturn, month: Month) -> bool:
        return True

    def held_measures(self, model: Model) -> set[str]:
        return set()
