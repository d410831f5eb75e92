"""A cache of checked returns, so that a file is read and checked once while it is unchanged.

A return's checked form depends only on its bytes, the model, the contract register, its path
(problems name it), the month folder it is filed in, and pbr's own code; the cache key is the
SHA-256 of all of them (the code as the SHA-256 of every file of the package, not the version
string, which a fix need not change), so any change to any of them is a miss and the file is
read again. A file is hashed before it is read; what is read is kept only under the key of
the bytes read (pbr_cli/returns/collect.py), so a file replaced in between is never kept as
the bytes it was hashed as.
Entries are pickles written atomically into a folder only the user can write; an entry that
cannot be loaded, a folder or file others could have written, or an entry or folder of
entries that is a link, is ignored. Deleting the folder is always safe.

The folder is `$PBR_CACHE`, else the config's `cache:`, else OUTPUT/.cache; `PBR_CACHE=off`
turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import stat
import tempfile
from pathlib import Path
from typing import Any

FORMAT = 3  # raised whenever what is stored changes shape
# the folders entries are kept in: a key's first two characters (a return's key, 64 hex
# digits; what a month is worth, `m` and 64, pbr_cli/pricing/worth.py)
FOLDER = r"[0-9a-f]{2}|m[0-9a-f]"


def code_sha256() -> str:
    """The SHA-256 of pbr's own code: every file of the package, by name and bytes. Worked
    out once a process (a few milliseconds)."""
    if _CODE.digest is None:
        root = Path(__file__).resolve().parent
        digest = hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
        _CODE.digest = digest.hexdigest()
    return _CODE.digest


class _Code:
    digest: str | None = None


_CODE = _Code()


class ReturnCache:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.hits = self.misses = 0
        self._checked: dict[str, bool] = {}  # folders found private this run

    @classmethod
    def for_folder(cls, folder: Path | None) -> ReturnCache | None:
        override = os.environ.get("PBR_CACHE")
        if override is not None:
            if override.strip().lower() in ("", "off", "0", "no"):
                return None
            folder = Path(override)
        return cls(folder) if folder is not None else None

    def key_of(self, sha256: str, path: Path, model, register, folder_month: Any) -> str:
        """The key of a file's checked form, from the SHA-256 of its bytes."""
        parts = [sha256, model.sha256, register.sha256, str(path), str(folder_month),
                 code_sha256(), FORMAT]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    def cover_key(self, sha256: str, path: Path) -> str:
        """The key of the model name a file's Cover gives (it depends on the bytes alone)."""
        parts = ["cover", sha256, str(path), code_sha256(), FORMAT]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    def joined_key(self, model, register, shape: int) -> str:
        """The key of the entry holding every return a client-level run read, joined
        (pbr_cli/returns/joined.py: one for a model and register; `shape`, its own format)."""
        parts = ["joined", model.sha256, register.sha256, code_sha256(), FORMAT, shape]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    def _file(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.pickle"

    def _private_folder(self, folder: Path, own: bool = False) -> bool:
        """_private, remembered for the run once it is true."""
        text = str(folder)
        if text in self._checked:
            return True
        if self._private(folder, own):
            self._checked[text] = True
            return True
        return False

    def _private(self, path: Path, own: bool = True) -> bool:
        """Written by this user alone: nobody else could have planted what it holds. What
        pbr made itself (`own`: a folder of entries, an entry) is also no link: pbr makes
        each a file or folder of its own, so a link was put there by something else. (The
        cache's own folder may be a link the user made, to another disk.)"""
        try:
            info = path.lstat() if own else path.stat()
        except OSError:
            return False
        if own and (stat.S_ISLNK(info.st_mode) or (stat.S_ISREG(info.st_mode)
                                                   and info.st_nlink != 1)):
            return False
        getuid = getattr(os, "getuid", None)
        if getuid is None:  # Windows: no owner to compare; trusted only in the user's profile
            return path.resolve().is_relative_to(Path.home().resolve())
        return info.st_uid == getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)

    def has(self, key: str) -> bool:
        """Whether there is an entry for the key (it may still fail to load); no entry
        counts as a miss."""
        if self._file(key).is_file():
            return True
        self.misses += 1
        return False

    def get(self, key: str) -> Any | None:
        target = self._file(key)
        if not (self._private_folder(self.folder) and self._private_folder(target.parent, True)
                and self._private(target)):
            self.misses += 1
            return None
        try:
            with target.open("rb") as fh:
                value = pickle.load(fh)  # noqa: S301 - our own private, atomically written file
        except Exception:  # a truncated or foreign entry: read the return again
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, key: str, value: Any) -> None:
        target = self._file(key)
        try:
            for folder in (self.folder, target.parent):
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            # (named by the writing process: a worker killed while writing, its file left,
            # is known by its pid and removed by pbr, `remove_left_by`)
            fd, tmp = tempfile.mkstemp(prefix=f".{os.getpid()}-", suffix=".tmp",
                                       dir=target.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError:
            pass  # a cache that cannot be written only costs time


def remove_left_by(folder: Path, pids: set[int]) -> int:
    """Remove the half-written entries of processes that were killed while writing (a
    worker pbr ended at a stop or a deadline): files `.<pid>-*.tmp` in the cache's folders.
    Returns how many were removed."""
    import re

    if not pids or not Path(folder).is_dir():
        return 0
    named = re.compile(r"\.(\d+)-.*\.tmp")
    removed = 0
    for sub in Path(folder).iterdir():
        if not (sub.is_dir() and not sub.is_symlink() and re.fullmatch(FOLDER, sub.name)):
            continue
        for entry in sub.iterdir():
            found = named.fullmatch(entry.name)
            if found and int(found.group(1)) in pids and entry.is_file():
                try:
                    entry.unlink()
                    removed += 1
                except OSError:
                    pass
    return removed


def clear(folder: Path) -> int:
    """Remove the cache's entries (and only them: files named as pbr names them, in folders
    named as it names them). Returns how many were removed."""
    import re

    removed = 0
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    for sub in folder.iterdir():
        if not (sub.is_dir() and not sub.is_symlink() and re.fullmatch(FOLDER, sub.name)):
            continue
        for entry in sub.iterdir():
            if entry.is_file() and re.fullmatch(r"m?[0-9a-f]{64}\.pickle|\..*\.tmp", entry.name):
                entry.unlink()
                removed += 1
        try:
            sub.rmdir()
        except OSError:
            pass  # something else is in it: left alone
    return removed
