"""A table that fits the console: every column as wide as its widest amount, text folded
or dropped before an amount is cut (`fit_table`); a sparkline of a few figures. Plain text
when piped."""

from __future__ import annotations

from dataclasses import dataclass

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
