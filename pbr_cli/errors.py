"""The one exception type that stops a command, and the documented exit codes."""

from __future__ import annotations

# Exit codes (documented in docs/exit-codes.md and `pbr --help`).
EXIT_OK = 0  # all well
EXIT_PROBLEMS = 1  # inputs read, but errors were found (or a provider's payment was withheld)
EXIT_UNUSABLE = 2  # usage error, unreadable input, broken model or register
EXIT_LOCKED = 3  # another run holds the ledger's lock


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
