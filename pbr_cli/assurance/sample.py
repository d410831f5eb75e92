"""A month's paid items, how many of each provider's are sampled, and which: the draw
(docs/assurance.md, "The sample").

An item is what a provider was paid for, one at a time: an event of the Evidence (a claim, an
outcome, a result) paid more than £0, or, for a scheme whose schedule has no events, a
payment line paid more than £0. Each provider's items are ordered by
HMAC-SHA256(key, period ␤ provider ␤ item id) and the first n taken, so the same key draws
the same sample and nobody without the key can tell which items it will take.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from statistics import NormalDist
from typing import Any

from pbr_cli.ledger.records import LineKind
from pbr_cli.model.assurance import AssuranceSpec
from pbr_cli.pricing.records import PAID_EVENT, Schedule

ZERO = Decimal("0.00")
Z_PLACES = 6  # z is taken to six decimal places, half up, then used exactly


@dataclass(frozen=True)
class Item:
    """One paid item of a provider's month."""

    provider: str
    id: str  # unique within the provider's month
    what: str  # what was claimed, in words
    component: str
    amount: Decimal

    def as_dict(self) -> dict[str, str]:
        return {"provider": self.provider, "id": self.id, "what": self.what,
                "component": self.component, "amount": str(self.amount)}

    @classmethod
    def of(cls, d: dict[str, Any]) -> Item:
        return cls(d["provider"], d["id"], d["what"], d["component"], Decimal(d["amount"]))


def items_of(schedule: Schedule) -> dict[str, list[Item]]:
    """Each provider's paid items of the month, in the schedule's order."""
    out: dict[str, list[Item]] = {}
    seen: set[tuple[str, str]] = set()

    def add(item: Item) -> None:
        key, n = item.id, 1
        while (item.provider, key) in seen:  # the same claim twice: told apart by its place
            n += 1
            key = f"{item.id} #{n}"
        seen.add((item.provider, key))
        out.setdefault(item.provider, []).append(
            Item(item.provider, key, item.what, item.component, item.amount))

    if schedule.evidence:
        for e in schedule.evidence:
            if e.status == PAID_EVENT and e.amount > 0:
                add(Item(e.provider, f"{e.component}/{e.client}/{e.day.isoformat()}",
                         f"{e.component_label} for {e.client} on {e.day.isoformat()} "
                         f"({e.source.cell})", e.component, e.amount))
        return out
    for p in schedule.providers:
        for ln in p.lines:
            if ln.kind == LineKind.PAYMENT and ln.amount > 0:
                add(Item(p.provider, f"{ln.entry}/{ln.component}",
                         f"{ln.component_label}, {ln.entry_label}", ln.component, ln.amount))
    return out


def z_of(confidence: Fraction) -> Fraction:
    """The two-sided standard normal quantile of a confidence, to six decimal places (half
    up): 95% → 1.959964."""
    z = NormalDist().inv_cdf(1 - float(1 - confidence) / 2)
    return Fraction(Decimal(repr(z)).quantize(Decimal(1).scaleb(-Z_PLACES), ROUND_HALF_UP))


def sample_size(spec: AssuranceSpec, population: int) -> int:
    """How many of a provider's `population` items are sampled: a share rounded up, or
    n = n0/(1+(n0−1)/N) with n0 = z²·p(1−p)/e², worked out exactly and rounded up; at least
    `minimum`, at most every item."""
    if population <= 0:
        return 0
    if spec.share is not None:
        n = math.ceil(spec.share * population)
    else:
        assert spec.margin is not None and spec.confidence is not None
        assert spec.expected_rate is not None
        p, e, z = spec.expected_rate, spec.margin, z_of(spec.confidence)
        n0 = z * z * p * (1 - p) / (e * e)
        n = math.ceil(n0 / (1 + (n0 - 1) / population))
    return min(population, max(n, spec.minimum))


def score(key: bytes, period: str, provider: str, item_id: str) -> str:
    """An item's place in the draw: HMAC-SHA256 of period, provider and id (one per line)."""
    message = f"{period}\n{provider}\n{item_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def draw(key: bytes, period: str, items: list[Item], n: int) -> list[Item]:
    """The n items of one provider the key takes: lowest score first."""
    return sorted(items, key=lambda i: score(key, period, i.provider, i.id))[:n]


def method_of(spec: AssuranceSpec) -> dict[str, Any]:
    """The rule a sample was drawn by, as recorded with it."""
    out: dict[str, Any] = {"rule": spec.describe(), "minimum": spec.minimum,
                           "extrapolate": spec.extrapolate,
                           "extrapolation_confidence": str(spec.extrapolation_confidence)}
    if spec.share is not None:
        out["share"] = str(spec.share)
    else:
        assert spec.confidence is not None
        out.update(margin=str(spec.margin), confidence=str(spec.confidence),
                   expected_rate=str(spec.expected_rate), z=str(z_of(spec.confidence)))
    return out


def drawn(key: bytes, period: str, run_id: int, spec: AssuranceSpec,
          items: dict[str, list[Item]]) -> dict[str, Any]:
    """What a sample records: the rule, each provider's items (how many, what they were
    paid, a digest of their ids) and the items drawn, provider by provider in draw order."""
    providers: dict[str, Any] = {}
    taken: list[dict[str, str]] = []
    for provider in sorted(items):
        mine = items[provider]
        n = sample_size(spec, len(mine))
        chosen = draw(key, period, mine, n)
        ids = json.dumps(sorted(i.id for i in mine)).encode()
        providers[provider] = {
            "items": len(mine), "paid": str(sum((i.amount for i in mine), ZERO)),
            "sampled": n, "sampled_paid": str(sum((i.amount for i in chosen), ZERO)),
            "ids_sha256": hashlib.sha256(ids).hexdigest()}
        taken += [i.as_dict() for i in chosen]
    return {"run": run_id, "method": method_of(spec), "providers": providers, "items": taken}
