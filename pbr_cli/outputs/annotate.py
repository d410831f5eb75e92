"""An annotated copy of a provider's return, to send back: each problem cell highlighted
with a comment giving the message, and a Problems sheet listing them with links to the cells.

The provider's values, formulas, sheets and layout are kept exactly; only fills and comments
are added (and macros and links to other workbooks dropped: the copy is a plain .xlsx).
The file is written atomically and is byte-identical for the same inputs.
"""

from __future__ import annotations

import re
import zipfile
from collections import defaultdict
from io import BytesIO
from pathlib import Path

from pbr_cli.errors import PbrError
from pbr_cli.outputs.xlsx import FIXED_DATE, atomic_output, safe_text
from pbr_cli.problems import CATALOGUE, WARNING, Problem

# Told apart by a colour-blind reader from each other and from the template's pale yellow
# input cells: warnings blue with a dashed border, errors red with a thick one.
FILLS = {"warning": "BDD7EE", "error": "FFC7CE", "fatal": "FF9999"}
BORDERS = {"warning": ("dashed", "2F5597"), "error": ("thick", "C00000"),
           "fatal": ("thick", "C00000")}
SHEET_TITLE = "Problems"
MAX_COMMENT = 2000  # characters per cell comment; the Problems sheet has every message


def _text(value: str) -> str:
    """Text openpyxl can write: neutralised against formulas, control characters shown as
    \\x1b rather than refused."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return safe_text(ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group(0)):02x}", value))


def _problems_sheet_name(existing: list[str]) -> str:
    name, n = SHEET_TITLE, 1
    while name.casefold() in {s.casefold() for s in existing}:
        n += 1
        name = f"{SHEET_TITLE} {n}"
    return name


def _cell_of(p: Problem, ws) -> tuple[int, int] | None:
    """(row, column) the problem is shown on, 1-based; None if it has no place on the sheet."""
    from openpyxl.utils import column_index_from_string

    if p.row is not None:
        return p.row, column_index_from_string(p.column) if p.column else 1
    if p.column is not None:
        return 1, column_index_from_string(p.column)  # a whole column: its heading
    return 1, 1  # the whole sheet: its first cell


def write_annotated(source: Path, problems: list[Problem], target: Path,
                    checked_against: str) -> int:
    """Write the annotated copy of `source` to `target`; return how many cells were marked."""
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.worksheet.hyperlink import Hyperlink

    if Path(target).resolve() == Path(source).resolve():
        raise PbrError(f"{target}: the annotated copy would overwrite the return itself; give "
                       "another file name", code="usage")
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl's notes on odd cells; pbr reports them
            wb = openpyxl.load_workbook(source, keep_vba=False, keep_links=False)
    except Exception as exc:  # the gate has passed it, but openpyxl may still refuse
        raise PbrError(f"{source}: cannot make an annotated copy ({type(exc).__name__}: "
                       f"{exc})", code="corrupt-workbook") from None
    wb.template = False
    marks: dict[tuple[str, int, int], list[Problem]] = defaultdict(list)
    for p in problems:
        if p.sheet is not None and p.sheet in wb.sheetnames:
            where = _cell_of(p, wb[p.sheet])
            if where:
                marks[(p.sheet, *where)].append(p)
    for (sheet, row, col), found in marks.items():
        cell = wb[sheet].cell(row=row, column=col)
        worst = "fatal" if any(p.severity == "fatal" for p in found) else (
            "error" if any(p.is_error for p in found) else WARNING)
        cell.fill = PatternFill("solid", start_color=FILLS[worst], end_color=FILLS[worst])
        style, colour = BORDERS[worst]
        side = Side(style=style, color=colour)
        cell.border = Border(left=side, right=side, top=side, bottom=side)
        text = "\n".join(f"{p.severity}: {p.message} [{p.code}]" for p in found)
        if len(text) > MAX_COMMENT:
            text = text[:MAX_COMMENT - 40] + "\n... (see the Problems sheet)"
        comment = Comment(_text(text), "pbr")
        comment.width = 320
        comment.height = min(60 + 18 * text.count("\n") + len(text) // 3, 400)
        cell.comment = comment
    for sheet in {s for s, _, _ in marks}:
        wb[sheet].page_setup.cellComments = "atEnd"  # printed, the comments follow the sheet

    name = _problems_sheet_name(wb.sheetnames)
    ws = wb.create_sheet(name, 0)
    bold = Font(bold=True)
    ws["A1"] = "Problems found in this return"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = _text(f"File: {Path(source).name}. Checked against {checked_against}.")
    ws["A3"] = ("Highlighted cells carry a comment with the problem (errors red with a thick "
                "border, warnings blue with a dashed one). Correct your own return (not this "
                "copy) and send it again." if problems else "No problems found.")
    headings = ("Severity", "Cell", "Code", "Message", "What it means")
    for j, heading in enumerate(headings, start=1):
        c = ws.cell(row=5, column=j, value=heading)
        c.font = bold
    for i, p in enumerate(problems, start=6):
        ws.cell(row=i, column=1, value=p.severity).fill = PatternFill(
            "solid", start_color=FILLS.get(p.severity, FILLS["error"]),
            end_color=FILLS.get(p.severity, FILLS["error"]))
        link = ws.cell(row=i, column=2, value=_text(p.cell or "(whole file)"))
        where = _cell_of(p, wb[p.sheet]) if p.sheet in wb.sheetnames else None
        if where is not None:
            row, col = where
            from openpyxl.utils import get_column_letter

            target_ref = f"'{p.sheet}'!{get_column_letter(col)}{row}"
            link.hyperlink = Hyperlink(ref=link.coordinate, location=target_ref,
                                       display=p.cell)
            link.font = Font(color="0563C1", underline="single")
        ws.cell(row=i, column=3, value=p.code)
        ws.cell(row=i, column=4, value=_text(p.message))
        known = CATALOGUE.get(p.code)
        meaning = known.meaning if known is not None else ""
        ws.cell(row=i, column=5, value=safe_text(meaning))
        lines = max(-(-len(p.message) // 66), -(-len(meaning) // 46), 1)
        ws.row_dimensions[i].height = 15 * lines  # wrapped text needs the room set
    for letter, width in zip("ABCDE", (10, 20, 24, 70, 50), strict=True):
        ws.column_dimensions[letter].width = width
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in ws.iter_rows(min_row=6, min_col=1, max_col=5):
        for c in row:
            c.alignment = wrap
    ws.freeze_panes = "A6"
    ws.print_title_rows = "5:5"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    for sheet in wb.worksheets:
        sheet.sheet_view.tabSelected = False
    ws.sheet_view.tabSelected = True
    wb.active = 0

    buffer = BytesIO()
    try:
        wb.save(buffer)
    except Exception as exc:
        raise PbrError(f"{source}: cannot make an annotated copy ({type(exc).__name__}: "
                       f"{exc})", code="corrupt-workbook") from None
    data = _deterministic(buffer.getvalue())
    with atomic_output(Path(target)) as tmp:
        tmp.write_bytes(data)
    return len(marks)


_MODIFIED = re.compile(rb"<dcterms:modified([^>]*)>[^<]*</dcterms:modified>")
_CREATED = re.compile(rb"<dcterms:created([^>]*)>[^<]*</dcterms:created>")


def _deterministic(data: bytes) -> bytes:
    """The same zip with fixed entry dates and document dates: identical inputs, identical bytes."""
    stamp = FIXED_DATE.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    src = zipfile.ZipFile(BytesIO(data))
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "docProps/core.xml":
                body = _MODIFIED.sub(rb"<dcterms:modified\1>" + stamp + rb"</dcterms:modified>", body)
                body = _CREATED.sub(rb"<dcterms:created\1>" + stamp + rb"</dcterms:created>", body)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_DATE.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, body)
    return out.getvalue()
