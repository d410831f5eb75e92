"""What a person sees in each cell of a workbook, as LibreOffice Calc shows it.

Run by a Python that has LibreOffice's `uno` module (Debian's python3-uno), connected to a
running soffice (tests/shown/__init__.py starts one):

    python3 uno_render.py PIPE-NAME FILE...

and prints one JSON object per file, one a line:

    {"file": ..., "error": null or why it could not be opened,
     "sheets": [{"name", "visible", "cells": {"B2": {"text", "seen", "why"}}}]}

`text` is the cell's text as formatted (cell.getString(), or the format a conditional
format applies when its condition holds); `seen` is false, with `why`, when its row or
column is hidden or of (almost) no size, it is covered by a merged cell, its text's colour
is its background's (number-format colours and conditional formats included), or its font
is too small to read. Only cells holding something are listed. Nothing is saved: the
document is opened read-only and closed.
"""

from __future__ import annotations

import json
import sys

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]
from com.sun.star.beans.PropertyState import DIRECT_VALUE  # type: ignore[import-not-found]

WHITE, BLACK = 0xFFFFFF, 0x000000
MIN_WIDTH = 100  # 1/100 mm: a column or row narrower than 1 mm shows nothing readable
MIN_POINTS = 4.0  # a font below 4 pt cannot be read on screen or paper
NEAR = 12  # colours whose every channel differs by at most this look the same
SCRATCH_COL, SCRATCH_ROW = 1023, 1048575  # the last cell of a sheet (AMJ1048576)


def prop(name: str, value) -> PropertyValue:
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def col_letter(c: int) -> str:
    s = ""
    c += 1
    while c:
        c, r = divmod(c - 1, 26)
        s = chr(65 + r) + s
    return s


def same_colour(a: int, b: int) -> bool:
    return all(abs(((a >> s) & 255) - ((b >> s) & 255)) <= NEAR for s in (0, 8, 16))


def connect(pipe: str):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
    smgr = ctx.ServiceManager
    desktop = smgr.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    return ctx, smgr, desktop


class Sheet:
    """One sheet's rows, columns and conditional formats, read once."""

    def __init__(self, doc, sheet, formatter):
        self.doc, self.sheet, self.formatter = doc, sheet, formatter
        self.rows: dict[int, str | None] = {}
        self.cols: dict[int, str | None] = {}
        self.conditional = self._conditional_ranges()
        self.styles = doc.StyleFamilies.getByName("CellStyles")

    def _conditional_ranges(self) -> list[tuple[int, int, int, int]]:
        out = []
        try:
            formats = self.sheet.ConditionalFormats.getConditionalFormats()
        except Exception:  # noqa: BLE001 - an older LibreOffice: none known
            return out
        for f in formats:
            try:
                ranges = f.Range.getRangeAddresses()
            except Exception:  # noqa: BLE001
                continue
            for a in ranges:
                out.append((a.StartRow, a.EndRow, a.StartColumn, a.EndColumn))
        return out

    def row_hidden(self, r: int) -> str | None:
        if r not in self.rows:
            row = self.sheet.Rows.getByIndex(r)
            self.rows[r] = ("row hidden" if not row.IsVisible else
                            "row of no height" if row.Height < MIN_WIDTH else None)
        return self.rows[r]

    def col_hidden(self, c: int) -> str | None:
        if c not in self.cols:
            col = self.sheet.Columns.getByIndex(c)
            self.cols[c] = ("column hidden" if not col.IsVisible else
                            "column of no width" if col.Width < MIN_WIDTH else None)
        return self.cols[c]

    def in_conditional(self, r: int, c: int) -> bool:
        return any(r0 <= r <= r1 and c0 <= c <= c1 for r0, r1, c0, c1 in self.conditional)

    def condition_holds(self, cell, entry) -> bool | None:
        """Whether a conditional format's condition holds for the cell, worked out by
        Calc itself in the sheet's last cell (the formulas name absolute cells: the legacy
        interface gives them relative to this cell). None when it cannot be told."""
        op = entry.getOperator().value
        f1, f2 = entry.getFormula1(), entry.getFormula2()
        a = cell.CellAddress
        me = f"${col_letter(a.Column)}${a.Row + 1}"
        tests = {"EQUAL": f"{me}=({f1})", "NOT_EQUAL": f"{me}<>({f1})",
                 "GREATER": f"{me}>({f1})", "GREATER_EQUAL": f"{me}>=({f1})",
                 "LESS": f"{me}<({f1})", "LESS_EQUAL": f"{me}<=({f1})",
                 "BETWEEN": f"AND({me}>=MIN(({f1});({f2}));{me}<=MAX(({f1});({f2})))",
                 "NOT_BETWEEN": f"OR({me}<MIN(({f1});({f2}));{me}>MAX(({f1});({f2})))",
                 "FORMULA": f"({f1})"}
        if op not in tests:
            return None
        scratch = self.sheet.getCellByPosition(SCRATCH_COL, SCRATCH_ROW)
        try:
            scratch.setFormula(f"=IF({tests[op]};1;0)")
            if scratch.getError():
                return None
            return scratch.getValue() == 1
        except Exception:  # noqa: BLE001 - a formula Calc cannot take
            return None
        finally:
            scratch.setString("")

    def style_set(self, style, name: str):
        """A conditional format's style sets only some properties; the value if this is one."""
        try:
            if style.getPropertyState(name) == DIRECT_VALUE:
                return style.getPropertyValue(name)
        except Exception:  # noqa: BLE001
            return None
        return None


class Looks:
    """How a uniformly formatted range looks: its number format, colours, font size, and
    whether its cells are covered by a merged cell."""

    def __init__(self, sheet, rng, merges: bool):
        a = rng.RangeAddress
        self.box = (a.StartRow, a.EndRow, a.StartColumn, a.EndColumn)
        self.fmt = rng.NumberFormat
        self.font = rng.CharColor
        self.back = WHITE if rng.IsCellBackgroundTransparent else rng.CellBackColor
        self.points = rng.CharHeight
        self.covered, self.merge = False, ""
        if merges:  # a covered cell has its own attributes, so a range of its own
            cursor = sheet.createCursorByRange(sheet.getCellByPosition(a.StartColumn,
                                                                       a.StartRow))
            cursor.collapseToMergedArea()
            m = cursor.RangeAddress
            self.covered = (m.StartRow, m.StartColumn) != (a.StartRow, a.StartColumn)
            self.merge = f"{col_letter(m.StartColumn)}{m.StartRow + 1}"


def looks_of(sheet, used) -> list[Looks]:
    merges = used.getIsMerged()  # any merged cell in the range
    ranges = sheet.getCellFormatRanges()
    return [Looks(sheet, ranges.getByIndex(i), merges) for i in range(ranges.getCount())]


def shown_cell(sheet: Sheet, looks: Looks, cell, r: int, c: int, coloured: dict,
               value_type: str) -> dict:
    text = cell.getString()
    fmt, font, back, points = looks.fmt, looks.font, looks.back, looks.points
    why = sheet.row_hidden(r) or sheet.col_hidden(c)
    if not why and looks.covered:
        why = f"covered by the merged cell {looks.merge}"
    conditional = "none"
    if sheet.in_conditional(r, c):
        entries = cell.ConditionalFormat
        for i in range(entries.getCount()):
            entry = entries.getByIndex(i)
            holds = sheet.condition_holds(cell, entry)
            if holds is None:
                conditional = "undetermined"
                continue
            if not holds:
                continue
            conditional = entry.getStyleName()
            style = sheet.styles.getByName(entry.getStyleName())
            f = sheet.style_set(style, "NumberFormat")
            if f is not None:
                fmt = f
                text = (sheet.formatter.convertNumberToString(fmt, cell.getValue())
                        if value_type == "VALUE" else
                        sheet.formatter.formatString(fmt, cell.getString()))
            colour = sheet.style_set(style, "CharColor")
            if colour is not None:
                font = colour
            if sheet.style_set(style, "IsCellBackgroundTransparent") is False or \
                    sheet.style_set(style, "CellBackColor") is not None:
                back = style.CellBackColor if style.CellBackColor != -1 else WHITE
            size = sheet.style_set(style, "CharHeight")
            if size is not None:
                points = size
            break  # the first condition that holds is the one applied
    font = BLACK if font == -1 else font
    if fmt not in coloured:  # a format with its own colours ([White], [Color2]...)
        try:
            coloured[fmt] = "[" in sheet.doc.NumberFormats.getByKey(fmt).FormatString
        except Exception:  # noqa: BLE001
            coloured[fmt] = True
    if coloured[fmt]:
        try:
            if value_type == "VALUE":
                font = sheet.formatter.queryColorForNumber(fmt, cell.getValue(), font)
            else:
                font = sheet.formatter.queryColorForString(fmt, cell.getString(), font)
        except Exception:  # noqa: BLE001
            pass
    if not why and text.strip() and same_colour(font, back):
        why = f"text coloured {font:06X} on a background of {back:06X}"
    if not why and text.strip() and points < MIN_POINTS:
        why = f"a font of {points:g} pt"
    return {"text": text, "seen": not why, "why": why or "", "type": value_type,
            "conditional": conditional}


def render(desktop, smgr, ctx, path: str) -> dict:
    url = uno.systemPathToFileUrl(path)
    args = (prop("Hidden", True), prop("ReadOnly", True),
            prop("FilterName", "Calc MS Excel 2007 XML"),
            prop("MacroExecutionMode", 0), prop("UpdateDocMode", 0), prop("Silent", True))
    try:
        doc = desktop.loadComponentFromURL(url, "_blank", 0, args)
    except Exception as e:  # noqa: BLE001 - a file Calc cannot open
        return {"file": path, "error": f"{type(e).__name__}: {getattr(e, 'Message', e)}",
                "sheets": []}
    if doc is None or not hasattr(doc, "Sheets"):
        if doc is not None:
            doc.close(True)
        return {"file": path, "error": "not opened as a spreadsheet", "sheets": []}
    try:
        formatter = smgr.createInstanceWithContext("com.sun.star.util.NumberFormatter", ctx)
        formatter.attachNumberFormatsSupplier(doc)
        out = []
        for sheet in doc.Sheets:
            cursor = sheet.createCursor()
            cursor.gotoEndOfUsedArea(False)
            end = cursor.RangeAddress
            info = Sheet(doc, sheet, formatter)
            cells = {}
            used = sheet.getCellRangeByPosition(0, 0, end.EndColumn, end.EndRow)
            looks = looks_of(sheet, used)
            coloured: dict = {}
            data = used.getDataArray()
            for look in looks:
                r0, r1, c0, c1 = look.box
                for r in range(r0, min(r1, end.EndRow) + 1):
                    for c in range(c0, min(c1, end.EndColumn) + 1):
                        if data[r][c] == "":
                            continue  # empty (a text cell of no characters is shown as none)
                        cell = sheet.getCellByPosition(c, r)
                        kind = "TEXT" if isinstance(data[r][c], str) else "VALUE"
                        cells[f"{col_letter(c)}{r + 1}"] = shown_cell(info, look, cell, r, c,
                                                                      coloured, kind)
            out.append({"name": sheet.Name, "visible": bool(sheet.IsVisible), "cells": cells})
        return {"file": path, "error": None, "sheets": out}
    finally:
        doc.close(True)


def main() -> None:
    """With --serve, the files are read from standard input, one a line, each answered as
    it comes (the renderer stays connected between files)."""
    pipe, files = sys.argv[1], sys.argv[2:]
    ctx, smgr, desktop = connect(pipe)
    if files == ["--serve"]:
        print(json.dumps({"ready": True}), flush=True)
        files = (line.rstrip("\n") for line in sys.stdin)  # type: ignore[assignment]
    for path in files:
        try:
            result = render(desktop, smgr, ctx, path)
        except Exception as e:  # noqa: BLE001 - said, and the next file rendered
            result = {"file": path, "error": f"render failed: {type(e).__name__}: "
                      f"{getattr(e, 'Message', e)}", "sheets": []}
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
