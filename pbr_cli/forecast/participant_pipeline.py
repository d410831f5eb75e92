"""A per-participant scheme's months to come: every participant attached (recorded or
projected) and what each has claimed, kept up to date as the projected months are made
(forecast/simulate.py draws the returns, this moves their people).

A new attachment is a new participant, with the claims it made in its first month. Every
participant already in the pipeline then makes, each month, the claims a participant in the
same place made in a month of the basis: the same results claimed so far, as many claims, as
many months since attachment and since its latest claim, the same attachment codes (the
least particular place with at least five participants in it). A drawn claim keeps its
distance from the participant's latest claim; one that would fall after the month waits.
"""

from __future__ import annotations

import copy
import dataclasses
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from pbr_cli.forecast.moves import Volume, copies_each, dates_moved, months_between, scaled
from pbr_cli.model.records import Model
from pbr_cli.periods import Month, add_months
from pbr_cli.returns.checked import CheckedReturn


@dataclass
class _Person:
    id: str
    month: Month
    codes: frozenset[str] = frozenset()
    group: tuple = ()  # the attachment's codes (a payment group...): prices and rules read them
    last: int | None = None  # the day (ordinal) of the latest claim
    claims: int = 0  # how many claims so far


class ParticipantPipeline:
    """Each provider's participants, as the recorded months leave them and as each projected
    month changes them."""

    def __init__(self, model: Model, recorded: list[CheckedReturn],
                 draws: dict[str, list[CheckedReturn]], rng: random.Random,
                 changes: random.Random, volume: Volume):
        self.model, self.rng, self.changes, self.volume = model, rng, changes, volume
        self.draws = draws
        self.people: dict[str, dict[str, _Person]] = defaultdict(dict)
        # provider -> where a participant stood -> (its claims that month, its latest claim
        # day before it, the month): what participants in each place did in the basis months
        self.seen: dict[str, dict[tuple, list[tuple[list[dict], int | None, Month]]]] = \
            defaultdict(lambda: defaultdict(list))
        self._all: dict[tuple, list[tuple[list[dict], int | None, Month]]] | None = None
        self._pipeline(recorded)

    def fresh(self, rng: random.Random, changes: random.Random,
              volume: Volume) -> ParticipantPipeline:
        """A pipeline for one simulation, as the recorded months left this one: the
        participants copied (a simulation changes them), what was seen shared."""
        new = copy.copy(self)
        new.rng, new.changes, new.volume = rng, changes, volume
        new.people = defaultdict(dict, {p: dict(d) for p, d in self.people.items()})
        return new

    def _pipeline(self, recorded: list[CheckedReturn]) -> None:
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
        age = min(24, months_between(person.month, month))
        gap = (min(12, months_between(Month.of(date.fromordinal(person.last)), month))
               if person.last else None)
        claims = min(person.claims, 30)
        return [(0, person.codes, claims, age, gap, person.group),
                (1, person.codes, claims, age, gap),
                (2, person.codes, claims, gap),
                (3, person.codes, gap),
                (4, person.codes)]

    def month(self, base: CheckedReturn, month: Month, shift: int,
              provider: str | None = None) -> dict[str, Any]:
        """The drawn return's attachments (new participants, with the claims they made in
        their first month); then each participant already in the pipeline makes the claims
        of a participant who stood where it stands, in a month a draw may come from."""
        import pandas as pd

        spec = self.model.participants
        assert spec is not None and base.provider is not None and base.month is not None
        # (another provider's return for one with none of its own yet: its participants named
        # as its own, its claims drawn from every provider's)
        prefix = "" if provider in (None, base.provider) else f"{provider}~"
        provider = provider or base.provider
        tables = {name: dates_moved(self.model, name, frame, shift)
                  for name, frame in base.tables.items()}
        renamed: dict[str, list[str]] = defaultdict(list)  # each copy of a new participant
        codes = self._code_columns(spec.attachments.sheet)
        frame = tables.get(spec.attachments.sheet)
        new: list[_Person] = []
        if frame is not None and not frame.empty:
            rows = []
            records = frame.to_dict("records")
            each = copies_each(len(records), self.volume.new_people, self.changes)
            for i, record in enumerate(records):
                pid = record.get(spec.id)
                for copy in range(each[i]):
                    ident = f"{prefix}{pid}~{month}" + (f"~{copy}" if copy else "")
                    renamed[str(pid)].append(ident)
                    rows.append({**record, spec.id: ident})
                    new.append(_Person(ident, month, group=tuple(record.get(c) for c in codes)))
            tables[spec.attachments.sheet] = pd.DataFrame(rows, columns=frame.columns)
        claims = tables.get(spec.claims.sheet)
        columns = list(claims.columns) if claims is not None else []
        made: list[dict] = []
        if claims is not None and not claims.empty:  # the new participants' own claims
            for record in claims.to_dict("records"):  # (each copy makes them)
                for new_id in renamed.get(str(record.get(spec.id)), []):
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
        made = self._more_or_fewer(provider, month, made)
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

    def _draw_claims(self, provider: str, person: _Person,
                     month: Month) -> tuple[list[dict], int | None, Month]:
        """What a participant who stood where this one stands claimed in a month a draw may
        come from: the most particular place with at least a few participants in it."""
        places = self.seen.get(provider) or self._everyone()
        for key in self._keys(person, month):
            seen = places.get(key)
            if seen and (len(seen) >= 5 or key[0] == 4):
                return seen[self.rng.randrange(len(seen))]
        return [], None, month

    def _everyone(self) -> dict[tuple, list[tuple[list[dict], int | None, Month]]]:
        """What participants in each place did at every provider (for one with no basis)."""
        if self._all is None:
            merged: dict[tuple, list] = defaultdict(list)
            for provider in sorted(self.seen):
                for key, seen in self.seen[provider].items():
                    merged[key] += seen
            self._all = dict(merged)
        return self._all

    def _days_moved(self, last: int | None, now_last: int | None, was: Month,
                    month: Month) -> int:
        """How many days a drawn claim moves: kept as long after the participant's latest
        claim as it was after the original's, else moved by whole months."""
        if last is not None and now_last is not None:
            return now_last - last
        return (add_months(was.first_day, months_between(was, month)) - was.first_day).days

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

    def _more_or_fewer(self, provider: str, month: Month, made: list[dict]) -> list[dict]:
        """The scenario's change to how often a result is claimed. A claim made more often
        is made by another participant who stands where its claimant stood (the same
        results and as many claims so far, as long since the latest) and claims nothing
        else this month, as long after its own latest claim; never again by the same
        participant (a claim made twice is refused as already claimed). With nobody left
        to make it, it is not made."""
        spec = self.model.participants
        assert spec is not None
        if not self.volume.results:
            return made
        result_of = {code: r.name for r in spec.results for code in r.codes}
        people = self.people[provider]
        busy = {str(r[spec.id]) for r in made}
        out = []
        for record in made:
            change = self.volume.results.get(result_of.get(str(record.get(spec.outcome)), ""),
                                             0.0)
            copies = scaled(1, change, self.changes)
            if copies:
                out.append(record)
            claimant = people.get(str(record[spec.id]))
            for _ in range(copies - 1):
                other = self._like(people, claimant, busy, month)
                if other is None or claimant is None:
                    break
                days = (other.last - claimant.last
                        if other.last is not None and claimant.last is not None else 0)
                moved = self._row_moved(record, days, other.id)
                busy.add(other.id)
                if moved.get(spec.claims.date, month.last_day) <= month.last_day:
                    out.append(moved)
        return out

    def _like(self, people: dict[str, _Person], claimant: _Person | None, busy: set[str],
              month: Month) -> _Person | None:
        """A participant attached before the month who stands where `claimant` stands (the
        same results and as many claims so far, as many months since the latest, the same
        attachment codes), not among `busy` (drawn at random among them)."""
        if claimant is None:
            return None
        def place(p: _Person) -> tuple:
            _, codes, claims, _, gap, group = self._keys(p, month)[0]
            return codes, claims, gap, group

        where = place(claimant)
        found = sorted((p for p in people.values() if p.id not in busy and p.month < month
                        and place(p) == where), key=lambda p: p.id)
        return found[self.changes.randrange(len(found))] if found else None

    def _code_columns(self, sheet: str) -> list[str]:
        """The attachment's code columns (a payment group...): a claim is given to someone
        with the same codes, whose prices and rules are the same."""
        spec = self.model.sheet(sheet)
        return [c.name for c in spec.columns if c.type == "code"] if spec is not None else []


def _later(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)
