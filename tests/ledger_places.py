"""A ledger for a test, in SQLite or in PostgreSQL, and what a test does to it from outside
pbr: read it, hold its lock as another run would, copy it, and change it as someone with
access to the file or the database could.

A PostgreSQL ledger is a schema of its own in the test database named by
$PBR_TEST_POSTGRESQL (`.ci/postgres start` makes one; `.ci/run` starts it and sets
$PBR_TEST_POSTGRESQL_REQUIRED, so that there these tests never skip)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from pbr_cli.ledger.db import LedgerUrl, ledger_place
from pbr_cli.ledger.lock import held
from pbr_cli.ledger.schema import TABLES
from pbr_cli.ledger.store import Ledger, ledger_state

BACKENDS = ["sqlite", "postgresql"]


def postgres_server() -> str:
    url = os.environ.get("PBR_TEST_POSTGRESQL")
    if not url:
        if os.environ.get("PBR_TEST_POSTGRESQL_REQUIRED"):
            pytest.fail("PBR_TEST_POSTGRESQL is not set, but the PostgreSQL tests are required")
        pytest.skip("no PostgreSQL server for the tests: `.ci/postgres start` prints one to "
                    "export as PBR_TEST_POSTGRESQL (.ci/run does this)")
    return url


def _with_schema(url: str, schema: str) -> str:
    return url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"


class Place:
    """Where a test's ledger is: `arg` is what --ledger, $PBR_LEDGER or the config take."""

    def __init__(self, arg: str, kind: str, server: str = "", schema: str = ""):
        self.arg, self.kind, self.server, self.schema = arg, kind, server, schema

    @classmethod
    def new(cls, kind: str, folder: Path) -> Place:
        if kind == "sqlite":
            return cls(str(folder / f"ledger-{uuid.uuid4().hex[:8]}.sqlite"), kind)
        server = postgres_server()
        schema = f"t_{uuid.uuid4().hex[:16]}"
        with _connect(server) as db:
            db.execute(f"CREATE SCHEMA {schema}")
        return cls(_with_schema(server, schema), kind, server, schema)

    @property
    def where(self) -> Path | LedgerUrl:
        return ledger_place(self.arg)

    def open(self) -> Ledger:
        return Ledger(self.arg)

    def state(self) -> str:
        return ledger_state(self.where)

    def runs(self) -> int:
        ledger = self.open()
        try:
            return len(ledger.runs())
        finally:
            ledger.close()

    def verify(self) -> list[str]:
        ledger = self.open()
        try:
            return ledger.verify()
        finally:
            ledger.close()

    def hold_lock(self):
        """The ledger's lock, held by this process as another recording run would hold it."""
        return held(self.where)

    @contextmanager
    def raw(self):
        """A connection straight to the database, as someone with access to it would open."""
        if self.kind == "sqlite":
            db = sqlite3.connect(self.arg, isolation_level=None)
            try:
                yield db
            finally:
                db.close()
        else:
            with _connect(self.arg) as db:
                yield db

    def error_of(self, statement: str) -> str:
        """What the database says to a statement it refuses ('' when it runs)."""
        errors = _errors()
        with self.raw() as db:
            try:
                db.execute(statement)
            except errors as exc:
                return str(exc)
        return ""

    def tamper(self, *statements: str) -> int:
        """Change the ledger outside pbr: the append-only rules taken away (in SQLite,
        dropped; in PostgreSQL, not fired for this session), the statements run. Returns how
        many rows they changed."""
        changed = 0
        with self.raw() as db:
            if self.kind == "sqlite":
                db.execute("PRAGMA foreign_keys = OFF")
                for t in TABLES:
                    for op in ("UPDATE", "DELETE"):
                        db.execute(f"DROP TRIGGER IF EXISTS {t}_append_only_{op}")
            else:
                db.execute("SET session_replication_role = replica")  # no triggers, no keys
            for statement in statements:
                changed += max(db.execute(statement).rowcount, 0)
        return changed

    def empty(self) -> None:
        """Everything in the ledger gone: the file emptied (`: > ledger.sqlite`), or the
        schema dropped and made again."""
        if self.kind == "sqlite":
            Path(self.arg).write_bytes(b"")
            return
        with _connect(self.server) as db:
            db.execute(f"DROP SCHEMA {self.schema} CASCADE")
            db.execute(f"CREATE SCHEMA {self.schema}")

    def replace_with(self, other: Place) -> None:
        """Another ledger put in this one's place (copied over it, or renamed into it)."""
        if self.kind == "sqlite":
            shutil.copy(other.arg, self.arg)
            return
        with _connect(self.server) as db:
            db.execute(f"DROP SCHEMA {self.schema} CASCADE")
            db.execute(f"ALTER SCHEMA {other.schema} RENAME TO {self.schema}")

    def copy(self, folder: Path) -> Place:
        """A new ledger holding the same records."""
        if self.kind == "sqlite":
            other = Place.new("sqlite", folder)
            shutil.copy(self.arg, other.arg)
            return other
        other = Place.new("postgresql", folder)
        other.open().close()  # its tables and rules
        with _connect(self.server) as db:
            db.execute(f"DELETE FROM {other.schema}.meta")
            for table in ("meta", *TABLES):
                db.execute(f"INSERT INTO {other.schema}.{table} SELECT * FROM "
                           f"{self.schema}.{table}")
            for table, column in (("inputs", "rowid"), ("lines", "rowid"),
                                  ("adjustments", "rowid"), ("approvals", "id"),
                                  ("publication_keys", "id"), ("publications", "id")):
                db.execute(f"SELECT setval(pg_get_serial_sequence('{other.schema}.{table}', "
                           f"'{column}'), coalesce(max({column}), 0) + 1, false) FROM "
                           f"{other.schema}.{table}")
        return other


def _connect(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True)


def _errors() -> tuple[type[BaseException], ...]:
    from pbr_cli.ledger.db import database_errors

    return database_errors()
