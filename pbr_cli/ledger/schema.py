"""The ledger's schema: its tables, the migrations from each schema version to the next, the
kinds of record in the hash chain, and the triggers that make it append-only — in SQLite and,
the same tables made at once, in PostgreSQL."""

from __future__ import annotations

import json

SCHEMA_VERSION = 5
TABLES = ("runs", "inputs", "lines", "adjustments", "approvals", "chain", "publication_keys",
          "publications", "sample_keys", "samples", "verdicts")
# record kinds in the chain, and the table each one's rows live in
KINDS = {"run": "runs", "approval": "approvals", "publication_key": "publication_keys",
         "publication": "publications", "sample_key": "sample_keys", "sample": "samples",
         "verdicts": "verdicts"}
SIGNED_TABLES = ("runs", "approvals", "publications", "samples", "verdicts")  # signed records
UNSIGNED_KINDS = ("publication_key", "sample_key")  # keys: covered by the signed record after


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
          for t in ("runs", "approvals", "publications") for c in ("signer", "signature")],
    ],
    5: [
        # Assurance (docs/assurance.md): each scheme's sampling key, made at its first draw and
        # kept; each period's sample as drawn (once), and the checkers' verdicts on it (once).
        """CREATE TABLE sample_keys (
            id INTEGER PRIMARY KEY, model TEXT NOT NULL UNIQUE, key TEXT NOT NULL,
            created_at TEXT NOT NULL)""",
        """CREATE TABLE samples (
            id INTEGER PRIMARY KEY, model TEXT NOT NULL, period TEXT NOT NULL,
            run_id INTEGER NOT NULL, drawn_at TEXT NOT NULL, drawn_by TEXT NOT NULL,
            content TEXT NOT NULL, signer TEXT NOT NULL DEFAULT '',
            signature TEXT NOT NULL DEFAULT '')""",
        "CREATE UNIQUE INDEX samples_once ON samples (model, period)",
        """CREATE TABLE verdicts (
            id INTEGER PRIMARY KEY, sample_id INTEGER NOT NULL, model TEXT NOT NULL,
            period TEXT NOT NULL, recorded_at TEXT NOT NULL, recorded_by TEXT NOT NULL,
            file_sha256 TEXT NOT NULL, content TEXT NOT NULL, signer TEXT NOT NULL DEFAULT '',
            signature TEXT NOT NULL DEFAULT '')""",
        "CREATE UNIQUE INDEX verdicts_once ON verdicts (sample_id)",
    ],
}

# Where `pbr ledger repair` moves the rows that break a ledger's chain (docs/payment-cycle.md,
# "Repairing a ledger"): each row as it was (JSON), the table it was in, why, when, by whom, and
# the last good record it came after. Made by the first repair; append-only like the rest.
QUARANTINE = """CREATE TABLE IF NOT EXISTS quarantine (
    id {id} PRIMARY KEY, moved_at TEXT NOT NULL, moved_by TEXT NOT NULL,
    after_record BIGINT NOT NULL, after_hash TEXT NOT NULL, from_table TEXT NOT NULL,
    content TEXT NOT NULL, reason TEXT NOT NULL)"""


def quarantine_table(kind: str) -> list[str]:
    """The quarantine table and its append-only rules, in either database."""
    if kind != "postgresql":
        return [QUARANTINE.format(id="INTEGER"), *[
            f"""CREATE TRIGGER IF NOT EXISTS quarantine_append_only_{op} BEFORE {op} ON
                quarantine BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END"""
            for op in ("UPDATE", "DELETE")]]
    return [QUARANTINE.format(id="BIGINT GENERATED BY DEFAULT AS IDENTITY"), *append_only_pg(
        ("quarantine",))]


def append_only_pg(tables: tuple[str, ...]) -> list[str]:
    """PostgreSQL's append-only triggers on `tables`, made or made again."""
    return [f"""CREATE OR REPLACE TRIGGER {t}_append_only_{op} BEFORE {op} ON {t} FOR EACH
                {'STATEMENT' if op == 'TRUNCATE' else 'ROW'} EXECUTE FUNCTION pbr_append_only()"""
            for t in tables for op in ("UPDATE", "DELETE", "TRUNCATE")]


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
    *MIGRATIONS[5],
    # The append-only rules: no row of a ledger table is ever changed, deleted or truncated.
    """CREATE FUNCTION pbr_append_only() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'the ledger is append-only'; END $$""",
    *[f"""CREATE TRIGGER {t}_append_only_{op} BEFORE {op} ON {t} FOR EACH
           {'STATEMENT' if op == 'TRUNCATE' else 'ROW'} EXECUTE FUNCTION pbr_append_only()"""
      for t in TABLES for op in ("UPDATE", "DELETE", "TRUNCATE")],
]

# -- writing a ledger in PostgreSQL through the owner's functions ---------------------------------
# The officers' role holds SELECT and EXECUTE on `pbr_append` only (docs/payment-cycle.md, "A
# ledger shared by a team"): it appends a record — its row, a run's inputs, lines and
# adjustments, and its link in the chain — through the function, which runs as the owner of
# the tables. The function takes the chain for itself, refuses a record that does not follow
# the head (`prev`) and one whose hash, worked out here from the rows as stored exactly as
# chain.py works it out, is not the hash pbr worked out and signed (`expected`), and refuses
# an unsigned record after a signed one. Whether a signature is a named officer's is left to
# `pbr ledger verify` (the keys are in the officers' config, not in the database).
FUNCTIONS_VERSION = 2
APPEND_ARGS = "text, jsonb, text, text"  # kind, the record, the head it follows, its hash


def postgres_functions(schema: str) -> list[str]:
    """The functions, made (or made again) in the ledger's own schema by its owner; nobody
    but the owner and the roles granted them may call them."""
    s = '"' + schema.replace('"', '""') + '"'
    kinds = json.dumps(KINDS)
    unsigned = ", ".join(f"'{k}'" for k in UNSIGNED_KINDS)
    return [
        # A string as Python's json.dumps writes it (ASCII only: \\uXXXX beyond it).
        f"""CREATE OR REPLACE FUNCTION {s}.pbr_json_text(s text) RETURNS text LANGUAGE plpgsql
            STABLE STRICT AS $$
            DECLARE out text := chr(34); c text; n integer;
            BEGIN
              IF s !~ '[^ -~]' THEN
                RETURN chr(34) || replace(replace(s, chr(92), chr(92) || chr(92)), chr(34),
                                          chr(92) || chr(34)) || chr(34);
              END IF;
              IF current_setting('server_encoding') <> 'UTF8' THEN
                RAISE EXCEPTION 'pbr: the ledger''s database is not UTF8 (it is %)',
                  current_setting('server_encoding');
              END IF;
              FOREACH c IN ARRAY regexp_split_to_array(s, '') LOOP
                n := ascii(c);
                out := out || CASE
                  WHEN n = 34 OR n = 92 THEN chr(92) || c
                  WHEN n BETWEEN 32 AND 126 THEN c
                  WHEN n = 8 THEN chr(92) || 'b' WHEN n = 9 THEN chr(92) || 't'
                  WHEN n = 10 THEN chr(92) || 'n' WHEN n = 12 THEN chr(92) || 'f'
                  WHEN n = 13 THEN chr(92) || 'r'
                  WHEN n < 65536 THEN chr(92) || 'u' || lpad(to_hex(n), 4, '0')
                  ELSE chr(92) || 'u' || to_hex(55296 + ((n - 65536) >> 10)) || chr(92) || 'u'
                       || to_hex(56320 + ((n - 65536) & 1023)) END;
              END LOOP;
              RETURN out || chr(34);
            END $$""",
        # A value (a string, a number or null) as json.dumps writes it.
        f"""CREATE OR REPLACE FUNCTION {s}.pbr_json_value(v jsonb) RETURNS text LANGUAGE sql
            IMMUTABLE AS $$ SELECT CASE jsonb_typeof(v) WHEN 'string' THEN
              {s}.pbr_json_text(v #>> '{{}}') WHEN 'null' THEN 'null' ELSE v::text END $$""",
        # A record's row as canonical_row and json.dumps(sort_keys=True) give it.
        f"""CREATE OR REPLACE FUNCTION {s}.pbr_json_row(r jsonb) RETURNS text LANGUAGE sql
            IMMUTABLE AS $$
            SELECT '{{' || coalesce(string_agg({s}.pbr_json_text(key) || ':' ||
              {s}.pbr_json_value(value), ',' ORDER BY key COLLATE "C"), '') || '}}'
            FROM jsonb_each(r) WHERE key <> 'signature' AND NOT (key = 'signer' AND
              value = to_jsonb(''::text)) $$""",
        # A list of rows as lists: [[...],[...]].
        f"""CREATE OR REPLACE FUNCTION {s}.pbr_json_rows(rows jsonb) RETURNS text LANGUAGE sql
            IMMUTABLE AS $$
            SELECT '[' || coalesce(string_agg('[' || (SELECT string_agg(
              {s}.pbr_json_value(v), ',' ORDER BY i)
              FROM jsonb_array_elements(r) WITH ORDINALITY AS e(v, i)) || ']',
              ',' ORDER BY n), '') || ']'
            FROM jsonb_array_elements(rows) WITH ORDINALITY AS t(r, n) $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.pbr_append(rec_kind text, rec jsonb, rec_prev text,
              rec_hash text) RETURNS text LANGUAGE plpgsql SECURITY DEFINER
            SET search_path = {s}, pg_temp AS $$
            DECLARE
              tables constant jsonb := '{kinds}';
              tbl text := tables ->> rec_kind; r jsonb := rec -> 'row'; rec_ref bigint;
              head_seq bigint; head_hash text; stored jsonb; content text; digest text;
              is_next boolean;
            BEGIN
              IF tbl IS NULL THEN
                RAISE EXCEPTION 'pbr: % is not a kind of record', rec_kind;
              END IF;
              LOCK TABLE chain IN EXCLUSIVE MODE;
              SELECT seq, hash INTO head_seq, head_hash FROM chain ORDER BY seq DESC LIMIT 1;
              IF head_seq IS NULL THEN
                head_seq := 0;
                head_hash := encode(sha256(convert_to('pbr ledger ' || (SELECT value FROM meta
                  WHERE key = 'ledger_id'), 'UTF8')), 'hex');
              END IF;
              IF rec_prev IS DISTINCT FROM head_hash THEN
                RAISE EXCEPTION 'pbr: the % does not follow the head of the chain (record %)',
                  rec_kind, head_seq;
              END IF;
              rec_ref := (r ->> 'id')::bigint;
              EXECUTE format('SELECT coalesce(max(id), 0) + 1 = $1 FROM %I', tbl) INTO STRICT
                is_next USING rec_ref;
              IF rec_ref IS NULL OR NOT is_next THEN
                RAISE EXCEPTION 'pbr: % % is not the next number of its table', rec_kind, rec_ref;
              END IF;
              IF rec_kind NOT IN ({unsigned}) THEN
                IF coalesce(r ->> 'signer', '') = '' AND (
                    EXISTS (SELECT 1 FROM runs WHERE signer <> '') OR
                    EXISTS (SELECT 1 FROM approvals WHERE signer <> '') OR
                    EXISTS (SELECT 1 FROM publications WHERE signer <> '')) THEN
                  RAISE EXCEPTION
                    'pbr: an unsigned % after signed records (its folder''s config names no keys)', rec_kind;
                END IF;
                IF r ->> 'signer' <> '' AND length(decode(r ->> 'signature', 'base64')) <> 64
                    THEN
                  RAISE EXCEPTION 'pbr: the % is not signed by its signer', rec_kind;
                END IF;
              END IF;
              IF rec_kind = 'approval' AND NOT EXISTS (SELECT 1 FROM runs WHERE id =
                  (r ->> 'run_id')::bigint AND model = r ->> 'model' AND
                  period = r ->> 'period') THEN
                RAISE EXCEPTION 'pbr: run % is not a run of % %', r ->> 'run_id',
                  r ->> 'model', r ->> 'period';
              END IF;
              IF rec_kind = 'run' AND jsonb_array_length(coalesce(rec -> 'inputs', '[]')) = 0
                  THEN
                RAISE EXCEPTION 'pbr: a run with no inputs';
              END IF;
              EXECUTE format('INSERT INTO %I SELECT * FROM jsonb_populate_record(NULL::%I, $1)',
                tbl, tbl) USING r;
              EXECUTE format('SELECT to_jsonb(t) FROM %I t WHERE id = $1', tbl) INTO stored
                USING rec_ref;
              IF rec_kind = 'run' THEN
                INSERT INTO inputs (run_id, role, file, sha256, provider, period, used)
                  SELECT rec_ref, e ->> 0, e ->> 1, e ->> 2, e ->> 3, e ->> 4, (e ->> 5)::integer
                  FROM jsonb_array_elements(rec -> 'inputs') WITH ORDINALITY AS x(e, n)
                  ORDER BY n;
                INSERT INTO lines (run_id, provider, entry, groups, component, kind, amount)
                  SELECT rec_ref, e ->> 0, e ->> 1, e ->> 2, e ->> 3, e ->> 4, e ->> 5
                  FROM jsonb_array_elements(coalesce(rec -> 'lines', '[]'))
                  WITH ORDINALITY AS x(e, n) ORDER BY n;
                INSERT INTO adjustments (run_id, month, provider, component, previous, now,
                    difference, reason)
                  SELECT rec_ref, e ->> 0, e ->> 1, e ->> 2, e ->> 3, e ->> 4, e ->> 5, e ->> 6
                  FROM jsonb_array_elements(coalesce(rec -> 'adjustments', '[]'))
                  WITH ORDINALITY AS x(e, n) ORDER BY n;
                content := '{{"adjustments":' || pbr_json_rows((SELECT coalesce(jsonb_agg(
                    jsonb_build_array(month, provider, component, previous, now, difference,
                    reason) ORDER BY rowid), '[]') FROM adjustments WHERE run_id = rec_ref))
                  || ',"inputs":' || pbr_json_rows((SELECT coalesce(jsonb_agg(
                    jsonb_build_array(role, file, sha256, provider, period, used)
                    ORDER BY rowid), '[]') FROM inputs WHERE run_id = rec_ref))
                  || ',"lines":' || pbr_json_rows((SELECT coalesce(jsonb_agg(
                    jsonb_build_array(provider, entry, groups, component, kind, amount)
                    ORDER BY rowid), '[]') FROM lines WHERE run_id = rec_ref))
                  || ',"run":' || pbr_json_row(stored) || '}}';
              ELSE
                content := '{{' || pbr_json_text(rec_kind) || ':' || pbr_json_row(stored) || '}}';
              END IF;
              digest := encode(sha256(convert_to(head_hash || chr(10) || rec_kind || chr(10) || content,
                'UTF8')), 'hex');
              IF digest IS DISTINCT FROM rec_hash THEN
                RAISE EXCEPTION 'pbr: the % as stored is not the % whose hash was given', rec_kind,
                  rec_kind;
              END IF;
              INSERT INTO chain (seq, kind, ref, prev, hash)
                VALUES (head_seq + 1, rec_kind, rec_ref, head_hash, digest);
              RETURN digest;
            END $$""",
        *[f"REVOKE ALL ON FUNCTION {s}.{name} FROM PUBLIC" for name in (
            "pbr_json_text(text)", "pbr_json_value(jsonb)", "pbr_json_row(jsonb)",
            "pbr_json_rows(jsonb)",
            f"pbr_append({APPEND_ARGS})")],
    ]


def officer_grants(role: str, schema: str = "public") -> str:
    """What the owner grants the officers' role: to read the ledger, and to append to it
    through `pbr_append` alone (INSERT taken back from a role set up by an earlier pbr)."""
    return (f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}; "
            f"GRANT USAGE ON SCHEMA {schema} TO {role}; "
            f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}; "
            f"GRANT EXECUTE ON FUNCTION {schema}.pbr_append({APPEND_ARGS}) TO {role}")
