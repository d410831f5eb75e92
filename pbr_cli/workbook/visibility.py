"""Pay only on what a person sees (docs/limits.md): the cells whose style or conditional
format shows something other than the value read, marked as problems on their cells, and
the sheet chosen by the name a person would pick.

The sheet scan (sheet_scan.py) finds, as the XML streams, the cells in a style that needs a
look (styles.StyleBook: a format showing nothing, a font the colour of its fill, a number
format to render) and the ranges under a conditional format that changes what is shown;
`mark` then compares each such cell's value with what it shows.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta
from typing import Any

from pbr_cli.workbook import numfmt
from pbr_cli.workbook.package import Package, UnreadableFile
from pbr_cli.workbook.rows import attrs, true
from pbr_cli.workbook.styles import colour_name


def watch_pattern(pkg: Package) -> re.Pattern[bytes] | None:
    """A pattern finding the cells whose style needs a look (any attribute order, quotes,
    prefix), or None when no style does."""
    looks = pkg.looks.looks if pkg.looks is not None else {}
    if not looks:
        return None
    alternatives = b"|".join(str(i).encode() for i in sorted(looks))
    return re.compile(rb"<(?:[\w.-]+:)?c\s(?=[^>]*?(?<=\s)(?:[\w.-]+:)?s\s*=\s*[\"']\s*0*(?:"
                      + alternatives + rb")\s*[\"'])([^>]*)>")


# a cell in the usual spelling: its column, row and style (other attributes between)
_QUICK_STYLED_RE = re.compile(rb'<c r="([A-Z]{1,3})(\d{1,7})"(?: [a-zA-Z]+="[^"]*")*? s="(\d+)"')


class Watcher:
    """Fed a sheet's XML chunk by chunk: the cells in a style that needs a look, by
    (row0, col0). Where every cell is spelt the usual way (reference first, double quotes)
    one pattern gives each cell's reference and style; elsewhere each cell in such a style
    is found whatever its spelling and parsed."""

    def __init__(self, pkg: Package, part: str) -> None:
        self.pkg, self.part = pkg, part
        self.looks = pkg.looks.looks
        self.wanted = {str(i).encode() for i in self.looks}
        self.pattern = watch_pattern(pkg)
        self.watched: dict[tuple[int, int], int] = {}
        self.columns: dict[bytes, int] = {}
        self.carry = b""

    def feed(self, chunk: bytes, usual: bool) -> None:
        usual = usual and len(self.carry) < 256  # (the tail sheet_scan looked at holds it)
        data = self.carry + chunk
        cut = data.rfind(b"<")
        if cut < 0 or b">" in data[cut:]:
            cut = len(data)
        part, self.carry = data[:cut], data[cut:]
        if len(self.carry) > 1 << 20:
            self.carry = b""
        watched, columns, wanted = self.watched, self.columns, self.wanted
        if usual and part.count(b"<c ") == part.count(b'<c r="'):
            for letters, digits, style in _QUICK_STYLED_RE.findall(part):
                if style in wanted or (style[:1] == b"0" and int(style) in self.looks):
                    col = columns.get(letters)
                    if col is None:
                        col = columns[letters] = column0(letters)
                    watched[(int(digits) - 1, col)] = int(style)
            return
        assert self.pattern is not None
        for m in self.pattern.finditer(part):
            cell = attrs(m.group(1))
            key = cell_key(cell.get(b"r"))
            if key is None:
                raise UnreadableFile(self.pkg.path, "unsafe-workbook", f"the sheet {self.part} "
                                     "has a cell without a reference in a style pbr must look "
                                     "at; refused")
            watched[key] = int(cell[b"s"].strip())


_REF_RE = re.compile(rb"\s*([A-Za-z]{1,3})(\d{1,7})\s*")
_CF_START = re.compile(rb"<(?:[\w.-]+:)?conditionalFormatting[\s>]")
_CF_BLOCK = re.compile(rb"<((?:[\w.-]+:)?)conditionalFormatting(\s[^>]*)?>(.*?)</\1conditionalFormatting>",
                       re.S)
_RULE_RE = re.compile(rb"<((?:[\w.-]+:)?)cfRule(\s[^>]*)?(?:/>|>(.*?)</\1cfRule>)", re.S)
_SQREF_RE = re.compile(rb"<(?:[\w.-]+:)?sqref\s*>([^<]*)<", re.S)
_FORMULA_RE = re.compile(rb"<(?:[\w.-]+:)?f(?:ormula)?\s*>([^<]*)<", re.S)
_SHOW_VALUE_RE = re.compile(rb"<(?:[\w.-]+:)?(?:dataBar|iconSet)(\s[^>]*)?/?>")
_INLINE_DXF_RE = re.compile(rb"<((?:[\w.-]+:)?)dxf\s*>(.*?)</\1dxf>", re.S)
MAX_CONDITIONAL = 16 * 2**20


def column0(letters: bytes) -> int:
    """A column's letters (A, AB) as its 0-based index."""
    col = 0
    for ch in letters.upper():
        col = col * 26 + (ch - 64)
    return col - 1


def cell_key(ref: bytes | None) -> tuple[int, int] | None:
    """A cell reference (B7, with spaces round it) as (row0, col0)."""
    m = _REF_RE.fullmatch(ref or b"")
    return (int(m.group(2)) - 1, column0(m.group(1))) if m else None


def conditional_ranges(pkg: Package, text: bytes) -> list[tuple[tuple[int, int, int, int], str]]:
    """((row0, col0, row1, col1), what it changes) for each range under a conditional
    format that may change what its cells show: a dxf changing the number format or the
    font colour, a data bar or icon set hiding the value. A rule whose formula is plainly
    false (FALSE, 0) changes nothing."""
    dxfs = pkg.looks.dxfs if pkg.looks is not None else []
    found = []
    for block in _CF_BLOCK.finditer(text):
        body = block.group(3)
        sqref = attrs(block.group(2)).get(b"sqref")
        inner = _SQREF_RE.search(body)
        refs = (sqref or (inner.group(1) if inner else b"")).split()
        changes = set()
        for rule in _RULE_RE.finditer(body):
            found_attrs = attrs(rule.group(2))
            inside = rule.group(3) or b""
            formula = _FORMULA_RE.search(inside)
            kind = (found_attrs.get(b"type") or b"").strip()
            if (kind == b"expression" and formula
                    and formula.group(1).strip().upper() in (b"FALSE", b"0", b"1=0")):
                continue  # (a cellIs rule's formula is what the value is compared with)
            for m in _SHOW_VALUE_RE.finditer(inside):
                value = attrs(m.group(1)).get(b"showValue")
                if value is not None and not true(value):
                    changes.add("hides the value (a data bar or icons only)")
            dxf_id = found_attrs.get(b"dxfId")
            what = ""
            if dxf_id is not None and dxf_id.strip().isdigit():
                index = int(dxf_id)
                what = dxfs[index] if index < len(dxfs) else "number format"
            inline = _INLINE_DXF_RE.search(inside)
            if inline:
                what = " and ".join(w for w, tag in (("number format", b"numFmt"),
                                                     ("font colour", b"color"))
                                    if tag in inline.group(2))
            if what:
                changes.add(f"changes its {what}")
        if not changes:
            continue
        for ref in refs:
            ends = [cell_key(e) for e in ref.replace(b"$", b"").split(b":")]
            if len(ends) == 1:
                ends = ends * 2
            if len(ends) == 2 and ends[0] and ends[1]:
                (r0, c0), (r1, c1) = ends[0], ends[1]
                found.append(((min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1)),
                              " and ".join(sorted(changes))))
    return found


def _shown_value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime) and value.time() == time(0):
        return value.date().isoformat()
    return str(value)


def judge(pkg: Package, style: int, value: Any) -> tuple[str, str] | None:
    """(code, detail) when a value in this style is not shown as itself; None when it is."""
    look = pkg.looks.looks.get(style) if pkg.looks is not None else None
    if look is None or value is None or value == "" or isinstance(value, bool):
        return None
    if look.invisible:
        return "invisible-value", ""
    if look.tiny is not None:
        return "font-too-small", f"its font is {look.tiny:g} pt"
    if look.font is not None and look.fill is not None:
        return "same-colour-as-fill", (f"its font is {colour_name(look.font)} on a "
                                       f"{colour_name(look.fill)} fill")
    if look.kind == numfmt.FAITHFUL:
        return None
    code = look.code
    if look.kind in (numfmt.DATE_PART, numfmt.MONTH_FIRST):
        if isinstance(value, str):
            return None
        if look.kind == numfmt.MONTH_FIRST:
            return "shown-differs", (f"its format '{code}' shows the month before the day, "
                                     f"which a reader in the UK takes the other way round "
                                     f"(it holds {_shown_value(value)})")
        return "shown-differs", (f"its format '{code}' shows only part of the date it holds "
                                 f"({_shown_value(value)})")
    try:
        if code is None:
            raise numfmt.Unrenderable("a built-in format of the reader's locale")
        if isinstance(value, (datetime, date, time, timedelta)):
            raise numfmt.Unrenderable("a date or time")
        if isinstance(value, str):
            shown = numfmt.render(code, value)
            agrees = shown == value
        else:
            agrees, shown = numfmt.reads_back(code, value)
    except numfmt.Unrenderable as why:
        return "shown-differs", (f"pbr cannot tell what its number format "
                                 f"'{code if code is not None else 'built-in'}' shows ({why})")
    if agrees:
        return None
    return "shown-differs", (f"it shows '{shown.strip()}' but holds {_shown_value(value)} "
                             f"(its number format is '{code}')")


def mark(pkg: Package, scan, rows: list[list[Any]], special: dict, details: dict) -> None:
    """Mark each cell whose value is not shown as itself: its code in `special`, what it
    shows and holds in `details` (both keyed by (row0, col0))."""
    seen: dict[tuple[int, type, Any], tuple[str, str] | None] = {}
    for (r, c), style in scan.watched.items():
        if r < len(rows) and c < len(rows[r]):
            value = rows[r][c]
            key = (style, type(value), value)
            try:
                verdict = seen[key] if key in seen else seen.setdefault(key, judge(pkg, style, value))
            except TypeError:  # a value that cannot be a key
                verdict = judge(pkg, style, value)
            if verdict is not None:
                special[(r, c)] = verdict[0]
                details[(r, c)] = verdict[1]
    for (r0, c0, r1, c1), what in scan.conditional:
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            row = rows[r]
            for c in range(c0, min(c1, len(row) - 1) + 1):
                if row[c] is not None and row[c] != "" and (r, c) not in special:
                    special[(r, c)] = "conditional-format"
                    details[(r, c)] = what


def _norm(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().casefold()


def check_sheet_choice(label: str, pkg: Package, targets: list[str]) -> None:
    """A person picks a sheet by the name they see, and reviews what they can see: a hidden
    sheet pbr would read is refused, and said to stand behind a visible look-alike where a
    visible one bears the same name (after NFKC, trimming and case folding)."""
    for name in targets:
        if name not in pkg.hidden:
            continue
        twins = [n for n in pkg.sheets if n not in pkg.hidden and n != name
                 and _norm(n) == _norm(name)]
        if twins:
            raise UnreadableFile(label, "hidden-sheet-look-alike",
                                 f"the sheet '{name}' pbr reads is hidden, and the visible "
                                 f"sheet '{twins[0]}' bears its name: a person opening the "
                                 f"return sees '{twins[0]}', pbr would pay on '{name}'; "
                                 "delete one of them and send the return again")
        raise UnreadableFile(label, "hidden-sheet",
                             f"the sheet '{name}' pbr reads is hidden: a person reviewing the "
                             "return cannot see what would be paid on; unhide it (Format > "
                             "Sheet > Unhide, or remove state=\"hidden\") and send the "
                             "return again")
