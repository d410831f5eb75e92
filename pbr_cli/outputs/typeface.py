"""The typeface of pbr's PDFs (DejaVu Sans, shipped in pbr_cli/fonts), parsed once in a process
and shared by every PDF it writes.

fpdf2 parses a typeface for each document it is added to (its tables, a width for each of its
6,000 characters), and measures a text's width a character at a time, often the same text
many times over (a line of a paragraph is measured again as each character is added; a
statement's tables are laid out by pbr_cli.outputs.pdf_table, which measures each cell once,
with these widths). A statement for every provider of a month would parse the typeface
hundreds of times and measure the same texts many times over. Here:

- the first document of a process parses the typeface; every later one gets a copy of what
  was parsed, with its own record of the characters it uses and its own copy of the font file
  to cut down to them when it is written (cutting it changes the file in place);
- each width measured is kept, keyed by the text and the size, for every later document;
- cutting a font file down to a document's characters (fontTools' subsetter) is most of what
  a statement costs once its tables are laid out, and it is slower the larger the file: over
  DejaVu Sans's 6,000 characters, about 0.1 s for each of the two typefaces of every PDF.
  So each typeface is cut once a process to the characters nearly every PDF draws from
  (COMMON: ASCII, Latin-1 and Latin Extended-A, punctuation such as dashes and quotes, the
  euro, and a few arrows and signs: about 380 glyphs), and a document that uses no others
  is cut from that, several times faster (`write_pdf`). A document using any other
  character is cut from the whole file, as before.

A document gets the same bytes as with its own parse: the same widths, the same characters
used in the same order, the same cut-down font file (a cut of a cut to fewer characters is
the cut of the whole to them, byte for byte, since the first cut keeps every glyph's name
and the file's date: tests/test_statements_at_scale.py shows it over random texts).
"""

from __future__ import annotations

import copy
from io import BytesIO
from pathlib import Path
from typing import Any

# (file, style) -> the typeface as parsed, before any document used it; and the file's bytes
_PARSED: dict[tuple[str, str], Any] = {}
_BYTES: dict[str, bytes] = {}
# (file, text, size in points) -> (characters, width): every width measured in this process
_WIDTHS: dict[tuple[str, Any, float], tuple[int, float]] = {}
WIDTHS_KEPT = 500_000  # widths kept at most (then forgotten, and measured again)
# The characters nearly every PDF draws from (code point ranges, the last one not in each).
COMMON = ((0x00, 0x7F), (0xA0, 0x180), (0x2010, 0x2040), (0x20AC, 0x20AD), (0x2122, 0x2123),
          (0x2190, 0x2194), (0x2212, 0x2213), (0x2260, 0x2261), (0x2264, 0x2266))
COMMON_FROM = 4  # the PDF of a process from which the common cut is made: making it costs
# about what it saves nine PDFs, so a process writing a few PDFs does without (worker
# processes writing statements begin with it: statement_pdf.parse_typefaces)
_WRITTEN = 0  # PDFs written by write_pdf in this process
# file -> its cut to COMMON (bytes) and the names of the glyphs the cut holds
_COMMON_CUT: dict[str, tuple[bytes, frozenset[str]]] = {}


def add_typeface(pdf: Any, family: str, style: str, path: Path) -> None:
    """`pdf.add_font(family, style, path)`, with the typeface parsed only once a process."""
    key = (str(path), style)
    parsed: Any = _PARSED.get(key)
    if parsed is None:
        from fpdf import FPDF

        scratch = FPDF()
        scratch.add_font(family, style, str(path))
        parsed = next(iter(scratch.fonts.values()))
        _PARSED[key] = parsed
        _BYTES[str(path)] = Path(path).read_bytes()
    font = copy.copy(parsed)
    font.__class__ = _measured(type(parsed))
    font.i = len(pdf.fonts) + 1
    font.fontkey = f"{family.lower()}{style}"
    font.ttfont = _font_file(parsed.ttfont, _BYTES[str(path)],
                             getattr(parsed, "collection_font_number", 0))
    font.missing_glyphs = []
    for name, empty in (("biggest_size_pt", 0), ("_hbfont", None), ("hbfont", None)):
        if name in getattr(type(parsed), "__slots__", ()):  # (2.8.1: no size, no underscore)
            setattr(font, name, empty)
    # the characters this document uses: a fresh record, pointing at this document's copy
    font.subset = copy.deepcopy(parsed.subset, {id(parsed): font})
    pdf.fonts[font.fontkey] = font


def _font_file(parsed: Any, data: bytes, number: int) -> Any:
    """A fresh font file read as fpdf2 reads it (so that it cuts it down the same way)."""
    from fontTools import ttLib

    return ttLib.TTFont(BytesIO(data), recalcTimestamp=parsed.recalcTimestamp,
                        recalcBBoxes=parsed.recalcBBoxes, lazy=parsed.lazy,
                        fontNumber=number)


def write_pdf(pdf: Any, target: Path) -> None:
    """`pdf.output(target)`, each shared typeface cut from its cut to COMMON where the
    document uses no other character (the same bytes, sooner)."""
    global _WRITTEN
    _WRITTEN += 1
    measured = set(_CLASSES.values())
    for font in pdf.fonts.values():
        if type(font) not in measured or (
                _WRITTEN < COMMON_FROM and font.ttffile not in _COMMON_CUT):
            continue  # (a process writing a PDF or two does not make the common cut)
        cut, names = common_cut(font)
        if set(font.subset.get_all_glyph_names()) <= names:
            font.ttfont = _font_file(font.ttfont, cut, 0)
    pdf.output(str(target))


def common_cut(font: Any) -> tuple[bytes, frozenset[str]]:
    """The typeface's file cut to COMMON, once a process, and the names of the glyphs that
    a document may use for fpdf2's cut of it to be the cut of the whole file: every glyph
    keeps its name (fpdf2 finds glyphs by name, and its own cut then drops the names as it
    would from the whole file), the file's date is kept, and no table is dropped that
    fpdf2's cut keeps."""
    got = _COMMON_CUT.get(font.ttffile)
    if got is None:
        from fontTools import subset

        whole = _font_file(font.ttfont, _BYTES[str(font.ttffile)],
                           getattr(font, "collection_font_number", 0))
        cmap = whole.getBestCmap()
        glyphs = {cmap[c] for lo, hi in COMMON for c in range(lo, hi) if c in cmap}
        # every character drawn by one of these glyphs, so that the cut's character map
        # holds for each glyph what the whole file's does
        chars = sorted(c for c, glyph in cmap.items() if glyph in glyphs)
        options = subset.Options(notdef_outline=True, recommended_glyphs=True,
                                 glyph_names=True)
        cutter = subset.Subsetter(options)
        cutter.populate(glyphs=sorted(glyphs), unicodes=chars)
        cutter.subset(whole)
        out = BytesIO()
        whole.save(out)
        # (the cut holds more glyphs than these, those they are drawn from or may become,
        # but only these have every character of the whole file that draws them)
        got = (out.getvalue(), frozenset(glyphs | {".notdef"}))  # (no character draws it)
        _COMMON_CUT[font.ttffile] = got
    return got


_CLASSES: dict[type, type] = {}
BIGGEST = "biggest_size_pt"  # the largest size a document used the typeface at (fpdf2 2.8.9)


def _measured(base: Any) -> type:
    """fpdf2's typeface class, its widths kept for the process."""
    if base not in _CLASSES:
        keeps_size = BIGGEST in getattr(base, "__slots__", ())

        class Measured(base):
            __slots__ = ()

            def get_text_width(self, text: Any, font_size_pt: float, shaping: Any = None) -> Any:
                if shaping:
                    return super().get_text_width(text, font_size_pt, shaping)
                key = (self.ttffile, text if isinstance(text, str) else tuple(text),
                       font_size_pt)  # (fpdf2 2.8.1 measures lists of characters too)
                got = _WIDTHS.get(key)
                if got is None:
                    got = super().get_text_width(text, font_size_pt, shaping)
                    if len(_WIDTHS) >= WIDTHS_KEPT:
                        _WIDTHS.clear()
                    _WIDTHS[key] = got
                elif keeps_size and font_size_pt > getattr(self, BIGGEST):
                    setattr(self, BIGGEST, font_size_pt)  # as the measure itself does
                return got

        _CLASSES[base] = Measured
    return _CLASSES[base]
