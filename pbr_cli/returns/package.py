"""The gate every workbook passes before any spreadsheet parser sees it.

A return is a zip of XML parts. Before parsing we check, cheaply and in bounded memory:
what the file really is (xlsx, legacy xls, encrypted, text), that the zip is sound, that
the declared unpacked sizes are within limits (zip bombs), and, by streaming each needed
sheet's XML, the sheet's true used range (a two-cell file claiming column XFD and row
1,048,576 would make the fast reader try to allocate hundreds of GiB and abort the process).
The same scan notes whether the sheet has formulas or Excel error cells, so the slow exact
path is taken only for sheets that need it.
"""

from __future__ import annotations

import html
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

import defusedxml.ElementTree as SafeET

from pbr_cli.errors import PbrError

# Documented limits (docs/limits.md).
MAX_FILE_BYTES = 100 * 1024 * 1024  # the file as sent
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024  # all parts, unpacked
MAX_RATIO = 200  # unpacked / packed, for any part over 1 MiB
MAX_CELLS = 2_500_000  # used ranges of the sheets read, rows x columns, together
MAX_COLUMNS = 200
MAX_PARTS = 10_000  # entries in the zip
MAX_SHARED_STRINGS = 2_500_000  # distinct texts in the workbook's string table
MAX_TEXT_BYTES = 64 * 2**20  # text the cells read hold, a shared text counted at each use
CHUNK = 1 << 20

NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}
# Strict Open XML (Excel can save it) names the same elements in other namespaces; pbr
# matches elements and attributes by their local names, whatever the namespace or prefix.
R_NAMESPACES = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships",
                "http://purl.oclc.org/ooxml/officeDocument/relationships")


def local(tag: str) -> str:
    """An element's or attribute's name without its namespace."""
    return tag.rsplit("}", 1)[-1]
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTED_MARK = "EncryptionInfo".encode("utf-16-le")


class UnreadableFile(PbrError):
    """A file that cannot be used at all (exit code 2)."""

    def __init__(self, path: str, code: str, why: str):
        super().__init__(f"{path}: {why}", code=code)
        self.path = path
        self.why = why


@dataclass(frozen=True)
class SheetScan:
    part: str
    max_row: int  # 1-based; 0 for an empty sheet
    max_col: int  # 1-based
    has_formulas: bool
    has_errors: bool
    hidden_rows: frozenset[int] = frozenset()  # 1-based rows hidden, or of zero height
    hidden_columns: frozenset[int] = frozenset()  # 1-based columns hidden, or of zero width
    invisible: frozenset[tuple[int, int]] = frozenset()  # (row0, col0): a format showing nothing
    text_bytes: int = 0  # the shared texts its cells use, each counted at every use

    @property
    def cells(self) -> int:
        return self.max_row * max(self.max_col, 1)


@dataclass
class Package:
    path: str
    data: bytes
    zip: zipfile.ZipFile
    sheets: dict[str, str]  # sheet name -> part name, in workbook order
    hidden: set[str] = field(default_factory=set)
    invisible: frozenset[int] = frozenset()  # cell styles (s=) whose number format shows nothing
    strings_part: zipfile.ZipInfo | None = None  # the shared string table
    _sizes: Any = None

    def text_sizes(self):
        """The size in bytes of each shared text (numpy int64), worked out when first asked."""
        if self._sizes is None and self.strings_part is not None:
            self._sizes = _text_sizes(self.path, stream_part(self.path, memoryview(self.data),
                                                              self.strings_part))
        return self._sizes

    def scan(self, sheet: str) -> SheetScan:
        return scan_sheet(self, self.sheets[sheet])


def open_package(path: str, data: bytes) -> Package:
    """Check what `data` is and open it as an xlsx package, or raise UnreadableFile."""
    if not data:
        raise UnreadableFile(path, "empty-file", "the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableFile(path, "workbook-too-large",
                             f"the file is {len(data) // 2**20} MiB; the limit is "
                             f"{MAX_FILE_BYTES // 2**20} MiB")
    if data.startswith(OLE_MAGIC):
        if ENCRYPTED_MARK in data:
            raise UnreadableFile(path, "encrypted-workbook",
                                 "the workbook is password-protected; remove the password "
                                 "(File > Info > Protect Workbook) and send it again")
        raise UnreadableFile(path, "legacy-xls",
                             "this is an old-style .xls workbook; open it in Excel and save it "
                             "as .xlsx (Excel Workbook)")
    if not data.startswith(b"PK\x03\x04"):
        sample = data[:2048]
        looks_text = b"\x00" not in sample and all(b >= 9 for b in sample)
        what = "a text or CSV file renamed .xlsx" if looks_text else "not an xlsx workbook"
        raise UnreadableFile(path, "not-a-workbook", f"this is {what}; send the return as "
                             "an Excel workbook (.xlsx) made from the template")
    try:
        archive = zipfile.ZipFile(BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise UnreadableFile(path, "corrupt-workbook",
                             f"the workbook is damaged or truncated ({exc})") from None
    if len(infos) > MAX_PARTS:
        raise UnreadableFile(path, "unsafe-workbook", f"the zip holds {len(infos):,} parts; "
                             f"a workbook has a few dozen (the limit is {MAX_PARTS:,})")
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > 2**20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise UnreadableFile(path, "unsafe-workbook",
                                 f"the part {info.filename} unpacks to "
                                 f"{info.file_size // 2**20:,} MiB from "
                                 f"{max(info.compress_size // 1024, 1):,} KiB (a zip bomb); refused")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise UnreadableFile(path, "corrupt-workbook", f"the part {info.filename} uses a "
                                 "compression Excel does not write; save the file again in Excel")
        if info.flag_bits & 0x1:
            raise UnreadableFile(path, "encrypted-workbook", "the zip is encrypted; send the "
                                 "workbook without a password")
    if total > MAX_UNZIPPED_BYTES:
        raise UnreadableFile(path, "workbook-too-large",
                             f"the workbook unpacks to {total // 2**20:,} MiB; the limit is "
                             f"{MAX_UNZIPPED_BYTES // 2**20} MiB")
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        raise UnreadableFile(path, "not-a-workbook",
                             "this zip is not an Excel workbook (no xl/workbook.xml)")
    view = memoryview(data)
    strings = None
    for info in infos:
        # Worksheets are checked as they are scanned; sheets nobody reads are never unpacked.
        if info.filename.startswith("xl/worksheets/sheet") or info.is_dir():
            continue
        if info.filename.lower().rsplit("/", 1)[-1] == "sharedstrings.xml":
            strings = info
            _count_texts(path, stream_part(path, view, info))
        else:
            for _ in stream_part(path, view, info):
                pass
    sheets, hidden = _sheet_parts(path, archive)
    invisible = _invisible_styles(path, archive) if "xl/styles.xml" in names else frozenset()
    return Package(path=path, data=data, zip=archive, sheets=sheets, hidden=hidden,
                   invisible=invisible, strings_part=strings)


_SI_RE = re.compile(rb"<(?:[\w.-]+:)?si[\s>/]")


def _count_texts(path: str, chunks: Iterator[bytes]) -> int:
    """How many texts the shared string table holds, or UnreadableFile beyond the limit."""
    count, tail = 0, b""
    for chunk in chunks:
        buf = tail + chunk
        # a tag inside the tail carried over was counted with the chunk before
        count += len(_SI_RE.findall(buf)) - len(_SI_RE.findall(tail))
        if count > MAX_SHARED_STRINGS:
            raise UnreadableFile(path, "workbook-too-large", f"the workbook's string table "
                                 f"holds more than {MAX_SHARED_STRINGS:,} texts (the limit)")
        tail = buf[-16:]
    return count


def _text_sizes(path: str, chunks: Iterator[bytes]):
    """The size in bytes of each text of the shared string table (from one `<si>` to the
    next: its text and markup, a bound on what a reader makes of it), or UnreadableFile when
    it holds more texts than MAX_SHARED_STRINGS."""
    from array import array

    import numpy as np

    starts = array("q")  # eight bytes a text, however many
    at, tail = 0, b""
    for chunk in chunks:
        buf = tail + chunk
        base = at - len(tail)
        # a tag ending in the tail carried over was found in the chunk before
        starts.extend(base + m.start() for m in _SI_RE.finditer(buf) if m.end() > len(tail))
        if len(starts) > MAX_SHARED_STRINGS:
            raise UnreadableFile(path, "workbook-too-large", f"the workbook's string table "
                                 f"holds more than {MAX_SHARED_STRINGS:,} texts (the limit)")
        at += len(chunk)
        tail = buf[-16:]
    starts.append(at)
    return np.diff(np.frombuffer(starts, np.int64))


_UNSAFE_XML = (b"<!DOCTYPE", b"<!ENTITY")


def stream_part(path: str, data: memoryview, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """Unpack one part in chunks, trusting nothing the zip declares.

    Stops as soon as the part unpacks to more than its declared size (a zip bomb with a
    lying header would otherwise make a reader unpack gigabytes), checks the CRC, and refuses
    XML parts that declare a DTD or entities (an XML bomb): workbooks never have them.
    """
    name = info.filename
    off = info.header_offset
    head = bytes(data[off:off + 30])
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        raise UnreadableFile(path, "corrupt-workbook", f"the part {name} is damaged")
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    start = off + 30 + name_len + extra_len
    packed = data[start:start + info.compress_size]
    if len(packed) < info.compress_size:
        raise UnreadableFile(path, "corrupt-workbook",
                             f"the workbook is truncated (the part {name} is cut short)")
    is_xml = name.endswith((".xml", ".rels", ".vml"))
    crc = produced = 0
    tail = b""
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    pos = 0
    try:
        while True:
            if inflater is None:
                chunk = bytes(packed[pos:pos + CHUNK])
                pos += len(chunk)
                done = pos >= len(packed)
            else:
                feed = inflater.unconsumed_tail or bytes(packed[pos:pos + CHUNK])
                if not inflater.unconsumed_tail:
                    pos += len(feed)
                chunk = inflater.decompress(feed, CHUNK)
                done = inflater.eof or (pos >= len(packed) and not inflater.unconsumed_tail
                                        and not chunk)
            produced += len(chunk)
            if produced > info.file_size:
                raise UnreadableFile(path, "unsafe-workbook", f"the part {name} unpacks to more "
                                     "than its declared size (a zip bomb); refused")
            if is_xml and any(mark in tail + chunk for mark in _UNSAFE_XML):
                raise UnreadableFile(path, "unsafe-workbook", f"the part {name} declares a DTD or "
                                     "entities, which workbooks never have (an XML bomb?); refused")
            crc = zlib.crc32(chunk, crc)
            tail = chunk[-16:]
            if chunk:
                yield chunk
            if done:
                break
    except zlib.error as exc:
        raise UnreadableFile(path, "corrupt-workbook", f"the part {name} is damaged ({exc})") from None
    if produced != info.file_size or crc != info.CRC or (inflater is not None and not inflater.eof):
        raise UnreadableFile(path, "corrupt-workbook",
                             f"the part {name} is damaged or truncated (its size or checksum "
                             "does not match)")


def _read_part(path: str, archive: zipfile.ZipFile, name: str, limit: int = 16 * 2**20) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise UnreadableFile(path, "corrupt-workbook", f"the workbook has no {name}") from None
    if info.file_size > limit:
        raise UnreadableFile(path, "workbook-too-large", f"the part {name} is too large")
    try:
        with archive.open(info) as fh:
            return fh.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        raise UnreadableFile(path, "corrupt-workbook", f"cannot read {name} ({exc})") from None


def _parse_xml(path: str, body: bytes, name: str):
    try:
        return SafeET.fromstring(body)
    except Exception as exc:  # defusedxml raises several kinds; all mean "refused"
        raise UnreadableFile(path, "corrupt-workbook",
                             f"{name} is not valid or safe XML ({type(exc).__name__})") from None


def _sheet_parts(path: str, archive: zipfile.ZipFile) -> tuple[dict[str, str], set[str]]:
    """Every sheet workbook.xml lists, by name, with its part. Two sheets of one name (Excel
    compares names without case) are refused: readers disagree on which one they read."""
    book = _parse_xml(path, _read_part(path, archive, "xl/workbook.xml"), "xl/workbook.xml")
    rels_name = "xl/_rels/workbook.xml.rels"
    rels = _parse_xml(path, _read_part(path, archive, rels_name), rels_name)
    targets = {}
    for rel in rels.iter():
        if local(rel.tag) != "Relationship":
            continue
        target = rel.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else "xl/" + target
        targets[rel.get("Id")] = target
    sheets: dict[str, str] = {}
    hidden: set[str] = set()
    seen: dict[str, str] = {}
    for node in book.iter():
        if local(node.tag) != "sheet":
            continue
        name = node.get("name", "")
        if name.casefold() in seen:
            raise UnreadableFile(path, "unsafe-workbook", f"two sheets are named '{name}'; a "
                                 "workbook Excel saved never has that (readers disagree on "
                                 "which one they read): send the return made from the template")
        seen[name.casefold()] = name
        rid = next((node.get(f"{{{ns}}}id") for ns in R_NAMESPACES
                    if node.get(f"{{{ns}}}id") is not None), None)
        if rid not in targets:
            raise UnreadableFile(path, "corrupt-workbook", f"the sheet '{name}' has no part in "
                                 "the workbook")
        sheets[name] = targets[rid]
        if node.get("state") in ("hidden", "veryHidden"):
            hidden.add(name)
    return sheets, hidden


_FORMAT_CODE_RE = re.compile(rb"""formatCode\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _invisible_styles(path: str, archive: zipfile.ZipFile) -> frozenset[int]:
    """The cell styles whose number format shows nothing (`;;;`, `;;`, `"";""`): a value in
    such a cell is there, and would be paid on, but nobody looking at the return sees it."""
    body = _read_part(path, archive, "xl/styles.xml")
    # Most workbooks have no such format: then the styles need no parsing (their number
    # formats are found however the attribute is quoted or its characters escaped).
    if not any(_shows_nothing(html.unescape((m.group(1) or m.group(2) or b"").decode(
            "utf-8", "replace"))) for m in _FORMAT_CODE_RE.finditer(body)):
        return frozenset()
    styles = _parse_xml(path, body, "xl/styles.xml")
    codes: dict[str, str] = {}
    xfs: list[str] = []
    for node in styles.iter():
        tag = local(node.tag)
        if tag == "numFmt":
            codes[node.get("numFmtId", "")] = node.get("formatCode", "")
        elif tag == "cellXfs":
            xfs = [x.get("numFmtId", "0") for x in node if local(x.tag) == "xf"]
    blank = {i for i, code in codes.items() if _shows_nothing(code)}
    return frozenset(n for n, fmt in enumerate(xfs) if fmt in blank)


def _shows_nothing(code: str) -> bool:
    """A number format every section of which is empty (or an empty literal)."""
    sections = code.split(";")
    return len(sections) >= 2 and all(part.strip().strip('"') == "" for part in sections)


# Patterns over the sheet's XML that allow every spelling XML does: any namespace prefix,
# single or double quotes, spaces around "=". They run at the regular-expression engine's
# speed; Python looks only at what they find, which in a usual return is one match a row.
_Q = rb"""\s*=\s*["']"""
_ROW_NUMBER_RE = re.compile(rb"<(?:[\w.-]+:)?row\s[^>]*?\br" + _Q + rb"(\d+)")
# Only references of two or more letters, or of five or more digits, can pass the limits
# (MAX_COLUMNS x 9,999 rows is within MAX_CELLS): the rest need no look.
_WIDE_REF_RE = re.compile(rb"\sr" + _Q + rb"([A-Za-z]{2,})(\d*)")
_LONG_REF_RE = re.compile(rb"\sr" + _Q + rb"([A-Za-z]*)(\d{5,})")
_ANY_REF_RE = re.compile(rb"\sr" + _Q + rb"[A-Za-z]")
_FORMULA_RE = re.compile(rb"<(?:[\w.-]+:)?f[\s>/]")
# The spelling Excel and every usual writer use: double quotes, one space before each
# attribute, no spaces round "=", no prefixes on cells, rows, columns or formulas, no
# character references, upper-case references. A chunk written that way is read with the
# quick patterns below (each starts with a literal, which the engine finds fast); any other
# chunk goes through the patterns above.
# A newline inside a tag (before an attribute or round "="): the pattern starts with a
# literal, so the engine finds the few candidates fast.
_NEWLINE_IN_TAG_RE = re.compile(rb"\n[^<>]*=")


def _unusual(buf: bytes) -> bool:
    """Whether a chunk is spelt otherwise than the usual way: a tab or carriage return, a
    character reference, single quotes or spaces round "=", a namespace prefix on a cell,
    row or formula, a lower-case cell reference, or a newline inside a tag. Byte searches,
    the rarest first: fast."""
    return (b"\t" in buf or b"\r" in buf or (b"&" in buf and b"&#" in buf)
            or (b"'" in buf and b"='" in buf) or b" =" in buf or b"= " in buf
            or b":c" in buf or b":row" in buf or b":f" in buf
            or bool(_LOWER_REF_RE.search(buf)) or bool(_NEWLINE_IN_TAG_RE.search(buf)))


_LOWER_REF_RE = re.compile(rb' r="[a-z]')


_QUICK_ROW_RE = re.compile(rb'<row[^>]*? r="(\d+)"')
_QUICK_WIDE_RE = re.compile(rb' r="([A-Z]{2,})(\d*)')
_QUICK_LONG_RE = re.compile(rb' r="([A-Z]*)(\d{5,})')
_QUICK_ERROR = b't="e"'
_QUICK_HIDDEN_ROW_RE = re.compile(rb'<row [^>]*?(?: hidden="(?:1|true)"| ht="0*\.?0*")[^>]*>')
_CHAR_REF_IN_TAG_RE = re.compile(rb"<(?:[\w.-]+:)?(?:c|row|col)\s[^>]*&#")
_ERROR_RE = re.compile(rb"\st" + _Q + rb"e[\"']")
_HIDDEN_ROW_RE = re.compile(rb"<(?:[\w.-]+:)?row\s[^>]*?(?:\shidden" + _Q + rb"(?:1|true)[\"']"
                            rb"|\sht" + _Q + rb"0*\.?0*[\"'])[^>]*>")
_COL_TAG_RE = re.compile(rb"<(?:[\w.-]+:)?col(\s[^>]*)?/?>")
_QUICK_COL_RE = re.compile(rb"<col( [^>]*)?/?>")  # starts with a literal: found fast
_FORMAT_PR_RE = re.compile(rb"<(?:[\w.-]+:)?sheetFormatPr(\s[^>]*)?/?>")
_ROW_TAG_RE = re.compile(rb"<(?:[\w.-]+:)?row(\s[^>]*)?/?>")
_ATTR_RE = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_STYLED_CELL_RE = re.compile(rb"<(?:[\w.-]+:)?c(\s[^>]*)>")
# a cell of the shared string table: its index (the usual spelling, then any)
_QUICK_SHARED_RE = re.compile(rb't="s"[^>]*><v>(\d+)<')
_SHARED_RE = re.compile(rb"\st" + _Q + rb"s[\"'][^>]*>\s*<(?:[\w.-]+:)?v\s*>\s*(\d+)")


def _attrs(tag_body: bytes | None) -> dict[bytes, bytes]:
    return {m.group(1).split(b":")[-1]: m.group(2) if m.group(2) is not None else m.group(3)
            for m in _ATTR_RE.finditer(tag_body or b"")}


def _zero(value: bytes | None) -> bool:
    """A height or width of zero, however it is written (0, 0.0, 0E0)."""
    from decimal import Decimal, InvalidOperation

    try:
        return value is not None and Decimal(value.decode("ascii", "replace")) == 0
    except InvalidOperation:
        return False


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
    hidden_rows: set[int] = set()
    hidden_cols: set[int] = set()
    invisible: set[tuple[int, int]] = set()
    text = 0
    # A cell using a shared text takes at least 20 bytes of the sheet (<c t="s"><v>0</v></c>),
    # and no text is longer than the whole table: when even that many uses of it stay within
    # MAX_TEXT_BYTES (every usual return), the uses need not be counted.
    table = pkg.strings_part.file_size if pkg.strings_part is not None else 0
    count_texts = table * (info_size(pkg, part) // 20) > MAX_TEXT_BYTES
    sizes = pkg.text_sizes() if count_texts else None
    rows_hidden = False  # sheetFormatPr zeroHeight: a row without a height of its own has none
    tail = b""
    try:
        info = pkg.zip.getinfo(part)
    except KeyError:
        raise UnreadableFile(pkg.path, "corrupt-workbook", f"the sheet part {part} is missing") from None
    for chunk in stream_part(pkg.path, memoryview(pkg.data), info):
        buf = tail + chunk
        usual = not _unusual(buf)
        if not usual and _CHAR_REF_IN_TAG_RE.search(buf):
            raise UnreadableFile(pkg.path, "unsafe-workbook", f"the sheet {part} spells cell "
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
        if max_col == 0 and (b' r="' in buf if usual else _ANY_REF_RE.search(buf)):
            max_col = 26  # only one-letter columns so far: at most Z
        if usual:
            formulas = formulas or b"<f>" in buf or b"<f " in buf or b"<f/" in buf
            errors = errors or _QUICK_ERROR in buf
            hidden = (_QUICK_HIDDEN_ROW_RE.finditer(buf)
                      if b' hidden="' in buf or b' ht="0' in buf else ())
        else:
            formulas = formulas or bool(_FORMULA_RE.search(buf))
            errors = errors or bool(_ERROR_RE.search(buf))
            hidden = _HIDDEN_ROW_RE.finditer(buf)
        for m in hidden:
            number = _attrs(m.group(0)).get(b"r", b"")
            if number.isdigit():
                hidden_rows.add(int(number))
        if b"eroHeight" in buf:
            for m in _FORMAT_PR_RE.finditer(buf):
                rows_hidden = rows_hidden or _attrs(m.group(1)).get(b"zeroHeight") in (b"1",
                                                                                   b"true")
        if rows_hidden:
            for m in _ROW_TAG_RE.finditer(buf):
                attrs = _attrs(m.group(1))
                number = attrs.get(b"r", b"")
                if number.isdigit() and (attrs.get(b"ht") is None or _zero(attrs.get(b"ht"))):
                    hidden_rows.add(int(number))
        if b"col" in buf:
            for m in (_QUICK_COL_RE if usual else _COL_TAG_RE).finditer(buf):
                attrs = _attrs(m.group(1))
                if attrs.get(b"hidden") in (b"1", b"true") or _zero(attrs.get(b"width")):
                    lo, hi = attrs.get(b"min", b""), attrs.get(b"max", b"")
                    if lo.isdigit() and hi.isdigit() and int(lo) <= MAX_COLUMNS:
                        hidden_cols.update(range(int(lo), min(int(hi), MAX_COLUMNS) + 1))
        if pkg.invisible:
            for m in _STYLED_CELL_RE.finditer(buf):
                attrs = _attrs(m.group(1))
                style, ref = attrs.get(b"s", b""), attrs.get(b"r", b"")
                cell = re.fullmatch(rb"([A-Za-z]{1,3})(\d{1,7})", ref)
                if style.isdigit() and int(style) in pkg.invisible and cell:
                    invisible.add((int(cell.group(2)) - 1, _col_number(cell.group(1).upper()) - 1))
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
        tail = buf[-512:]
    return SheetScan(part, max_row, max_col, formulas, errors, frozenset(hidden_rows),
                     frozenset(hidden_cols), frozenset(invisible), text)


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
        raise UnreadableFile(pkg.path, "corrupt-workbook",
                             f"the sheet {part} is not valid or safe XML ({type(exc).__name__})") from None
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
        raise UnreadableFile(pkg.path, "corrupt-workbook",
                             f"the sheet {part} is not valid or safe XML ({type(exc).__name__})") from None
    return found
