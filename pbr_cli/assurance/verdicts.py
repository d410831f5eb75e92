"""The checkers' verdicts on a sample, checked as a return is (docs/assurance.md,
"Verdicts"): every row one of the sampled items, each item once, a verdict from the list, a
reason for each invalid one. What they recover is worked out here, once, and recorded."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from pbr_cli.assurance.recovery import extrapolate

SHEET = "Verdicts"
HEADERS = ("Item", "Provider code", "What was claimed", "Amount paid", "Verdict", "Reason")


class Verdict(StrEnum):
    """What the checkers found of one item."""

    VALID = "valid"
    INVALID = "invalid"
    NO_EVIDENCE = "no evidence"


@dataclass(frozen=True)
class VerdictRow:
    """One row of the Verdicts sheet as read: its number and cells (text, '' when blank)."""

    row: int
    item: str
    provider: str
    verdict: str
    reason: str


def column(header: str) -> str:
    """The letter of a Verdicts column."""
    return "ABCDEFGHIJ"[HEADERS.index(header)]


def check_rows(items: list[dict[str, str]], rows: list[VerdictRow]
               ) -> tuple[dict[tuple[str, str], tuple[Verdict, str]], list[str]]:
    """Each sampled item's verdict and reason, by (provider, item id), and what is wrong,
    each naming its sheet and cell (empty when nothing is)."""
    sampled = {(i["provider"], i["id"]) for i in items}
    found: dict[tuple[str, str], tuple[Verdict, str]] = {}
    problems: list[str] = []
    at: dict[tuple[str, str], int] = {}
    words = ", ".join(v.value for v in Verdict)
    for r in rows:
        key = (r.provider, r.item)
        if key not in sampled:
            problems.append(f"{SHEET}!{column('Item')}{r.row}: {r.provider} {r.item!r} is not an "
                            "item of the sample")
            continue
        if key in at:
            problems.append(f"{SHEET}!{column('Item')}{r.row}: {r.item!r} of {r.provider} has a "
                            f"verdict already in row {at[key]}")
            continue
        at[key] = r.row
        word = " ".join(r.verdict.lower().split())
        if word not in {v.value for v in Verdict}:
            problems.append(f"{SHEET}!{column('Verdict')}{r.row}: "
                            + (f"{r.verdict!r} is not a verdict" if r.verdict else "no verdict")
                            + f" (one of: {words})")
            continue
        verdict = Verdict(word)
        if verdict == Verdict.INVALID and not r.reason.strip():
            problems.append(f"{SHEET}!{column('Reason')}{r.row}: an invalid item needs its reason")
            continue
        found[key] = (verdict, r.reason.strip())
    for i in items:
        key = (i["provider"], i["id"])
        if key not in at:
            problems.append(f"{SHEET}: no row for {i['provider']} {i['id']!r}: every sampled item "
                            "needs its verdict")
    return found, problems


def verdicts_content(sample: dict[str, Any],
                     found: dict[tuple[str, str], tuple[Verdict, str]]) -> dict[str, Any]:
    """What the verdicts record holds: each item's verdict, and each provider's failures
    extrapolated by the rule the sample was drawn with."""
    method = sample["method"]
    confidence = Fraction(method["extrapolation_confidence"])
    items = []
    failed: dict[str, int] = {}
    for i in sample["items"]:
        verdict, reason = found[(i["provider"], i["id"])]
        items.append({"provider": i["provider"], "id": i["id"], "amount": i["amount"],
                      "verdict": verdict.value, "reason": reason})
        if verdict != Verdict.VALID:
            failed[i["provider"]] = failed.get(i["provider"], 0) + 1
    providers = {}
    for provider, p in sorted(sample["providers"].items()):
        unsampled = Decimal(p["paid"]) - Decimal(p["sampled_paid"])
        ex = extrapolate(provider, (p["items"], unsampled),
                         (p["sampled"], failed.get(provider, 0)), confidence)
        d = ex.as_dict()
        if not method["extrapolate"]:
            d["amount"] = "0.00"
        providers[provider] = d
    return {"items": items, "providers": providers}
