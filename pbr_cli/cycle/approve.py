"""Approving a month's draft, and making a recorded run's schedule again.

An approval names the draft the approver reviewed (its run number or its schedule's
SHA-256); the month is worked out again from the same returns, model and register, and the
schedule is written again saying APPROVED, recorded with who, when and which file. A
recorded schedule can be made again byte for byte (`pbr ledger export`), and `pbr run`
puts back an approved schedule that went missing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from pbr_cli.cycle.calculate import (
    APPROVED,
    CalculationResult,
    PendingFile,
    approved_filename,
    check_inside,
    leftovers,
    log_month,
    remove_drafts,
    render,
    run_record,
    sha256_of,
)
from pbr_cli.cycle.paid import carried, paid_in_ledger
from pbr_cli.cycle.scheme import Configured, Scheme
from pbr_cli.cycle.state import default_user, first_unapproved, month_has_ended
from pbr_cli.errors import PbrError
from pbr_cli.ledger.records import ApprovalHow
from pbr_cli.ledger.store import ApprovalRecord, Ledger, now_utc
from pbr_cli.names import shown
from pbr_cli.periods import Month
from pbr_cli.pricing.earlier import reads_earlier
from pbr_cli.pricing.records import Schedule, Standing, State


def reproduce(scheme: Scheme, ledger: Ledger, run) -> Schedule:
    """A recorded run's schedule made again from the returns as they are now, refused when
    they (or the model or register) are no longer those the run recorded."""
    model = scheme.model
    if model.sha256 != run.model_sha256:
        raise PbrError(f"the model {run.model} has changed since run {run.id} (SHA-256 "
                       f"{run.model_sha256[:16]}... then, {model.sha256[:16]}... now): its "
                       "schedule cannot be made again from it", code="inputs-changed")
    register = scheme.register
    if register.sha256 != run.register_sha256:
        raise PbrError(f"the contract register has changed since run {run.id}: its schedule "
                       "cannot be made again from it", code="inputs-changed")
    month = Month.parse(run.period)
    collection = scheme.read([month])
    adjustments = ledger.adjustments(run.id)
    # what was paid before, as the ledger held it when the run was recorded, with the
    # adjustments the run itself carries (as `pbr run` worked it out)
    paid = (paid_in_ledger(ledger, model.name, ledger.position("run", run.id))
            .with_adjustments(carried(adjustments)) if reads_earlier(model) else None)
    schedule = scheme.schedule(month, collection, paid)
    schedule.adjustments = adjustments
    again = run_record(schedule, register, run.started_at, run.command, None, run.basis)
    if again.fingerprint != run.fingerprint:
        then = {(i.provider, i.period, i.sha256) for i in ledger.inputs(run.id)
                if i.role == "return" and i.used}
        now = {(i.provider, i.month, i.sha256) for i in schedule.inputs
               if i.role == "return" and i.used}
        changed = sorted({f"{p} {m}" for p, m, _ in then ^ now})
        raise PbrError(f"the returns of {run.model} {run.period} are not those run "
                       f"{run.id} used" + (f" ({', '.join(changed[:6])} changed)" if changed
                                               else "") + ": calculate the month again and "
                       "review the new draft", code="inputs-changed")
    return schedule


def approve_month(scheme: Scheme, period: str, named_as: tuple[int | None, str | None],
                  by: str | None, output: Path | None, wait: float = 0.0,
                  confirm: Callable[[Schedule, int], bool] | None = None) -> CalculationResult:
    """Approve the month's current draft, named by its run number or its schedule's
    SHA-256 as shown to the approver: the approval is recorded with who, when and exactly
    which schedule, and the schedule is written again saying APPROVED. `named_as` is the run
    number or the SHA-256 the approver gave (one of them). The ledger's lock is
    held throughout (waiting up to `wait` seconds for another run). `confirm(schedule, run)`
    is shown the draft once it is worked out again, before anything is recorded: False
    records nothing."""
    model, log = scheme.model, scheme.log
    month = Month.parse(period)
    check_inside(model, month)
    run_id, sha = named_as
    if run_id is None and not sha:
        raise PbrError("say which draft is approved: --run N or --sha256 HASH, as shown on the "
                       "draft schedule", code="usage")
    if sha is not None and (len(sha) < 12 or any(c not in "0123456789abcdef" for c in sha.lower())):
        raise PbrError("--sha256 takes the schedule's SHA-256 (at least its first 12 hex digits)",
                       code="usage")
    if scheme.what_if:
        raise PbrError("--returns, --register and a model file other than the config's approve "
                       "a what-if kept in a separate ledger: give --ledger too (the config's "
                       "ledger is approved from the config's returns, register and model)",
                       code="usage")
    with scheme.ledger.lock(wait):  # one recording run at a time
        path_l = scheme.ledger.place
        ledger = scheme.ledger.open(log, create=False, recording=True)
        if ledger is None:
            raise PbrError(f"no ledger at {shown(path_l)}: nothing has been calculated to approve",
                           code="file-not-found")
        try:
            done = ledger.approval_of(model.name, str(month))
            if done is not None:
                raise PbrError(f"{model.name} {month} is already approved (run {done.run_id}, by "
                               f"{done.approved_by} at {done.approved_at}); an approved month "
                               "is never approved again", code="already-approved")
            draft = ledger.latest_run(model.name, str(month))
            if draft is None:
                raise PbrError(f"{model.name} {month} has no draft: calculate it first "
                               f"(`pbr calculate -m {model.name} -p {month}`)", code="no-draft")
            named = f"run {run_id}" if run_id is not None else f"SHA-256 {sha}"
            if (run_id is not None and run_id != draft.id) or (
                    sha is not None and not draft.schedule_sha256.startswith(sha.lower())):
                raise PbrError(f"{named} is not the current draft of {model.name} {month}: that is "
                               f"run {draft.id} (schedule SHA-256 {draft.schedule_sha256[:16]}"
                               "...). Review it, then approve it by its run number",
                               code="not-the-draft")
            if not month_has_ended(month):
                raise PbrError(f"{month} has not ended: a month is approved once it is over",
                               code="month-not-ended")
            start = scheme.go_live
            nxt = first_unapproved(ledger, model, start)
            if month != nxt:
                raise PbrError(f"{nxt} is not approved yet: months are approved in order from "
                               f"{start}, so approve {nxt} first" if month > nxt else
                               f"{month} is before {model.name} goes live in the ledger ({start})",
                               code="approve-in-order")
            if draft.basis != ledger.basis(model.name):
                why = ("while earlier months were not approved, so it carries no adjustments"
                       if draft.basis < 0 else "before the months approved (or the sample verdicts "
                       "recorded) since")
                raise PbrError(f"draft run {draft.id} was worked out {why}: calculate {month} "
                               f"again (`pbr calculate -m {model.name} -p {month}`, or `pbr run`) "
                               "and approve the new draft", code="stale-draft")
            refused = may_approve(scheme, ledger, draft)
            if refused:
                raise PbrError(f"{model.name} {month} cannot be approved with your key: "
                               f"{refused}", code="not-an-approver")
            schedule = reproduce(scheme, ledger, draft)
            if confirm is not None and not confirm(schedule, draft.id):
                raise PbrError(f"{model.name} {month} not approved: nothing was recorded (draft "
                               f"run {draft.id} stays the month's draft)", code="not-approved")
            target = Path(output) if output else scheme.output / approved_filename(model, month)
            if target.exists():
                raise PbrError(f"{shown(target)} exists and is not an approved schedule of this "
                               "ledger: move it away, or give --output", code="output-exists")
            who = ledger.signer.name if ledger.signer is not None else by or default_user()
            at = now_utc()
            schedule.standing = Standing(State.APPROVED, draft.id, who, at, "approved")
            pending = PendingFile(target)
            try:
                sha_now = render(schedule, pending)
                ledger.approve(ApprovalRecord(draft.id, model.name, str(month), who, at,
                                              draft.schedule_sha256, shown(target), sha_now,
                                              ApprovalHow.APPROVED))
                pending.commit()
            finally:
                pending.discard()
            remove_drafts(ledger, model, month, scheme.output, keep=target)
            log_month(log, schedule, APPROVED, draft.id, target)
            log.info(f"{model.name} {month}: approved by {who}: run {draft.id}, draft "
                     f"schedule sha256 {draft.schedule_sha256}")
            log.head(path_l, ledger.head())
            return CalculationResult(schedule, target, APPROVED, draft.id, note=(
                f"approved by {who} at {at}"), ledger=path_l)
        finally:
            ledger.close()


def may_approve(scheme: Scheme, ledger: Ledger, draft) -> str | None:
    """Why the officer's key may not approve `draft` (None: it may, or nothing is signed):
    the config's approvers of the scheme, and four eyes where it is set."""
    if ledger.signer is None:
        return None
    drafter = ledger.signer_of("run", draft.id)
    return scheme.cfg.trust.approval_refused(scheme.model.name, ledger.signer.name, drafter)


def restore_approved(scheme: Scheme, ledger: Ledger) -> list[str]:
    """Approved schedules missing from disk (a run stopped between recording and renaming,
    or a file removed) made again where their inputs are unchanged. What was done, or why
    not, one line each."""
    model = scheme.model
    said = []
    for approval in ledger.approvals(model.name):
        if approval.how == ApprovalHow.SCHEMA_1 or not approval.schedule:
            continue
        target = Path(approval.schedule)
        try:
            if target.is_file() and sha256_of(target) == approval.schedule_sha256:
                continue
        except OSError:
            pass
        if target.exists():
            said.append(f"{model.name} {approval.period}: the approved schedule "
                        f"{shown(target)} is not the file approved (its SHA-256 differs); "
                        f"`pbr ledger export {approval.run_id} -o FILE` makes it again")
            continue
        kept = [t for t in leftovers(target) if sha256_of(t) == approval.schedule_sha256]
        if kept:  # written and recorded, but stopped before it was renamed into place
            os.replace(kept[0], target)
            said.append(f"{model.name} {approval.period}: the approved schedule "
                        f"{shown(target)} was left unrenamed by a stopped run; put in place")
            continue
        run = ledger.run(approval.run_id)
        assert run is not None  # (`require_sound` has checked every approval's run)
        try:
            schedule = reproduce(scheme, ledger, run)
        except PbrError as exc:
            said.append(f"{model.name} {approval.period}: the approved schedule "
                        f"{shown(target)} is missing and cannot be made again: {exc.message}")
            continue
        schedule.standing = Standing(State.APPROVED, run.id, approval.approved_by,
                                     approval.approved_at, approval.how)
        pending = PendingFile(target)
        try:
            if render(schedule, pending) == approval.schedule_sha256:
                pending.commit()
                said.append(f"{model.name} {approval.period}: the approved schedule "
                            f"{shown(target)} was missing; made again, byte-identical")
        finally:
            pending.discard()
    return said


def export_run(setup: Configured, run_id: int, output: Path) -> tuple[Path, bool, str]:
    """A recorded run's schedule made again (from the returns, the model and the register,
    which must be those it recorded) saying what it is: approved, the current draft, or a
    superseded draft. Returns (path, whether it is byte-identical to the file recorded,
    the recorded SHA-256)."""
    chosen = setup.ledger
    ledger = chosen.open(setup.log, create=False)
    if ledger is None:
        raise PbrError(f"no ledger at {shown(chosen.place)}", code="file-not-found")
    try:
        run = ledger.run(run_id)
        if run is None:
            raise PbrError(f"no run {run_id} in the ledger {shown(chosen.place)}", code="usage")
        schedule = reproduce(setup.scheme_named(run.model), ledger, run)
        approval = ledger.approval_of_run(run_id)
        if approval is not None:
            schedule.standing = Standing(State.APPROVED, run_id, approval.approved_by,
                                         approval.approved_at, approval.how)
            recorded = approval.schedule_sha256
        else:
            current = ledger.is_current(run_id)
            schedule.standing = Standing(State.DRAFT if current else State.SUPERSEDED, run_id)
            recorded = run.schedule_sha256
        pending = PendingFile(Path(output))
        try:
            sha = render(schedule, pending)
            pending.commit()
        finally:
            pending.discard()
        return Path(output), sha == recorded, recorded
    finally:
        ledger.close()
