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
        raise UnreadableFile(label, "corrupt-workbook", f"the sheet '{name}' cannot be read "
                             f"({type(exc).__name__})") from None
    return rows, merged_ranges(pkg, pkg.sheets[name]), special


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
        raise UnreadableFile(label, "corrupt-workbook",
                             f"the workbook cannot be read ({type(exc).__name__}: {exc})") from None


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
            copy.writestr(zipfile.ZipInfo(info.filename, info.date_time), body,
                          zipfile.ZIP_DEFLATED)  # (a new ZipInfo: pkg.zip reads by its own)
    try:
        sheet = _open_book(label, out.getvalue()).get_sheet_by_name(name)
        return sheet.to_python(skip_empty_area=False), list(sheet.merged_cell_ranges or [])
    except BaseException as exc:
        _reraise_if_not_a_reader_failure(exc)
        raise UnreadableFile(label, "corrupt-workbook", f"the sheet '{name}' cannot be read "
                             f"({type(exc).__name__})") from None


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
        elif type(exc).__name__ != "PanicException":
            raise UnreadableFile(label, "corrupt-workbook", f"the sheet '{name}' cannot be "
                                 f"read ({type(exc).__name__})") from None
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
    return raw
