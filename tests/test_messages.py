"""What pbr says about a return it cannot use: the file, the sheet and the cell, in the words
of the return (a tag not closed, a Cover sheet renamed, a duration too long), never a
library's. Each return here is a shipped sample with its XML edited by hand, checked by
`pbr validate --json` (in the test's process, an exception of pbr's failing the test) or, for
what a person reads on the console, by `pbr` run as a user runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

import pytest

from tests.conftest import pbr_in_process
from tests.message_sweep import messages, names_a_library, write_mutants

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_returns" / "birmingham-90-10"
SAMPLE = SAMPLES / "2013-06" / "P03-2013-06.xlsx"
COVER, UTILISATION, OUTCOMES, STYLES = ("xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml",
                                        "xl/worksheets/sheet3.xml", "xl/styles.xml")
E2 = b'<c r="E2" s="5"><v>26</v></c>'  # Utilisation: S007's void unit-days


def edited(path: Path, changes: dict[str, list[tuple[bytes, bytes]]],
           source: Path = SAMPLE) -> Path:
    """A copy of the shipped return at `path`, each part's text replaced as given."""
    src = zipfile.ZipFile(source)
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            for old, new in changes.get(info.filename, []):
                assert old in body, (info.filename, old)
                body = body.replace(old, new, 1)
            dst.writestr(info.filename, body)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())
    return path


def pbr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pbr_cli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)


def problems(path: Path) -> list[dict]:
    done = pbr_in_process("validate", str(path), "--model", "birmingham-90-10", "--json",
                          cwd=ROOT)
    assert "Traceback" not in done.stderr, done.stderr
    return [p for f in json.loads(done.stdout)["files"] for p in f["problems"]]


def errors(path: Path) -> list[tuple[str, str | None, str]]:
    return [(p["code"], p["cell"], p["message"]) for p in problems(path)
            if p["severity"] in ("fatal", "error")]


# -- a Cover sheet renamed ----------------------------------------------------------------

def test_calculate_names_the_return_whose_cover_sheet_was_renamed(tmp_path):
    returns = tmp_path / "returns"
    shutil.copytree(SAMPLES, returns)
    renamed = edited(returns / "2013-06" / "P03-2013-06.xlsx",
                     {"xl/workbook.xml": [(b'name="Cover"', b'name="Front page"')]})
    args = ("calculate", "--model", "birmingham-90-10", "--period", "2013-06", "--returns",
            str(returns), "--dry-run")
    shown = pbr(*args)
    assert shown.returncode == 1, shown.stderr
    # what a person reads: the file, and that its Cover sheet is not there
    said = shown.stdout + shown.stderr
    line = next(ln for ln in said.splitlines() if "P03-2013-06.xlsx" in ln)
    assert "Cover" in line and "Front page" in line, said
    found = json.loads(pbr(*args, "--json").stdout)["problems"]
    mine = [p for p in found if p["file"] == str(renamed)]
    assert [p["code"] for p in mine] == ["missing-cover"], found
    assert "'Front page'" in mine[0]["message"] and "renamed" in mine[0]["message"]


def test_validate_says_which_sheets_a_return_without_a_cover_has(tmp_path):
    path = edited(tmp_path / "P03-2013-06.xlsx",
                  {"xl/workbook.xml": [(b'name="Cover"', b'name="Front page"')]})
    [(code, cell, message)] = errors(path)
    assert code == "missing-cover" and cell is None
    assert "'Front page'" in message and "renamed" in message, message


# -- damage in plain words ----------------------------------------------------------------

def test_a_tag_not_closed_is_said_with_its_sheet_and_line(tmp_path):
    path = edited(tmp_path / "P03-2013-06.xlsx", {UTILISATION: [
        (b'<c r="D2" s="8"><v>10</v></c>', b'<c r="D2" s="8"><v>10</c>')]})
    [(code, cell, message)] = errors(path)
    if code == "required-missing":
        # The lowest reader pbr allows (python-calamine 0.5) reads past the damage and finds
        # the cell after it (E2) empty: refused on that cell, never paid on what the damage
        # hides.
        assert cell == "Utilisation!E2" and not names_a_library(message), (cell, message)
        return
    assert code == "corrupt-workbook"
    assert "the sheet 'Utilisation'" in message and "line 2" in message, message
    assert "not closed" in message and not names_a_library(message), message


def test_a_cell_of_a_type_excel_never_writes_is_named(tmp_path):
    path = edited(tmp_path / "P03-2013-06.xlsx", {UTILISATION: [
        (b'<c r="D2" s="8"><v>10</v></c>', b'<c r="D2" s="8" t="zz"><v>10</v></c>')]})
    [(code, _, message)] = errors(path)
    assert code == "corrupt-workbook" and "D2" in message and 't="zz"' in message, message
    assert not names_a_library(message), message


def test_a_damaged_workbook_part_is_said_in_plain_words(tmp_path):
    path = edited(tmp_path / "P03-2013-06.xlsx", {"xl/workbook.xml": [
        (b"</sheets>", b"</sheet>")]})
    [(code, _, message)] = errors(path)
    assert code == "corrupt-workbook" and "xl/workbook.xml" in message, message
    assert "line" in message and not names_a_library(message), message


def test_mutated_returns_are_refused_in_the_files_words_never_a_librarys(tmp_path):
    """Sixty mutants (cut short, tags lost, stray characters, cells retyped, formulas added,
    zip bytes flipped): whatever is wrong, no message names an exception, a module or a
    library (before: 8 of 35 distinct messages in a 300-mutant sweep did)."""
    write_mutants(tmp_path, 60, 38)
    found = messages(tmp_path)
    assert len(found) > 60
    bad = sorted({p["message"] for p in found if names_a_library(p["message"])})
    assert not bad, bad


# -- zip bombs and damaged zips -------------------------------------------------------------

def test_a_truncated_workbook_is_damaged_not_a_zip_bomb(tmp_path):
    path = tmp_path / "P03-2013-06.xlsx"
    path.write_bytes(SAMPLE.read_bytes()[:5000])
    [(code, _, message)] = errors(path)
    assert code == "corrupt-workbook" and "not a complete workbook" in message, message
    assert "bomb" not in message and not names_a_library(message), message


def test_a_size_a_little_wrong_is_damage_not_a_zip_bomb(tmp_path):
    """A part whose header says it is a few bytes shorter than it is: damaged, not hostile
    (a real bomb unpacks to far more than it says: test_hostile.py)."""
    data = bytearray(SAMPLE.read_bytes())
    info = zipfile.ZipFile(BytesIO(bytes(data))).getinfo("xl/styles.xml")
    central = data.find(b"xl/styles.xml", data.find(b"PK\x01\x02")) - 46
    for size_at in (info.header_offset + 22, central + 24):
        data[size_at:size_at + 4] = (info.file_size - 10).to_bytes(4, "little")
    path = tmp_path / "P03-2013-06.xlsx"
    path.write_bytes(bytes(data))
    [(code, _, message)] = errors(path)
    assert code == "corrupt-workbook" and "bomb" not in message, message
    assert "xl/styles.xml" in message and "not a complete workbook" in message, message


# -- a duration too long -----------------------------------------------------------------

def test_a_duration_beyond_any_return_is_an_error_on_its_cell(tmp_path):
    """1E+10 in a cell formatted [h]:mm:ss (built-in format 46) is 10^10 days: no duration a
    return holds. Before: the whole file was corrupt-workbook, naming no cell."""
    path = edited(tmp_path / "P03-2013-06.xlsx", {
        STYLES: [(b'cellXfs count="10"', b'cellXfs count="11"'),
                 (b"</cellXfs>", b'<xf numFmtId="46" fontId="0" fillId="0" borderId="0" '
                                 b'xfId="0" applyNumberFormat="1"/></cellXfs>')],
        UTILISATION: [(E2, b'<c r="E2" s="10"><v>1E+10</v></c>')]})
    found = errors(path)
    assert [(code, cell) for code, cell, _ in found] == [("duration-too-long",
                                                          "Utilisation!E2")], found
    assert "duration" in found[0][2] and "beyond" in found[0][2], found


# -- columns of cells written without a reference ---------------------------------------------

def test_cells_without_a_reference_count_towards_the_column_limit(tmp_path):
    """A cell without r= is in the column after the cell before it (the first of a row in
    column A): 201 of them reach column 201, past the limit of 200."""
    cells = b"<c><v>1</v></c>" * 201
    path = edited(tmp_path / "P03-2013-06.xlsx", {UTILISATION: [
        (b"</row></sheetData>", b'</row><row r="4">' + cells + b"</row></sheetData>")]})
    [(code, _, message)] = errors(path)
    assert code == "workbook-too-large" and "column 201" in message, message


def test_cells_after_a_referenced_cell_follow_it(tmp_path):
    """<c r="F4"/> then 195 cells without r=: the last is in column 6 + 195 = 201."""
    cells = b'<c r="F4"><v>1</v></c>' + b"<c><v>1</v></c>" * 195
    path = edited(tmp_path / "P03-2013-06.xlsx", {UTILISATION: [
        (b"</row></sheetData>", b'</row><row r="4">' + cells + b"</row></sheetData>")]})
    [(code, _, message)] = errors(path)
    assert code == "workbook-too-large" and "column 201" in message, message


# -- formulas ---------------------------------------------------------------------------------

@pytest.mark.parametrize("formula, saved", [
    (b'"S003-"&amp;"0601"', b"S003-0601"),  # text joined: what the cell shows
])
def test_a_text_formula_giving_what_it_shows_is_read(tmp_path, formula, saved):
    path = edited(tmp_path / "P03-2013-06.xlsx", {OUTCOMES: [
        (b'<c r="B2" s="5" t="s"><v>42</v></c>',
         b'<c r="B2" s="5" t="str"><f>' + formula + b"</f><v>" + saved + b"</v></c>")]})
    assert errors(path) == []


@pytest.mark.parametrize("formula, saved", [
    (b"D2+16", b"26"),  # 10 + 16
    (b"SUM(D2:D3)-14", b"26"),  # 10 + 30 - 14
    (b"D3*2/3+6", b"26"),  # 30 * 2 / 3 + 6
])
def test_a_formula_whose_saved_value_is_what_it_gives_is_read(tmp_path, formula, saved):
    path = edited(tmp_path / "P03-2013-06.xlsx", {UTILISATION: [
        (E2, b'<c r="E2" s="5"><f>' + formula + b"</f><v>" + saved + b"</v></c>")]})
    assert errors(path) == []


def test_a_formula_whose_saved_value_is_not_what_it_gives_is_an_error_on_its_cell(tmp_path):
    path = edited(tmp_path / "P03-2013-06.xlsx", {UTILISATION: [
        (E2, b'<c r="E2" s="5"><f>D2+16</f><v>27</v></c>')]})
    [(code, cell, message)] = errors(path)
    assert (code, cell) == ("formula-in-input", "Utilisation!E2")
    assert "26" in message and "27" in message, message


def test_an_external_link_is_an_error_on_its_cell_saying_so(tmp_path):
    path = edited(tmp_path / "P03-2013-06.xlsx", {UTILISATION: [
        (E2, b'<c r="E2" s="5"><f>[1]Sheet1!A1</f><v>26</v></c>')]})
    [(code, cell, message)] = errors(path)
    assert (code, cell) == ("formula-in-input", "Utilisation!E2")
    assert "[1]Sheet1!A1" in message and "another workbook" in message, message
    assert "type the value" in message, message


def test_a_formula_cell_written_without_a_reference_is_judged_where_it_stands(tmp_path):
    """<c> without r= after D2 is E2: its formula (1+1 saved as 3) is found there."""
    path = edited(tmp_path / "P03-2013-06.xlsx", {UTILISATION: [
        (E2, b'<c s="5"><f>1+1</f><v>3</v></c>')]})
    [(code, cell, message)] = errors(path)
    assert (code, cell) == ("formula-in-input", "Utilisation!E2") and "gives 2" in message


def test_a_size_field_damaged_in_the_list_of_parts_is_not_a_zip_bomb(tmp_path):
    """The list of parts says xl/styles.xml unpacks to 2 GiB, the part's own header says
    3,061 bytes: one damaged field, not a bomb (a bomb's two sizes agree)."""
    data = bytearray(SAMPLE.read_bytes())
    central = data.find(b"xl/styles.xml", data.find(b"PK\x01\x02")) - 46
    data[central + 24:central + 28] = (2**31).to_bytes(4, "little")
    path = tmp_path / "P03-2013-06.xlsx"
    path.write_bytes(bytes(data))
    [(code, _, message)] = errors(path)
    assert code == "corrupt-workbook" and "bomb" not in message, message
    assert "two different sizes" in message, message
