"""`pbr run` (the unattended monthly job) and `pbr ledger` (what has been recorded)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pbr_cli.cycle.config import Config
from pbr_cli.cycle.runlog import RunLog
from pbr_cli.cycle.scheme import Configured
from pbr_cli.errors import EXIT_OK, STOP, PbrError, check_stop
from pbr_cli.ledger.db import LedgerUrl
from pbr_cli.money import format_money
from pbr_cli.names import shown
from pbr_cli.periods import Month
from pbr_cli.pricing.records import PAID


def _schemes(cfg: Config) -> list[str]:
    from pbr_cli.model import list_models

    if cfg.schemes:
        return list(cfg.schemes)
    found = [p.stem for p in list_models(cfg.models)]
    if not found:
        raise PbrError(f"nothing to run: no schemes listed in {shown(cfg.source or 'the config')} and no models "
                       f"in {shown(cfg.models)}", code="nothing-to-do")
    return found


def run_all(config: Path | None, dry_run: bool, wait: float, progress_factory, out,
            months: list[dict[str, Any]] | None = None) -> int:
    """Every scheme of the config: every month from its go-live to the latest complete one
    that is not approved yet, in order (drafts, or approved at once where the scheme says
    so). `out(line, style, person=False)` shows a line (`person`: one a person must act on,
    shown even under --quiet); the log gets the same; `months`, when given, gets
    what each month came to (for --json)."""
    import contextlib


    setup = Configured.load(config, required=True)
    log = setup.log
    schemes = _schemes(setup.cfg)
    log.info(f"run started: {', '.join(schemes)}" + (" (dry run)" if dry_run else ""))
    chosen = setup.ledger
    lock = contextlib.nullcontext() if dry_run else chosen.lock(wait)
    worst = EXIT_OK
    try:
        with lock:
            ledger = chosen.open(log, create=not dry_run, recording=not dry_run)
            try:
                needed: list[bool] = []

                def told(line: str, style: str, person: bool = False) -> None:
                    needed.append(person)
                    out(line, style, person)

                monthly = _MonthlyRun(dry_run, ledger, log, progress_factory, told, months)
                for name in schemes:
                    worst = max(worst, monthly.scheme(setup, name))
                if ledger is not None:
                    head = ledger.head()  # (with what needs a person: the mail keeps it)
                    out(f"Ledger {shown(chosen.place)}: head {head}", "", any(needed))
                    if not dry_run:
                        log.head(chosen.place, head)
            finally:
                if ledger is not None:
                    ledger.close()
    except PbrError as exc:
        log.error(f"refused: {exc.message}")
        raise
    except BaseException as exc:  # logged, then as it would be anyway
        log.error(f"stopped: {getattr(exc, 'signal_name', STOP.signal_name or type(exc).__name__)}")
        raise
    log.info(f"run finished: exit code {worst}")
    return worst


@dataclass
class _MonthlyRun:
    """One `pbr run`: the ledger it holds, where it tells what it did."""

    dry_run: bool
    ledger: Any  # the ledger, opened and locked (None on a dry run with no ledger yet)
    log: RunLog
    progress_factory: Any
    out: Any  # out(line, style)
    months: list[dict[str, Any]] | None

    def scheme(self, setup: Configured, name: str) -> int:
        """Every month of one scheme still to bring up to date; the worst exit code."""
        from pbr_cli.cycle.state import first_unapproved, latest_complete_month

        ledger, log, out = self.ledger, self.log, self.out
        worst = EXIT_OK
        try:
            scheme = setup.scheme_named(name)
            root = scheme.root
            last = latest_complete_month(root, scheme.model)
            if last is None:
                raise PbrError(f"no complete month with returns in {shown(root)}",
                               code="file-not-found")
            if ledger is not None and not self.dry_run:
                from pbr_cli.cycle.approve import restore_approved

                for line in restore_approved(scheme, ledger):
                    log.warning(line)
                    out(line, "yellow", True)
                from pbr_cli.cycle.calculate import drafts_approved_elsewhere

                for line in drafts_approved_elsewhere(ledger, scheme.model, scheme.output):
                    log.info(line)
                    out(line, "", False)
            start = scheme.go_live
            todo = []
            month = first_unapproved(ledger, scheme.model, start)
            while month <= last:
                if ledger is None or ledger.approval_of(name, str(month)) is None:
                    todo.append(month)
                month = month.plus(1)
            if not todo:
                line = f"{name}: every month from {start} to {last} is approved; nothing to do"
                log.info(line)
                out(line, "")
            for month in todo:
                check_stop()
                worst = max(worst, self.month(scheme, month))
        except PbrError as exc:
            log.error(f"{name}: {exc.message}")
            out(f"{name}: {exc.message}", "red", True)
            worst = max(worst, exc.exit_code)
        return worst

    def month(self, scheme, month: Month) -> int:
        from dataclasses import replace

        from pbr_cli.cycle.calculate import UNCHANGED, run_calculation
        from pbr_cli.outputs.money_said import money_warnings, money_warnings_said

        model, log, out = scheme.model, self.log, self.out
        progress = self.progress_factory() if self.progress_factory is not None else None
        try:
            result = run_calculation(replace(scheme, progress=progress), str(month),
                                     dry_run=self.dry_run, command="run", ledger=self.ledger)
        finally:
            if progress is not None:
                progress.close()
        s = result.schedule
        errors = sum(1 for p in s.problems if p.is_error)
        code = s.exit_code()
        state = s.standing.describe().split(" — ")[0] if s.standing else result.status
        run = f" run {result.run_id}" if result.run_id else ""
        line = (f"{model.name} {month}: {state}{run}: PbR {format_money(s.total())}, adjustments "
                f"{format_money(s.adjustment_total())}, due {format_money(s.due())}; "
                f"{len(s.withheld)} withheld, {errors} error(s)"
                + (f"; schedule {shown(result.path)}" if result.path else ""))
        # A person is needed for a draft to approve, errors, a withheld (missing or faulty)
        # return: said even under --quiet, so a cron line mails only then.
        person = bool(code) or str(state).startswith("DRAFT")
        out(line, "yellow" if code else "", person)
        if self.months is not None:
            self.months.append({
                "model": model.name, "month": str(month), "state": str(state),
                "run": result.run_id, "pbr": str(s.total()),
                "adjustments": str(s.adjustment_total()), "due": str(s.due()),
                "withheld": [p.provider for p in s.withheld], "errors": errors,
                "schedule": shown(result.path) if result.path else None, "exit_code": code,
                "money_warnings": dict(money_warnings(s.problems))})
        if money_warnings_said(s.problems):  # before anything is approved: what it leaves out
            out(f"  {money_warnings_said(s.problems)}", "yellow", person)
        for p in s.withheld:
            out(f"  withheld {p.provider} ({p.name}): {p.reason}", "red", True)
        for p in s.providers:
            if p.status == PAID:
                for note in s.payment_notes(p.provider):
                    out(f"  {p.provider}: {note}", "yellow", person)
        if result.status == UNCHANGED:
            log.info(f"{model.name} {month}: DRAFT run {result.run_id} unchanged")
        if scheme.settings.statements and result.run_id and not self.dry_run:
            from pbr_cli.jobs.statements import statements_folder, write_statements

            folder = statements_folder(scheme, month)
            written = write_statements(s, scheme.register, folder)
            out(f"  {len(written)} provider statement(s) in {shown(folder)}", "")
            log.info(f"{model.name} {month}: {len(written)} provider statement(s) in "
                     f"{shown(folder)}")
        return code


def _open(config: Path | None, ledger_path: str | Path | None = None):

    setup = Configured.load(config, ledger=ledger_path)
    return setup.cfg, setup.ledger.place, setup.ledger.open(setup.log, create=False)


def ledger_status(config: Path | None, model_name: str | None,
                  ledger_path: str | Path | None = None) -> dict[str, Any]:
    """Each scheme's months from go-live: no returns, not calculated, draft or approved
    (and adjusted later), with what is owed but not yet approved, and the chain head."""
    from pbr_cli.cycle.state import scheme_status
    from pbr_cli.model import find_model, load_model

    cfg, path, ledger = _open(config, ledger_path)
    try:
        names = [model_name] if model_name else _schemes(cfg)
        schemes = []
        for name in names:
            model = load_model(find_model(name, cfg.models))
            st = scheme_status(cfg, model, ledger)
            schemes.append({
                "model": st.model, "go_live": st.go_live, "approval": st.approval,
                "next_to_approve": st.first_unapproved,
                "approved_total": str(st.approved_total), "owed_unapproved": str(st.unpaid),
                "months": [{
                    "month": r.month, "state": r.state, "run": r.run,
                    "pbr": None if r.entitlement is None else str(r.entitlement),
                    "adjustments": None if r.adjustments is None else str(r.adjustments),
                    "due": None if r.due is None else str(r.due),
                    "approved_by": r.approved_by or None, "approved_at": r.approved_at or None,
                    "adjusted_later": str(r.adjusted_later), "adjusted_in": r.adjusted_in,
                    "schedule": r.schedule or None} for r in st.months]})
        head = ledger.head() if ledger else None
        return {"schema": 1, "ledger": shown(path), "exists": ledger is not None,
                "head": {"record": head.seq, "sha256": head.hash} if head else None,
                "schemes": schemes}
    finally:
        if ledger is not None:
            ledger.close()


def ledger_verify(config: Path | None, ledger_path: str | Path | None = None,
                  against: Path | None = None) -> dict[str, Any]:
    """What `pbr ledger verify` says: the ledger checked (its signatures by the config's
    keys), against the log's heads and, when given, a signed statement of its head."""
    from pbr_cli.ledger.store import ledger_state

    setup = Configured.load(config, ledger=ledger_path)
    path, log = setup.ledger.place, setup.log
    state = ledger_state(path)
    if state == "missing":
        raise PbrError(f"no ledger at {shown(path)}", code="file-not-found")
    if state == "empty":  # never made into a ledger here: that is `pbr ledger init`'s
        evidence = setup.ledger.earlier_records(log)
        raise PbrError(f"the ledger {shown(path)} is empty: it holds nothing to verify"
                       + (f", but earlier runs were recorded: {'; '.join(evidence)}. Restore "
                          "the ledger from a copy" if evidence else
                          "; `pbr ledger init` starts a ledger"), code="ledger-missing")
    trust = setup.cfg.trust
    statement = _statement(against) if against is not None else None
    ledger = setup.ledger.as_it_is()
    try:
        found = ledger.verify(trust)
        head = ledger.head()
        if not found:
            try:
                setup.ledger.holds_the_logs_heads(ledger, log)
            except PbrError as exc:
                found.append(exc.message)
        if statement is not None and against is not None:
            found += _against(ledger, statement, trust, against)
        signed, unsigned = ledger.signing()
        data = {"schema": 1, "ledger": shown(path), "sound": not found, "problems": found,
                "records": head.seq, "runs": ledger.count("runs"),
                "approvals": ledger.count("approvals"),
                "publications": ledger.publication_count(),
                "head": {"record": head.seq, "sha256": head.hash}}
        data["signing"] = {"checked": trust.on, "signed": signed, "unsigned": unsigned}
        return data
    finally:
        ledger.close()


def _statement(against: Path):
    from pbr_cli.ledger.anchor import read_statement

    try:
        text = Path(against).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PbrError(f"cannot read the statement {shown(against)}: {exc}",
                       code="bad-statement") from None
    return read_statement(text, shown(against))


def _against(ledger, statement, trust, against: Path) -> list[str]:
    """What a signed statement of the head says that the ledger does not hold."""
    from pbr_cli.ledger.anchor import statement_refused
    from pbr_cli.ledger.store import Head

    said = f"the statement {shown(against)}"
    refused = statement_refused(statement, trust)
    if refused:
        return [f"{said} is not to be trusted: {refused}"]
    if statement.ledger != ledger.ledger_id():
        return [f"{said} is of another ledger ({statement.ledger[:12]}..., this one is "
                f"{ledger.ledger_id()[:12]}...)"]
    seq, digest = statement.head.seq, statement.head.hash
    if ledger.has_record(Head(seq, digest)):
        return []
    head = ledger.head()
    if head.seq < seq:
        return [f"{said} says the ledger held record {seq} (sha256 {digest[:16]}...); it now "
                f"ends at record {head.seq}: it was cut short or rolled back since. Restore it "
                "from a copy"]
    return [f"{said} says record {seq} has sha256 {digest[:16]}...; the ledger's record {seq} "
            "has another: it was rewritten since. Restore it from a copy"]


def ledger_head(config: Path | None, ledger_path: str | Path | None = None) -> str:
    """A statement of the ledger's head signed by the officer's key, to keep elsewhere."""
    from pbr_cli.ledger.anchor import state_head
    from pbr_cli.ledger.keys import chosen_key
    from pbr_cli.ledger.signing import Signer
    from pbr_cli.ledger.store import now_utc

    setup = Configured.load(config, ledger=ledger_path)
    key, raw = chosen_key()
    name = setup.cfg.trust.name_of(key.public) or key.name
    ledger = setup.ledger.open(setup.log, create=False)
    if ledger is None:
        raise PbrError(f"no ledger at {shown(setup.ledger.place)}", code="file-not-found")
    try:
        statement = state_head(ledger.ledger_id(), ledger.head(), now_utc(),
                               Signer(name, raw, key.public))
    finally:
        ledger.close()
    return statement.text()


def ledger_init(config: Path | None, force: bool, ledger_path: str | Path | None = None) -> str:
    """Start a ledger explicitly. Refused where one with records is there; where the log or
    the output folder show earlier runs, only with --force (and the log says so)."""
    from pbr_cli.ledger.schema import officer_grants
    from pbr_cli.ledger.store import ledger_state

    setup = Configured.load(config, ledger=ledger_path)
    chosen, log = setup.ledger, setup.log
    path = chosen.place
    state = ledger_state(path)
    if state == "present":
        raise PbrError(f"the ledger {shown(path)} already exists: a ledger is never started "
                       "again over one", code="ledger-exists")
    evidence = chosen.earlier_records(log)
    if evidence and not force:
        raise PbrError(f"earlier runs were recorded ({'; '.join(evidence)}): restore the ledger "
                       "from a copy, or give --force to start a new one anyway",
                       code="ledger-missing")
    if state == "empty" and not isinstance(path, LedgerUrl):
        path.unlink()  # (an empty database needs nothing taken away)
    ledger = setup.ledger.as_it_is()
    try:
        head = ledger.head()
        schema = getattr(ledger.db, "namespace", "")
        grants = "" if not isinstance(path, LedgerUrl) else (
            "\nAs its owner, give the officers' role (here pbr_officer) its rights: to read "
            f"it and record only through pbr:\n  {officer_grants('pbr_officer', schema)}")
    finally:
        ledger.close()
    log.warning(f"ledger {shown(path)} started anew" + (f" (earlier: {'; '.join(evidence)})"
                                                        if evidence else ""))
    log.head(path, head)
    return f"New ledger at {shown(path)}; head {head}" + grants


def ledger_repair(config: Path | None, ledger_path: str | Path | None,
                  confirm: Any) -> dict[str, Any]:
    """What `pbr ledger repair` does (the ledger's owner): find the last good record and the
    rows after it or outside the chain, and — when `confirm(data)` says so — move them to the
    ledger's quarantine table, in one transaction, and say what the ledger verifies to then."""
    from pbr_cli.cycle.state import default_user
    from pbr_cli.ledger.db import database_errors
    from pbr_cli.ledger.repair import damage, quarantine
    from pbr_cli.ledger.store import ledger_state, now_utc

    setup = Configured.load(config, ledger=ledger_path)
    path, log, trust = setup.ledger.place, setup.log, setup.cfg.trust
    if ledger_state(path) != "present":
        raise PbrError(f"no ledger at {shown(path)} to repair", code="file-not-found")
    ledger = setup.ledger.as_it_is()
    try:
        try:
            ledger.db.begin_write()
            found = damage(ledger, trust)
            data: dict[str, Any] = {
                "schema": 1, "ledger": shown(path), "last_good": {
                    "record": found.last_good.seq, "sha256": found.last_good.hash},
                "why": found.why, "moved": found.said(), "rows": len(found.rows),
                "repaired": False}
            seen = [seq for seq, _, _ in setup.ledger.heads_seen(log)
                    if seq > found.last_good.seq]
            if found.rows and seen:
                raise PbrError(f"the log {shown(log.path)} says pbr recorded record {max(seen)}, "
                               f"after the last good record ({found.last_good.seq}): those are "
                               "not stray rows. Restore the ledger from a copy",
                               code="ledger-tampered")
            if not found.rows or not confirm(data):
                ledger.db.rollback()
            else:
                role = ledger.db.execute("SELECT current_user").fetchone()[0] if isinstance(
                    path, LedgerUrl) else None
                quarantine(ledger, found, default_user() + (f" (database role {role})" if role
                                                             else ""), now_utc())
                ledger.db.commit()
                data["repaired"] = True
        except database_errors() as exc:
            ledger.db.rollback()
            reason = str(exc).splitlines()[0]
            raise PbrError(f"cannot repair the ledger {shown(path)}: {reason}; only the owner of "
                           "its tables can (--ledger postgresql://OWNER@...); nothing was moved",
                           code="ledger-not-writable") from None
        except BaseException:
            ledger.db.rollback()
            raise
        data["problems"] = ledger.verify(trust)
        if data["repaired"]:
            log.warning(f"ledger {shown(path)} repaired: {len(found.rows)} row(s) after record "
                        f"{found.last_good.seq} moved to its quarantine table ({found.why})")
            log.head(path, ledger.head())
        return data
    finally:
        ledger.close()


def ledger_rows(config: Path | None, what: str, model: str | None = None,
                run_id: int | None = None, provider: str | None = None,
                ledger_path: str | Path | None = None) -> dict[str, Any]:
    """The data `pbr ledger list|show|history` print (and give as JSON)."""
    cfg, path, ledger = _open(config, ledger_path)
    if ledger is None:
        return {"schema": 1, "ledger": shown(path), "exists": False}
    try:
        if what == "list":
            return {"schema": 1, "ledger": shown(path), "exists": True, "runs": [
                _run_dict(ledger, r) for r in ledger.runs(model)]}
        if what == "show":
            r = ledger.run(run_id)
            if r is None:
                raise PbrError(f"no run {run_id} in the ledger {shown(path)}", code="usage")
            out = _run_dict(ledger, r)
            totals: dict[str, Decimal] = {}
            for ln in ledger.lines(r.id):
                if ln.kind == "payment":
                    totals[ln.provider] = totals.get(ln.provider, Decimal("0.00")) + ln.amount
            out.update({
                "model_sha256": r.model_sha256, "register_sha256": r.register_sha256,
                "started_at": r.started_at, "command": r.command, "output": r.output,
                "schedule_sha256": r.schedule_sha256,
                "providers": [{"provider": p, "pbr": str(a)} for p, a in sorted(totals.items())],
                "adjustments": [{"month": a.month, "provider": a.provider,
                                 "component": a.component, "previous": str(a.previous),
                                 "now": str(a.now), "difference": str(a.difference),
                                 "reason": a.reason} for a in ledger.adjustments(r.id)],
                "inputs": [{"role": i.role, "provider": i.provider, "month": i.period,
                            "used": bool(i.used), "sha256": i.sha256, "file": i.file}
                           for i in ledger.inputs(r.id)]})
            return {"schema": 1, "ledger": shown(path), "exists": True, "run": out}
        rows = []
        models = [model] if model else sorted({r.model for r in ledger.runs()})
        for m in models:
            states = ledger.month_states(m)
            for period in ledger.periods(m):
                st = states[period]
                r = st.run
                own = sum((ln.amount for ln in ledger.lines(r.id)
                           if ln.provider == provider and ln.kind == "payment"),
                          Decimal("0.00"))
                adj = sum((a.difference for a in ledger.adjustments(r.id)
                           if a.provider == provider), Decimal("0.00"))
                if not any(ln.provider == provider for ln in ledger.lines(r.id)) and not adj:
                    continue
                rows.append({"model": m, "month": period, "run": r.id, "state": st.state,
                             "pbr": str(own), "adjustments": str(adj), "due": str(own + adj)})
        if not rows:
            raise PbrError(f"no payments to {provider} in the ledger", code="usage")
        return {"schema": 1, "ledger": shown(path), "exists": True, "provider": provider,
                "months": rows}
    finally:
        ledger.close()


def _run_dict(ledger, r) -> dict[str, Any]:
    approval = ledger.approval_of_run(r.id)
    if approval is not None:
        state = "approved"
    else:
        state = "draft" if ledger.is_current(r.id) else "superseded"
    return {"run": r.id, "model": r.model, "month": r.period, "state": state,
            "approved_by": approval.approved_by if approval is not None else None,
            "approved_at": approval.approved_at if approval is not None else None,
            "recorded_at": r.finished_at, "tool": r.tool_version,
            "pbr": str(r.entitlement), "adjustments": str(r.adjustments), "due": str(r.payment),
            "withheld": r.withheld, "inputs": len(ledger.inputs(r.id))}
