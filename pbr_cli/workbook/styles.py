"""The workbook's styles as a person sees them, decided once a style, not once a cell.

The parts are those the workbook's relationships name (package.related_parts), not fixed
names: the styles and the theme. For each cell style (`s=` of a
cell) pbr works out whether its number format shows nothing (`;;;`), whether its font is
the colour of its fill (white on white; theme and palette colours resolved), and whether
its number format shows every value as itself (General, @, a date showing day, month and
year) or must be rendered value by value (pbr_cli/workbook/numfmt.py). The differential
formats of conditional formats (dxf) are read here too.
"""

from __future__ import annotations

import colorsys
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

from pbr_cli.workbook import numfmt
from pbr_cli.workbook.package import UnreadableFile, _parse_xml, _read_part, local

WHITE, BLACK = (255, 255, 255), (0, 0, 0)
# The colours a number format may name ([White]0): Excel's eight
_NAMED = {"black": BLACK, "white": WHITE, "red": (255, 0, 0), "green": (0, 255, 0),
          "blue": (0, 0, 255), "yellow": (255, 255, 0), "magenta": (255, 0, 255),
          "cyan": (0, 255, 255)}
_NAMED_RE = re.compile(r"\[(" + "|".join(_NAMED) + r")\]", re.I)
SMALLEST_FONT = 4  # points: text smaller than this cannot be read


@dataclass(frozen=True)
class Look:
    """What one cell style does to what is shown."""

    invisible: bool = False  # its number format shows nothing
    tiny: float | None = None  # its font's size in points, when too small to read
    font: tuple[int, int, int] | None = None  # set when the font is the fill's colour
    fill: tuple[int, int, int] | None = None
    kind: str = numfmt.FAITHFUL  # numfmt.FAITHFUL, CHECK or DATE_PART
    code: str | None = None  # its number format (None: a built-in pbr does not know)


@dataclass
class StyleBook:
    looks: dict[int, Look] = field(default_factory=dict)  # only the styles that need a look
    dxfs: list[str] = field(default_factory=list)  # what each dxf changes ("" for nothing)

    @property
    def invisible(self) -> frozenset[int]:
        return frozenset(i for i, look in self.looks.items() if look.invisible)


# The styles already worked out in this process, by the bytes of the parts they come from
# (the returns of one programme mostly share their template's): a few, and small ones only.
_SEEN: dict[tuple[bytes, bytes | None], StyleBook] = {}
_SEEN_MOST, _SEEN_LARGEST = 8, 2**20


def read_styles(path: str, archive: zipfile.ZipFile, parts: dict[str, str]) -> StyleBook:
    """The workbook's styles, worked out from its styles and theme parts alone: parts of the
    same bytes give the same StyleBook, so one seen before in this process is given again
    (it is only read, never changed)."""
    if "styles" not in parts or parts["styles"] not in archive.namelist():
        return StyleBook()
    name, theme_name = parts["styles"], parts.get("theme")
    data = _read_part(path, archive, name)
    try:
        theme_data = (_read_part(path, archive, theme_name)
                      if theme_name is not None and theme_name in archive.namelist() else None)
    except UnreadableFile:
        _parse_xml(path, data, name)  # damaged styles are said first, as they are read first
        raise
    key = (data, theme_data)
    found = _SEEN.get(key)
    if found is None:
        styles = _parse_xml(path, data, name)
        found = _styles(styles, _theme(path, theme_name, theme_data))
        if len(data) + len(theme_data or b"") <= _SEEN_LARGEST:
            if len(_SEEN) >= _SEEN_MOST:
                _SEEN.clear()
            _SEEN[key] = found
    return found


def _styles(styles: Any, theme: list[tuple[int, int, int]]) -> StyleBook:
    codes: dict[int, str] = {}
    fonts: list[tuple[int, int, int]] = []
    fills: list[tuple[int, int, int] | None] = []
    xfs: list[tuple[int, int, int]] = []
    dxfs: list[str] = []
    sizes: list[float | None] = []
    palette = _palette(styles)
    for node in styles:
        tag = local(node.tag)
        if tag == "numFmts":
            for fmt in node:
                number = _int(fmt.get("numFmtId"))
                if number is not None:
                    codes[number] = fmt.get("formatCode", "")
        elif tag == "fonts":
            fonts = [_font_colour(f, theme, palette) for f in node if local(f.tag) == "font"]
            sizes = [_font_size(f) for f in node if local(f.tag) == "font"]
        elif tag == "fills":
            fills = [_fill_colour(f, theme, palette) for f in node if local(f.tag) == "fill"]
        elif tag == "cellXfs":
            xfs = [(_int(x.get("numFmtId")) or 0, _int(x.get("fontId")) or 0,
                    _int(x.get("fillId")) or 0) for x in node if local(x.tag) == "xf"]
        elif tag == "dxfs":
            dxfs = [_dxf_changes(d) for d in node if local(d.tag) == "dxf"]
    looks: dict[int, Look] = {}
    kinds: dict[int, str] = {}
    for index, (fmt, font_id, fill_id) in enumerate(xfs):
        code = codes.get(fmt, numfmt.BUILTIN.get(fmt))
        if fmt not in kinds:
            kinds[fmt] = numfmt.kind(code) if code is not None else numfmt.CHECK
            if fmt in numfmt.SHORT_DATES and fmt not in codes and kinds[fmt] == numfmt.MONTH_FIRST:
                kinds[fmt] = numfmt.FAITHFUL  # the reader's own short date: day first in the UK
        font = fonts[font_id] if font_id < len(fonts) else BLACK
        fill = fills[fill_id] if fill_id < len(fills) else None
        hidden_by_colour = fill is not None and _alike(font, fill)
        for named in _NAMED_RE.findall(code or ""):  # a colour the format gives a section
            if not hidden_by_colour and fill is not None and _alike(_NAMED[named.lower()], fill):
                font, hidden_by_colour = _NAMED[named.lower()], True
        invisible = code is not None and _shows_nothing(code)
        size = sizes[font_id] if font_id < len(sizes) else None
        tiny = size if size is not None and size < SMALLEST_FONT else None
        if invisible or hidden_by_colour or tiny is not None or kinds[fmt] != numfmt.FAITHFUL:
            looks[index] = Look(invisible, tiny, font if hidden_by_colour else None,
                                fill if hidden_by_colour else None, kinds[fmt], code)
    return StyleBook(looks, dxfs)


def _shows_nothing(code: str) -> bool:
    """A number format every section of which is empty (or an empty literal)."""
    sections = code.split(";")
    return len(sections) >= 2 and all(part.strip().strip('"') == "" for part in sections)


def _int(text: str | None) -> int | None:
    try:
        return int((text or "").strip())
    except ValueError:
        return None


# -- colours ------------------------------------------------------------------------------------

def _hex(text: str) -> tuple[int, int, int] | None:
    text = text.strip()[-6:]
    try:
        return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))
    except ValueError:
        return None


def _theme(path: str, part: str | None, data: bytes | None) -> list[tuple[int, int, int]]:
    """The theme's colours in the order cells name them (0 light 1, 1 dark 1, 2 light 2,
    3 dark 2, then the accents and links); Office's own when the workbook has none."""
    colours = [WHITE, BLACK, (0xEE, 0xEC, 0xE1), (0x1F, 0x49, 0x7D)]
    if part is None or data is None:
        return colours
    root = _parse_xml(path, data, part)
    scheme = next((n for n in root.iter() if local(n.tag) == "clrScheme"), None)
    if scheme is None:
        return colours
    found = []
    for slot in scheme:
        value = None
        for child in slot:
            value = _hex(child.get("lastClr") or child.get("val") or "")
        found.append(value or BLACK)
    if len(found) >= 4:
        found[0], found[1], found[2], found[3] = found[1], found[0], found[3], found[2]
    return found


# The palette `indexed` colours name (ECMA-376 18.8.27), unless the workbook has its own.
_PALETTE = """
    000000 FFFFFF FF0000 00FF00 0000FF FFFF00 FF00FF 00FFFF
    000000 FFFFFF FF0000 00FF00 0000FF FFFF00 FF00FF 00FFFF
    800000 008000 000080 808000 800080 008080 C0C0C0 808080
    9999FF 993366 FFFFCC CCFFFF 660066 FF8080 0066CC CCCCFF
    000080 FF00FF FFFF00 00FFFF 800080 800000 008080 0000FF
    00CCFF CCFFFF CCFFCC FFFF99 99CCFF FF99CC CC99FF FFCC99
    3366FF 33CCCC 99CC00 FFCC00 FF9900 FF6600 666699 969696
    003366 339966 003300 333300 993300 993366 333399 333333
""".split()


def _palette(styles) -> list[tuple[int, int, int]]:
    custom = next((n for n in styles.iter() if local(n.tag) == "indexedColors"), None)
    if custom is not None:
        colours = [_hex(n.get("rgb", "")) or BLACK for n in custom]
    else:
        colours = [_hex(c) or BLACK for c in _PALETTE]
    return colours + [BLACK, WHITE]  # 64: the system's text colour, 65: its background


def _colour(node, theme, palette, default):
    """One colour element (rgb, theme with tint, indexed, auto) as (r, g, b)."""
    if node is None:
        return default
    if node.get("rgb"):
        found = _hex(node.get("rgb"))
    elif node.get("theme") is not None:
        index = _int(node.get("theme"))
        found = theme[index] if index is not None and index < len(theme) else None
    elif node.get("indexed") is not None:
        index = _int(node.get("indexed"))
        found = palette[index] if index is not None and index < len(palette) else None
    else:
        found = default  # auto
    if found is None:
        return default
    tint = node.get("tint")
    if tint:
        try:
            amount = float(tint)
        except ValueError:
            return found
        h, lum, s = colorsys.rgb_to_hls(*(c / 255 for c in found))
        lum = lum * (1 + amount) if amount < 0 else lum * (1 - amount) + amount
        found = tuple(round(c * 255) for c in colorsys.hls_to_rgb(h, lum, s))
    return found


def _font_colour(font, theme, palette) -> tuple[int, int, int]:
    node = next((c for c in font if local(c.tag) == "color"), None)
    return _colour(node, theme, palette, BLACK)


def _font_size(font) -> float | None:
    node = next((c for c in font if local(c.tag) == "sz"), None)
    try:
        return float((node.get("val") or "").strip()) if node is not None else None
    except ValueError:
        return None


def _fill_colour(fill, theme, palette) -> tuple[int, int, int] | None:
    """The colour behind a cell: white for no fill, the colour of a solid one; None for a
    pattern or gradient (not compared)."""
    pattern = next((c for c in fill if local(c.tag) == "patternFill"), None)
    if pattern is None:
        return None if any(local(c.tag) == "gradientFill" for c in fill) else WHITE
    kind = (pattern.get("patternType") or "none").strip()
    if kind == "none":
        return WHITE
    if kind != "solid":
        return None
    node = next((c for c in pattern if local(c.tag) == "fgColor"), None)
    return _colour(node, theme, palette, BLACK)


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        x = c / 255
        return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _alike(font: tuple[int, int, int], fill: tuple[int, int, int]) -> bool:
    """Whether text in `font` cannot be told from `fill`: a contrast ratio (WCAG) under 1.25
    (the same colour is 1; black on white 21)."""
    a, b = sorted((_luminance(font), _luminance(fill)))
    return (b + 0.05) / (a + 0.05) < 1.25


def _dxf_changes(dxf) -> str:
    """What a conditional format's dxf changes of what is shown: its number format, its
    font colour, both, or "" (a fill, a border, bold: the value stays as it is)."""
    changes = []
    for child in dxf:
        tag = local(child.tag)
        if tag == "numFmt":
            changes.append("number format")
        elif tag == "font" and any(local(c.tag) == "color" for c in child):
            changes.append("font colour")
    return " and ".join(changes)


def colour_name(rgb: tuple[int, int, int]) -> str:
    return "white" if rgb == WHITE else "#{:02X}{:02X}{:02X}".format(*rgb)
