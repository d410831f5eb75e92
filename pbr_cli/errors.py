"""The one exception type that stops a command, and the documented exit codes."""

from __future__ import annotations

# Exit codes (said in `pbr --help` from EXIT_CODES below, and in docs/exit-codes.md).
EXIT_OK = 0  # all well
EXIT_PROBLEMS = 1  # inputs read, but errors were found (or a provider's payment was withheld)
EXIT_UNUSABLE = 2  # usage error, unreadable input, broken model, register, config or ledger
EXIT_LOCKED = 3  # another run holds the ledger's lock
EXIT_CRASH = 70  # an unexpected failure inside pbr: the traceback is in a crash file
EXIT_INTERRUPTED = 130  # stopped by Ctrl-C or a termination signal; nothing half-written

# What each code means, in the words `pbr --help` ends with; docs/exit-codes.md says more
# of each, and a test holds its table to these codes.
EXIT_CODES = {
    EXIT_OK: "all well",
    EXIT_PROBLEMS: "errors found in returns, or a provider's payment withheld",
    EXIT_UNUSABLE: "usage error, unusable file, broken model, register or config, a ledger that "
                   "is missing, empty or does not verify, or nothing to do",
    EXIT_LOCKED: "another run is using the ledger",
    EXIT_CRASH: "pbr failed unexpectedly (traceback in a crash file)",
    EXIT_INTERRUPTED: "interrupted",
}


def exit_codes_said() -> str:
    """The exit codes in one paragraph, as `pbr --help` ends."""
    return ("Exit codes: " + "; ".join(f"{code} {said}" for code, said in EXIT_CODES.items())
            + ". See docs/exit-codes.md.")


class PbrError(Exception):
    """Something that cannot go on: an unreadable file, a broken model, a bad option.

    The CLI prints `message` (one line, naming the file and where in it) and exits with
    `exit_code`. `code` is the stable problem code from the catalogue.
    """

    def __init__(self, message: str, *, code: str = "error", exit_code: int = EXIT_UNUSABLE):
        super().__init__(message)
        self.message = message
        self.code = code
        self.exit_code = exit_code


class Interrupted(BaseException):  # noqa: N818 - it is what happened, not an error
    """SIGINT or SIGTERM arrived: unwind (temporary files removed, transactions rolled
    back) and exit with EXIT_INTERRUPTED."""

    def __init__(self, signal_name: str):
        super().__init__(signal_name)
        self.signal_name = signal_name


class _StopRequest:
    """The one fact a signal leaves behind. A signal raises Interrupted where the program
    happens to be; should that exception be lost (CPython can drop one raised while it
    compiles a module being imported), `check_stop()` at the next safe point raises it
    again. Process-wide because signals are."""

    signal_name: str | None = None


STOP = _StopRequest()


def request_stop(signal_name: str) -> None:
    STOP.signal_name = signal_name
    raise Interrupted(signal_name)


def check_stop() -> None:
    """Raise Interrupted if a signal asked pbr to stop (called between files and months and
    before anything is recorded)."""
    if STOP.signal_name is not None:
        raise Interrupted(STOP.signal_name)
