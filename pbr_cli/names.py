"""File names as they can be printed, logged and stored.

A name is whatever bytes the file system holds: not always UTF-8, and it may hold control
characters (a newline in a name would forge a line of the log). Wherever pbr shows or
records a name it uses `shown(name)`: undecodable bytes and control characters as `\\xNN`.
"""

from __future__ import annotations

import os
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def shown(name: object) -> str:
    """A file name (or a ledger's URL, without its password) as it is safe to print."""
    text = os.fspath(name) if isinstance(name, str | os.PathLike) else str(name)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = os.fsencode(text).decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
