"""What the ledger says was paid for a scheme's months, read as data for the pricing's
`paid_before` (pricing/earlier.py): each approved month's payment lines by register entry,
and the adjustments approved runs carried for it."""

from __future__ import annotations

from decimal import Decimal

from pbr_cli.ledger.records import Adjustment, LineKind, is_recovery
from pbr_cli.ledger.store import Ledger
from pbr_cli.periods import Month
from pbr_cli.pricing.earlier import Paid


def paid_in_ledger(ledger: Ledger, model: str, before: int | None = None) -> Paid:
    """The scheme's approved months as the ledger holds them now, or, with `before` (a
    record's place in the chain), as it held them when that record was made: the approvals
    recorded before it, and the adjustments their runs carried."""
    approved: set[Month] = set()
    lines: dict[tuple[Month, str, str], Decimal] = {}
    adjusted: dict[tuple[Month, str, str], Decimal] = {}
    for approval in ledger.approvals(model):
        at = ledger.position("approval", approval.id)
        if before is not None and (at is None or at >= before):
            continue
        month = Month.parse(approval.period)
        approved.add(month)
        for line in ledger.lines(approval.run_id):
            if line.kind == LineKind.PAYMENT:
                key = (month, line.entry, line.component)
                lines[key] = lines.get(key, Decimal("0.00")) + line.amount
        for a in ledger.adjustments(approval.run_id):
            if is_recovery(a.component):  # recovered after a sample: not what a month paid
                continue
            key = (Month.parse(a.month), a.provider, a.component)
            adjusted[key] = adjusted.get(key, Decimal("0.00")) + a.difference
    return Paid(frozenset(approved), lines, adjusted)


def carried(adjustments: list[Adjustment]) -> list[tuple[Month, str, str, Decimal]]:
    """A draft's adjustments as `Paid.with_adjustments` takes them."""
    return [(Month.parse(a.month), a.provider, a.component, a.difference) for a in adjustments
            if not is_recovery(a.component)]
