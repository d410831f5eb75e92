"""Memory pbr has freed, handed back to the system.

At national scale a calculation holds millions of rows: the returns' records, the history's
arrays, a month's evidence. The C library keeps what is freed for the process to reuse, and
the holes many small blocks leave are never reused by large arrays (each its own mapping),
so a process can hold twice what it uses (docs/scale.md, Memory). pbr asks for it back
where a large step has just let go of what it held.
"""

from __future__ import annotations

import sys


def give_back_memory() -> None:
    """Hand the memory freed so far back to the system (glibc: malloc_trim); elsewhere,
    nothing."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass  # another C library: nothing to ask
