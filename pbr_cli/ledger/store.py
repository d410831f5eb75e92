"""The ledger: an append-only, hash-chained record of what was calculated and approved, in an
SQLite file (the default) or a PostgreSQL database shared by a team (db.py).

Two kinds of record, in one chain:

- a **run**: a calculation of one scheme-month (a draft), with its model (and SHA-256), period,
  tool version, times, every input file with its SHA-256, every payment line, every
  prior-period adjustment, and the SHA-256 of the schedule workbook written for it;
- an **approval**: who approved which run (and exactly which schedule file), and when. An
  approved run is what was paid for its month; a month is approved once.

Every record carries a SHA-256 over its canonical content (the row and all its inputs, lines
and adjustments) and the hash of the record before it, so that any row inserted, changed or
deleted outside pbr breaks the chain from that record on. `verify()` recomputes the chain,
every total and every run's fingerprint and names the first record that does not match.
Nothing is ever updated or deleted (triggers refuse it); a later draft for the same month
supersedes an earlier one until the month is approved. The schema is versioned and migrated
forward when a newer pbr opens an older ledger. Writers take the ledger one at a time: SQLite's
write lock, or in PostgreSQL an advisory lock held for the transaction.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from pbr_cli.errors import PbrError, check_stop
from pbr_cli.ledger.chain import ChainedStore
from pbr_cli.ledger.db import LedgerUrl, Where, database_errors, ledger_place, open_db
from pbr_cli.ledger.records import (
    Adjustment,
    ApprovalHow,
    ApprovalRecord,
    Head,
    MonthStage,
    MonthState,
    RunInput,
    RunLine,
    RunRecord,
    StoredPublication,
    StoredRun,
    adjustment_of_row,
    approval_of_row,
    input_of_row,
    is_recovery,
    line_of_row,
    money,
    now_utc,
)
from pbr_cli.ledger.samples import SampleRecords
from pbr_cli.ledger.schema import (
    APPEND_ONLY,
    MIGRATIONS,
    POSTGRES,
    SCHEMA_VERSION,
    TABLES,
    append_only_pg,
)
from pbr_cli.ledger.signing import Trust

ZERO = Decimal("0.00")


def _refuse_link(path: Path, what: str) -> None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise PbrError(f"cannot use the {what} {path}: {exc.strerror}", code="bad-ledger") from None
    if stat.S_ISLNK(info.st_mode):
        raise PbrError(f"the {what} {path} is a symbolic link; pbr does not follow links for "
                       "its own files: give the real path", code="bad-ledger")
    if not stat.S_ISREG(info.st_mode):
        raise PbrError(f"the {what} {path} is not a regular file", code="bad-ledger")


def ledger_state(where: Where) -> str:
    """'missing', 'empty' (no bytes, or not a pbr ledger: no tables of its own) or 'present'
    (a pbr ledger, started by pbr, with or without records), without creating anything. A
    database with no pbr tables in it is 'empty'."""
    where = ledger_place(where)
    if isinstance(where, LedgerUrl):
        db = open_db(where, readonly=True)
        try:
            return "present" if db.has_table("meta") else "empty"
        except db.errors as exc:
            raise PbrError(f"the ledger {where} cannot be used: {exc}", code="bad-ledger") from None
        finally:
            db.close()
    path = where
    _refuse_link(path, "ledger")
    if not path.exists():
        return "missing"
    if path.stat().st_size == 0:
        return "empty"
    try:
        db = open_db(path, readonly=True)
        try:
            return "present" if db.has_table("meta") else "empty"
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise PbrError(f"the ledger {path} cannot be used: {exc}", code="bad-ledger") from None


class Ledger(SampleRecords, ChainedStore):
    def __init__(self, where: Where | str, readonly: bool = False):
        self.path = ledger_place(where)
        if not isinstance(self.path, LedgerUrl):
            _refuse_link(self.path, "ledger")
        db = None
        try:
            db = self.db = open_db(self.path, readonly)
            if not readonly:
                self._migrate()
            elif self.version() != SCHEMA_VERSION:
                raise PbrError(f"the ledger {self.path} is at schema {self.version()}; run a "
                               "command that records (e.g. `pbr ledger verify`) to bring it "
                               f"to schema {SCHEMA_VERSION}", code="bad-ledger")
        except OSError as exc:
            raise PbrError(f"cannot open the ledger {self.path}: {exc.strerror}",
                           code="bad-ledger") from None
        except BaseException as exc:
            if db is not None:
                db.close()
            if isinstance(exc, database_errors()):
                raise PbrError(f"the ledger {self.path} cannot be used: {exc}",
                               code="bad-ledger") from None
            raise

    def close(self) -> None:
        self.db.close()

    # -- schema ---------------------------------------------------------------------------------
    def version(self) -> int:
        if not self.db.has_table("meta"):
            return 0
        found = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if not found:
            return 0
        if not str(found[0]).isdigit():
            raise PbrError(f"the ledger {self.path} cannot be used: its schema version "
                           f"{str(found[0])[:20]!r} is not a number (changed outside pbr); "
                           "restore it from a copy", code="ledger-tampered")
        return int(found[0])

    def _migrate(self) -> None:
        current = self.version()
        if current > SCHEMA_VERSION:
            raise PbrError(f"the ledger {self.path} was written by a newer pbr (schema "
                           f"{current}; this pbr knows {SCHEMA_VERSION}); upgrade pbr",
                           code="bad-ledger")
        if current == SCHEMA_VERSION and (self.db.kind != "postgresql"
                                          or self._functions_current()):
            return
        self.db.begin_write()
        try:
            current = self.version()  # another writer may have got there first
            if self.db.kind == "postgresql":  # made at once, or at schema 3 or later
                for statement in POSTGRES if current == 0 else [
                        s for v in range(current + 1, SCHEMA_VERSION + 1) for s in MIGRATIONS[v]]:
                    self.db.execute(statement)
                if current == 0:
                    self.db.execute("INSERT INTO meta VALUES ('ledger_id', ?)", (uuid.uuid4().hex,))
                    self.db.execute("INSERT INTO meta VALUES ('schema_version', '0')")
                if 0 < current < SCHEMA_VERSION:  # a migration's new tables: append-only too
                    for statement in append_only_pg(TABLES):
                        self.db.execute(statement)
                if current != SCHEMA_VERSION:
                    self.db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                                    (str(SCHEMA_VERSION),))
                self._write_functions()
                self.db.commit()
                return
            if current == SCHEMA_VERSION:
                self.db.commit()
                return
            if current == 0:
                self.db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                self.db.execute("INSERT INTO meta VALUES ('schema_version', '0')")
                self.db.execute("INSERT INTO meta VALUES ('ledger_id', ?)", (uuid.uuid4().hex,))
            elif self._meta("ledger_id") is None:
                self.db.execute("INSERT INTO meta VALUES ('ledger_id', ?)", (uuid.uuid4().hex,))
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    self.db.execute(statement)
            if current == 1:
                self._chain_schema_1_runs()
            for statement in APPEND_ONLY:
                self.db.execute(statement)
            # meta is the one table whose row changes: the schema version.
            self.db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                            (str(SCHEMA_VERSION),))
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise

    def _chain_schema_1_runs(self) -> None:
        """A schema-1 ledger had no approvals: every month's current run was what was paid.
        Its runs join the chain in order, and each month's current run is approved as such."""
        for (run_id,) in self.db.execute("SELECT id FROM runs ORDER BY id").fetchall():
            self._chain("run", run_id)
        current = self.db.execute("SELECT max(id) AS id, model, period FROM runs GROUP BY model, "
                                  "period ORDER BY model, period").fetchall()
        for row in current:
            run = self.run(row["id"])
            assert run is not None  # (the row was just read)
            self._insert_approval(ApprovalRecord(
                row["id"], run.model, run.period, "(recorded before approvals)",
                run.finished_at, "", run.output or "", "", ApprovalHow.SCHEMA_1))

    def require_sound(self, trust: Trust | None = None) -> None:
        """Refuse (exit code 2) a ledger that does not verify (its signatures checked by
        `trust`, the config's keys), naming the first mismatch."""
        found = self.verify(trust)
        if found:
            raise PbrError(f"the ledger {self.path} does not verify: {found[0]}"
                           + (f" (and {len(found) - 1} more)" if len(found) > 1 else "")
                           + "; nothing is calculated or paid on it. Rows added outside pbr: "
                           "the ledger's owner moves them aside with `pbr ledger repair`; "
                           "anything else: restore it from a copy (`pbr ledger verify` lists "
                           "what does not match)",
                           code="ledger-tampered")

    def has_record(self, head: Head) -> bool:
        row = self.db.execute("SELECT hash FROM chain WHERE seq = ?", (head.seq,)).fetchone()
        return row is not None and row["hash"] == head.hash

    # -- reading --------------------------------------------------------------------------------
    def latest_run(self, model: str, period: str) -> StoredRun | None:
        row = self.db.execute("SELECT * FROM runs WHERE model = ? AND period = ? ORDER BY id "
                              "DESC LIMIT 1", (model, period)).fetchone()
        return StoredRun.of(row) if row is not None else None

    def periods(self, model: str) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT period FROM runs WHERE model = ? ORDER BY period", (model,))]

    def approvals(self, model: str | None = None) -> list[ApprovalRecord]:
        if model:
            rows = self.db.execute("SELECT * FROM approvals WHERE model = ? ORDER BY id",
                                   (model,)).fetchall()
        else:
            rows = self.db.execute("SELECT * FROM approvals ORDER BY id").fetchall()
        return [approval_of_row(r) for r in rows]

    def approval_of(self, model: str, period: str) -> ApprovalRecord | None:
        row = self.db.execute("SELECT * FROM approvals WHERE model = ? AND period = ?",
                              (model, period)).fetchone()
        return approval_of_row(row) if row is not None else None

    def approval_of_run(self, run_id: int) -> ApprovalRecord | None:
        row = self.db.execute("SELECT * FROM approvals WHERE run_id = ?", (run_id,)).fetchone()
        return approval_of_row(row) if row is not None else None

    def approved_periods(self, model: str) -> list[str]:
        return [r["period"] for r in self.db.execute(
            "SELECT period FROM approvals WHERE model = ? ORDER BY period", (model,))]

    def basis(self, model: str) -> int:
        """The chain position of the scheme's last approval or recorded verdicts (0 when
        none): a draft's adjustments and recoveries are worked out against those up to it."""
        row = self.db.execute("SELECT max(seq) FROM chain WHERE kind = 'approval' AND ref IN "
                              "(SELECT id FROM approvals WHERE model = ?) OR kind = 'verdicts' "
                              "AND ref IN (SELECT id FROM verdicts WHERE model = ?)",
                              (model, model)).fetchone()
        return int(row[0] or 0)

    def paid(self, model: str, month: str) -> tuple[dict[tuple[str, str], Decimal], int | None]:
        """What has been paid for `month`, by (provider, component): its approved run's lines
        plus the adjustments for it carried by later approved runs. Also the id of the latest
        of those runs (None when the month is not approved)."""
        amounts: dict[tuple[str, str], Decimal] = {}
        approval = self.approval_of(model, month)
        if approval is None:
            return amounts, None
        latest = approval.run_id
        for provider, component, amount in self.db.execute(
                "SELECT provider, component, amount FROM lines WHERE run_id = ? AND kind = "
                "'payment'", (latest,)):
            key = (provider, component)
            amounts[key] = amounts.get(key, ZERO) + money(amount, f"run {latest}")
        for provider, component, difference, run_id in self.db.execute(
                "SELECT a.provider, a.component, a.difference, a.run_id FROM adjustments a "
                "JOIN approvals p ON p.run_id = a.run_id WHERE p.model = ? AND a.month = ? "
                "ORDER BY a.rowid", (model, month)):
            if is_recovery(component):  # recovered after a sample: never paid back
                continue
            key = (provider, component)
            amounts[key] = amounts.get(key, ZERO) + money(difference, f"run {run_id}")
            latest = max(latest, run_id)
        return amounts, latest

    def month_states(self, model: str) -> dict[str, MonthState]:
        """Each month that has a run: approved (with what later approvals adjusted) or draft."""
        out: dict[str, MonthState] = {}
        for period in self.periods(model):
            approval = self.approval_of(model, period)
            run = (self.run(approval.run_id) if approval is not None
                   else self.latest_run(model, period))
            if run is None:  # an approval of a run that is not there: `verify` names it
                raise PbrError(f"the ledger's approval of {model} {period} names run "
                               f"{approval.run_id if approval else '?'}, which is not in it; "
                               "`pbr ledger verify` says more", code="bad-ledger")
            out[period] = MonthState(period, MonthStage.APPROVED if approval is not None
                                     else MonthStage.DRAFT,
                                     run, approval)
        for row in self.db.execute(
                "SELECT a.month, a.difference, r.period FROM adjustments a JOIN approvals p ON "
                "p.run_id = a.run_id JOIN runs r ON r.id = a.run_id WHERE p.model = ? ORDER BY "
                "a.rowid", (model,)):
            state = out.get(row["month"])
            if state is not None:
                state.adjusted_later += money(row["difference"], f"{model} {row['month']}")
                if row["period"] not in state.adjusted_in:
                    state.adjusted_in.append(row["period"])
        return out

    def inputs(self, run_id: int) -> list[RunInput]:
        return [input_of_row(r) for r in self.db.execute(
            "SELECT * FROM inputs WHERE run_id = ? ORDER BY period, provider, file", (run_id,))]

    def runs(self, model: str | None = None) -> list[StoredRun]:
        if model:
            rows = self.db.execute("SELECT * FROM runs WHERE model = ? ORDER BY id", (model,))
        else:
            rows = self.db.execute("SELECT * FROM runs ORDER BY id")
        return [StoredRun.of(r) for r in rows.fetchall()]

    def run(self, run_id: int) -> StoredRun | None:
        row = self.db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return StoredRun.of(row) if row is not None else None

    def lines(self, run_id: int) -> list[RunLine]:
        return [line_of_row(r) for r in self.db.execute(
            "SELECT * FROM lines WHERE run_id = ? ORDER BY rowid", (run_id,))]

    def adjustments(self, run_id: int) -> list[Adjustment]:
        return [adjustment_of_row(r) for r in self.db.execute(
            "SELECT * FROM adjustments WHERE run_id = ? ORDER BY rowid", (run_id,))]

    def is_current(self, run_id: int) -> bool:
        """The run that stands for its month: the approved one, or else the latest draft."""
        run = self.run(run_id)
        if run is None:
            return False
        approval = self.approval_of(run.model, run.period)
        if approval is not None:
            return approval.run_id == run_id
        latest = self.latest_run(run.model, run.period)
        return latest is not None and latest.id == run_id

    def signer_of(self, kind: str, ref: int) -> str | None:
        """The name of a run's, an approval's or a publication's signer (None: unsigned)."""
        from pbr_cli.ledger.schema import KINDS
        from pbr_cli.ledger.signing import signer_name

        row = self.db.execute(f"SELECT signer FROM {KINDS[kind]} WHERE id = ?",
                              (ref,)).fetchone()
        return signer_name(row["signer"]) if row is not None else None

    def next_run_id(self) -> int:
        row = self.db.execute("SELECT max(id) FROM runs").fetchone()
        return int(row[0] or 0) + 1

    # -- writing --------------------------------------------------------------------------------
    def _insert_run(self, run_id: int, r: RunRecord) -> None:
        row: dict[str, Any] = {
            "id": run_id, "model": r.model, "model_sha256": r.model_sha256,
            "register_sha256": r.register_sha256, "period": r.period,
            "tool_version": r.tool_version, "started_at": r.started_at,
            "finished_at": now_utc(), "command": r.command, "fingerprint": r.fingerprint,
            "entitlement": str(r.entitlement), "adjustments": str(r.adjustments_total),
            "payment": str(r.entitlement + r.adjustments_total), "withheld": int(r.withheld),
            "output": r.output, "schedule_sha256": r.schedule_sha256, "basis": int(r.basis),
            "signer": self.signer.text if self.signer else ""}
        inputs = [(str(i.role), str(i.file), str(i.sha256), str(i.provider), str(i.period),
                   int(i.used)) for i in r.inputs]
        lines = [(str(ln.provider), str(ln.entry), json.dumps(ln.groups, sort_keys=True),
                  str(ln.component), str(ln.kind), str(ln.amount)) for ln in r.lines]
        adjustments = [(str(a.month), str(a.provider), str(a.component), str(a.previous),
                        str(a.now), str(a.difference), str(a.reason)) for a in r.adjustments]
        self._append("run", row, (inputs, lines, adjustments))

    def _next_id(self, table: str) -> int:
        return int(self.db.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}"
                                   ).fetchone()[0])

    def _insert_signed(self, kind: str, table: str, row: dict[str, Any]) -> int:
        """One row of an approval or a publication, numbered, signed and chained."""
        row = {"id": self._next_id(table), **row,
               "signer": self.signer.text if self.signer else ""}
        self._append(kind, row)
        return int(row["id"])

    def _insert_approval(self, a: ApprovalRecord) -> int:
        return self._insert_signed("approval", "approvals", {
            "run_id": a.run_id, "model": a.model, "period": a.period,
            "approved_by": a.approved_by, "approved_at": a.approved_at,
            "draft_sha256": a.draft_sha256, "schedule": a.schedule,
            "schedule_sha256": a.schedule_sha256, "how": str(a.how)})

    def _write(self, action: Callable[[], int]) -> int:
        check_stop()
        try:
            self.db.begin_write()
            result = action()
            self.db.commit()
        except BaseException as exc:
            self.db.rollback()
            if isinstance(exc, database_errors()):
                raise PbrError(f"cannot record in the ledger {self.path}: {exc}; nothing was "
                               "recorded", code="ledger-not-writable") from None
            raise
        return result

    def record(self, r: RunRecord, write_schedule: Callable[[int], str] | None = None,
               approve: Callable[[int, str], ApprovalRecord] | None = None) -> int:
        """Append one run (and its approval, when approved as it is recorded), all of it or
        nothing. `write_schedule(run_id)` writes the schedule to a temporary file and returns
        its SHA-256, inside the transaction, so that the run records the file it made."""

        def action() -> int:
            run_id = self.next_run_id()
            if write_schedule is not None:
                r.schedule_sha256 = write_schedule(run_id)
            self._insert_run(run_id, r)
            if approve is not None:
                self._insert_approval(approve(run_id, r.schedule_sha256))
            return run_id

        return self._write(action)

    # -- publications -------------------------------------------------------------------------
    def publication_key(self, model: str, create: bool = False) -> bytes | None:
        """The key that rounds a scheme's published figures: made at its first publication
        (when `create`), then always the same, so a figure is the same in every release."""
        row = self.db.execute("SELECT key FROM publication_keys WHERE model = ?",
                              (model,)).fetchone()
        if row is not None:
            return bytes.fromhex(row["key"])
        if not create:
            return None
        import secrets

        def action() -> int:
            key_id = self._next_id("publication_keys")
            self._append("publication_key", {"id": key_id, "model": model,
                                             "key": secrets.token_hex(32), "created_at": now_utc()})
            return key_id

        self._write(action)
        return self.publication_key(model)

    def publication_keys(self) -> dict[str, bytes]:
        """Each scheme's key, by identity, as ledgers made before key files kept them."""
        return {r["model"]: bytes.fromhex(r["key"]) for r in self.db.execute(
            "SELECT model, key FROM publication_keys ORDER BY id")}

    def count(self, table: str) -> int:
        """How many rows a table of the ledger holds (read without reading them)."""
        assert table in TABLES
        return int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def publication_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM publications").fetchone()[0])

    def publications(self, model: str | None = None) -> list[StoredPublication]:
        """A scheme's publications (every scheme's, without `model`), oldest first."""
        if model is None:
            return [StoredPublication.of(r) for r in self.db.execute(
                "SELECT * FROM publications ORDER BY id")]
        return [StoredPublication.of(r) for r in self.db.execute(
            "SELECT * FROM publications WHERE model = ? ORDER BY id", (model,))]

    def record_publication(self, model: str, period: str, output_sha256: str, method: str,
                           figures: str) -> int:
        def action() -> int:
            return self._insert_signed("publication", "publications", {
                "model": model, "period": period, "published_at": now_utc(),
                "output_sha256": output_sha256, "method": method, "figures": figures})

        return self._write(action)

    def approve(self, a: ApprovalRecord) -> int:
        if self.approval_of(a.model, a.period) is not None:
            raise PbrError(f"{a.model} {a.period} is already approved", code="already-approved")
        return self._write(lambda: self._insert_approval(a))
