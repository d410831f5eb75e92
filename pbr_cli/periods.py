"""Periods and windows: months, calendar and financial quarters, financial years, ranges.

Accepted forms (brief §6): `2013-06`, `2013-Q2`, `2013/14`, `2013/14-Q1`, `2013-04..2013-09`.
Every period knows the exact first and last day it covers.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from pbr_cli.errors import PbrError

if TYPE_CHECKING:  # (numpy is imported by the functions that use it, when they are called)
    import numpy as np
    import numpy.typing as npt

ACCEPTED_FORMS = (
    "a month 2013-06; a calendar quarter 2013-Q2; a financial year 2013/14; "
    "a financial-year quarter 2013/14-Q1; a range of months 2013-04..2013-09"
)


DAYS_IN = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # a month's days, February's
# in a common year (calendar.monthrange gives the same, at many times the cost)


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", str(text))
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise PbrError(
                f"'{text}' is not a month; write it as YYYY-MM, e.g. 2013-06",
                code="bad-period",
            )
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, self.days)

    @property
    def days(self) -> int:
        if self.month == 2 and calendar.isleap(self.year):
            return 29
        return DAYS_IN[self.month]

    def plus(self, months: int) -> Month:
        index = self.year * 12 + (self.month - 1) + months
        return Month(index // 12, index % 12 + 1)

    def label(self) -> str:
        return f"{calendar.month_name[self.month]} {self.year}"


class PeriodKind(StrEnum):
    """How a period was asked for."""

    MONTH = "month"
    QUARTER = "quarter"
    FINANCIAL_YEAR = "financial-year"
    FINANCIAL_QUARTER = "financial-quarter"
    RANGE = "range"


@dataclass(frozen=True)
class Period:
    """A run of whole months, with the words it was asked for in."""

    text: str
    kind: PeriodKind
    first: Month
    last: Month

    @property
    def start(self) -> date:
        return self.first.first_day

    @property
    def end(self) -> date:
        return self.last.last_day

    def months(self) -> list[Month]:
        out, m = [], self.first
        while m <= self.last:
            out.append(m)
            m = m.plus(1)
        return out

    def describe(self) -> str:
        return f"{self.text} ({self.start.isoformat()} to {self.end.isoformat()})"


def parse_period(text: str) -> Period:
    """Parse any accepted period form, or fail with a message listing the forms."""
    raw = str(text).strip()
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})", raw):
            month = Month.parse(raw)
            return Period(str(month), PeriodKind.MONTH, month, month)
        if m := re.fullmatch(r"(\d{4})-Q([1-4])", raw, re.IGNORECASE):
            year, q = int(m.group(1)), int(m.group(2))
            first = Month(year, 3 * q - 2)
            return Period(f"{year}-Q{q}", PeriodKind.QUARTER, first, first.plus(2))
        if m := re.fullmatch(r"(\d{4})/(\d{2})(?:-Q([1-4]))?", raw, re.IGNORECASE):
            year, tail = int(m.group(1)), int(m.group(2))
            if (year + 1) % 100 != tail:
                raise ValueError
            april = Month(year, 4)
            if m.group(3):
                q = int(m.group(3))
                first = april.plus(3 * (q - 1))
                return Period(f"{year}/{tail:02d}-Q{q}", PeriodKind.FINANCIAL_QUARTER, first, first.plus(2))
            return Period(f"{year}/{tail:02d}", PeriodKind.FINANCIAL_YEAR, april, april.plus(11))
        if m := re.fullmatch(r"(\d{4}-\d{1,2})\s*\.\.\s*(\d{4}-\d{1,2})", raw):
            first, last = Month.parse(m.group(1)), Month.parse(m.group(2))
            if last < first:
                raise ValueError
            return Period(f"{first}..{last}", PeriodKind.RANGE, first, last)
    except (ValueError, PbrError):
        pass
    raise PbrError(f"'{text}' is not a period pbr understands. Accepted: {ACCEPTED_FORMS}.",
                   code="bad-period")


def days_active(month: Month, start: date | None, end: date | None) -> int:
    """Days of `month` on which a contract running from `start` to `end` (inclusive) is active."""
    first = month.first_day if start is None else max(month.first_day, start)
    last = month.last_day if end is None else min(month.last_day, end)
    return max(0, (last - first).days + 1)


def working_days(after: date, until: date, holidays: frozenset[date] = frozenset()) -> int:
    """Working days (Monday to Friday, not a listed holiday) after `after` up to and
    including `until`; 0 when `until` is not later."""
    if until <= after:
        return 0
    days = (until - after).days
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    for i in range(1, rest + 1):
        if (after + timedelta(days=i)).weekday() < 5:
            count += 1
    return count - sum(1 for h in holidays if after < h <= until and h.weekday() < 5)


def financial_year_start(day: date, first_month: int = 4) -> date:
    """1 April of the UK financial year containing `day` (or the first of `first_month`, for a
    scheme whose contract years start in another month)."""
    return date(day.year if day.month >= first_month else day.year - 1, first_month, 1)


def financial_year_label(month: Month, first_month: int = 4) -> str:
    """The UK financial (or contract) year a month falls in, as pbr writes it: `2013/14`."""
    start = financial_year_start(month.first_day, first_month)
    return f"{start.year}/{str(start.year + 1)[-2:]}"


@dataclass(frozen=True)
class Window:
    """The months a rolling measure looks at for one period month, clipped at the scheme start."""

    first: Month
    last: Month

    @classmethod
    def ending(cls, month: Month, months: int, scheme_start: date | None) -> Window:
        first = month.plus(-(months - 1))
        if scheme_start is not None:
            first = max(first, Month.of(scheme_start))
        return cls(first, month)

    def months(self) -> list[Month]:
        return Period("", PeriodKind.RANGE, self.first, self.last).months()

    def __str__(self) -> str:
        return f"{self.first.first_day.isoformat()} to {self.last.last_day.isoformat()}"



def financial_years(start: date, end: date, first_month: int = 4) -> list[str]:
    """The UK financial (or contract) years (e.g. "2013/14") from `start` to `end`."""
    first = financial_year_start(start, first_month)
    last = financial_year_start(end, first_month)
    return [financial_year_label(Month(y, first_month), first_month)
            for y in range(first.year, last.year + 1)]

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()  # day ordinals as numpy days


def add_months(day: date, months: int) -> date:
    """Calendar months later (or earlier); the day is clipped to the month's end, so
    31 August + 6 months is 28 February (29 in a leap year)."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def add_months_to(days: npt.ArrayLike, months: int) -> np.ndarray:
    """add_months over an array of day ordinals (all real days), as day ordinals."""
    import numpy as np

    day = (np.asarray(days, np.int64) - EPOCH_ORDINAL).astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    into = (day - month.astype("datetime64[D]")).astype(np.int64)  # 0 on the 1st
    target = month + months
    first = target.astype("datetime64[D]")
    length = ((target + 1).astype("datetime64[D]") - first).astype(np.int64)
    return (first + np.minimum(into, length - 1)).astype(np.int64) + EPOCH_ORDINAL


def month_numbers(days: npt.ArrayLike) -> np.ndarray:
    """Months since January 1970 of an array of day ordinals."""
    import numpy as np

    return (np.asarray(days, np.int64) - EPOCH_ORDINAL).astype("datetime64[D]").astype(
        "datetime64[M]").astype(np.int64)


def month_number(month: Month) -> int:
    return (month.year - 1970) * 12 + month.month - 1
