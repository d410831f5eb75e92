"""A forecast's what-ifs: each a change to a rate, a volume or a price, from a month.

    NAME=VALUE [from YYYY-MM]   a parameter of the model (a price, a share, a target) set to
                                VALUE; or, in a service-level scheme, a measure held at VALUE
                                (utilisation=90%)
    NAME+N points               a cohort outcome's events successful N points more often
                                (completion+5 points); minus for fewer
    volume+N%                   N% more new clients or participants a month (minus: fewer)
    NAME+N%                     a per-participant result claimed N% more often
    NAME price+N% [from M]      a cohort outcome's band prices, or the tariff, N% higher

Changes to prices and parameters apply from the month given (default: the first projected
month); changes to rates and volumes apply to the projected months. A what-if changes only
the forecast it makes: nothing is recorded anywhere.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from pbr_cli.errors import PbrError
from pbr_cli.expr import parse as parse_expr
from pbr_cli.forecast.kinds import forecast_kind
from pbr_cli.forecast.simulate import Volume
from pbr_cli.model.records import Dated, Model
from pbr_cli.model.schema import did_you_mean
from pbr_cli.periods import Month
from pbr_cli.pricing import kind_of

_SET = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*=\s*([-+]?[\d.]+)\s*(%?)\s*(?:from\s+(\S+))?\s*$",
                  re.IGNORECASE)
_POINTS = re.compile(r"^\s*([A-Za-z_]\w*)\s*([-+])\s*([\d.]+)\s*(?:points?|pts?)\s*$",
                     re.IGNORECASE)
_SHARE = re.compile(r"^\s*([A-Za-z_]\w*)(\s+price)?\s*([-+])\s*([\d.]+)\s*%\s*"
                    r"(?:from\s+(\S+))?\s*$", re.IGNORECASE)
# a what-if: the model as a month is priced under it, from the model as it was
Change = Callable[[Model, Month], Model]

FORMS = ("NAME=VALUE [from YYYY-MM], NAME+N points, volume+N%, NAME+N%, "
         "NAME price+N% [from YYYY-MM]")


@dataclass
class Scenario:
    """What-ifs gathered: the model as each month is priced under them, and the changes to
    the projected returns."""

    texts: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    volume: Volume = Volume()

    def model_for(self, model: Model) -> Callable[[Month], Model]:
        def priced(month: Month) -> Model:
            changed = model
            for change in self.changes:
                changed = change(changed, month)
            return changed
        return priced


def _number(text: str, what: str) -> Fraction:
    try:
        return Fraction(Decimal(text))
    except (InvalidOperation, ValueError):
        raise PbrError(f"--what-if '{what}': '{text}' is not a number", code="bad-what-if") \
            from None


def _month(text: str | None, what: str, first: Month) -> Month:
    if not text:
        return first
    try:
        return Month.parse(text)
    except PbrError:
        raise PbrError(f"--what-if '{what}': 'from {text}' is not a month (write from "
                       f"{first})", code="bad-what-if") from None


def parse_scenario(texts: list[str], model: Model, first: Month) -> Scenario:
    """The what-ifs as given on the command line, checked against the model; each unknown
    name or form is refused with what is known."""
    scenario = Scenario(texts=list(texts))
    volume = Volume()
    for text in texts:
        if m := _SET.match(text):
            name, value = m.group(1), _number(m.group(2), text)
            if m.group(3):
                value /= 100
            since = _month(m.group(4), text, first)
            scenario.changes.append(_setting(model, name, value, since, text))
        elif m := _POINTS.match(text):
            name, sign, points = m.group(1), m.group(2), _number(m.group(3), text)
            outcomes = forecast_kind(model).outcomes_with_rules(model)
            if name not in outcomes:
                raise _unknown(text, name, "an outcome with a rule on its events", outcomes)
            # a probability for the draws (random.random() is a float), never money or a
            # band: the events drawn are priced exactly by the scheme's rules
            change = float(points / 100) * (1 if sign == "+" else -1)
            volume = dataclasses.replace(volume, outcome_points={**volume.outcome_points,
                                                                 name: change})
        elif m := _SHARE.match(text):
            name, price, sign = m.group(1), bool(m.group(2)), m.group(3)
            share = _number(m.group(4), text) / 100 * (1 if sign == "+" else -1)
            if price:
                since = _month(m.group(5), text, first)
                scenario.changes.append(_price(model, name, share, since, text))
            elif name.lower() == "volume":
                if not kind_of(model).clients:
                    raise PbrError(f"--what-if '{text}': volume is the number of new clients "
                                   f"or participants, and {model.name} has none; change a "
                                   "measure instead (e.g. utilisation=90%)", code="bad-what-if")
                volume = dataclasses.replace(volume, new_people=float(share))
            else:
                results = forecast_kind(model).results(model)
                if name not in results:
                    raise _unknown(text, name, "a per-participant result (or volume)",
                                   results | {"volume"})
                volume = dataclasses.replace(volume, results={**volume.results,
                                                              name: float(share)})
        else:
            raise PbrError(f"--what-if '{text}' is not a what-if pbr understands; the forms "
                           f"are: {FORMS}", code="bad-what-if")
    scenario.volume = volume
    return scenario


def _unknown(text: str, name: str, what: str, known: set[str]) -> PbrError:
    listed = ", ".join(sorted(known)) or "none in this model"
    return PbrError(f"--what-if '{text}': '{name}' is not {what} of this model"
                    f"{did_you_mean(name, known)} (known: {listed})", code="bad-what-if")


def _setting(model: Model, name: str, value: Fraction, since: Month, text: str) -> Change:
    """A parameter set from a month, or a service-level measure held at a value."""
    if name in model.parameters and model.parameters[name].by is None:
        param = model.parameters[name]
        old = (param.value.steps if isinstance(param.value, Dated)
               else ((model.start, param.value),))
        # the figures in force before the month, then the new one (a Dated's first figure
        # also stands for any day before its first date)
        dated = Dated(tuple((d, v) for d, v in old if d < since.first_day)
                      + ((since.first_day, value),))
        return lambda m, month: dataclasses.replace(
            m, parameters={**m.parameters, name: dataclasses.replace(param, value=dated)})
    kind = forecast_kind(model)
    measured = not kind_of(model).clients  # a scheme without clients may hold a measure
    if name in kind.held_measures(model):
        held = parse_expr(str(Decimal(value.numerator) / Decimal(value.denominator)))

        def measure(m: Model, month: Month) -> Model:
            if month < since:
                return m
            return dataclasses.replace(m, measures=tuple(
                dataclasses.replace(x, kind="expr", expr=held, sheet=None, column=None,
                                    where=(), window_months=None) if x.name == name else x
                for x in m.measures))
        return measure
    known = {n for n, p in model.parameters.items() if p.by is None}
    known |= kind.held_measures(model)
    raise _unknown(text, name, "a parameter" + (" or a measure" if measured else ""), known)


def _price(model: Model, name: str, share: Fraction, since: Month, text: str) -> Change:
    """A cohort outcome's band prices, or its tariff, changed by a share from a month."""
    kind = forecast_kind(model)
    names = kind.priced(model)
    if name not in names:
        raise _unknown(text, name, "a cohort outcome or tariff with prices", names)
    factor = 1 + share

    def price(m: Model, month: Month) -> Model:
        if month < since:
            return m
        return kind.repriced(m, name, factor)
    return price

