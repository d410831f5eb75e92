"""What the signals read: a cohort scheme's client records (presentations, discharges,
reviews, the opening caseload) and the rolling proportions its schedules worked out, as
plain records. `from_period` makes them from a period's returns and schedules, as pricing
chose them (the latest version of each provider's month, none with errors); the benchmark
(benchmarks/signals.py) makes them from histories of its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

from pbr_cli.model.records import Model
from pbr_cli.periods import Month
from pbr_cli.pricing.records import Schedule
from pbr_cli.pricing.worth import PeriodSchedules
from pbr_cli.returns.checked import read_once
from pbr_cli.returns.versions import latest_version


@dataclass(frozen=True, slots=True)
class Presentation:
    provider: str
    client: str
    day: date
    group: str
    opening: bool = False  # in treatment when the scheme started: earns no tariff


@dataclass(frozen=True, slots=True)
class Discharge:
    provider: str
    client: str
    start: date  # the episode's start
    day: date
    group: str


@dataclass(frozen=True, slots=True)
class Review:
    provider: str
    client: str
    day: date
    values: tuple[tuple[str, Any], ...] = ()  # the columns `signals.round` names

    def value(self, column: str) -> Any:
        return dict(self.values).get(column)


@dataclass(frozen=True)
class Proportion:
    """A provider's rolling proportion for one outcome and group in one month, and the
    lower bounds of its bands."""

    provider: str
    month: Month
    outcome: str
    group: str
    value: Fraction
    bounds: tuple[Fraction, ...]


@dataclass
class SignalData:
    months: list[Month]  # the period's months with schedules
    providers: list[str]
    presentations: list[Presentation] = field(default_factory=list)
    discharges: list[Discharge] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    proportions: list[Proportion] = field(default_factory=list)

    @property
    def first(self) -> date:
        return self.months[0].first_day

    @property
    def last(self) -> date:
        return self.months[-1].last_day


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value.date() if hasattr(value, "date") and callable(value.date) else value
    return None


def _rows(frame: Any, columns: list[str]) -> list[tuple[Any, ...]]:
    if frame is None or frame.empty:
        return []
    cols = [frame[c].tolist() if c in frame.columns else [None] * len(frame) for c in columns]
    return list(zip(*cols, strict=True))


def from_period(ps: PeriodSchedules, proportions: list[Proportion] | None = None) -> SignalData:
    """The period's signal data: every record since the scheme start up to the period's
    end (the signals compare the period with what came before), from the return pricing
    uses for each provider and month; and the rolling proportions of the period's
    schedules (`proportions`, where they were gathered as the schedules were made)."""
    model = ps.model
    cohort = model.cohort
    assert cohort is not None
    months = [s.month for s in ps.schedules]
    by_key: dict[tuple[str, Month], list[Any]] = {}
    for r in ps.collection.returns:
        if r.provider is not None and r.month is not None and r.month <= months[-1]:
            by_key.setdefault((r.provider, r.month), []).append(r)
    data = SignalData(months, sorted({p for p, _ in by_key}))
    rnd = model.signals.round_columns if model.signals else ()
    shared: dict[Any, Any] = {}  # each client's id and each day held once, however many rows name it
    for (provider, _), found in sorted(by_key.items()):
        best, _, clash = latest_version(found)
        if clash or best.errors:
            continue
        _read_return(model, best, provider, data, rnd, shared)
    if proportions is None:
        gathered = Proportions(model)
        for s in ps.schedules:
            gathered.gather(s)
        proportions = gathered.listed()
    data.proportions = proportions
    return data


def _read_return(model: Model, r: Any, provider: str, data: SignalData,
                 rnd: tuple[str, ...], shared: dict[Any, Any]) -> None:
    cohort = model.cohort
    assert cohort is not None

    def one(value: Any) -> Any:  # (a national period: a million rows, a few hundred days)
        return shared.setdefault(value, value)

    c, g = cohort.client, cohort.group
    tables = read_once(r.tables)
    sheets = [(cohort.presentations, False)]
    if cohort.opening is not None:
        sheets.append((cohort.opening, True))
    for ref, opening in sheets:
        for client, day, group in _rows(tables.get(ref.sheet), [c, ref.date, g]):
            when = _day(day)
            if client is not None and when is not None:
                data.presentations.append(Presentation(provider, one(str(client)),
                                                       one(when), one(str(group)),
                                                       opening))
    d = cohort.discharges
    for client, start, day, group in _rows(tables.get(d.sheet),
                                           [c, d.episode_start or "", d.date, g]):
        began, when = _day(start), _day(day)
        if client is not None and began is not None and when is not None:
            data.discharges.append(Discharge(provider, one(str(client)),
                                             one(began), one(when),
                                             one(str(group))))
    if cohort.reviews is not None:
        v = cohort.reviews
        for row in _rows(tables.get(v.sheet), [c, v.date, *rnd]):
            when = _day(row[1])
            if row[0] is not None and when is not None:
                values = tuple(zip(rnd, row[2:], strict=True))  # held once for each kind and value:
                kinds = tuple(type(v) for v in row[2:])  # 10 and 10.0 are read apart
                data.reviews.append(Review(provider, one(str(row[0])), one(when),
                                           shared.setdefault((kinds, values), values)))


class Proportions:
    """Each provider's rolling proportion per outcome and group in each month, as its
    schedule's events carry them (a month with no event of the outcome has none), gathered
    one schedule at a time: a report lets each month's events go once they are gathered."""

    def __init__(self, model: Model):
        assert model.cohort is not None
        self.cohort = model.cohort
        self.seen: dict[tuple[str, Month, str, str], Proportion] = {}

    def gather(self, s: Schedule) -> None:
        for e in s.evidence:
            outcome = self.cohort.outcome(e.component)
            if outcome is None or outcome.reported_only or e.proportion is None:
                continue
            bounds = tuple(b.lower for b in outcome.bands.get(e.group, ()))
            key = (e.provider, s.month, e.component, e.group)
            self.seen.setdefault(key, Proportion(e.provider, s.month, e.component, e.group,
                                                 e.proportion, bounds))

    def listed(self) -> list[Proportion]:
        return [self.seen[k] for k in sorted(self.seen)]
