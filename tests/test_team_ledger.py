"""A ledger shared by a team in PostgreSQL (docs/payment-cycle.md, "A ledger shared by a
team"): the officers' role, set up exactly as the docs say, appends only through the owner's
`pbr_append`, so one hand-written row cannot stop the team; a script that knows the design is
refused by the function or by `pbr ledger verify`; `pbr ledger repair` moves what breaks the
chain to a quarantine table, keeping every row; and a folder's draft of a month approved in
another folder is gone when that folder next runs.

Every test here runs against a real PostgreSQL server ($PBR_TEST_POSTGRESQL, see
tests/ledger_places.py), in a schema of its own."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from pbr_cli.ledger.chain import ChainedStore
from pbr_cli.ledger.schema import officer_grants
from pbr_cli.ledger.signing import RECORD
from tests.ledger_places import Place
from tests.test_cycle import SCHEME, Authority
from tests.test_signed_ledger import Officers, approval_row, signed_config

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "payment-cycle.md"


@pytest.fixture(autouse=True)
def _no_session_ledger(monkeypatch):
    monkeypatch.delenv("PBR_LEDGER", raising=False)
    monkeypatch.delenv("PBR_CONFIG", raising=False)


def documented_grants() -> str:
    """The SQL the docs give the owner to run for the officers' role."""
    found = re.findall(r'psql -d pbr_ledger -U pbr_owner -c "([^"]*GRANT[^"]*)"', DOCS.read_text())
    assert len(found) == 1, found
    return found[0]


def officer_of(place: Place) -> Place:
    """A new officers' role given exactly the documented rights on `place`'s ledger (made
    first by the owner, the test server's own user), and the ledger as that role reaches it."""
    import psycopg

    place.open().close()
    role = f"officer_{uuid.uuid4().hex[:12]}"
    sql = (documented_grants().replace("pbr_officer", role)
           .replace("SCHEMA public", f"SCHEMA {place.schema}")
           .replace("public.pbr_append", f"{place.schema}.pbr_append"))
    with place.raw() as db:
        db.execute(f"CREATE ROLE {role} LOGIN")
        db.execute(sql)
    user = psycopg.conninfo.conninfo_to_dict(place.arg).get("user")
    return Place(place.arg.replace(f"//{user}@", f"//{role}@", 1), "postgresql", place.server,
                 place.schema)


def test_the_docs_give_the_grants_pbr_knows():
    assert documented_grants() == officer_grants("pbr_officer")


# -- 1. an officer's hand-written row ------------------------------------------------------------

def test_an_officers_hand_written_approval_is_refused_by_the_database(tmp_path):
    """Finding 5: with INSERT on every table, one approval row typed into psql made the
    shared ledger fail verify and stopped every officer's run. Now the officers' role records
    and approves through pbr, and the database refuses its own INSERT into any table."""
    place = Place.new("postgresql", tmp_path)
    officer = officer_of(place)
    authority = Authority(tmp_path / "council", place=officer)
    for month in ("2013-04", "2013-05"):
        authority.month(month)
    assert authority.pbr("run").exit_code == 0
    authority.approve("2013-04")
    may = next(m["run"] for m in authority.status()["months"] if m["month"] == "2013-05")
    row = approval_row(may, "2013-05", "J. Smith")
    stray = (f"INSERT INTO approvals (id, {', '.join(row)}) VALUES (2, "
             + ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in row.values()) + ")")
    for statement in (stray, "INSERT INTO chain VALUES (99, 'approval', 2, 'x', 'y')",
                      "INSERT INTO meta VALUES ('x', 'y')",
                      "INSERT INTO lines (run_id, provider, entry, groups, component, kind, "
                      "amount) VALUES (1, 'P1', 'e', '{}', 'c', 'payment', '1.00')"):
        found = officer.error_of(statement)
        assert "permission denied" in found, (statement, found)
    assert officer.verify() == []
    assert authority.pbr("run").exit_code == 0  # the team goes on
    approved = authority.approve("2013-05")
    assert "error" not in approved, approved


def test_text_beyond_ascii_is_hashed_by_the_database_as_pbr_hashes_it(tmp_path):
    """Oracle: the function works out each record's hash in SQL; pbr's verify works it out
    again in Python from the rows as stored. A name with accents, quotes, a backslash, a tab,
    a character beyond the BMP and DEL goes through both and they agree (the function
    refuses a record whose hash is not the one pbr worked out, so recording it at all says
    they agree; verify says it again)."""
    place = Place.new("postgresql", tmp_path)
    officer = officer_of(place)
    authority = Authority(tmp_path / "council", place=officer)
    authority.month("2013-04")
    assert authority.pbr("run").exit_code == 0
    name = 'Zoë "Ńowak" \\ O\'Brien\t\U0001F600 \x7f café'
    status = authority.status()
    run = next(m["run"] for m in status["months"] if m["month"] == "2013-04")
    result = authority.pbr("approve", "-m", SCHEME, "-p", "2013-04", "--run", str(run), "--by",
                           name)
    assert result.exit_code == 0, result.output
    ledger = officer.open()
    try:
        assert ledger.approvals()[0].approved_by == name
        assert ledger.verify() == []
    finally:
        ledger.close()


def test_the_databases_json_of_any_text_is_pythons(tmp_path):
    """Oracle for the function's canonical form: random text — control characters, quotes,
    backslashes, DEL, accents, characters beyond the BMP — written by `pbr_json_text` in SQL
    and by Python's json.dumps (what chain.py hashes) are the same, character for character."""
    import random

    place = Place.new("postgresql", tmp_path)
    place.open().close()
    pool = [chr(c) for c in (*range(1, 0x80), 0xA0, 0xE9, 0x144, 0x2028, 0xFFFD, 0x1F600,
                             0x10FFFF)]
    rng = random.Random(37)
    texts = ["", "plain", *("".join(rng.choice(pool) for _ in range(rng.randint(1, 30)))
                            for _ in range(400))]
    with place.raw() as db:
        for text in texts:
            got = db.execute(f"SELECT {place.schema}.pbr_json_text(%s)", (text,)).fetchone()[0]
            assert got == json.dumps(text), (text, got)


# -- 2. a script that knows the design --------------------------------------------------------------

@pytest.fixture
def team(tmp_path, monkeypatch):
    """A signed shared ledger: April approved by J. Smith, May drafted by D. Drafter, all
    through the officers' role."""
    officers = Officers(tmp_path, monkeypatch)
    place = Place.new("postgresql", tmp_path)
    officer = officer_of(place)
    authority = Authority(tmp_path / "council", place=officer)
    signed_config(authority, officers)
    for month in ("2013-04", "2013-05"):
        authority.month(month)
    officers.as_("drafter")
    assert authority.pbr("run").exit_code == 0
    officers.as_("smith")
    assert "error" not in authority.approve("2013-04")
    officers.as_("drafter")
    assert authority.pbr("run").exit_code == 0
    authority.officers, authority.owner = officers, place
    return authority


def append(place: Place, kind: str, row: dict, prev: str | None = None,
           digest: str | None = None, signer=None) -> str:
    """Call `pbr_append` as the attacker's script would, through the role of `place`:
    the row numbered next, chained on the head with pbr's own canonical form, signed by
    `signer`; `prev` and `digest` forged when given. '' when recorded, else the error."""
    ledger = place.open()
    try:
        table = {"approval": "approvals", "run": "runs"}[kind]
        ref = int(ledger.db.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0])
        row = {"id": ref, **row, "signer": signer.text if signer else ""}
        head = ChainedStore.head(ledger)
        worked = ChainedStore._link(head.hash, kind, ChainedStore._row_content(kind, row))
        row["signature"] = signer.sign(RECORD + worked.encode()) if signer else ""
    finally:
        ledger.close()
    return place.error_of(
        "SELECT pbr_append('{}', '{}'::jsonb, '{}', '{}')".format(
            kind, json.dumps({"row": row}).replace("'", "''"), prev or head.hash,
            digest or worked))


def may_draft(authority: Authority) -> int:
    return next(m["run"] for m in authority.status()["months"] if m["month"] == "2013-05")


def test_a_script_calling_the_function_with_a_forged_link_is_refused(team):
    officer = team.place
    row = approval_row(may_draft(team), "2013-05", "J. Smith")
    smith = team.officers.signer("smith")
    found = append(officer, "approval", row, prev="0" * 64, signer=smith)
    assert "does not follow the head of the chain" in found
    found = append(officer, "approval", row, digest="1" * 64, signer=smith)
    assert "as stored is not the approval whose hash was given" in found
    found = append(officer, "approval", row)  # chained right, but unsigned after signed ones
    assert "an unsigned approval after signed records" in found
    found = append(officer, "approval", approval_row(1, "2013-05", "J. Smith"), signer=smith)
    assert "is not a run of" in found  # April's run approved as May
    assert officer.verify() == [] and team.pbr("run").exit_code == 0


def test_a_chained_approval_signed_by_an_unnamed_key_is_refused_by_verify(team):
    """What the function cannot know — whose keys count is in the officers' config — is
    `pbr ledger verify`'s: a correctly chained approval signed by mallory's key is recorded
    by the function, and then every command refuses the ledger, until the owner repairs it."""
    officer = team.place
    mallory = team.officers.signer("mallory", claimed="J. Smith")
    assert append(officer, "approval", approval_row(may_draft(team), "2013-05", "J. Smith"),
                  signer=mallory) == ""
    result = team.pbr("ledger", "verify")
    assert result.exit_code == 2 and "signed by a key the config's `keys` do not name" in result.output
    assert team.pbr("run").exit_code == 2
    # the officers' role cannot repair it: only the owner of the tables can
    refused = team.pbr("ledger", "repair", "--yes")
    assert refused.exit_code == 2 and "only the owner of its tables can" in refused.output
    owner = team.pbr("ledger", "repair", "--yes", "--ledger", team.owner.arg)
    assert owner.exit_code == 0, owner.output
    said = " ".join(owner.output.split())
    assert "approval 2 (birmingham-90-10 2013-05" in said and "The ledger verifies." in said
    assert team.pbr("run").exit_code == 0
    officers = team.officers
    officers.as_("smith")
    assert "error" not in team.approve("2013-05")


def test_repair_moves_a_forged_run_with_its_rows_and_its_approval(team):
    """The owner's forged May run (P2 paid £100,000 more, totals and fingerprint worked out as
    pbr does, chained, signed with mallory's key) and its approval: repair moves both
    records, their links and every row of the run, and the ledger is as it was."""
    from tests.test_signed_ledger import forged_run_and_approval

    officer = team.place
    before = officer.open()
    head, runs = before.head(), len(before.runs())
    counts = {t: before.count(t) for t in ("inputs", "lines", "adjustments")}
    before.close()
    team.place = team.owner
    forged_run_and_approval(team, team.officers.signer("mallory", claimed="J. Smith"))
    team.place = officer
    assert team.pbr("run").exit_code == 2
    result = team.process("ledger", "repair", "--yes", "--json", "--ledger", team.owner.arg)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["last_good"] == {"record": head.seq, "sha256": head.hash}
    assert "signed by a key the config's `keys` do not name" in data["why"]
    tables = {}
    with team.owner.raw() as db:
        for table, n in db.execute("SELECT from_table, count(*) FROM quarantine GROUP BY 1"):
            tables[table] = n
    assert tables["chain"] == 2 and tables["runs"] == 1 and tables["approvals"] == 1
    assert tables["lines"] > 0 and tables["inputs"] > 0
    after = officer.open()
    try:
        assert after.verify() == [] and after.head() == head and len(after.runs()) == runs
        assert {t: after.count(t) for t in counts} == counts
    finally:
        after.close()
    assert team.pbr("run").exit_code == 0


# -- 3. repair ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_repair_moves_an_owners_stray_row_to_quarantine_and_keeps_it(tmp_path, kind):
    """The owner (the SQLite file's, or the tables' in PostgreSQL) writes an approval row by
    hand: every run is refused. `pbr ledger repair` shows the last good record and the row;
    without a confirmation it moves nothing; with it the row is in the quarantine table as
    it was, with why, when and by whom, and the ledger verifies again."""
    authority = Authority(tmp_path / "council", place=Place.new(kind, tmp_path)
                          if kind != "sqlite" else None)
    place = authority.place
    for month in ("2013-04", "2013-05"):
        authority.month(month)
    assert authority.pbr("run").exit_code == 0
    authority.approve("2013-04")
    ledger = place.open()
    head = ledger.head()
    ledger.close()
    may = may_draft(authority)
    row = {"id": 2, **approval_row(may, "2013-05", "J. Smith")}
    with place.raw() as db:  # no triggers taken away: an INSERT, as the owner may
        db.execute(f"INSERT INTO approvals ({', '.join(row)}) VALUES ("
                   + ", ".join(f"'{v}'" if isinstance(v, str) else str(v) for v in row.values())
                   + ")")
    refused = authority.pbr("run")
    assert refused.exit_code == 2 and "approval 2 is not in the chain" in refused.output
    assert "the ledger's owner moves them aside with `pbr ledger repair`" in " ".join(
        refused.output.split())

    shown = authority.process("ledger", "repair", "--config", str(authority.config))
    assert shown.returncode == 2, shown.stderr
    said = " ".join(shown.stdout.split())
    assert f"the last good record is record {head.seq}" in said
    assert (f"approval 2 (birmingham-90-10 2013-05, run {may}, approved by 'J. Smith' at "
            "2013-06-02T09:00:00Z, unsigned): not in the chain (added outside pbr)") in said
    assert "Nothing was moved (not confirmed" in said
    assert place.verify() != []

    done = authority.process("ledger", "repair", "--yes", "--json", "--config",
                             str(authority.config))
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["repaired"] and data["problems"] == [] and data["rows"] == 1
    assert set(data) == {"schema", "ledger", "last_good", "why", "moved", "rows", "repaired",
                         "problems"}  # as docs/json.md says
    assert place.verify() == []
    with place.raw() as db:
        kept = db.execute("SELECT after_record, after_hash, from_table, content, reason, "
                          "moved_by FROM quarantine").fetchall()
    assert len(kept) == 1
    after, after_hash, table, content, reason, by = kept[0]
    assert (after, after_hash, table) == (head.seq, head.hash, "approvals")
    assert json.loads(content)["approved_by"] == "J. Smith" and "outside pbr" in reason and by
    assert "repaired: 1 row(s) after record" in authority.log.read_text()
    # the quarantine is append-only too
    assert "append-only" in place.error_of("DELETE FROM quarantine")
    again = authority.process("ledger", "repair", "--config", str(authority.config))
    assert again.returncode == 0 and "nothing to move" in again.stdout
    assert authority.pbr("run").exit_code == 0
    assert "error" not in authority.approve("2013-05")


def test_repair_leaves_records_the_log_saw_and_says_to_restore(tmp_path):
    """A record pbr recorded, changed afterwards: the chain breaks before records this
    folder's log saw, so they are not stray rows; repair moves nothing and says to restore."""
    authority = Authority(tmp_path / "council")
    for month in ("2013-04", "2013-05"):
        authority.month(month)
    assert authority.pbr("run").exit_code == 0
    authority.place.tamper("UPDATE runs SET payment = '1.00' WHERE id = 1")
    result = authority.process("ledger", "repair", "--yes", "--config", str(authority.config))
    assert result.returncode == 2
    assert "pbr recorded record 2" in result.stderr and "Restore the ledger from a copy" in result.stderr
    assert authority.place.runs() == 2


# -- 4. a draft left in another folder ----------------------------------------------------------

def test_a_month_approved_in_one_folder_leaves_no_draft_in_another(tmp_path):
    """Alice and Bob each keep a folder against one ledger; both draft April; Alice approves
    it. Bob's folder kept `…-2013-04-draft.xlsx` for a month already paid: on Bob's next run
    it is gone (it is a draft the ledger recorded for the month)."""
    place = Place.new("postgresql", tmp_path)
    alice, bob = (Authority(tmp_path / name, place=place) for name in ("alice", "bob"))
    for officer in (alice, bob):
        officer.month("2013-04")
        assert officer.process("run").returncode == 0
    draft = Path("out", SCHEME, f"{SCHEME}-2013-04-draft.xlsx")
    assert (bob.root / draft).is_file()
    run = next(m["run"] for m in alice.status()["months"] if m["month"] == "2013-04")
    approved = alice.process("approve", "-m", SCHEME, "-p", "2013-04", "--run", str(run),
                             "--by", "A. Officer")
    assert approved.returncode == 0, approved.stderr
    assert not (alice.root / draft).exists()
    assert (bob.root / draft).is_file()  # the finding: left behind
    bob.month("2013-05")
    done = bob.process("run")
    assert done.returncode == 0, done.stderr
    assert not (bob.root / draft).exists()
    assert (f"{SCHEME} 2013-04: approved elsewhere (run {run}, by A. Officer); its draft "
            f"{draft} removed") in bob.log.read_text()
    assert (bob.root / "out" / SCHEME / f"{SCHEME}-2013-05-draft.xlsx").is_file()


def test_a_file_of_a_drafts_name_that_pbr_did_not_record_is_left_alone(tmp_path):
    place = Place.new("postgresql", tmp_path)
    alice, bob = (Authority(tmp_path / name, place=place) for name in ("alice", "bob"))
    alice.month("2013-04")
    bob.month("2013-04")
    assert alice.process("run").returncode == 0
    mine = bob.root / "out" / SCHEME / f"{SCHEME}-2013-04-draft.xlsx"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"an officer's own notes")
    run = next(m["run"] for m in alice.status()["months"] if m["month"] == "2013-04")
    assert alice.process("approve", "-m", SCHEME, "-p", "2013-04", "--run", str(run), "--by",
                         "A. Officer").returncode == 0
    assert bob.process("run").returncode == 0
    assert mine.read_bytes() == b"an officer's own notes"
    assert "is not a draft the ledger recorded: left as it is" in bob.log.read_text()


# -- 5. setting up, and a ledger set up by an earlier pbr ----------------------------------------

def test_ledger_init_on_a_database_prints_the_grants(tmp_path):
    place = Place.new("postgresql", tmp_path)
    authority = Authority(tmp_path / "council", place=place)
    result = authority.pbr("ledger", "init")
    assert result.exit_code == 0, result.output
    assert officer_grants("pbr_officer", place.schema) in result.output


def test_a_ledger_of_an_earlier_pbr_is_brought_up_to_date_by_its_owner(tmp_path):
    """A ledger made before the function: its officers' role had INSERT. The officer's pbr
    is refused, saying what the owner does; the owner's `pbr ledger verify` makes the
    function, the documented REVOKE and GRANTs take INSERT back, and the officer records."""
    place = Place.new("postgresql", tmp_path)
    officer = officer_of(place)
    with place.raw() as db:  # as an earlier pbr left it
        db.execute(f"DROP FUNCTION {place.schema}.pbr_append(text, jsonb, text, text)")
        db.execute(f"DELETE FROM {place.schema}.meta WHERE key = 'write_functions'")
        db.execute(f"GRANT INSERT ON ALL TABLES IN SCHEMA {place.schema} TO "
                   + officer.arg.split("//")[1].split("@")[0])
    authority = Authority(tmp_path / "council", place=officer)
    authority.month("2013-04")
    refused = authority.pbr("run")
    assert refused.exit_code == 2
    assert "run `pbr ledger verify` once as the owner" in " ".join(refused.output.split())
    assert authority.pbr("ledger", "verify", "--ledger", place.arg).exit_code == 0
    role = officer.arg.split("//")[1].split("@")[0]
    with place.raw() as db:
        db.execute(officer_grants(role, place.schema))
    assert "permission denied" in officer.error_of("INSERT INTO meta VALUES ('x', 'y')")
    assert authority.pbr("run").exit_code == 0
    assert officer.verify() == [] and officer.runs() == 1
