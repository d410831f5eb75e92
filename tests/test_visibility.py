"""pbr pays only on what a person opening the return sees (docs/limits.md, "What a person
reviewing the return can see"): each spelling of a hidden row or column, parts found through
the package's relationships, number formats that show another number, conditional formats,
a font the colour of its fill, and a hidden sheet behind a visible look-alike.

Each return is the clean one of the bad-input corpus (tests/corpus.py: Utilisation!E2 holds
12 void days for S001, Outcomes rows 2 to 11 the outcomes) with its XML edited.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from tests.conftest import ROOT
from tests.corpus import Kit, replace_in, rewrite_zip, with_extra_sheet

runner = CliRunner()
E2 = b'<c r="E2" s="5"><v>12</v>'  # Utilisation: 12 void days for S001


def validate(kit: Kit, path: Path, annotate: bool = True) -> tuple[int, list[dict]]:
    args = kit.validate(path)
    result = runner.invoke(app, args if annotate else args[:args.index("--annotate")])
    assert "Traceback" not in result.output
    report = json.loads(result.stdout)
    return result.exit_code, [p for f in report["files"] for p in f["problems"]]


def found(problems: list[dict], code: str, cell: str) -> dict:
    hits = [p for p in problems if p["code"] == code and p["cell"] == cell]
    assert hits, [(p["code"], p["cell"], p["message"]) for p in problems]
    return hits[0]


def serious(problems: list[dict]) -> list[tuple[str, str]]:
    return [(p["code"], p["cell"]) for p in problems if p["severity"] in ("error", "fatal")]


def add_style(path: Path, code: str | None = None, font: bytes | None = None,
              fill: bytes | None = None, dxf: bytes | None = None) -> int:
    """Add a cell style (a number format `code`, a font colour element, a solid fill colour
    element) to the return's styles, or a conditional format's dxf; the new index."""
    data = path.read_bytes()
    styles = zipfile.ZipFile(BytesIO(data)).read("xl/styles.xml")
    if dxf is not None:
        styles = styles.replace(b'<dxfs count="0"/>', b'<dxfs count="1"><dxf>' + dxf
                                + b"</dxf></dxfs>")
        path.write_bytes(rewrite_zip(data, lambda n, b: styles if n == "xl/styles.xml" else b))
        return 0
    num = font_id = fill_id = 0
    if code is not None:
        num = 200
        fmt = b'<numFmt numFmtId="200" formatCode="%s"/>' % code.encode()
        styles = styles.replace(b'<numFmts count="1">', b'<numFmts count="2">' + fmt)
    if font is not None:
        count = int(re.search(rb'<fonts count="(\d+)"', styles).group(1))
        styles = styles.replace(b"</fonts>", b"<font><sz val=\"11\"/>" + font
                                + b'<name val="Calibri"/></font></fonts>')
        font_id = count
    if fill is not None:
        count = int(re.search(rb'<fills count="(\d+)"', styles).group(1))
        styles = styles.replace(b"</fills>", b'<fill><patternFill patternType="solid">' + fill
                                + b"</patternFill></fill></fills>")
        fill_id = count
    xfs = re.search(rb'<cellXfs count="(\d+)">', styles)
    index = int(xfs.group(1))
    styles = styles.replace(xfs.group(0), b'<cellXfs count="%d">' % (index + 1))
    styles = styles.replace(b"</cellXfs>", b'<xf numFmtId="%d" fontId="%d" fillId="%d" borderId="0"'
                            b' xfId="0" applyNumberFormat="1"/></cellXfs>' % (num, font_id, fill_id))
    path.write_bytes(rewrite_zip(data, lambda n, b: styles if n == "xl/styles.xml" else b))
    return index


def e2_with(kit: Kit, value: str = "12", **style) -> Path:
    """The clean return with Utilisation!E2 holding `value` in a new style (add_style)."""
    path = kit.write_return()
    index = add_style(path, **style)
    replace_in(path, "Utilisation", E2, b'<c r="E2" s="%d"><v>%s</v>' % (index, value.encode()))
    return path


@pytest.fixture
def kit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return Kit(tmp_path / "case")


def test_the_clean_return_is_clean(kit):
    code, problems = validate(kit, kit.write_return())
    assert code == 0 and serious(problems) == []


# -- hidden rows and columns, however spelt ----------------------------------------------------

@pytest.mark.parametrize("row", [
    b'<row r="4" hidden=" 1"',  # xsd:boolean: whitespace collapsed
    b'<row r="4" hidden="\ttrue "',
    b'<row hidden="1" r="4"',  # before r=
    b'<row ht="0" customHeight="1" r="4"',
    b'<row ht=" 0.0 " r="4"',
    b"<row hidden = '1' r = '4'",  # single quotes, spaces round =
])
def test_a_hidden_row_however_spelt_is_refused(kit, row):
    path = kit.write_return()
    replace_in(path, "Outcomes", b'<row r="4"', row)
    code, problems = validate(kit, path)
    assert code == 2
    assert "row 4 is hidden" in found(problems, "hidden-data", "Outcomes!4")["message"]


def test_a_hidden_row_without_a_number_is_the_one_after_the_row_before(kit):
    path = kit.write_return()  # rows 3 and 4 lose r=: row 4 is the third after row 1
    replace_in(path, "Outcomes", b'<row r="3" spans="1:6">', b'<row spans="1:6">')
    replace_in(path, "Outcomes", b'<row r="4" spans="1:6">', b'<row spans="1:6" hidden="1">')
    code, problems = validate(kit, path)
    assert code == 2
    found(problems, "hidden-data", "Outcomes!4")


def test_rows_hidden_by_default_with_a_spaced_boolean(kit):
    path = kit.write_return()
    replace_in(path, "Outcomes", b"<sheetFormatPr ", b"<sheetFormatPr zeroHeight=' true' ")
    code, problems = validate(kit, path)
    assert code == 2
    found(problems, "hidden-data", "Outcomes!2")


@pytest.mark.parametrize("col", [
    b'<col hidden=" 1" max="6" min="6" width="12" customWidth="1"/>',
    b"<col width='0' min='6' max='6'/>",
    b'<col min=" 6" max="6 " hidden="true"/>',
])
def test_a_hidden_column_however_spelt_is_refused(kit, col):
    path = kit.write_return()
    replace_in(path, "Outcomes", b'<col min="6" max="6" width="12.7109375" customWidth="1"/>',
               col)
    code, problems = validate(kit, path)
    assert code == 2
    assert "'Result' is hidden" in found(problems, "hidden-data", "Outcomes!F:F")["message"]


# -- parts found through the relationships ------------------------------------------------------

def moved(path: Path, old: str, new: str) -> None:
    """Rename a part and say so in the workbook's relationships and the content types."""
    data = path.read_bytes()
    short_old, short_new = old.removeprefix("xl/").encode(), new.removeprefix("xl/").encode()

    def change(name: str, body: bytes) -> bytes | None:
        if name == old:
            return None
        if name == "xl/_rels/workbook.xml.rels":
            return body.replace(b'Target="' + short_old, b'Target="' + short_new)
        if name == "[Content_Types].xml":
            return body.replace(b"/" + old.encode(), b"/" + new.encode())
        return body
    body = zipfile.ZipFile(BytesIO(data)).read(old)
    path.write_bytes(rewrite_zip(data, change, {new: body}))


def test_a_format_hiding_the_value_in_styles_under_another_name_is_found(kit):
    path = e2_with(kit, code=";;;")
    moved(path, "xl/styles.xml", "xl/sty.xml")
    code, problems = validate(kit, path, annotate=False)  # (the annotated copy needs them
    # under their usual name)
    assert code == 2
    found(problems, "invisible-value", "Utilisation!E2")


@pytest.mark.parametrize("part", ["xl/sharedStrings.xml", "xl/styles.xml"])
def test_a_decoy_part_beside_the_one_the_relationships_name_is_refused(kit, part):
    # Excel reads the part the relationships name (xl/other.xml); the fast reader would read
    # the decoy left under the usual name, with other texts or formats
    path = kit.write_return()
    moved(path, part, "xl/other.xml")
    decoy = zipfile.ZipFile(path).read("xl/other.xml").replace(b"S001", b"S002")
    path.write_bytes(rewrite_zip(path.read_bytes(), lambda n, b: b, {part: decoy}))
    code, problems = validate(kit, path)
    assert code == 2
    problem = next(p for p in problems if p["code"] == "unsafe-workbook")
    assert "xl/other.xml" in problem["message"] and part in problem["message"]


# -- number formats that show another number ----------------------------------------------------

def test_a_literal_format_showing_300_on_a_value_of_0_is_refused(kit):
    path = e2_with(kit, "0", code="&quot;300&quot;")
    code, problems = validate(kit, path)
    assert code == 1
    message = found(problems, "shown-differs", "Utilisation!E2")["message"]
    assert "'300'" in message and "holds 0" in message


def test_a_cell_spelt_otherwise_is_rendered_too(kit):
    # the style before the reference, single quotes: the cell is found all the same
    path = e2_with(kit, "0", code="&quot;300&quot;")
    data = zipfile.ZipFile(path).read("xl/worksheets/sheet2.xml")
    style = re.search(rb'<c r="E2" s="(\d+)">', data).group(1)
    replace_in(path, "Utilisation", b'<c r="E2" s="%s">' % style, b"<c s='%s' r='E2'>" % style)
    code, problems = validate(kit, path)
    assert "'300'" in found(problems, "shown-differs", "Utilisation!E2")["message"]


def test_a_scaling_comma_showing_0_for_300_is_refused(kit):
    # 0, divides by 1000: 300 / 1000 = 0.3, shown to no decimals as 0
    path = e2_with(kit, "300", code="0,")
    code, problems = validate(kit, path)
    assert code == 1
    message = found(problems, "shown-differs", "Utilisation!E2")["message"]
    assert "'0'" in message and "holds 300" in message


def test_a_percent_format_rounding_the_value_is_refused(kit):
    # 0.125 x 100 = 12.5, shown to no decimals (half up) as 13%, which reads back as 0.13
    path = e2_with(kit, "0.125", code="0%")
    code, problems = validate(kit, path)
    assert "'13%'" in found(problems, "shown-differs", "Utilisation!E2")["message"]


def test_a_negative_section_without_its_sign_is_refused(kit):
    # -12 under 0;0 shows 12: the second section has no minus sign
    path = e2_with(kit, "-12", code="0;0")
    code, problems = validate(kit, path)
    found(problems, "shown-differs", "Utilisation!E2")


@pytest.mark.parametrize("fmt", ["0%", "0", "#,##0", "0.00", "0&quot; days&quot;", "General",
                                 "0;[Red]-0", "\\£0", "@", "_-* #,##0_-;-* #,##0_-;_-* &quot;-&quot;_-"])
def test_a_format_showing_the_value_is_paid_on(kit, fmt):
    path = e2_with(kit, "12", code=fmt)
    code, problems = validate(kit, path)
    assert code == 0 and serious(problems) == []


def test_a_format_pbr_cannot_render_is_refused(kit):
    path = e2_with(kit, "12", code="[&gt;100]0;0.0")
    code, problems = validate(kit, path)
    assert "cannot tell" in found(problems, "shown-differs", "Utilisation!E2")["message"]


# -- conditional formats ------------------------------------------------------------------------

def with_conditional(kit: Kit, dxf: bytes, rule: bytes) -> Path:
    path = kit.write_return()
    add_style(path, dxf=dxf)
    replace_in(path, "Utilisation", b"<dataValidations",
               b'<conditionalFormatting sqref="E2:E3">' + rule
               + b"</conditionalFormatting><dataValidations")
    return path


@pytest.mark.parametrize("formula", [b"TRUE", b"1=1"])
def test_a_conditional_format_showing_nothing_is_refused(kit, formula):
    path = with_conditional(
        kit, b'<numFmt numFmtId="201" formatCode=";;;"/>',
        b'<cfRule type="expression" dxfId="0" priority="1"><formula>%s</formula></cfRule>' % formula)
    code, problems = validate(kit, path)
    assert code == 1
    found(problems, "conditional-format", "Utilisation!E2")


def test_a_conditional_format_whose_rule_is_plainly_false_is_allowed(kit):
    path = with_conditional(
        kit, b'<numFmt numFmtId="201" formatCode=";;;"/>',
        b'<cfRule type="expression" dxfId="0" priority="1"><formula>FALSE</formula></cfRule>')
    code, problems = validate(kit, path)
    assert code == 0 and serious(problems) == []


def test_a_conditional_format_changing_only_the_fill_is_allowed(kit):
    path = with_conditional(kit, b'<fill><patternFill><bgColor rgb="FFFFC7CE"/></patternFill>'
                            b"</fill>", b'<cfRule type="expression" dxfId="0" priority="1">'
                            b"<formula>TRUE</formula></cfRule>")
    code, problems = validate(kit, path)
    assert code == 0 and serious(problems) == []


def test_a_conditional_format_changing_the_font_colour_is_refused(kit):
    path = with_conditional(kit, b'<font><color rgb="FFFFF2CC"/></font>',
                            b'<cfRule type="expression" dxfId="0" priority="1"><formula>TRUE'
                            b"</formula></cfRule>")
    code, problems = validate(kit, path)
    found(problems, "conditional-format", "Utilisation!E2")


def test_a_data_bar_hiding_the_value_is_refused(kit):
    path = with_conditional(kit, b"<fill/>", b'<cfRule type="dataBar" priority="1"><dataBar '
                            b'showValue="0"><cfvo type="min"/><cfvo type="max"/><color '
                            b'rgb="FF638EC6"/></dataBar></cfRule>')
    code, problems = validate(kit, path)
    found(problems, "conditional-format", "Utilisation!E2")


# -- a font the colour of its fill --------------------------------------------------------------

@pytest.mark.parametrize("font,fill", [
    (b'<color rgb="FFFFFFFF"/>', None),  # white on the default white
    (b'<color rgb="FFFFFFFF"/>', b'<fgColor rgb="FFFFFFFF"/>'),
    (b'<color theme="0"/>', None),  # the theme's light colour: white
    (b'<color rgb="FF1F4E78"/>', b'<fgColor rgb="FF1F4E78"/>'),  # blue on blue
    (b'<color indexed="9"/>', None),  # the palette's white
])
def test_a_font_the_colour_of_its_fill_is_refused(kit, font, fill):
    path = e2_with(kit, font=font, fill=fill)
    code, problems = validate(kit, path)
    assert code == 2
    message = found(problems, "same-colour-as-fill", "Utilisation!E2")["message"]
    assert "on a" in message and "fill" in message


def test_white_on_a_dark_fill_is_seen(kit):
    path = e2_with(kit, font=b'<color rgb="FFFFFFFF"/>', fill=b'<fgColor rgb="FF1F4E78"/>')
    code, problems = validate(kit, path)
    assert code == 0 and serious(problems) == []


# -- the sheet a person would pick ----------------------------------------------------------------

def test_a_hidden_sheet_behind_a_visible_look_alike_is_refused(kit, tmp_path):
    path = kit.write_return(hidden=("Utilisation",))
    body = zipfile.ZipFile(path).read("xl/worksheets/sheet2.xml").replace(E2, b'<c r="E2" '
                                                                          b's="5"><v>0</v>')
    with_extra_sheet(path, "Utilisation ", body)
    run = subprocess.run([sys.executable, "-m", "pbr_cli", *kit.validate(path)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 2, run.stdout[-2000:] + run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    problems = [p for f in json.loads(run.stdout)["files"] for p in f["problems"]]
    problem = next(p for p in problems if p["code"] == "hidden-sheet-look-alike")
    assert "'Utilisation '" in problem["message"] and "is hidden" in problem["message"]


def test_a_conditional_format_of_excel_2010_with_its_format_inline_is_found():
    # Excel 2010 writes some rules in an extension: the dxf inside the rule, the range in
    # <xm:sqref>
    from types import SimpleNamespace

    from pbr_cli.workbook.visibility import conditional_ranges

    text = (b'<x14:conditionalFormatting xmlns:xm="m"><x14:cfRule type="expression" '
            b'priority="1" id="{1}"><xm:f>TRUE</xm:f><x14:dxf><numFmt numFmtId="201" '
            b'formatCode=";;;"/></x14:dxf></x14:cfRule><xm:sqref>E2:E3 G7</xm:sqref>'
            b"</x14:conditionalFormatting>")
    found = conditional_ranges(SimpleNamespace(looks=None), text)  # type: ignore[arg-type]
    assert found == [((1, 4, 2, 4), "changes its number format"),
                     ((6, 6, 6, 6), "changes its number format")]


# -- found by the LibreOffice oracle (tests/test_as_shown.py) -----------------------------------

def test_a_comparison_rule_whose_operand_is_0_is_not_taken_for_a_false_rule(kit):
    """`cellIs greaterThan 0` holds for 12: its formula (0) is what the value is compared
    with, not a rule that is false. It was skipped as plainly false, so ;;; applied by it
    was paid on."""
    path = with_conditional(
        kit, b'<numFmt numFmtId="201" formatCode=";;;"/>',
        b'<cfRule type="cellIs" dxfId="0" priority="1" operator="greaterThan"><formula>0'
        b"</formula></cfRule>")
    code, problems = validate(kit, path)
    found(problems, "conditional-format", "Utilisation!E2")


def test_a_number_format_colouring_the_value_white_is_refused(kit):
    path = e2_with(kit, "12", code="[White]0")
    code, problems = validate(kit, path, annotate=False)
    assert code == 2
    assert "white" in found(problems, "same-colour-as-fill", "Utilisation!E2")["message"]


def test_a_font_too_small_to_read_is_refused(kit):
    path = kit.write_return()
    index = add_style(path, font=b'<color rgb="FF000000"/>')
    data = path.read_bytes()
    styles = zipfile.ZipFile(BytesIO(data)).read("xl/styles.xml")
    styles = styles[::-1].replace(b'<sz val="11"/>'[::-1], b'<sz val="1"/>'[::-1], 1)[::-1]
    path.write_bytes(rewrite_zip(data, lambda n, b: styles if n == "xl/styles.xml" else b))
    replace_in(path, "Utilisation", E2, b'<c r="E2" s="%d"><v>12</v>' % index)
    code, problems = validate(kit, path, annotate=False)
    assert code == 2
    assert "1 pt" in found(problems, "font-too-small", "Utilisation!E2")["message"]


def test_a_column_narrower_than_a_character_is_hidden(kit):
    path = kit.write_return()
    replace_in(path, "Utilisation", b"<sheetData>",
               b'<cols><col min="5" max="5" width="0.05" customWidth="1"/></cols><sheetData>')
    code, problems = validate(kit, path)
    assert code == 2 and any(p["code"] == "hidden-data" for p in problems), problems


@pytest.mark.parametrize(("fmt", "refused"), [
    ("mm/dd/yyyy", True),     # 06/13/2013: a reader in the UK takes 06 for the day
    ("m/d/yy", True),
    ("dd/mm/yyyy", False),
    ("yyyy-mm-dd", False),    # year first: plain
    ("d mmm yyyy", False),    # the month in words
])
def test_a_date_with_its_month_first_is_refused(kit, fmt, refused):
    path = kit.write_return()
    index = add_style(path, code=fmt)
    replace_in(path, "Outcomes", b'<c r="C2" s="', b'<c r="C2" s="%d" x="' % index)
    code, problems = validate(kit, path, annotate=False)
    hits = [p for p in problems if p["code"] == "shown-differs" and p["cell"] == "Outcomes!C2"]
    assert bool(hits) == refused, problems


def test_a_hidden_sheet_pbr_reads_is_refused_even_without_a_look_alike(kit):
    path = kit.write_return()
    replace_in(path, "xl/workbook.xml", b'<sheet name="Utilisation"',
               b'<sheet name="Utilisation" state="veryHidden"')
    code, problems = validate(kit, path, annotate=False)
    assert code == 2
    assert "the sheet 'Utilisation' pbr reads is hidden" in found(
        problems, "hidden-sheet", None)["message"]


def test_a_sheet_using_a_prefix_it_never_declares_is_refused(kit):
    path = kit.write_return()
    replace_in(path, "Utilisation", b'<row r="2"', b'<row x:hidden="1" r="2"')
    code, problems = validate(kit, path, annotate=False)
    assert code == 2
    assert "prefix 'x:'" in found(problems, "corrupt-workbook", None)["message"]


def _styles_of(path: Path):
    from pbr_cli.workbook.package import open_package
    from pbr_cli.workbook.styles import read_styles

    pkg = open_package(str(path), path.read_bytes())
    return read_styles(str(path), pkg.zip, pkg.parts)


def test_styles_seen_before_are_given_again_only_for_the_same_parts(kit, monkeypatch):
    """A workbook's styles are worked out from its styles and theme parts alone, so parts
    already seen in the process give the StyleBook worked out then. Read one after another
    (the shipped samples, the LibreOffice returns, and returns whose styles or theme differ
    by one colour) each is exactly what reading it alone gives; white text by the theme on a
    white fill is hidden under Office's theme and not under one whose light 1 is black."""
    from pbr_cli.workbook import styles as styles_module

    clean = kit.write_return()
    clean = clean.rename(clean.with_name("clean-copy.xlsx"))
    white_on_white = e2_with(kit, font=b'<color theme="0"/>',
                             fill=b'<fgColor rgb="FFFFFFFF"/>')
    data = white_on_white.read_bytes()
    theme = next(n for n in zipfile.ZipFile(BytesIO(data)).namelist() if "theme" in n)
    black_light = white_on_white.with_name("black-light.xlsx")
    black_light.write_bytes(rewrite_zip(data, lambda n, b: re.sub(
        rb'(<a:lt1>.*?(?:val|lastClr)=")[0-9A-Fa-f]{6}', rb"\g<1>000000", b, flags=re.S)
        if n == theme else b))
    files = [*sorted((ROOT / "sample_returns").rglob("*.xlsx"))[:40],
             *sorted((ROOT / "tests" / "libreoffice").glob("*.xlsx")),
             white_on_white, black_light, clean]
    monkeypatch.setattr(styles_module, "_SEEN", {})
    carried = [_styles_of(path) for path in files]
    again = [_styles_of(path) for path in files]
    assert all(a is b for a, b in zip(carried, again, strict=True))  # given again, as seen
    monkeypatch.setattr(styles_module, "_SEEN_LARGEST", -1)  # nothing kept: each on its own
    alone = []
    for path in files:
        styles_module._SEEN.clear()
        alone.append(_styles_of(path))
    assert carried == alone
    assert len({id(s) for s in carried}) >= 4  # different parts, different styles
    hidden = [look for look in carried[-3].looks.values() if look.font is not None]
    assert hidden and hidden[0].font == (255, 255, 255)
    assert not [look for look in carried[-2].looks.values() if look.font is not None]
