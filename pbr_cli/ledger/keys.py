"""An officer's signing keys: Ed25519 private keys kept in the officer's own folder
($PBR_KEYS, else ~/.config/pbr/keys, or %APPDATA%\\pbr\\keys on Windows), one file each,
readable by the officer alone (mode 0600), never reached through a symbolic link and never
written over.

Which key signs: $PBR_KEY (a key's name), or the only key in the folder. Its public part
must be named in the config's `keys`; the name the config gives it is the signer's name.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from pbr_cli.errors import PbrError
from pbr_cli.ledger.signing import Signer, Trust, public_text

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}[A-Za-z0-9_-]|[A-Za-z0-9]")
SUFFIX = ".key"
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
WHAT_TO_DO = ("make one with `pbr keys new NAME` and have its public key named in the "
              "config's `keys`")


def keys_folder() -> Path:
    if os.environ.get("PBR_KEYS"):
        return Path(os.environ["PBR_KEYS"])
    if os.name == "nt" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "pbr" / "keys"
    base = os.environ.get("XDG_CONFIG_HOME")
    return (Path(base) if base else Path.home() / ".config") / "pbr" / "keys"


@dataclass(frozen=True)
class OwnKey:
    """A key in the officer's folder: its name, file and public part."""

    name: str
    path: Path
    public: str


def _check_name(name: str) -> None:
    if not NAME.fullmatch(name):
        raise PbrError(f"a key's name is letters, digits, spaces, '.', '_' or '-' (at most 64, "
                       f"not ending in a space or '.'), not {name!r}", code="usage")


def new_key(name: str) -> OwnKey:
    """A new key pair; the private key written to the officer's folder (refused if a key of
    that name is there, or the place is a link)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    _check_name(name)
    folder = keys_folder()
    _refuse_link(folder)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{name}{SUFFIX}"
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o600)
    except FileExistsError:
        raise PbrError(f"a key named {name} exists ({path}): a key is never written over "
                       "(choose another name)", code="key-exists") from None
    except OSError as exc:
        raise PbrError(f"cannot write the key {path}: {exc.strerror}", code="bad-key") from None
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return OwnKey(name, path, public_text(raw))


def own_keys() -> list[OwnKey]:
    """The keys in the officer's folder, by name (each read, so a damaged one is said)."""
    folder = keys_folder()
    if not folder.is_dir():
        return []
    return [_read(p.name[:-len(SUFFIX)], p)[0]
            for p in sorted(folder.glob(f"*{SUFFIX}"))]


def _refuse_link(path: Path) -> None:
    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):
            raise PbrError(f"{path} is a symbolic link; pbr does not follow links to keys",
                           code="bad-key")
    except FileNotFoundError:
        pass


def _read(name: str, path: Path) -> tuple[OwnKey, bytes]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
        load_pem_private_key,
    )

    _refuse_link(path)
    try:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW)
    except OSError as exc:
        raise PbrError(f"cannot read the key {path}: {exc.strerror}", code="bad-key") from None
    with os.fdopen(fd, "rb") as f:
        if os.name != "nt" and os.fstat(f.fileno()).st_mode & 0o077:
            raise PbrError(f"the key {path} can be read by others than its owner: "
                           f"`chmod 600 {path}`, or make a new key if others may have read it",
                           code="bad-key")
        data = f.read(64 * 1024)
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise PbrError(f"{path} is not an Ed25519 private key as `pbr keys new` writes",
                       code="bad-key")
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = public_text(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    return OwnKey(name, path, public), raw


def chosen_key() -> tuple[OwnKey, bytes]:
    """The key that signs: $PBR_KEY, or the only key in the folder."""
    folder = keys_folder()
    wanted = os.environ.get("PBR_KEY")
    if wanted:
        _check_name(wanted)
        path = folder / f"{wanted}{SUFFIX}"
        if not os.path.lexists(path):
            raise PbrError(f"$PBR_KEY names {wanted}, but there is no key {path}; "
                           f"{WHAT_TO_DO}", code="no-signing-key")
        return _read(wanted, path)
    found = sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []
    if not found:
        raise PbrError(f"the config names who signs the ledger (`keys`), but you have no key "
                       f"in {folder}: {WHAT_TO_DO}; nothing was recorded",
                       code="no-signing-key")
    if len(found) > 1:
        raise PbrError(f"{folder} holds {len(found)} keys: say which signs with $PBR_KEY "
                       f"(one of {', '.join(p.name[:-len(SUFFIX)] for p in found)}); nothing "
                       "was recorded", code="no-signing-key")
    return _read(found[0].name[:-len(SUFFIX)], found[0])


def signer(trust: Trust) -> Signer:
    """The officer's signer, named as the config names its public key; refused (before
    anything is recorded) when there is no usable key or the config does not name it."""
    key, raw = chosen_key()
    name = trust.name_of(key.public)
    if name is None:
        raise PbrError(f"your key {key.name} ({key.public}) is not named in the config's "
                       f"`keys` (or is retired there): have it added, e.g. `\"Your Name\": "
                       f"\"{key.public}\"`; nothing was recorded", code="no-signing-key")
    return Signer(name, raw, key.public)
