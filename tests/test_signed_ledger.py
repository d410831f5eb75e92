"""Signed records: a record forged by someone who can write the ledger — correctly chained
with pbr's own canonical form, and signed with a key of the forger's own — is refused by
every command that opens the ledger, in SQLite and in PostgreSQL; the officers' keys, the
automatic approval's signature, and a signed statement of the head kept outside the ledger.

The attacker here knows the design: `forge` reads the head, builds the row, works out its
chain hash with pbr_cli/ledger/chain.py and signs it, as a script with INSERT on the ledger
could."""

from __future__ import annotations

import os
import stat
from decimal import Decimal

import pytest

from pbr_cli.ledger.chain import ChainedStore
from pbr_cli.ledger.keys import new_key
from pbr_cli.ledger.records import WorkedOut, fingerprint
from pbr_cli.ledger.signing import RECORD, Signer, signer_text
from tests.ledger_places import Place
from tests.test_cycle import SCHEME, Authority

OFFICERS = {"smith": "J. Smith", "drafter": "D. Drafter", "clerk": "C. Clerk",
            "mallory": None}  # mallory's key is named nowhere


class Officers:
    """Each officer's own keys folder and key; `as_(name)` makes them the one running pbr."""

    def __init__(self, tmp_path, monkeypatch):
        self.monkeypatch, self.folders, self.keys = monkeypatch, {}, {}
        for who in OFFICERS:
            folder = tmp_path / f"keys-{who}"
            monkeypatch.setenv("PBR_KEYS", str(folder))
            self.folders[who] = folder
            self.keys[who] = new_key(who)
        monkeypatch.delenv("PBR_KEY", raising=False)

    def as_(self, who: str) -> None:
        self.monkeypatch.setenv("PBR_KEYS", str(self.folders[who]))

    def signer(self, who: str, claimed: str | None = None) -> Signer:
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
            load_pem_private_key,
        )

        key = load_pem_private_key(self.keys[who].path.read_bytes(), password=None)
        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return Signer(claimed or OFFICERS[who] or who, raw, self.keys[who].public)


def signed_config(authority: Authority, officers: Officers, approval: str = "manual",
                  approvers: tuple[str, ...] = ("J. Smith", "D. Drafter"),
                  four_eyes: bool = True) -> None:
    keys = ", ".join(f'"{name}": "{officers.keys[who].public}"'
                     for who, name in OFFICERS.items() if name)
    lines = [ln for ln in authority.config.read_text().splitlines()
             if not ln.startswith(("schemes:", f"  {SCHEME}:", "keys:"))]
    settings = [f"approval: {approval}", f"approvers: [{', '.join(map(repr, approvers))}]"]
    if four_eyes:
        settings.append("four_eyes: true")
    lines += [f"keys: {{{keys}}}", "schemes:", f"  {SCHEME}: {{{', '.join(settings)}}}"]
    authority.config.write_text("\n".join(lines).replace("'", '"') + "\n")


@pytest.fixture(params=["sqlite", "postgresql"])
def signed(request, tmp_path, monkeypatch):
    """April approved by J. Smith (drafted by D. Drafter), May drafted by D. Drafter: every
    record signed."""
    monkeypatch.delenv("PBR_LEDGER", raising=False)
    monkeypatch.delenv("PBR_CONFIG", raising=False)
    officers = Officers(tmp_path, monkeypatch)
    authority = Authority(tmp_path / "council")
    if request.param != "sqlite":
        authority.use(Place.new(request.param, tmp_path))
    signed_config(authority, officers)
    for month in ("2013-04", "2013-05"):
        authority.month(month)
    officers.as_("drafter")
    assert authority.pbr("run").exit_code == 0
    officers.as_("smith")
    approved = authority.approve("2013-04")
    assert "error" not in approved, approved
    officers.as_("drafter")
    assert authority.pbr("run").exit_code == 0
    assert authority.pbr("ledger", "verify").exit_code == 0
    authority.officers = officers
    return authority


# -- the attacker's script ----------------------------------------------------------------------
def forge(place: Place, kind: str, row: dict, parts: tuple | None = None,
          signer: Signer | None = None) -> int:
    """Append a record as someone with INSERT on the ledger can: numbered after the last,
    chained after the head with pbr's own canonical form, signed with `signer`'s key."""
    ledger = place.open()
    db = ledger.db
    table = {"run": "runs", "approval": "approvals"}[kind]
    try:
        db.begin_write()
        ref = int(db.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0])
        row = {"id": ref, **row, "signer": signer.text if signer else ""}
        head = ChainedStore.head(ledger)
        content = (ChainedStore._run_content((row, *parts)) if parts is not None
                   else ChainedStore._row_content(kind, row))
        digest = ChainedStore._link(head.hash, kind, content)
        row["signature"] = signer.sign(RECORD + digest.encode()) if signer else ""
        db.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES "
                   f"({', '.join('?' * len(row))})", list(row.values()))
        for name, rows in zip(("inputs", "lines", "adjustments"), parts or (), strict=False):
            width = len(rows[0]) + 1 if rows else 0
            columns = {"inputs": "role, file, sha256, provider, period, used",
                       "lines": "provider, entry, groups, component, kind, amount",
                       "adjustments": "month, provider, component, previous, now, "
                                      "difference, reason"}[name]
            for r in rows:
                db.execute(f"INSERT INTO {name} (run_id, {columns}) VALUES "
                           f"({', '.join('?' * width)})", (ref, *r))
        db.execute("INSERT INTO chain (seq, kind, ref, prev, hash) VALUES (?, ?, ?, ?, ?)",
                   (head.seq + 1, kind, ref, head.hash, digest))
        db.commit()
    finally:
        ledger.close()
    return ref


def _draft(place: Place, period: str) -> dict:
    ledger = place.open()
    try:
        run = ledger.latest_run(SCHEME, period)
        assert run is not None
        row = ledger.db.execute("SELECT * FROM runs WHERE id = ?", (run.id,)).fetchone()
        return {k: row[k] for k in row.keys() if k not in ("id", "signer", "signature")}
    finally:
        ledger.close()


def approval_row(run_id: int, period: str, by: str) -> dict:
    return {"run_id": run_id, "model": SCHEME, "period": period, "approved_by": by,
            "approved_at": "2013-06-02T09:00:00Z", "draft_sha256": "", "schedule": "",
            "schedule_sha256": "", "how": "approved"}


def forged_approval(authority: Authority, signer: Signer | None = None) -> None:
    """May's current draft approved "by J. Smith"."""
    run_id = authority.status()["months"][1]["run"]
    forge(authority.place, "approval", approval_row(run_id, "2013-05", "J. Smith"),
          signer=signer)


def forged_run_and_approval(authority: Authority, signer: Signer) -> None:
    """A May run paying P2 £100,000 more, totals and fingerprint worked out as pbr does, and
    its approval."""
    place = authority.place
    row = _draft(place, "2013-05")
    ledger = place.open()
    try:
        draft = ledger.latest_run(SCHEME, "2013-05")
        inputs = ledger.db.plain("SELECT role, file, sha256, provider, period, used FROM "
                                 "inputs WHERE run_id = ? ORDER BY rowid", (draft.id,))
        lines = ledger.db.plain("SELECT provider, entry, groups, component, kind, amount FROM "
                                "lines WHERE run_id = ? ORDER BY rowid", (draft.id,))
    finally:
        ledger.close()
    at = next(i for i, ln in enumerate(lines) if ln[0] == "P2" and ln[4] == "payment")
    more = Decimal("100000.00")
    lines[at] = (*lines[at][:5], str(Decimal(lines[at][5]) + more))
    row["entitlement"] = str(Decimal(row["entitlement"]) + more)
    row["payment"] = str(Decimal(row["payment"]) + more)
    row["fingerprint"] = fingerprint(WorkedOut(row["model_sha256"], row["register_sha256"],
                                               row["tool_version"], row["period"], row["basis"]),
                                     [(i[0], i[2], i[3], i[4], bool(i[5])) for i in inputs],
                                     lines, [])
    run_id = forge(place, "run", row, (inputs, lines, []), signer)
    forge(place, "approval", approval_row(run_id, "2013-05", "J. Smith"), signer=signer)


def resigned_head(authority: Authority, signer: Signer) -> None:
    """The last record (May's draft) re-signed with another key, its chain hash rewritten to
    match: the triggers taken away, as the file's owner or the database's owner can."""
    place = authority.place
    ledger = place.open()
    try:
        head = ledger.head()
        link = ledger.db.execute("SELECT kind, ref, prev FROM chain WHERE seq = ?",
                                 (head.seq,)).fetchone()
        parts = ledger._parts(link["ref"])
        row = dict(parts[0]) | {"signer": signer.text}
        digest = ChainedStore._link(link["prev"], "run",
                                    ChainedStore._run_content((row, *parts[1:])))
    finally:
        ledger.close()
    signature = signer.sign(RECORD + digest.encode())
    place.tamper(f"UPDATE runs SET signer = '{signer.text}', signature = '{signature}' WHERE "
                 f"id = {link['ref']}",
                 f"UPDATE chain SET hash = '{digest}' WHERE seq = {head.seq}")


ATTACKS = {
    "forged approval, unsigned": (
        lambda a: forged_approval(a), "is not signed"),
    "forged approval, the forger's key": (
        lambda a: forged_approval(a, a.officers.signer("mallory", "J. Smith")),
        "do not name for J. Smith"),
    "forged run paying P2 +£100,000 and its approval": (
        lambda a: forged_run_and_approval(a, a.officers.signer("mallory", "J. Smith")),
        "do not name for J. Smith"),
    "a record re-signed with an unknown key": (
        lambda a: resigned_head(a, a.officers.signer("mallory", "Mallory")),
        "do not name for Mallory"),
    "an approval by a key not allowed for the scheme": (
        lambda a: forged_approval(a, a.officers.signer("clerk")),
        "C. Clerk is not among"),
    "a second approval by the drafting officer (four eyes)": (
        lambda a: forged_approval(a, a.officers.signer("drafter")),
        "also signed the draft"),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_forged_record_is_refused_by_every_command(signed, attack, tmp_path):
    make, said = ATTACKS[attack]
    may = str(signed.status()["months"][1]["run"])
    make(signed)
    signed.officers.as_("smith")
    verify = signed.pbr("ledger", "verify")
    text = " ".join(verify.output.split())
    assert verify.exit_code == 2 and said in text, text
    for args in (("run",), ("report", "-m", SCHEME, "-p", "2013-04"),
                 ("approve", "-m", SCHEME, "-p", "2013-05", "--run", may),
                 ("statements", "-m", SCHEME, "-p", "2013-04", "-o", str(tmp_path / "s")),
                 ("report", "-m", SCHEME, "-p", "2013-04", "--publish"),
                 ("calculate", "-m", SCHEME, "-p", "2013-05", "--dry-run"),
                 ("forecast", "-m", SCHEME, "--no-budget", "--simulations", "10")):
        result = signed.pbr(*args)
        out = " ".join(result.output.split())
        assert result.exit_code == 2 and "does not verify" in out and said in out, (args, out)


def test_the_forgery_is_accepted_where_the_config_names_no_keys(signed):
    """The finding as it was: without `keys` a correctly chained forged approval verifies —
    and `ledger verify` says the records are not checked."""
    lines = [ln for ln in signed.config.read_text().splitlines() if not ln.startswith("keys:")]
    signed.config.write_text("\n".join(lines).replace(
        ', approvers: ["J. Smith", "D. Drafter"], four_eyes: true', "") + "\n")
    forged_approval(signed)
    verify = signed.pbr("ledger", "verify")
    text = " ".join(verify.output.split())
    assert verify.exit_code == 0 and "unsigned: anyone who can write it can add one" in text


def test_signed_records_name_their_signers(signed):
    ledger = signed.place.open()
    try:
        signers = [ledger.signer_of(kind, ref) for kind, ref in ledger.db.execute(
            "SELECT kind, ref FROM chain ORDER BY seq").fetchall()]
        approval = ledger.approval_of(SCHEME, "2013-04")
    finally:
        ledger.close()
    assert signers == ["D. Drafter", "D. Drafter", "J. Smith", "D. Drafter"]
    assert approval is not None and approval.approved_by == "J. Smith"


def test_approve_refuses_a_key_not_allowed_and_the_drafter(signed):
    may = str(signed.status()["months"][1]["run"])
    for who, said in (("clerk", "C. Clerk is not among"), ("drafter", "four eyes")):
        signed.officers.as_(who)
        result = signed.pbr("approve", "-m", SCHEME, "-p", "2013-05", "--run", may)
        assert result.exit_code == 2 and said in " ".join(result.output.split())
    signed.officers.as_("smith")
    assert signed.pbr("approve", "-m", SCHEME, "-p", "2013-05", "--run", may).exit_code == 0


def test_recording_without_a_key_is_refused_before_anything_is_written(signed, tmp_path,
                                                                       monkeypatch):
    monkeypatch.setenv("PBR_KEYS", str(tmp_path / "nobody"))
    signed.month("2013-06")
    before = signed.place.runs()
    result = signed.pbr("run")
    assert result.exit_code == 2 and "pbr keys new" in result.output
    assert signed.place.runs() == before
    assert not (signed.root / "out" / SCHEME / f"{SCHEME}-2013-06-draft.xlsx").exists()


def test_keys_are_the_officers_alone_and_never_written_over(tmp_path, monkeypatch):
    monkeypatch.setenv("PBR_KEYS", str(tmp_path / "keys"))
    from pbr_cli.cli.app import app
    from tests.test_cycle import runner

    made = runner.invoke(app, ["keys", "new", "J Smith"])
    assert made.exit_code == 0 and "ed25519:" in made.output
    path = tmp_path / "keys" / "J Smith.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()
    again = runner.invoke(app, ["keys", "new", "J Smith"])
    assert again.exit_code == 2 and path.read_bytes() == before
    os.symlink(tmp_path / "elsewhere.key", tmp_path / "keys" / "link.key")
    linked = runner.invoke(app, ["keys", "new", "link"])
    assert linked.exit_code == 2 and not (tmp_path / "elsewhere.key").exists()
    assert "symbolic link" in runner.invoke(app, ["keys", "list"]).output
    (tmp_path / "keys" / "link.key").unlink()
    listed = runner.invoke(app, ["keys", "list"])
    assert "J Smith" in listed.output
    path.chmod(0o644)
    monkeypatch.setenv("PBR_KEY", "J Smith")
    from pbr_cli.errors import PbrError
    from pbr_cli.ledger.keys import chosen_key

    with pytest.raises(PbrError, match="read by others"):
        chosen_key()


def test_a_config_with_a_bad_key_is_refused(tmp_path):
    authority = Authority(tmp_path / "council")
    authority.config.write_text(authority.config.read_text()
                                + 'keys: {"J. Smith": "ed25519:c2hvcnQ="}\n')
    result = authority.pbr("ledger", "status")
    assert result.exit_code == 2 and "keys: J. Smith" in result.output and "32 bytes" in \
        result.output


def test_automatic_approval_is_signed_by_the_running_key_and_marked(tmp_path, monkeypatch):
    monkeypatch.delenv("PBR_LEDGER", raising=False)
    officers = Officers(tmp_path, monkeypatch)
    authority = Authority(tmp_path / "council")
    signed_config(authority, officers, approval="automatic", approvers=("J. Smith",),
                  four_eyes=False)
    authority.month("2013-04")
    officers.as_("drafter")  # named in keys, not an approver of the scheme
    refused = authority.pbr("run")
    assert refused.exit_code == 2 and "D. Drafter is not among" in refused.output
    officers.as_("smith")
    assert authority.pbr("run").exit_code == 0
    ledger = authority.place.open()
    try:
        approval = ledger.approval_of(SCHEME, "2013-04")
        assert approval is not None and approval.how == "automatic"
        assert ledger.signer_of("approval", approval.id) == "J. Smith"
    finally:
        ledger.close()
    assert authority.pbr("ledger", "verify").exit_code == 0


def test_a_statement_of_the_head_anchors_the_ledger(signed, tmp_path):
    stated = signed.pbr("ledger", "head")
    assert stated.exit_code == 0 and "signer: D. Drafter <ed25519:" in stated.output
    statement = tmp_path / "head.txt"
    statement.write_text(stated.output)
    kept = signed.place.copy(tmp_path)  # a copy of the ledger as it is now
    ok = signed.pbr("ledger", "verify", "--against", str(statement))
    assert ok.exit_code == 0, ok.output
    changed = tmp_path / "changed.txt"
    record = int(stated.output.split("record: ")[1].split()[0])
    changed.write_text(stated.output.replace(f"record: {record}", f"record: {record - 1}"))
    forged = signed.pbr("ledger", "verify", "--against", str(changed))
    assert forged.exit_code == 2 and "changed after signing" in " ".join(forged.output.split())
    signed.officers.as_("smith")
    signed.approve("2013-05")  # a record more, then the ledger cut back to the copy
    later = tmp_path / "later.txt"
    later.write_text(signed.pbr("ledger", "head").output)
    signed.place.replace_with(kept)
    for log in signed.log.parent.glob("pbr.log*"):
        log.unlink()  # whoever cut the ledger short rewrote the log too
    cut = signed.pbr("ledger", "verify", "--against", str(later))
    text = " ".join(cut.output.split())
    assert cut.exit_code == 2 and f"ends at record {record}" in text and "cut short" in text


def test_signer_text_round_trips():
    from pbr_cli.ledger.signing import parse_signer

    assert parse_signer(signer_text("J. Smith", "ed25519:AAAA")) == ("J. Smith", "ed25519:AAAA")
    assert parse_signer("no key here") is None
