"""Read a workbook's values once, fast, after the package gate.

Values come from python-calamine. Where the gate's scan saw formulas or error cells in a
sheet, that sheet's XML is also streamed once to find the cells calamine would show as blank
(errors, formulas without saved values), so they are reported rather than read as blanks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from pbr_cli.files import NotAFile, TooLarge, read_bounded
from pbr_cli.workbook.package import (
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_FILE_BYTES,
    MAX_TEXT_BYTES,
    UnreadableFile,
    open_package,
)
from pbr_cli.workbook.sheet_scan import exact_cells, merged_ranges, scan_sheet
from pbr_cli.workbook.styles import read_styles
from pbr_cli.workbook.visibility import check_sheet_choice, mark


@dataclass
class RawSheet:
    name: str
    rows: list[list[Any]]  # rows[i][j] is the value of Excel row i+1, column j+1
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    special: dict[tuple[int, int], str] = field(default_factory=dict)  # (row0, col0) -> code
    hidden_rows: frozenset[int] = frozenset()  # 1-based Excel rows marked hidden
    hidden_columns: frozenset[int] = frozenset()  # 1-based columns marked hidden
    notes: dict[tuple[int, int], str] = field(default_factory=dict)  # what a marked cell says
    details: dict[tuple[int, int], str] = field(default_factory=dict)  # what a marked cell shows

    def value(self, row0: int, col0: int) -> Any:
        if row0 < len(self.rows) and col0 < len(self.rows[row0]):
            return self.rows[row0][col0]
        return None


@dataclass
class RawWorkbook:
    path: str
    sha256: str
    sheet_names: list[str]
    hidden: set[str]
    sheets: dict[str, RawSheet]


def _reraise_if_not_a_reader_failure(exc: BaseException) -> None:
    # The Rust reader's panics arrive as PanicException, which is not an Exception.
    from pbr_cli.errors import Interrupted

    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError, Interrupted)):
        raise exc


_EMPTY_SHEET = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="'
                b'http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/>'
                b"</worksheet>")


def _only_sheet(pkg, part: str) -> bytes:
    """A copy of the workbook whose other sheets are empty: openpyxl looks at every sheet
    when it opens a workbook, even read-only."""
    import zipfile

    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in pkg.zip.infolist():
            other = info.filename != part and info.filename in pkg.sheets.values()
            # (a new ZipInfo: writing one changes it, and pkg.zip reads by its own)
            copy.writestr(zipfile.ZipInfo(info.filename, info.date_time),
                          _EMPTY_SHEET if other else pkg.zip.read(info), zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _exact_sheet(label: str, pkg, name: str):
    """One sheet read with openpyxl, streaming that sheet alone (read-only, from a copy in
    which the others are empty; its declared dimension is not trusted): (rows, merged
    ranges, {(row0, col0): code})."""
    import warnings

    import openpyxl

    rows: list[list[Any]] = []
    special: dict[tuple[int, int], str] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(BytesIO(_only_sheet(pkg, pkg.sheets[name])),
                                          read_only=True, data_only=True)
            try:
                ws = book[name]
                ws.reset_dimensions()
                for r, row in enumerate(ws.iter_rows()):
                    values: list[Any] = []
                    for c, cell in enumerate(row):
                        if cell.data_type == "e":
                            # openpyxl marks a date serial outside every calendar as #VALUE!
                            special[(r, c)] = ("error-value" if cell.value != "#VALUE!"
                                               else "not-a-date")
                            values.append(None)
                        else:
                            values.append(cell.value)
                    rows.append(values)
            finally:
                book.close()
    except Exception as exc:
        raise _sheet_failure(label, pkg, name, str(exc)) from None
    return rows, merged_ranges(pkg, pkg.sheets[name]), special


def _sheet_failure(label: str, pkg, name: str, said: str) -> UnreadableFile:
    """A sheet a reader gave up on, refused saying what is wrong in it: the first thing in
    its XML no spreadsheet writes (where, and what), else the reader's account `said` put
    in the return's words."""
    import zipfile
    import zlib

    from pbr_cli.workbook.damage import reader_words, sheet_damage

    what = f"the sheet '{name}'"
    try:
        texts = len(pkg.text_sizes()) if pkg.strings_part is not None else 0
        with pkg.zip.open(pkg.sheets[name]) as fh:
            found = sheet_damage(what, fh, texts)
        if found is None and pkg.strings_part is not None:  # the texts its cells refer to
            with pkg.zip.open(pkg.strings_part) as fh:
                found = sheet_damage(f"the workbook's table of texts ({pkg.strings_part.filename})",
                                     fh, None)
    except (OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error, UnreadableFile):
        found = None
    return UnreadableFile(label, "corrupt-workbook",
                          found or f"{what} cannot be read: {reader_words(said)}")


def read_workbook(path: Path | str, wanted: list[str] | Callable[[RawSheet | None], list[str]]
                  | None = None, first: str = "") -> RawWorkbook:
    """Read the named sheets (all if None) of the workbook at `path`. `wanted` may instead
    be a function of the sheet named `first` (None if there is none), read first, that names
    the other sheets to read: for a return, the sheets of the model its Cover names."""
    label = str(path)
    try:
        data = read_bounded(path, MAX_FILE_BYTES)  # refused from its size before it is read
    except TooLarge as exc:
        raise UnreadableFile(label, "workbook-too-large", f"the file is {exc.strerror}") from None
    except NotAFile:  # a pipe would block for ever, a device never end
        raise UnreadableFile(label, "not-a-workbook", "this is not a regular file (a pipe, a "
                             "socket or a device); send the return as an .xlsx file") from None
    except FileNotFoundError:
        raise UnreadableFile(label, "file-not-found", "no such file") from None
    except IsADirectoryError:
        raise UnreadableFile(label, "file-not-found", "this is a folder, not a file") from None
    except OSError as exc:
        raise UnreadableFile(label, "file-not-found", f"cannot open it ({exc.strerror})") from None
    try:
        return _read_bytes(label, data, wanted, first)
    except UnreadableFile as exc:
        exc.sha256 = hashlib.sha256(data).hexdigest()  # which bytes were found unreadable
        raise


def _read_bytes(label: str, data: bytes, wanted: list[str] | Callable[[RawSheet | None],
                list[str]] | None, first: str) -> RawWorkbook:
    pkg = open_package(label, data)
    pkg.looks = read_styles(label, pkg.zip, pkg.parts)  # what each cell style shows
    names = list(pkg.sheets)
    choose = wanted if callable(wanted) else None
    if choose is not None:
        wanted = [first]
    listed = wanted if isinstance(wanted, list) else names
    targets = [n for n in listed if n in pkg.sheets]
    check_sheet_choice(label, pkg, targets)
    scans = _scans(label, pkg, targets)  # the gate passes every sheet before any is read
    book = _open_book(label, data)
    sheets = {name: _read_sheet(label, data, pkg, book, name, scans[name]) for name in targets}
    if choose is not None:
        more = [n for n in choose(sheets.get(first)) if n in pkg.sheets and n not in sheets]
        check_sheet_choice(label, pkg, more)
        scans = _scans(label, pkg, more, list(scans.values()))
        sheets.update((name, _read_sheet(label, data, pkg, book, name, scans[name]))
                      for name in more)
    return RawWorkbook(label, hashlib.sha256(data).hexdigest(), names, pkg.hidden, sheets)


def _scans(label: str, pkg, targets: list[str], before: list | None = None) -> dict[str, Any]:
    """Each sheet's scan, or UnreadableFile for the first that takes the sheets read
    (with those scanned `before`) beyond the limits: what the reader will allocate."""
    scans: dict[str, Any] = {}
    cells = sum(s.cells for s in before or [])
    text = sum(s.text_bytes for s in before or [])
    for name in targets:
        scan = scan_sheet(pkg, pkg.sheets[name])
        cells += scan.cells
        text += scan.text_bytes
        if scan.max_col > MAX_COLUMNS or cells > MAX_CELLS:
            raise UnreadableFile(
                label, "workbook-too-large",
                f"the sheet '{name}' uses {scan.max_row:,} rows and column {scan.max_col:,}; "
                f"the limits are {MAX_COLUMNS} columns and {MAX_CELLS:,} cells in the sheets "
                "read, together")
        if text > MAX_TEXT_BYTES:
            raise UnreadableFile(
                label, "workbook-too-large",
                f"the sheet '{name}' repeats the workbook's texts beyond the limit (the cells "
                f"read may hold {MAX_TEXT_BYTES // 2**20} MiB of text, each use of a text "
                "counted)")
        scans[name] = scan
    return scans


def _open_book(label: str, data: bytes):
    import python_calamine as calamine  # imported here: keeps `pbr --help` fast

    try:
        return calamine.CalamineWorkbook.from_filelike(BytesIO(data))
    except calamine.PasswordError:
        raise UnreadableFile(label, "encrypted-workbook", "the workbook is password-protected") from None
    except BaseException as exc:  # calamine reports damage with several exception types
        _reraise_if_not_a_reader_failure(exc)
        from pbr_cli.workbook.damage import INCOMPLETE, reader_words

        raise UnreadableFile(label, "corrupt-workbook",
                             f"{INCOMPLETE} ({reader_words(str(exc))})") from None


def _without_durations(label: str, pkg, name: str):
    """The sheet's rows read from a copy of the workbook whose duration number formats
    ([h], [m], [s]) are plain numbers."""
    import re
    import zipfile

    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in pkg.zip.infolist():
            body = pkg.zip.read(info)
            if info.filename == "xl/styles.xml":
                body = re.sub(rb"""formatCode\s*=\s*(["'])[^"']*\[(?:h+|m+|s+)\][^"']*\1""",
                              b'formatCode="0.00"', body, flags=re.IGNORECASE)
                # Excel's own duration format, [h]:mm:ss, is number format 46
                body = re.sub(rb"""numFmtId\s*=\s*(["'])46\1""", b'numFmtId="2"', body)
            copy.writestr(zipfile.ZipInfo(info.filename, info.date_time), body,
                          zipfile.ZIP_DEFLATED)  # (a new ZipInfo: pkg.zip reads by its own)
    try:
        sheet = _open_book(label, out.getvalue()).get_sheet_by_name(name)
        return sheet.to_python(skip_empty_area=False), list(sheet.merged_cell_ranges or [])
    except BaseException as exc:
        _reraise_if_not_a_reader_failure(exc)
        raise _sheet_failure(label, pkg, name, str(exc)) from None


LONGEST_DURATION = 999_999_999  # days: beyond this no duration can be held, in a return or in pbr


def long_durations(pkg, part: str) -> dict[tuple[int, int], str]:
    """The cells formatted as durations ([h]:mm:ss, number format 46, or any format with
    [h], [m] or [s]) holding more days than LONGEST_DURATION: {(row0, col0):
    "duration-too-long"}. Read only for a sheet the fast reader could not give for them."""
    import re

    import defusedxml.ElementTree as SafeET

    from pbr_cli.workbook.package import _parse_xml, _read_part, local

    styles = _parse_xml(pkg.path, _read_part(pkg.path, pkg.zip, "xl/styles.xml"),
                        "xl/styles.xml")
    durations = {"46"}
    xfs: list[str] = []
    for node in styles.iter():
        if local(node.tag) == "numFmt" and re.search(r"\[(?:h+|m+|s+)\]",
                                                      node.get("formatCode", ""), re.I):
            durations.add(node.get("numFmtId", ""))
        elif local(node.tag) == "cellXfs":
            xfs = [x.get("numFmtId", "0") for x in node if local(x.tag) == "xf"]
    wanted = {str(i) for i, fmt in enumerate(xfs) if fmt in durations}
    found: dict[tuple[int, int], str] = {}
    with pkg.zip.open(part) as fh:
        for _, node in SafeET.iterparse(fh, events=("end",)):
            tag = local(node.tag)
            if tag == "row":
                node.clear()
            if tag != "c" or node.get("s", "0") not in wanted:
                continue
            ref = re.fullmatch(r"([A-Za-z]{1,3})(\d{1,7})", node.get("r", ""))
            value = next((child.text for child in node if local(child.tag) == "v"), None)
            try:
                days = abs(float(value or 0))
            except ValueError:
                continue
            if ref and days > LONGEST_DURATION:
                letters = ref.group(1).upper()
                col = 0
                for ch in letters:
                    col = col * 26 + ord(ch) - 64
                found[(int(ref.group(2)) - 1, col - 1)] = "duration-too-long"
    return found


def _read_sheet(label: str, data: bytes, pkg, book, name: str, scan) -> RawSheet:
    special: dict[tuple[int, int], str] = {}
    try:
        sheet = book.get_sheet_by_name(name)
        rows = sheet.to_python(skip_empty_area=False)
        merged = list(sheet.merged_cell_ranges or [])
    except BaseException as exc:
        _reraise_if_not_a_reader_failure(exc)
        if isinstance(exc, OverflowError):
            # A cell formatted as a duration ([h]:mm:ss) holding a number no duration has:
            # read the sheet again with durations shown as the numbers they are, so the
            # problem stays with its cell (the column's type and limits judge it).
            rows, merged = _without_durations(label, pkg, name)
            special = long_durations(pkg, pkg.sheets[name])
        elif type(exc).__name__ != "PanicException":
            raise _sheet_failure(label, pkg, name, str(exc)) from None
        else:
            # The fast reader gives up on some values (a date-formatted cell holding a
            # number no calendar has); the exact reader reads the sheet and marks those.
            rows, merged, special = _exact_sheet(label, pkg, name)
    raw = RawSheet(name, rows, merged, hidden_rows=scan.hidden_rows,
                   hidden_columns=scan.hidden_columns)
    if scan.has_formulas or scan.has_errors:
        raw.special = exact_cells(pkg, scan.part)
    for key, code in special.items():
        raw.special.setdefault(key, code)
    mark(pkg, scan, rows, raw.special, raw.details)  # values not shown as they are
    for key, code in special.items():  # a duration no return can hold: said as that
        if code == "duration-too-long":
            raw.special[key] = code
            raw.details.pop(key, None)
    if scan.has_formulas:
        _trust_formulas(pkg, scan.part, name, raw)
    return raw


def _trust_formulas(pkg, part: str, name: str, raw: RawSheet) -> None:
    """A formula cell whose saved value is what its formula gives is read as saved; any
    other is marked formula-in-input with what is wrong (pbr_cli/workbook/formulas.py)."""
    from pbr_cli.workbook.damage import xml_damage
    from pbr_cli.workbook.formulas import formula_cells, judge

    try:
        cells = formula_cells(pkg, part)
    except Exception as exc:  # refused or broken XML
        raise UnreadableFile(pkg.path, "corrupt-workbook",
                             xml_damage(f"the sheet '{name}'", exc)) from None
    untrusted = judge(cells, raw.value, raw.special)
    for key, cell in cells.items():
        if cell.saved is None:
            raw.special.setdefault(key, "formula-without-value")
        elif raw.special.get(key, "formula-in-input") != "formula-in-input":
            continue  # an error value, a value its format hides: said as that
        elif key in untrusted:
            raw.special[key], raw.notes[key] = "formula-in-input", untrusted[key]
        else:
            raw.special.pop(key, None)
