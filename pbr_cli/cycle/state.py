"""The payment cycle: which ledger a command uses, whether it may be trusted, and where each
scheme-month stands (no returns, not calculated, draft, approved, adjusted later).

A month's life: calculating makes or replaces its draft; `pbr approve` (or the scheme's
automatic approval) approves it, once; an approved month is never rewritten, and any later
change to what it is worth is paid as an adjustment on the next month approved. Months are
approved in order from the scheme's go-live month, so none is skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from pbr_cli.cycle.config import Config
from pbr_cli.cycle.runlog import RunLog
from pbr_cli.errors import PbrError
from pbr_cli.ledger.db import Where, ledger_place, same_ledger
from pbr_cli.ledger.signing import Signer
from pbr_cli.ledger.store import Ledger, ledger_state
from pbr_cli.model.records import Model
from pbr_cli.names import shown
from pbr_cli.periods import Month
from pbr_cli.returns.folders import months_with_returns

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class LedgerChoice:
    """The ledger a command uses, chosen in one place: `--ledger` first, then $PBR_LEDGER,
    then the config's. A file, or a PostgreSQL database named by its URL."""

    cfg: Config
    place: Where
    own: bool  # the config's own ledger (not named by --ledger or $PBR_LEDGER)
    named: bool  # named with --ledger

    @classmethod
    def of(cls, cfg: Config, named: str | Path | None) -> LedgerChoice:
        if named is not None:
            return cls(cfg, ledger_place(named), own=False, named=True)
        return cls(cfg, cfg.ledger, own=not cfg.ledger_overridden, named=False)

    def lock(self, wait: float):
        """The lock every run that records takes, so that one records at a time: a lock
        file beside an SQLite ledger, or the database's own lock for one in PostgreSQL."""
        from pbr_cli.ledger.lock import held

        return held(self.place, wait)

    def heads_seen(self, log: RunLog | None) -> list[tuple[int, str, RunLog]]:
        """The heads the log recorded for this ledger, oldest first, its rotated copies'
        (`pbr.log.2.gz`, then `pbr.log.1`) before its own; from the last time the ledger was
        started anew (a head of record 0: `pbr ledger init`) on."""
        if log is None:
            return []
        logs = sorted(log.rotated(), key=_rotation, reverse=True) + [log]
        seen = [(seq, digest, each) for each in logs for seq, digest, _ in each.heads(self.place)]
        starts = [i for i, (seq, _, _) in enumerate(seen) if seq == 0]
        return seen[starts[-1] + 1:] if starts else seen

    def started_anew(self, log: RunLog | None) -> bool:
        """The last head the log recorded for this ledger is record 0: `pbr ledger init`
        started it, on purpose."""
        if log is None:
            return False
        for each in [log, *sorted(log.rotated(), key=_rotation)]:
            heads = each.heads(self.place)
            if heads:
                return heads[-1][0] == 0
        return False

    def earlier_records(self, log: RunLog | None) -> list[str]:
        """What shows that this ledger held records: the heads the log, or a rotated copy of
        it, recorded for it, and (for the config's own ledger) schedules in the output
        folder."""
        found = []
        furthest: dict[Path, int] = {}
        for seq, _, each in self.heads_seen(log):
            furthest[each.path] = max(seq, furthest.get(each.path, 0))
        for path, seq in furthest.items():
            found.append(f"the log {shown(path)} says it held record {seq}")
        output = self.cfg.output
        if self.own and output.is_dir():
            schedules = sorted(p.name for pattern in ("*/*-schedule.xlsx", "*/*-draft.xlsx")
                               for p in output.glob(pattern))
            if schedules:
                found.append(f"{len(schedules)} schedule(s) in {shown(output)} (e.g. "
                             f"{shown(schedules[0])})")
        return found

    def as_it_is(self) -> Ledger:
        """The ledger opened without being verified: for `pbr ledger verify`, which says
        what is wrong with it, and `pbr ledger init`, which starts one. Every other command
        opens it with `open`."""
        return Ledger(self.place)

    def is_live(self, named: Where) -> bool:
        """Whether `named` reaches the live ledger — the one the config names (its `ledger:`,
        or OUTPUT/ledger.sqlite) — by whatever name. ($PBR_LEDGER names a ledger for a
        session; a what-if may be recorded in it by name.)"""
        return same_ledger(named, self.cfg.ledger_file or self.cfg.output / "ledger.sqlite")

    def signer(self) -> Signer | None:
        """The officer's key that signs what is recorded, where the config names who signs
        (`keys`); refused, before anything is recorded, when there is no usable one."""
        if not self.cfg.trust.on:
            return None
        from pbr_cli.ledger.keys import signer

        return signer(self.cfg.trust)

    def open(self, log: RunLog | None, create: bool = True,
             recording: bool = False) -> Ledger | None:
        """The ledger, verified (its signatures by the config's keys); refused (exit 2) when
        it does not verify, when it does not hold a head the log recorded for it, or when it
        is missing, empty or holds no record while the log (or a rotated copy) or the output
        folder show earlier runs. A new ledger is made only where nothing shows earlier runs
        (and `create`); otherwise None. Every command that reads the ledger opens it here,
        before reading returns; one that records (`recording`) gets it with the officer's key
        to sign with, and is refused first when the config names keys and there is none."""
        signer = self.signer() if recording else None
        path = self.place
        state = ledger_state(path)
        if state != "present":
            evidence = self.earlier_records(log)
            if evidence:
                raise PbrError(f"the ledger {shown(path)} is {state}, but earlier runs were "
                               f"recorded: {'; '.join(evidence)}. Restore the ledger from a "
                               "copy; or, to start a new record on purpose, `pbr ledger init "
                               "--force`", code="ledger-missing")
            if not create:
                return None
        ledger = self.as_it_is()
        ledger.signer = signer
        try:
            ledger.require_sound(self.cfg.trust)
            if state == "present" and ledger.head().seq == 0 and not self.started_anew(log):
                evidence = self.earlier_records(log)
                if evidence:
                    raise PbrError(
                        f"the ledger {shown(path)} holds no record, but earlier runs were "
                        f"recorded: {'; '.join(evidence)}. Restore the ledger from a copy; "
                        "or, to start a new record on purpose, `pbr ledger init --force`",
                        code="ledger-missing")
            if log is not None:
                self.holds_the_logs_heads(ledger, log)
        except BaseException:
            ledger.close()
            raise
        return ledger

    def holds_the_logs_heads(self, ledger: Ledger, log: RunLog) -> None:
        """The ledger still holds the last head the log (or a rotated copy of it) recorded
        for it and the furthest one: a ledger rolled back to a copy, cut short or rewritten
        is refused."""
        from pbr_cli.ledger.store import Head

        heads = self.heads_seen(log)
        if not heads:
            return
        for seq, digest, each in {heads[-1], max(heads, key=lambda h: h[0])}:
            if not ledger.has_record(Head(seq, digest)):
                raise PbrError(
                    f"the ledger {shown(self.place)} does not hold record {seq} (sha256 "
                    f"{digest[:16]}...) that the log {shown(each.path)} recorded: it was "
                    "replaced or rewritten since (rolled back to an older copy, or cut "
                    "short). Restore it from a copy", code="ledger-tampered")


def _rotation(log: RunLog) -> int:
    """A rotated log's number (`pbr.log.3.gz` → 3): the higher, the older."""
    for part in log.path.name.split(".")[::-1]:
        if part.isdigit():
            return int(part)
    return 0


def go_live(cfg: Config, model: Model) -> Month:
    """The first month the ledger accounts for: the config's go_live, else the scheme's
    start (never before it)."""
    start = Month.of(model.start)
    wanted = cfg.scheme(model.name).go_live
    return max(wanted, start) if wanted else start


def first_unapproved(ledger: Ledger | None, model: Model, start: Month) -> Month:
    approved = set(ledger.approved_periods(model.name)) if ledger else set()
    month = start
    while str(month) in approved:
        month = month.plus(1)
    return month


def month_has_ended(month: Month, today: date | None = None) -> bool:
    return month.last_day < (today or date.today())


def latest_complete_month(root: Path, model: Model, today: date | None = None) -> Month | None:
    """The latest month that has ended, lies in the scheme and has returns filed for it."""
    found = [m for m in months_with_returns(root)
             if month_has_ended(m, today) and model.covers(m)]
    return max(found) if found else None


class MonthStanding(StrEnum):
    """Where a scheme-month stands, as `pbr ledger status` says it."""

    NO_RETURNS = "no returns"
    NOT_CALCULATED = "not calculated"
    DRAFT = "draft"
    APPROVED = "approved"


@dataclass
class MonthRow:
    """One scheme-month as `pbr ledger status` shows it."""

    month: str
    state: MonthStanding
    run: int | None = None
    entitlement: Decimal | None = None
    adjustments: Decimal | None = None
    due: Decimal | None = None
    approved_by: str = ""
    approved_at: str = ""
    adjusted_later: Decimal = ZERO
    adjusted_in: list[str] = field(default_factory=list)
    schedule: str = ""


@dataclass
class SchemeStatus:
    model: str
    go_live: str
    approval: str
    months: list[MonthRow]
    first_unapproved: str

    @property
    def unpaid(self) -> Decimal:
        """What is owed but not yet approved: every draft's PbR, and the adjustments on the
        draft of the next month to approve (later drafts carry none)."""
        return sum((r.due or ZERO for r in self.months if r.state == MonthStanding.DRAFT), ZERO)

    @property
    def approved_total(self) -> Decimal:
        return sum((r.due or ZERO for r in self.months if r.state == MonthStanding.APPROVED),
                   ZERO)


def scheme_status(cfg: Config, model: Model, ledger: Ledger | None,
                  today: date | None = None) -> SchemeStatus:
    start = go_live(cfg, model)
    root = cfg.returns_for(model.name)
    filed = set(months_with_returns(root))
    states = ledger.month_states(model.name) if ledger else {}
    last = latest_complete_month(root, model, today)
    ends = [Month.parse(p) for p in states] + ([last] if last else [])
    end = max(ends) if ends else start
    rows = []
    month = start
    while month <= end:
        st = states.get(str(month))
        if st is None:
            rows.append(MonthRow(str(month), MonthStanding.NOT_CALCULATED if month in filed
                                 else MonthStanding.NO_RETURNS))
        else:
            run = st.run
            rows.append(MonthRow(
                str(month), MonthStanding(st.state), run.id, run.entitlement,
                run.adjustments, run.payment,
                st.approval.approved_by if st.approval is not None else "",
                st.approval.approved_at if st.approval is not None else "",
                st.adjusted_later, st.adjusted_in,
                (st.approval.schedule if st.approval is not None else run.output) or ""))
        month = month.plus(1)
    return SchemeStatus(model.name, str(start), cfg.scheme(model.name).approval, rows,
                        str(first_unapproved(ledger, model, start)))


def default_user() -> str:
    for name in ("PBR_USER", "USER", "USERNAME", "LOGNAME"):
        if os.environ.get(name):
            return os.environ[name]
    return "unknown"
