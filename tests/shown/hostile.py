"""Hostile returns, each a shipped sample edited at the XML level so that what a person sees
differs from what is stored: every spelling of a hidden row or column, number formats that
show another number or nothing, conditional formats, text the colour of its background,
hidden sheets with a visible look-alike, merged cells, tiny fonts.

The sample is birmingham-90-10's P01 June 2013 return: Utilisation!E2 holds 45 void
unit-days (sheet2.xml), Outcomes!C7 the assessment date 13 June 2013 (sheet3.xml).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SAMPLE = ROOT / "sample_returns" / "birmingham-90-10" / "2013-06" / "P01-2013-06.xlsx"
UTIL, OUT, COVER = "xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml", "xl/worksheets/sheet1.xml"
E2 = '<c r="E2" s="5"><v>45</v></c>'


def read_parts(path: Path = SAMPLE) -> dict[str, bytes]:
    """The sample's parts, its Outcomes sheet without the template's 990 empty input rows
    (styled cells holding nothing: a smaller file opens faster, and says the same)."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    text = parts[OUT].decode("utf-8")
    text = re.sub(r'<row r="\d+"[^>]*>(?:(?!</row>).)*</row>',
                  lambda m: m.group(0) if "<v>" in m.group(0) else "", text)
    parts[OUT] = text.encode("utf-8")
    return parts


def write_parts(parts: dict[str, bytes]) -> bytes:
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return buf.getvalue()


def edit(parts: dict[str, bytes], name: str, old: str, new: str, count: int = 1) -> None:
    text = parts[name].decode("utf-8")
    assert old in text, (name, old)
    parts[name] = text.replace(old, new, count).encode("utf-8")


def _add(parts: dict[str, bytes], tag: str, item: str) -> int:
    """Appends an item to a styles.xml list (numFmts, fonts, fills, cellXfs, dxfs); its index
    (for numFmts, its id)."""
    text = parts["xl/styles.xml"].decode("utf-8")
    if tag == "dxfs" and "<dxfs count=\"0\"/>" in text:
        text = text.replace('<dxfs count="0"/>', f'<dxfs count="1">{item}</dxfs>')
        parts["xl/styles.xml"] = text.encode("utf-8")
        return 0
    m = re.search(rf'<{tag} count="(\d+)">', text)
    assert m, tag
    n = int(m.group(1))
    text = text.replace(m.group(0), f'<{tag} count="{n + 1}">', 1)
    text = text.replace(f"</{tag}>", f"{item}</{tag}>", 1)
    parts["xl/styles.xml"] = text.encode("utf-8")
    if tag == "numFmts":
        return 164 + n
    return n


def styled(parts: dict[str, bytes], fmt: str | None = None, font: str | None = None,
           fill: str | None = None) -> int:
    """A new cell style (an xf) with the number format, font colour and fill given; its index."""
    num = _add(parts, "numFmts", f'<numFmt numFmtId="{164 + _count(parts, "numFmts")}" '
               f'formatCode="{fmt}"/>') if fmt is not None else 0
    font_id = _add(parts, "fonts", f"<font>{font}<name val=\"Calibri\"/></font>") if font else 0
    fill_id = (_add(parts, "fills", f'<fill><patternFill patternType="solid"><fgColor '
                    f'rgb="{fill}"/><bgColor indexed="64"/></patternFill></fill>')
               if fill else 0)
    return _add(parts, "cellXfs", f'<xf numFmtId="{num}" fontId="{font_id}" fillId="{fill_id}" '
                f'borderId="0" xfId="0" applyNumberFormat="1" applyFont="1" applyFill="1"/>')


def _count(parts: dict[str, bytes], tag: str) -> int:
    m = re.search(rf'<{tag} count="(\d+)">', parts["xl/styles.xml"].decode("utf-8"))
    return int(m.group(1)) if m else 0


def e2(parts: dict[str, bytes], style: int, value: str = "45") -> None:
    edit(parts, UTIL, E2, f'<c r="E2" s="{style}"><v>{value}</v></c>')


def conditional(parts: dict[str, bytes], dxf: str, sqref: str = "E2",
                rule: str = '<cfRule type="cellIs" dxfId="{d}" priority="1" '
                            'operator="greaterThan"><formula>0</formula></cfRule>') -> None:
    d = _add(parts, "dxfs", f"<dxf>{dxf}</dxf>")
    edit(parts, UTIL, "<dataValidations", f'<conditionalFormatting sqref="{sqref}">'
         f'{rule.format(d=d)}</conditionalFormatting><dataValidations')


def lookalike(parts: dict[str, bytes], state: str, name: str) -> None:
    """Utilisation hidden (`state`), and a visible sheet `name` beside it showing 0 void
    days where the hidden one holds 45."""
    edit(parts, "xl/workbook.xml", '<sheet name="Utilisation" sheetId="2" r:id="rId2"/>',
         f'<sheet name="Utilisation" sheetId="2" state="{state}" r:id="rId2"/>'
         f'<sheet name="{name}" sheetId="9" r:id="rId99"/>')
    parts["xl/worksheets/sheet9.xml"] = parts[UTIL].replace(E2.encode(),
                                                             b'<c r="E2" s="5"><v>0</v></c>')
    edit(parts, "xl/_rels/workbook.xml.rels", "</Relationships>",
         '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
         'relationships/worksheet" Target="worksheets/sheet9.xml"/></Relationships>')
    edit(parts, "[Content_Types].xml", "</Types>",
         '<Override PartName="/xl/worksheets/sheet9.xml" ContentType="application/vnd.'
         'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')


ROW2 = '<row r="2" spans="1:6">'
COL5 = '<col min="5" max="5" width="17.7109375" customWidth="1"/>'
WHITE = '<color rgb="FFFFFFFF"/>'
FILL = '<color rgb="FFFFF2CC"/>'  # the input cells' fill

# name -> (what a person sees instead, the edit)
CASES: dict[str, tuple[str, Callable[[dict[str, bytes]], None]]] = {
    "row-hidden-true": ("Utilisation row 2 hidden=\"true\"",
                        lambda p: edit(p, UTIL, ROW2, '<row r="2" spans="1:6" hidden="true">')),
    "row-hidden-single-quotes": ("row 2 hidden='1'",
                                 lambda p: edit(p, UTIL, ROW2, "<row r='2' hidden='1'>")),
    "row-hidden-spaced": ("row 2 hidden = \"1\" (spaces round =)",
                          lambda p: edit(p, UTIL, ROW2, '<row r="2" hidden = "1" >')),
    "row-hidden-newline": ("row 2 hidden=<newline>'true' (found by the fuzzer)",
                           lambda p: edit(p, UTIL, ROW2, "<row r=\"2\" hidden=\n'true'>")),
    "row-hidden-padded": ("row 2 hidden=\" 1\" (xsd:boolean collapses the space; found by "
                          "the fuzzer)", lambda p: edit(p, UTIL, ROW2, '<row r="2" hidden=" 1">')),
    "row-attribute-unbound-prefix": ("row 2 x:hidden=\"1\", a prefix never declared: the "
                                     "sheet is not well-formed XML and Calc shows it empty "
                                     "(found by the fuzzer)",
                                     lambda p: edit(p, UTIL, ROW2, '<row r="2" x:hidden="1">')),
    "col-twice-hidden-first": ("column E defined twice, hidden first, then visible (found by "
                               "the fuzzer; Calc keeps the first)", lambda p: edit(
                                   p, UTIL, COL5, '<col min="5" max="5" hidden="1"/>' + COL5)),
    "row-ht-0": ("row 2 ht=\"0\" customHeight=\"1\"",
                 lambda p: edit(p, UTIL, ROW2, '<row r="2" spans="1:6" ht="0" customHeight="1">')),
    "row-ht-0-no-custom": ("row 2 ht=\"0\" without customHeight",
                           lambda p: edit(p, UTIL, ROW2, '<row r="2" spans="1:6" ht="0">')),
    "row-ht-0.0-true": ("row 2 ht=\"0.0\" customHeight=\"true\"",
                        lambda p: edit(p, UTIL, ROW2, '<row r="2" ht="0.0" customHeight="true">')),
    "zero-height-default": ("sheetFormatPr zeroHeight=\"1\": rows 2 and 3 have no height of "
                            "their own", lambda p: edit(p, UTIL, '<sheetFormatPr defaultRowHeight="15"/>',
                                                        '<sheetFormatPr defaultRowHeight="15" zeroHeight="1"/>')),
    "col-hidden-true": ("column E hidden=\"true\"", lambda p: edit(
        p, UTIL, COL5, '<col min="5" max="5" width="17.7109375" customWidth="1" hidden="true"/>')),
    "col-width-0": ("column E width=\"0\"", lambda p: edit(
        p, UTIL, COL5, '<col min="5" max="5" width="0" customWidth="1"/>')),
    "col-span-hidden": ("columns E:F hidden by one col element (min=5 max=6)", lambda p: edit(
        p, UTIL, COL5, '<col min="5" max="6" width="17" customWidth="1" hidden="1"/>')),
    "col-width-tiny": ("column E width=\"0.05\" (not zero, nothing seen)", lambda p: edit(
        p, UTIL, COL5, '<col min="5" max="5" width="0.05" customWidth="1"/>')),
    "numfmt-literal-300": ("E2 holds 0 formatted \"300\": shows 300",
                           lambda p: e2(p, styled(p, fmt="&quot;300&quot;"), "0")),
    "numfmt-thousands-scale": ("E2 holds 300 formatted 0, (thousands): shows 0",
                               lambda p: e2(p, styled(p, fmt="0,"), "300")),
    "numfmt-empty-sections": ("E2 formatted \"\";\"\";\"\" (shows nothing, not spelt ;;;)",
                              lambda p: e2(p, styled(p, fmt="&quot;&quot;;&quot;&quot;;&quot;&quot;"))),
    "numfmt-condition-section": ("E2 holds 500 formatted [<1000]\"45\";0 : shows 45",
                                 lambda p: e2(p, styled(p, fmt="[&lt;1000]&quot;45&quot;;0"), "500")),
    "numfmt-white": ("E2 formatted [White]0 on no fill", lambda p: e2(p, styled(p, fmt="[White]0"))),
    "font-white": ("E2 in white on no fill", lambda p: e2(p, styled(p, font=WHITE))),
    "font-white-on-white-fill": ("E2 white on a white fill",
                                 lambda p: e2(p, styled(p, font=WHITE, fill="FFFFFFFF"))),
    "font-near-white": ("E2 in FEFEFE on no fill", lambda p: e2(p, styled(p, font='<color rgb="FFFEFEFE"/>'))),
    "font-as-input-fill": ("E2 in the input cells' yellow (FFF2CC) on that fill", lambda p: e2(
        p, styled(p, font='<color rgb="FFFFF2CC"/>', fill="FFFFF2CC"))),
    "font-theme-background": ("E2 in theme colour 0 (the background, white)",
                              lambda p: e2(p, styled(p, font='<color theme="0"/>'))),
    "font-indexed-white": ("E2 in palette colour 9 (white)",
                           lambda p: e2(p, styled(p, font='<color indexed="9"/>'))),
    "font-tiny": ("E2 in a 1 pt font", lambda p: e2(p, styled(p, font='<sz val="1"/>'))),
    "cf-invisible-format": ("a conditional format (E2 > 0) applying ;;;", lambda p: conditional(
        p, '<numFmt numFmtId="200" formatCode=";;;"/>')),
    "cf-other-number": ("a conditional format (E2 > 0) applying the format \"0\": shows 0",
                        lambda p: conditional(p, '<numFmt numFmtId="201" formatCode="&quot;0&quot;"/>')),
    "cf-fill-font": ("a conditional format (E2 > 0) colouring the text as its fill (FFF2CC)",
                     lambda p: conditional(p, f"<font>{FILL}</font>")),
    "cf-expression-fill-font": ("a conditional format by expression (TRUE) colouring E2's "
                                "text as its fill", lambda p: conditional(
                                    p, f"<font>{FILL}</font>", rule='<cfRule '
                                                  'type="expression" dxfId="{d}" priority="1">'
                                                  '<formula>TRUE</formula></cfRule>')),
    "sheet-hidden-lookalike": ("Utilisation hidden; a visible 'Utilisation ' shows 0 void days",
                               lambda p: lookalike(p, "hidden", "Utilisation ")),
    "sheet-veryhidden-lookalike": ("Utilisation veryHidden; a visible 'Utilisatіon' (Cyrillic і)",
                                   lambda p: lookalike(p, "veryHidden", "Utilisat\u0456on")),
    "sheet-hidden": ("Utilisation hidden, nothing beside it", lambda p: edit(
        p, "xl/workbook.xml", '<sheet name="Utilisation" sheetId="2" r:id="rId2"/>',
        '<sheet name="Utilisation" sheetId="2" state="hidden" r:id="rId2"/>')),
    "merged-over": ("D2:E2 merged: E2 is covered by D2", lambda p: edit(
        p, UTIL, "</sheetData>", '</sheetData><mergeCells count="1"><mergeCell ref="D2:E2"/>'
        "</mergeCells>")),
    "date-year-only": ("Outcomes C7 (13 June 2013) formatted yyyy: shows 2013",
                       lambda p: edit(p, OUT, '<c r="C7" s="9">', f'<c r="C7" s="{styled(p, fmt="yyyy")}">')),
    "date-month-first": ("Outcomes C7 (13 June 2013) formatted mm/dd/yyyy: shows 06/13/2013",
                         lambda p: edit(p, OUT, '<c r="C7" s="9">',
                                        f'<c r="C7" s="{styled(p, fmt="mm/dd/yyyy")}">')),
}


# Where LibreOffice Calc (7.4) shows what Excel hides: Calc gives the row or column its usual
# size. The oracle is blind to these; the docs' rule (pbr refuses them) is checked directly.
CALC_BLIND = {
    "row-ht-0": "Calc gives a row of ht=0 its optimal height",
    "row-ht-0-no-custom": "Calc gives a row of ht=0 its optimal height",
    "row-ht-0.0-true": "Calc gives a row of ht=0 its optimal height",
    "zero-height-default": "Calc ignores sheetFormatPr zeroHeight",
    "col-width-0": "Calc gives a column of width 0 the default width",
}


def target(name: str) -> tuple[str, str]:
    """The sheet and cell a case changes."""
    return ("Outcomes", "C7") if name.startswith("date-") else ("Utilisation", "E2")


def build(name: str, folder: Path) -> Path:
    parts = read_parts()
    CASES[name][1](parts)
    target = folder / name / "P01-2013-06.xlsx"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(write_parts(parts))
    return target
