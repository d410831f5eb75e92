"""The ledger's SQLite schema: its tables, the migrations from each schema version to the
next, the kinds of record in the hash chain, and the triggers that make it append-only."""

from __future__ import annotations

SCHEMA_VERSION = 3
TABLES = ("runs", "inputs", "lines", "adjustments", "approvals", "chain", "publication_keys",
          "publications")
# record kinds in the chain, and the table each one's rows live in
KINDS = {"run": "runs", "approval": "approvals", "publication_key": "publication_keys",
         "publication": "publications"}
APPEND_ONLY = [f"""CREATE TRIGGER IF NOT EXISTS {t}_append_only_{op} BEFORE {op} ON {t}
                    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END"""
                for t in TABLES for op in ("UPDATE", "DELETE")]

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
    ],
    2: [
        # The schedule file written for a run and its SHA-256; the approvals the draft was
        # worked out after (adjustments depend on them).
        "ALTER TABLE runs ADD COLUMN schedule_sha256 TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE runs ADD COLUMN basis INTEGER NOT NULL DEFAULT 0",
        """CREATE TABLE approvals (
            id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id),
            model TEXT NOT NULL, period TEXT NOT NULL, approved_by TEXT NOT NULL,
            approved_at TEXT NOT NULL, draft_sha256 TEXT NOT NULL, schedule TEXT NOT NULL,
            schedule_sha256 TEXT NOT NULL, how TEXT NOT NULL)""",
        "CREATE UNIQUE INDEX approvals_once ON approvals (model, period)",
        """CREATE TABLE chain (
            seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, ref INTEGER NOT NULL,
            prev TEXT NOT NULL, hash TEXT NOT NULL)""",
        "CREATE UNIQUE INDEX chain_refs ON chain (kind, ref)",
    ],
    3: [
        # Publications (docs/publication.md): each scheme's rounding key, made at its first
        # publication and kept, and every publication with the figures it showed.
        """CREATE TABLE publication_keys (
            id INTEGER PRIMARY KEY, model TEXT NOT NULL UNIQUE, key TEXT NOT NULL,
            created_at TEXT NOT NULL)""",
        """CREATE TABLE publications (
            id INTEGER PRIMARY KEY, model TEXT NOT NULL, period TEXT NOT NULL,
            published_at TEXT NOT NULL, output_sha256 TEXT NOT NULL, method TEXT NOT NULL,
            figures TEXT NOT NULL)""",
        "CREATE INDEX publications_by_model ON publications (model, id)",
    ],
}
