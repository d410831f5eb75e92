"""Shared workbook writing: deterministic files, house formats, safe text.

Every workbook pbr writes goes through `new_workbook` (fixed creation date, so the same
inputs give byte-identical files; xlsxwriter already stamps zip entries with a fixed date)
and `atomic_output` (written to a temporary file beside the target, then renamed, so a
failed run never leaves half a file). Text is always written as text: nothing a provider
typed can become a formula in our outputs.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

FIXED_DATE = datetime(2000, 1, 1)
MONEY = '£#,##0.00;[Red]-£#,##0.00'
DATE = "yyyy-mm-dd"
PERCENT = "0.00%"
RATIO = "0.0000"
INTEGER = "#,##0"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@contextlib.contextmanager
def atomic_output(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it over `target` only on success."""
    from pbr_cli.errors import PbrError

    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
            stale.unlink(missing_ok=True)  # left by a run that was killed while writing
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise PbrError(f"cannot write {target}: {exc.strerror or exc}",
                       code="output-not-writable") from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~umask)  # as any new file would be, not mkstemp's 0600
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def new_workbook(path: Path, title: str, created: datetime = FIXED_DATE):
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                          "strings_to_numbers": False})
    wb.set_properties({"title": title, "author": "pbr", "created": created, "company": ""})
    wb.set_calc_mode("auto")
    return wb


class Formats:
    """The house formats of one workbook."""

    def __init__(self, wb):
        f = wb.add_format
        self.title = f({"bold": True, "font_size": 14})
        self.subtitle = f({"italic": True, "font_color": "#555555"})
        self.banner = f({"bold": True, "font_color": "#9C0006", "bg_color": "#FFC7CE",
                         "font_size": 12})
        self.header = f({"bold": True, "bg_color": "#1F4E78", "font_color": "#FFFFFF",
                         "text_wrap": True, "valign": "top", "border": 1})
        self.label = f({"bold": True})
        self.text = f({})
        self.wrap = f({"text_wrap": True, "valign": "top"})
        self.money = f({"num_format": MONEY})
        self.money_bold = f({"num_format": MONEY, "bold": True, "top": 1})
        self.date = f({"num_format": DATE})
        self.percent = f({"num_format": PERCENT})
        self.ratio = f({"num_format": RATIO})
        self.integer = f({"num_format": INTEGER})
        self.number = f({"num_format": "#,##0.####"})
        self.bold = f({"bold": True, "top": 1})
        self.info = f({"bg_color": "#EDEDED"})
        self.input = f({"bg_color": "#FFF2CC", "border": 1, "border_color": "#BFBFBF"})
        self.input_date = f({"bg_color": "#FFF2CC", "border": 1, "border_color": "#BFBFBF",
                             "num_format": DATE})
        self.warning = f({"font_color": "#9C5700", "bg_color": "#FFEB9C"})
        self.error = f({"font_color": "#9C0006", "bg_color": "#FFC7CE"})


def safe_text(value: Any) -> str:
    """Text for a cell or CSV field: a leading = + - @ tab or CR is neutralised with a quote."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def write_cell(ws, row: int, col: int, value: Any, fmt=None, kind: str | None = None) -> None:
    """Write by type: numbers as numbers, dates as dates, everything else as plain text."""
    from decimal import Decimal
    from fractions import Fraction

    from pbr_cli.money import fraction_to_decimal

    if value is None:
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        ws.write_string(row, col, "yes" if value else "no", fmt)
    elif isinstance(value, (int, Decimal)):
        ws.write_number(row, col, value, fmt)  # the exact decimal digits go into the file
    elif isinstance(value, float):  # a provider's own figure, as Excel holds it
        ws.write_number(row, col, value, fmt)
    elif isinstance(value, Fraction):
        ws.write_number(row, col, fraction_to_decimal(value, 10), fmt)
    elif isinstance(value, datetime):
        ws.write_datetime(row, col, value, fmt)
    elif isinstance(value, date):
        ws.write_datetime(row, col, datetime(value.year, value.month, value.day), fmt)
    else:
        ws.write_string(row, col, safe_text(value) if kind != "raw" else str(value), fmt)


def print_setup(ws, header_rows: int | None = None, footer: str = "") -> None:
    """Landscape A4, one page wide, headings repeated on every printed page."""
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    if header_rows is not None:
        ws.repeat_rows(0, header_rows)
    ws.set_footer(f"&L{footer}&RPage &P of &N" if footer else "&RPage &P of &N")
