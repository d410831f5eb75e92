"""The records of a schedule: payment lines with their figures, the evidence that earned
them, each provider's result, and where the schedule stands in the payment cycle.

The lowest layer of the calculation: every kind of scheme (pbr_cli/pricing: service.py,
cohort/, participants.py) makes these, and everything after it (ledger, outputs,
report) reads them. It imports nothing of pbr's above the model and the return checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from pbr_cli.errors import EXIT_OK, EXIT_PROBLEMS
from pbr_cli.ledger.records import Adjustment, InputRole, LineKind
from pbr_cli.model.records import Model
from pbr_cli.periods import Month, Window
from pbr_cli.problems import ERROR, Problem
from pbr_cli.returns.checked import CheckedReturn
from pbr_cli.returns.register import Register, provider_name


class EventStatus(StrEnum):
    """What became of one event (a row of Evidence)."""

    PAID = "paid"  # paid, perhaps reduced by a cap or maximum
    REFUSED = "refused"  # not paid, and why
    NIL = "nil"  # counted, priced at 0 (a band or share of 0, a result still to complete)


class ProviderStatus(StrEnum):
    """A provider's month: paid, or withheld (its return missing or with errors)."""

    PAID = "paid"
    WITHHELD = "withheld"


class State(StrEnum):
    """Where a schedule stands in the payment cycle, as every output says it."""

    DRAFT = "DRAFT"
    APPROVED = "APPROVED"
    SUPERSEDED = "SUPERSEDED"
    WHAT_IF = "WHAT-IF"
    DRY_RUN = "DRY RUN"
    NOT_RECORDED = "NOT RECORDED"


PAID_EVENT, REFUSED, NIL = EventStatus.PAID, EventStatus.REFUSED, EventStatus.NIL
PAID, WITHHELD = ProviderStatus.PAID, ProviderStatus.WITHHELD


@dataclass(frozen=True)
class Figure:
    """One intermediate figure shown beside an amount."""

    name: str
    label: str
    value: Any
    format: str
    window: Window | None = None


@dataclass(frozen=True)
class Accrual:
    """One month of a component paid quarterly or annually, as the month that pays it adds
    it up: the month's own amount, or nothing and why (its provider withheld that month)."""

    month: Month
    amount: Decimal
    nothing: str = ""  # why it adds nothing: "withheld" (its provider), "not worked out"

    def __str__(self) -> str:
        return f"{self.month} £{self.amount:,}" + (f" {self.nothing}" if self.nothing else "")


def accrued_note(lines: list[PaymentLine]) -> str:
    """What the lines accrue and do not pay this month, in words ('' when nothing does): by
    component and the month that pays it."""
    sums: dict[tuple[str, str], Decimal] = {}
    for ln in lines:
        if ln.kind == LineKind.ACCRUED:
            key = (ln.component_label, str(ln.paid_with))
            sums[key] = sums.get(key, Decimal("0.00")) + ln.amount
    said = [f"{label} £{amount:,} (paid with {month})" for (label, month), amount in sums.items()]
    return ("Accrued this month, paid later and in no total: " + "; ".join(said) + "."
            if said else "")


@dataclass(frozen=True)
class PaymentLine:
    provider: str
    entry: str
    entry_label: str
    groups: tuple[tuple[str, str], ...]  # (column, code) the register breaks totals down by
    component: str
    component_label: str
    kind: LineKind
    amount: Decimal
    unrounded: Fraction
    figures: tuple[Figure, ...]
    paid_with: Month | None = None  # an accrued line: the month that pays it
    accrued: tuple[Accrual, ...] = ()  # a quarter's or year's payment: each month's amount
    # an outcome reported only: its events, (client, ISO day), which no evidence row names
    # (a publication's record keys: docs/publication.md); shown nowhere
    counted: tuple[tuple[str, str], ...] = ()

    def cadence(self) -> str:
        """How a component paid quarterly or annually stands in this line, in words (blank
        for one paid monthly): 'accrued: paid with 2014-06', or the months a payment adds."""
        if self.paid_with is not None:
            return f"accrued: paid with {self.paid_with}"
        if self.accrued:
            return "paid for " + " + ".join(str(a) for a in self.accrued)
        return ""


@dataclass(frozen=True)
class InputFile:
    role: InputRole
    path: str
    sha256: str
    provider: str = ""
    month: str = ""
    used: bool = True


@dataclass
class ProviderResult:
    provider: str
    name: str
    status: ProviderStatus
    reason: str
    return_file: str | None
    lines: list[PaymentLine] = field(default_factory=list)

    def total(self, kind: LineKind = LineKind.PAYMENT) -> Decimal:
        return sum((ln.amount for ln in self.lines if ln.kind == kind), Decimal("0.00"))

    def component_total(self, name: str) -> Decimal:
        return sum((ln.amount for ln in self.lines if ln.kind == LineKind.PAYMENT
                    and ln.component == name), Decimal("0.00"))

    @property
    def variance(self) -> Decimal:
        return self.total(LineKind.PAYMENT) - self.total(LineKind.COMPARISON)

    @property
    def shown_status(self) -> str:
        """Paid, WITHHELD, or Fee only: withheld, but with what the model pays without a
        return (`without_return`) paid all the same."""
        if self.status == PAID:
            return "Paid"
        return "Fee only" if any(ln.kind == LineKind.PAYMENT for ln in self.lines) else "WITHHELD"


@dataclass(frozen=True)
class Standing:
    """Where a schedule stands in the payment cycle, as every output says it."""

    state: State
    run: int | None = None
    approved_by: str = ""
    approved_at: str = ""
    how: str = ""  # approved | automatic

    def describe(self) -> str:
        if self.state == State.APPROVED:
            who = ("approved automatically (the scheme's setting)" if self.how == "automatic"
                   else f"approved by {self.approved_by}")
            return f"APPROVED — ledger run {self.run}, {who} at {self.approved_at}"
        if self.state == State.DRAFT:
            return (f"DRAFT — ledger run {self.run}: not approved for payment (approve it with "
                    "`pbr approve`)")
        if self.state == State.SUPERSEDED:
            return (f"SUPERSEDED DRAFT — ledger run {self.run}, replaced by a later calculation: "
                    "not for payment")
        if self.state == State.WHAT_IF:
            return "WHAT-IF — not recorded in the ledger, not for payment"
        if self.state == State.DRY_RUN:
            return "DRY RUN — not recorded in the ledger, not for payment"
        return "NOT RECORDED — not in any ledger, not for payment"


@dataclass(frozen=True)
class Projection:
    """A provider's projected income for the rest of a period (`pbr forecast`), carried by
    its statement: expected figures and ranges, never a payment."""

    period: str
    as_at: str
    level: int  # per cent of simulations each range holds
    simulations: int
    months: tuple[tuple[str, Decimal, Decimal, Decimal], ...]  # month, expected, low, high
    total: Decimal  # the months to come, expected
    low: Decimal
    high: Decimal


@dataclass
class Schedule:
    model: Model
    month: Month
    providers: list[ProviderResult]
    problems: list[Problem]
    inputs: list[InputFile]
    history: list[Month]
    evidence: list[Evidence] = field(default_factory=list)  # events paid or refused (client-level)
    adjustments: list[Adjustment] = field(default_factory=list)  # earlier months, paid now
    # For reports: per register entry, the figures the model's report rates add up (exact).
    rate_values: dict[str, dict[str, Fraction]] = field(default_factory=dict)
    standing: Standing | None = None  # set once the ledger has placed it in the cycle
    # returns replaced by a resubmission, among the months read: (provider, month, file)
    replaced: list[tuple[str, Month, str]] = field(default_factory=list)
    projection: Projection | None = None  # a provider's statement: its projected income

    def payment_notes(self, provider: str) -> list[str]:
        """What changed or stopped this provider's payment (caps, factors of 0, withheld)."""
        out: list[str] = []
        for p in self.problems:
            if p.affects_payment and p.provider == provider and p.note not in out:
                out.append(p.note)
        return out

    def replaced_in_month(self) -> dict[str, int]:
        """How many of each provider's returns for this month a resubmission replaced (the
        months before it, read for their windows or episodes, are their own months')."""
        out: dict[str, int] = {}
        for provider, month, _ in self.replaced:
            if month == self.month:
                out[provider] = out.get(provider, 0) + 1
        return out

    def adjustment_total(self, provider: str | None = None) -> Decimal:
        return sum((a.difference for a in self.adjustments
                    if provider is None or a.provider == provider), Decimal("0.00"))

    def due(self, provider: str | None = None) -> Decimal:
        """This month's entitlement plus prior-period adjustments."""
        own = (self.total() if provider is None
               else next((p.total() for p in self.providers if p.provider == provider),
                         Decimal("0.00")))
        return own + self.adjustment_total(provider)

    @property
    def lines(self) -> list[PaymentLine]:
        return [ln for p in self.providers for ln in p.lines]

    def total(self, kind: LineKind = LineKind.PAYMENT) -> Decimal:
        return sum((p.total(kind) for p in self.providers), Decimal("0.00"))

    def exit_code(self) -> int:
        """1 when a provider's payment is withheld or an error was found; else 0."""
        if self.withheld or any(p.is_error for p in self.problems):
            return EXIT_PROBLEMS
        return EXIT_OK

    @property
    def withheld(self) -> list[ProviderResult]:
        return [p for p in self.providers if p.status == WITHHELD]



@dataclass(slots=True)
class Source:
    """The row of a return a record came from."""

    file: str
    sheet: str
    row: int
    column: str | None = None  # letter of the record's date column

    @property
    def cell(self) -> str:
        return f"{self.sheet}!{self.column or ''}{self.row}"


@dataclass(slots=True)  # not frozen: a national month makes tens of thousands, and a
class Evidence:          # frozen dataclass is four times slower to make
    """One event: paid (perhaps reduced by the cap) or refused, and why."""

    provider: str
    client: str
    component: str
    component_label: str
    day: date
    group: str
    status: EventStatus
    price: Decimal
    amount: Decimal
    reason: str
    source: Source
    proportion: Fraction | None = None
    numerator: int | None = None
    denominator: int | None = None
    band: str = ""
    window: Window | None = None
    cap_reduction: Decimal = Decimal("0.00")


def provider_status(model: Model, register: Register, provider: str, month: Month,
                    current: CheckedReturn | None, problems: list[Problem]) -> ProviderResult:
    """Paid, or withheld because the month's return is missing or has errors (said in
    `problems`, with the return's own problems, which explain it)."""
    status, reason = PAID, ""
    fees = [c.label for c in model.payments if c.without_return]  # (pricing/cadence.py)
    but = f" but {' and '.join(fees)}, paid without a return" if fees else ""
    if current is None:
        status, reason = WITHHELD, f"no return received for {month}"
        problems.append(Problem.on_payment("", ERROR, "no-return", provider,
                                           f"{reason}; nothing is paid{but}"))
    elif current.errors:
        status = WITHHELD
        reason = f"the return has {len(current.errors)} error(s)"
        problems.append(Problem.on_payment(current.path, ERROR, "return-has-errors", provider,
                                           f"{reason}; nothing is paid{but}{',' * bool(but)} until a corrected "
                                           "return is received"))
    reason += f"; nothing is paid{but}" if but and status == WITHHELD else ""
    if current is not None:
        problems.extend(current.problems)  # the month's own return: why it was (not) paid
    return ProviderResult(provider, provider_name(model, register, provider), status,
                          reason, current.path if current else None)
