"""Prior-period adjustments: what an approved month is worth now against what was paid for
it (its approved run plus the adjustments later approved runs carried for it), with why."""

from __future__ import annotations

from decimal import Decimal

from pbr_cli.cache import ReturnCache
from pbr_cli.ledger.records import InputRole, StoredRun
from pbr_cli.ledger.store import Adjustment, Ledger
from pbr_cli.model.records import Model
from pbr_cli.periods import Month
from pbr_cli.pricing.earlier import Paid
from pbr_cli.pricing.worth import worth
from pbr_cli.returns.collect import Collection
from pbr_cli.returns.register import Register


def adjustments_for(ledger: Ledger, model: Model, register: Register, month: Month,
                    collection: Collection, cache: ReturnCache | None = None,
                    earlier: Paid | None = None) -> list[Adjustment]:
    """What approved `month` is worth now against what has been paid for it (`earlier`:
    what was paid before it, where its formulas read that)."""
    now_worth = worth(cache, model, register, month, collection, earlier)
    paid, last_run = ledger.paid(model.name, str(month))
    now = now_worth["payments"]
    before = {(i.provider, i.period): i.sha256 for i in ledger.inputs(last_run)
              if i.role == InputRole.RETURN and i.used} if last_run else {}
    after = now_worth["used"]
    run = ledger.run(last_run) if last_run else None
    out = []
    for key in sorted(set(now) | set(paid)):
        previous = paid.get(key, Decimal("0.00"))
        value = now.get(key, Decimal("0.00"))
        if previous != value:
            out.append(Adjustment(str(month), key[0], key[1], previous, value,
                                  reason(key[0], month, before, after, run, model, register)))
    return out


Used = dict[tuple[str, str], str]  # (provider, month) -> the SHA-256 of the return used


def reason(provider: str, month: Month, before: Used, after: Used, run: StoredRun | None,
           model: Model, register: Register) -> str:
    own = (provider, str(month))
    if own in after and own not in before:
        return f"{provider}'s {month} return arrived after {month} was approved"
    if own in after and before.get(own) != after[own]:
        return f"{provider}'s {month} return was replaced (resubmitted)"
    if own in before and own not in after:
        return f"{provider}'s {month} return is no longer used"
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    mine = [m for p, m in changed if p == provider]
    if mine:
        return f"{provider}'s returns for {', '.join(mine)} changed since {month} was approved"
    if changed:
        return ("other providers' returns changed (" + ", ".join(f"{p} {m}" for p, m in changed[:4])
                + (", ..." if len(changed) > 4 else "") + ")")
    if run is not None and run.model_sha256 != model.sha256:
        return "the model changed"
    if run is not None and run.register_sha256 != register.sha256:
        return "the contract register changed"
    return f"{month} worked out again"
