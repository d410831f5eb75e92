"""The warnings that change what is paid, said before anything is approved: by `pbr run`,
`pbr calculate` and `pbr approve`, on the console and in JSON."""

from __future__ import annotations

from collections import Counter

from pbr_cli.pricing.records import Schedule
from pbr_cli.problems import Problem

MONEY_CHANGING = (
    "no-return",  # a provider's month the calculation reads has no return: it counts nothing
    "history-return-excluded",  # an earlier return with errors left out of a rolling window
    "history-incomplete",  # (a what-if) months before go-live the calculation reads, unfiled
    "record-left-out",  # client-level rows left out
    "episode-assumed",  # an episode taken from its discharge row
    "before-scheme-start",  # rows dated before the scheme starts, left out
    "entry-not-active",  # rows naming a contract not active in the month
    "rows-not-counted",  # rows a measure's condition could not be worked out for
    "ids-differ-in-case",  # one client counted as two
    "client-at-two-providers",  # one client at two providers at once
    "participants-contract-unknown",  # paid on the first of several contracts
    "cap-reached",  # lines cut to the annual cap
    "earlier-month-not-approved",  # an earlier month a formula reads counted as nothing paid
)


def money_warnings(problems: list[Problem]) -> list[tuple[str, int]]:
    """The money-changing warnings among `problems`: (code, how many), in MONEY_CHANGING's
    order."""
    counts = Counter(p.code for p in problems if not p.is_error and p.code in MONEY_CHANGING)
    return [(code, counts[code]) for code in MONEY_CHANGING if counts[code]]


def money_warnings_said(problems: list[Problem]) -> str:
    """One line: 'Warnings that change payments: 60 no-return, 30 episode-assumed ...', or
    '' when there are none."""
    found = money_warnings(problems)
    return ("Warnings that change payments: " + ", ".join(f"{n} {code}" for code, n in found)
            + " (each is on the schedule's Warnings sheet)") if found else ""


def warnings_before_approval(s: Schedule, run: int) -> str:
    """What `pbr approve` says before it records: the draft's money-changing warnings, or ''
    when there are none."""
    found = money_warnings(s.problems)
    if not found:
        return ""
    return (f"Draft run {run} of {s.model.name} {s.month} carries warnings that change "
            "payments: " + ", ".join(f"{n} {code}" for code, n in found)
            + " (each is on the schedule's Warnings sheet).")
