"""Reading a file someone else made, without being made to wait or fill memory.

A "file" named on the command line, found in a returns folder or named by the config may
be a pipe (reading it blocks for ever), a device (it never ends) or far larger than any
such file is. `read_bounded` opens without blocking, refuses anything but a regular file,
and reads at most `limit` bytes.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class NotAFile(OSError):
    """The path is not a regular file (a pipe, socket, device or folder)."""


class TooLarge(OSError):
    """The file is larger than the limit for its kind."""


def read_bounded(path: str | os.PathLike, limit: int) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(Path(path), flags)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(21, "Is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise NotAFile(0, "not a regular file (a pipe, a socket or a device)")
        if info.st_size > limit:
            raise TooLarge(0, f"{info.st_size // 2**20:,} MiB; the limit is "
                              f"{limit // 2**20 or 1} MiB")
        chunks = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:  # it grew while being read
            raise TooLarge(0, f"more than {limit // 2**20 or 1} MiB")
        return data
    finally:
        os.close(fd)


def refuse_unless_file(target: Path) -> None:
    """An output is written to a file: a device, a pipe or a folder already there under its
    name is refused, never replaced (`-o /dev/null` run as root replaced the device)."""
    from pbr_cli.errors import PbrError
    from pbr_cli.names import shown

    try:
        mode = os.stat(target).st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode):
        raise PbrError(f"cannot write {shown(Path(target))}: it is there and is not a regular "
                       "file (a folder, a device or a pipe); name a file",
                       code="output-not-writable")

