"""A model's `signals` section read into a record: which signals of gaming the scheme works
out and their settings (the schema is schema_signals.py; the signals are pbr_cli/assurance)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

# every signal, in the order reports show them
SIGNAL_NAMES = ("creaming", "parking", "churn", "bands", "deadline", "same_person",
                "first_of_month", "closed_days", "round_figures")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class SignalsSpec:
    checks: tuple[str, ...]
    false_discovery: Fraction = Fraction(1, 20)
    parking_months: int = 3
    days_around: int = 30
    band_margin: Fraction = Fraction(1, 50)
    deadline_days: int = 3
    closed: tuple[int, ...] = ()  # weekday numbers, Monday 0
    round_columns: tuple[str, ...] = ()
    round_multiple: int = 0


def read_signals(spec: dict[str, Any], cohort: bool, review_columns: dict[str, str],
                 fail: Callable[[tuple, str], None]) -> SignalsSpec:
    """The section read and checked: known signals, a kind of scheme whose records they read,
    the settings each needs. `review_columns` is the reviews sheet's columns and types."""
    checks = tuple(spec.get("checks") or ())
    for i, name in enumerate(checks):
        if name not in SIGNAL_NAMES:
            fail(("signals", "checks", i), f"'{name}' is not a signal; known: "
                 + ", ".join(SIGNAL_NAMES))
    if checks and not cohort:
        fail(("signals", "checks"), "signals are worked out from a cohort model's client "
             "records (presentations, discharges, reviews): leave out `signals` here")
    q = Fraction(spec["false_discovery"]) if spec.get("false_discovery") is not None \
        else Fraction(1, 20)
    if not 0 < q < 1:
        fail(("signals", "false_discovery"), "a share between 0 and 1, e.g. 0.05")
    margin = Fraction(spec["band_margin"]) if spec.get("band_margin") is not None \
        else Fraction(1, 50)
    if not 0 < margin < 1:
        fail(("signals", "band_margin"), "a share between 0 and 1, e.g. 0.02")
    for key in ("parking_months", "days_around", "deadline_days"):
        if spec.get(key) is not None and spec[key] < 1:
            fail(("signals", key), "at least 1")
    closed = []
    for i, day in enumerate(spec.get("closed") or ()):
        if str(day).lower() not in WEEKDAYS:
            fail(("signals", "closed", i), f"'{day}' is not a day of the week (monday ... "
                 "sunday)")
        else:
            closed.append(WEEKDAYS.index(str(day).lower()))
    if "closed_days" in checks and not closed:
        fail(("signals", "closed"), "`closed_days` needs the days the service is closed, e.g. "
             "closed: [saturday, sunday]")
    rnd = spec.get("round") or {}
    columns = tuple(rnd.get("columns") or ())
    for i, column in enumerate(columns):
        if review_columns.get(column) != "integer":
            fail(("signals", "round", "columns", i), f"'{column}' is not an integer column of "
                 "the reviews sheet")
    if "round_figures" in checks and (not columns or (rnd.get("multiple") or 0) < 2):
        fail(("signals", "round"), "`round_figures` needs the columns it looks at and a "
             "multiple of at least 2, e.g. round: {columns: [days_used], multiple: 7}")
    return SignalsSpec(checks, q, int(spec.get("parking_months") or 3),
                       int(spec.get("days_around") or 30), margin,
                       int(spec.get("deadline_days") or 3), tuple(sorted(set(closed))),
                       columns, int(rnd.get("multiple") or 0))
