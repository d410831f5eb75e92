"""One sheet's XML streamed in bounded memory, before any parser sees it: its true used range,
its hidden rows and columns, cells whose format shows nothing, formulas and Excel errors,
and the text its cells use (docs/limits.md). A sheet's merged ranges and the cells only the
exact reader can give are found here too."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import defusedxml.ElementTree as SafeET

from pbr_cli.workbook.damage import xml_damage
from pbr_cli.workbook.package import (
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_TEXT_BYTES,
    Package,
    UnreadableFile,
    local,
    stream_part,
)
from pbr_cli.workbook.rows import Visible
from pbr_cli.workbook.visibility import (
    _CF_START,
    MAX_CONDITIONAL,
    Watcher,
    conditional_ranges,
)


@dataclass(frozen=True)
class SheetScan:
    part: str
    max_row: int  # 1-based; 0 for an empty sheet
    max_col: int  # 1-based
    has_formulas: bool
    has_errors: bool
    hidden_rows: frozenset[int] = frozenset()  # 1-based rows hidden, or of zero height
    hidden_columns: frozenset[int] = frozenset()  # 1-based columns hidden, or of zero width
    text_bytes: int = 0  # the shared texts its cells use, each counted at every use
    # (row0, col0) -> style, for the cells whose style needs a look (visibility.judge)
    watched: dict[tuple[int, int], int] = field(default_factory=dict)
    # ranges under a conditional format changing what is shown (visibility.conditional_ranges)
    conditional: list[tuple[tuple[int, int, int, int], str]] = field(default_factory=list)

    @property
    def cells(self) -> int:
        return self.max_row * max(self.max_col, 1)


_Q = rb"""\s*=\s*["']"""
_ROW_NUMBER_RE = re.compile(rb"<(?:[\w.-]+:)?row\s[^>]*?\br" + _Q + rb"(\d+)")
# Only references of two or more letters, or of five or more digits, can pass the limits
# (MAX_COLUMNS x 9,999 rows is within MAX_CELLS): the rest need no look.
_WIDE_REF_RE = re.compile(rb"\sr" + _Q + rb"([A-Za-z]{2,})(\d*)")
_LONG_REF_RE = re.compile(rb"\sr" + _Q + rb"([A-Za-z]*)(\d{5,})")
_FORMULA_RE = re.compile(rb"<(?:[\w.-]+:)?f[\s>/]")
# The spelling Excel and every usual writer use: double quotes, one space before each
# attribute, no spaces round "=", no prefixes on cells, rows, columns or formulas, no
# character references, upper-case references. A chunk written that way is read with the
# quick patterns below (each starts with a literal, which the engine finds fast); any other
# chunk goes through the patterns above.
# A newline inside a tag (before an attribute or round "="): the pattern starts with a
# literal, so the engine finds the few candidates fast.
_NEWLINE_IN_TAG_RE = re.compile(rb"\n[^<>]*=")


_BEYOND: dict[tuple[int, bool], re.Pattern[bytes]] = {}


def _one_letter_beyond(col: int, usual: bool) -> re.Pattern[bytes]:
    """A pattern finding a one-letter cell reference to a column beyond `col` (1-based): a
    handful of searches at the engine's speed find the widest (a letter range, not a loop
    over every cell)."""
    key = (col, usual)
    if key not in _BEYOND:
        upper = f"{chr(65 + col)}-Z".encode()
        _BEYOND[key] = re.compile(rb' r="([' + upper + rb'])\d' if usual else
                                  rb"\sr" + _Q + rb"\s*([" + upper + upper.lower() + rb"])\d")
    return _BEYOND[key]


def _unusual(buf: bytes) -> bool:
    """Whether a chunk is spelt otherwise than the usual way: a tab or carriage return, a
    character reference, single quotes or spaces round "=", a namespace prefix on a cell,
    row or formula, a lower-case cell reference, or a newline inside a tag. Byte searches,
    the rarest first: fast."""
    return (b"\t" in buf or b"\r" in buf or (b"&" in buf and b"&#" in buf)
            or (b"'" in buf and b"='" in buf) or b" =" in buf or b"= " in buf
            or bool(_PREFIXED_TAG_RE.search(buf))
            or bool(_LOWER_REF_RE.search(buf)) or bool(_NEWLINE_IN_TAG_RE.search(buf)))


_LOWER_REF_RE = re.compile(rb' r="[a-z]')
# ":c", ":row" or ":f" (a prefixed cell, row or formula): one search from each colon
_PREFIXED_TAG_RE = re.compile(rb":(?:c|row|f)")
# A namespace prefix on a tag or an attribute's name, and one declared (xmlns:x=): a prefix
# used but never declared is not well-formed XML (a spreadsheet shows such a sheet empty).
# (found from each colon followed by a name: prefixes_used)
_AFTER_COLON_RE = re.compile(rb":[A-Za-z_][\w.-]*(?=\s*=|[\s/>])")
_NAME_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
_NAME_STARTS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_SPACES = frozenset(b" \t\n\r\x0b\x0c")
_PREFIX_DECLARED_RE = re.compile(rb"xmlns:([A-Za-z_][\w.-]*)\s*=")


_QUICK_ROW_RE = re.compile(rb'<row[^>]*? r="(\d+)"')
_QUICK_WIDE_RE = re.compile(rb' r="([A-Z]{2,})(\d*)')
_QUICK_LONG_RE = re.compile(rb' r="([A-Z]*)(\d{5,})')
_QUICK_ERROR = b't="e"'
_CHAR_REF_IN_TAG_RE = re.compile(rb"<(?:[\w.-]+:)?(?:c|row|col)\s[^>]*&#")
_ERROR_RE = re.compile(rb"\st" + _Q + rb"e[\"']")
_ATTR_RE = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
# a cell of the shared string table: its index (the usual spelling, then any)
_QUICK_SHARED_RE = re.compile(rb't="s"[^>]*><v>(\d+)<')
_SHARED_RE = re.compile(rb"\st" + _Q + rb"s[\"'][^>]*>\s*<(?:[\w.-]+:)?v\s*>\s*(\d+)")


def prefixes_used(buf: bytes) -> list[bytes]:
    """The namespace prefixes used on tags and attributes' names, in order: a prefix after
    "<", "</" or white space, then ":" and a name followed by "=", white space, "/" or ">"
    (what the pattern tests/test_sheet_scan.py names plainly finds, the same list). Found
    from each colon followed by a name, looking back to the prefix's start: a sheet's colons
    are few, where the plain pattern tries every "<" and space (most of reading a return
    once, as rows that say spans="1:7" carry a colon into every chunk)."""
    found = []
    for after in _AFTER_COLON_RE.finditer(buf):
        colon = after.start()
        start = _run_start(buf, colon)
        if start == colon or start == 0 or buf[start] not in _NAME_STARTS:
            continue
        before = buf[start - 1]
        if before == 0x3C or before in _SPACES or (before == 0x2F and start > 1
                                                    and buf[start - 2] == 0x3C):
            found.append(buf[start:colon])
    return found


def _run_start(buf: bytes, end: int) -> int:
    """Where the run of a name's characters ending at `end` begins: looked back over in
    windows growing fourfold, each stripped of those characters at C speed (a hostile name
    of millions of characters costs what reading it does)."""
    start, size = end, 64
    while start:
        window = buf[max(0, start - size):start]
        kept = len(window.rstrip(_NAME_BYTES))
        start -= len(window) - kept
        if kept:  # a character of no name: the run begins after it
            return start
        size = min(size * 4, 1 << 20)
    return 0


def _attrs(tag_body: bytes | None) -> dict[bytes, bytes]:
    return {m.group(1).split(b":")[-1]: m.group(2) if m.group(2) is not None else m.group(3)
            for m in _ATTR_RE.finditer(tag_body or b"")}


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def info_size(pkg: Package, part: str) -> int:
    try:
        return pkg.zip.getinfo(part).file_size
    except KeyError:
        return 0


def scan_sheet(pkg: Package, part: str) -> SheetScan:
    """Stream one sheet's XML once: its true used range (from every reference, of any
    length, however it is quoted), formulas and error cells present, the rows and columns
    Excel would not show (hidden, of zero height or width), and the cells whose number
    format shows nothing."""
    max_row = max_col = 0
    formulas = errors = False
    unreferenced = False  # a cell or row written without r=: counted by _walk_positions
    used: set[bytes] = set()
    declared: set[bytes] = {b"xml", b"xmlns"}
    visible = Visible()
    watcher = Watcher(pkg, part) if pkg.looks is not None and pkg.looks.looks else None
    cf_text = b""
    text = 0
    # A cell using a shared text takes at least 20 bytes of the sheet (<c t="s"><v>0</v></c>),
    # and no text is longer than the whole table: when even that many uses of it stay within
    # MAX_TEXT_BYTES (every usual return), the uses need not be counted.
    table = pkg.strings_part.file_size if pkg.strings_part is not None else 0
    count_texts = table * (info_size(pkg, part) // 20) > MAX_TEXT_BYTES
    sizes = pkg.text_sizes() if count_texts else None
    tail = b""
    try:
        info = pkg.zip.getinfo(part)
    except KeyError:
        raise UnreadableFile(pkg.path, "corrupt-workbook", f"the sheet part {part} is missing") from None
    for chunk in stream_part(pkg.path, memoryview(pkg.data), info):
        buf = tail + chunk
        usual = not _unusual(buf)
        if not usual and _CHAR_REF_IN_TAG_RE.search(buf):
            raise UnreadableFile(pkg.path, "unsafe-workbook", f"{_named(pkg, part)} spells cell "
                                 "references with character codes (&#...;), which no "
                                 "spreadsheet writes; refused")
        rows = (_QUICK_ROW_RE if usual else _ROW_NUMBER_RE).findall(buf)
        if rows:
            max_row = max(max_row, max(int(r) if len(r) < 12 else 10**12 for r in rows))
        for letters, digits in (_QUICK_WIDE_RE if usual else _WIDE_REF_RE).findall(buf):
            max_col = max(max_col, _col_number(letters.upper()) if len(letters) < 8 else 10**9)
            if digits:
                max_row = max(max_row, int(digits) if len(digits) < 12 else 10**12)
        for letters, digits in (_QUICK_LONG_RE if usual else _LONG_REF_RE).findall(buf):
            max_row = max(max_row, int(digits) if len(digits) < 12 else 10**12)
            if letters:
                max_col = max(max_col, _col_number(letters.upper()) if len(letters) < 8
                              else 10**9)
        while max_col < 26 and (m := _one_letter_beyond(max_col, usual).search(buf)):
            max_col = ord(m.group(1).upper()) - 64  # the widest one-letter column so far
        unreferenced = unreferenced or _lacks_references(buf, usual)
        if usual:
            formulas = formulas or b"<f>" in buf or b"<f " in buf or b"<f/" in buf
            errors = errors or _QUICK_ERROR in buf
        else:
            formulas = formulas or bool(_FORMULA_RE.search(buf))
            errors = errors or bool(_ERROR_RE.search(buf))
        if b":" in chunk:
            used.update(prefixes_used(buf))
            declared.update(_PREFIX_DECLARED_RE.findall(buf))
        visible.feed(chunk, MAX_COLUMNS, usual)
        if watcher is not None:
            watcher.feed(chunk, usual)
        if cf_text:
            cf_text += chunk
        elif b"onditionalFormatting" in buf and (start := _CF_START.search(buf)) is not None:
            cf_text = buf[start.start():]
        if len(cf_text) > MAX_CONDITIONAL:  # (from the first conditional format on: small)
            raise UnreadableFile(pkg.path, "workbook-too-large", f"the sheet {part}'s "
                                 "conditional formats are too large")
        if sizes is not None and len(sizes):
            # each use of a shared text is a copy in what the reader makes (a cell ending
            # in the tail carried over was counted with the chunk before)
            skip = len(tail)
            found = [int(m.group(1)) for m in
                     (_QUICK_SHARED_RE if usual else _SHARED_RE).finditer(buf)
                     if m.end() > skip and len(m.group(1)) < 12]
            if found:
                import numpy as np

                index = np.array(found, np.int64)
                text += int(sizes[index[index < len(sizes)]].sum())
        if (max_col > MAX_COLUMNS or max_row * max(max_col, 1) > MAX_CELLS
                or text > MAX_TEXT_BYTES):
            break
        tail = buf[-_CARRIED:]
    if used - declared:
        prefix = sorted(used - declared)[0].decode("ascii", "replace")
        raise UnreadableFile(pkg.path, "corrupt-workbook", f"{_named(pkg, part)} is damaged: "
                             f"it uses the prefix '{prefix}:' without declaring it, so it is "
                             "not well-formed XML (a spreadsheet shows it empty, or repairs "
                             "it); save the return again from the spreadsheet")
    if unreferenced:
        last_row, last_col = _walk_positions(pkg, info)
        max_row, max_col = max(max_row, last_row), max(max_col, last_col)
    max_row = max(max_row, visible.last_row)
    return SheetScan(part, max_row, max_col, formulas, errors, frozenset(visible.hidden_rows),
                     frozenset(visible.hidden_columns), text,
                     watcher.watched if watcher is not None else {},
                     conditional_ranges(pkg, cf_text) if cf_text else [])


# A cell or row tag without r= (any prefix): the schema puts such a cell in the column after
# the cell before it (the first of a row in column A), such a row after the row before it.
_UNREFERENCED_RE = re.compile(rb"<(?:[\w.-]+:)?(?:c|row)(?=[\s/>])(?![^<>]*?\sr\s*=)")
_POSITION_TAG_RE = re.compile(rb"<(?:[\w.-]+:)?(c|row)(?=[\s/>])([^<>]*)>")


_CARRIED = 512  # the bytes of a chunk read again at the start of the next


def _lacks_references(buf: bytes, usual: bool) -> bool:
    """Whether a chunk has a cell or row written without r= (where every tag has one, as
    Excel writes them, the counts of tags and of references agree: no pattern runs).

    A tag the chunk's end cuts (`<c ` here, ` r="A7">` in the next chunk) is left to the
    next chunk, which starts with this one's last bytes and so has it whole."""
    cut = buf.rfind(b"<")
    if cut >= len(buf) - _CARRIED and buf.find(b">", cut) < 0:
        buf = buf[:cut]
    if usual and (buf.count(b"<c ") + buf.count(b"<c>") + buf.count(b"<c/>")
                  + buf.count(b"<row ") + buf.count(b"<row>")) <= buf.count(b' r="'):
        return False
    return _UNREFERENCED_RE.search(buf) is not None


def _walk_positions(pkg: Package, info) -> tuple[int, int]:
    """The last row and column a sheet's cells take, each tag followed in order: a row or
    cell without r= is the one after the one before it. Stops past the limits."""
    row = col = max_row = max_col = 0
    tail = b""
    for chunk in stream_part(pkg.path, memoryview(pkg.data), info):
        buf = tail + chunk
        for m in _POSITION_TAG_RE.finditer(buf):
            if m.end() <= len(tail):
                continue  # ended in the tail carried over: followed with the chunk before
            ref = _attrs(m.group(2)).get(b"r")
            if m.group(1) == b"row":
                row = int(ref) if ref and ref.isdigit() and len(ref) < 12 else row + 1
                col = 0
                continue
            letters = re.match(rb"\$?([A-Za-z]*)", ref or b"").group(1)  # type: ignore[union-attr]
            col = (_col_number(letters.upper()) if len(letters) < 8 else 10**9) if letters \
                else col + 1
            max_row, max_col = max(max_row, row), max(max_col, col)
        if max_col > MAX_COLUMNS or max_row * max(max_col, 1) > MAX_CELLS:
            break
        tail = buf[-4096:]
    return max_row, max_col


def _named(pkg: Package, part: str) -> str:
    """"the sheet 'Utilisation'": a sheet as the person who filled it knows it."""
    name = next((n for n, p in pkg.sheets.items() if p == part), None)
    return f"the sheet '{name}'" if name is not None else f"the part {part}"


def _cell_ref(ref: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"([A-Za-z]{1,3})(\d{1,7})", ref.strip())
    if not m:
        return None
    return int(m.group(2)) - 1, _col_number(m.group(1).upper().encode()) - 1


def merged_ranges(pkg: Package, part: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The sheet's merged ranges, ((row0, col0), (row1, col1)), streamed from its XML."""
    found = []
    try:
        with pkg.zip.open(part) as fh:
            for _, node in SafeET.iterparse(fh, events=("end",)):
                tag = local(node.tag)
                if tag == "mergeCell":
                    ends = [_cell_ref(r) for r in node.get("ref", "").split(":")]
                    if len(ends) == 2 and ends[0] and ends[1]:
                        found.append((ends[0], ends[1]))
                elif tag == "row":
                    node.clear()
    except Exception as exc:  # refused or broken XML
        raise UnreadableFile(pkg.path, "corrupt-workbook", xml_damage(_named(pkg, part), exc)) from None
    return found


def exact_cells(pkg: Package, part: str) -> dict[tuple[int, int], str]:
    """Cells whose value the fast reader gives is not one to pay on: {(row0, col0): code}.

    `error-value` for a cell holding an Excel error (#N/A, #DIV/0!); `formula-without-value`
    for a formula saved without its calculated value; `formula-in-input` for a formula saved
    with one (that value is whatever the file says, not necessarily what the formula gives:
    pbr never pays on it). Streams the sheet with defusedxml, matching elements by their
    local names (any prefix, Strict Open XML too).
    """
    found: dict[tuple[int, int], str] = {}
    try:
        with pkg.zip.open(part) as fh:
            for _, node in SafeET.iterparse(fh, events=("end",)):
                tag = local(node.tag)
                if tag != "c":
                    if tag == "row":
                        node.clear()
                    continue
                m = re.fullmatch(r"([A-Za-z]{1,3})(\d{1,7})", node.get("r", ""))
                if not m:
                    continue
                key = (int(m.group(2)) - 1, _col_number(m.group(1).upper().encode()) - 1)
                children = {local(child.tag): child for child in node}
                value = children.get("v")
                if node.get("t") == "e":
                    found[key] = "error-value"
                elif "f" in children:
                    found[key] = ("formula-without-value" if value is None or value.text is None
                                  else "formula-in-input")
    except Exception as exc:  # refused or broken XML
        raise UnreadableFile(pkg.path, "corrupt-workbook", xml_damage(_named(pkg, part), exc)) from None
    return found
