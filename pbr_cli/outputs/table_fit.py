"""A table that fits the console: every column as wide as its widest amount, text folded
or dropped before an amount is cut (`fit_table`); a sparkline of a few figures. Plain text
when piped. A table that fits paper: a workbook's columns as wide as their amounts, text
wrapped in rows tall enough for it (`fit_columns`, `row_heights`)."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table


def _box(con: Console):
    return box.SIMPLE_HEAD if con.is_terminal else box.ASCII2


def _compact(con: Console) -> dict:
    """On a screen, columns two spaces apart and no outer edge: room for one more amount."""
    return {"collapse_padding": True, "show_edge": False, "pad_edge": False} \
        if con.is_terminal else {}


@dataclass(frozen=True)
class Col:
    """A console table's column. `kind`: "money" and "fixed" (codes, dates, counts) are never
    cut or wrapped; "text" wraps; "extra" (a picture: a bar, a sparkline) is whole or left
    out. When the table is wider than the screen, columns with the highest `drop` are left
    out first (0: never)."""

    header: str
    kind: str = "text"
    justify: str = "left"
    drop: int = 0


def _records(con: Console, cols: list[Col], rows: list[list[str]], title: str | None) -> None:
    """A table too wide for the screen, as one block per row: its first value, then each
    other column's heading and value on a line of its own (amounts right-aligned)."""
    from rich.text import Text

    if title:
        con.print(title)
    label = max((len(c.header) for c in cols[1:]), default=0)
    amount = max((Text.from_markup(r[i]).cell_len for r in rows for i in range(1, len(cols))
                  if cols[i].kind != "text"), default=0)
    for r in rows:
        con.print(f"[bold]{r[0]}[/]")
        for c, value in zip(cols[1:], r[1:], strict=True):
            if not Text.from_markup(value).plain:
                continue
            pad = " " * (amount - Text.from_markup(value).cell_len) if c.kind != "text" else ""
            con.print(f"  {escape(c.header).ljust(label)}  {pad}{value}")


ADJUSTMENT_COLS = [Col("Month", "fixed"), Col("Provider", "fixed"), Col("Component"),
                   Col("Previously", "money", "right"), Col("Now", "money", "right"),
                   Col("Difference", "money", "right"), Col("Reason")]


def fit_table(con: Console, cols: list[Col], rows: list[list[str]], title: str | None = None,
              section_after: int | None = None) -> None:
    """Print a table that never cuts an amount: descriptive columns wrap, then the least
    needed are left out (said under the table), until it fits the screen; if even the
    amounts alone are wider, each row is printed as a block of its own. Every column's width
    is worked out here, so nothing is left to squeezing."""
    from rich.measure import Measurement
    from rich.text import Text

    def cell_len(markup: str) -> int:
        return Text.from_markup(markup).cell_len

    def longest_word(text: str) -> int:
        return max((len(w) for w in Text.from_markup(text).plain.split()), default=0)

    natural = [max([cell_len(r[i]) for r in rows] + [len(c.header)])
               for i, c in enumerate(cols)]
    least = [max([cell_len(r[i]) for r in rows] + [longest_word(c.header), 1])
             if c.kind != "text" else
             min(natural[i], max([longest_word(r[i]) for r in rows]
                                 + [longest_word(c.header), 12]))
             for i, c in enumerate(cols)]
    shown = list(range(len(cols)))

    def overhead(n: int) -> int:
        probe = Table(box=_box(con), **_compact(con))
        for _ in range(n):
            probe.add_column("", width=1)
        probe.add_row(*(["x"] * n))
        return Measurement.get(con, con.options.update(width=10_000), probe).maximum - n

    def need(keep: list[int]) -> int:
        return sum(least[i] for i in keep) + overhead(len(keep))

    left_out = []
    while need(shown) > con.width:
        droppable = [i for i in shown if cols[i].drop > 0]
        if not droppable:
            break
        worst = max(droppable, key=lambda i: (cols[i].drop, i))
        shown.remove(worst)
        left_out.append(cols[worst].header or "flags")
    if need(shown) > con.width:  # even the amounts alone are wider: one block per row
        _records(con, [cols[i] for i in shown], [[r[i] for i in shown] for r in rows], title)
    else:
        widths = {i: natural[i] if cols[i].kind == "text" else least[i] for i in shown}
        spare = con.width - overhead(len(shown)) - sum(widths.values())
        texts = [i for i in shown if cols[i].kind == "text"]
        while spare < 0 and texts:  # narrow the wrapping columns, widest first
            i = max(texts, key=lambda i: (widths[i] - least[i], -i))
            if widths[i] <= least[i]:
                break
            widths[i] -= 1
            spare += 1
        table = Table(title=title, box=_box(con), title_justify="left", **_compact(con))
        for i in shown:
            table.add_column(cols[i].header, justify=cols[i].justify,  # type: ignore[arg-type]
                             width=widths[i], overflow="fold")
        for n, r in enumerate(rows):
            table.add_row(*(r[i] for i in shown), end_section=n == section_after)
        con.print(table)
    if left_out:
        con.print(f"[dim](Too narrow for: {escape(', '.join(left_out))}; widen the window or "
                  "use --json.)[/]")



SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list, low=None, high=None) -> str:
    """A row of block characters whose heights are the values on a scale from `low` to
    `high` — by default from 0 (or the lowest, if below 0) to the highest — so a dip of a
    few per cent draws as a small step, not from top to bottom; a gap for a missing value."""
    nums = [v for v in values if v is not None]
    if not nums:
        return ""
    low = min([0, *nums]) if low is None else low
    high = max(nums) if high is None else max(high, *nums)
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        elif high == low:
            out.append(SPARKS[3])
        else:
            out.append(SPARKS[int((v - low) * (len(SPARKS) - 1) / (high - low))])
    return "".join(out)


# Fitting a table to paper. A column's width is in characters of the sheet's own typeface
# (Excel measures in Calibri's digit, LibreOffice in DejaVu Sans's, which it prints in, a
# third wider on paper): a character takes CHAR units, and a cell 2 more.
CHAR = 1.0
DIGIT_PX = 9.3  # a unit's width on LibreOffice's paper, in pixels at 96 to the inch
LINE = 15.0  # points a line of 11-point text takes
# The points of rows a printed page holds at the smallest scale: A4 landscape less its top
# and bottom margins, less the title, standing and heading rows repeated on every page.
PAGE_POINTS = (210 / 25.4 - 1.1) * 72 * 100 / 70 - 110
HEADING_LINES = 3  # a heading wraps to no more lines than this (its column widens instead)
FIT_ROWS = 5000  # a longer table keeps its widths as given: nobody prints it


def shown(value: Any, kind: str) -> str:
    """A value as its cell shows it (near enough to measure)."""
    from fractions import Fraction

    if value is None:
        return ""
    if isinstance(value, Fraction):
        value = float(value)
    if kind in ("money", "percent", "ratio", "integer", "number") and \
            isinstance(value, (int, float)) or type(value).__name__ == "Decimal":
        number = float(value)
        return {"money": f"-£{-number:,.2f}" if number < 0 else f"£{number:,.2f}",
                "percent": f"{number * 100:.2f}%", "ratio": f"{number:.4f}",
                "integer": f"{number:,.0f}"}.get(kind, f"{number:,.4f}".rstrip("0").rstrip("."))
    if isinstance(value, date):
        return "2000-01-01"
    return str(value)


def fit_columns(headers: Sequence[str], rows: Sequence[Sequence[Any]], kinds: Sequence[str],
                widest: Sequence[float], repeat: int) -> tuple[list[float], list[bool]]:
    """Each column's width, and whether it wraps: as wide as its widest value (an amount,
    a date, a code is never cut), but a text no more characters than `widest` gives (it
    wraps there instead); narrower still, down to its longest word, if that prints the
    table on fewer pages across (each repeating the first `repeat` columns, as `repeated`
    lets it); never so narrow that its heading takes more than HEADING_LINES lines."""
    widths, floors, longest = [], [], []
    for j, (header, kind) in enumerate(zip(headers, kinds, strict=True)):
        words = header.split() or [""]
        need = max(len(w) for w in words) * CHAR * 1.1 + 2
        while lines_in(header, need, CHAR * 1.1) > HEADING_LINES:
            need += 1
        values = [shown(v, kind) for v in dict.fromkeys(r[j] for r in rows)]
        longest.append(max(map(len, values), default=0) * CHAR + 2)
        if kind in ("text", "wrap"):  # wraps between words (and a path's parts): never
            # narrower than one
            word = max((len(w) for v in values for w in _breaks(v).split()),
                       default=0) * CHAR + 2
            floors.append(max(need, word, min(longest[j], 14.0)))
            widths.append(max(floors[j], min(longest[j], widest[j] * CHAR + 2)))
        else:
            floors.append(max(need, longest[j]))
            widths.append(floors[j])
    def wraps(widths: list[float]) -> list[bool]:
        return [k in ("text", "wrap") and w < n
                for k, w, n in zip(kinds, widths, longest, strict=True)]

    def pages(widths: list[float]) -> int:
        tall = row_heights(rows, widths, wraps(widths))
        down = sum(h or LINE for h in tall) / PAGE_POINTS
        return pages_across(widths, repeat) * max(math.ceil(down), 1)

    # Fewer pages across means text wraps in narrower columns, and taller rows: the widths
    # for each number of pages across, narrowing the widest text over its floor, and of
    # them those that print on the fewest pages (the fewest across, if as few).
    best, fewest = list(widths), pages(widths)
    across = pages_across(widths, repeat)
    while across > pages_across(floors, repeat):
        while pages_across(widths, repeat) >= across:
            j = max(range(len(widths)), key=lambda i: (widths[i] - floors[i], -i))
            widths[j] = max(floors[j], widths[j] - 1)
        across = pages_across(widths, repeat)
        if pages(widths) <= fewest:
            best, fewest = list(widths), pages(widths)
    return [math.ceil(w * 10 - 1e-6) / 10 for w in best], wraps(best)


def pages_across(widths: Sequence[float], repeat: int) -> int:
    """How many pages wide columns of these widths print, the columns placed page by page
    as a spreadsheet does (a column never split), the first `repeat` columns (as many as
    `repeated` allows) again on each page after the first."""
    from pbr_cli.outputs.xlsx import MIN_PRINT_SCALE, PRINTABLE_MM, printed_mm

    if printed_mm(widths) * MIN_PRINT_SCALE / 100 <= PRINTABLE_MM:
        return 1  # shrunk to one page wide (xlsx.print_setup)
    page = page_units(len(widths))
    again = sum(widths[:repeated(widths, repeat)])
    pages, used = 1, 0.0
    for w in widths:
        if used and used + w > page:
            pages, used = pages + 1, again
        used += w
    return pages


def lines_in(text: str, width: float, char: float = CHAR) -> int:
    """How many lines `text` takes wrapped in a column `width` wide (`char` the width of
    one of its characters)."""
    fits = max(int((width - 2) / char + 1e-6), 4)
    return sum(_remembered(part, fits) if len(part) <= _REMEMBERED else _lines(part, fits)
               for part in text.split("\n"))


_REMEMBERED = 500  # characters: a longer text is wrapped each time (what is kept stays small)


def _lines(part: str, fits: int) -> int:
    """The lines one line of text takes wrapped at `fits` characters."""
    import textwrap

    spaced = _breaks(part)
    if len(spaced) <= fits and "\t" not in spaced:
        return 1  # (every word fits on the one line)
    return max(len(textwrap.wrap(spaced, fits)), 1)


# worked out once for each text and width, as a table's widths are tried over and over
_remembered = functools.lru_cache(maxsize=1 << 14)(_lines)


def _breaks(text: str) -> str:
    """The text with a space after each / of a path, where a line may also break."""
    return text.replace("/", "/ ")


def row_heights(rows: Sequence[Sequence[Any]], widths: Sequence[float],
                wraps: Sequence[bool]) -> list[float | None]:
    """The height of each row whose wrapped text takes more than a line (else None)."""
    wrapped = [j for j, w in enumerate(wraps) if w]
    heights: list[float | None] = []
    for row in rows:
        lines = max((lines_in(str(row[j]), widths[j]) for j in wrapped if row[j]), default=1)
        heights.append(LINE * lines + 2 if lines > 1 else None)
    return heights


def heading_lines_height(headers: Sequence[str], widths: Sequence[float]) -> float:
    """The height (points) of a heading row whose headings wrap whole in their columns."""
    lines = max((lines_in(h, w, CHAR * 1.1) for h, w in zip(headers, widths, strict=True)),
                default=1)
    return LINE * lines + 3


def page_units(columns: int) -> float:
    """The width, in Excel's units, that `columns` columns may take between them and still
    print on one page wide at the smallest scale (xlsx.print_setup's), on either program's
    paper (LibreOffice's units being the wider)."""
    from pbr_cli.outputs.xlsx import MIN_PRINT_SCALE, PRINTABLE_MM

    return PRINTABLE_MM * 100 / MIN_PRINT_SCALE * 96 / 25.4 / DIGIT_PX - 0.5 * columns


def repeated(widths: Sequence[float], wanted: int) -> int:
    """How many of the first `wanted` columns each page repeats when a table prints over
    pages across: no more than take a third of the page (else they crowd out the rest)."""
    room = page_units(0) / 3
    return max([k for k in range(1, wanted + 1) if sum(widths[:k]) + 5 * k / 7 <= room]
               + [min(wanted, 1)])
