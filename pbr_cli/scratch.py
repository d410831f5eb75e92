"""pbr's own folder for the parts of a file while it is being made.

A workbook is made from parts (each sheet's XML, which names clients) written to temporary
files before they are zipped. They are made in a folder private to this process inside the
folder the output goes to — `.pbr-tmp/<host>-<pid>-<random>/`, mode 0700 — never in the
system's temporary folder, where a stopped run would leave client ids for anyone to read.
The folder is removed once the file is made, or when pbr exits; one left by a process that was killed (nothing runs
on SIGKILL) is removed by the next pbr that makes a file in the same folder, once its
process is gone. Only this machine's are judged: a folder shared between machines holds
others' that may be in use. Runs writing into one folder at once (statements written by
worker processes) each make their own folder inside `.pbr-tmp`; one that finds it removed
by another's release, as empty, at that moment makes it again.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

FOLDER = ".pbr-tmp"
_ATTEMPTS = 20  # .pbr-tmp removed by another run as this one makes its folder in it


class _Made:
    """The private folders this process has made and not yet removed, to remove at exit.
    Kept per process because they are the process's own: a forked worker inherits the
    parent's list, and the pid says whose it is."""

    pid = 0
    folders: set[Path] = set()


_MADE = _Made()


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"


def scratch_folder(output: Path) -> Path:
    """A new private folder of this process's under `output` (mode 0700), after removing
    those of this machine's pbr processes that have gone; `release` it when the file is
    made. Raises OSError when it cannot be made (a full disk, a read-only folder)."""
    if _MADE.pid != os.getpid():  # a forked worker: the parent's folders are not its own
        _MADE.pid, _MADE.folders = os.getpid(), set()
        atexit.register(_remove_all, os.getpid())
    base = Path(output).absolute() / FOLDER
    for attempt in range(_ATTEMPTS):
        base.mkdir(parents=True, exist_ok=True)
        _remove_left(base)
        try:
            mine = Path(tempfile.mkdtemp(prefix=f"{_host()}-{os.getpid()}-", dir=base))  # 0700
        except FileNotFoundError:
            # another run released its folder and removed .pbr-tmp, empty, between the two
            if attempt == _ATTEMPTS - 1 or not Path(output).absolute().is_dir():
                raise
            continue
        _MADE.folders.add(mine)
        return mine
    raise AssertionError("unreachable")


def release(folder: Path) -> None:
    """Remove a private folder (and .pbr-tmp, when no other run is using it)."""
    shutil.rmtree(folder, ignore_errors=True)
    _MADE.folders.discard(folder)
    try:
        folder.parent.rmdir()
    except OSError:
        pass


def remove_left(output: Path) -> None:
    """Remove from `output`'s private folders those of this machine's pbr processes that
    have gone (a worker ended halfway through a file), and .pbr-tmp when it is then empty."""
    base = Path(output).absolute() / FOLDER
    _remove_left(base)
    try:
        base.rmdir()
    except OSError:
        pass  # in use by a running process, or not there


def _remove_left(base: Path) -> None:
    """Remove the folders of this machine's pbr processes that are no longer running."""
    pattern = re.compile(re.escape(_host()) + r"-(\d+)-.*")
    try:
        entries = list(base.iterdir())
    except OSError:
        return
    for entry in entries:
        found = pattern.fullmatch(entry.name)
        if found and not _running(int(found.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process: running
    return True


def _remove_all(pid: int) -> None:
    if pid == os.getpid():
        for mine in list(_MADE.folders):
            release(mine)


def remove_mine() -> None:
    """Remove this process's private folders now (as at exit), for an exit that runs no exit
    hooks."""
    _remove_all(os.getpid())
