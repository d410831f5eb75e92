"""Repairing a ledger that rows written outside pbr have made unsound (docs/payment-cycle.md,
"Repairing a ledger"): the last good record — the last from which the chain back to the start
holds, every run's totals and fingerprint, every approval's run and every signature — and the
rows after it or outside the chain, which `quarantine` moves to the ledger's quarantine table,
each with why, when, by whom and the record it came after. Nothing is deleted without its row
kept there; the quarantine table is append-only like the rest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pbr_cli.ledger.chain import ChainedStore
from pbr_cli.ledger.records import Head
from pbr_cli.ledger.schema import (
    APPEND_ONLY,
    KINDS,
    TABLES,
    append_only_pg,
    quarantine_table,
)
from pbr_cli.ledger.signing import SIGNED_KINDS, Trust, check_records

PARTS = ("inputs", "lines", "adjustments")  # the rows that belong to a run


@dataclass(frozen=True)
class Stray:
    """A row to be moved: its table, its number there (id, seq or rowid), the row, why."""

    table: str
    key: int
    row: dict[str, Any]
    why: str


@dataclass
class Damage:
    """What breaks a ledger: the last good record, why the chain does not hold after it, and
    every row after it or outside the chain."""

    last_good: Head
    why: str = ""
    rows: list[Stray] = field(default_factory=list)

    def said(self) -> list[str]:
        """One line for each record moved (a run's own rows counted with it)."""
        lines = []
        for s in self.rows:
            if s.table in PARTS:
                continue
            lines.append(f"{_describe(s)}: {s.why}")
        parts: dict[str, int] = {}
        for s in self.rows:
            if s.table in PARTS:
                parts[s.table] = parts.get(s.table, 0) + 1
        if parts:
            lines.append("and the rows of those runs (or of no run): " + ", ".join(
                f"{n} of {table}" for table, n in parts.items()))
        return lines


def _describe(s: Stray) -> str:
    r = s.row
    signed = (f", signed by {r['signer']}" if r.get("signer") else ", unsigned") \
        if "signer" in r else ""
    if s.table == "chain":
        return f"record {r['seq']} ({r['kind']} {r['ref']})"
    if s.table == "runs":
        return f"run {r['id']} ({r['model']} {r['period']}, due {r['payment']}{signed})"
    if s.table == "approvals":
        return (f"approval {r['id']} ({r['model']} {r['period']}, run {r['run_id']}, approved by "
                f"{r['approved_by']!r} at {r['approved_at']}{signed})")
    if s.table == "publications":
        return f"publication {r['id']} ({r['model']} {r['period']}{signed})"
    return f"{s.table} {s.key}"


def _rows(store: ChainedStore, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
    return [{k: row[k] for k in row.keys()} for row in store.db.execute(sql, params).fetchall()]


def last_good(store: ChainedStore, trust: Trust) -> tuple[Head, str]:
    """The last record up to which the ledger verifies, and what is wrong with the next
    ('' when every record verifies)."""
    heads = [Head(0, store.genesis())]
    signed = []
    for link in store.db.execute("SELECT * FROM chain ORDER BY seq").fetchall():
        head, kind, ref = heads[-1], link["kind"], link["ref"]
        where = f"record {link['seq']} ({kind} {ref})"
        if link["seq"] != head.seq + 1 or kind not in KINDS or link["prev"] != head.hash:
            return head, f"{where} does not follow the record before it"
        record = store._record(kind, ref)
        if record is None:
            return head, f"{where}: the {kind} it records is not there"
        if store._link(head.hash, kind, record[0]) != link["hash"]:
            return head, f"{where}: its content is not what was recorded"
        if kind == "run":
            parts = store._parts(ref)
            problems = store._check_run(*parts) if parts is not None else []
            if problems:
                return head, f"{where}: {problems[0]}"
        if kind == "approval":
            run = store.db.execute("SELECT model, period FROM runs WHERE id = ?",
                                   (record[1]["run_id"],)).fetchone()
            if run is None or (run["model"], run["period"]) != (record[1]["model"],
                                                                 record[1]["period"]):
                return head, f"{where}: its run is not a run of its scheme and month"
        if kind in SIGNED_KINDS:
            signed.append(store._signed_record(link, record[1]))
        heads.append(Head(link["seq"], link["hash"]))
    for seq, problem in check_records(signed, trust)[:1]:
        return heads[seq - 1], problem
    return heads[-1], ""


def damage(store: ChainedStore, trust: Trust) -> Damage:
    """The last good record and every row after it or outside the chain."""
    good, why = last_good(store, trust)
    found = Damage(good, why)
    for link in _rows(store, "SELECT * FROM chain WHERE seq > ? ORDER BY seq", (good.seq,)):
        found.rows.append(Stray("chain", link["seq"], link, f"after record {good.seq}"))
    kept = "SELECT ref FROM chain WHERE kind = ? AND seq <= ?"
    later = {(s.row["kind"], s.row["ref"]) for s in found.rows}
    for kind, table in KINDS.items():
        for row in _rows(store, f"SELECT * FROM {table} WHERE id NOT IN ({kept}) ORDER BY id",
                         (kind, good.seq)):
            found.rows.append(Stray(table, row["id"], row, f"after record {good.seq}" if (
                kind, row["id"]) in later else "not in the chain (added outside pbr)"))
    rowid = "rowid, *" if store.db.kind == "sqlite" else "*"
    for table in PARTS:
        for row in _rows(store, f"SELECT {rowid} FROM {table} WHERE run_id NOT IN ({kept}) "
                         "ORDER BY rowid", ("run", good.seq)):
            found.rows.append(Stray(table, row["rowid"], row, f"of run {row['run_id']}"))
    return found


def quarantine(store: ChainedStore, found: Damage, moved_by: str, at: str) -> None:
    """Move the rows `found` to the quarantine table, in the transaction the caller holds:
    each kept there as it was, then taken out of its table (the append-only rules lifted for
    this alone, and in force again, every one, before the transaction ends)."""
    db = store.db
    for statement in quarantine_table(db.kind):
        db.execute(statement)
    db.executemany(
        "INSERT INTO quarantine (moved_at, moved_by, after_record, after_hash, from_table, "
        "content, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(at, moved_by, found.last_good.seq, found.last_good.hash, s.table,
          json.dumps(s.row, sort_keys=True, default=str), s.why) for s in found.rows])
    tables = [t for t in ("chain", "approvals", "publications", "publication_keys",
                          "sample_keys", "samples", "verdicts", *PARTS, "runs")
              if any(s.table == t for s in found.rows)]
    for table in tables:
        if db.kind == "postgresql":
            db.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        else:
            db.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_DELETE")
        key = {"chain": "seq", **{t: "rowid" for t in PARTS}}.get(table, "id")
        db.executemany(f"DELETE FROM {table} WHERE {key} = ?",
                       [(s.key,) for s in found.rows if s.table == table])
    if db.kind == "postgresql":
        for table in TABLES:
            db.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        for statement in append_only_pg(TABLES):
            db.execute(statement)
    else:
        for statement in APPEND_ONLY:
            db.execute(statement)


def quarantined(store: ChainedStore) -> int:
    """How many rows repairs have moved to the quarantine table (0 when none was made)."""
    if not store.db.has_table("quarantine"):
        return 0
    return int(store.db.execute("SELECT count(*) FROM quarantine").fetchone()[0])
