"""One writer at a time: an exclusive lock on a file beside the ledger.

The operating system releases the lock when the process ends, however it ends (a killed run
never leaves a stale lock). A second run waits up to `wait` seconds, then refuses.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from pbr_cli.errors import EXIT_LOCKED, PbrError


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
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another"
                    raise PbrError(f"another pbr run (process {holder}) is using the ledger "
                                   f"({path}); try again when it has finished, or give --wait",
                                   code="locked", exit_code=EXIT_LOCKED) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock
