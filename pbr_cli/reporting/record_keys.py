"""Record keys (docs/publication.md, "Record keys"): what each month figure of a publication
counts, record by record, and the cell key its rounding is drawn from.

Every record a month figure counts has an identity taken from what is recorded, never from
the model's names for it:

- an event with an evidence row (a client's presentation, outcome, attachment, job
  outcome), or a cohort's outcome reported only (its line carries the events, `counted`):
  its provider, the client's or participant's id, the event's date, the outcome (the rule
  that counts it, its names and prices aside) and whether it was paid;
- any other event counted with no row naming it: its provider, month, outcome, group,
  whether it was paid, and its place in the month's count (1st, 2nd, ...);
- a service-level scheme's counted outcome: the register entry (the service), its month, the
  measure it is counted in (the return's figure) and its place in that count.

Each record's key is HMAC-SHA-256(the authority's publication key, [the scheme's publication
identity, the record's identity]); a cell's key is HMAC-SHA-256 of its records' keys, sorted
(so it depends on the set alone). Renaming a component, a rate or a group label, a new
ledger, a second config or folder of the same authority: the same records, the same key,
the same rounding.

No Excel, no Typer, no rich.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from typing import Any

from pbr_cli.model.records import Model
from pbr_cli.pricing.records import EventStatus, LineKind, Schedule
from pbr_cli.reporting.counts import OF_WHICH, REST, Item, count

Records = dict[tuple[str, ...], list[str]]  # month figure -> its records' identities


# what a rule says that is not what it counts: its names, and its prices (a price changed
# on a date, or in a new version of the model, counts the same events)
_NOT_WHAT_IT_COUNTS = ("name", "label", "description", "bands", "prices", "amount", "base",
                       "shares", "to_total", "deflator")


def outcome_identity(model: Model, name: str) -> str:
    """What a component counts, without its name: a digest of its rules (the component, and
    the cohort's or participants' rule of the same name), its names and prices blanked. Two
    components counting by the same rules count the same records."""
    rules: list[Any] = [*model.payments]
    if model.cohort is not None:
        rules += [*model.cohort.outcomes, model.cohort.tariff]
    if model.participants is not None:
        rules += [*model.participants.fees, *model.participants.results]
    said = []
    for rule in rules:
        if rule is None or getattr(rule, "name", None) != name:
            continue
        blank = {f: None for f in _NOT_WHAT_IT_COUNTS if hasattr(rule, f)}
        rule = dataclasses.replace(rule, **blank)
        if getattr(rule, "after", None):  # (a follow-up: the rule it follows, not its name)
            rule = dataclasses.replace(rule, after=outcome_identity(model, rule.after))
        said.append(_canonical(rule))
    return hashlib.sha256(json.dumps(said).encode()).hexdigest()[:16]


def _canonical(value: Any) -> Any:
    """A rule as plain data, the same under any hash seed (sets sorted)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [type(value).__name__, {f.name: _canonical(getattr(value, f.name))
                                       for f in dataclasses.fields(value)}]
    if isinstance(value, dict):
        return sorted([str(k), _canonical(v)] for k, v in value.items())
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(v) for v in value), key=json.dumps)
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (Decimal, Fraction, date, Enum)):
        return str(value)
    return type(value).__name__  # (a parsed tree: its text is beside it)


def payment_lines(s: Schedule, items: list[Item],
                  groups: list[str]) -> Iterator[tuple[tuple[str, ...], Any, dict[str, Any]]]:
    """Each payment line of an item's component: (its figure's place — provider, month,
    component, then each group's value —, the line, its figures by name). The one walk a
    month's event figures (kinds/events.py) and their records (below) both take."""
    month, wanted = str(s.month), {i.key for i in items}
    for p in s.providers:
        for ln in p.lines:
            if ln.kind != LineKind.PAYMENT or ln.component not in wanted:
                continue
            g = dict(ln.groups)
            yield ((p.provider, month, ln.component, *(g.get(c, "") for c in groups)), ln,
                   {f.name: f.value for f in ln.figures})


def rated_entries(s: Schedule) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Each register entry with rate values and a provider: (provider, entry, values), in
    entry order. The one walk a service-level month's figures (kinds/service.py) and their
    records (below) both take."""
    provider_of = {ln.entry: ln.provider for ln in s.lines}
    for entry, values in sorted(s.rate_values.items()):
        provider = provider_of.get(entry)
        if provider is not None:
            yield provider, entry, values


def event_records(s: Schedule, items: list[Item], groups: list[str]) -> Records:
    """Each event month figure's records: its evidence rows (or a reported-only line's
    events), by client and date; where a figure counts events nothing names, each is its
    place in the count."""
    model, month = s.model, str(s.month)
    wanted = {i.key for i in items}
    outcome = {c: outcome_identity(model, c) for c in wanted}
    evidence: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for e in s.evidence:
        if e.component not in wanted:
            continue
        measure = OF_WHICH if e.status == EventStatus.PAID else REST
        atom = (e.provider, month, e.component, *([e.group] * len(groups)), measure)
        evidence[atom].append(json.dumps([e.provider, e.client, e.day.isoformat(),
                                          outcome[e.component], measure]))
    counted: dict[tuple[str, ...], int] = defaultdict(int)
    unnamed: dict[tuple[str, ...], list[str]] = defaultdict(list)  # reported only
    for base, ln, fig in payment_lines(s, items, groups):
        paid = count(fig.get("events_paid"))
        counted[(*base, OF_WHICH)] += paid
        counted[(*base, REST)] += count(fig.get("events")) - paid
        unnamed[(*base, REST)] += [json.dumps([base[0], client, day, outcome[ln.component], REST])
                                   for client, day in ln.counted]
    out: Records = {}
    for atom, x in counted.items():
        named = evidence.get(atom, []) or unnamed.get(atom, [])
        if len(named) == x:
            out[atom] = _distinct(named)
        else:  # counted, no evidence row naming each: its place in the month's count
            where = [atom[0], month, outcome[atom[2]], *atom[3:]]
            out[atom] = [json.dumps([*where, k]) for k in range(1, x + 1)]
    return out


def service_records(s: Schedule, items: list[Item]) -> Records:
    """A service-level month figure's records: each outcome its services counted, by service,
    month, measure and place (the numerator's first, the rest of the denominator after)."""
    month = str(s.month)
    out: Records = defaultdict(list)
    for provider, entry, values in rated_entries(s):
        for item in items:
            first, second = count(values.get(item.first)), count(values.get(item.second))
            out[(provider, month, item.key, OF_WHICH)] += [
                json.dumps([entry, month, item.second, k]) for k in range(1, second + 1)]
            out[(provider, month, item.key, REST)] += [
                json.dumps([entry, month, item.first, item.second, k])
                for k in range(second + 1, first + 1)]
    return dict(out)


def _distinct(identities: list[str]) -> list[str]:
    """A record's identity, numbered when the same one is counted twice in a figure (the same
    client's two events of one day)."""
    seen: dict[str, int] = defaultdict(int)
    out = []
    for i in identities:
        seen[i] += 1
        out.append(i if seen[i] == 1 else json.dumps([i, seen[i]]))
    return out


def record_key(key: bytes, identity: str, record: str) -> bytes:
    """A record's permanent key: the same record, the same key, in every release."""
    return hmac.new(key, json.dumps([identity, record]).encode(), hashlib.sha256).digest()


def cell_key(key: bytes, identity: str, records: list[str], salt: str = "") -> bytes:
    """A cell's key, from the set of its records' keys (sorted: their order says nothing):
    the same records, the same key, whatever the cell is called."""
    keys = sorted(record_key(key, identity, r) for r in records)
    return hmac.new(key, b"cell\x00" + salt.encode() + b"\x00" + b"".join(keys),
                    hashlib.sha256).digest()


def records_tag(cell: bytes) -> str:
    """What the ledger records of a cell's key: enough to know the same records again,
    nothing of the draw (a hash of it)."""
    return hashlib.sha256(b"records\x00" + cell).hexdigest()[:16]
