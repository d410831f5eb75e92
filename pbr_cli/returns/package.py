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
import zipfile
import zlib
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
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > 2**20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise UnreadableFile(path, "workbook-too-large",
                                 f"the part {info.filename} unpacks {info.file_size // 2**20} MiB "
                                 "from a tiny size (a zip bomb?); refused")
    if total > MAX_UNZIPPED_BYTES:
        raise UnreadableFile(path, "workbook-too-large",
                             f"the workbook unpacks to {total // 2**20} MiB; the limit is "
                             f"{MAX_UNZIPPED_BYTES // 2**20} MiB")
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        raise UnreadableFile(path, "not-a-workbook",
                             "this zip is not an Excel workbook (no xl/workbook.xml)")
    sheets, hidden = _sheet_parts(path, archive)
    return Package(path=path, data=data, zip=archive, sheets=sheets, hidden=hidden)


def _read_part(path: str, archive: zipfile.ZipFile, name: str, limit: int = 16 * 2**20) -> bytes:
    try:
        with archive.open(name) as fh:
            body = fh.read(limit + 1)
    except (KeyError, zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        raise UnreadableFile(path, "corrupt-workbook", f"cannot read {name} ({exc})") from None
    if len(body) > limit:
        raise UnreadableFile(path, "workbook-too-large", f"the part {name} is too large")
    return body


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
_WIDE_REF_RE = re.compile(rb"<c[^>]*?\sr=\"([A-Z]{2,3})\d+\"")
_REF_COL_RE = re.compile(rb"<c[^>]*?\sr=\"([A-Z]+)(\d+)\"")
_FORMULA_RE = re.compile(rb"<f[\s>/]")
_ERROR_RE = re.compile(rb"\st=\"e\"")


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def scan_sheet(pkg: Package, part: str) -> SheetScan:
    """Stream one sheet's XML once: its true used range, and formulas/error cells present."""
    max_row = max_col = 0
    formulas = errors = False
    tail = b""
    try:
        with pkg.zip.open(part) as fh:
            while chunk := fh.read(1 << 20):
                buf = tail + chunk
                for m in _ROW_RE.finditer(buf):
                    max_row = max(max_row, int(m.group(1)))
                # Narrow columns are the rule; only refs of two or more letters need a look.
                for m in _WIDE_REF_RE.finditer(buf):
                    max_col = max(max_col, _col_number(m.group(1)))
                if max_col == 0 and _REF_COL_RE.search(buf):
                    max_col = 26  # only one-letter columns so far: at most Z
                formulas = formulas or bool(_FORMULA_RE.search(buf))
                errors = errors or bool(_ERROR_RE.search(buf))
                if max_col > MAX_COLUMNS or max_row * max(max_col, 1) > MAX_CELLS:
                    break
                tail = buf[-256:]
    except KeyError:
        raise UnreadableFile(pkg.path, "corrupt-workbook", f"the sheet part {part} is missing") from None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        raise UnreadableFile(pkg.path, "corrupt-workbook",
                             f"the workbook is damaged ({exc})") from None
    return SheetScan(part, max_row, max_col, formulas, errors)


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
