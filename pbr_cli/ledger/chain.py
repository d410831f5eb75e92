"""The ledger's hash chain: every record (a run with its inputs, lines and adjustments; an
approval; a publication key; a publication) carries a SHA-256 over its canonical content and
the hash of the record before it. `verify` recomputes the chain, every run's totals and
fingerprint, and names the first record that does not match."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pbr_cli.errors import PbrError
from pbr_cli.ledger.db import Db
from pbr_cli.ledger.records import Head, RunInput, WorkedOut, fingerprint, stored_amount
from pbr_cli.ledger.schema import (
    FUNCTIONS_VERSION,
    KINDS,
    SIGNED_TABLES,
    TABLES,
    append_only_rules,
    postgres_functions,
)
from pbr_cli.ledger.signing import SIGNED_KINDS, SignedRecord, Signer, Trust, check, signer_name

ZERO = Decimal("0.00")

# A run's row, and its inputs, lines and adjustments as tuples in recorded order
RunParts = tuple[Any, list[tuple], list[tuple], list[tuple]]
RunRows = tuple[list[tuple], list[tuple], list[tuple]]  # a run's inputs, lines, adjustments
RUN_ROWS = {"inputs": "role, file, sha256, provider, period, used",
            "lines": "provider, entry, groups, component, kind, amount",
            "adjustments": "month, provider, component, previous, now, difference, reason"}


def canonical_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A record's row as its hash covers it: every column but its signature (which is over
    the hash); a record made unsigned without its empty signer too, so that records made
    before records were signed keep the content, and the hash, they were recorded with."""
    body = {k: row[k] for k in row.keys() if k != "signature"}
    if body.get("signer", None) == "":
        del body["signer"]
    return body


class ChainedStore:
    """The chain over a ledger's database (`db`, rows read by name or position), and the
    key that signs what is recorded (`signer`, None where the config names no keys)."""

    db: Db
    signer: Signer | None = None

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def ledger_id(self) -> str:
        return self._meta("ledger_id") or ""

    def genesis(self) -> str:
        return hashlib.sha256(f"pbr ledger {self._meta('ledger_id')}".encode()).hexdigest()

    def head(self) -> Head:
        row = self.db.execute("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
        return Head(row["seq"], row["hash"]) if row else Head(0, self.genesis())

    def position(self, kind: str, ref: int) -> int | None:
        """A record's place in the chain (a run's or an approval's), None when not in it."""
        row = self.db.execute("SELECT seq FROM chain WHERE kind = ? AND ref = ?",
                              (kind, ref)).fetchone()
        return int(row["seq"]) if row else None

    def _parts(self, ref: int) -> RunParts | None:
        """A run's row, and its inputs, lines and adjustments as tuples in recorded order."""
        row = self.db.execute("SELECT * FROM runs WHERE id = ?", (ref,)).fetchone()
        if row is None:
            return None
        db = self.db
        inputs = db.plain("SELECT role, file, sha256, provider, period, used FROM inputs "
                          "WHERE run_id = ? ORDER BY rowid", (ref,))
        lines = db.plain("SELECT provider, entry, groups, component, kind, amount FROM "
                         "lines WHERE run_id = ? ORDER BY rowid", (ref,))
        adjustments = db.plain("SELECT month, provider, component, previous, now, "
                               "difference, reason FROM adjustments WHERE run_id = ? "
                               "ORDER BY rowid", (ref,))
        return row, inputs, lines, adjustments

    @staticmethod
    def _run_content(parts: RunParts) -> bytes:
        row, inputs, lines, adjustments = parts
        body = {"run": canonical_row(row), "inputs": [list(r) for r in inputs],
                "lines": [list(r) for r in lines], "adjustments": [list(r) for r in adjustments]}
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    @staticmethod
    def _row_content(kind: str, row: Mapping[str, Any]) -> bytes:
        body = {kind: canonical_row(row)}
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    def _record(self, kind: str, ref: int) -> tuple[bytes, Any] | None:
        """The canonical bytes of one record (its row and every row that belongs to it), and
        its row."""
        if kind == "run":
            parts = self._parts(ref)
            return None if parts is None else (self._run_content(parts), parts[0])
        if kind not in KINDS:
            return None
        row = self.db.execute(f"SELECT * FROM {KINDS[kind]} WHERE id = ?", (ref,)).fetchone()
        return None if row is None else (self._row_content(kind, row), row)

    def _content(self, kind: str, ref: int) -> bytes | None:
        found = self._record(kind, ref)
        return None if found is None else found[0]

    @staticmethod
    def _link(prev: str, kind: str, content: bytes) -> str:
        return hashlib.sha256(prev.encode() + b"\n" + kind.encode() + b"\n" + content).hexdigest()

    def _chain(self, kind: str, ref: int, signed: str | None = None) -> Head:
        """Add the record just inserted to the chain. `signed`: the hash its signature was
        made over, worked out before it was inserted; the record as stored must give it."""
        head = self.head()
        content = self._content(kind, ref)
        assert content is not None
        digest = self._link(head.hash, kind, content)
        if signed is not None and digest != signed:
            raise PbrError(f"the {kind} as recorded is not the {kind} signed (pbr's own fault: "
                           "nothing was recorded); report it", code="ledger-not-writable")
        self.db.execute("INSERT INTO chain (seq, kind, ref, prev, hash) VALUES (?, ?, ?, ?, ?)",
                        (head.seq + 1, kind, ref, head.hash, digest))
        return Head(head.seq + 1, digest)

    def _append(self, kind: str, row: dict[str, Any], parts: RunRows | None = None) -> None:
        """Append one record — its row as it will be stored (numbered, with its signer), a
        run's inputs, lines and adjustments (`parts`) — and its link in the chain, signed by
        the signer's key over the hash it will have. In PostgreSQL through the owner's
        `pbr_append` (schema.py), which refuses it unless it follows the head and its rows
        as stored give that hash: the officers' role can write nothing else."""
        head = self.head()
        content = (self._run_content((row, *parts)) if parts is not None
                   else self._row_content(kind, row))
        digest = self._link(head.hash, kind, content)
        if kind in SIGNED_KINDS:
            row["signature"] = self.signer.sign_record(digest) if self.signer else ""
        if self.db.kind == "postgresql":
            record: dict[str, Any] = {"row": row}
            if parts is not None:
                record.update(zip(RUN_ROWS,
                                  ([list(r) for r in rows] for rows in parts), strict=True))
            self.db.execute("SELECT pbr_append(?, ?::jsonb, ?, ?)",
                            (kind, json.dumps(record), head.hash, digest))
            return
        self.db.execute(f"INSERT INTO {KINDS[kind]} ({', '.join(row)}) VALUES "
                        f"({', '.join('?' * len(row))})", list(row.values()))
        if parts is not None:
            for (table, columns), rows in zip(RUN_ROWS.items(), parts, strict=True):
                self.db.executemany(f"INSERT INTO {table} (run_id, {columns}) VALUES "
                                    f"({', '.join('?' * (columns.count(',') + 2))})",
                                    [(row["id"], *r) for r in rows])
        self._chain(kind, row["id"], digest if self.signer is not None else None)

    def _functions_current(self) -> bool:
        """Whether a ledger in PostgreSQL has the functions this pbr records through."""
        return self._meta("write_functions") == str(FUNCTIONS_VERSION)

    def _write_functions(self) -> None:
        """In PostgreSQL, the owner's functions officers record through, made or brought up
        to date (by the owner: anyone else is told to ask them)."""
        if self._functions_current():
            return
        namespace = str(self.db.execute("SELECT current_schema()").fetchone()[0])
        owner = self.db.execute("SELECT pg_has_role(relowner, 'USAGE') FROM pg_class WHERE oid = "
                                "to_regclass('chain')").fetchone()
        if not owner or not owner[0]:
            raise PbrError(f"the ledger {getattr(self, 'path', '')} needs the functions pbr "
                           "records through, which only the owner of its tables can make: run "
                           "`pbr ledger verify` once as the owner (--ledger postgresql://OWNER@...)"
                           ", then give the officers' role its rights as docs/payment-cycle.md "
                           "says (A ledger shared by a team)", code="ledger-not-writable")
        for statement in postgres_functions(namespace):
            self.db.execute(statement)
        self.db.execute("INSERT INTO meta VALUES ('write_functions', ?) ON CONFLICT (key) DO "
                        "UPDATE SET value = excluded.value", (str(FUNCTIONS_VERSION),))

    def verify(self, trust: Trust | None = None) -> list[str]:
        """Everything that does not match, first record first (empty when sound): the chain
        recomputed over every record's content, every run's totals and fingerprint, rows that
        belong to no record, approvals, the append-only rules, the database's own check, and
        (by `trust`, the config's keys) every signature from the first signed record on."""
        found: list[str] = self.db.integrity()
        if found:
            return found
        prev = self.genesis()
        expected = 1
        chained: dict[str, set[int]] = {kind: set() for kind in KINDS}
        checks: list[str] = []
        signed: list[SignedRecord] = []
        for row in self.db.execute("SELECT * FROM chain ORDER BY seq").fetchall():
            where = f"record {row['seq']} ({row['kind']} {row['ref']})"
            if row["seq"] != expected:
                found.append(f"record {expected} is missing from the chain (next is {row['seq']})")
                return found
            expected += 1
            if row["kind"] not in chained:
                found.append(f"{where}: unknown kind of record")
                return found
            chained[row["kind"]].add(row["ref"])
            if row["prev"] != prev:
                found.append(f"{where}: does not follow the record before it")
                return found
            record = self._record(row["kind"], row["ref"])
            if record is not None and row["kind"] == "run":
                parts = self._parts(row["ref"])
                assert parts is not None
                checks += self._check_run(*parts)
            content = None if record is None else record[0]
            if record is not None and row["kind"] in SIGNED_KINDS:
                signed.append(self._signed_record(row, record[1]))
            if content is None:
                found.append(f"{where}: the {row['kind']} it records has been deleted")
                return found
            if self._link(prev, row["kind"], content) != row["hash"]:
                found.append(f"{where}: its content has changed since it was recorded "
                             "(a row of it inserted, changed or deleted outside pbr)")
                return found
            prev = row["hash"]
        for kind, table in KINDS.items():
            ids = {r[0] for r in self.db.execute(f"SELECT id FROM {table}")}
            outside = sorted(ids - chained[kind])
            if outside:
                found.append(f"{kind} {outside[0]} is not in the chain (added outside pbr)")
        for table in ("inputs", "lines", "adjustments"):
            stray = self.db.execute(f"SELECT count(*) FROM {table} WHERE run_id NOT IN "
                                    "(SELECT id FROM runs)").fetchone()[0]
            if stray:
                found.append(f"{stray} row(s) of {table} belong to no run (added outside pbr)")
        if found:
            return found
        found += checks
        found += check(signed, trust or Trust())
        for a in self.db.execute("SELECT id, run_id, model, period FROM approvals ORDER BY id"):
            run = self.db.execute("SELECT model, period FROM runs WHERE id = ?",
                                  (a["run_id"],)).fetchone()
            if run is None or (run["model"], run["period"]) != (a["model"], a["period"]):
                found.append(f"approval {a['id']}: run {a['run_id']} is not a run of "
                             f"{a['model']} {a['period']}")
        triggers = self.db.triggers()
        missing = [f"{t}_append_only_{op}" for t in TABLES for op in append_only_rules(self.db.kind)
                   if f"{t}_append_only_{op}".lower() not in triggers]
        if missing:
            found.append(f"the append-only rules were removed outside pbr ({missing[0]}, ...)")
        return found

    def _signed_record(self, link: Any, row: Any) -> SignedRecord:
        model, drafter = "", None
        if link["kind"] == "approval":
            model = row["model"]
            run = self.db.execute("SELECT signer FROM runs WHERE id = ?",
                                  (row["run_id"],)).fetchone()
            drafter = signer_name(run["signer"]) if run is not None else None
        return SignedRecord(link["seq"], link["kind"], link["ref"], link["hash"], row["signer"],
                            row["signature"], model, drafter)

    def signing(self) -> tuple[int, int]:
        """How many runs, approvals and publications are signed, and how many are not."""
        signed = unsigned = 0
        for table in SIGNED_TABLES:
            row = self.db.execute(f"SELECT count(*) FROM {table} WHERE signer <> ''").fetchone()
            every = self.db.execute(f"SELECT count(*) FROM {table}").fetchone()
            signed += int(row[0])
            unsigned += int(every[0]) - int(row[0])
        return signed, unsigned

    @staticmethod
    def _check_run(run: Any, inputs: list, lines: list, adjustments: list) -> list[str]:
        found: list[str] = []

        def amount(text: object, what: str) -> Decimal:
            value = stored_amount(text)
            if value is None:
                found.append(f"run {run['id']}: {what} {text!r} is not an amount (changed "
                             "outside pbr)")
                return ZERO
            return value

        total = sum((amount(ln[5], "a line's amount") for ln in lines if ln[4] == "payment"),
                    ZERO)
        entitlement = amount(run["entitlement"], "its PbR")
        adjusted = amount(run["adjustments"], "its adjustments")
        due = amount(run["payment"], "its amount due")
        if total != entitlement:
            found.append(f"run {run['id']}: lines sum to {total}, not {run['entitlement']}")
        adj = sum((amount(a[5], "an adjustment") for a in adjustments), ZERO)
        if adj != adjusted:
            found.append(f"run {run['id']}: adjustments sum to {adj}, not {run['adjustments']}")
        if due != entitlement + adjusted:
            found.append(f"run {run['id']}: due {run['payment']} is not PbR + adjustments")
        for a in adjustments:
            if amount(a[4], "an adjustment") - amount(a[3], "an adjustment") != amount(
                    a[5], "an adjustment"):
                found.append(f"run {run['id']}: an adjustment's difference is not now − previously")
        if not inputs:
            found.append(f"run {run['id']}: no inputs recorded")
        again = fingerprint(WorkedOut(run["model_sha256"], run["register_sha256"],
                                      run["tool_version"], run["period"], run["basis"]),
                            [RunInput(*i).fingerprinted() for i in inputs],
                            list(lines), [a[:5] for a in adjustments])
        if again != run["fingerprint"]:
            found.append(f"run {run['id']}: its fingerprint does not match its inputs and lines")
        return found
