"""What a cell shows under its number format, and whether that reads back as what it holds.

A number format has up to four sections split by `;` (positive; negative; zero; text), each
of literals ("text", \\x, spaces, $ - + ( ) : and the like), digit placeholders (0 # ?), a
decimal point, commas (grouping between placeholders, dividing by 1,000 after the last one),
percent signs (multiplying by 100), `@` (the text itself) and `General`, or date parts
(y m d h s AM/PM). `render` gives the text Excel displays; `reads_back` says whether that
text, read as a number, is the value stored, and `shows_date` whether a date format shows
the whole day. Anything rendered here is rendered exactly; a format it cannot render
exactly (conditions [>100], elapsed times [h], fractions, exponents, literals between the
digits) is `Unrenderable`, and the cell is refused rather than guessed at.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# The built-in formats (ECMA-376 18.8.30) that a workbook uses by number without writing
# them out. The date of 14 depends on the reader's locale; every spelling shows d, m and y.
BUILTIN = {0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%",
           11: "0.00E+00", 12: "# ?/?", 13: "# ??/??", 14: "mm-dd-yy", 15: "d-mmm-yy",
           16: "d-mmm", 17: "mmm-yy", 18: "h:mm AM/PM", 19: "h:mm:ss AM/PM", 20: "h:mm",
           21: "h:mm:ss", 22: "m/d/yy h:mm", 37: "#,##0 ;(#,##0)", 38: "#,##0 ;[Red](#,##0)",
           39: "#,##0.00;(#,##0.00)", 40: "#,##0.00;[Red](#,##0.00)", 45: "mm:ss",
           46: "[h]:mm:ss", 47: "mmss.0", 48: "##0.0E+0", 49: "@"}

# Characters Excel shows as themselves without quotes.
_PLAIN = set("$-+/():!^&'~{}<>= ") | {"£", "€", "¥"}
_COLOURS = {"black", "blue", "cyan", "green", "magenta", "red", "white", "yellow"}


class Unrenderable(ValueError):
    """A format pbr cannot render exactly."""


def split_sections(code: str) -> list[str]:
    """The format's sections, split at each `;` outside quotes, brackets and escapes."""
    sections, current, i = [], [], 0
    while i < len(code):
        ch = code[i]
        if ch == '"':
            end = code.find('"', i + 1)
            if end < 0:
                raise Unrenderable("an unclosed quote")
            current.append(code[i:end + 1])
            i = end + 1
            continue
        if ch in "\\_*":
            current.append(code[i:i + 2])
            i += 2
            continue
        if ch == "[":
            end = code.find("]", i)
            if end < 0:
                raise Unrenderable("an unclosed bracket")
            current.append(code[i:end + 1])
            i = end + 1
            continue
        if ch == ";":
            sections.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    sections.append("".join(current))
    if len(sections) > 4:
        raise Unrenderable("more than four sections")
    return sections


def _tokens(section: str) -> list[tuple[str, str]]:
    """A section as (kind, text): lit, digit, point, comma, percent, at, general, date."""
    out: list[tuple[str, str]] = []
    i = 0
    lower = section.lower()
    while i < len(section):
        ch = section[i]
        if ch == '"':
            end = section.index('"', i + 1)
            out.append(("lit", section[i + 1:end]))
            i = end + 1
        elif ch == "\\":
            out.append(("lit", section[i + 1:i + 2]))
            i += 2
        elif ch == "_":
            out.append(("lit", " "))  # a space the width of the next character
            i += 2
        elif ch == "*":
            i += 2  # repeat the next character to fill the cell: shows no digit
        elif ch == "[":
            end = section.index("]", i)
            inner = section[i + 1:end]
            if inner.lower() in _COLOURS or re.fullmatch(r"(?i)color\s*\d+", inner):
                pass  # a colour: changes no character
            elif inner.startswith("$"):
                out.append(("lit", inner[1:].split("-", 1)[0]))  # currency [$£-809]; locale
            elif re.fullmatch(r"(?i)h+|m+|s+", inner):
                raise Unrenderable(f"[{inner}] is an elapsed time, not the number held")
            elif inner[:1] in "<>=":
                raise Unrenderable(f"[{inner}] is a condition choosing the section")
            else:
                raise Unrenderable(f"[{inner}]")  # another calendar, a locale's digits
            i = end + 1
        elif lower.startswith("general", i):
            out.append(("general", ""))
            i += 7
        elif ch in "0#?":
            out.append(("digit", ch))
            i += 1
        elif ch in ".,%@":
            out.append(({".": "point", ",": "comma", "%": "percent", "@": "at"}[ch], ch))
            i += 1
        elif lower.startswith(("am/pm", "a/p"), i):
            size = 5 if lower.startswith("am/pm", i) else 3
            out.append(("date", lower[i:i + size]))
            i += size
        elif ch.lower() in "ymdhse":
            j = i
            while j < len(section) and section[j].lower() == ch.lower():
                j += 1
            out.append(("date", lower[i:j]))
            i = j
        elif ch in _PLAIN:
            out.append(("lit", ch))
            i += 1
        else:
            raise Unrenderable(f"the character {ch!r}")
    return out


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _general(value: Decimal) -> str:
    """General: the number as typed, up to eleven characters (beyond that Excel rounds or
    turns to 1E+11 by the column's width, which pbr cannot know)."""
    text = _plain(value)
    if len(text.lstrip("-")) > 11:
        raise Unrenderable("General on a number of more than eleven characters")
    return text


def _number(tokens: list[tuple[str, str]], value: Decimal) -> str:
    """One numeric section applied to `value` (its sign already dealt with)."""
    kinds = [k for k, _ in tokens]
    if "date" in kinds:
        raise Unrenderable("a date format on a number")
    if "at" in kinds:
        raise Unrenderable("@ in a number's section")
    if "general" in kinds:
        if "digit" in kinds:
            raise Unrenderable("General with digit placeholders")
        return "".join(_general(value) if k == "general" else t for k, t in tokens
                       if k in ("lit", "general"))
    places = [n for n, k in enumerate(kinds) if k == "digit"]
    if not places:
        return "".join(t for k, t in tokens if k in ("lit", "percent"))
    first, last = places[0], places[-1]
    point = kinds.index("point") if "point" in kinds else None
    inside = kinds[first:last + 1]
    if any(k not in ("digit", "comma", "point") for k in inside) or inside.count("point") > 1:
        raise Unrenderable("literals between the digits")
    # commas straight after the last placeholder, or straight before the point, divide by
    # 1,000 each; a comma between two placeholders of the integer part groups thousands
    int_end = point if point is not None else last + 1
    scale = 0
    n = last + 1
    while n < len(kinds) and kinds[n] == "comma":
        scale, n = scale + 1, n + 1
    n = (point if point is not None else first) - 1
    while point is not None and kinds[n] == "comma":
        scale, n = scale + 1, n - 1
    grouping = any(kinds[n] == "comma" and "digit" in kinds[n + 1:int_end]
                   for n in range(first, int_end))
    int_marks = [t for k, t in tokens[first:int_end] if k == "digit"]
    frac_marks = [t for k, t in tokens[(point or len(kinds)):last + 1] if k == "digit"]
    value = value * Decimal(100) ** kinds.count("percent") / Decimal(1000) ** scale
    rounded = value.quantize(Decimal(1).scaleb(-len(frac_marks)), ROUND_HALF_UP)
    whole, _, frac = format(rounded, "f").partition(".")
    whole = whole.lstrip("0")
    need = len(int_marks) - next((i for i, m in enumerate(int_marks) if m in "0?"),
                                 len(int_marks))
    if len(whole) < need:
        pad = "".join("0" if m == "0" else " " for m in int_marks[len(int_marks) - need:])
        whole = pad[:need - len(whole)] + whole
    if grouping:
        digits = whole.lstrip(" ")
        groups: list[str] = []
        while len(digits) > 3:
            groups.insert(0, digits[-3:])
            digits = digits[:-3]
        whole = " " * (len(whole) - len(whole.lstrip(" "))) + ",".join([digits, *groups])
    frac = frac.ljust(len(frac_marks), "0")
    shown_frac = list(frac)
    for n in range(len(frac_marks) - 1, -1, -1):  # trailing zeros under # and ? go
        if shown_frac[n] == "0" and frac_marks[n] in "#?":
            shown_frac[n] = "" if frac_marks[n] == "#" else " "
        else:
            break
    number = whole + ("." + "".join(shown_frac) if point is not None else "")
    before = "".join(t for k, t in tokens[:first] if k in ("lit", "percent"))
    after = "".join(t for k, t in tokens[last + 1:] if k in ("lit", "percent"))
    return before + number + after


def render(code: str, value: float | int | str) -> str:
    """The text Excel shows for `value` under the number format `code`, or Unrenderable."""
    sections = split_sections(code)
    if isinstance(value, str):
        if len(sections) < 4:
            # a text takes the format's single section only where it has @; else shown as is
            section = sections[0] if len(sections) == 1 and "@" in _bare(sections[0]) else "@"
        else:
            section = sections[3]
        return "".join(value if k == "at" else t for k, t in _tokens(section) if k in ("lit", "at"))
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise Unrenderable("not a number") from None
    if not number.is_finite():
        raise Unrenderable("not a finite number")
    if number < 0 and len(sections) >= 2:
        return _number(_tokens(sections[1]), -number)
    if number == 0 and len(sections) >= 3:
        return _number(_tokens(sections[2]), number)
    tokens = _tokens(sections[0])
    if len(sections) == 1 and _bare(sections[0]).strip() == "@":
        tokens = [("general", "")]
    shown = _number(tokens, abs(number))
    # the sign goes before a number shown; a section of literals only shows them as they are
    signed = any(k in ("digit", "general") for k, _ in tokens)
    return ("-" + shown) if number < 0 and signed else shown


def _bare(section: str) -> str:
    """A section without its quoted literals and escapes: the codes only."""
    return re.sub(r'"[^"]*"|\\.|_.|\*.', "", section)


_READ_RE = re.compile(r"^([^\d]*?)(\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)([^\d]*)$")


def read_number(text: str) -> Decimal | None:
    """The number a person reads in `text`: digits with grouping commas and a point, a
    minus sign or brackets for a negative, % dividing by 100; a dash alone (accounting
    formats) is 0. None when the text holds no number, or more than one."""
    t = text.strip()
    negative = False
    if len(t) >= 2 and t[0] == "(" and t[-1] == ")":
        negative, t = True, t[1:-1].strip()
    m = _READ_RE.match(t)
    if m is None:
        if "-" in t and t.replace("-", "").strip(" £$€¥") == "":
            return Decimal(0)
        return None
    before, digits, after = m.groups()
    if "-" in before:
        negative = not negative
    number = Decimal(digits.replace(",", "")) / Decimal(100) ** after.count("%")
    return -number if negative else number


def reads_back(code: str, value: float | int) -> tuple[bool, str]:
    """(whether the text shown reads back as `value`, that text); Unrenderable when the
    format cannot be rendered exactly."""
    shown = render(code, value)
    stored = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    number = read_number(shown)
    return number is not None and number == stored, shown


# -- what kind of format, decided once a style ------------------------------------------------

FAITHFUL, CHECK, DATE_PART = "faithful", "check", "date-part"
MONTH_FIRST = "month-first"  # a date with its month in figures before its day (06/13/2013)
# Built-in formats a spreadsheet shows in its reader's own short date (14 and 22: listed as
# mm-dd-yy above, shown 13/06/2013 to a reader in the UK)
SHORT_DATES = frozenset({14, 22})


def kind(code: str) -> str:
    """FAITHFUL: every value shows as itself (General, @, a date showing day, month and
    year in every section); DATE_PART: a date format that hides part of the date;
    MONTH_FIRST: one showing the month in figures before the day; CHECK:
    each value must be rendered (or the format cannot be: render raises)."""
    bare = _bare(code).strip()
    if bare.lower() in ("general", "@", ""):
        return FAITHFUL if bare else CHECK
    try:
        sections = split_sections(code)
        dates = [[t for k, t in _tokens(s) if k == "date"] for s in sections]
    except Unrenderable:
        return CHECK
    if not any(dates):
        return CHECK
    for parts in dates[:3]:
        # m and mm are minutes straight after an hour or before seconds, else the month
        month_places = [n for n, p in enumerate(parts) if p.startswith("m") and not (
            len(p) <= 2 and ((n and parts[n - 1].startswith("h"))
                             or (n + 1 < len(parts) and parts[n + 1].startswith("s"))))]
        months = [parts[n] for n in month_places]
        days = [p for p in parts if p in ("d", "dd")]
        if not any(p[0] in "ye" for p in parts) or not months or not days:
            return DATE_PART
        month_at, day_at = month_places[0], parts.index(days[0])
        year_at = next(n for n, p in enumerate(parts) if p[0] in "ye")
        if len(months[0]) <= 2 and year_at > month_at < day_at:
            return MONTH_FIRST  # a reader in the UK reads 06/05/2013 as 6 May (2013-06-05 is plain)
    return FAITHFUL
