"""A statement of the ledger's head, signed by an officer, kept or mailed outside the
ledger: `pbr ledger head` writes one, `pbr ledger verify --against FILE` checks that the
ledger still holds that record with that hash. Whoever can rewrite the ledger (and its log)
cannot rewrite a statement kept elsewhere, so a ledger cut short or rebuilt after it is
found.

A statement is a few lines of text, the last one its signature over those before it:

    pbr ledger head statement
    ledger: 5d0c...
    record: 57
    sha256: 9f2a...
    stated: 2025-05-03T06:00:00Z
    signer: J. Smith <ed25519:...>
    signature: <base64>
"""

from __future__ import annotations

from dataclasses import dataclass

from pbr_cli.errors import PbrError
from pbr_cli.ledger.records import Head
from pbr_cli.ledger.signing import (
    STATEMENT,
    Signer,
    Trust,
    parse_signer,
    signature_ok,
    statement_body,
)

TITLE = "pbr ledger head statement"
FIELDS = ("ledger", "record", "sha256", "stated", "signer")


@dataclass(frozen=True)
class Statement:
    ledger: str  # the ledger's own id (its meta `ledger_id`)
    head: Head
    stated: str
    signer: str  # `NAME <ed25519:...>`
    signature: str

    def body(self) -> bytes:
        return TITLE.encode() + b"\n" + statement_body({
            "ledger": self.ledger, "record": self.head.seq, "sha256": self.head.hash,
            "stated": self.stated, "signer": self.signer})

    def text(self) -> str:
        return self.body().decode() + f"signature: {self.signature}\n"


def state_head(ledger_id: str, head: Head, at: str, signer: Signer) -> Statement:
    unsigned = Statement(ledger_id, head, at, signer.text, "")
    return Statement(ledger_id, head, at, signer.text, signer.sign(STATEMENT + unsigned.body()))


def read_statement(text: str, where: str) -> Statement:
    """A statement as `pbr ledger head` wrote it; refused (exit 2) otherwise."""
    lines = text.strip().splitlines()
    fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    if not lines or lines[0].strip() != TITLE or any(
            k not in fields for k in (*FIELDS, "signature")):
        raise PbrError(f"{where} is not a statement of a ledger's head as `pbr ledger head` "
                       "writes it", code="bad-statement")
    record = fields["record"]
    if not record.isdigit():
        raise PbrError(f"{where}: record {record[:20]!r} is not a number", code="bad-statement")
    return Statement(fields["ledger"], Head(int(record), fields["sha256"]), fields["stated"],
                     fields["signer"], fields["signature"])


def statement_refused(s: Statement, trust: Trust) -> str | None:
    """Why a statement is not one of the config's officers' (None: it is)."""
    parsed = parse_signer(s.signer)
    if parsed is None:
        return f"its signer {s.signer[:60]!r} is not a name and a key"
    name, public = parsed
    if trust.key_of(name, public) is None:
        return f"it is signed by a key the config's `keys` do not name for {name}"
    if not signature_ok(public, STATEMENT + s.body(), s.signature):
        return f"its signature is not {name}'s over what it says (it was changed after signing)"
    return None
