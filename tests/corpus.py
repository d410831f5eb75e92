"""The bad-input corpus: every broken or hostile input pbr must refuse or report, built here
from code (no binary blobs of unknown origin).

Each Case builds its inputs in a fresh folder and says what pbr must do with them: the
command, the exit code, the problem code (and cell) or message, and which output files may
exist afterwards. tests/test_corpus.py runs every case; `python -m tests.corpus DIR` writes
the inputs to DIR to look at.
"""

from __future__ import annotations

import random
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from io import BytesIO
from pathlib import Path

from pbr_cli.model import load_model
from pbr_cli.outputs.template import Formula, Merge, write_template
from pbr_cli.periods import Month
from pbr_cli.returns.register import load_register

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "birmingham-90-10.yaml"
COHORT_MODEL = ROOT / "models" / "wigan-cohort.yaml"
JUNE = Month(2013, 6)

REGISTER = """Service ID,Provider code,Provider name,Service name,Client group,Service type,\
Capacity,Annual contract value,Contract start,Contract end
S001,P1,Example Provider,Example hostel,SE,ACC,20,120000,2012-04-01,
F010,P1,Example Provider,Example floating support,MH,FS,50,60000,2012-04-01,
S002,P2,Second Provider,Second scheme,OP,ACC,10,60000,2012-04-01,
"""
COHORT_REGISTER = """Provider code,Provider name,Service,Contract start,Contract end,Annual cap
P1,First Recovery Service,Community recovery,2012-04-01,,
P2,Second Recovery Service,Leigh recovery,2012-04-01,,
"""
INJECTIONS = ["=1+2", "+SUM(A1:A2)", "-2+3", "@SUM(A1)", "\tTAB", "=HYPERLINK(\"http://x\",\"y\")"]


def outcome_rows(service: str, client: str, day: date, achieved: int, total: int = 5) -> list[dict]:
    items = ["1a", "4a", "2a", "3a", "5a"][:total]
    return [{"service_id": service, "client_id": client, "assessment_date": day,
             "assessment": "REV", "outcome": item, "result": "A" if i < achieved else "N"}
            for i, item in enumerate(items)]


def clean_rows() -> dict:
    return {"Utilisation": [{"service_id": "S001", "void_days": 12},
                            {"service_id": "F010", "users_supported": 40}],
            "Outcomes": outcome_rows("S001", "C1", date(2013, 6, 3), 4)
            + outcome_rows("F010", "C2", date(2013, 6, 4), 3)}


class Kit:
    """A case's folder: register, models and returns live here; outputs go to `out`."""

    def __init__(self, root: Path):
        self.root = root
        self.inputs = root / "inputs"
        self.out = root / "out"
        self.inputs.mkdir(parents=True, exist_ok=True)
        self.out.mkdir(exist_ok=True)
        self.register = self.inputs / "register.csv"
        self.register.write_text(REGISTER)
        self.cohort_register = self.inputs / "cohort-register.csv"
        self.cohort_register.write_text(COHORT_REGISTER)
        self.returns = self.inputs / "returns"

    def path(self, name: str = "P1-2013-06.xlsx", month: Month = JUNE) -> Path:
        p = self.returns / str(month) / name
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def write_return(self, rows: dict | None = None, name: str = "P1-2013-06.xlsx",
                     provider: str = "P1", month: Month = JUNE, **kw) -> Path:
        model = load_model(MODEL)
        path = self.path(name, month)
        write_template(path, model, load_register(model, self.register), provider, month,
                       clean_rows() if rows is None else rows, **kw)
        return path

    def write_cohort_return(self, rows: dict, provider: str, month: Month) -> Path:
        model = load_model(COHORT_MODEL)
        path = self.path(f"{provider}-{month}.xlsx", month)
        write_template(path, model, load_register(model, self.cohort_register), provider,
                       month, rows)
        return path

    def model_copy(self, old: str, new: str, source: Path = MODEL, name: str | None = None) -> Path:
        text = source.read_text()
        assert old in text, old
        path = self.inputs / (name or source.name)
        path.write_text(text.replace(old, new, 1))
        return path

    # -- commands ---------------------------------------------------------------------------
    def validate(self, target: Path, model: Path = MODEL, register: Path | None = None,
                 annotate: str = "checked.xlsx") -> list[str]:
        return ["validate", str(target), "--model", str(model), "--register",
                str(register or self.register), "--json", "--annotate", str(self.out / annotate)]

    def calculate(self, model: str | Path = MODEL, register: Path | None = None) -> list[str]:
        return ["calculate", "--model", str(model), "--period", str(JUNE), "--returns",
                str(self.returns), "--register", str(register or self.register), "-o",
                str(self.out / "schedule.xlsx")]


@dataclass
class Case:
    name: str
    build: Callable[[Kit], list[str]]  # makes the inputs, returns the pbr arguments
    exit_code: int
    code: str | None = None  # a problem code that must be reported (validate --json)
    cell: str | None = None  # ...at this cell
    message: str = ""  # words that must appear in the problem message or on stderr
    outputs: set[str] = field(default_factory=set)  # files allowed (and required) in out/
    check: Callable[[Kit], None] | None = None  # anything more to assert


CASES: list[Case] = []


def case(name: str, exit_code: int, code: str | None = None, cell: str | None = None,
         message: str = "", outputs: set[str] | None = None,
         check: Callable[[Kit], None] | None = None):
    def register(build: Callable[[Kit], list[str]]):
        CASES.append(Case(name, build, exit_code, code, cell, message,
                          set() if outputs is None else outputs, check))
        return build
    return register


# -- zip surgery -----------------------------------------------------------------------------

def rewrite_zip(data: bytes, change: Callable[[str, bytes], bytes | None],
                extra: dict[str, bytes] | None = None) -> bytes:
    """A copy of the zip with each part passed through `change` (None drops it)."""
    src = zipfile.ZipFile(BytesIO(data))
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = change(info.filename, src.read(info))
            if body is not None:
                dst.writestr(info.filename, body)
        for name, body in (extra or {}).items():
            dst.writestr(name, body)
    return out.getvalue()


def sheet_part(data: bytes, sheet: str) -> str:
    """The part name of a sheet (xlsxwriter numbers them in order)."""
    import re

    book = zipfile.ZipFile(BytesIO(data)).read("xl/workbook.xml").decode()
    names = re.findall(r'<sheet name="([^"]+)"', book)
    return f"xl/worksheets/sheet{names.index(sheet) + 1}.xml"


def replace_in(path: Path, part: str, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    name = sheet_part(data, part) if not part.startswith("xl/") else part

    def change(filename: str, body: bytes) -> bytes:
        if filename == name:
            assert old in body, (old, body[:300])
            return body.replace(old, new, 1)
        return body
    path.write_bytes(rewrite_zip(data, change))


def deflate_zeros(size: int, block: int = 1 << 20) -> tuple[bytes, int]:
    """A raw deflate stream of `size` zero bytes, built from one repeated flushed block, and
    its CRC: a gigabyte costs milliseconds."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = comp.compress(b"\0" * block) + comp.flush(zlib.Z_FULL_FLUSH)
    count = size // block
    stream = piece * count + zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    crc = 0
    zeros = b"\0" * block
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    return stream, crc


def zip_with_part(base: bytes, name: str, stream: bytes, crc: int, declared: int) -> bytes:
    """`base` (an xlsx) plus one deflated part whose header declares `declared` bytes."""
    out = BytesIO()
    src = zipfile.ZipFile(BytesIO(base))
    entries = []
    for info in src.infolist():
        body = src.read(info)
        packed = zlib.compressobj(6, zlib.DEFLATED, -15)
        data = packed.compress(body) + packed.flush()
        entries.append((info.filename, data, zlib.crc32(body), len(body)))
    entries.append((name, stream, crc, declared))
    central = BytesIO()
    for filename, data, crc32, size in entries:
        fname = filename.encode()
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc32,
                              len(data), size & 0xFFFFFFFF, len(fname), 0))
        out.write(fname)
        out.write(data)
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21,
                                  crc32, len(data), size & 0xFFFFFFFF, len(fname), 0, 0, 0, 0,
                                  0, offset))
        central.write(fname)
    start = out.tell()
    out.write(central.getvalue())
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries),
                          len(central.getvalue()), start, 0))
    return out.getvalue()


def bomb(kit: Kit, unpacked: int, declared: int | None = None) -> Path:
    """A real return plus a part of `unpacked` zeros declaring `declared` bytes."""
    path = kit.write_return()
    stream, crc = deflate_zeros(unpacked)
    path.write_bytes(zip_with_part(path.read_bytes(), "xl/media/padding.bin", stream, crc,
                                   unpacked if declared is None else declared))
    return path


# -- files that are not workbooks at all ----------------------------------------------------

@case("csv renamed .xlsx", 2, "not-a-workbook", message="CSV file renamed")
def _(kit):
    path = kit.path()
    path.write_text("Service ID,Void unit-days\nS001,12\n")
    return kit.validate(path)


@case("text file renamed .xlsx", 2, "not-a-workbook", message="text")
def _(kit):
    path = kit.path()
    path.write_text("Please find attached our return for June.\n")
    return kit.validate(path)


@case("random bytes", 2, "not-a-workbook", message="not an xlsx workbook")
def _(kit):
    path = kit.path()
    path.write_bytes(random.Random(7).randbytes(4096))
    return kit.validate(path)


@case("empty file", 2, "empty-file", message="empty")
def _(kit):
    path = kit.path()
    path.write_bytes(b"")
    return kit.validate(path)


@case("missing file", 2, "file-not-found", message="no such file")
def _(kit):
    return kit.validate(kit.path("P1-2013-06-not-there.xlsx"))


@case("legacy xls", 2, "legacy-xls", message="save it as .xlsx")
def _(kit):
    path = kit.path("P1-2013-06.xls")
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2048)
    return kit.validate(path)


@case("password-protected workbook", 2, "encrypted-workbook", message="password")
def _(kit):
    path = kit.path()
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512
                     + "EncryptionInfo".encode("utf-16-le") + b"\0" * 512)
    return kit.validate(path)


@case("zip with the encryption flag", 2, "encrypted-workbook", message="encrypted")
def _(kit):
    path = kit.write_return()
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at != -1:  # set bit 0 of every central directory entry's flags
        data[at + 8] |= 1
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))
    return kit.validate(path)


@case("truncated zip", 2, "corrupt-workbook", message="damaged or truncated")
def _(kit):
    path = kit.write_return()
    path.write_bytes(path.read_bytes()[:3000])
    return kit.validate(path)


@case("corrupt sheet data", 2, "corrupt-workbook", message="damaged")
def _(kit):
    path = kit.write_return()
    data = path.read_bytes()
    info = zipfile.ZipFile(BytesIO(data)).getinfo(sheet_part(data, "Outcomes"))
    start = info.header_offset + 30 + len(info.filename.encode())
    spoiled = bytearray(data)
    for i in range(start + 20, start + 60):
        spoiled[i] ^= 0x5A
    path.write_bytes(bytes(spoiled))
    return kit.validate(path)


@case("zip without a workbook", 2, "not-a-workbook", message="no xl/workbook.xml")
def _(kit):
    path = kit.path()
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<document/>")
    path.write_bytes(buf.getvalue())
    return kit.validate(path)


@case("unsupported zip compression", 2, "corrupt-workbook", message="compression")
def _(kit):
    path = kit.write_return()
    buf = BytesIO()
    src = zipfile.ZipFile(BytesIO(path.read_bytes()))
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_BZIP2) as z:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info))
    path.write_bytes(buf.getvalue())
    return kit.validate(path)


# -- hostile files ------------------------------------------------------------------------------

@case("zip bomb (honest sizes)", 2, "unsafe-workbook", message="zip bomb")
def _(kit):
    return kit.validate(bomb(kit, 64 * 2**20))


@case("zip bomb (lying sizes)", 2, "unsafe-workbook", message="more than its declared size")
def _(kit):
    return kit.validate(bomb(kit, 64 * 2**20, declared=1000))


@case("xml bomb (billion laughs)", 2, "unsafe-workbook", message="DTD or entities")
def _(kit):
    path = kit.write_return()
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                         for i in range(1, 10))
              + b']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
              b'count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>')
    path.write_bytes(rewrite_zip(path.read_bytes(),
                                 lambda n, b: laughs if n == "xl/sharedStrings.xml" else b))
    return kit.validate(path)


@case("external entity (XXE)", 2, "unsafe-workbook", message="DTD or entities")
def _(kit):
    path = kit.write_return()

    def change(name: str, body: bytes) -> bytes:
        if name == "xl/workbook.xml":
            return body.replace(b"?>", b'?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>', 1)
        return body
    path.write_bytes(rewrite_zip(path.read_bytes(), change))
    return kit.validate(path)


@case("thousands of zip parts", 2, "unsafe-workbook", message="parts")
def _(kit):
    path = kit.write_return()
    extra = {f"xl/media/part{i}.bin": b"" for i in range(10_001)}
    path.write_bytes(rewrite_zip(path.read_bytes(), lambda n, b: b, extra))
    return kit.validate(path)


@case("sheet reaching column XFD", 2, "workbook-too-large", message="200 columns")
def _(kit):
    path = kit.write_return()
    replace_in(path, "Outcomes", b"</sheetData>",
               b'<row r="40"><c r="XFD40" t="inlineStr"><is><t>x</t></is></c></row></sheetData>')
    return kit.validate(path)


@case("sheet reaching row 1,048,576", 2, "workbook-too-large", message="2,500,000 cells")
def _(kit):
    path = kit.write_return()
    replace_in(path, "Outcomes", b"</sheetData>",
               b'<row r="1048576"><c r="Z1048576" t="inlineStr"><is><t>x</t></is></c></row>'
               b"</sheetData>")
    return kit.validate(path)


@case("file over 100 MiB", 2, "workbook-too-large", message="the limit is 100 MiB")
def _(kit):
    path = kit.path()
    with path.open("wb") as fh:  # sparse: costs no disk, and pbr must not read it
        fh.truncate(101 * 2**20)
    return kit.validate(path)


@case("macro workbook (.xlsm)", 0, outputs={"checked.xlsx"})
def _(kit):
    path = kit.write_return(name="P1-2013-06.xlsm")
    vba = b"Attribute VB_Name = \"Module1\"\nSub Auto_Open()\nShell \"calc.exe\"\nEnd Sub\n"

    def change(name: str, body: bytes) -> bytes:
        if name == "[Content_Types].xml":
            return body.replace(
                b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
        return body
    path.write_bytes(rewrite_zip(path.read_bytes(), change, {"xl/vbaProject.bin": vba}))
    return kit.validate(path)


def _no_macros(kit: Kit) -> None:
    names = zipfile.ZipFile(kit.out / "checked.xlsx").namelist()
    assert not any("vba" in n.lower() for n in names), names


CASES[-1].check = _no_macros


# -- returns pbr can read but must not use (exit code 2) ---------------------------------------

@case("wrong template version", 2, "wrong-template-version", "Cover!B6",
      message="new template", outputs={"checked.xlsx"})
def _(kit):
    return kit.validate(kit.write_return(cover={"Model version": "0.9"}))


@case("another scheme's return", 2, "wrong-model", "Cover!B5", message="not 'birmingham-90-10'",
      outputs={"checked.xlsx"})
def _(kit):
    return kit.validate(kit.write_return(cover={"Model": "another-scheme"}))


@case("hidden row holding data", 2, "hidden-data", "Outcomes!4", message="row 4 is hidden",
      outputs={"checked.xlsx"})
def _(kit):
    path = kit.write_return()
    replace_in(path, "Outcomes", b'<row r="4"', b'<row r="4" hidden="1"')
    return kit.validate(path)


@case("hidden column holding data", 2, "hidden-data", "Outcomes!F:F",
      message="'Result' is hidden", outputs={"checked.xlsx"})
def _(kit):
    path = kit.write_return()
    data = path.read_bytes()
    part = sheet_part(data, "Outcomes")
    body = zipfile.ZipFile(BytesIO(data)).read(part)
    import re

    cols = re.search(rb"<cols>.*?</cols>", body).group(0)
    hidden = re.sub(rb'<col min="6" max="6"([^/]*)/>', rb'<col min="6" max="6"\1 hidden="1"/>', cols)
    assert hidden != cols
    replace_in(path, "Outcomes", cols, hidden)
    return kit.validate(path)


# -- returns with errors a provider can fix (exit code 1) ----------------------------------------

def _bad(name: str, code: str, cell: str, message: str, change: Callable[[dict], None]):
    @case(name, 1, code, cell, message, outputs={"checked.xlsx"})
    def _(kit):
        rows = clean_rows()
        change(rows)
        return kit.validate(kit.write_return(rows))


def _set(sheet: str, i: int, **values):
    return lambda rows: rows[sheet][i].update(values)


_bad("number typed as text", "number-as-text", "Utilisation!E2", "typed as text",
     _set("Utilisation", 0, void_days="12"))
_bad("words in a number column", "not-a-number", "Utilisation!E2", "not a number",
     _set("Utilisation", 0, void_days="twelve"))
_bad("fraction of a day", "not-an-integer", "Utilisation!E2", "whole number",
     _set("Utilisation", 0, void_days=2.5))
_bad("negative void days", "below-minimum", "Utilisation!E2", "less than",
     _set("Utilisation", 0, void_days=-3))
_bad("date typed as text", "date-as-text", "Outcomes!C2", "typed as text",
     _set("Outcomes", 0, assessment_date="03/06/2013"))
_bad("date as a bare number", "date-as-number", "Outcomes!C2", "plain number",
     _set("Outcomes", 0, assessment_date=41428))
_bad("date outside the month", "date-outside-period", "Outcomes!C2", "not in June 2013",
     _set("Outcomes", 0, assessment_date=date(2013, 5, 31)))


@case("formula without a saved value", 1, "formula-without-value", "Outcomes!F2",
      message="no saved value", outputs={"checked.xlsx"})
def _(kit):
    import re

    rows = clean_rows()
    rows["Outcomes"][0]["result"] = Formula('="A"', None)
    path = kit.write_return(rows)
    path.write_bytes(rewrite_zip(path.read_bytes(), lambda n, b: re.sub(
        rb"(<f>[^<]*</f>)<v>[^<]*</v>", rb"\1", b) if n.startswith("xl/worksheets/") else b))
    return kit.validate(path)


_bad("excel error value", "error-value", "Utilisation!E2", "error value",
     _set("Utilisation", 0, void_days=Formula("=1/0", "#DIV/0!")))
_bad("merged cells", "merged-cells", "Outcomes!B2", "merged",
     _set("Outcomes", 0, client_id=Merge("C1", 1)))
_bad("unknown outcome code", "unknown-code", "Outcomes!E2", "'9z'",
     _set("Outcomes", 0, outcome="9z"))
_bad("service not in the register", "unknown-entry", "Outcomes!A2", "'S999'",
     _set("Outcomes", 0, service_id="S999"))
_bad("another provider's service", "entry-of-other-provider", "Outcomes!A2", "belongs to provider P2",
     _set("Outcomes", 0, service_id="S002"))
_bad("client id left blank", "required-missing", "Outcomes!B2", "must be filled",
     _set("Outcomes", 0, client_id=None))
_bad("the same outcome twice", "duplicate-row", "Outcomes!A3", "the same row twice",
     _set("Outcomes", 1, outcome="1a"))


@case("active service without a row", 1, "missing-entry", "Utilisation",
      message="no row for service F010", outputs={"checked.xlsx"})
def _(kit):
    rows = clean_rows()
    rows["Utilisation"] = rows["Utilisation"][:1]
    return kit.validate(kit.write_return(rows, prefill=False))


@case("renamed sheet", 1, "missing-sheet", None, message="rename it back",
      outputs={"checked.xlsx"})
def _(kit):
    path = kit.write_return()
    replace_in(path, "xl/workbook.xml", b'name="Outcomes"', b'name="outcomes "')
    return kit.validate(path)


@case("changed column heading", 1, "missing-column", "Outcomes!1", message="'Outcome item'",
      outputs={"checked.xlsx"})
def _(kit):
    path = kit.write_return()
    replace_in(path, "xl/sharedStrings.xml", b">Outcome item<", b">Item<")
    return kit.validate(path)


@case("unknown provider on the Cover", 1, "unknown-provider", "Cover!B8", message="'P9'",
      outputs={"checked.xlsx"})
def _(kit):
    return kit.validate(kit.write_return(cover={"Provider code": "P9"}))


@case("month on the Cover not a month", 1, "period-mismatch", "Cover!B10",
      message="not a month", outputs={"checked.xlsx"})
def _(kit):
    return kit.validate(kit.write_return(cover={"Month": "June"}))


@case("Cover month disagrees with its folder", 1, "period-mismatch", "Cover!B10",
      message="filed under 2013-06", outputs={"checked.xlsx"})
def _(kit):
    return kit.validate(kit.write_return(cover={"Month": "2013-07"}, name="return.xlsx"))


@case("file name gives another provider", 1, "name-mismatch", "Cover!B8",
      message="names provider P2", outputs={"checked.xlsx"})
def _(kit):
    return kit.validate(kit.write_return(name="P2-2013-06.xlsx"))


@case("hidden sheet", 2, "hidden-sheet", message="the sheet 'Outcomes' pbr reads is hidden")
def _(kit):
    return kit.validate(kit.write_return(hidden=("Outcomes",)))


@case("hidden extra sheet", 0, "hidden-extra-sheet", "Notes", message="not read",
      outputs={"checked.xlsx"})
def _(kit):
    path = kit.write_return()
    data = path.read_bytes()
    count = sum(1 for n in zipfile.ZipFile(BytesIO(data)).namelist()
                if n.startswith("xl/worksheets/sheet"))
    n = count + 1
    sheet = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
             b'openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" '
             b't="inlineStr"><is><t>extra 40 clients</t></is></c></row></sheetData></worksheet>')

    def change(name: str, body: bytes) -> bytes:
        if name == "xl/workbook.xml":
            return body.replace(b"</sheets>", b'<sheet name="Notes" sheetId="%d" state="hidden" '
                                b'r:id="rIdNotes"/></sheets>' % (n + 10))
        if name == "xl/_rels/workbook.xml.rels":
            return body.replace(b"</Relationships>", b'<Relationship Id="rIdNotes" Type="http://'
                                b'schemas.openxmlformats.org/officeDocument/2006/relationships/'
                                b'worksheet" Target="worksheets/sheet%d.xml"/></Relationships>' % n)
        if name == "[Content_Types].xml":
            return body.replace(b"</Types>", b'<Override PartName="/xl/worksheets/sheet%d.xml" '
                                b'ContentType="application/vnd.openxmlformats-officedocument.'
                                b'spreadsheetml.worksheet+xml"/></Types>' % n)
        return body
    path.write_bytes(rewrite_zip(data, change, {f"xl/worksheets/sheet{n}.xml": sheet}))
    return kit.validate(path)


# -- checks across files ----------------------------------------------------------------------------

@case("two returns for one provider and month", 1, "duplicate-return", "Cover",
      message="another return for 2013-06", outputs={"P1-2013-06-annotated.xlsx",
                                                     "P1-2013-06-copy-annotated.xlsx"})
def _(kit):
    kit.write_return()
    kit.write_return(name="P1-2013-06-copy.xlsx")
    return kit.validate(kit.returns, annotate="")


def _cohort_rows(presentations=(), discharges=()) -> dict:
    return {"Presentations": [{"client_id": c, "presentation_date": d, "complexity": g}
                              for c, d, g in presentations],
            "Discharges": [{"client_id": c, "episode_start": s, "discharge_date": d,
                            "discharge_reason": r, "complexity": g}
                           for c, s, d, r, g in discharges],
            "Reviews": []}


@case("client open at two providers", 0, "client-at-two-providers", "Presentations!B2",
      message="still open", outputs={"P2-2013-06-annotated.xlsx"})
def _(kit):
    kit.write_cohort_return(_cohort_rows([("X1", date(2013, 6, 3), "M")]), "P1", JUNE)
    kit.write_cohort_return(_cohort_rows([("X1", date(2013, 6, 20), "M")]), "P2", JUNE)
    return kit.validate(kit.returns / str(JUNE), COHORT_MODEL, kit.cohort_register, annotate="")


# -- nothing a provider writes runs in our outputs ------------------------------------------------

def _no_formulas_and_neutralised(kit: Kit) -> None:
    import openpyxl

    schedule = kit.out / "schedule.xlsx"
    parts = zipfile.ZipFile(schedule)
    for name in parts.namelist():
        if name.startswith("xl/worksheets/"):
            assert b"<f>" not in parts.read(name) and b"<f " not in parts.read(name), name
    wb = openpyxl.load_workbook(schedule)
    clients = {c.value for c in wb["Evidence"]["B"] if c.value and c.value != "Client ID"}
    # Client ids are trimmed when read; each starts with a formula character but is text.
    assert clients == {"'" + text.strip() if text.strip()[0] in "=+-@" else text.strip()
                       for text in INJECTIONS}, clients
    names = [c.value for c in wb["Summary"]["B"] if isinstance(c.value, str) and "cmd" in c.value]
    assert names == ["'=cmd|' /C calc'!A0"], names


@case("formula injection into the schedule", 0, outputs={"schedule.xlsx"},
      check=_no_formulas_and_neutralised)
def _(kit):
    kit.cohort_register.write_text(COHORT_REGISTER.replace("First Recovery Service",
                                                           "\"=cmd|' /C calc'!A0\""))
    rows = _cohort_rows([(text, date(2013, 6, 3 + i), "M") for i, text in enumerate(INJECTIONS)])
    kit.write_cohort_return(rows, "P1", JUNE)
    kit.write_cohort_return(_cohort_rows(), "P2", JUNE)
    cmd = kit.calculate(COHORT_MODEL, kit.cohort_register)
    # Only June has returns: earlier months are assumed empty (warnings), June is paid.
    return cmd


def _annotated_keeps_text(kit: Kit) -> None:
    import openpyxl

    ws = openpyxl.load_workbook(kit.out / "checked.xlsx")["Outcomes"]
    cell = ws["B2"]
    assert cell.value == INJECTIONS[0] and cell.data_type == "s", (cell.value, cell.data_type)


@case("formula text kept as text in the annotated copy", 0,
      outputs={"checked.xlsx"}, check=_annotated_keeps_text)
def _(kit):
    rows = clean_rows()
    rows["Outcomes"][0]["client_id"] = INJECTIONS[0]
    return kit.validate(kit.write_return(rows))


# -- broken and hostile models ---------------------------------------------------------------------

@case("model with a python tag", 2, message="tag:yaml.org,2002:python/object/apply:os.system")
def _(kit):
    return kit.calculate(kit.model_copy("title: Birmingham",
                                        "title: !!python/object/apply:os.system ['touch /tmp/pwned']\n  x: Birmingham"))


@case("model name with ../", 2, message="is not a model name")
def _(kit):
    return kit.calculate("../../etc/passwd")


@case("model with a misspelt key", 2, message="did you mean 'title'")
def _(kit):
    return kit.calculate(kit.model_copy("  title:", "  titel:"))


@case("model missing a key", 2, message="scheme.start")
def _(kit):
    return kit.calculate(kit.model_copy("  start: 2013-04-01\n", ""))


@case("model band table not increasing", 2, message="each bound higher than the last")
def _(kit):
    path = kit.model_copy("- {from: 0.45, price: 300}", "- {from: 0.25, price: 300}",
                          source=COHORT_MODEL)
    kit.write_cohort_return(_cohort_rows(), "P1", JUNE)
    return kit.calculate(path, kit.cohort_register)


@case("model with a YAML alias bomb", 2, message="aliases")
def _(kit):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 12)]
    path = kit.inputs / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    return kit.calculate(path)


@case("model that is not UTF-8", 2, message="not UTF-8")
def _(kit):
    path = kit.inputs / "latin.yaml"
    path.write_bytes(MODEL.read_bytes().replace(b"Birmingham", "Birmingh\xe4m".encode("latin-1"), 1))
    return kit.calculate(path)


@case("a return that is a named pipe", 2, "not-a-workbook", message="not a regular file")
def _(kit):
    import os

    path = kit.path("P1-2013-06.xlsx")
    os.mkfifo(path)  # reading it would block for ever
    return kit.validate(path)


@case("a return that is a device", 2, "not-a-workbook", message="not a regular file")
def _(kit):
    return kit.validate(Path("/dev/zero"))


@case("users supported far beyond the places", 1, "above-maximum", "Utilisation!F3",
      outputs={"checked.xlsx"})
def _(kit):
    rows = clean_rows()
    rows["Utilisation"][1]["users_supported"] = 10**300  # 1E+300 paid full utilisation
    return kit.validate(kit.write_return(rows))


@case("model price with a fraction of a penny", 2, message="at most two decimal places")
def _(kit):
    path = kit.model_copy("{from: 0.45, price: 300}", "{from: 0.45, price: 300.005}",
                          source=COHORT_MODEL)
    kit.write_cohort_return(_cohort_rows(), "P1", JUNE)
    return kit.calculate(path, kit.cohort_register)


@case("model formula with a number of a billion digits", 2, message="at most 30 digits")
def _(kit):
    return kit.calculate(kit.model_copy("amount: monthly_value\n",
                                        "amount: monthly_value * 1e999999999\n"))


@case("model formula of 200,000 terms", 2, message="characters long")
def _(kit):
    return kit.calculate(kit.model_copy("amount: monthly_value\n", "amount: monthly_value"
                                        + " + 1" * 200_000 + "\n"))


@case("model nested 50,000 deep", 2, message="nested too deeply")
def _(kit):
    path = kit.inputs / "deep.yaml"
    path.write_text("scheme: " + "[" * 50_000 + "]" * 50_000 + "\n")
    return kit.calculate(path)


@case("config that is not UTF-8", 2, message="not UTF-8")
def _(kit):
    config = kit.inputs / "pbr.yaml"
    config.write_bytes("models: mod\xe8les\n".encode("latin-1"))
    return ["models", "list", "--config", str(config)]


@case("config of 200 MB", 2, message="at most 1 MB")
def _(kit):
    config = kit.inputs / "pbr.yaml"
    with config.open("wb") as fh:
        fh.truncate(200 * 2**20)  # sparse: costs nothing on disk
    return ["models", "list", "--config", str(config)]


# -- what Excel shows, and what it hides (every spelling XML allows) -----------------------------

@case("row hidden with single quotes", 2, "hidden-data", "Outcomes!4", message="row 4 is hidden",
      outputs={"checked.xlsx"})
def _(kit):
    path = kit.write_return()
    replace_in(path, "Outcomes", b'<row r="4"', b"<row r='4' hidden='1'")
    return kit.validate(path)


@case("row of zero height", 2, "hidden-data", "Outcomes!4", message="row 4 is hidden",
      outputs={"checked.xlsx"})
def _(kit):
    path = kit.write_return()
    replace_in(path, "Outcomes", b'<row r="4"', b'<row r="4" ht="0" customHeight="1"')
    return kit.validate(path)


@case("column of zero width", 2, "hidden-data", "Outcomes!F:F", message="'Result' is hidden",
      outputs={"checked.xlsx"})
def _(kit):
    import re

    path = kit.write_return()
    body = zipfile.ZipFile(BytesIO(path.read_bytes())).read(sheet_part(path.read_bytes(),
                                                                       "Outcomes"))
    col = re.search(rb'<col min="6" max="6" width="[\d.]+"', body).group(0)
    replace_in(path, "Outcomes", col, b'<col min="6" max="6" width="0"')
    return kit.validate(path)


def _with_style(path: Path, code: str) -> int:
    """Add a number format `code` and a cell style using it; return the style's index."""
    import re

    data = path.read_bytes()
    styles = zipfile.ZipFile(BytesIO(data)).read("xl/styles.xml")
    xfs = re.search(rb'<cellXfs count="(\d+)">', styles)
    index = int(xfs.group(1))
    fmt = f'<numFmt numFmtId="200" formatCode="{code}"/>'.encode()
    if b"<numFmts" in styles:
        styles = re.sub(rb"<numFmts count=\"(\d+)\">", lambda m: b'<numFmts count="'
                        + str(int(m.group(1)) + 1).encode() + b'">' + fmt, styles, count=1)
    else:
        styles = styles.replace(b"<fonts", b'<numFmts count="1">' + fmt + b"</numFmts><fonts", 1)
    styles = styles.replace(xfs.group(0), f'<cellXfs count="{index + 1}">'.encode(), 1)
    styles = styles.replace(b"</cellXfs>", b'<xf numFmtId="200" fontId="0" fillId="0" '
                            b'borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>', 1)
    path.write_bytes(rewrite_zip(data, lambda n, b: styles if n == "xl/styles.xml" else b))
    return index


@case("a value hidden by its number format ;;;", 2, "invisible-value", "Utilisation!E2",
      message="number format hides", outputs={"checked.xlsx"})
def _(kit):
    path = kit.write_return()
    style = _with_style(path, ";;;")
    replace_in(path, "Utilisation", b'<c r="E2" s="5"><v>12</v>',
               f'<c r="E2" s="{style}"><v>12</v>'.encode())
    return kit.validate(path)


@case("a duration cell holding 1E+10", 1, "duration-too-long", "Utilisation!E2",
      message="beyond what a return can hold", outputs={"checked.xlsx"})
def _(kit):
    path = kit.write_return()  # [h]:mm:ss of ten billion days: no duration has it (read,
    # the cell shows hours, not the number held: refused on its cell)
    style = _with_style(path, "[h]:mm:ss")
    replace_in(path, "Utilisation", b'<c r="E2" s="5"><v>12</v>',
               f'<c r="E2" s="{style}"><v>1E+10</v>'.encode())
    return kit.validate(path)


@case("a duration no calendar has, and a formula, on one sheet", 1, "formula-in-input",
      "Utilisation!F3", outputs={"checked.xlsx"})
def _(kit):
    path = kit.write_return()  # the sheet is read twice: the second read must still work
    style = _with_style(path, "[h]:mm:ss")
    replace_in(path, "Utilisation", b'<c r="E2" s="5"><v>12</v>',
               f'<c r="E2" s="{style}"><v>1E+10</v>'.encode())
    replace_in(path, "Utilisation", b'<c r="F3" s="5"><v>40</v>',
               b'<c r="F3" s="5"><f>41</f><v>40</v>')  # saved: not what it gives
    return kit.validate(path)


@case("two sheets with one name", 2, "unsafe-workbook", message="two sheets are named")
def _(kit):
    path = kit.write_return()
    replace_in(path, "xl/workbook.xml", b'name="Outcomes"', b'name="utilisation"')
    return kit.validate(path)


@case("a formula's saved value", 1, "formula-in-input", "Utilisation!E2",
      message="type the value itself", outputs={"checked.xlsx"})
def _(kit):
    path = kit.write_return()  # Excel would show 300; the saved value says 12
    replace_in(path, "Utilisation", b'<c r="E2" s="5"><v>12</v>',
               b'<c r="E2" s="5"><f>300</f><v>12</v>')
    return kit.validate(path)


@case("a prefixed formula without a value", 1, "formula-without-value", "Utilisation!E2",
      outputs={"checked.xlsx"})
def _(kit):
    path = kit.write_return()
    replace_in(path, "Utilisation", b'<c r="E2" s="5"><v>12</v></c>',
               b'<c r="E2" s="5"><x:f xmlns:x="http://schemas.openxmlformats.org/'
               b'spreadsheetml/2006/main">10+2</x:f></c>')
    return kit.validate(path)


@case("an error cell in single quotes", 1, "error-value", "Utilisation!E2",
      outputs={"checked.xlsx"})
def _(kit):
    path = kit.write_return()
    replace_in(path, "Utilisation", b'<c r="E2" s="5"><v>12</v>',
               b"<c r='E2' s='5' t='e'><v>#N/A</v>")
    return kit.validate(path)


for _name, _ref in (("far cell in single quotes", b"r='XFD1048576'"),
                    ("far cell with spaces round =", b'r = "XFD1048576"'),
                    ("far cell of four letters", b'r="AAAA900000"'),
                    ("cell of four letters", b'r="AAAA3000"')):
    def _far(kit, ref=_ref):
        path = kit.write_return()
        replace_in(path, "Outcomes", b"</sheetData>",
                   b"<row r='40'><c " + ref + b' t="inlineStr"><is><t>x</t></is></c></row>'
                   b"</sheetData>")
        return kit.validate(path)

    case(_name, 2, "workbook-too-large", message="the limits are")(_far)


# -- identifiers that only look the same -----------------------------------------------------------

for _name, _id, _what in (("client id with a zero-width space", "C\u200b1", "U+200B"),
                          ("client id with a Cyrillic letter", "\u04211", "U+0421"),
                          ("client id with a soft hyphen", "C\u00ad1", "U+00AD"),
                          ("client id with a space inside", "C\u00a01", "U+0020")):
    def _lookalike(kit, ident=_id):
        rows = clean_rows()
        rows["Outcomes"][0]["client_id"] = ident
        return kit.validate(kit.write_return(rows))

    case(_name, 1, "suspicious-characters", message=_what, outputs={"checked.xlsx"})(_lookalike)


@case("client id in fullwidth letters is the plain id", 0, outputs=set())
def _(kit):
    rows = clean_rows()
    for row in rows["Outcomes"][:5]:  # C1's five outcomes, its id typed in fullwidth
        row["client_id"] = "\uff23\uff11"
    return ["validate", str(kit.write_return(rows)), "--model", str(MODEL), "--register",
            str(kit.register), "--json"]


# -- costly files: within the limits, or just past them ------------------------------------

def sheet_xml(rows: int, cols: int, cell: Callable[[int, int, str], str]) -> bytes:
    """A worksheet part of rows x cols cells, `cell(row, col0, letters)` giving each."""
    from pbr_cli.problems import column_letter

    letters = [column_letter(j) for j in range(cols)]
    out = [b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="'
           b'http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>']
    for r in range(1, rows + 1):
        out.append(b'<row r="%d">' % r)
        out.append("".join(cell(r, j, letters[j]) for j in range(cols)).encode())
        out.append(b"</row>")
    out.append(b"</sheetData></worksheet>")
    return b"".join(out)


def with_parts(path: Path, sheets: dict[str, bytes], strings=None) -> int:
    """Replace sheets' parts (by sheet name) and append texts (an iterable of <si> elements,
    streamed into the part: a few million take little memory) to the shared string table;
    returns the index of the first text appended."""
    import re

    data = path.read_bytes()
    parts = {sheet_part(data, name): body for name, body in sheets.items()}
    src = zipfile.ZipFile(BytesIO(data))
    old = re.findall(rb"<si>.*?</si>", src.read("xl/sharedStrings.xml"), flags=re.S)
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        for info in src.infolist():
            if info.filename == "xl/sharedStrings.xml" and strings is not None:
                with dst.open(info.filename, "w") as fh:
                    fh.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst '
                             b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                             b'main">' + b"".join(old))
                    batch: list[bytes] = []
                    for text in strings:
                        batch.append(text)
                        if len(batch) == 100_000:  # written in batches: one write is slow
                            fh.write(b"".join(batch))
                            batch.clear()
                    fh.write(b"".join(batch))
                    fh.write(b"</sst>")
            else:
                dst.writestr(info.filename, parts.get(info.filename, src.read(info)))
    path.write_bytes(out.getvalue())
    return len(old)


def costly_numbers(kit: Kit, rows: int, cols: int) -> Path:
    """The Outcomes sheet as rows x cols different numbers (they do not compress away)."""
    rng = random.Random(rows * cols)
    path = kit.write_return()
    with_parts(path, {"Outcomes": sheet_xml(rows, cols, lambda r, j, c: f'<c r="{c}{r}"><v>'
                                            f'{rng.randrange(10**9)}</v></c>')})
    return path


def costly_strings(kit: Kit, rows: int, cols: int) -> Path:
    """The Outcomes sheet as rows x cols cells, each its own shared text."""
    path = kit.write_return()
    base = with_parts(path, {}, (b"<si><t>s%09d</t></si>" % i for i in range(rows * cols)))
    with_parts(path, {"Outcomes": sheet_xml(rows, cols, lambda r, j, c: f'<c r="{c}{r}" t="s"><v>'
                                            f'{base + (r - 1) * cols + j}</v></c>')})
    return path


def one_text_many_times(kit: Kit, size: int, uses: int) -> Path:
    """One shared text of `size` characters, in `uses` cells of the Outcomes sheet."""
    rng = random.Random(size)
    text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(size))
    path = kit.write_return()
    base = with_parts(path, {}, [b"<si><t>%s</t></si>" % text.encode()])
    with_parts(path, {"Outcomes": sheet_xml(uses, 1, lambda r, j, c: f'<c r="{c}{r}" t="s"><v>{base}'
                                            '</v></c>')})
    return path


def with_extra_sheet(path: Path, name: str, body: bytes) -> None:
    """Add a worksheet no model reads (workbook.xml, its relationships, content types)."""
    data = path.read_bytes()
    part = "xl/worksheets/sheet99.xml"

    def change(member: str, content: bytes) -> bytes:
        if member == "xl/workbook.xml":
            return content.replace(b"</sheets>", b'<sheet name="%s" sheetId="99" r:id="rId99"/>'
                                   b"</sheets>" % name.encode())
        if member == "xl/_rels/workbook.xml.rels":
            return content.replace(b"</Relationships>", b'<Relationship Id="rId99" Type="http'
                                   b'://schemas.openxmlformats.org/officeDocument/2006/'
                                   b'relationships/worksheet" Target="worksheets/sheet99.xml"/>'
                                   b"</Relationships>")
        if member == "[Content_Types].xml":
            return content.replace(b"</Types>", b'<Override PartName="/%s" ContentType="'
                                   b"application/vnd.openxmlformats-officedocument."
                                   b'spreadsheetml.worksheet+xml"/></Types>' % part.encode())
        return content

    path.write_bytes(rewrite_zip(data, change, {part: body}))


def exact_read_beside(kit: Kit, rows: int, cols: int) -> Path:
    """A return the fast reader gives up on (a date no calendar has), so the sheet is read
    exactly, beside a sheet of rows x cols different numbers that no model reads."""
    rng = random.Random(rows + cols)
    path = kit.write_return()
    replace_in(path, "Outcomes", b'<c r="C2" s="9"><v>41428</v>', b'<c r="C2" s="9"><v>-1E+308</v>')
    with_extra_sheet(path, "Notes", sheet_xml(rows, cols, lambda r, j, c: f'<c r="{c}{r}"><v>'
                                              f'{rng.randrange(10**9)}</v></c>'))
    return path


@case("a sheet read exactly beside a sheet no model reads", 1, "not-a-date", "Outcomes!C2",
      message="no calendar date", outputs={"checked.xlsx"})
def _(kit):
    return kit.validate(exact_read_beside(kit, 200, 20))


@case("a date cell holding -1E+308", 1, "not-a-date", "Outcomes!C2", message="no calendar date",
      outputs={"checked.xlsx"})
def _(kit):
    path = kit.write_return()  # the fast reader gives up on the sheet; it is read exactly
    replace_in(path, "Outcomes", b'<c r="C2" s="9"><v>41428</v>', b'<c r="C2" s="9"><v>-1E+308</v>')
    return kit.validate(path)


@case("merged cells on a sheet read exactly", 1, "merged-cells", "Outcomes!B3", message="merged",
      outputs={"checked.xlsx"})
def _(kit):
    rows = clean_rows()
    rows["Outcomes"][1]["client_id"] = Merge("C1", 1)
    path = kit.write_return(rows)  # merges are streamed from the sheet, not from the reader
    replace_in(path, "Outcomes", b'<c r="C2" s="9"><v>41428</v>', b'<c r="C2" s="9"><v>-1E+308</v>')
    return kit.validate(path)


@case("one text used past the text limit", 2, "workbook-too-large", message="MiB of text")
def _(kit):
    return kit.validate(one_text_many_times(kit, 32_000, 2_100))  # 67 MB of text from 32 KB


@case("a string table of more than 2,500,000 texts", 2, "workbook-too-large",
      message="2,500,000 texts")
def _(kit):
    path = kit.write_return()
    with_parts(path, {}, (b"<si>%d</si>" % i for i in range(2_500_001)))  # counted unparsed
    return kit.validate(path)


@case("two sheets past the cells limit together", 2, "workbook-too-large",
      message="2,500,000 cells in the sheets read, together")
def _(kit):
    path = kit.write_return()  # each 26 x 50,001 = 1.3 million cells: 2.6 million in all
    for sheet in ("Utilisation", "Outcomes"):
        replace_in(path, sheet, b"</sheetData>", b'<row r="50001"><c r="Z50001"><v>1</v></c>'
                   b"</row></sheetData>")
    return kit.validate(path)


@case("far cell in a row without a number", 2, "workbook-too-large", message="99,999 rows")
def _(kit):
    path = kit.write_return()  # 26 x 99,999 cells; the row says nothing of where it is
    replace_in(path, "Outcomes", b"</sheetData>", b'<row><c r="Z99999"><v>1</v></c></row>'
               b"</sheetData>")
    return kit.validate(path)


# -- returns really saved by LibreOffice Calc (tests/libreoffice/make_returns.py) ----------

LIBREOFFICE = ROOT / "tests" / "libreoffice"


def _saved_by_libreoffice(name: str):
    def build(kit: Kit) -> list[str]:
        path = kit.path()
        path.write_bytes((LIBREOFFICE / f"{name}.xlsx").read_bytes())
        return kit.validate(path)
    return build


for _name, _exit, _code, _cell, _message in (
        ("clean", 0, None, None, ""),
        # LibreOffice gives a row of zero height its height back: nothing is hidden
        ("zero-height-row", 0, None, None, ""),
        ("hidden-row", 2, "hidden-data", "Outcomes!3", "row 3 is hidden"),
        ("hidden-column", 2, "hidden-data", "Utilisation!E:E", "is hidden"),
        ("invisible-format", 2, "invisible-value", "Utilisation!E2", ""),
        # =100+200 saved with 300, what it gives: read as shown (docs/limits.md)
        ("formula", 0, None, None, ""),
        ("number-as-text", 1, "number-as-text", "Utilisation!E2", "typed as text"),
        ("cyrillic-id", 1, "suspicious-characters", "Outcomes!B2", "U+0421")):
    case(f"saved by LibreOffice: {_name}", _exit, _code, _cell, _message,
         outputs={"checked.xlsx"})(_saved_by_libreoffice(_name))


@case("rows hidden by default (zeroHeight)", 2, "hidden-data", "Outcomes!2",
      message="row 2 is hidden", outputs={"checked.xlsx"})
def _(kit):
    path = kit.write_return()  # every row without a height of its own has none
    replace_in(path, "Outcomes", b"<sheetFormatPr ", b'<sheetFormatPr zeroHeight="1" ')
    return kit.validate(path)


def main(target: str) -> None:
    """Write every case's inputs under TARGET/<case>/ to look at."""
    import re

    for c in CASES:
        kit = Kit(Path(target) / re.sub(r"[^a-z0-9]+", "-", c.name.lower()).strip("-"))
        print(c.name, "->", " ".join(c.build(kit)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "corpus")
