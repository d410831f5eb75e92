"""The ledger: an append-only SQLite record of every calculation that was not a dry run.

A run records its model (and SHA-256), period, tool version, time, every input file with its
SHA-256, every payment line and every prior-period adjustment, in one transaction: a run is
there completely or not at all. Nothing is ever updated or deleted (triggers refuse it); a
later run for the same period supersedes an earlier one. The schema is versioned and
migrated forward when a newer pbr opens an older ledger.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from pbr_cli.errors import PbrError

SCHEMA_VERSION = 1
TABLES = ("runs", "inputs", "lines", "adjustments")

MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            model TEXT NOT NULL, model_sha256 TEXT NOT NULL, register_sha256 TEXT NOT NULL,
            period TEXT NOT NULL, tool_version TEXT NOT NULL,
            started_at TEXT NOT NULL, finished_at TEXT NOT NULL, command TEXT NOT NULL,
            fingerprint TEXT NOT NULL, entitlement TEXT NOT NULL, adjustments TEXT NOT NULL,
            payment TEXT NOT NULL, withheld INTEGER NOT NULL, output TEXT)""",
        "CREATE INDEX runs_by_period ON runs (model, period, id)",
        """CREATE TABLE inputs (
            run_id INTEGER NOT NULL REFERENCES runs(id), role TEXT NOT NULL, file TEXT NOT NULL,
            sha256 TEXT NOT NULL, provider TEXT NOT NULL, period TEXT NOT NULL,
            used INTEGER NOT NULL)""",
        """CREATE TABLE lines (
            run_id INTEGER NOT NULL REFERENCES runs(id), provider TEXT NOT NULL,
            entry TEXT NOT NULL, groups TEXT NOT NULL, component TEXT NOT NULL,
            kind TEXT NOT NULL, amount TEXT NOT NULL)""",
        "CREATE INDEX lines_by_run ON lines (run_id)",
        """CREATE TABLE adjustments (
            run_id INTEGER NOT NULL REFERENCES runs(id), month TEXT NOT NULL,
            provider TEXT NOT NULL, component TEXT NOT NULL, previous TEXT NOT NULL,
            now TEXT NOT NULL, difference TEXT NOT NULL, reason TEXT NOT NULL)""",
        "CREATE INDEX adjustments_by_run ON adjustments (run_id)",
        *[f"""CREATE TRIGGER {t}_append_only_{op} BEFORE {op} ON {t}
              BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END"""
          for t in TABLES for op in ("UPDATE", "DELETE")],
    ],
}


@dataclass(frozen=True)
class Adjustment:
    """A prior-period adjustment: what `month` is worth now against what was accounted for."""

    month: str
    provider: str
    component: str
    previous: Decimal
    now: Decimal
    reason: str

    @property
    def difference(self) -> Decimal:
        return self.now - self.previous


@dataclass
class RunRecord:
    model: str
    model_sha256: str
    register_sha256: str
    period: str
    tool_version: str
    started_at: str
    command: str
    fingerprint: str
    entitlement: Decimal
    adjustments_total: Decimal
    withheld: int
    output: str | None
    inputs: list[tuple[str, str, str, str, str, bool]]  # role, file, sha256, provider, period, used
    lines: list[tuple[str, str, dict, str, str, Decimal]]  # provider, entry, groups, component, kind, amount
    adjustments: list[Adjustment]


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Ledger:
    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA synchronous = FULL")
            self.db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise PbrError(f"the ledger {self.path} cannot be used: {exc}", code="bad-ledger") from None
        except OSError as exc:
            raise PbrError(f"cannot open the ledger {self.path}: {exc.strerror}",
                           code="bad-ledger") from None

    def close(self) -> None:
        self.db.close()

    # -- schema ---------------------------------------------------------------------------------
    def version(self) -> int:
        row = self.db.execute("SELECT name FROM sqlite_master WHERE name = 'meta'").fetchone()
        if row is None:
            return 0
        found = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(found[0]) if found else 0

    def _migrate(self) -> None:
        current = self.version()
        if current > SCHEMA_VERSION:
            raise PbrError(f"the ledger {self.path} was written by a newer pbr (schema "
                           f"{current}; this pbr knows {SCHEMA_VERSION}); upgrade pbr",
                           code="bad-ledger")
        if current == SCHEMA_VERSION:
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if current == 0:
                self.db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                self.db.execute("INSERT INTO meta VALUES ('schema_version', '0')")
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    self.db.execute(statement)
            # meta is the one table whose row changes: the schema version.
            self.db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                            (str(SCHEMA_VERSION),))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    # -- reading --------------------------------------------------------------------------------
    def latest_run(self, model: str, period: str) -> sqlite3.Row | None:
        self.db.row_factory = sqlite3.Row
        return self.db.execute("SELECT * FROM runs WHERE model = ? AND period = ? ORDER BY id "
                               "DESC LIMIT 1", (model, period)).fetchone()

    def periods(self, model: str) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT period FROM runs WHERE model = ? ORDER BY period", (model,))]

    def accounted(self, model: str, month: str, before: str) -> tuple[dict[tuple[str, str], Decimal], int | None]:
        """What `month` has been accounted for, by (provider, component), before the run of
        `before`: its own latest run's lines plus the adjustments for it carried by the
        latest runs of the months between. Also the id of the latest of those runs."""
        amounts: dict[tuple[str, str], Decimal] = {}
        own = self.latest_run(model, month)
        if own is None:
            return amounts, None
        latest = own["id"]
        for provider, component, amount in self.db.execute(
                "SELECT provider, component, amount FROM lines WHERE run_id = ? AND kind = "
                "'payment'", (own["id"],)):
            key = (provider, component)
            amounts[key] = amounts.get(key, Decimal("0.00")) + Decimal(amount)
        for period in self.periods(model):
            if not (month < period < before):
                continue
            run = self.latest_run(model, period)
            latest = max(latest, run["id"])
            for provider, component, difference in self.db.execute(
                    "SELECT provider, component, difference FROM adjustments WHERE run_id = ? "
                    "AND month = ?", (run["id"], month)):
                key = (provider, component)
                amounts[key] = amounts.get(key, Decimal("0.00")) + Decimal(difference)
        return amounts, latest

    def inputs(self, run_id: int) -> list[sqlite3.Row]:
        self.db.row_factory = sqlite3.Row
        return self.db.execute("SELECT * FROM inputs WHERE run_id = ? ORDER BY period, provider, "
                               "file", (run_id,)).fetchall()

    def runs(self, model: str | None = None) -> list[sqlite3.Row]:
        self.db.row_factory = sqlite3.Row
        if model:
            return self.db.execute("SELECT * FROM runs WHERE model = ? ORDER BY id", (model,)).fetchall()
        return self.db.execute("SELECT * FROM runs ORDER BY id").fetchall()

    def run(self, run_id: int) -> sqlite3.Row | None:
        self.db.row_factory = sqlite3.Row
        return self.db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()

    def lines(self, run_id: int) -> list[sqlite3.Row]:
        self.db.row_factory = sqlite3.Row
        return self.db.execute("SELECT * FROM lines WHERE run_id = ? ORDER BY rowid", (run_id,)).fetchall()

    def adjustments(self, run_id: int) -> list[sqlite3.Row]:
        self.db.row_factory = sqlite3.Row
        return self.db.execute("SELECT * FROM adjustments WHERE run_id = ? ORDER BY rowid",
                               (run_id,)).fetchall()

    def is_current(self, run_id: int) -> bool:
        run = self.run(run_id)
        return run is not None and self.latest_run(run["model"], run["period"])["id"] == run_id

    # -- writing --------------------------------------------------------------------------------
    def record(self, r: RunRecord) -> int:
        """Append one run, all of it or nothing."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            cur = self.db.execute(
                "INSERT INTO runs (model, model_sha256, register_sha256, period, tool_version, "
                "started_at, finished_at, command, fingerprint, entitlement, adjustments, payment, "
                "withheld, output) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (r.model, r.model_sha256, r.register_sha256, r.period, r.tool_version,
                 r.started_at, now_utc(), r.command, r.fingerprint, str(r.entitlement),
                 str(r.adjustments_total), str(r.entitlement + r.adjustments_total), r.withheld,
                 r.output))
            run_id = int(cur.lastrowid)
            self.db.executemany("INSERT INTO inputs VALUES (?, ?, ?, ?, ?, ?, ?)",
                                [(run_id, *i[:5], int(i[5])) for i in r.inputs])
            self.db.executemany("INSERT INTO lines VALUES (?, ?, ?, ?, ?, ?, ?)",
                                [(run_id, p, e, json.dumps(g, sort_keys=True), c, k, str(a))
                                 for p, e, g, c, k, a in r.lines])
            self.db.executemany("INSERT INTO adjustments VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                [(run_id, a.month, a.provider, a.component, str(a.previous),
                                  str(a.now), str(a.difference), a.reason) for a in r.adjustments])
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return run_id

    def check(self) -> list[str]:
        """Consistency problems (empty when sound): SQLite's own check, and every run whole."""
        found = [row[0] for row in self.db.execute("PRAGMA integrity_check") if row[0] != "ok"]
        for run in self.runs():
            total = sum((Decimal(ln["amount"]) for ln in self.lines(run["id"])
                         if ln["kind"] == "payment"), Decimal("0.00"))
            if total != Decimal(run["entitlement"]):
                found.append(f"run {run['id']}: lines sum to {total}, not {run['entitlement']}")
            adj = sum((Decimal(a["difference"]) for a in self.adjustments(run["id"])),
                      Decimal("0.00"))
            if adj != Decimal(run["adjustments"]):
                found.append(f"run {run['id']}: adjustments sum to {adj}, not {run['adjustments']}")
            if not self.inputs(run["id"]):
                found.append(f"run {run['id']}: no inputs recorded")
        return found

