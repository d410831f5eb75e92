"""Pages people read: a schedule printed whole (notes wrapped, names and codes never cut,
headings of a sensible height, a 5-provider cohort month on a reasonable number of pages), a
statement whose figures are columns and whose statuses and cap are explained, a report that
says each rate once, and the README's pictures made by this version from approved months.

The workbooks are read from their XML (the widths, heights and wrapping a spreadsheet prints
by); where LibreOffice is installed the schedule is printed too and its pages read."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import textwrap
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from typer.testing import CliRunner

from pbr_cli import __version__
from pbr_cli.cli.app import app
from pbr_cli.outputs.table_fit import fit_columns, lines_in, pages_across
from tests.conftest import ROOT
from tests.test_print import NS, column_index, sheets, text_of, widths

runner = CliRunner()
IMAGES = ROOT / "docs" / "images"
NO_OFFICE = shutil.which("soffice") is None or shutil.which("pdftotext") is None


def calculate(model: str, month: str, out: Path) -> Path:
    """The schedule as the README's command makes it, in the project's folder (the returns
    named by their path from there, as the Evidence's Source file shows them)."""
    import os

    here = os.getcwd()
    os.chdir(ROOT)
    try:
        result = runner.invoke(app, ["calculate", "-m", model, "-p", month, "--returns",
                                     f"sample_returns/{model}", "-o", str(out)])
    finally:
        os.chdir(here)
    assert result.exit_code in (0, 1), result.output
    return out


@pytest.fixture(scope="module")
def schedules(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pages")
    return {"tr": calculate("transforming-rehabilitation", "2017-10", out / "tr.xlsx"),
            "wigan": calculate("wigan-cohort", "2013-06", out / "wigan.xlsx")}


def cells(xml) -> list[tuple[int, int, str, str | None]]:
    """(row, column, text, style) of every text cell of a sheet, rows from 1."""
    out = []
    for row in xml.iterfind("m:sheetData/m:row", NS):
        for c in row.findall("m:c", NS):
            if c.get("t") == "s":
                out.append((int(row.get("r")), column_index(c.get("r")), text_of(xml, c),
                            c.get("s")))
    return out


def wrapping_styles(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as z:
        styles = z.read("xl/styles.xml").decode()
    xfs = re.search(r"<cellXfs[^>]*>(.*?)</cellXfs>", styles, flags=re.S).group(1)
    found = re.findall(r"<xf [^>]*?(?:/>|>.*?</xf>)", xfs, flags=re.S)
    return {str(i) for i, xf in enumerate(found) if 'wrapText="1"' in xf}


@pytest.mark.parametrize("name", ["tr", "wigan"])
def test_no_text_in_a_table_is_cut_at_its_column(schedules, name):
    """Every text in a table (row 5 on) either fits its column on one line, or wraps in a
    row tall enough for all its lines (a line of 11-point text takes 15 points); no word is
    wider than its column. Widths in the XML carry 0.71 of padding."""
    path = schedules[name]
    wraps = wrapping_styles(path)
    checked = 0
    for sheet, (xml, _) in sheets(path).items():
        if sheet == "About":
            continue
        cols = widths(xml)
        heights = {int(r.get("r")): float(r.get("ht")) for r in
                   xml.iterfind("m:sheetData/m:row", NS) if r.get("ht")}
        numbers = sorted({int(r.get("r")) for r in xml.iterfind("m:sheetData/m:row", NS)})
        table = {n for i, n in enumerate(numbers) if n > 5 and  # the rows under the heading
                 all(numbers[k] + 1 == numbers[k + 1] for k in range(numbers.index(6), i))}
        for row, col, text, style in cells(xml):
            if row not in table or not text:
                continue
            width = cols[col] - 0.71
            words = max(len(w) for w in text.replace("/", "/ ").split())
            assert words + 2 <= width + 0.05, (sheet, row, col, text, width)
            if len(text) + 2 > width + 0.05:  # longer than its column: it wraps, whole
                assert style in wraps, (sheet, row, col, text, width)
                assert heights.get(row, 15) >= 15 * lines_in(text, width), (sheet, row, text)
            checked += 1
    assert checked > 100


def test_the_summary_note_wraps_inside_the_page(schedules):
    """Transforming Rehabilitation, October 2017: the Summary's Note (148 characters for
    CRC02) wraps in its column, its row as tall as its lines, the sheet one page wide."""
    xml, _ = sheets(schedules["tr"])["Summary"]
    note = next(c for r, c, t, _ in cells(xml) if t == "Note")
    texts = [(r, t) for r, c, t, _ in cells(xml) if c == note and r > 5 and t]
    assert texts and all(len(t) > 100 for _, t in texts)
    width = widths(xml)[note] - 0.71
    heights = {int(r.get("r")): float(r.get("ht") or 15)
               for r in xml.iterfind("m:sheetData/m:row", NS)}
    for row, text in texts:
        assert heights[row] >= 15 * len(textwrap.wrap(text, int(width) - 2))
    assert xml.find("m:sheetPr/m:pageSetUpPr", NS).get("fitToPage") == "1"


@pytest.mark.parametrize(("name", "sheet", "tallest"), [
    ("tr", "Lines", 48), ("wigan", "Lines", 48), ("wigan", "Evidence", 48)])
def test_a_heading_row_takes_three_lines_at_most(schedules, name, sheet, tallest):
    """The Lines heading row was 93 points (six lines) for Transforming Rehabilitation's
    long figure names: now each heading wraps to three lines at most (15 points a line and
    3 over: 48)."""
    xml, _ = sheets(schedules[name])[sheet]
    head = next(r for r in xml.iterfind("m:sheetData/m:row", NS) if r.get("r") == "5")
    assert float(head.get("ht")) <= tallest


def test_widths_worked_by_hand():
    """Three columns: a code, an amount, a name. The code "CRC01-2015Q4" (12 characters)
    needs 12 + 2 = 14 units; the amount £1,960,000.00 (13) needs 15; the heading
    "Provider name" needs its longest word, "Provider" (8 characters, bold: 8 x 1.1 + 2 =
    10.8); the name "Northern Fells CRC" (18) is allowed 10 characters (10 + 2 = 12) but
    never less than its longest word ("Northern", 8 + 2 = 10) nor 14: it gets 14 and wraps
    (2 lines: "Northern Fells" / "CRC" at 12 characters a line)."""
    from decimal import Decimal

    got, wraps = fit_columns(["Entry ID", "Amount", "Provider name"],
                             [["CRC01-2015Q4", Decimal("1960000.00"), "Northern Fells CRC"]],
                             ["text", "money", "text"], [40, 40, 10], 1)
    assert got == [14.0, 15.0, 14.0]
    assert wraps == [False, False, True]
    assert lines_in("Northern Fells CRC", 14.0) == 2
    # 30 columns of 20 units print over pages across; one of 20 on a page
    assert pages_across([20.0], 1) == 1 and pages_across([20.0] * 30, 1) > 1


def test_the_component_and_entry_names_are_whole(schedules):
    wigan = {t for _, _, t, _ in cells(sheets(schedules["wigan"])["Lines"][0])}
    assert "No re-presentation in 6 months" in wigan
    tr = {t for _, _, t, _ in cells(sheets(schedules["tr"])["Lines"][0])}
    assert "CRC01-2015Q4" in tr


def values(path: Path) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(path, read_only=True)
    return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in book}


def test_the_layout_changes_no_value(schedules, tmp_path):
    """The Lines sheet for Wigan read back cell by cell holds what the month's JSON says:
    every payment line's amount in the row of its contract and component."""
    data = json.loads(runner.invoke(app, ["calculate", "-m", "wigan-cohort", "-p", "2013-06",
                                          "--dry-run", "--json"]).stdout)
    rows = values(schedules["wigan"])["Lines"]
    head = rows.index(next(r for r in rows if r and r[0] == "Provider code"))
    amounts = sorted(str(round(r[rows[head].index("Amount")], 2)) for r in rows[head + 1:]
                     if r[rows[head].index("Kind")] == "PbR")
    expected = sorted(str(float(ln["amount"])) for p in data["providers"]
                      for ln in p["lines"] if ln["kind"] == "payment")
    assert [float(a) for a in amounts] == [float(e) for e in expected]


def printed_pages(path: Path) -> tuple[int, str]:
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir",
                    str(path.parent), str(path)], check=True, capture_output=True, timeout=300)
    pdf = path.with_suffix(".pdf")
    return (len(PdfReader(str(pdf)).pages),
            subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                           text=True, check=True).stdout)


@pytest.mark.skipif(NO_OFFICE, reason="LibreOffice (soffice) and pdftotext are needed to "
                    "print the schedule; the XML tests above hold without them")
def test_the_wigan_schedule_prints_on_a_reasonable_number_of_pages(schedules):
    """Five providers, June 2013: 28 pages before, 24 now; the P4 note and every component
    whole on the printed pages."""
    pages, text = printed_pages(schedules["wigan"])
    assert pages <= 24
    flat = " ".join(text.split())
    assert "the annual cap of £7,000.00 for 2013/14 is reached (£3,700.00 paid earlier in " \
        "the year); the events beyond it are reduced (see Evidence)" in flat
    assert "No re-presentation in 6 months" in text
    pages, text = printed_pages(schedules["tr"])
    assert "CRC01-2015Q4" in text
    assert "not a significant change, so no binary or frequency payment" in " ".join(
        text.split())


def test_the_statement_sets_figures_in_columns_and_explains_itself(tmp_path):
    """Wigan P4, June 2013: a table for each component, a column for each figure (no
    "Figures" column run on); Paid, Refused and Nil explained; the £500.00 the annual cap cut
    beside the total (the Evidence's "Reduced by cap" for P4: £125.00 + £150.00 + £225.00)."""
    result = runner.invoke(app, ["statements", "-m", "wigan-cohort", "-p", "2013-06",
                                 "--provider", "P4", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    pdf = tmp_path / "wigan-cohort-2013-06-P4-statement.pdf"
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(str(pdf)).pages).split())
    assert "Figures" not in text
    assert "Contract Kind Amount Achieved in window Cohort in window Proportion" in text
    for word in ("Paid —", "Refused —", "Nil —"):
        assert word in text
    assert "Cut by the cap or maximum (not paid: already taken off the PbR total) -£500.00" \
        in text
    evidence = [r for r in values(tmp_path / "wigan-cohort-2013-06-P4-statement.xlsx")
                ["Evidence"]]
    head = next(r for r in evidence if r and r[0] == "Provider code")
    cut = sum(r[head.index("Amount")] is not None and (r[head.index("Price")] or 0)
              - r[head.index("Amount")] for r in evidence[evidence.index(head) + 1:]
              if r[0] == "P4" and r[head.index("Event")] != "New presentations"
              and "cap" in (r[head.index("Reason")] or ""))
    assert cut == 500


def test_the_report_says_each_rate_once(tmp_path):
    """Wigan 2013-Q2: the Rates sheet has Apr, May and Jun 2013, and not a "Rolling 12
    months to 2013-06" column repeating June's; its note says the period's rate is June's."""
    out = tmp_path / "r.xlsx"
    result = runner.invoke(app, ["report", "-m", "wigan-cohort", "-p", "2013-Q2", "--returns",
                                 str(ROOT / "sample_returns" / "wigan-cohort"), "-o", str(out)])
    assert result.exit_code in (0, 1), result.output
    rows = values(out)["Rates"]
    head = next(r for r in rows if r and r[0] == "Rate")
    assert list(head) == ["Rate", "Provider", "Apr 2013", "May 2013", "Jun 2013"]
    notes = " ".join(str(r[0]) for r in rows if r and r[0] and r[1] is None)
    assert "The period's rate (rolling 12 months to 2013-06) is Jun 2013's." in notes


def test_the_pictures_were_made_by_this_version_from_approved_months():
    """docs/images/pictures.json, written by docs/make_pictures.py with the pictures: this
    version made them; each picture is the file it describes; the schedule and statement
    are of approved months (no WHAT-IF, no draft) and the README says so; the chart's words
    are the README's."""
    manifest = json.loads((IMAGES / "pictures.json").read_text(encoding="utf-8"))
    assert manifest["version"] == __version__, "run python docs/make_pictures.py"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, made in manifest["pictures"].items():
        assert hashlib.sha256((IMAGES / name).read_bytes()).hexdigest() == made["sha256"]
        assert f"docs/images/{name}" in readme
        assert "WHAT-IF" not in made["words"] and "DRAFT" not in made["words"]
    for name in ("schedule.png", "statement.png"):
        made = manifest["pictures"][name]
        assert made["standing"] == "APPROVED" and "APPROVED" in made["words"], name
        assert made["month"] == "2013-06"
    schedule = manifest["pictures"]["schedule.png"]["words"]
    assert "service F010: No outcomes were assessed in 2013-04-01 to 2013-06-30: the " \
        "outcome factor is 0." in schedule  # the note whole, not cut at the page edge
    assert "(June 2013, the 90/10 pilot's samples, approved)" in readme
    assert "(Troubled Families, LA1, June 2013, approved)" in readme
    chart = manifest["pictures"]["review-chart.png"]["words"]
    assert "flagged in vermillion" in chart and "flagged providers in vermillion" in readme
    assert "orange" not in chart and "£ beside" not in chart
    assert "Made by pbr " + __version__ in manifest["pictures"]["statement.png"]["words"]


@settings(max_examples=400, deadline=None)
@given(piece=st.text(st.sampled_from("ab /\t\n\r\x0b\x0c-é"), max_size=60),
       repeat=st.sampled_from([1, 1, 2, 9, 12]),
       width=st.floats(min_value=0, max_value=40, allow_nan=False))
def test_the_lines_a_text_takes_are_those_textwrap_gives(piece, repeat, width):
    """However the count is quickened (a text is wrapped once, whatever column it is tried
    in; a text over 500 characters each time), it is what wrapping every line of the text
    plainly gives."""
    text = piece * repeat
    fits = max(int((width - 2) / 1.0 + 1e-6), 4)
    plain = sum(max(len(textwrap.wrap(part.replace("/", "/ "), fits)), 1)
                for part in text.split("\n"))
    assert lines_in(text, width, 1.0) == plain
    assert lines_in(text, width, 1.0) == plain  # and again, once it is remembered
