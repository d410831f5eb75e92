"""Shared workbook writing: deterministic files, house formats, safe text.

Every workbook pbr writes goes through `new_workbook` (fixed creation date, so the same
inputs give byte-identical files; xlsxwriter already stamps zip entries with a fixed date;
its parts made in pbr's private folder beside the output, `pbr_cli.scratch`), `save_workbook`
and `atomic_output` (written to a temporary file beside the target, then renamed, so a
failed run never leaves half a file; a full disk or a read-only folder is an error naming
the file, exit code 2). Text is always written as text: nothing a provider
typed can become a formula in our outputs.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import io
import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pbr_cli.problems import column_letter
from pbr_cli.scratch import release, scratch_folder

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
    from pbr_cli.files import refuse_unless_file

    target = Path(target)
    refuse_unless_file(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in half_made(target):
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
    except OSError as exc:
        if not_writable(exc):
            raise PbrError(f"cannot write {target}: {exc.strerror or exc}",
                           code="output-not-writable") from None
        raise
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def half_made(target: Path) -> list[Path]:
    """The temporary files of `target` (`atomic_output`'s) left by processes stopped before
    they renamed them: regular files only (a folder or a link of such a name is someone
    else's, neither removed nor followed)."""
    found = Path(target).parent.glob(f".{glob.escape(Path(target).name)}.*.tmp")
    return sorted(p for p in found if not p.is_symlink() and p.is_file())


def remove_half_made(folder: Path, names: set[str]) -> None:
    """Remove what a process ended halfway through writing files named `names` in `folder`
    left there (nothing runs in a process a signal ends): their temporary files and its
    private parts folder (pbr_cli.scratch)."""
    from pbr_cli.scratch import remove_left

    for name in sorted(names):
        for stale in half_made(Path(folder) / name):
            stale.unlink(missing_ok=True)
    remove_left(Path(folder))


# What the system says when a file cannot be written where it is asked to be: the disk or
# the quota is full, the folder is read-only or not ours, the device failed.
WRITE_FAULTS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                          errno.EFBIG, errno.EIO})


def not_writable(exc: OSError) -> bool:
    """Whether `exc` says a file could not be written (rather than pbr being wrong)."""
    return exc.errno in WRITE_FAULTS


class _Zipped(io.BytesIO):
    """A workbook's zip in memory. Closing it is left to its collection: a zip that a
    failure left open writes its end into it when collected, quietly, rather than onto a
    closed buffer (a traceback on stderr as pbr exits)."""

    def close(self) -> None:
        pass


def new_workbook(path: Path, title: str, created: datetime = FIXED_DATE):
    """A workbook to be saved to `path` with `save_workbook`. It is zipped in memory (a
    full disk then fails pbr's own write, which says so, not the zip's) from parts made in
    a private folder beside `path`."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(_Zipped(), {
        "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
        "tmpdir": str(scratch_folder(Path(path).parent))})
    wb.set_properties({"title": title, "author": "pbr", "created": created, "company": ""})
    wb.set_calc_mode("auto")
    return wb


@contextlib.contextmanager
def made_workbook(path: Path, title: str, created: datetime = FIXED_DATE) -> Iterator[Any]:
    """A workbook to fill, saved to `path` when the block ends; its private folder removed
    whether it is saved or the block fails (a refused output leaves nothing behind)."""
    wb = new_workbook(path, title, created)
    try:
        yield wb
    except BaseException:
        release(Path(wb.tmpdir))
        raise
    save_workbook(wb, path)


def save_workbook(wb: Any, path: Path) -> None:
    """Zip the workbook and write it to `path`; its private folder is removed either way.
    Raises OSError when the parts or the file cannot be written (`atomic_output` and the
    ledger's pending file say which file, as an error)."""
    from xlsxwriter.exceptions import FileCreateError

    try:
        wb.close()
        with open(path, "wb") as fh:
            fh.write(wb.filename.getvalue())
    except FileCreateError as exc:
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else None
        if cause is None:
            raise
        raise cause from None
    finally:
        release(Path(wb.tmpdir))


class Formats:
    """The house formats of one workbook."""

    # made only by the report's writer (a format made is a format in the file)
    note: Any
    table_title: Any
    flag: Any

    def __init__(self, wb):
        self._wb = wb
        self._props: dict[int, dict] = {}
        self._kinds: dict[int, str] = {}
        self._top: dict[tuple[int, bool], Any] = {}

        def f(props: dict, kind: str = "text") -> Any:
            made = wb.add_format(props)
            self._props[id(made)], self._kinds[id(made)] = props, kind
            return made

        self.title = f({"bold": True, "font_size": 14})
        self.subtitle = f({"italic": True, "font_color": "#555555"})
        self.banner = f({"bold": True, "font_color": "#9C0006", "bg_color": "#FFC7CE",
                         "font_size": 12})
        self.header = f({"bold": True, "bg_color": "#1F4E78", "font_color": "#FFFFFF",
                         "text_wrap": True, "valign": "top", "border": 1})
        self.label = f({"bold": True, "valign": "top"})  # level with a value that wraps
        self.text = f({})
        self.indented = f({"indent": 1})  # text right of a column of numbers
        self.wrap = f({"text_wrap": True, "valign": "top"}, "wrap")
        self.money = f({"num_format": MONEY}, "money")
        self.money_bold = f({"num_format": MONEY, "bold": True, "top": 1}, "money")
        self.date = f({"num_format": DATE}, "date")
        self.percent = f({"num_format": PERCENT}, "percent")
        self.ratio = f({"num_format": RATIO}, "ratio")
        self.integer = f({"num_format": INTEGER}, "integer")
        self.number = f({"num_format": "#,##0.####"}, "number")
        self.bold = f({"bold": True, "top": 1})
        self.info = f({"bg_color": "#EDEDED"})
        self.input = f({"bg_color": "#FFF2CC", "border": 1, "border_color": "#BFBFBF"})
        self.input_date = f({"bg_color": "#FFF2CC", "border": 1, "border_color": "#BFBFBF",
                             "num_format": DATE}, "date")
        self.warning = f({"font_color": "#9C5700", "bg_color": "#FFEB9C"})
        self.error = f({"font_color": "#9C0006", "bg_color": "#FFC7CE"})

    def kind(self, fmt: Any) -> str:
        """What a column in this format holds, as `fit_columns` measures it."""
        return self._kinds.get(id(fmt), "text")

    def top(self, fmt: Any, wrap: bool) -> Any:
        """The format aligned to the top of its cell, its text wrapping if `wrap`: for a
        row that wrapped text makes taller (made once, when first asked for)."""
        made = self._top.get((id(fmt), wrap))
        if made is None:
            made = self._top[id(fmt), wrap] = self._wb.add_format(
                {**self._props.get(id(fmt), {}), "valign": "top", "text_wrap": wrap})
        return made


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


def write_rows(ws, top: int, rows: list[list], formats: list,
               heights: Sequence[float | None] = ()) -> None:
    """Write `rows` from row `top`, column A on, each value by type as `write_cell` writes
    it and each column in its format; a row with a height in `heights` is that tall (its
    wrapped text whole on paper and on screen).

    A schedule's evidence runs to tens of thousands of rows, and xlsxwriter keeps an object
    for every cell and writes each through several layers: cell by cell, most of a national
    run went there. Here a column's values are turned into XML together (a text once however
    often it appears), and the rows are written into the sheet as XML, between the rows
    xlsxwriter writes itself (which must not overlap them)."""
    from pbr_cli.errors import PbrError

    if not rows:
        return
    width = len(formats)
    last = top + len(rows) - 1
    if last >= ws.xls_rowmax:
        raise PbrError(f"a table of {len(rows):,} rows does not fit on an Excel sheet "
                       f"({ws.xls_rowmax:,} rows)", code="output-too-large")
    for i, values in enumerate(rows):
        if len(values) != width:
            raise ValueError(f"row {i} has {len(values)} values for {width} columns")
    # A format's number is only its place in the workbook's list of styles: number them now.
    starts = [f'<c r="{column_letter(j)}' for j in range(width)]
    styles = [f'" s="{f._get_xf_index()}"' for f in formats]
    cell = _CellText(ws)
    xml: list[str] = []
    for first in range(0, len(rows), _CHUNK):
        chunk = rows[first:first + _CHUNK]
        numbers = range(top + first + 1, top + first + len(chunk) + 1)
        columns = zip(*chunk, strict=True)
        cells = [[f"{start}{n}{style}{tail}"
                  for n, tail in zip(numbers, cell.column(values), strict=True)]
                 for start, style, values in zip(starts, styles, columns, strict=True)]
        tall = heights[first:first + _CHUNK]
        xml.append("".join(  # a chunk's rows as one text: written as it is, never joined again
            f'<row r="{n}" spans="1:{width}"'
            + (f' ht="{tall[k]:g}" customHeight="1"' if k < len(tall) and tall[k] else "")
            + f'>{"".join(parts)}</row>'
            for k, (n, parts) in enumerate(zip(numbers, zip(*cells, strict=True), strict=True))))
    ws._check_dimensions(top, 0)
    ws._check_dimensions(last, width - 1)
    blocks = getattr(ws, "_pbr_blocks", None)
    if blocks is None:
        blocks = ws._pbr_blocks = []
        original = ws._write_rows
        ws._write_rows = lambda: _write_rows_around(ws, original, blocks)
    blocks.append((top, last, xml))


_CHUNK = 4096  # rows turned into XML at a time


def add_long_table(ws, first: int, last: int, last_col: int, options: dict) -> None:
    """`ws.add_table` over rows `first` to `last`, without its cost per cell: xlsxwriter
    notes every cell of a table to refuse overlaps (816,000 notes for a national month's
    Evidence, a second of a monthly run). The table is added over its heading and first row,
    then given its whole range — the same ranges add_table would have written; pbr's tables
    never overlap (one a sheet). tests/test_core.py checks the file is the same either way."""
    short = min(last, first + 1)
    ws.add_table(first, 0, short, last_col, options)
    if short == last:
        return
    from xlsxwriter.utility import xl_range

    table = ws.tables[-1]
    whole = xl_range(first, 0, last, last_col)
    assert table["range"] == xl_range(first, 0, short, last_col) and not options.get("total_row")
    table["range"] = table["a_range"] = whole
    if table.get("autofilter"):
        table["autofilter"] = whole
    ws._check_dimensions(last, last_col)


def _write_rows_around(ws, original, blocks: list[tuple[int, int, list[str]]]) -> None:
    """Write a sheet's rows: xlsxwriter's own, before, between and after the blocks of rows
    write_rows made, and those as they are."""
    lo, hi = ws.dim_rowmin, ws.dim_rowmax
    start = lo
    try:
        for top, last, xml in sorted(blocks, key=lambda b: b[0]):
            clash = [r for r in range(top, last + 1) if ws.table.get(r) or r in ws.row_info
                     or r in ws.comments]
            if clash or top < start:
                raise ValueError(f"row {(clash or [top])[0] + 1} was written twice")
            if start < top:
                ws.dim_rowmin, ws.dim_rowmax = start, top - 1
                original()
            for piece in xml:  # a chunk at a time (the whole block at once is another copy of it)
                ws.fh.write(piece)
            start = last + 1
        if start <= hi:
            ws.dim_rowmin, ws.dim_rowmax = start, hi
            original()
    finally:
        ws.dim_rowmin, ws.dim_rowmax = lo, hi


# The xlsxwriter internals that write_table writes large tables through (a public API for it
# does not exist): pyproject.toml pins xlsxwriter to the versions that have them, and
# tests/test_project.py checks the installed one does.
XLSXWRITER_INTERNALS = {
    "worksheet.Worksheet": ("_check_dimensions", "_write_rows", "_convert_date_time"),
    "format.Format": ("_get_xf_index",),
    "sharedstrings.SharedStringTable": ("_get_shared_string_index",),
    "worksheet": ("_utf16_len", "_utf16_truncate"),
}


class _CellText:
    """The part of a cell's XML after its address and style, for a value as `write_cell`
    would write it: text as a shared string (from the workbook's table), numbers and dates
    as numbers, nothing as a blank cell."""

    def __init__(self, ws) -> None:
        from decimal import Decimal
        from fractions import Fraction

        self.ws = ws
        self.shared = ws.str_table._get_shared_string_index
        self.dates: dict[Any, str] = {}
        self.numbers = {int, Decimal}
        self.Decimal, self.Fraction = Decimal, Fraction

    def column(self, values: tuple) -> list[str]:
        kinds = set(map(type, values))
        if all(issubclass(k, str) for k in kinds):  # text, a closed set's words (StrEnum) too
            # a word and the same plain text are equal keys: both are written as that text
            found = {v: self.text(safe_text(v)) for v in dict.fromkeys(values)}
            return [found[v] for v in values]
        if kinds <= self.numbers:
            return [f"><v>{v:.16G}</v></c>" for v in values]
        return [self(v) for v in values]

    def __call__(self, value: Any) -> str:
        if value is None:
            return "/>"
        if isinstance(value, bool):
            return self.text("yes" if value else "no")
        if isinstance(value, (int, self.Decimal)):
            return f"><v>{value:.16G}</v></c>"
        if isinstance(value, float):  # never money (that is Decimal); kept as the reader gave it
            if not math.isfinite(value):  # NaN and infinity are no number Excel can hold
                return self.text(str(value))
            return f"><v>{value:.16G}</v></c>"
        if isinstance(value, self.Fraction):
            from pbr_cli.money import fraction_to_decimal

            return f"><v>{fraction_to_decimal(value, 10):.16G}</v></c>"
        if isinstance(value, date):
            serial = self.dates.get(value)
            if serial is None:
                moment = value if isinstance(value, datetime) else \
                    datetime(value.year, value.month, value.day)
                serial = self.dates[value] = \
                    f"><v>{self.ws._convert_date_time(moment):.16G}</v></c>"
            return serial
        return self.text(safe_text(value))

    def text(self, text: str) -> str:
        if len(text) > 16383:  # may pass Excel's 32,767 UTF-16 units: cut as xlsxwriter does
            import xlsxwriter.worksheet as sheet

            if sheet._utf16_len(text) > self.ws.xls_strmax:
                text = sheet._utf16_truncate(text, self.ws.xls_strmax)
        return f' t="s"><v>{self.shared(text)}</v></c>'


MIN_PRINT_SCALE = 70  # percent: smaller type is too small to read on paper
PRINTABLE_MM = 297 - 2 * 0.4 * 25.4  # A4 landscape less the side margins


def printed_mm(widths: Sequence[float]) -> float:
    """The printed width of columns of these widths (Excel's character units: 7 pixels a
    character and 5 of padding, at 96 to the inch)."""
    return sum(w * 7 + 5 for w in widths) * 25.4 / 96


def print_setup(ws, header_rows: int | None = None, footer: str = "",
                widths: Sequence[float] | None = None, repeat_columns: int = 0) -> None:
    """Landscape A4, headings repeated on every printed page. A sheet whose columns fit a
    page at 70% or more is shrunk to one page wide; a wider one is printed at 70% over
    several pages, across then down, its first `repeat_columns` (what each row is)
    repeated on each — never shrunk to type nobody can read."""
    ws.set_landscape()
    ws.set_paper(9)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    scale = PRINTABLE_MM / printed_mm(widths) * 100 if widths else 100.0
    if scale >= MIN_PRINT_SCALE:
        ws.fit_to_pages(1, 0)
    else:
        ws.set_print_scale(MIN_PRINT_SCALE)
        ws.print_across()
        if repeat_columns:
            ws.repeat_columns(0, repeat_columns - 1)
    if header_rows is not None:
        ws.repeat_rows(0, header_rows)
    ws.set_footer(f"&L{footer}&RPage &P of &N" if footer else "&RPage &P of &N")


def heading_height(headers: Sequence[str], widths: Sequence[float]) -> float:
    """The height (points) a heading row needs for its longest heading to wrap whole in
    its column."""
    import textwrap

    lines = max((len(textwrap.wrap(h, max(int(w) - 1, 4)) or [""])
                 for h, w in zip(headers, widths, strict=False)), default=1)
    return 15.0 * max(lines, 1) + 3

