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

import dataclasses
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pbr_cli.cohort_records import OPENING, record_columns
from pbr_cli.model.records import Model
from pbr_cli.periods import Month, add_months
from pbr_cli.register import Register, entry_active
from pbr_cli.returns.checked import CheckedReturn

PROJECTED = "projected"  # the path of a projected return starts with this


@dataclass(frozen=True)
class Volume:
    """What a scenario changes in the projected returns (scenario.py parses it)."""

    new_people: float = 0.0  # presentations or attachments: +0.10 is 10% more
    outcome_points: dict[str, float] = field(default_factory=dict)  # cohort outcome -> +points
    results: dict[str, float] = field(default_factory=dict)  # participants result -> +share


def shift_day(day: date, months: int) -> date:
    return add_months(day, months)


def _months_between(a: Month, b: Month) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def _scaled(n: int, change: float, rng: random.Random) -> int:
    """How many copies of one row a change of `change` (e.g. +0.1) makes: 1 plus or minus a
    draw, so that on average there are 1 + change."""
    whole = int(change) if change >= 0 else 0
    rest = change - whole
    copies = n + whole
    if rest > 0 and rng.random() < rest:
        copies += 1
    if change < 0 and rng.random() < -change:
        copies -= 1
    return max(0, copies)


@dataclass
class _Episode:
    client: str
    start: int  # day ordinal
    group: str
    month: Month


@dataclass
class _Person:
    id: str
    month: Month
    codes: frozenset[str] = frozenset()


class Projector:
    """Makes the projected returns of one simulation, month after month: a pipeline per
    provider (open episodes, or participants and what each has claimed) kept up to date
    as projected months are added."""

    def __init__(self, model: Model, register: Register, recorded: list[CheckedReturn],
                 draws: dict[str, list[CheckedReturn]], rng: random.Random,
                 volume: Volume):
        self.model, self.register, self.rng, self.volume = model, register, rng, volume
        self.draws = draws  # provider -> its recorded returns a month may be drawn from
        self.episodes: dict[str, list[_Episode]] = defaultdict(list)  # provider -> open
        self.discharged: dict[str, list[tuple[str, int]]] = defaultdict(list)  # (client, day)
        self.first_seen: dict[str, list[int]] = defaultdict(list)  # client -> presentations
        self.people: dict[str, dict[str, _Person]] = defaultdict(dict)
        self.attached_at: dict[tuple[str, str], Month] = {}  # (provider, id) -> month
        self.claimed_before: dict[tuple[str, str], dict[Month, frozenset[str]]] = {}
        if model.cohort is not None:
            self._cohort_pipeline(recorded)
        elif model.participants is not None:
            self._participant_pipeline(recorded)

    # -- the pipeline as the recorded months leave it ---------------------------------------

    def _columns(self, r: CheckedReturn) -> dict[str, Any]:
        return r.cohort if r.cohort is not None else record_columns(self.model, r)

    def _cohort_pipeline(self, recorded: list[CheckedReturn]) -> None:
        import numpy as np

        opened: dict[tuple[str, str, int], _Episode] = {}
        closed: list[tuple[str, str, int, int]] = []
        for r in sorted(recorded, key=lambda r: (str(r.month), r.path)):
            if r.provider is None or r.errors:
                continue
            cols = self._columns(r)
            for kind in ("presentations", OPENING):
                part = cols.get(kind)
                if not part:
                    continue
                days = np.frombuffer(part["day"], np.int64).tolist()
                for client, day, group in zip(part["client"], days, part["group"], strict=True):
                    opened[(r.provider, client, day)] = _Episode(
                        client, day, group, Month.of(date.fromordinal(day)))
                    if kind == "presentations":
                        self.first_seen[client].append(day)
            part = cols.get("discharges")
            if part:
                days = np.frombuffer(part["day"], np.int64).tolist()
                starts = np.frombuffer(part["start"], np.int64).tolist()
                for client, day, start in zip(part["client"], days, starts, strict=True):
                    closed.append((r.provider, client, start, day))
        for provider, client, start, day in closed:
            opened.pop((provider, client, start), None)
            self.discharged[provider].append((client, day))
        for (provider, _, _), ep in sorted(opened.items(), key=lambda kv: kv[0]):
            self.episodes[provider].append(ep)

    def _participant_pipeline(self, recorded: list[CheckedReturn]) -> None:
        spec = self.model.participants
        assert spec is not None
        claims: list[tuple[str, str, Month, str]] = []
        for r in sorted(recorded, key=lambda r: (str(r.month), r.path)):
            if r.provider is None or r.errors or r.month is None:
                continue
            frame = r.tables.get(spec.attachments.sheet)
            if frame is not None and not frame.empty:
                for pid in frame[spec.id].tolist():
                    if pid is not None:
                        self.people[r.provider][str(pid)] = _Person(str(pid), r.month)
                        self.attached_at[(r.provider, str(pid))] = r.month
            frame = r.tables.get(spec.claims.sheet)
            if frame is not None and not frame.empty:
                for pid, code in zip(frame[spec.id].tolist(), frame[spec.outcome].tolist(),
                                     strict=True):
                    if pid is not None and code is not None:
                        claims.append((r.provider, str(pid), r.month, str(code)))
        for provider, pid, month, code in claims:
            before = self.claimed_before.setdefault((provider, pid), {})
            person = self.people[provider].get(pid)
            if person is not None:
                before.setdefault(month, person.codes)
                self.people[provider][pid] = dataclasses.replace(person,
                                                                 codes=person.codes | {code})

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
        shift = _months_between(base.month, month)
        path = f"{PROJECTED}/{month}/{base.provider} (as {base.month})"
        moved = CheckedReturn(path, "", base.provider, month, {}, [], dict(base.positions))
        if self.model.cohort is not None:
            moved.cohort = self._cohort_month(base, month, shift)
        elif self.model.participants is not None:
            moved.tables = self._participant_month(base, month, shift)
        else:
            moved.tables = {name: self._dates_moved(name, frame, shift)
                            for name, frame in base.tables.items()}
        return moved

    def _dates_moved(self, sheet: str, frame, shift: int):
        spec = self.model.sheet(sheet)
        frame = frame.copy()
        if spec is None:
            return frame
        for column in spec.columns:
            if column.type == "date" and column.name in frame.columns:
                frame[column.name] = [shift_day(v, shift) if isinstance(v, date) else v
                                      for v in frame[column.name].tolist()]
        return frame

    # -- cohort ------------------------------------------------------------------------------

    def _nearest(self, candidates: list, age: int, month: Month) -> int | None:
        """The index of a candidate nearest in age (months since it started) to `age`, drawn
        at random among equals."""
        if not candidates:
            return None
        gaps = [abs(_months_between(c.month, month) - age) for c in candidates]
        least = min(gaps)
        best = [i for i, g in enumerate(gaps) if g == least]
        return best[self.rng.randrange(len(best))]

    def _cohort_month(self, base: CheckedReturn, month: Month, shift: int) -> dict[str, Any]:
        import numpy as np

        cohort = self.model.cohort
        assert cohort is not None and base.provider is not None and base.month is not None
        provider = base.provider
        cols = self._columns(base)
        churn = cohort.tariff.churn_months if cohort.tariff is not None else 12
        out: dict[str, Any] = {}
        renamed: dict[str, str] = {}  # the base's new clients -> their projected ids
        new_eps: list[_Episode] = []
        part = cols.get("presentations")
        if part:
            days = np.frombuffer(part["day"], np.int64).tolist()
            rows = np.frombuffer(part["row"], np.int64).tolist()
            keep: dict[str, list] = {"row": [], "client": [], "day": [], "group": []}
            for i, (client, day, group) in enumerate(zip(part["client"], days, part["group"],
                                                         strict=True)):
                copies = _scaled(1, self.volume.new_people, self.rng)
                for copy in range(copies):
                    new_day = shift_day(date.fromordinal(day), shift).toordinal()
                    ident = self._presenting(provider, client, day, new_day, churn, copy, month)
                    if copy == 0:
                        renamed[client] = ident
                    keep["row"].append(rows[i])
                    keep["client"].append(ident)
                    keep["day"].append(new_day)
                    keep["group"].append(group)
                    new_eps.append(_Episode(ident, new_day, group, month))
            out["presentations"] = self._part(keep, {})
        for kind in ("discharges", "reviews"):
            part = cols.get(kind)
            if not part:
                continue
            days = np.frombuffer(part["day"], np.int64).tolist()
            rows = np.frombuffer(part["row"], np.int64).tolist()
            starts = (np.frombuffer(part["start"], np.int64).tolist() if kind == "discharges"
                      else days)
            holds = {name: np.frombuffer(v, bool).tolist() for name, v in part["holds"].items()}
            holds = self._points(holds)
            keep = {"row": [], "client": [], "day": [], "group": [], "start": []}
            kept_holds: dict[str, list[bool]] = {name: [] for name in holds}
            for i, (client, day, group) in enumerate(zip(part["client"], days, part["group"],
                                                         strict=True)):
                new_day = shift_day(date.fromordinal(day), shift).toordinal()
                episode = self._episode_for(provider, client, starts[i], base.month, month,
                                            group, renamed, new_eps, kind)
                if episode is None:
                    continue  # nobody in the pipeline to have it: dropped
                keep["row"].append(rows[i])
                keep["client"].append(episode.client)
                keep["day"].append(max(new_day, episode.start))
                keep["group"].append(group)
                keep["start"].append(episode.start)
                for name in holds:
                    kept_holds[name].append(holds[name][i])
                if kind == "discharges":
                    self.discharged[provider].append((episode.client, new_day))
            if kind == "reviews":
                del keep["start"]
            out[kind] = self._part(keep, kept_holds)
        self.episodes[provider].extend(new_eps)
        return out

    def _presenting(self, provider: str, client: str, day: int, new_day: int, churn: int,
                    copy: int, month: Month) -> str:
        """Who presents: a new client, or, when the original client had presented within
        the churn months before, one of the provider's recently discharged clients."""
        earlier = [d for d in self.first_seen.get(client, []) if d < day]
        since = add_months(date.fromordinal(new_day), -churn).toordinal()
        if earlier and max(earlier) >= add_months(date.fromordinal(day), -churn).toordinal():
            recent = sorted({c for c, d in self.discharged.get(provider, []) if d >= since})
            if recent:
                return recent[self.rng.randrange(len(recent))]
        return f"{client}~{month}" + (f"~{copy}" if copy else "")

    def _episode_for(self, provider: str, client: str, start: int, was: Month, month: Month,
                     group: str, renamed: dict[str, str], new_eps: list[_Episode],
                     kind: str) -> _Episode | None:
        if client in renamed and Month.of(date.fromordinal(start)) == was:
            ident = renamed[client]
            return next((e for e in new_eps if e.client == ident), None)
        age = _months_between(Month.of(date.fromordinal(start)), was)
        open_eps = [e for e in self.episodes.get(provider, []) if e.group == group]
        i = self._nearest(open_eps, age, month)
        if i is None:
            return None
        episode = open_eps[i]
        if kind == "discharges":
            self.episodes[provider].remove(episode)
        return episode

    def _points(self, holds: dict[str, list[bool]]) -> dict[str, list[bool]]:
        """An outcome's events made more (or less) often successful by the scenario's points."""
        out = {}
        for name, values in holds.items():
            points = self.volume.outcome_points.get(name)
            if not points or not values:
                out[name] = values
                continue
            share = sum(values) / len(values)
            if points > 0:
                p = 1.0 if share >= 1 else min(1.0, points / (1 - share))
                out[name] = [v or self.rng.random() < p for v in values]
            else:
                p = 1.0 if share <= 0 else min(1.0, -points / share)
                out[name] = [v and not self.rng.random() < p for v in values]
        return out

    @staticmethod
    def _part(keep: dict[str, list], holds: dict[str, list[bool]]) -> dict[str, Any]:
        import numpy as np

        part: dict[str, Any] = {
            "n": len(keep["client"]),
            "row": np.array(keep["row"], np.int64).tobytes(),
            "client": keep["client"],
            "day": np.array(keep["day"], np.int64).tobytes(),
            "group": keep["group"],
            "holds": {name: np.array(v, bool).tobytes() for name, v in holds.items()},
        }
        if "start" in keep:
            part["start"] = np.array(keep["start"], np.int64).tobytes()
        return part

    # -- per participant ---------------------------------------------------------------------

    def _participant_month(self, base: CheckedReturn, month: Month, shift: int):
        import pandas as pd

        spec = self.model.participants
        assert spec is not None and base.provider is not None and base.month is not None
        provider = base.provider
        tables = {name: self._dates_moved(name, frame, shift)
                  for name, frame in base.tables.items()}
        renamed: dict[str, str] = {}
        frame = tables.get(spec.attachments.sheet)
        if frame is not None and not frame.empty:
            rows = []
            for record in frame.to_dict("records"):
                pid = record.get(spec.id)
                copies = _scaled(1, self.volume.new_people, self.rng)
                for copy in range(copies):
                    ident = f"{pid}~{month}" + (f"~{copy}" if copy else "")
                    if copy == 0:
                        renamed[str(pid)] = ident
                    rows.append({**record, spec.id: ident})
                    self.people[provider][ident] = _Person(ident, month)
            tables[spec.attachments.sheet] = pd.DataFrame(rows, columns=frame.columns)
        frame = tables.get(spec.claims.sheet)
        if frame is not None and not frame.empty:
            codes_of = self._result_of()
            by_person: dict[str, list[dict]] = defaultdict(list)
            for record in frame.to_dict("records"):
                code = str(record.get(spec.outcome))
                change = self.volume.results.get(codes_of.get(code, ""), 0.0)
                for _ in range(_scaled(1, change, self.rng)):
                    by_person[str(record.get(spec.id))].append(record)
            rows = []
            chosen_now: set[str] = set()
            for pid, records in by_person.items():
                found = renamed.get(pid) or self._claimant(provider, pid, base.month, month,
                                                           chosen_now)
                if found is None:
                    continue
                ident = found
                chosen_now.add(ident)
                person = self.people[provider][ident]
                codes = {str(r.get(spec.outcome)) for r in records}
                self.people[provider][ident] = dataclasses.replace(person,
                                                                   codes=person.codes | codes)
                rows += [{**r, spec.id: ident} for r in records]
            tables[spec.claims.sheet] = pd.DataFrame(rows, columns=frame.columns)
        return tables

    def _result_of(self) -> dict[str, str]:
        spec = self.model.participants
        assert spec is not None
        return {code: result.name for result in spec.results for code in result.codes}

    def _claimant(self, provider: str, pid: str, was: Month, month: Month,
                  taken: set[str]) -> str | None:
        """Who in the projected pipeline makes the claims the original participant made:
        someone who has claimed the same results so far, nearest in age."""
        attached = self.attached_at.get((provider, pid))
        if attached is None:
            return None
        age = _months_between(attached, was)
        had = self.claimed_before.get((provider, pid), {}).get(was, frozenset())
        people = [p for p in self.people[provider].values() if p.id not in taken
                  and p.month < month]
        same = [p for p in people if p.codes == had]
        if not same:  # else those who have claimed the most like it: all of it and least else
            wider = [p for p in people if had <= p.codes]
            least = min((len(p.codes) for p in wider), default=None)
            same = [p for p in wider if len(p.codes) == least]
        i = self._nearest(same, age, month)
        return same[i].id if i is not None else None
