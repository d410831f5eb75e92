"""A service-level scheme in a forecast: a projected month is a recorded return's rows as
they are, dates moved; no pipeline; a what-if may hold a measure at a value."""

from __future__ import annotations

from typing import Any

from pbr_cli.forecast.kinds import Pipeline
from pbr_cli.forecast.moves import dates_moved
from pbr_cli.model.records import Model
from pbr_cli.periods import Month
from pbr_cli.returns.checked import CheckedReturn
from pbr_cli.returns.register import Register, entry_active


class ServiceForecast:
    moves = "each service's rows (its measures for the month)"
    borrows = False  # (another provider's rows are another's services)
    no_basis = ("no return recorded yet; projected from the register: each month of its "
                "contract is paid what the providers with returns are paid that month, "
                "component by component, per pound of contract value active (per day of "
                "contract without a value column)")

    def pipeline(self, model: Model, recorded: list[CheckedReturn],
                 draws: dict[str, list[CheckedReturn]]) -> Pipeline | None:
        return None

    def fits(self, model: Model, register: Register, r: CheckedReturn, month: Month) -> bool:
        """A return may be drawn for a month if it has a row for every register entry of the
        provider active in that month (else a new service would have no row)."""
        if r.provider is None:
            return True
        active = {str(e[model.register.key]) for e in
                  register.provider_entries(r.provider) if entry_active(model, e, month)}
        for sheet in model.sheets:
            if sheet.one_row_per == "register-entry":
                column = sheet.register_column
                frame = r.tables.get(sheet.name)
                if column is None or frame is None:
                    continue
                have = {str(v) for v in frame[column.name].tolist()}
                if not active <= have:
                    return False
        return True

    def move(self, model: Model, pipeline: Pipeline | None, base: CheckedReturn,
             shift: int, moved: CheckedReturn) -> None:
        """The rows as they are, dates moved."""
        moved.tables = {name: dates_moved(model, name, frame, shift)
                        for name, frame in base.tables.items()}

    def outcomes_with_rules(self, model: Model) -> set[str]:
        return set()

    def results(self, model: Model) -> set[str]:
        return set()

    def held_measures(self, model: Model) -> set[str]:
        return {m.name for m in model.measures}

    def priced(self, model: Model) -> set[str]:
        return set()

    def repriced(self, model: Model, name: str, factor: Any) -> Model:
        return model


FORECAST = ServiceForecast()
