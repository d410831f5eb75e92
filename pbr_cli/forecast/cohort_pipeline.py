"""A cohort scheme's months to come: episodes open at each provider, kept up to date as the
projected months are made (forecast/simulate.py draws the returns, this moves their people).

A new presentation is a new client (a client who had presented within the tariff's churn
months is instead one of the provider's recently discharged clients not in treatment there,
so that re-presentation stays as common as it was). Discharges and reviews happen to open
episodes, as many more or fewer as the provider has open episodes now against then; each
goes to an open episode of the same group nearest in age, a review to one whose reviews so
far had the same outcomes, once a month. An episode is discharged once.
"""

from __future__ import annotations

import copy
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pbr_cli.forecast.moves import Volume, copies_each, months_between, scaled, shift_day
from pbr_cli.model.records import Model
from pbr_cli.periods import Month, add_months, month_number
from pbr_cli.returns.checked import CheckedReturn
from pbr_cli.returns.cohort_records import OPENING, record_columns

OPEN_END = date.max.toordinal()  # the end of an episode still open


@dataclass
class _Episode:
    client: str
    start: int  # day ordinal
    group: str
    month: Month
    achieved: frozenset[str] = frozenset()  # review outcomes it has had (a first abstinence)


@dataclass(frozen=True, slots=True)
class _Moving:
    """A drawn return being moved to a projected month: whose it is, the month it was
    recorded for and the month it becomes, and what its people have become so far."""

    provider: str
    was: Month
    month: Month
    churn: int  # the tariff's churn months
    in_treatment: set[str]  # clients in treatment at the provider: none presents there again
    # the return's new episodes (client, start day) -> their projected clients' ids, one
    # for each copy its presentation made (none if a what-if took it away)
    renamed: dict[tuple[str, int], list[str]]
    new_eps: dict[str, _Episode]  # the month's new episodes, by client
    used: set[int]  # episodes (by id) reviewed this month already
    prefix: str = ""  # before a new client's id: another provider's return drawn


class _Open:
    """A provider's open episodes, by group and by the month each began, so that the one
    nearest in age is found among few."""

    def __init__(self) -> None:
        self.by: dict[str, dict[int, list[_Episode]]] = defaultdict(dict)
        self.count = 0

    def add(self, ep: _Episode) -> None:
        self.by[ep.group].setdefault(month_number(ep.month), []).append(ep)
        self.count += 1

    def remove(self, ep: _Episode) -> None:
        self.by[ep.group][month_number(ep.month)].remove(ep)
        self.count -= 1

    def copy(self) -> _Open:
        """Its own copy, episodes and all (a simulation changes them)."""
        new = _Open()
        new.by = defaultdict(dict, {g: {n: [copy.copy(e) for e in eps]
                                        for n, eps in months.items()}
                                    for g, months in self.by.items()})
        new.count = self.count
        return new

    def clients(self) -> set[str]:
        return {e.client for months in self.by.values() for eps in months.values() for e in eps}

    def nearest(self, group: str, began: int, rng: random.Random,
                ok: Callable[[_Episode], bool]) -> _Episode | None:
        """An open episode of the group that `ok` accepts, begun in the month numbered
        `began` or the nearest to it (equally near: drawn at random among them)."""
        months = self.by.get(group)
        if not months:
            return None
        widest = max(abs(n - began) for n in months)
        for gap in range(widest + 1):
            found = [e for n in sorted({began - gap, began + gap})
                     for e in months.get(n, ()) if ok(e)]
            if found:
                return found[rng.randrange(len(found))]
        return None


class CohortPipeline:
    """Each provider's open episodes, as the recorded months leave them and as each projected
    month changes them."""

    def __init__(self, model: Model, recorded: list[CheckedReturn], rng: random.Random,
                 changes: random.Random, volume: Volume):
        self.model, self.rng, self.changes, self.volume = model, rng, changes, volume
        self.open: dict[str, _Open] = defaultdict(_Open)  # provider -> its open episodes
        self.discharged: dict[str, list[tuple[str, int]]] = defaultdict(list)  # (client, day)
        self.first_seen: dict[str, list[int]] = defaultdict(list)  # client -> presentations
        self.starts: dict[tuple[str, str], list[int]] = defaultdict(list)  # episode starts
        # (provider, client, review day) -> the review outcomes its episode had before it
        self.review_state: dict[tuple[str, str, int], frozenset[str]] = {}
        self.spans: dict[str, list[tuple[int, int]]] = defaultdict(list)  # provider -> episodes
        self._pipeline(recorded)

    def fresh(self, rng: random.Random, changes: random.Random,
              volume: Volume) -> CohortPipeline:
        """A pipeline for one simulation, as the recorded months left this one: what a
        simulation changes (the open episodes, the discharged) copied, the rest shared."""
        new = copy.copy(self)
        new.rng, new.changes, new.volume = rng, changes, volume
        new.open = defaultdict(_Open, {p: o.copy() for p, o in self.open.items()})
        new.discharged = defaultdict(list, {p: list(d) for p, d in self.discharged.items()})
        return new

    def _columns(self, r: CheckedReturn) -> dict[str, Any]:
        return r.cohort if r.cohort is not None else record_columns(self.model, r)
    def _pipeline(self, recorded: list[CheckedReturn]) -> None:
        import numpy as np

        opened: dict[tuple[str, str, int], _Episode] = {}
        filed: dict[tuple[str, str, int], int] = {}  # an episode -> its return's month
        closed: list[tuple[str, str, int, int]] = []
        reviews: list[tuple[int, str, str, frozenset[str]]] = []
        for r in sorted(recorded, key=lambda r: (str(r.month), r.path)):
            if r.provider is None or r.month is None or r.errors:
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
                    filed.setdefault((r.provider, client, day), month_number(r.month))
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
        ends = {(p, c, st): day for p, c, st, day in closed}
        for key in _refused(filed, ends):  # no episode at all, as pricing counts them
            del opened[key]
            self.starts[key[:2]].remove(key[2])
        for starts in self.starts.values():
            starts.sort()
        for day, provider, client, outcomes in sorted(reviews):
            start = self._start_of(provider, client, day)
            episode = opened.get((provider, client, start)) if start is not None else None
            if episode is not None:
                self.review_state[(provider, client, day)] = episode.achieved
                episode.achieved = episode.achieved | outcomes
        for (provider, client, start) in opened:
            self.spans[provider].append((start, ends.get((provider, client, start), OPEN_END)))
        for provider, client, start, day in closed:
            opened.pop((provider, client, start), None)
            self.discharged[provider].append((client, day))
        for (provider, _, _), ep in sorted(opened.items(), key=lambda kv: kv[0]):
            self.open[provider].add(ep)

    def month(self, base: CheckedReturn, month: Month, shift: int,
              provider: str | None = None) -> dict[str, Any]:
        """The drawn return's records (as columns) moved to `month`, its people given to
        the projected pipeline of `provider` (default: the return's own; another's for a
        provider with no return of its own yet: its new clients named as its own)."""
        import numpy as np

        cohort = self.model.cohort
        assert cohort is not None and base.provider is not None and base.month is not None
        source = base.provider
        provider = provider or source
        cols = self._columns(base)
        churn = cohort.tariff.churn_months if cohort.tariff is not None else 12
        out: dict[str, Any] = {}
        moving = _Moving(provider, base.month, month, churn, self.open[provider].clients(),
                         {}, {}, set(), "" if provider == source else f"{provider}~")
        renamed, new_eps, in_treatment = moving.renamed, moving.new_eps, moving.in_treatment
        part = cols.get("presentations")
        if part:
            days = np.frombuffer(part["day"], np.int64).tolist()
            rows = np.frombuffer(part["row"], np.int64).tolist()
            keep: dict[str, list] = {"row": [], "client": [], "day": [], "group": []}
            each = copies_each(len(days), self.volume.new_people, self.changes)
            for i, (client, day, group) in enumerate(zip(part["client"], days, part["group"],
                                                         strict=True)):
                renamed[(client, day)] = []
                for copy in range(each[i]):
                    new_day = shift_day(date.fromordinal(day), shift).toordinal()
                    ident = self._presenting(moving, client, day, new_day, copy)
                    in_treatment.add(ident)
                    renamed[(client, day)].append(ident)
                    keep["row"].append(rows[i])
                    keep["client"].append(ident)
                    keep["day"].append(new_day)
                    keep["group"].append(group)
                    new_eps[ident] = _Episode(ident, new_day, group, month)
            out["presentations"] = self._part(keep, {})
        used, ended = moving.used, set[str]()
        # discharges and reviews happen to open episodes: as many more (or fewer) as the
        # provider has open episodes now against then
        then = self._open_at(source, base.month)
        ratio = (self.open[provider].count / then - 1) if then else 0.0
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
            order: list[tuple[int, str | None]] = []
            for i in range(len(days)):
                start = starts[i]
                if kind == "reviews":
                    start = self._start_of(source, part["client"][i], days[i]) or days[i]
                order += self._targets(moving, part["client"][i], start, ratio, i)
            for i, own in order:
                client, day, group = part["client"][i], days[i], part["group"][i]
                new_day = shift_day(date.fromordinal(day), shift).toordinal()
                start, had = starts[i], frozenset[str]()
                if kind == "reviews":
                    start = self._start_of(source, client, day) or day
                    had = self.review_state.get((source, client, day), frozenset())
                episode = (moving.new_eps.get(own) if own is not None
                           else self._episode_for(moving, start, group, kind, had))
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
                    if own is not None:  # a new episode ended the month it began
                        ended.add(own)
            if kind == "reviews":
                del keep["start"]
            out[kind] = self._part(keep, kept_holds)
        for ident, ep in new_eps.items():
            if ident not in ended:
                self.open[provider].add(ep)
        return out

    def _presenting(self, moving: _Moving, client: str, day: int, new_day: int,
                    copy: int) -> str:
        """Who presents: a new client, or, when the original client had presented within
        the churn months before, one of the provider's recently discharged clients not in
        treatment there now."""
        churn = moving.churn
        earlier = [d for d in self.first_seen.get(client, []) if d < day]
        since = add_months(date.fromordinal(new_day), -churn).toordinal()
        if earlier and max(earlier) >= add_months(date.fromordinal(day), -churn).toordinal():
            recent = sorted({c for c, d in self.discharged.get(moving.provider, [])
                             if d >= since} - moving.in_treatment)
            if recent:
                return recent[self.rng.randrange(len(recent))]
        ident = f"{moving.prefix}{client}~{moving.month}" + (f"~{copy}" if copy else "")
        n = 1
        while ident in moving.in_treatment:  # (the client presented twice in the month drawn)
            ident, n = f"{moving.prefix}{client}~{moving.month}~{copy}.{n}", n + 1
        return ident

    def _open_at(self, provider: str, month: Month) -> int:
        """How many of the provider's episodes were open when the month began (recorded)."""
        first = month.first_day.toordinal()
        return sum(1 for start, end in self.spans.get(provider, []) if start < first <= end)

    def _start_of(self, provider: str, client: str, day: int) -> int | None:
        """The start of the client's latest episode at the provider begun by `day`."""
        begun = [s for s in self.starts.get((provider, client), []) if s <= day]
        return begun[-1] if begun else None

    def _targets(self, moving: _Moving, client: str, start: int, ratio: float,
                 i: int) -> list[tuple[int, str | None]]:
        """Where the drawn return's discharge or review `i` goes, as many times as it
        happens: of a client who presented in the same return, once to each of that
        client's new projected episodes (as many as its presentation made: none if a
        what-if took it away), never again; of an episode begun before, to open episodes
        (None), as many as the provider's open episodes now against then make."""
        if (client, start) in moving.renamed:
            return [(i, ident) for ident in moving.renamed[(client, start)]]
        return [(i, None)] * scaled(1, ratio, self.rng)

    def _episode_for(self, moving: _Moving, start: int, group: str, kind: str,
                     had: frozenset[str] = frozenset()) -> _Episode | None:
        """The projected episode a discharge or review of an episode begun before the
        drawn month goes to: one of the provider's open episodes of the group (a review:
        one not reviewed yet this month, whose reviews so far had the same outcomes as the
        original's), the nearest in age."""
        was, used = moving.was, moving.used
        began = month_number(moving.month) - months_between(Month.of(date.fromordinal(start)),
                                                            was)
        pipeline = self.open[moving.provider]

        def free(e: _Episode) -> bool:
            return id(e) not in used

        episode = None
        if kind == "reviews":
            episode = pipeline.nearest(group, began, self.rng,
                                       lambda e: free(e) and e.achieved == had)
        if episode is None:
            episode = pipeline.nearest(group, began, self.rng, free)
        if episode is not None and kind == "discharges":
            pipeline.remove(episode)
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


def _refused(filed: dict[tuple[str, str, int], int],
             ends: dict[tuple[str, str, int], int]) -> list[tuple[str, str, int]]:
    """The recorded episodes (provider, client, start) pbr's checks refuse as overlapping
    another of the same client at the provider (pricing/cohort/history.py): taken in the
    order they were declared (by the month of their return, then by start), one that
    overlaps an episode kept before it is refused (overlapping-episodes) and counts in no
    month. A discharge in a withheld return ends nothing, so the episode it would have
    ended is still open, and a later presentation of the client overlaps it."""
    by: dict[tuple[str, str], list[int]] = defaultdict(list)
    for provider, client, start in filed:
        by[(provider, client)].append(start)
    out = []
    for (provider, client), starts in by.items():
        if len(starts) < 2:
            continue
        kept: list[int] = []
        for a in sorted(starts, key=lambda st: (filed[(provider, client, st)], st)):
            if any(ends.get((provider, client, min(a, b)), OPEN_END) > max(a, b)
                   for b in kept):
                out.append((provider, client, a))
            else:
                kept.append(a)
    return out
