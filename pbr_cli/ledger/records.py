"""The ledger's records, typed: what a run, an approval, an input, a payment line, a
prior-period adjustment and a publication are, as pbr writes them and reads them back.

The ledger (store.py) stores them in SQLite; everything else reads these, never a database
row. Money is Decimal; a stored amount that is not a decimal number is a damaged ledger.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, NamedTuple, TypeVar

from pbr_cli.errors import PbrError

ZERO = Decimal("0.00")


def now_utc() -> str:
    """The time a record is made, UTC, to the second."""
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stored_amount(text: object) -> Decimal | None:
    """A stored amount as Decimal, or None when it is not a finite decimal number."""
    try:
        value = Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


class InputRole(StrEnum):
    """What a file a run read was to it."""

    MODEL = "model"
    REGISTER = "register"
    RETURN = "return"


class LineKind(StrEnum):
    """A payment line, a line shown beside it for comparison (a block payment), or a
    component paid quarterly or annually worked out in a month that does not pay it."""

    PAYMENT = "payment"
    COMPARISON = "comparison"
    ACCRUED = "accrued"  # worked out and shown, paid with a later month (never in a total)


class ApprovalHow(StrEnum):
    """How a month came to be approved."""

    APPROVED = "approved"  # by a person, `pbr approve`
    AUTOMATIC = "automatic"  # as it was calculated (the scheme's setting)
    SCHEMA_1 = "schema 1"  # recorded by a ledger of the first schema, which kept no file


class MonthStage(StrEnum):
    """Where a recorded scheme-month stands in the ledger."""

    APPROVED = "approved"
    DRAFT = "draft"


Word = TypeVar("Word", bound=StrEnum)


def word(kind: type[Word], text: Any, where: str) -> Word:
    """A stored word of a fixed set; anything else is a damaged ledger, said as such."""
    try:
        return kind(text)
    except ValueError:
        raise PbrError(f"the ledger holds {text!r} where one of "
                       f"{', '.join(k.value for k in kind)} belongs ({where}): it has been "
                       "changed outside pbr; `pbr ledger verify` says where",
                       code="bad-ledger") from None


def money(text: Any, where: str) -> Decimal:
    """A stored amount as Decimal; anything else is a damaged ledger, said as such."""
    value = stored_amount(text)
    if value is None:
        raise PbrError(f"the ledger holds {text!r} as an amount ({where}): it has been changed "
                       "outside pbr; `pbr ledger verify` says where", code="bad-ledger")
    return value


RECOVERY = "recovery: "  # how a recovery's component begins (docs/assurance.md)


def is_recovery(component: str) -> bool:
    """A recovery after a sample's verdicts, not a month worked out again: it is not part of
    what the month is worth, so worked out again the month never pays it back."""
    return component.startswith(RECOVERY)


@dataclass(frozen=True)
class Adjustment:
    """A prior-period adjustment: what `month` is worth now against what was paid for it."""

    month: str
    provider: str
    component: str
    previous: Decimal
    now: Decimal
    reason: str

    @property
    def difference(self) -> Decimal:
        return self.now - self.previous


class RunInput(NamedTuple):
    """A file a run read, as it is recorded and read back: the model, the register, or a
    return (used, or replaced by a later version)."""

    role: InputRole
    file: str
    sha256: str
    provider: str
    period: str
    used: bool

    def fingerprinted(self) -> tuple[str, str, str, str, bool]:
        """What of it a run's fingerprint covers (not its path: a file moved is the same)."""
        return (self.role, self.sha256, self.provider, self.period, bool(self.used))


class RunLine(NamedTuple):
    """A payment (or comparison) line of a run, as it is recorded and read back."""

    provider: str
    entry: str
    groups: dict[str, str]  # the register's groups the line is broken down by
    component: str
    kind: LineKind
    amount: Decimal


@dataclass
class RunRecord:
    model: str
    model_sha256: str
    register_sha256: str
    period: str
    tool_version: str
    started_at: str
    command: str
    entitlement: Decimal
    adjustments_total: Decimal
    withheld: int
    output: str | None
    inputs: list[RunInput]
    lines: list[RunLine]
    adjustments: list[Adjustment]
    basis: int = 0  # the chain position of the scheme's last approval when this was worked out
    schedule_sha256: str = ""

    @property
    def fingerprint(self) -> str:
        return fingerprint(WorkedOut(self.model_sha256, self.register_sha256, self.tool_version,
                                     self.period, self.basis),
                           [i.fingerprinted() for i in self.inputs],
                           [(ln.provider, ln.entry, json.dumps(ln.groups, sort_keys=True),
                             ln.component, ln.kind, str(ln.amount)) for ln in self.lines],
                           [(a.month, a.provider, a.component, str(a.previous), str(a.now))
                            for a in self.adjustments])


class WorkedOut(NamedTuple):
    """What a run worked out: the period, by which model, register and version of pbr, and
    after which approval of the scheme (its chain position)."""

    model_sha256: str
    register_sha256: str
    tool_version: str
    period: str
    basis: int


def fingerprint(worked: WorkedOut, inputs: list, lines: list, adjustments: list) -> str:
    """What a run's figures depend on and are: two runs with the same fingerprint would give
    the same schedule. Worked out from the stored rows again by `verify`."""
    digest = {
        "model": worked.model_sha256, "register": worked.register_sha256,
        "tool": worked.tool_version, "period": worked.period, "basis": worked.basis,
        "inputs": sorted([list(i) for i in inputs if i[0] == "return"]),
        "lines": sorted([list(ln) for ln in lines]),
        "adjustments": [list(a) for a in adjustments],
    }
    return hashlib.sha256(json.dumps(digest, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class ApprovalRecord:
    run_id: int
    model: str
    period: str
    approved_by: str
    approved_at: str
    draft_sha256: str  # the schedule the approver was shown ('' when approved automatically)
    schedule: str  # the approved schedule file
    schedule_sha256: str
    how: ApprovalHow
    id: int = 0  # its number in the ledger, once recorded


@dataclass(frozen=True)
class Head:
    """The last record of the chain: its position and hash (0 and the genesis when empty)."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"record {self.seq} sha256 {self.hash}"


@dataclass
class MonthState:
    """Where one scheme-month stands in the ledger."""

    period: str
    state: MonthStage
    run: StoredRun  # the approved run, or the current draft
    approval: ApprovalRecord | None = None
    adjusted_later: Decimal = ZERO  # adjustments for it carried by later approved runs
    adjusted_in: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoredRun:
    """A run as recorded: one calculation of one scheme-month, with its totals."""

    id: int
    model: str
    model_sha256: str
    register_sha256: str
    period: str
    tool_version: str
    started_at: str
    finished_at: str
    command: str
    fingerprint: str
    entitlement: Decimal  # the month's PbR
    adjustments: Decimal  # prior-period adjustments carried
    payment: Decimal  # due: entitlement + adjustments
    withheld: int  # providers withheld
    output: str | None  # the schedule written for it
    schedule_sha256: str = ""
    basis: int = 0  # the chain position of the scheme's last approval it was worked out after

    @classmethod
    def of(cls, row: Any) -> StoredRun:
        where = f"run {row['id']}"
        return cls(row["id"], row["model"], row["model_sha256"], row["register_sha256"],
                   row["period"], row["tool_version"], row["started_at"], row["finished_at"],
                   row["command"], row["fingerprint"], money(row["entitlement"], where),
                   money(row["adjustments"], where), money(row["payment"], where),
                   int(row["withheld"]), row["output"], row["schedule_sha256"],
                   int(row["basis"]))


def input_of_row(row: Any) -> RunInput:
    where = f"run {row['run_id']}"
    return RunInput(word(InputRole, row["role"], where), row["file"], row["sha256"],
                    row["provider"], row["period"], bool(row["used"]))


def line_of_row(row: Any) -> RunLine:
    where = f"run {row['run_id']}"
    try:
        groups = json.loads(row["groups"])
    except (TypeError, ValueError):
        groups = None
    if not isinstance(groups, dict):
        raise PbrError(f"the ledger holds {row['groups']!r} as a line's groups ({where}): it "
                       "has been changed outside pbr; `pbr ledger verify` says where",
                       code="bad-ledger")
    return RunLine(row["provider"], row["entry"], groups, row["component"],
                   word(LineKind, row["kind"], where), money(row["amount"], where))


@dataclass(frozen=True)
class StoredPublication:
    """A publication: the figures it showed, so a later one can be audited against it."""

    id: int
    model: str
    period: str
    published_at: str
    output_sha256: str
    method: str
    figures: str  # JSON

    @functools.cached_property
    def _figures(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.figures)
        if not isinstance(data.get("figures"), dict):  # as the first publications wrote it
            data = {"figures": data}
        return data

    @property
    def month_figures(self) -> dict[str, list[int]]:
        """Each month figure it showed, by name: [true, rounded]; read from the JSON once
        for the record, however many later publications are audited against it."""
        figures: dict[str, list[int]] = self._figures["figures"]
        return figures

    @property
    def records(self) -> dict[str, str]:
        """Each non-empty month figure's records tag, by name (docs/publication.md, "Record
        keys"): the same tag, the same records; empty for a release recorded before them."""
        tags: dict[str, str] = self._figures.get("records") or {}
        return tags

    @property
    def facts(self) -> dict[str, Any]:
        """What else it recorded of itself (its base, its key's fingerprint, the months it
        covered and the returns it lacked); empty for a publication recorded before them."""
        return {k: v for k, v in self._figures.items() if k not in ("figures", "records")}

    @classmethod
    def of(cls, row: Any) -> StoredPublication:
        return cls(row["id"], row["model"], row["period"], row["published_at"],
                   row["output_sha256"], row["method"], row["figures"])


def approval_of_row(row: Any) -> ApprovalRecord:
    return ApprovalRecord(row["run_id"], row["model"], row["period"], row["approved_by"],
                          row["approved_at"], row["draft_sha256"], row["schedule"],
                          row["schedule_sha256"],
                          word(ApprovalHow, row["how"], f"approval {row['id']}"), row["id"])


def adjustment_of_row(row: Any) -> Adjustment:
    where = f"run {row['run_id']}"
    return Adjustment(row["month"], row["provider"], row["component"],
                      money(row["previous"], where), money(row["now"], where), row["reason"])
