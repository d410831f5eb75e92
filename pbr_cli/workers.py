"""Worker processes die with the pbr that started them.

pbr reads returns and runs a forecast's simulations in worker processes. Killed outright
(SIGKILL, the out-of-memory killer), pbr runs no code of its own, and a worker would be
left behind, adopted by init, blocked for ever writing its result to a pipe nobody reads.
On Linux each worker asks the kernel to kill it when its parent dies (PR_SET_PDEATHSIG);
elsewhere, a worker blocked on its pipe ends when the pipe breaks.
"""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int) -> None:
    """In a worker (a pool's initializer, or a process's first step): be killed when
    `parent` dies; exit at once if it has died already (before this was asked)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return  # no prctl here: the broken pipe still ends a worker
    if os.getppid() != parent:
        os._exit(1)
