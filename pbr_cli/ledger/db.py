"""Where a ledger lives, and one way of talking to it.

A ledger is an SQLite file (the embedded default) or a PostgreSQL database named by a URL
(`ledger: postgresql://pbr@db.council.local/pbr` in the config), shared by a team. Both hold
the same tables, rows and hash chain (schema.py); `Db` hides the few differences —
placeholders, the id of a new row, how a writer takes the ledger for itself, how the
append-only rules and the database's own check are read — so the ledger's code is written
once. A password in a URL is never shown: messages and the log name the database without it
(better kept out of the config altogether, in PGPASSFILE or ~/.pgpass).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from pbr_cli.errors import PbrError

SCHEMES = ("postgresql://", "postgres://")


@dataclass(frozen=True)
class LedgerUrl:
    """A ledger in a PostgreSQL database. `str()` is the URL without its password."""

    url: str

    def __str__(self) -> str:
        text = re.sub(r"^(\w+://[^:/@]*):[^@/]*@", r"\1:***@", self.url)
        return re.sub(r"([?&]password=)[^&]*", r"\1***", text)


Where = Path | LedgerUrl


def ledger_place(text: str | os.PathLike | LedgerUrl, base: Path | None = None) -> Where:
    """A ledger named in the config, by $PBR_LEDGER or --ledger: a database URL, or a file
    (relative to `base`, the config's folder, when given)."""
    if isinstance(text, LedgerUrl):
        return text
    value = str(text)
    if value.lower().startswith(SCHEMES):
        return LedgerUrl(value)
    return base / value if base is not None else Path(value)


def same_ledger(a: Where, b: Where) -> bool:
    """Whether two names reach one ledger: a file by its identity (device and inode, so a
    link, `..` or another absolute path is the same file), a database by its server, port
    and name."""
    if isinstance(a, LedgerUrl) or isinstance(b, LedgerUrl):
        return (isinstance(a, LedgerUrl) and isinstance(b, LedgerUrl)
                and _database(a) == _database(b))
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def _database(url: LedgerUrl) -> tuple[str, str, str]:
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url.url)
    query = parse_qs(parts.query)
    host = (parts.hostname or query.get("host", [""])[0] or "localhost").lower()
    port = str(parts.port or query.get("port", ["5432"])[0])
    return host, port, parts.path.lstrip("/") or query.get("dbname", [""])[0]


def lock_key(what: str, namespace: str) -> int:
    """A 64-bit advisory lock key for one ledger (its database schema) and purpose."""
    digest = hashlib.sha256(f"pbr ledger {namespace} {what}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Row(tuple):
    """A row read from PostgreSQL, read by name or position as sqlite3.Row is."""

    names: tuple[str, ...]

    def __new__(cls, names: tuple[str, ...], values: Sequence[Any]) -> Row:
        row = super().__new__(cls, values)
        row.names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names.index(key))
        return tuple.__getitem__(self, key)

    def keys(self) -> tuple[str, ...]:
        return self.names


class Db:
    """One connection to a ledger's database. `execute` takes `?` placeholders."""

    errors: tuple[type[BaseException], ...] = ()
    kind = ""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    def plain(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Rows as plain tuples (a run's parts, hashed as lists)."""
        return [tuple(r) for r in self.execute(sql, params).fetchall()]

    def insert(self, sql: str, params: Sequence[Any]) -> int:
        """Run an INSERT into a table with an `id` and return the new row's id."""
        raise NotImplementedError

    def begin_write(self) -> None:
        """Start a transaction that holds the ledger for writing until it ends."""
        raise NotImplementedError

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            try:
                self.execute("ROLLBACK")
            except self.errors:
                pass  # the real error is the one being raised

    @property
    def in_transaction(self) -> bool:
        raise NotImplementedError

    def has_table(self, name: str) -> bool:
        raise NotImplementedError

    def triggers(self) -> set[str]:
        """The append-only rules in force (names in lower case)."""
        raise NotImplementedError

    def integrity(self) -> list[str]:
        """What the database's own check finds wrong (empty when sound)."""
        return []

    def close(self) -> None:
        raise NotImplementedError


class SqliteDb(Db):
    kind = "sqlite"
    errors = (sqlite3.Error,)

    def __init__(self, path: Path, readonly: bool):
        if readonly:
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.row_factory = sqlite3.Row

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.db.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.db.executemany(sql, rows)

    def insert(self, sql: str, params: Sequence[Any]) -> int:
        cur = self.db.execute(sql, tuple(params))
        assert cur.lastrowid is not None
        return int(cur.lastrowid)

    def begin_write(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    @property
    def in_transaction(self) -> bool:
        return self.db.in_transaction

    def has_table(self, name: str) -> bool:
        return self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                               (name,)).fetchone() is not None

    def triggers(self) -> set[str]:
        return {r[0].lower() for r in self.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'")}

    def integrity(self) -> list[str]:
        return [f"SQLite: {row[0]}" for row in self.db.execute("PRAGMA quick_check")
                if row[0] != "ok"]

    def close(self) -> None:
        self.db.close()


def _postgres() -> ModuleType:
    try:
        import psycopg
    except ImportError:
        raise PbrError("a ledger in PostgreSQL needs the psycopg package: pip install "
                       "'pbr-cli[postgresql]'", code="ledger-unreachable") from None
    return psycopg


def connect_postgres(where: LedgerUrl, purpose: str = "ledger") -> Any:
    """A connection in autocommit mode (transactions are begun explicitly), named in the
    server's activity list as this pbr process, and given 10 seconds to connect. (A psycopg
    connection: psycopg is installed only for a ledger in PostgreSQL.)"""
    psycopg = _postgres()
    name = f"pbr {purpose}: process {os.getpid()} on {socket.gethostname()}"[:63]
    try:
        return psycopg.connect(where.url, autocommit=True, connect_timeout=10,
                               application_name=name)
    except psycopg.Error as exc:
        reason = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise PbrError(f"cannot reach the ledger database {where}: {reason}",
                       code="ledger-unreachable") from None


class PostgresDb(Db):
    kind = "postgresql"

    def __init__(self, where: LedgerUrl, readonly: bool):
        psycopg = _postgres()
        self.errors = (psycopg.Error,)
        self.db = connect_postgres(where)
        self.db.row_factory = _rows
        if readonly:
            self.db.execute("SET default_transaction_read_only = on")
        self.namespace = str(self.db.execute("SELECT current_schema()").fetchone()[0])

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if not params:  # no placeholders: the statement goes as it is
            return self.db.execute(sql)
        return self.db.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.db.cursor() as cur:
            cur.executemany(self._sql(sql), [tuple(r) for r in rows])

    def insert(self, sql: str, params: Sequence[Any]) -> int:
        return int(self.execute(sql + " RETURNING id", params).fetchone()[0])

    def begin_write(self) -> None:
        self.execute("BEGIN")
        self.execute("SELECT pg_advisory_xact_lock(?)", (lock_key("write", self.namespace),))

    @property
    def in_transaction(self) -> bool:
        return self.db.info.transaction_status != 0  # IDLE

    def has_table(self, name: str) -> bool:
        return self.execute("SELECT to_regclass(?) IS NOT NULL", (name,)).fetchone()[0]

    def triggers(self) -> set[str]:
        # A trigger switched off (ALTER TABLE ... DISABLE TRIGGER) is not in force.
        return {str(r[0]).lower() for r in self.execute(
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE "
            "c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal AND "
            "t.tgenabled <> 'D'")}

    def close(self) -> None:
        self.db.close()


def _rows(cursor: Any) -> Callable[[Sequence[Any]], Row]:
    names = tuple(d.name for d in cursor.description or ())
    return lambda values: Row(names, values)


def open_db(where: Where, readonly: bool = False) -> Db:
    if isinstance(where, LedgerUrl):
        return PostgresDb(where, readonly)
    return SqliteDb(Path(where), readonly)


def database_errors() -> tuple[type[BaseException], ...]:
    """The errors either database raises (psycopg's only when it is installed)."""
    try:
        import psycopg
    except ImportError:
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg.Error)


class DatabaseLock:
    """The lock one recording run holds on a ledger in PostgreSQL, as the lock file does
    beside an SQLite one: a session advisory lock, released when the run's connection ends
    however it ends (the server sees a killed run's connection close)."""

    def __init__(self, where: LedgerUrl):
        self.where = where
        self.db = connect_postgres(where, "run")
        namespace = str(self.db.execute("SELECT current_schema()").fetchone()[0])
        self.key = lock_key("run", namespace)

    def try_take(self) -> bool:
        return bool(self.db.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()[0])

    def holder(self) -> str:
        """The pbr run holding the lock, as the server names it ("process 4242 on host")."""
        high, low = (self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF
        row = self.db.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = %s AND "
            "l.objid::bigint = %s AND l.database = (SELECT oid FROM pg_database WHERE datname = "
            "current_database())", (high, low)).fetchone()
        if not row or not row[0]:
            return "a process"
        return str(row[0]).split(": ", 1)[-1]

    def fileno(self) -> int:
        """The connection's socket: the session (and so the lock) lasts while it is open."""
        return int(self.db.fileno())

    def close(self) -> None:
        self.db.close()
