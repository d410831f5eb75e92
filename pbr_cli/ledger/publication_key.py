"""The authority's publication key (docs/publication.md, "One key per authority"): one secret
per council, in a key file outside every ledger, that every record key of every publication
is made under. The config names it (`publication_key: PATH`), or $PBR_PUBLICATION_KEY does;
`pbr publication key new PATH` makes it, once.

A key file is text, readable by its owner alone, never written over:

    # pbr publication key: keep it secret, back it up, and never make another for the
    # same authority (docs/publication.md).
    authority: Northtown Council
    fingerprint: 1a2b 3c4d 5e6f 7a8b
    key: <64 hex digits>

A ledger made before key files kept a key per scheme; with no key file named it is read as
the authority's key, and `pbr publication key export` writes it to a key file.

No Excel, no Typer, no rich.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from pbr_cli.errors import PbrError

ENV = "PBR_PUBLICATION_KEY"
_HEAD = ("# pbr publication key: keep it secret, back it up, and never make another for the\n"
         "# same authority (docs/publication.md).\n")


def fingerprint(key: bytes) -> str:
    """A key's fingerprint: shown on every release and recorded, never the key."""
    h = hashlib.sha256(b"pbr publication key fingerprint\x00" + key).hexdigest()[:16]
    return " ".join(h[i:i + 4] for i in range(0, 16, 4))


@dataclass(frozen=True)
class AuthorityKey:
    key: bytes
    authority: str
    path: Path | None  # None: a scheme's key read from a ledger made before key files

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)


def write_key_file(path: Path, authority: str, key: bytes | None = None) -> AuthorityKey:
    """Write a key file (a new key, or `key`: one exported from a ledger); never over one
    that exists."""
    if not authority.strip() or "\n" in authority:
        raise PbrError("a publication key needs the authority's name on one line, e.g. "
                       "--authority \"Northtown Council\"", code="usage")
    made = AuthorityKey(key if key is not None else secrets.token_bytes(32), authority.strip(),
                        path)
    text = (f"{_HEAD}authority: {made.authority}\nfingerprint: {made.fingerprint}\n"
            f"key: {made.key.hex()}\n")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise PbrError(f"{path} exists: a publication key is never written over (the "
                       "authority's releases are rounded with it). Name it in the config "
                       "(publication_key) or choose another path", code="usage") from None
    except OSError as exc:
        raise PbrError(f"cannot write {path}: {exc.strerror}", code="usage") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return made


def read_key_file(path: Path) -> AuthorityKey:
    """The authority's key from its file; a missing or damaged file is refused, never made
    again."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PbrError(f"the publication key file {path} is not there: restore it from its "
                       "backup. A new key would round the authority's published months "
                       "afresh; `pbr publication key new` is for an authority that never "
                       "published", code="bad-config") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PbrError(f"cannot read the publication key file {path}: {exc}",
                       code="bad-config") from None
    fields = {}
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            name, sep, value = line.partition(":")
            if not sep or name.strip() not in ("authority", "fingerprint", "key"):
                raise PbrError(f"{path}:{n}: expected authority, fingerprint or key, as "
                               "`pbr publication key new` writes them", code="bad-config")
            fields[name.strip()] = value.strip()
    try:
        key = bytes.fromhex(fields.get("key", ""))
    except ValueError:
        key = b""
    if len(key) != 32:
        raise PbrError(f"{path}: its key is not 64 hex digits (the file is damaged: restore "
                       "it from its backup)", code="bad-config")
    made = AuthorityKey(key, fields.get("authority", ""), path)
    if fields.get("fingerprint", made.fingerprint) != made.fingerprint:
        raise PbrError(f"{path}: its key does not match its fingerprint "
                       f"{fields['fingerprint']} (the file is damaged: restore it from its "
                       "backup)", code="bad-config")
    return made


def authority_key(named: Path | None, ledger_key: bytes | None) -> AuthorityKey:
    """The key a publication is rounded with: the key file the config (or
    $PBR_PUBLICATION_KEY) names; else, in a ledger made before key files, the scheme's key
    there, read as the authority's; else refused (never made here: a key made without the
    authority knowing would round its months afresh)."""
    if named is not None:
        return read_key_file(named)
    if ledger_key is not None:
        return AuthorityKey(ledger_key, "", None)
    raise PbrError("a publication is rounded with the authority's publication key, and the "
                   "config names none. Make it once for the authority: `pbr publication key "
                   "new PATH --authority \"NAME\"` (a file on a drive every officer who "
                   "publishes can read, backed up, not beside the ledger), then name it in "
                   "every config of the authority: `publication_key: PATH` (or set "
                   f"${ENV}); nothing was written", code="bad-config")
