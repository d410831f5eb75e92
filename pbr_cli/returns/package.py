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

import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO

import defusedxml.ElementTree as SafeET

from pbr_cli.errors import PbrError

# Documented limits (docs/limits.md).
MAX_FILE_BYTES = 100 * 1024 * 1024  # the file as sent
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024  # all parts, unpacked
MAX_RATIO = 200  # unpacked / packed, for any part over 1 MiB
MAX_CELLS = 25_000_000  # used range of one sheet, rows x columns
MAX_COLUMNS = 200
MAX_PARTS = 10_000  # entries in the zip
CHUNK = 1 << 20

NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}
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
    hidden_rows: frozenset[int] = frozenset()  # 1-based rows marked hidden (or filtered out)
    hidden_columns: frozenset[int] = frozenset()  # 1-based columns marked hidden


@dataclass
class Package:
    path: str
    data: bytes
    zip: zipfile.ZipFile
    sheets: dict[str, str]  # sheet name -> part name, in workbook order
    hidden: set[str] = field(default_factory=set)

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
    for info in infos:
        # Worksheets are checked as they are scanned; sheets nobody reads are never unpacked.
        if not info.filename.startswith("xl/worksheets/sheet") and not info.is_dir():
            for _ in stream_part(path, view, info):
                pass
    sheets, hidden = _sheet_parts(path, archive)
    return Package(path=path, data=data, zip=archive, sheets=sheets, hidden=hidden)


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
    book = _parse_xml(path, _read_part(path, archive, "xl/workbook.xml"), "xl/workbook.xml")
    rels_name = "xl/_rels/workbook.xml.rels"
    rels = _parse_xml(path, _read_part(path, archive, rels_name), rels_name)
    targets = {}
    for rel in rels.findall("rel:Relationship", NS):
        target = rel.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else "xl/" + target
        targets[rel.get("Id")] = target
    sheets: dict[str, str] = {}
    hidden: set[str] = set()
    for node in book.findall("m:sheets/m:sheet", NS):
        name = node.get("name", "")
        rid = node.get(f"{{{NS['r']}}}id")
        if rid in targets:
            sheets[name] = targets[rid]
        if node.get("state") in ("hidden", "veryHidden"):
            hidden.add(name)
    return sheets, hidden


_ROW_RE = re.compile(rb"<row[^>]*?\sr=\"(\d+)\"")
# A cell reference of two or three letters (only cells' r= attributes start with a letter).
_WIDE_REF_RE = re.compile(rb"\sr=\"([A-Z]{2,3})\d")
_REF_COL_RE = re.compile(rb"<c[^>]*?\sr=\"([A-Z]+)(\d+)\"")
_FORMULA_RE = re.compile(rb"<f[\s>/]")
_ERROR_RE = re.compile(rb"\st=\"e\"")
_HIDDEN_ROW_RE = re.compile(rb"<row(?=\s)(?=[^>]*\shidden=\"(?:1|true)\")(?=[^>]*\sr=\"(\d+)\")")
_HIDDEN_COL_RE = re.compile(
    rb"<col(?=\s)(?=[^>]*\shidden=\"(?:1|true)\")(?=[^>]*\smin=\"(\d+)\")(?=[^>]*\smax=\"(\d+)\")")


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def scan_sheet(pkg: Package, part: str) -> SheetScan:
    """Stream one sheet's XML once: its true used range, formulas/error cells present, and
    the rows and columns marked hidden."""
    max_row = max_col = 0
    formulas = errors = False
    hidden_rows: set[int] = set()
    hidden_cols: set[int] = set()
    tail = b""
    try:
        info = pkg.zip.getinfo(part)
    except KeyError:
        raise UnreadableFile(pkg.path, "corrupt-workbook", f"the sheet part {part} is missing") from None
    for chunk in stream_part(pkg.path, memoryview(pkg.data), info):
        buf = tail + chunk
        rows = _ROW_RE.findall(buf)
        if rows:
            max_row = max(max_row, *map(int, rows))
        # Narrow columns are the rule; only refs of two or more letters need a look.
        wide = _WIDE_REF_RE.findall(buf)
        if wide:
            max_col = max(max_col, *map(_col_number, wide))
        if max_col == 0 and _REF_COL_RE.search(buf):
            max_col = 26  # only one-letter columns so far: at most Z
        # a plain search for the literal first: most sheets have neither
        formulas = formulas or (b"<f" in buf and bool(_FORMULA_RE.search(buf)))
        errors = errors or (b't="e"' in buf and bool(_ERROR_RE.search(buf)))
        if b"hidden=" in buf:
            for m in _HIDDEN_ROW_RE.finditer(buf):
                hidden_rows.add(int(m.group(1)))
            for m in _HIDDEN_COL_RE.finditer(buf):
                lo, hi = int(m.group(1)), int(m.group(2))
                if lo <= MAX_COLUMNS:
                    hidden_cols.update(range(lo, min(hi, MAX_COLUMNS) + 1))
        if max_col > MAX_COLUMNS or max_row * max(max_col, 1) > MAX_CELLS:
            break
        tail = buf[-256:]
    return SheetScan(part, max_row, max_col, formulas, errors, frozenset(hidden_rows),
                     frozenset(hidden_cols))


def exact_cells(pkg: Package, part: str) -> dict[tuple[int, int], str]:
    """Cells the fast reader would show as blank but are not: {(row0, col0): code}.

    `error-value` for a cell holding an Excel error (#N/A, #DIV/0!), `formula-without-value`
    for a formula saved without its calculated value. Streams the sheet with defusedxml.
    """
    found: dict[tuple[int, int], str] = {}
    main = f"{{{NS['m']}}}"
    try:
        with pkg.zip.open(part) as fh:
            for _, node in SafeET.iterparse(fh, events=("end",)):
                if node.tag != main + "c":
                    if node.tag == main + "row":
                        node.clear()
                    continue
                ref = node.get("r", "")
                m = re.fullmatch(r"([A-Z]+)(\d+)", ref)
                if not m:
                    continue
                key = (int(m.group(2)) - 1, _col_number(m.group(1).encode()) - 1)
                value = node.find(main + "v")
                if node.get("t") == "e":
                    found[key] = "error-value"
                elif node.find(main + "f") is not None and (value is None or value.text is None):
                    found[key] = "formula-without-value"
    except Exception as exc:  # refused or broken XML
        raise UnreadableFile(pkg.path, "corrupt-workbook",
                             f"the sheet {part} is not valid or safe XML ({type(exc).__name__})") from None
    return found
