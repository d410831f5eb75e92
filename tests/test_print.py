"""Printed pages keep their information, read from each workbook's XML: every sheet of the
schedule, the report, the statement and the template repeats its headings on every printed
page; no sheet prints below 70% (a sheet shrunk to one page wide is narrow enough to stay
at 70% or more; a wider one prints at 70% across pages, repeating what each row is); every
table heading has the row height to wrap whole in its column; a banner's fill runs under its
text; a template's codes print beside their meanings."""

from __future__ import annotations

import re
import textwrap
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from pbr_cli.outputs.xlsx import MIN_PRINT_SCALE, PRINTABLE_MM
from tests.conftest import made_once

runner = CliRunner()
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def sheets(path: Path) -> dict[str, tuple[ElementTree.Element, list[str]]]:
    """Sheet name -> (its XML, its print titles)."""
    with zipfile.ZipFile(path) as z:
        book = ElementTree.fromstring(z.read("xl/workbook.xml"))
        names = [s.get("name") for s in book.iterfind("m:sheets/m:sheet", NS)]
        titles: dict[str, list[str]] = {}
        for d in book.iterfind("m:definedNames/m:definedName", NS):
            if d.get("name") == "_xlnm.Print_Titles":
                titles[names[int(d.get("localSheetId"))]] = (d.text or "").split(",")
        shared = [si.findtext("m:t", "", NS) or "".join(t.text or "" for t in si.iter(
            f"{{{NS['m']}}}t")) for si in ElementTree.fromstring(
            z.read("xl/sharedStrings.xml")).iterfind("m:si", NS)] \
            if "xl/sharedStrings.xml" in z.namelist() else []
        out = {}
        for i, name in enumerate(names, start=1):
            xml = ElementTree.fromstring(z.read(f"xl/worksheets/sheet{i}.xml"))
            xml.set("_shared", "\x00".join(shared))
            out[name] = (xml, titles.get(name, []))
    return out


def widths(xml: ElementTree.Element) -> dict[int, float]:
    out = {}
    for col in xml.iterfind("m:cols/m:col", NS):
        for j in range(int(col.get("min")), int(col.get("max")) + 1):
            out[j] = float(col.get("width"))
    return out


def text_of(xml: ElementTree.Element, cell: ElementTree.Element) -> str:
    shared = xml.get("_shared", "").split("\x00")
    v = cell.findtext("m:v", "", NS)
    if cell.get("t") == "s":
        return shared[int(v)]
    return cell.findtext("m:is/m:t", "", NS) or v


def column_index(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref).group(0)
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory):
    """Each kind of workbook, made once for the run (the tests only read them)."""
    return made_once(tmp_path_factory, "printed", _workbooks)


def _workbooks(out):
    made = {
        "schedule": (["calculate", "-m", "birmingham-90-10", "-p", "2013-06", "--returns",
                      "sample_returns/birmingham-90-10", "-o", str(out / "s.xlsx")], "s.xlsx"),
        "cohort schedule": (["calculate", "-m", "wigan-cohort", "-p", "2013-06", "--returns",
                             "sample_returns/wigan-cohort", "-o", str(out / "w.xlsx")],
                            "w.xlsx"),
        "report": (["report", "-m", "birmingham-90-10", "-p", "2013-Q2", "-o",
                    str(out / "r.xlsx")], "r.xlsx"),
        "template": (["template", "-m", "wigan-cohort", "--provider", "P1", "-p", "2013-07",
                      "-o", str(out / "t.xlsx")], "t.xlsx"),
        "statement": (["statements", "-m", "wigan-cohort", "-p", "2013-06", "--provider",
                       "P3", "-o", str(out)], "wigan-cohort-2013-06-P3-statement.xlsx"),
    }
    import os

    from tests.conftest import ROOT

    here = os.getcwd()
    os.chdir(ROOT)
    try:
        for args, _ in made.values():
            result = runner.invoke(app, args)
            assert result.exit_code in (0, 1), result.output
    finally:
        os.chdir(here)
    return {name: out / file for name, (_, file) in made.items()}


@pytest.mark.parametrize("name", ["schedule", "cohort schedule", "report", "template",
                                  "statement"])
def test_every_sheet_prints_readably_with_its_headings_on_every_page(workbooks, name):
    for sheet, (xml, titles) in sheets(workbooks[name]).items():
        setup = xml.find("m:pageSetup", NS)
        assert setup is not None and setup.get("orientation") == "landscape", (name, sheet)
        fit = xml.find("m:sheetPr/m:pageSetUpPr", NS)
        cols = widths(xml)
        if fit is not None and fit.get("fitToPage") == "1":
            # the XML holds each width with its padding: 7 pixels a unit, at 96 to the inch
            shown = sum(w * 7 for w in cols.values()) * 25.4 / 96
            needed = PRINTABLE_MM / shown * 100 if cols else 100
            assert needed >= MIN_PRINT_SCALE, (name, sheet, needed)
        else:
            assert int(setup.get("scale", "100")) >= MIN_PRINT_SCALE, (name, sheet)
        if sheet not in ("Cover",):
            assert any(re.search(r"\$\d+:\$\d+", t) for t in titles), (name, sheet, titles)


@pytest.mark.parametrize("name", ["schedule", "cohort schedule", "report", "template",
                                  "statement"])
def test_no_table_heading_is_clipped(workbooks, name):
    for sheet, (xml, _) in sheets(workbooks[name]).items():
        cols = widths(xml)
        for table_row in xml.iterfind("m:sheetData/m:row", NS):
            cells = table_row.findall("m:c", NS)
            styled = [c for c in cells if c.get("s") is not None and text_of(xml, c)]
            # a table's heading row: a run of text cells across the table
            if len(styled) < 3 or not table_row.get("customHeight"):
                continue
            height = float(table_row.get("ht"))
            for c in styled:
                width = cols.get(column_index(c.get("r")), 8.43)
                lines = len(textwrap.wrap(text_of(xml, c), max(int(width) - 1, 4)))
                assert height >= 15 * lines, (name, sheet, text_of(xml, c), width, height)


def test_the_banner_fill_runs_under_its_text(workbooks):
    xml, _ = sheets(workbooks["schedule"])["Summary"]
    banner_row = next(r for r in xml.iterfind("m:sheetData/m:row", NS) if r.get("r") == "3")
    cells = banner_row.findall("m:c", NS)
    assert "SHADOW PAYMENT" in text_of(xml, cells[0])
    assert len({c.get("s") for c in cells}) == 1 and len(cells) >= 8


def test_the_template_prints_each_code_beside_its_meaning(workbooks):
    xml, titles = sheets(workbooks["template"])["Codes"]
    fit = xml.find("m:sheetPr/m:pageSetUpPr", NS)
    assert fit is not None and fit.get("fitToPage") == "1"
    assert xml.find("m:pageSetup", NS).get("fitToWidth", "1") == "1"
    assert "Codes!$1:$1" in titles


def test_the_review_chart_shows_variance_sorted_with_flagged_providers_marked(workbooks):
    """The report's Variance sheet: providers sorted from the largest loss, in % with the £
    beside, flagged ones named so and drawn in vermillion (the others blue)."""
    import openpyxl

    book = openpyxl.load_workbook(workbooks["report"], read_only=True)
    rows = [r for r in book["Variance"].iter_rows(values_only=True) if r and r[0]]
    head = next(i for i, r in enumerate(rows) if r[0] == "Provider")
    data = rows[head + 1:]
    shares = [r[3] for r in data]
    assert shares == sorted(shares) and len(data) == 24
    flagged = [r[0] for r in data if r[4] == "flagged"]
    assert flagged == ["P23 (flagged)", "P17 (flagged)", "P15 (flagged)", "P19 (flagged)",
                       "P01 (flagged)"]
    with zipfile.ZipFile(workbooks["report"]) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    variance = next(c for c in charts if "Variance against block contract" in c)
    points = re.findall(r"<c:dPt>.*?</c:dPt>", variance, flags=re.S)
    assert len(points) == 24
    colours = [re.search(r'<a:srgbClr val="([0-9A-F]{6})"', p).group(1) for p in points]
    assert colours == ["D55E00"] * 5 + ["0072B2"] * 19
