"""Which rows and columns of a sheet Excel shows, read from the sheet's XML as it streams,
by the schema's own rules: attributes in any order, single or double quotes, any namespace
prefix, booleans as xsd:boolean (true, false, 1, 0 with whitespace collapsed), numbers with
surrounding whitespace, and a row without `r=` numbered one after the row before it."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_ATTR_RE = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ROW_TAG_RE = re.compile(rb"<(?:[\w.-]+:)?row(\s[^>]*)?/?>")
# A row that may be hidden: `hidden` other than a plain false or 0, or a height that may be
# zero (starting 0, ., + or -); the rest (hidden="false", ht="15") need no parsing. The
# quick pattern (no prefix: a chunk spelt the usual way) starts with a literal: found fast.
_MAY_HIDE = (rb"""(?:hidden\s*=\s*["']\s*(?!(?:false|0)\s*["'])|ht\s*=\s*["']\s*[-+0.])""")
_ROW_SUSPECT_RE = re.compile(rb"<(?:[\w.-]+:)?row(\s(?:[^>]*?\s)?(?:[\w.-]+:)?" + _MAY_HIDE
                             + rb"[^>]*)>")
_QUICK_SUSPECT_RE = re.compile(rb"<row(\s(?:[^>]*?\s)?" + _MAY_HIDE + rb"[^>]*)>")
_COL_TAG_RE = re.compile(rb"<(?:[\w.-]+:)?col(\s[^>]*)?/?>")
_FORMAT_PR_RE = re.compile(rb"<(?:[\w.-]+:)?sheetFormatPr(\s[^>]*)?/?>")


def attrs(tag_body: bytes | None) -> dict[bytes, bytes]:
    """A tag's attributes by local name (a prefix dropped), whatever the quotes."""
    return {m.group(1).split(b":")[-1]: m.group(2) if m.group(2) is not None else m.group(3)
            for m in _ATTR_RE.finditer(tag_body or b"")}


def true(value: bytes | None) -> bool:
    """An xsd:boolean attribute: absent or false/0 is False; true/1 is True; anything else
    (no reader agrees on it) is taken as True, so that what it may hide is reported."""
    if value is None:
        return False
    return value.strip() not in (b"0", b"false")


def zero(value: bytes | None) -> bool:
    """A height or width of zero, however it is written (0, 0.0, 0E0, with spaces)."""
    try:
        return value is not None and Decimal(value.decode("ascii", "replace").strip()) == 0
    except InvalidOperation:
        return False


def narrow(value: bytes | None) -> bool:
    """A column width under one character (0.05, 0, a negative width): nothing it holds can
    be read in it (Excel shows at most a sliver of '#')."""
    try:
        return value is not None and Decimal(value.decode("ascii", "replace").strip()) < 1
    except InvalidOperation:
        return False


def number(value: bytes | None) -> int | None:
    text = (value or b"").strip()
    return int(text) if text.isdigit() and len(text) < 12 else None


class Visible:
    """Fed the sheet's XML chunk by chunk: the rows and columns Excel would not show."""

    def __init__(self) -> None:
        self.hidden_rows: set[int] = set()
        self.hidden_columns: set[int] = set()
        self.last_row = 0  # the number of the last row seen
        self.rows_hidden = False  # sheetFormatPr zeroHeight: rows without a height have none
        self.carry = b""

    def feed(self, chunk: bytes, max_columns: int, usual: bool = False) -> None:
        """Read one more chunk; `usual`: spelt the usual way (sheet_scan._unusual: no
        prefix on rows, no tabs or carriage returns, no single quotes)."""
        usual = usual and len(self.carry) < 256  # (the tail sheet_scan looked at holds it)
        data = self.carry + chunk
        cut = data.rfind(b"<")
        if cut < 0 or b">" in data[cut:]:
            cut = len(data)
        part, self.carry = data[:cut], data[cut:]
        if len(self.carry) > 1 << 20:  # no tag is that long: what follows is not a tag
            self.carry = b""
        if b"eroHeight" in part:
            for m in _FORMAT_PR_RE.finditer(part):
                self.rows_hidden = self.rows_hidden or true(attrs(m.group(1)).get(b"zeroHeight"))
        if b"col" in part:
            for m in _COL_TAG_RE.finditer(part):
                found = attrs(m.group(1))
                if true(found.get(b"hidden")) or narrow(found.get(b"width")):
                    lo, hi = number(found.get(b"min")), number(found.get(b"max"))
                    if lo is not None and hi is not None and lo <= max_columns:
                        self.hidden_columns.update(range(lo, min(hi, max_columns) + 1))
        if not self.rows_hidden and self._numbered(part, usual):
            # every row numbered (the usual case): only rows that may be hidden are parsed
            for m in (_QUICK_SUSPECT_RE if usual else _ROW_SUSPECT_RE).finditer(part):
                found = attrs(m.group(1))
                self._row(found, number(found.get(b"r")))
            last = part.rfind(b"<row")
            tag = _ROW_TAG_RE.match(part, last) if last >= 0 else None
            if tag is not None:
                self.last_row = max(self.last_row, number(attrs(tag.group(1)).get(b"r")) or 0)
            return
        for body in _ROW_TAG_RE.findall(part):  # rows without r=, or hidden by default
            found = attrs(body)
            given = number(found.get(b"r"))
            self.last_row = given if given is not None else self.last_row + 1
            self._row(found, self.last_row)

    @staticmethod
    def _numbered(part: bytes, usual: bool) -> bool:
        """Whether every row tag of `part` is spelt the usual way, `<row r="...`: byte
        counts, no pattern. Anything else (a prefix, r= later, no r=, a rowBreaks) has the
        part read tag by tag."""
        if not usual:
            return False
        return part.count(b"<row") == part.count(b'<row r="')

    def _row(self, found: dict[bytes, bytes], row: int | None) -> None:
        if row is None:
            return
        height = found.get(b"ht")
        if true(found.get(b"hidden")) or zero(height) or (self.rows_hidden and height is None):
            self.hidden_rows.add(row)
