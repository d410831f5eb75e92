"""Jobs the CLI runs: find inputs, run the stages, write outputs, keep the ledger. No printing.

A calculation that is recorded makes or replaces its month's draft (or, for a scheme that
approves automatically, records and approves it at once); `approve_month` approves a draft;
`export_run` makes a recorded run's schedule again. The schedule file is written to a
temporary file, recorded with its SHA-256 in the same ledger transaction, then renamed: no
schedule without its run, no run without its schedule.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pbr_cli import __version__
from pbr_cli.assurance.recovery import recoveries_due, with_recovered
from pbr_cli.cycle.paid import carried, paid_in_ledger
from pbr_cli.cycle.runlog import RunLog
from pbr_cli.cycle.scheme import Scheme
from pbr_cli.cycle.state import first_unapproved, month_has_ended
from pbr_cli.errors import PbrError
from pbr_cli.files import refuse_unless_file
from pbr_cli.ledger.db import Where
from pbr_cli.ledger.records import ApprovalHow, RunInput, RunLine
from pbr_cli.ledger.store import Adjustment, ApprovalRecord, Ledger, RunRecord, now_utc
from pbr_cli.model.records import Model
from pbr_cli.names import shown
from pbr_cli.periods import Month
from pbr_cli.pricing import history_months, kind_of
from pbr_cli.pricing.adjustments import adjustments_for
from pbr_cli.pricing.earlier import reads_earlier
from pbr_cli.pricing.records import PAID, Schedule, Standing, State
from pbr_cli.pricing.worth import payments_by_component, remember
from pbr_cli.problems import WARNING, Problem
from pbr_cli.returns.folders import latest_month

__all__ = ["payments_by_component"]

class LedgerAction(StrEnum):
    """What a calculation did with the ledger."""

    DRAFT = "draft"  # recorded as the month's draft (replacing an earlier one)
    UNCHANGED = "unchanged"  # the month's draft stands: nothing changed since it was recorded
    APPROVED = "approved"  # recorded and approved at once (the scheme approves automatically)
    ALREADY_APPROVED = "already-approved"  # the month was approved earlier: shown, not recorded
    BEFORE_GO_LIVE = "before-go-live"  # before the ledger accounts for the scheme: shown only
    DRY_RUN = "dry-run"  # --dry-run: shown only
    WHAT_IF = "what-if"  # other returns, register or model than the config's: not recorded


DRAFT, UNCHANGED, APPROVED = LedgerAction.DRAFT, LedgerAction.UNCHANGED, LedgerAction.APPROVED
ALREADY_APPROVED, BEFORE_GO_LIVE = LedgerAction.ALREADY_APPROVED, LedgerAction.BEFORE_GO_LIVE
DRY_RUN, WHAT_IF = LedgerAction.DRY_RUN, LedgerAction.WHAT_IF


@dataclass
class CalculationResult:
    schedule: Schedule
    path: Path | None  # the schedule written (None when nothing was written)
    status: LedgerAction
    run_id: int | None = None
    note: str = ""  # what the status means for this month, in words
    ledger: Where | None = None


def draft_filename(model: Model, month: Month) -> str:
    return f"{model.name}-{month}-draft.xlsx"


def approved_filename(model: Model, month: Month) -> str:
    return f"{model.name}-{month}-schedule.xlsx"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class PendingFile:
    """A file written beside its target and renamed over it only when committed (the
    file and its folder flushed to disk first); discarded otherwise."""

    def __init__(self, target: Path):
        import tempfile

        self.target = Path(target)
        refuse_unless_file(self.target)
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".tmp",
                                       dir=self.target.parent)
        except OSError as exc:
            raise PbrError(f"cannot write {shown(self.target)}: {exc.strerror or exc}",
                           code="output-not-writable") from None
        os.close(fd)
        self.tmp = Path(tmp)
        self.companions: list[PendingFile] = []
        self.stale: list[Path] = []  # files of an earlier version that this one has not

    def companion(self, target: Path) -> tuple[Path, Path]:
        """Another file written with this one (a schedule's evidence CSV), renamed into
        place before it and discarded with it: (the file to write, its name once renamed)."""
        pending = PendingFile(target)
        self.companions.append(pending)
        return pending.tmp, pending.target

    def commit(self) -> None:
        for pending in self.companions:
            pending.commit()
        for old in self.stale:
            try:
                old.unlink(missing_ok=True)
            except OSError as exc:
                raise PbrError(f"cannot remove {shown(old)}: {exc.strerror or exc}",
                               code="output-not-writable") from None
        umask = os.umask(0)
        os.umask(umask)
        try:
            fd = os.open(self.tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.chmod(self.tmp, 0o666 & ~umask)
            os.replace(self.tmp, self.target)
            for stale in leftovers(self.target):  # from runs stopped before they renamed
                stale.unlink(missing_ok=True)
            if hasattr(os, "O_DIRECTORY"):
                dfd = os.open(self.target.parent, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
        except OSError as exc:
            raise PbrError(f"cannot write {shown(self.target)}: {exc.strerror or exc}",
                           code="output-not-writable") from None

    def discard(self) -> None:
        for pending in self.companions:
            pending.discard()
        try:
            self.tmp.unlink(missing_ok=True)
        except OSError:
            pass


def leftovers(target: Path) -> list[Path]:
    """Temporary files of `target` left by runs that were stopped before renaming them."""
    from pbr_cli.outputs.xlsx import half_made

    return half_made(target)


def render(schedule: Schedule, pending: PendingFile) -> str:
    """Write the schedule into `pending` (its evidence CSV too, when one sheet cannot hold
    the evidence) and return the workbook's SHA-256."""
    from pbr_cli.memory import give_back_memory
    from pbr_cli.outputs.schedule import evidence_path, render_schedule
    from pbr_cli.outputs.xlsx import not_writable

    for old in pending.companions:
        old.discard()
    pending.companions.clear()
    give_back_memory()  # what pricing the month freed: at national scale, most of what it held
    try:
        render_schedule(schedule, pending.tmp,
                        evidence_file=lambda: pending.companion(evidence_path(pending.target)))
    except OSError as exc:
        if not not_writable(exc):
            raise
        raise PbrError(f"cannot write {shown(pending.target)}: {exc.strerror or exc}",
                       code="output-not-writable") from None
    # An earlier schedule of this name had its evidence beside it; this one has none.
    pending.stale = [] if pending.companions else [evidence_path(pending.target)]
    return sha256_of(pending.tmp)


def run_record(schedule: Schedule, register, started: str, command: str, path: Path | None,
            basis: int) -> RunRecord:
    inputs = [RunInput(i.role, i.path, i.sha256, i.provider, i.month, i.used)
              for i in schedule.inputs]
    lines = [RunLine(p.provider, ln.entry, dict(ln.groups), ln.component, ln.kind,
                     ln.amount) for p in schedule.providers for ln in p.lines]
    return RunRecord(schedule.model.name, schedule.model.sha256, register.sha256,
                     str(schedule.month), __version__, started, command,
                     schedule.total(), schedule.adjustment_total(), len(schedule.withheld),
                     shown(path) if path else None, inputs, lines, list(schedule.adjustments),
                     basis)


def history_missing(scheme: Scheme, month: Month, unfiled: list[Month]) -> str:
    """Why a month cannot be worked out yet: the months of its history not filed, and what
    to do."""
    model = scheme.model
    first = Month.of(model.start)
    span = str(unfiled[0]) if len(unfiled) == 1 else f"{unfiled[0]} to {unfiled[-1]}"
    reads = (f"every month since the scheme start, {first} (its episodes are followed from "
             "their start)" if kind_of(model).clients else
             f"the months {history_months(model, month)[0]} to {month} (its rolling windows"
             + (", and the months a quarter's or year's payment adds up"
                if any(c.paid != "monthly" for c in model.payments) else "") + ")")
    opening = ""
    if model.cohort is not None and model.cohort.opening is not None:
        opening = (f"; or, to start the scheme afresh in {scheme.go_live}, set the model's start "
                   f"to {scheme.go_live.first_day} and declare the clients then in treatment as "
                   "each provider's opening caseload (docs/models.md)")
    return (f"the calculation of {month} reads {reads}, and nothing is filed for {span} "
            f"({len(unfiled)} month(s)) in {shown(scheme.root)}: file each month's returns in "
            f"its YYYY-MM folder (an empty folder says none came){opening}")


def check_inside(model: Model, month: Month) -> None:
    if not model.covers(month):
        raise PbrError(f"{month} is outside the scheme {model.name} ({model.start} to "
                       f"{model.end})", code="period-outside-scheme")


@dataclass(frozen=True)
class _Recording:
    """How a calculation is recorded: when it started, the command, the log (None: a run
    that records nothing logs nothing)."""

    started: str
    command: str
    log: RunLog | None


def run_calculation(scheme: Scheme, period: str | None, output: Path | None = None, *,
                    dry_run: bool = False, command: str = "calculate",
                    ledger: Ledger | None = None, wait: float | None = None,
                    ) -> CalculationResult:
    """Calculate a month and, unless it is a dry run or a what-if, record it in the ledger
    as the month's draft (approved at once where the scheme approves automatically). The
    next month to approve carries prior-period adjustments for every approved month whose
    figures have changed since it was paid. When it records, the ledger's lock is held
    (waiting up to `wait` seconds for another run; `wait` None: the caller holds it, and
    `ledger` is the one it opened)."""
    started = now_utc()
    _ = scheme.register  # the register first, then the returns: the order problems are told in
    root = scheme.root
    if period:
        month = Month.parse(period)
    else:
        found = latest_month(root)
        if found is None:
            raise PbrError(f"no returns in {shown(root)}: nothing to calculate",
                           code="file-not-found")
        month = found
    check_inside(scheme.model, month)
    recording = not dry_run and not scheme.what_if
    rec = _Recording(started, command, scheme.log if recording else None)
    lock = (scheme.ledger.lock(wait) if recording and wait is not None
            else contextlib.nullcontext())
    with lock:
        opened = ledger is None
        if opened:
            ledger = scheme.ledger.open(scheme.log, create=recording, recording=recording)
        try:
            return _calculate(scheme, month, output, ledger, rec,
                              DRY_RUN if dry_run else WHAT_IF if scheme.what_if else None)
        finally:
            if opened and ledger is not None:
                ledger.close()


def _calculate(scheme: Scheme, month: Month, output: Path | None, ledger: Ledger | None,
               rec: _Recording, not_recorded: LedgerAction | None) -> CalculationResult:
    cfg, model, register = scheme.cfg, scheme.model, scheme.register
    start = scheme.go_live
    approved = set(ledger.approved_periods(model.name)) if ledger else set()
    nxt = first_unapproved(ledger, model, start)
    earlier = sorted(Month.parse(p) for p in approved if Month.parse(p) < month) \
        if month == nxt and ledger is not None else []
    collection = scheme.read([month, *earlier], compact_records=True)
    unfiled = scheme.unfiled_history(month, collection)
    said = history_missing(scheme, month, unfiled) if unfiled else ""
    if unfiled and not_recorded != WHAT_IF:
        raise PbrError(f"{said}; nothing was drafted", code="history-incomplete")
    cache = cfg.cache
    # what was paid before, where a formula reads it: once this draft is approved, so each
    # month is worked out after the adjustments the draft carries for the months before it
    paid = paid_in_ledger(ledger, model.name) if ledger and reads_earlier(model) else None
    adjustments: list[Adjustment] = []
    for e in earlier:
        assert ledger is not None  # (earlier months are only looked at with a ledger)
        adjustments += adjustments_for(ledger, model, register, e, collection, cache,
                                       paid and paid.with_adjustments(carried(adjustments)))
    if ledger is not None and month == nxt:  # what samples' verdicts recover, once
        adjustments = [*with_recovered(ledger, model.name, adjustments),
                       *recoveries_due(ledger, model.name)]
    paid = paid and paid.with_adjustments(carried(adjustments))
    schedule = scheme.schedule(month, collection, paid, last=True)
    if unfiled:
        schedule.problems.append(Problem("", WARNING, "history-incomplete",
                                         f"{said}: these figures are not what is due"))
    remember(cache, model, register, month, collection, schedule, paid)
    schedule.adjustments += adjustments
    later_note = (f"adjustments to approved months are worked out on the draft of {nxt}, the "
                  "next month to approve" if month > nxt else "")

    if not_recorded is not None:
        schedule.standing = Standing(State.DRY_RUN if not_recorded == DRY_RUN else State.WHAT_IF)
        note = ("dry run: no schedule written, nothing recorded" if not_recorded == DRY_RUN
                else "what-if (returns, register or model other than the config's): nothing "
                "recorded in the ledger; name a separate ledger with --ledger to record it")
        path = None
        if not_recorded == WHAT_IF and output is not None:
            from pbr_cli.outputs.schedule import write_schedule

            path = write_schedule(schedule, Path(output))
        return CalculationResult(schedule, path, not_recorded, note=note)
    assert ledger is not None
    if month < start or str(month) in approved:
        return _not_recorded(scheme, schedule, output, ledger, (start, nxt))

    # The draft of the next month to approve is worked out against the approvals so far (it
    # carries the adjustments); a later month's draft carries none and waits (basis -1).
    basis = ledger.basis(model.name) if month == nxt else -1
    automatic = scheme.settings.automatic and month == nxt and month_has_ended(month)
    folder = scheme.output
    target = Path(output) if output else folder / (
        approved_filename(model, month) if automatic else draft_filename(model, month))
    record = run_record(schedule, register, rec.started, rec.command, target, basis)
    latest = ledger.latest_run(model.name, str(month))
    ledger_path = scheme.ledger.place
    if not automatic and latest is not None and latest.fingerprint == record.fingerprint:
        schedule.standing = Standing(State.DRAFT, latest.id)
        kept = Path(latest.output) if latest.output else target
        _restore(schedule, kept, latest.schedule_sha256)
        return CalculationResult(schedule, kept, UNCHANGED, latest.id, note=(
            f"nothing changed since draft run {latest.id}: nothing new recorded"
            + (f"; {later_note}" if later_note else "")), ledger=ledger_path)
    if automatic and target.exists():
        raise PbrError(f"{shown(target)} exists but {month} is not approved in the ledger "
                       f"{shown(ledger_path)}: it is not pbr's approved schedule. Move it away",
                       code="output-exists")
    approved_at = now_utc()
    signer = ledger.signer
    by = signer.name if signer is not None else "pbr"
    if automatic and signer is not None:
        refused = cfg.trust.approval_refused(model.name, signer.name, None)
        if refused:
            raise PbrError(f"{model.name} {month} is approved automatically, signed by the key "
                           f"running pbr: {refused}; nothing was recorded",
                           code="not-an-approver")
    pending = PendingFile(target)

    def write(run_id: int) -> str:
        schedule.standing = (Standing(State.APPROVED, run_id, by, approved_at, "automatic")
                             if automatic else Standing(State.DRAFT, run_id))
        return render(schedule, pending)

    def approve(run_id: int, sha: str) -> ApprovalRecord:
        return ApprovalRecord(run_id, model.name, str(month), by, approved_at, "",
                              shown(target), sha, ApprovalHow.AUTOMATIC)

    try:
        run_id = ledger.record(record, write, approve if automatic else None)
        pending.commit()
    finally:
        pending.discard()
    if automatic:
        remove_drafts(ledger, model, month, folder, keep=target)
    status = APPROVED if automatic else DRAFT
    if rec.log is not None:
        log_month(rec.log, schedule, status, run_id, target)
        rec.log.head(ledger_path, ledger.head())
    note = ("approved automatically (the scheme's setting)" if automatic else
            f"recorded as draft run {run_id}; approve it with `pbr approve -m "
            f"{scheme.model_words} -p {month} --run {run_id}{scheme.named_words}`"
            + (f"; {later_note}" if later_note else ""))
    return CalculationResult(schedule, target, status, run_id, note=note, ledger=ledger_path)


def _not_recorded(scheme: Scheme, schedule: Schedule, output: Path | None, ledger: Ledger,
                  months: tuple[Month, Month]) -> CalculationResult:
    """A month before go-live, or approved already: shown as it is worked out now, never
    recorded; written only where -o asks, and then marked NOT RECORDED."""
    from pbr_cli.outputs.schedule import write_schedule

    model, month = scheme.model, schedule.month
    start, nxt = months
    schedule.standing = Standing(State.NOT_RECORDED)
    path = write_schedule(schedule, Path(output)) if output is not None else None
    written = (f"written to {shown(path)} marked NOT RECORDED, nothing recorded" if path
               else "nothing written or recorded")
    if month < start:
        return CalculationResult(schedule, path, BEFORE_GO_LIVE, note=(
            f"{month} is before {model.name} goes live in the ledger ({start}): shown, "
            f"{written}"))
    approval = ledger.approval_of(model.name, str(month))
    assert approval is not None  # (approved months are only passed here)
    later = (f"Any difference from what was paid is an adjustment on {nxt}, the next "
             "month to approve" if nxt.first_day <= model.end else
             "Every month of the scheme is approved and it has ended: a difference from "
             "what was paid is shown here, and is not paid by adjustment")
    return CalculationResult(schedule, path, ALREADY_APPROVED, approval.run_id, note=(
        f"{month} was approved (run {approval.run_id}, by {approval.approved_by} at "
        f"{approval.approved_at}): these are its figures worked out now; {written}. "
        + later))


def _restore(schedule: Schedule, path: Path, sha: str) -> None:
    """A recorded run's schedule file missing or changed (a run stopped between recording
    and renaming, or a file edited): written again, when it comes out the same."""
    try:
        if path.exists() and sha256_of(path) == sha:
            return
    except OSError:
        pass
    pending = PendingFile(path)
    try:
        if render(schedule, pending) == sha:
            pending.commit()
    finally:
        pending.discard()


def remove_drafts(ledger: Ledger, model: Model, month: Month, folder: Path, keep: Path) -> None:
    """The draft files of an approved month are gone once it is approved (each is pbr's own:
    its SHA-256 is a recorded draft's)."""
    from pbr_cli.outputs.schedule import evidence_path

    shas = {r.schedule_sha256 for r in ledger.runs(model.name) if r.period == str(month)}
    for candidate in {folder / draft_filename(model, month),
                      *(Path(r.output) for r in ledger.runs(model.name)
                        if r.period == str(month) and r.output)}:
        if candidate == keep:
            continue
        try:
            for stale in leftovers(candidate):
                stale.unlink(missing_ok=True)
            if candidate.is_file() and sha256_of(candidate) in shas:
                candidate.unlink()
                evidence_path(candidate).unlink(missing_ok=True)  # its evidence, if beside it
        except OSError:
            pass


def drafts_approved_elsewhere(ledger: Ledger, model: Model, folder: Path) -> list[str]:
    """This folder's drafts of months approved since it last ran (in another folder sharing
    the ledger, say): removed where each is a draft the ledger recorded for its month, any
    other file of that name left alone. What was done, one line each."""
    said = []
    for a in ledger.approvals(model.name):
        draft = folder / draft_filename(model, Month.parse(a.period))
        with contextlib.suppress(OSError):
            if draft.is_file():
                ours = sha256_of(draft) in {r.schedule_sha256 for r in ledger.runs(model.name)
                                            if r.period == a.period}
                if ours:
                    remove_drafts(ledger, model, Month.parse(a.period), folder, Path(a.schedule))
                said.append(f"{model.name} {a.period}: approved elsewhere (run {a.run_id}, by "
                            f"{a.approved_by}); " + (f"its draft {shown(draft)} removed" if ours
                            else f"{shown(draft)} is not a draft the ledger recorded: left as it is"))
    return said


def log_month(log: RunLog, schedule: Schedule, status: LedgerAction, run_id: int | None,
               path: Path | None) -> None:
    from pbr_cli.money import format_money

    s = schedule
    states: dict[str, str] = {DRAFT: "DRAFT", APPROVED: "APPROVED",
                              UNCHANGED: "DRAFT (unchanged)"}
    state = states.get(status, str(status))
    errors = sum(1 for p in s.problems if p.is_error)
    line = (f"{s.model.name} {s.month}: {state} run {run_id}: PbR {format_money(s.total())}, "
            f"adjustments {format_money(s.adjustment_total())}, due {format_money(s.due())}; "
            f"{len(s.withheld)} withheld, {errors} error(s)"
            + (f"; schedule {path}" if path else ""))
    (log.warning if s.withheld or errors else log.info)(line)
    for p in s.withheld:
        log.warning(f"{s.model.name} {s.month}: withheld {p.provider} ({p.name}): {p.reason}")
    for p in s.providers:
        for note in s.payment_notes(p.provider):
            if p.status == PAID:
                log.info(f"{s.model.name} {s.month}: {p.provider}: {note}")


def make_template(scheme: Scheme, provider: str, period: str, output: Path) -> Month:
    """The blank return for one provider and month, written; the month."""
    from pbr_cli.outputs.template import ReturnFor, write_return

    month = Month.parse(period)
    register = scheme.register
    if provider not in register.providers():
        raise PbrError(f"no provider '{provider}' in the contract register "
                       f"({', '.join(register.providers())})", code="unknown-provider")
    check_inside(scheme.model, month)
    write_return(output, ReturnFor(scheme.model, register, provider, month))
    return month
