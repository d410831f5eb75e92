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
OPEN_END = date.max.toordinal()  # the end of an episode still open


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
    achieved: frozenset[str] = frozenset()  # review outcomes it has had (a first abstinence)


@dataclass
class _Person:
    id: str
    month: Month
    codes: frozenset[str] = frozenset()
    group: tuple = ()  # the attachment's codes (a payment group...): prices and rules read them
    last: int | None = None  # the day (ordinal) of the latest claim
    claims: int = 0  # how many claims so far


class Projector:
    """Makes the projected returns of one simulation, month after month: a pipeline per
    provider (open episodes, or participants and what each has claimed) kept up to date
    as projected months are added."""

    def __init__(self, model: Model, register: Register, recorded: list[CheckedReturn],
                 draws: dict[str, list[CheckedReturn]], rng: random.Random,
                 volume: Volume):
        self.model, self.register, self.rng, self.volume = model, register, rng, volume
        # the scenario's own draws (more clients, outcomes made successful) come from a
        # generator of their own, so that the base case's draws stay the same beside it
        self.changes = random.Random(rng.random())
        self.draws = draws  # provider -> its recorded returns a month may be drawn from
        self.episodes: dict[str, list[_Episode]] = defaultdict(list)  # provider -> open
        self.discharged: dict[str, list[tuple[str, int]]] = defaultdict(list)  # (client, day)
        self.first_seen: dict[str, list[int]] = defaultdict(list)  # client -> presentations
        self.starts: dict[tuple[str, str], list[int]] = defaultdict(list)  # episode starts
        # (provider, client, review day) -> the review outcomes its episode had before it
        self.review_state: dict[tuple[str, str, int], frozenset[str]] = {}
        self.people: dict[str, dict[str, _Person]] = defaultdict(dict)
        # provider -> where a participant stood -> (its claims that month, its latest claim
        # day before it, the month): what participants in each place did in the basis months
        self.seen: dict[str, dict[tuple, list[tuple[list[dict], int | None, Month]]]] = \
            defaultdict(lambda: defaultdict(list))
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
        reviews: list[tuple[int, str, str, frozenset[str]]] = []
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
                    self.starts[(r.provider, client)].append(day)
                    if kind == "presentations":
                        self.first_seen[client].append(day)
            part = cols.get("discharges")
            if part:
                days = np.frombuffer(part["day"], np.int64).tolist()
                starts = np.frombuffer(part["start"], np.int64).tolist()
                for client, day, start in zip(part["client"], days, starts, strict=True):
                    closed.append((r.provider, client, start, day))
            part = cols.get("reviews")
            if part:
                days = np.frombuffer(part["day"], np.int64).tolist()
                held = {n: np.frombuffer(v, bool).tolist() for n, v in part["holds"].items()}
                for i, (client, day) in enumerate(zip(part["client"], days, strict=True)):
                    reviews.append((day, r.provider, client,
                                    frozenset(n for n, v in held.items() if v[i])))
        for starts in self.starts.values():
            starts.sort()
        for day, provider, client, outcomes in sorted(reviews):
            start = self._start_of(provider, client, day)
            episode = opened.get((provider, client, start)) if start is not None else None
            if episode is not None:
                self.review_state[(provider, client, day)] = episode.achieved
                episode.achieved = episode.achieved | outcomes
        ends = {(p, c, st): day for p, c, st, day in closed}
        self.spans: dict[str, list[tuple[int, int]]] = defaultdict(list)  # provider -> episodes
        for (provider, client, start) in opened:
            self.spans[provider].append((start, ends.get((provider, client, start), OPEN_END)))
        for provider, client, start, day in closed:
            opened.pop((provider, client, start), None)
            self.discharged[provider].append((client, day))
        for (provider, _, _), ep in sorted(opened.items(), key=lambda kv: kv[0]):
            self.episodes[provider].append(ep)

    def _participant_pipeline(self, recorded: list[CheckedReturn]) -> None:
        """Every participant as the recorded months leave them, and, for each month a draw may
        come from, what each participant then in the pipeline claimed (perhaps nothing),
        filed by where the participant stood at the start of that month."""
        spec = self.model.participants
        assert spec is not None
        codes = self._code_columns(spec.attachments.sheet)
        basis = {(p, r.month) for p, rs in self.draws.items() for r in rs}
        by_month: dict[Month, list[CheckedReturn]] = defaultdict(list)
        for r in recorded:
            if r.provider is not None and not r.errors and r.month is not None:
                by_month[r.month].append(r)
        for month in sorted(by_month):
            claims_now: dict[tuple[str, str], list[dict]] = defaultdict(list)
            for r in sorted(by_month[month], key=lambda r: r.path):
                assert r.provider is not None
                frame = r.tables.get(spec.attachments.sheet)
                if frame is not None and not frame.empty:
                    for record in frame.to_dict("records"):
                        pid = record.get(spec.id)
                        if pid is not None:
                            self.people[r.provider][str(pid)] = _Person(
                                str(pid), month, group=tuple(record.get(c) for c in codes))
                frame = r.tables.get(spec.claims.sheet)
                if frame is not None and not frame.empty:
                    for record in frame.to_dict("records"):
                        pid = record.get(spec.id)
                        if pid is not None and record.get(spec.outcome) is not None:
                            claims_now[(r.provider, str(pid))].append(record)
            for provider in sorted({r.provider for r in by_month[month] if r.provider}):
                if (provider, month) not in basis:
                    continue
                for person in self.people[provider].values():
                    if person.month > month:
                        continue
                    records = claims_now.get((provider, person.id), [])
                    if person.month == month:
                        continue  # a new participant's claims come with its attachment
                    for key in self._keys(person, month):
                        self.seen[provider][key].append((records, person.last, month))
            for (provider, pid), records in claims_now.items():
                claimant = self.people[provider].get(pid)
                if claimant is not None:
                    self.people[provider][pid] = self._claimed(claimant, records)

    def _claimed(self, person: _Person, records: list[dict]) -> _Person:
        spec = self.model.participants
        assert spec is not None
        days = [r.get(spec.claims.date) for r in records]
        last = max((d.toordinal() for d in days if isinstance(d, date)), default=None)
        return dataclasses.replace(person, codes=person.codes | {str(r.get(spec.outcome))
                                                                 for r in records},
                                   claims=person.claims + len(records),
                                   last=_later(person.last, last))

    def _keys(self, person: _Person, month: Month) -> list[tuple]:
        """Where a participant stands at the start of a month, from the most particular to
        the least: results claimed so far, how many claims, months since attachment (up to
        24) and since the latest claim (up to 12), the attachment's codes."""
        age = min(24, _months_between(person.month, month))
        gap = (min(12, _months_between(Month.of(date.fromordinal(person.last)), month))
               if person.last else None)
        claims = min(person.claims, 30)
        return [(0, person.codes, claims, age, gap, person.group),
                (1, person.codes, claims, age, gap),
                (2, person.codes, claims, gap),
                (3, person.codes, gap),
                (4, person.codes)]

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
        # clients in treatment at the provider: one of them cannot present there again
        in_treatment = {e.client for e in self.episodes.get(provider, [])}
        part = cols.get("presentations")
        if part:
            days = np.frombuffer(part["day"], np.int64).tolist()
            rows = np.frombuffer(part["row"], np.int64).tolist()
            keep: dict[str, list] = {"row": [], "client": [], "day": [], "group": []}
            for i, (client, day, group) in enumerate(zip(part["client"], days, part["group"],
                                                         strict=True)):
                copies = _scaled(1, self.volume.new_people, self.changes)
                for copy in range(copies):
                    new_day = shift_day(date.fromordinal(day), shift).toordinal()
                    ident = self._presenting(provider, client, day, new_day, churn, copy, month,
                                             in_treatment)
                    in_treatment.add(ident)
                    if copy == 0:
                        renamed[client] = ident
                    keep["row"].append(rows[i])
                    keep["client"].append(ident)
                    keep["day"].append(new_day)
                    keep["group"].append(group)
                    new_eps.append(_Episode(ident, new_day, group, month))
            out["presentations"] = self._part(keep, {})
        used: set[int] = set()  # episodes (by id) reviewed this month already
        # discharges and reviews happen to open episodes: as many more (or fewer) as the
        # provider has open episodes now against then
        then = self._open_at(provider, base.month)
        ratio = (len(self.episodes.get(provider, [])) / then - 1) if then else 0.0
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
            names = list(holds)
            order = [i for i in range(len(days)) for _ in range(_scaled(1, ratio, self.rng))]
            for i in order:
                client, day, group = part["client"][i], days[i], part["group"][i]
                new_day = shift_day(date.fromordinal(day), shift).toordinal()
                start, had = starts[i], frozenset[str]()
                if kind == "reviews":
                    start = self._start_of(provider, client, day) or day
                    had = self.review_state.get((provider, client, day), frozenset())
                episode = self._episode_for(provider, client, start, base.month, month,
                                            group, renamed, new_eps, kind, had, used)
                if episode is None:
                    continue  # nobody in the pipeline to have it: dropped
                if kind == "reviews":
                    used.add(id(episode))
                    episode.achieved = episode.achieved | {n for n in names if holds[n][i]}
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
                    copy: int, month: Month, in_treatment: set[str]) -> str:
        """Who presents: a new client, or, when the original client had presented within
        the churn months before, one of the provider's recently discharged clients not in
        treatment there now."""
        earlier = [d for d in self.first_seen.get(client, []) if d < day]
        since = add_months(date.fromordinal(new_day), -churn).toordinal()
        if earlier and max(earlier) >= add_months(date.fromordinal(day), -churn).toordinal():
            recent = sorted({c for c, d in self.discharged.get(provider, []) if d >= since}
                            - in_treatment)
            if recent:
                return recent[self.rng.randrange(len(recent))]
        return f"{client}~{month}" + (f"~{copy}" if copy else "")

    def _open_at(self, provider: str, month: Month) -> int:
        """How many of the provider's episodes were open when the month began (recorded)."""
        first = month.first_day.toordinal()
        return sum(1 for start, end in self.spans.get(provider, []) if start < first <= end)

    def _start_of(self, provider: str, client: str, day: int) -> int | None:
        """The start of the client's latest episode at the provider begun by `day`."""
        begun = [s for s in self.starts.get((provider, client), []) if s <= day]
        return begun[-1] if begun else None

    def _episode_for(self, provider: str, client: str, start: int, was: Month, month: Month,
                     group: str, renamed: dict[str, str], new_eps: list[_Episode],
                     kind: str, had: frozenset[str] = frozenset(),
                     used: set[int] | None = None) -> _Episode | None:
        """The projected episode a discharge or review goes to: the client's own new
        episode if it presented in the same return; else one of the provider's open
        episodes of the group (a review: one not reviewed yet this month, whose reviews so
        far had the same outcomes as the original's), the nearest in age."""
        if client in renamed and Month.of(date.fromordinal(start)) == was:
            ident = renamed[client]
            return next((e for e in new_eps if e.client == ident), None)
        age = _months_between(Month.of(date.fromordinal(start)), was)
        open_eps = [e for e in self.episodes.get(provider, []) if e.group == group
                    and (used is None or id(e) not in used)]
        if kind == "reviews":
            open_eps = [e for e in open_eps if e.achieved == had] or open_eps
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
                out[name] = [v or self.changes.random() < p for v in values]
            else:
                p = 1.0 if share <= 0 else min(1.0, -points / share)
                out[name] = [v and not self.changes.random() < p for v in values]
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
        """The drawn return's attachments (new participants, with the claims they made in
        their first month); then each participant already in the pipeline makes the claims
        of a participant who stood where it stands, in a month a draw may come from."""
        import pandas as pd

        spec = self.model.participants
        assert spec is not None and base.provider is not None and base.month is not None
        provider = base.provider
        tables = {name: self._dates_moved(name, frame, shift)
                  for name, frame in base.tables.items()}
        renamed: dict[str, str] = {}
        codes = self._code_columns(spec.attachments.sheet)
        frame = tables.get(spec.attachments.sheet)
        new: list[_Person] = []
        if frame is not None and not frame.empty:
            rows = []
            for record in frame.to_dict("records"):
                pid = record.get(spec.id)
                copies = _scaled(1, self.volume.new_people, self.changes)
                for copy in range(copies):
                    ident = f"{pid}~{month}" + (f"~{copy}" if copy else "")
                    if copy == 0:
                        renamed[str(pid)] = ident
                    rows.append({**record, spec.id: ident})
                    new.append(_Person(ident, month, group=tuple(record.get(c) for c in codes)))
            tables[spec.attachments.sheet] = pd.DataFrame(rows, columns=frame.columns)
        claims = tables.get(spec.claims.sheet)
        columns = list(claims.columns) if claims is not None else []
        made: list[dict] = []
        if claims is not None and not claims.empty:  # the new participants' own claims
            for record in claims.to_dict("records"):
                new_id = renamed.get(str(record.get(spec.id)))
                if new_id is not None:
                    made.append({**record, spec.id: new_id})
        for person in sorted(self.people[provider].values(), key=lambda p: p.id):
            records, last, was = self._draw_claims(provider, person, month)
            if not records:
                continue
            days = self._days_moved(last, person.last, was, month)
            moved = [self._row_moved(r, days, person.id) for r in records]
            if all(isinstance(r.get(spec.claims.date), date)
                   and r[spec.claims.date] <= month.last_day for r in moved):
                made += moved
        made = self._more_or_fewer(made)
        for p in new:
            self.people[provider][p.id] = p
        by_person: dict[str, list[dict]] = defaultdict(list)
        for record in made:
            by_person[str(record[spec.id])].append(record)
        for pid, records in by_person.items():
            self.people[provider][pid] = self._claimed(self.people[provider][pid], records)
        if claims is not None:
            tables[spec.claims.sheet] = pd.DataFrame(made, columns=columns)
        return tables

    def _draw_claims(self, provider: str, person: _Person, month: Month):
        """What a participant who stood where this one stands claimed in a month a draw may
        come from: the most particular place with at least a few participants in it."""
        for key in self._keys(person, month):
            seen = self.seen[provider].get(key)
            if seen and (len(seen) >= 5 or key[0] == 4):
                return seen[self.rng.randrange(len(seen))]
        return [], None, month

    def _days_moved(self, last: int | None, now_last: int | None, was: Month,
                    month: Month) -> int:
        """How many days a drawn claim moves: kept as long after the participant's latest
        claim as it was after the original's, else moved by whole months."""
        if last is not None and now_last is not None:
            return now_last - last
        return (add_months(was.first_day, _months_between(was, month)) - was.first_day).days

    def _row_moved(self, record: dict, days: int, ident: str) -> dict:
        spec = self.model.participants
        assert spec is not None
        out = dict(record)
        out[spec.id] = ident
        sheet = self.model.sheet(spec.claims.sheet)
        for column in sheet.columns if sheet is not None else ():
            value = out.get(column.name)
            if column.type == "date" and isinstance(value, date):
                out[column.name] = date.fromordinal(value.toordinal() + days)
        return out

    def _more_or_fewer(self, made: list[dict]) -> list[dict]:
        """The scenario's change to how often a result is claimed."""
        spec = self.model.participants
        assert spec is not None
        if not self.volume.results:
            return made
        result_of = {code: r.name for r in spec.results for code in r.codes}
        out = []
        for record in made:
            change = self.volume.results.get(result_of.get(str(record.get(spec.outcome)), ""),
                                             0.0)
            out += [record] * _scaled(1, change, self.changes)
        return out

    def _code_columns(self, sheet: str) -> list[str]:
        """The attachment's code columns (a payment group...): a claim is given to someone
        with the same codes, whose prices and rules are the same."""
        spec = self.model.sheet(sheet)
        return [c.name for c in spec.columns if c.type == "code"] if spec is not None else []


def _later(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)
