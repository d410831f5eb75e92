"""The run log: one line per thing pbr did to the ledger, written or refused loudly.

Each line is appended and flushed to disk at once; a log that cannot be written (a full
disk, a folder that is not writable, a symbolic link) stops the command with exit code 2
rather than leaving the unattended run's only record silently empty. After every change
to a ledger the log records the ledger's head (`ledger PATH head record N sha256 H`), so a
copy of the log kept elsewhere (the cron mail) shows whether the ledger was later rewritten;
pbr itself checks that the ledger still holds the head the log last saw.
"""

from __future__ import annotations

import glob
import os
import re
import time
import zlib
from pathlib import Path

from pbr_cli.errors import PbrError
from pbr_cli.ledger.db import LedgerUrl
from pbr_cli.names import shown

HEAD_RE = re.compile(r" ledger (?P<path>.+) head record (?P<seq>\d+) sha256 (?P<hash>[0-9a-f]{64})$")
MAX_LOG_READ = 8 * 1024 * 1024  # the head check reads the last 8 MiB of a log at most


class RunLog:
    def __init__(self, path: Path):
        self.path = Path(path)

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
            fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            if os.path.islink(self.path):
                raise PbrError(f"the log {self.path} is a symbolic link; pbr does not follow "
                               "links for its own files: give the real path",
                               code="output-not-writable") from None
            raise PbrError(f"cannot write the log {self.path}: {exc.strerror}",
                           code="output-not-writable") from None
        return fd

    def write(self, level: str, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        line = f"{stamp} {level} {shown(message)}\n".encode()
        fd = self._open()
        try:
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(28, "No space left on device")
            os.fsync(fd)
        except OSError as exc:
            raise PbrError(f"cannot write the log {self.path}: {exc.strerror}",
                           code="output-not-writable") from None
        finally:
            os.close(fd)

    def info(self, message: str) -> None:
        self.write("INFO", message)

    def warning(self, message: str) -> None:
        self.write("WARNING", message)

    def error(self, message: str) -> None:
        self.write("ERROR", message)

    def head(self, ledger: Path | LedgerUrl, head) -> None:
        """Write the ledger's head, once: not again when it is the log's last line already
        (a run's last month and the run's end see the same head)."""
        message = f"ledger {ledger_key(ledger)} head record {head.seq} sha256 {head.hash}"
        if self._last_line().endswith(f" INFO {shown(message)}"):
            return
        self.info(message)

    def _last_line(self) -> str:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(max(0, fh.seek(0, os.SEEK_END) - 4096))
                lines = fh.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""

    def last_head(self, ledger: Path | LedgerUrl) -> tuple[int, str, str] | None:
        """(seq, hash, the line) of the last head this log recorded for `ledger`."""
        heads = self.heads(ledger)
        return heads[-1] if heads else None

    def heads(self, ledger: Path | LedgerUrl) -> list[tuple[int, str, str]]:
        """Every head this log recorded for `ledger` in its last 8 MiB, oldest first."""
        text = _tail(self.path)
        key = ledger_key(ledger)
        out = []
        for line in text.splitlines():
            m = HEAD_RE.search(line)
            if m and m.group("path") == key:
                out.append((int(m.group("seq")), m.group("hash"), line))
        return out

    def rotated(self) -> list[RunLog]:
        """The log's rotated copies beside it (`pbr.log.1`, `pbr.log.2.gz`, ...), as logs."""
        try:
            found = sorted(self.path.parent.glob(glob.escape(self.path.name) + ".*"))
        except OSError:
            return []
        return [RunLog(p) for p in found if p.is_file() and not p.is_symlink()]


def _tail(path: Path) -> str:
    """The last 8 MiB of a log (of a gzipped one, the last 8 MiB of the first 64 MiB it
    holds); '' when there is none."""
    try:
        if path.suffix == ".gz":
            import gzip

            with gzip.open(path, "rb") as fh:
                data = b""
                for _ in range(8):  # 8 x 8 MiB, never more whatever the file claims
                    block = fh.read(MAX_LOG_READ)
                    if not block:
                        break
                    data = (data + block)[-MAX_LOG_READ:]
            return data.decode("utf-8", "replace")
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - MAX_LOG_READ))
            return fh.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    except (OSError, EOFError, zlib.error) as exc:
        raise PbrError(f"cannot read the log {path}: {getattr(exc, 'strerror', None) or exc}",
                       code="output-not-writable") from None


def ledger_key(ledger: Path | LedgerUrl) -> str:
    """How the log names a ledger: its absolute path, or its URL without the password."""
    if isinstance(ledger, LedgerUrl):
        return shown(ledger)
    return shown(os.path.abspath(ledger))
