"""Turn one cell's raw value into the column's type, or say exactly what is wrong with it.

Returns are strict: a number typed as text or a date typed as text is reported, never
guessed. The commissioner's register (often a CSV, where everything is text) is read with
`from_text=True`, which accepts numbers and dates written as text.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pbr_cli.model.records import CodeList, Column

_NUMBER_TEXT = re.compile(r"^\s*[-+]?£?\s*[-+]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?\s*$")
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y", "%d %B %Y",
                 "%d %b %Y")


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number_from_text(text: str) -> Decimal | None:
    if not _NUMBER_TEXT.match(text) or not re.search(r"\d", text):
        return None
    cleaned = text.replace(",", "").replace("£", "").replace(" ", "").strip()
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


_TIME_FORMATS = tuple(f"{day}{between}{time}" for day in ("%Y-%m-%d", "%d/%m/%Y")
                      for between in (" ", "T") for time in ("%H:%M", "%H:%M:%S"))


def _date_time_from_text(text: str) -> datetime | None:
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(" ".join(text.split()), fmt)
        except ValueError:
            continue
    return None


def to_the_second(value: datetime) -> datetime:
    """A date and time to the nearest second: Excel keeps a time as a fraction of a day, so
    14:30 may come back a few microseconds either side of it."""
    return (value + timedelta(microseconds=500_000)).replace(microsecond=0)


def shown(value: Any) -> str:
    """A date as YYYY-MM-DD, a date and time as YYYY-MM-DD HH:MM (with seconds if any)."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds" if value.second else "minutes")
    return value.isoformat() if isinstance(value, date) else str(value)


def _date_from_text(text: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _exact(value: float | int) -> Decimal:
    # A float from the reader holds the shortest decimal that round-trips; repr gives exactly it.
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def convert(value: Any, column: Column, codes: dict[str, CodeList],
            from_text: bool = False) -> tuple[Any, str | None, str]:
    """(typed value, problem code or None, message detail). Blank gives (None, None, "")."""
    if is_blank(value):
        return None, None, ""
    kind = column.type
    if kind == "text":
        if isinstance(value, float) and value.is_integer():
            return str(int(value)), None, ""
        if isinstance(value, (date, datetime)):
            return value.isoformat(), None, ""
        text = str(value)
        if text.isascii() and text.isprintable() and (from_text or " " not in text.strip()):
            return text.strip(), None, ""
        return identifier(text, strict=not from_text)
    return _convert_other(value, column, codes, from_text, kind)


def identifier(text: str, strict: bool) -> tuple[Any, str | None, str]:
    """Text as pbr compares it: Unicode NFKC (fullwidth letters become plain ones) without
    surrounding spaces. A character nobody can see (a zero-width space, a soft hyphen, a
    control or direction mark) is refused in any text; in a return (`strict`), where text
    holds identifiers (client, service, family), so is any character but printable ASCII
    without spaces: a Cyrillic С looks like C and would make one client two."""
    import unicodedata

    clean = unicodedata.normalize("NFKC", text).strip()
    for ch in clean:
        category = unicodedata.category(ch)
        invisible = category in ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp") or (
            category == "Zs" and ch != " ")
        if invisible or (strict and (not ch.isascii() or ch == " ")):
            name = unicodedata.name(ch, "an unnamed character")
            what = ("which cannot be seen" if invisible else "a space inside an identifier"
                    if ch == " " else "which looks like a plain letter but is not one")
            return None, "suspicious-characters", (f"'{text.strip()}' holds U+{ord(ch):04X} "
                                                   f"{name}, {what}; type it again in plain "
                                                   "letters and digits")
    return clean, None, ""


def _convert_other(value: Any, column: Column, codes: dict[str, CodeList], from_text: bool,
                   kind: str) -> tuple[Any, str | None, str]:
    if kind in ("integer", "number", "money"):
        if isinstance(value, bool):
            return None, "not-a-number", f"'{value}' is not a number"
        number: Decimal | None
        if isinstance(value, (int, float)):
            number = _exact(value)
        elif isinstance(value, str):
            number = _number_from_text(value)
            if number is None:
                return None, "not-a-number", f"'{value}' is not a number"
            if not from_text:
                return None, "number-as-text", f"'{value}' is a number typed as text"
        else:
            return None, "not-a-number", f"'{value}' is not a number"
        if not number.is_finite():  # an infinity or NaN: no figure can be made of it
            return None, "not-a-number", f"'{value}' is not a finite number"
        if kind == "integer":
            if number != number.to_integral_value():
                return None, "not-an-integer", f"{number} is not a whole number"
            return int(number), None, ""
        return number, None, ""
    if kind == "date":
        if isinstance(value, datetime):
            return value.date(), None, ""
        if isinstance(value, date):
            return value, None, ""
        if isinstance(value, str):
            parsed = _date_from_text(value)
            if parsed is None:
                return None, "not-a-date", f"'{value}' is not a date"
            if not from_text:
                return None, "date-as-text", f"'{value}' is a date typed as text"
            return parsed, None, ""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return None, "date-as-number", (f"{value:g} is a plain number, not a date (format "
                                            "the cell as a date)")
        return None, "not-a-date", f"'{value}' is not a date"
    if kind == "date-time":
        return _date_time(value, from_text)
    if kind == "code":
        text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        code_list = codes[column.codes]  # type: ignore[index]
        code = code_list.normalise(text)
        if code is None:
            allowed = list(code_list.values)
            shown = ", ".join(allowed) if len(allowed) <= 8 else "see the Codes sheet"
            return None, "unknown-code", f"'{text}' is not a {code_list.label.lower()} code ({shown})"
        return code, None, ""
    raise ValueError(f"unknown column type {kind}")


def _date_time(value: Any, from_text: bool) -> tuple[Any, str | None, str]:
    """A date and time: a cell Excel holds as one (a serial with a fraction of a day), or in
    the register, text such as 2014-05-03 14:30. A cell holding a whole day is 00:00 that day:
    Excel holds 2014-05-03 00:00 and 2014-05-03 alike, and the reader gives both as a date.
    Text needs its time written (text 2014-05-03 says nothing of one)."""
    example = "enter the date and the time, e.g. 2014-05-03 14:30"
    if isinstance(value, datetime):
        return to_the_second(value), None, ""
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day), None, ""
    if isinstance(value, str):
        parsed = _date_time_from_text(value)
        if parsed is None:
            day = _date_from_text(value)
            return None, "not-a-date", (f"'{value}' has no time of day ({example})" if day
                                        else f"'{value}' is not a date and time ({example})")
        if not from_text:
            return None, "date-as-text", f"'{value}' is a date and time typed as text"
        return parsed, None, ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return None, "date-as-number", (f"{value:g} is a plain number, not a date and time "
                                        "(format the cell as a date and time)")
    return None, "not-a-date", f"'{value}' is not a date and time"
