"""Who may sign the ledger's records, and whether a record's signature says it was made by
one of them (docs/payment-cycle.md, "Signed records").

A run, an approval or a publication is signed with an officer's Ed25519 key over its chain
hash, and names its signer — name and public key, `J. Smith <ed25519:...>` — inside the
content the hash covers, so that neither the signer nor the figures can be swapped. The
config says whose keys count (`keys`), who may approve each scheme's months (`approvers`)
and where the approver must not be the officer who drafted the month (`four_eyes`): that is
a `Trust`. `check` walks the chain's signed kinds of record and names what does not hold.

The signature itself needs the `cryptography` package, imported only when a key is used.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

PREFIX = "ed25519:"
SIGNED_KINDS = ("run", "approval", "publication", "sample", "verdicts")
RECORD = b"pbr ledger record\n"  # what a record's signature is over, before its chain hash
STATEMENT = b"pbr ledger head statement\n"  # and a statement of the head's


def public_bytes(text: str) -> bytes:
    """The 32 raw bytes of a public key written `ed25519:<base64>`; ValueError otherwise."""
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise ValueError(f"a public key is written {PREFIX}<base64 of its 32 bytes>")
    try:
        raw = base64.b64decode(text[len(PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("its base64 is not valid") from None
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, not {len(raw)}")
    return raw


def public_text(raw: bytes) -> str:
    return PREFIX + base64.b64encode(raw).decode()


@dataclass(frozen=True)
class NamedKey:
    """A public key the config names for a person; `until`: the last record it may sign
    (a key retired or revoked: what it signed up to then stands)."""

    public: str
    until: int | None = None


@dataclass(frozen=True)
class Trust:
    """Whose signatures count, from the config. With no keys, nothing is signed or checked."""

    keys: dict[str, tuple[NamedKey, ...]] = field(default_factory=dict)
    approvers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # scheme -> names
    four_eyes: frozenset[str] = frozenset()  # schemes whose approver is not the drafter

    @property
    def on(self) -> bool:
        return bool(self.keys)

    def name_of(self, public: str) -> str | None:
        """The name the config gives a public key (None when it names it nowhere)."""
        for name, keys in self.keys.items():
            if any(k.public == public and k.until is None for k in keys):
                return name
        return None

    def key_of(self, name: str, public: str) -> NamedKey | None:
        return next((k for k in self.keys.get(name, ()) if k.public == public), None)

    def approval_refused(self, model: str, name: str, drafter: str | None) -> str | None:
        """Why `name` may not approve a month of `model` drafted by `drafter` (None: may)."""
        if name not in self.approvers.get(model, ()):
            allowed = ", ".join(self.approvers.get(model, ())) or "nobody: the config names none"
            return f"{name} is not among {model}'s approvers ({allowed})"
        if model in self.four_eyes and drafter == name:
            return (f"{name} also signed the draft, and {model} needs four eyes (its approver "
                    "is not the officer who calculated it)")
        return None


def signer_text(name: str, public: str) -> str:
    """How a record names its signer: `J. Smith <ed25519:...>`."""
    return f"{name} <{public}>"


def parse_signer(text: str) -> tuple[str, str] | None:
    """(name, public key) of a record's signer, or None when it is not written as pbr
    writes it."""
    name, sep, rest = text.rpartition(" <")
    if not sep or not name or not rest.endswith(">"):
        return None
    return name, rest[:-1]


@dataclass(frozen=True)
class Signer:
    """An officer's private key, and the name the config gives its public part."""

    name: str
    private: bytes  # the 32 raw bytes of the Ed25519 private key
    public: str

    @property
    def text(self) -> str:
        return signer_text(self.name, self.public)

    def sign(self, message: bytes) -> str:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        key = Ed25519PrivateKey.from_private_bytes(self.private)
        return base64.b64encode(key.sign(message)).decode()

    def sign_record(self, chain_hash: str) -> str:
        return self.sign(RECORD + chain_hash.encode())


def signature_ok(public: str, message: bytes, signature: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = Ed25519PublicKey.from_public_bytes(public_bytes(public))
        key.verify(base64.b64decode(signature, validate=True), message)
    except (ValueError, binascii.Error, InvalidSignature):
        return False
    return True


@dataclass(frozen=True)
class SignedRecord:
    """One record of a signed kind, as `check` reads it from the chain."""

    seq: int
    kind: str
    ref: int
    hash: str
    signer: str
    signature: str
    model: str = ""  # an approval's scheme
    drafter: str | None = None  # an approval's run's signer's name

    @property
    def where(self) -> str:
        return f"record {self.seq} ({self.kind} {self.ref})"


def signer_name(text: str) -> str | None:
    parsed = parse_signer(text) if text else None
    return parsed[0] if parsed else None


def check(records: Iterable[SignedRecord], trust: Trust) -> list[str]:
    """What does not hold, record by record: from the first signed record on, every run,
    approval and publication is signed, by a key the config names for its signer, over its
    own chain hash; an approval by one of the scheme's approvers (four eyes where set). A
    key with `until` signs nothing after that record; what it signed up to then stands."""
    return [said for _, said in check_records(records, trust)]


def check_records(records: Iterable[SignedRecord], trust: Trust) -> list[tuple[int, str]]:
    """What `check` says, each with the position of the record it is about."""
    found: list[tuple[int, str]] = []
    first: int | None = None
    for r in records:
        if not r.signer:
            if trust.on and first is not None:
                found.append((r.seq, f"{r.where}: it is not signed, though record {first} "
                              "before it is: added by someone who can write the ledger but "
                              "holds no key the config names"))
            continue
        first = first if first is not None else r.seq
        if trust.on:
            problem = _one(r, trust)
            if problem:
                found.append((r.seq, f"{r.where}: {problem}"))
    return found


def _one(r: SignedRecord, trust: Trust) -> str | None:
    parsed = parse_signer(r.signer)
    if parsed is None:
        return f"its signer {r.signer[:60]!r} is not a name and a key"
    name, public = parsed
    key = trust.key_of(name, public)
    if key is None:
        return (f"it is signed by a key the config's `keys` do not name for {name} "
                f"({public[:20]}...)")
    if key.until is not None and r.seq > key.until:
        return f"it is signed by {name}'s key, which the config retires after record {key.until}"
    if not signature_ok(public, RECORD + r.hash.encode(), r.signature):
        return f"its signature is not {name}'s over its content (made with another key)"
    if r.kind == "approval" and key.until is None:
        return trust.approval_refused(r.model, name, r.drafter)
    return None


def statement_body(fields: dict[str, Any]) -> bytes:
    """The lines of a head statement that its signature covers."""
    return "".join(f"{k}: {v}\n" for k, v in fields.items()).encode()
