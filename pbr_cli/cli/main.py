"""The console script's entry: signals are caught before anything heavy is imported, and a
failure pbr did not expect gets one line on stderr, its traceback in a crash file, and its
own exit code (docs/exit-codes.md)."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any, NoReturn

# Where an exception raised by a signal is printed and dropped rather than unwound: inside the
# import machinery (a module left half made, then an ImportError), a fork hook, or logging's
# lock release at fork. A stop asked for there is raised at the next safe point instead
# (`errors.check_stop`, between files, months and records).
_UNSAFE = frozenset({"_releaseLock", "_acquireLock", "_after_at_fork_child_reinit_locks",
                     "_at_fork_reinit", "_drop_in_child"})


def _unsafe(frame) -> bool:
    while frame is not None:
        code = frame.f_code
        if code.co_filename.startswith("<frozen importlib") or code.co_name in _UNSAFE:
            return True
        frame = frame.f_back
    return False


# pbr's own way out: a stop landing there changes nothing (pbr is leaving already), and an
# exception raised there would escape every handler as a traceback.
_LEAVING = frozenset({"_leave", "_interrupted", "_crash", "_ignore_stops"})


def _leaving(frame) -> bool:
    if frame is not None and frame.f_code is main.__code__:
        return True  # the entry itself: before the command, or on the way out of it
    while frame is not None:
        if frame.f_code.co_filename == __file__ and frame.f_code.co_name in _LEAVING:
            return True
        frame = frame.f_back
    return False


class _Owner:
    """The process that installed the handlers: pbr itself, not a worker forked from it."""

    pid = os.getpid()


_OWNER = _Owner()


def stop(signum: int, frame) -> None:
    """The handler of SIGINT and SIGTERM: stop here (Interrupted), or, where an exception
    would be dropped, at the next safe point; a second signal stops at once. On pbr's way
    out, a stop is only noted. A worker forked from pbr inherits this handler and does
    nothing: the stop is pbr's to make (Ctrl-C signals every process of the terminal's
    group), which ends its workers when it has finished the file in hand (what a worker
    writes, a cache entry, is never left half-made) or, on a second signal, at once."""
    from pbr_cli.errors import STOP, request_stop

    if os.getpid() != _OWNER.pid:
        return
    name = signal.Signals(signum).name
    if _leaving(frame) or (_unsafe(frame) and STOP.signal_name is None):
        STOP.signal_name = STOP.signal_name or name
        return
    request_stop(name)


def _dropped(unraisable) -> None:
    """sys.unraisablehook: an exception Python can only print and drop (raised in a
    finaliser, a fork hook, a lock's release, an exit hook). A stop raised there is kept,
    not printed: the next safe point raises it again (STOP). Anything else is Python's to
    say."""
    from pbr_cli.errors import STOP, Interrupted

    if isinstance(unraisable.exc_value, Interrupted):
        STOP.signal_name = STOP.signal_name or unraisable.exc_value.signal_name
        return
    sys.__unraisablehook__(unraisable)


def _ignore_stops() -> None:
    """The command has finished (or pbr is leaving): a signal now is ignored, so that it can
    neither print a traceback from an exit hook nor, once Python has put back the default
    handlers as it shuts down, kill pbr with no word and no exit code of pbr's."""
    for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
        if sig is not None:
            signal.signal(sig, signal.SIG_IGN)


def main() -> None:
    from pbr_cli.errors import EXIT_INTERRUPTED, STOP, Interrupted

    _OWNER.pid = os.getpid()
    sys.unraisablehook = _dropped
    signal.signal(signal.SIGINT, stop)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, stop)
    try:
        from pbr_cli.cli.app import app

        if "--json" in sys.argv[1:]:
            sys.exit(_as_json(app))
        app(standalone_mode=True)
    except Interrupted as exc:
        _interrupted(exc.signal_name)
        _leave(EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        _interrupted("SIGINT")
        _leave(EXIT_INTERRUPTED)
    except SystemExit:
        _ignore_stops()  # the command's work is done: it ends with its own exit code
        raise
    except BaseException as exc:  # noqa: BLE001 - the edge: every other failure ends here
        if STOP.signal_name is not None:  # what a stop left behind, not a failure of pbr's
            _interrupted(STOP.signal_name)
            _leave(EXIT_INTERRUPTED)
        sys.exit(_crash(exc))


def _as_json(app) -> int:
    """A command given --json answers a usage error (an unknown option, a bad value) with the
    error object on stdout too (docs/json.md), not only Click's words on stderr."""
    import json

    import typer

    from pbr_cli.errors import EXIT_UNUSABLE

    # (Click's base of its errors, whether typer ships its own copy of Click or uses Click's)
    usage: Any = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
    try:
        code = app(standalone_mode=False)
    except usage as exc:
        exc.show()
        message = " ".join(exc.format_message().split())
        print(json.dumps({"schema": 1, "error": {"code": "usage", "message": message,
                                                 "exit_code": EXIT_UNUSABLE}}, indent=2))
        return EXIT_UNUSABLE
    except typer.Abort:
        raise KeyboardInterrupt from None
    return code if isinstance(code, int) else 0


def _leave(code: int) -> NoReturn:
    """Exit at once after a stop: pbr's own clean-up (its private folders) and the output
    flushed, then none of the interpreter's exit hooks — after a stop, a worker pool's hook
    can only write to a pipe already closed (a traceback on stderr) or wait on a worker
    that will not answer. The workers die with pbr (pbr_cli/workers.py)."""
    from pbr_cli.scratch import remove_mine

    _ignore_stops()
    remove_mine()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _interrupted(name: str) -> None:
    _ignore_stops()
    try:
        sys.stderr.write(f"pbr: interrupted ({name}); nothing half-written\n")
        sys.stderr.flush()
    except OSError:
        pass


def _crash(exc: BaseException) -> int:
    """Write the traceback to a crash file; say where in one line; return EXIT_CRASH."""
    import tempfile
    import time
    import traceback

    from pbr_cli import __version__
    from pbr_cli.errors import EXIT_CRASH

    text = "".join(traceback.format_exception(exc))
    where = ""
    try:
        fd, where = tempfile.mkstemp(prefix=f"pbr-crash-{time.strftime('%Y%m%dT%H%M%S')}-",
                                     suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(f"pbr {__version__}\n{' '.join(sys.argv)}\n\n{text}")
    except OSError:
        where = ""
    first = f"{type(exc).__name__}: {exc}".splitlines()[0][:300] if str(exc) else type(exc).__name__
    try:
        sys.stderr.write(f"pbr: unexpected failure ({first}); "
                         + (f"the details are in {where}" if where else "no crash file could "
                            "be written") + "; please report it\n")
    except OSError:
        pass
    return EXIT_CRASH
