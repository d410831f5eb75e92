"""A table laid out on a PDF's pages by pbr itself: every cell boxed, the heading row filled
and repeated at the top of each page the table runs on to, long text wrapped between words
(never shrunk or cut), amounts right-aligned.

Each cell's text is measured once, with the widths of the typeface the PDF is written in
(pbr_cli.outputs.typeface keeps them for the process); a text that fits its column is drawn
on one line as it is, and only one that does not is broken into lines (`lines_in`). A row
is as tall as its most wrapped cell; a cell's text sits in the middle of its row's height.
This is the look fpdf2's own tables give (the same padding, line height, borders, fill,
break between words, heading row kept with the first row below it), without breaking every
cell into lines twice and measuring each line again at every character added.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

PADDING = 1.0  # mm between a cell's border and its text, on every side
LINE = 0.55  # a line of text takes this many mm for each point of its size
# Characters a line may break at (the break takes the character away), as fpdf2's
# text does: spaces of every width and the tab.
SPACES = frozenset(" \u200b\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2008\u2009\u200a"
                   "\u205f\u3000\t")
TOLERANCE = 1e-9  # mm: a text this much wider than its room still fits


@dataclass(frozen=True)
class Look:
    """How a table is written: its typeface family and size (points), and the heading
    row's text and fill colours (the body's text is `ink`, on no fill)."""

    family: str
    size: float
    head_text: tuple[int, int, int]
    head_fill: tuple[int, int, int]
    ink: tuple[int, int, int] = (0, 0, 0)


def lines_in(text: str, room: float, font: Any, size: float, k: float) -> list[str]:
    """`text` broken into the lines it takes in `room` mm, in `font` at `size` points
    (`k` points to the mm): at a newline; else before the character that would overflow,
    at the last space before it (the space not drawn), or in a word that has no space
    in the line (the rest goes on the next line). A text that fits takes one line."""
    if "\n" not in text and "\r" not in text and \
            font.get_text_width(text, size, None)[1] / k <= room + TOLERANCE:
        return [text]
    cw = font.cw
    scale = size * 0.001 / k
    out: list[str] = []
    parts = text.replace("\r", "").split("\n")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # a newline at the very end starts no line
    for part in parts:
        start, units, space, i = 0, 0, -1, 0
        while i < len(part):
            char = part[i]
            width = cw[ord(char)]
            if i > start and (units + width) * scale > room + TOLERANCE:
                if char in SPACES:  # the space that overflows ends the line
                    out.append(part[start:i])
                    start = i + 1
                elif space >= start:  # break at the last space, which is dropped
                    out.append(part[start:space])
                    start = space + 1
                else:  # a word wider than its column: broken where it reaches the edge
                    out.append(part[start:i])
                    start = i
                units, space, i = 0, -1, start
                continue
            if char in SPACES:
                space = i
            units += width
            i += 1
        if start < len(part) or not part:
            out.append(part[start:])
    return out or [""]


def draw_table(pdf: Any, look: Look, headers: Sequence[str], rows: Sequence[Sequence[str]],
               widths: Sequence[float], right: Collection[int] = ()) -> None:
    """Draw a table at the left margin, below the current position: `headers` as its
    heading row, then `rows`, columns `widths` mm wide, the columns numbered in `right`
    right-aligned. A row that would cross the foot of a page begins the next page, under the
    heading row drawn again; the heading row is never left alone at a page's foot. Leaves
    the position at the left margin under the table, in the body's typeface."""
    k = pdf.k
    line = look.size * LINE
    xs = [pdf.l_margin]
    for w in widths:
        xs.append(xs[-1] + w)
    aligned = [j in right for j in range(len(widths))]

    def laid(cells: Sequence[str], style: str) -> tuple[float, list[list[str]], Any]:
        font = pdf.fonts[f"{look.family.lower()}{style}"]  # (as add_font keys it)
        broken = [lines_in(str(c), w - 2 * PADDING, font, look.size, k) if c else []
                  for c, w in zip(cells, widths, strict=True)]
        tallest = max((len(b) for b in broken if b), default=0)
        return (tallest * line + 2 * PADDING if tallest else line), broken, font

    head = laid(headers, "B")
    body = [laid(r, "") for r in rows]

    def draw(row: tuple[float, list[list[str]], Any], heading: bool) -> None:
        height, broken, font = row
        top = pdf.y  # (each box is drawn up from its foot, the corner PDF boxes are set by)
        pdf.set_font(look.family, "B" if heading else "", look.size)
        if heading:
            before = pdf.fill_color
            pdf.set_fill_color(*look.head_fill)
            for j, w in enumerate(widths):
                pdf.rect(xs[j], top + height, w, -height, style="DF")
            pdf.set_fill_color(before)
            pdf.set_text_color(*look.head_text)
        else:
            for j, w in enumerate(widths):
                pdf.rect(xs[j], top + height, w, -height)
            pdf.set_text_color(*look.ink)
        lift = 0.5 * line + 0.3 * look.size / k  # from a line's top to its baseline
        for j, cell in enumerate(broken):
            if not cell:
                continue
            y = top + (height - len(cell) * line - 2 * PADDING) / 2 + PADDING + lift
            for text in cell:
                if aligned[j]:
                    x = xs[j + 1] - PADDING - font.get_text_width(text, look.size, None)[1] / k
                else:
                    x = xs[j] + PADDING
                if text:
                    pdf.text(x, y, text)
                y += line
        pdf.set_text_color(*look.ink)
        pdf.set_xy(pdf.l_margin, top + height)

    if body and pdf.will_page_break(head[0] + body[0][0]):
        pdf.add_page(same=True)  # the heading row kept with the first row under it
    draw(head, True)
    for row in body:
        if pdf.will_page_break(row[0]):
            pdf.add_page(same=True)
            draw(head, True)
        draw(row, False)
    pdf.set_font(look.family, "", look.size)
