"""The ledger's schema: its tables, the migrations from each schema version to the next, the
kinds of record in the hash chain, and the triggers that make it append-only — in SQLite and,
the same tables made at once, in PostgreSQL."""

from __future__ import annotations

SCHEMA_VERSION = 4
TABLES = ("runs", "inputs", "lines", "adjustments", "approvals", "chain", "publication_keys",
          "publications")
# record kinds in the chain, and the table each one's rows live in
KINDS = {"run": "runs", "approval": "approvals", "publication_key": "publication_keys",
         "publication": "publications"}
SIGNED_TABLES = ("runs", "approvals", "publications")  # their records are signed


def append_only_rules(kind: str) -> tuple[str, ...]:
    """What the triggers refuse on every table: PostgreSQL also has TRUNCATE."""
    return ("UPDATE", "DELETE", "TRUNCATE") if kind == "postgresql" else ("UPDATE", "DELETE")


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
    4: [
        # Signed records (docs/payment-cycle.md, "Signed records"): who signed a run, an
        # approval or a publication (`J. Smith <ed25519:...>`, inside the content its hash
        # covers) and the signature over its chain hash; '' in records made unsigned.
        *[f"ALTER TABLE {t} ADD COLUMN {c} TEXT NOT NULL DEFAULT ''"
          for t in SIGNED_TABLES for c in ("signer", "signature")],
    ],
}

# The same tables in PostgreSQL, made at the current schema version in one step (an older
# one is migrated by MIGRATIONS from schema 4 on, whose statements both databases take).
# Rows and columns are those of SQLite, so a record's
# canonical content — and so the hash chain — is the same in both. SQLite's implicit rowid
# (the order rows were recorded in) is a column here, `rowid`.
POSTGRES = [
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE runs (
        id BIGINT PRIMARY KEY,
        model TEXT NOT NULL, model_sha256 TEXT NOT NULL, register_sha256 TEXT NOT NULL,
        period TEXT NOT NULL, tool_version TEXT NOT NULL,
        started_at TEXT NOT NULL, finished_at TEXT NOT NULL, command TEXT NOT NULL,
        fingerprint TEXT NOT NULL, entitlement TEXT NOT NULL, adjustments TEXT NOT NULL,
        payment TEXT NOT NULL, withheld INTEGER NOT NULL, output TEXT,
        schedule_sha256 TEXT NOT NULL DEFAULT '', basis INTEGER NOT NULL DEFAULT 0,
        signer TEXT NOT NULL DEFAULT '', signature TEXT NOT NULL DEFAULT '')""",
    "CREATE INDEX runs_by_period ON runs (model, period, id)",
    """CREATE TABLE inputs (
        run_id BIGINT NOT NULL REFERENCES runs(id), role TEXT NOT NULL, file TEXT NOT NULL,
        sha256 TEXT NOT NULL, provider TEXT NOT NULL, period TEXT NOT NULL,
        used INTEGER NOT NULL, rowid BIGSERIAL PRIMARY KEY)""",
    "CREATE INDEX inputs_by_run ON inputs (run_id)",
    """CREATE TABLE lines (
        run_id BIGINT NOT NULL REFERENCES runs(id), provider TEXT NOT NULL,
        entry TEXT NOT NULL, groups TEXT NOT NULL, component TEXT NOT NULL,
        kind TEXT NOT NULL, amount TEXT NOT NULL, rowid BIGSERIAL PRIMARY KEY)""",
    "CREATE INDEX lines_by_run ON lines (run_id)",
    """CREATE TABLE adjustments (
        run_id BIGINT NOT NULL REFERENCES runs(id), month TEXT NOT NULL,
        provider TEXT NOT NULL, component TEXT NOT NULL, previous TEXT NOT NULL,
        now TEXT NOT NULL, difference TEXT NOT NULL, reason TEXT NOT NULL,
        rowid BIGSERIAL PRIMARY KEY)""",
    "CREATE INDEX adjustments_by_run ON adjustments (run_id)",
    """CREATE TABLE approvals (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        run_id BIGINT NOT NULL REFERENCES runs(id),
        model TEXT NOT NULL, period TEXT NOT NULL, approved_by TEXT NOT NULL,
        approved_at TEXT NOT NULL, draft_sha256 TEXT NOT NULL, schedule TEXT NOT NULL,
        schedule_sha256 TEXT NOT NULL, how TEXT NOT NULL,
        signer TEXT NOT NULL DEFAULT '', signature TEXT NOT NULL DEFAULT '')""",
    "CREATE UNIQUE INDEX approvals_once ON approvals (model, period)",
    """CREATE TABLE chain (
        seq BIGINT PRIMARY KEY, kind TEXT NOT NULL, ref BIGINT NOT NULL,
        prev TEXT NOT NULL, hash TEXT NOT NULL)""",
    "CREATE UNIQUE INDEX chain_refs ON chain (kind, ref)",
    """CREATE TABLE publication_keys (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, model TEXT NOT NULL UNIQUE,
        key TEXT NOT NULL, created_at TEXT NOT NULL)""",
    """CREATE TABLE publications (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, model TEXT NOT NULL,
        period TEXT NOT NULL, published_at TEXT NOT NULL, output_sha256 TEXT NOT NULL,
        method TEXT NOT NULL, figures TEXT NOT NULL,
        signer TEXT NOT NULL DEFAULT '', signature TEXT NOT NULL DEFAULT '')""",
    "CREATE INDEX publications_by_model ON publications (model, id)",
    # The append-only rules: no row of a ledger table is ever changed, deleted or truncated.
    """CREATE FUNCTION pbr_append_only() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'the ledger is append-only'; END $$""",
    *[f"""CREATE TRIGGER {t}_append_only_{op} BEFORE {op} ON {t} FOR EACH
           {'STATEMENT' if op == 'TRUNCATE' else 'ROW'} EXECUTE FUNCTION pbr_append_only()"""
      for t in TABLES for op in ("UPDATE", "DELETE", "TRUNCATE")],
]
