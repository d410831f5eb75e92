"""A period report's record from the ledger: where each month stands (approved, draft, not
calculated), the prior-period adjustments paid on the period's schedules, and the
reconciliation of what was paid with what the months are worth now."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pbr_cli.ledger.store import Ledger
from pbr_cli.periods import Month
from pbr_cli.reporting.cells import ZERO, Column, ColumnKind, Table
from pbr_cli.reporting.slices import Slices


class PaymentState(StrEnum):
    """Where a month of the period stands in the ledger."""

    APPROVED = "approved"  # paid
    DRAFT = "draft"
    NOT_CALCULATED = "not calculated"
    BEFORE_GO_LIVE = "before go-live"
    NO_LEDGER = "no ledger"


def ledger_tables(sl: Slices, ledger: Ledger) -> tuple[Table, Table, str]:
    """(the adjustments paid on the period's approved schedules, the reconciliation, and a
    note when some months are not paid or have changed since they were)."""
    adj_cols = [Column("paid_in", "Paid in", ColumnKind.TEXT), Column("month", "For month", ColumnKind.TEXT),
                Column("provider", "Provider code", ColumnKind.TEXT),
                Column("component", "Component", ColumnKind.TEXT),
                Column("previous", "Previously", ColumnKind.MONEY), Column("now", "Now", ColumnKind.MONEY),
                Column("difference", "Difference", ColumnKind.MONEY), Column("reason", "Reason", ColumnKind.TEXT)]
    rec_cols = [Column("month", "Month", ColumnKind.TEXT), Column("state", "State", ColumnKind.TEXT),
                Column("run", "Ledger run", ColumnKind.INTEGER),
                Column("entitlement", "PbR on the schedule", ColumnKind.MONEY),
                Column("adjustments", "Adjustments on the schedule", ColumnKind.MONEY),
                Column("due", "Due on the schedule", ColumnKind.MONEY),
                Column("now", "PbR worked out now", ColumnKind.MONEY),
                Column("to_adjust", "Not yet paid", ColumnKind.MONEY),
                Column("approved", "Approved by, at (UTC)", ColumnKind.TEXT)]
    labels = {c.name: c.label for c in sl.model.payments}
    adj_rows: list[list[Any]] = []
    rec_rows: list[list[Any]] = []
    sums = [ZERO] * 5
    for s in sl.ps.schedules:
        approval = ledger.approval_of(sl.model.name, str(s.month))
        run = (ledger.run(approval.run_id) if approval is not None
               else ledger.latest_run(sl.model.name, str(s.month)))
        if run is None:
            rec_rows.append([str(s.month), PaymentState.NOT_CALCULATED, None, None, None, None,
                             s.total(), s.total(), ""])
            sums[3] += s.total()
            sums[4] += s.total()
            continue
        if approval is not None:
            for a in ledger.adjustments(run.id):
                adj_rows.append([str(s.month), a.month, a.provider,
                                 labels.get(a.component, a.component),
                                 a.previous, a.now, a.difference, a.reason])
            paid, _ = ledger.paid(sl.model.name, str(s.month))
            to_pay = s.total() - sum(paid.values(), ZERO)
            who = f"{approval.approved_by}, {approval.approved_at[:19].replace('T', ' ')}"
            state = PaymentState.APPROVED
        else:
            to_pay, who, state = s.total(), "", PaymentState.DRAFT
        row: list[Any] = [str(s.month), state, run.id, run.entitlement,
                          run.adjustments, run.payment, s.total(), to_pay, who]
        rec_rows.append(row)
        for i, v in enumerate(row[3:8]):
            sums[i] += v
    note = ""
    if any(r[1] == PaymentState.APPROVED and r[7] for r in rec_rows):
        note = ("Some approved months' figures have changed since they were "
                            "paid: the next month approved pays the differences as "
                            "adjustments.")
    elif any(r[1] != PaymentState.APPROVED for r in rec_rows):
        note = "Some months of the period are not approved yet: not paid."
    adj_total = ["Total", "", "", "", None, None,
                 sum((r[6] for r in adj_rows), ZERO), ""] if adj_rows else None
    return (Table("adjustments", "Prior-period adjustments paid on the period's approved "
                  "schedules", adj_cols, adj_rows, adj_total,
                  "From the ledger: changes to earlier months, paid in full on a later "
                  "approved month's schedule."),
            Table("reconciliation", "The period's months in the ledger: approved (paid), "
                  "draft or not calculated", rec_cols, rec_rows, ["Total", "", None, *sums,
                                                                 ""],
                  "Paid means approved. Due on the schedule = PbR on the schedule + "
                  "adjustments. Not yet paid: for an approved month, PbR worked out now − "
                  "everything paid for it so far (the next month approved pays it as an "
                  "adjustment); for a draft or a month not calculated, all of it."),
            note)


@dataclass(frozen=True)
class MonthPayment:
    """Where one month of the period stands in the ledger."""

    month: str
    state: PaymentState
    run: int | None = None
    due: Decimal | None = None  # due on that schedule
    approved_by: str | None = None
    approved_at: str | None = None


def month_payments(model_name: str, months: list[Month], ledger: Ledger | None,
                   go_live: Month | None) -> list[MonthPayment]:
    out = []
    for m in months:
        if ledger is None:
            out.append(MonthPayment(str(m), PaymentState.NO_LEDGER))
            continue
        approval = ledger.approval_of(model_name, str(m))
        run = (ledger.run(approval.run_id) if approval is not None
               else ledger.latest_run(model_name, str(m)))
        if approval is not None:
            state = PaymentState.APPROVED
        elif run is not None:
            state = PaymentState.DRAFT
        elif go_live is not None and m < go_live:
            state = PaymentState.BEFORE_GO_LIVE
        else:
            state = PaymentState.NOT_CALCULATED
        out.append(MonthPayment(str(m), state, run.id if run else None,
                                run.payment if run else None,
                                approval.approved_by if approval is not None else None,
                                approval.approved_at if approval is not None else None))
    return out
