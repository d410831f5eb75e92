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
from pbr_cli.pricing.worth import PeriodSchedules
from pbr_cli.returns.versions import latest_version


@dataclass(frozen=True)
class Presentation:
    provider: str
    client: str
    day: date
    group: str
    opening: bool = False  # in treatment when the scheme started: earns no tariff


@dataclass(frozen=True)
class Discharge:
    provider: str
    client: str
    start: date  # the episode's start
    day: date
    group: str


@dataclass(frozen=True)
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


def from_period(ps: PeriodSchedules) -> SignalData:
    """The period's signal data: every record since the scheme start up to the period's
    end (the signals compare the period with what came before), from the return pricing
    uses for each provider and month; and the rolling proportions of the period's
    schedules."""
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
    for (provider, _), found in sorted(by_key.items()):
        best, _, clash = latest_version(found)
        if clash or best.errors:
            continue
        _read_return(model, best, provider, data, rnd)
    data.proportions = _proportions(model, ps)
    return data


def _read_return(model: Model, r: Any, provider: str, data: SignalData,
                 rnd: tuple[str, ...]) -> None:
    cohort = model.cohort
    assert cohort is not None
    c, g = cohort.client, cohort.group
    tables = r.tables
    sheets = [(cohort.presentations, False)]
    if cohort.opening is not None:
        sheets.append((cohort.opening, True))
    for ref, opening in sheets:
        for client, day, group in _rows(tables.get(ref.sheet), [c, ref.date, g]):
            when = _day(day)
            if client is not None and when is not None:
                data.presentations.append(Presentation(provider, str(client), when, str(group),
                                                       opening))
    d = cohort.discharges
    for client, start, day, group in _rows(tables.get(d.sheet),
                                           [c, d.episode_start or "", d.date, g]):
        began, when = _day(start), _day(day)
        if client is not None and began is not None and when is not None:
            data.discharges.append(Discharge(provider, str(client), began, when, str(group)))
    if cohort.reviews is not None:
        v = cohort.reviews
        for row in _rows(tables.get(v.sheet), [c, v.date, *rnd]):
            when = _day(row[1])
            if row[0] is not None and when is not None:
                data.reviews.append(Review(provider, str(row[0]), when,
                                           tuple(zip(rnd, row[2:], strict=True))))


def _proportions(model: Model, ps: PeriodSchedules) -> list[Proportion]:
    """Each provider's rolling proportion per outcome and group in each month, as its
    schedule's events carry them (a month with no event of the outcome has none)."""
    cohort = model.cohort
    assert cohort is not None
    seen: dict[tuple[str, Month, str, str], Proportion] = {}
    for s in ps.schedules:
        for e in s.evidence:
            outcome = cohort.outcome(e.component)
            if outcome is None or outcome.reported_only or e.proportion is None:
                continue
            bounds = tuple(b.lower for b in outcome.bands.get(e.group, ()))
            key = (e.provider, s.month, e.component, e.group)
            seen.setdefault(key, Proportion(e.provider, s.month, e.component, e.group,
                                            e.proportion, bounds))
    return [seen[k] for k in sorted(seen)]
