"""What a sample's verdicts recover (docs/assurance.md, "Recovery"): each failed item at what
it was paid, and the provider's failure rate extrapolated to its items not sampled, at the
lower bound of a one-sided Clopper–Pearson interval, so a small sample never over-recovers.

Recoveries are prior-period adjustments on the next month drafted (component
`recovery: <item id>` or `recovery: extrapolated`); one carried by an approved run is never
carried again.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import comb
from typing import Any

from pbr_cli.ledger.records import RECOVERY, Adjustment, is_recovery
from pbr_cli.ledger.store import Ledger
from pbr_cli.money import format_money, round_pence

RATE_PLACES = 6  # the bound is found to six decimal places, rounded down
SCALE = 10 ** RATE_PLACES
EXTRAPOLATED = f"{RECOVERY}extrapolated"


def lower_bound(failed: int, sampled: int, confidence: Fraction) -> Fraction:
    """The one-sided Clopper–Pearson lower bound of a failure rate, to six decimal places
    rounded down: the largest p = m/1,000,000 with P(X ≥ failed | sampled, p) ≤ 1 − confidence
    (0 when nothing failed). Worked out in whole numbers, exactly."""
    if failed <= 0 or sampled <= 0:
        return Fraction(0)
    alpha = 1 - confidence
    a, b = alpha.numerator, alpha.denominator

    def tail_at_most_alpha(m: int) -> bool:
        # P(X >= k) = 1 - sum_{j<k} C(n,j) p^j (1-p)^(n-j), p = m/SCALE, in units of SCALE^n
        whole = SCALE ** sampled
        below = sum(comb(sampled, j) * m ** j * (SCALE - m) ** (sampled - j)
                    for j in range(failed))
        return b * (whole - below) <= a * whole

    lo, hi = 0, SCALE  # tail(lo) <= alpha always (0 at p = 0); find the last m that holds
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if tail_at_most_alpha(mid):
            lo = mid
        else:
            hi = mid - 1
    return Fraction(lo, SCALE)


@dataclass(frozen=True)
class Extrapolation:
    """One provider's failures carried to its items not sampled."""

    provider: str
    items: int  # N, the provider's paid items of the month
    sampled: int  # n
    failed: int  # k: invalid or no evidence
    unsampled_paid: Decimal  # what its N − n items not sampled were paid
    rate: Fraction  # the lower bound, six places
    confidence: Fraction
    amount: Decimal  # rate × unsampled_paid, half up to the penny

    def arithmetic(self) -> str:
        rate = f"{Decimal(self.rate.numerator) / Decimal(self.rate.denominator):.6f}"
        return (f"{self.failed} of {self.sampled} sampled failed; one-sided "
                f"{_pc(self.confidence)} Clopper–Pearson lower bound {rate} × "
                f"{format_money(self.unsampled_paid)} paid on the {self.items - self.sampled} "
                f"not sampled = {format_money(self.amount)}")

    def as_dict(self) -> dict[str, Any]:
        return {"items": self.items, "sampled": self.sampled, "failed": self.failed,
                "unsampled_paid": str(self.unsampled_paid), "rate": str(self.rate),
                "confidence": str(self.confidence), "amount": str(self.amount)}


def _pc(value: Fraction) -> str:
    return f"{float(value * 100):g}%"


def extrapolate(provider: str, population: tuple[int, Decimal], sample: tuple[int, int],
                confidence: Fraction) -> Extrapolation:
    """`population`: the provider's items and what they were paid; `sample`: how many were
    sampled and how many of those failed (with what the sampled ones were paid, the caller
    has taken it off: `population[1]` is what the items not sampled were paid)."""
    items, unsampled = population
    sampled, failed = sample
    rate = lower_bound(failed, sampled, confidence)
    return Extrapolation(provider, items, sampled, failed, unsampled, rate, confidence,
                         round_pence(rate * Fraction(unsampled)))


def recoveries(period: str, content: dict[str, Any]) -> list[Adjustment]:
    """The adjustments a recorded verdicts record recovers: each failed item, then each
    provider's extrapolation (none of £0)."""
    out = []
    for item in content["items"]:
        if item["verdict"] != "valid":
            paid = Decimal(item["amount"])
            why = "invalid" if item["verdict"] == "invalid" else "no evidence"
            reason = f"sample of {period}: {why}" + (
                f": {item['reason']}" if item.get("reason") else "")
            out.append(Adjustment(period, item["provider"], f"{RECOVERY}{item['id']}", paid,
                                  Decimal("0.00"), reason))
    for provider, e in sorted(content["providers"].items()):
        amount = Decimal(e["amount"])
        if amount > 0:
            ex = Extrapolation(provider, e["items"], e["sampled"], e["failed"],
                               Decimal(e["unsampled_paid"]), Fraction(e["rate"]),
                               Fraction(e["confidence"]), amount)
            out.append(Adjustment(period, provider, EXTRAPOLATED, ex.unsampled_paid,
                                  ex.unsampled_paid - amount,
                                  f"sample of {period}: {ex.arithmetic()}"))
    return out


def recoveries_due(ledger: Ledger, model: str) -> list[Adjustment]:
    """Every recovery the scheme's recorded verdicts make that no approved run has carried:
    what the next month drafted carries. A recovery approved once is never carried again."""
    carried = set()
    for approval in ledger.approvals(model):
        carried |= {(a.month, a.provider, a.component) for a in ledger.adjustments(approval.run_id)
                    if is_recovery(a.component)}
    out = []
    for v in ledger.verdicts(model):
        out += [a for a in recoveries(v.period, v.content)
                if (a.month, a.provider, a.component) not in carried]
    return out


def recovered_note(ledger: Ledger, model: str, month: str, provider: str) -> str:
    """For a prior-period adjustment of a month whose sample recovered from the provider:
    what was recovered, so a resubmission that drops those items is seen to recover them
    again ('' when nothing was)."""
    said = [a for v in ledger.verdicts(model) if v.period == month
            for a in recoveries(v.period, v.content) if a.provider == provider]
    if not said:
        return ""
    total = sum((a.difference for a in said), Decimal("0.00"))
    return (f"; {format_money(-total)} of {month} was recovered from {provider} after its "
            "sample and stands: a resubmission that drops the failed items recovers them again, "
            "so check the difference before approving")


def with_recovered(ledger: Ledger, model: str, adjustments: list[Adjustment]) -> list[Adjustment]:
    """Prior-period adjustments, each of a month whose sample recovered from its provider
    saying so (a resubmission does not undo a recovery without a word)."""
    import dataclasses

    out = []
    for a in adjustments:
        note = recovered_note(ledger, model, a.month, a.provider)
        out.append(dataclasses.replace(a, reason=a.reason + note) if note else a)
    return out
