"""One writer at a time: an exclusive lock on a file beside an SQLite ledger, or the
database's own lock for a ledger in PostgreSQL (`held` chooses).

The operating system releases the lock when the process ends, however it ends (a killed run
never leaves a stale lock). A second run waits up to `wait` seconds, then refuses. On POSIX
the lock is `flock` on the whole file; on Windows, `msvcrt.locking` on one byte far past the
holder's process id (so another process can still read who holds it).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from pbr_cli.errors import EXIT_LOCKED, PbrError
from pbr_cli.ledger.db import DatabaseLock, LedgerUrl, Where

# The descriptors this process holds a run's lock through: the lock file's, or the
# connection's holding the database's session lock. A process forked from it (a worker
# reading returns, a forecast's simulations) drops its copies at once, so the lock ends with
# the process that took it: a killed run's workers, still finishing, cannot keep the next
# run out. It is kept for the whole process, not passed about, because that is what it
# describes: a fork copies every descriptor the process holds, whoever opened it, and the
# hook that drops them (os.register_at_fork) is called with no arguments in the child,
# where only a module's own state can tell it which ones they are.
_HELD: set[int] = set()


def _drop_in_child() -> None:
    for fd in list(_HELD):
        try:
            os.close(fd)  # (only this process's copy: never an unlock, which the parent holds)
        except OSError:
            pass
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_in_child)


@contextlib.contextmanager
def held(where: Where, wait: float = 0.0) -> Iterator[None]:
    """The lock of the ledger at `where`: one recording run holds it at a time. A file's is
    taken beside it and, once the file exists, on the file itself, so that two names for one
    ledger (a link, another path) cannot both be held."""
    if isinstance(where, LedgerUrl):
        with in_database(where, wait):
            yield
        return
    with exclusive(where.with_name(where.name + ".lock"), wait), _on_the_file(where, wait):
        yield


@contextlib.contextmanager
def _on_the_file(path: Path, wait: float) -> Iterator[None]:
    """An exclusive lock on the ledger file itself (its inode): read-only, nothing written to
    it. SQLite's own locks are of another kind, which this one does not touch. Not on
    Windows, where a lock is a byte range SQLite itself uses."""
    if WINDOWS:
        yield
        return
    try:
        fd = os.open(path, os.O_RDONLY)  # through a link too: the file reached is what counts
    except FileNotFoundError:  # a ledger not yet made: the lock beside it is the lock
        yield
        return
    except OSError as exc:
        raise PbrError(f"cannot open the ledger {path}: {exc.strerror}",
                       code="output-not-writable") from None
    deadline = time.monotonic() + wait
    try:
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                raise _refused("through another name for it", path)
            time.sleep(0.1)
        _HELD.add(fd)
        yield
    finally:
        _HELD.discard(fd)
        os.close(fd)  # after the ledger's connection has closed: the caller's order


def _refused(holder: str, where: object) -> PbrError:
    return PbrError(f"another pbr run ({holder}) is using the ledger ({where}); try again when "
                    "it has finished, or give --wait", code="locked", exit_code=EXIT_LOCKED)


@contextlib.contextmanager
def in_database(where: LedgerUrl, wait: float = 0.0) -> Iterator[None]:
    """A session lock in the ledger's database: held while the run's connection is open, so
    a run killed on any machine releases it (the server sees its connection end)."""
    lock = DatabaseLock(where)
    try:
        deadline = time.monotonic() + wait
        while not lock.try_take():
            if time.monotonic() >= deadline:
                raise _refused(lock.holder(), where)
            time.sleep(0.2)
        _HELD.add(lock.fileno())
        yield
    finally:
        _HELD.discard(lock.fileno())
        lock.close()  # ending the session releases the lock


@contextlib.contextmanager
def exclusive(path: Path, wait: float = 0.0) -> Iterator[None]:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Never through a symbolic link: a link planted here would have pbr empty its target.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as exc:
        if os.path.islink(path):
            raise PbrError(f"the lock file {path} is a symbolic link; pbr does not follow links "
                           "for its own files: remove it", code="bad-ledger") from None
        raise PbrError(f"cannot open the lock file {path}: {exc.strerror}",
                       code="output-not-writable") from None
    deadline = time.monotonic() + wait
    try:
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                os.lseek(fd, 0, os.SEEK_SET)
                holder = os.read(fd, 64).decode(errors="replace").strip() or "another"
                raise _refused(f"process {holder}", path)
            time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, str(os.getpid()).encode())
        _HELD.add(fd)
        yield
    finally:
        _HELD.discard(fd)
        os.close(fd)  # closing releases the lock


LOCKED_BYTE = 1 << 30  # Windows: the byte locked, far past the process id written at 0
WINDOWS = os.name == "nt"


def _try_lock(fd: int) -> bool:
    """Take the lock without waiting; False when another process holds it."""
    if WINDOWS:
        import msvcrt

        os.lseek(fd, LOCKED_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
