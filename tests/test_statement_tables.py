"""The statement PDF's tables, laid out by pbr (pbr_cli/outputs/pdf_table.py): every evidence
cell's value is in the PDF's text, row by row in the schedule's order; a cell too long for its
column wraps between words onto more lines, its row taller, no word cut; and the lines a cell
is broken into are the lines fpdf2's own text layout gives the same text in the same room."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from pypdf import PdfReader

from pbr_cli.outputs import statement_pdf
from pbr_cli.outputs.pdf_table import lines_in
from tests.conftest import ROOT


def pbr(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pbr_cli", *args], cwd=cwd,
                          capture_output=True, text=True, check=False)


def in_order(wanted: list[str], found: list[str]) -> list[str]:
    """The words of `wanted` not found in `found` in that order (empty when all are)."""
    at = 0
    for n, w in enumerate(wanted):
        while at < len(found) and found[at] != w:
            at += 1
        if at == len(found):
            return wanted[n:]
        at += 1
    return []


def test_a_statement_holds_every_evidence_cell_in_order(tmp_path):
    """P1 of wigan-cohort, June 2013 (42 evidence rows, over pages): each row's client, event,
    date, status, amount, reason and return row, as the statement's workbook has them (read
    back from its Evidence sheet), are words of the PDF's text in the workbook's order."""
    import openpyxl

    made = pbr("statements", "-m", "wigan-cohort", "-p", "2013-06", "--provider", "P1",
               "-o", str(tmp_path))
    assert made.returncode == 0, made.stderr
    sheet = openpyxl.load_workbook(tmp_path / "wigan-cohort-2013-06-P1-statement.xlsx",
                                   read_only=True)["Evidence"]
    table = list(sheet.iter_rows(values_only=True))
    head = next(r for r in table if r and r[0] == "Provider code")
    rows = [dict(zip(head, r, strict=True)) for r in table[table.index(head) + 1:] if r[0]]
    assert len(rows) == 42
    wanted = []
    for r in rows:
        amount = Decimal(str(r["Amount"])).quantize(Decimal("0.01"))  # as said: £1,234.50
        wanted += [r["Client ID"], *r["Event"].split(), r["Date"].date().isoformat(),
                   r["Status"], f"£{amount:,}" if amount >= 0 else f"-£{-amount:,}",
                   *r["Reason"].split(), Path(r["Source file"]).name, r["Source row"]]
    reader = PdfReader(str(tmp_path / "wigan-cohort-2013-06-P1-statement.pdf"))
    words = "\n".join(page.extract_text() for page in reader.pages).split()
    assert in_order(wanted, words) == []
    assert len(reader.pages) >= 3  # the evidence runs on over a page
    assert sum("Client" in page.extract_text() for page in reader.pages) >= 2  # heading again


def test_a_long_cell_wraps_between_words_and_its_row_grows(tmp_path):
    """One evidence row's reason made 40 words long: in its 88 mm column at 8 points it
    takes several lines, every word whole and in order; its row is taller than one line
    (8 x 0.55 = 4.4 mm, + 2 mm of padding), so the rows under it move down the page."""
    from pbr_cli.reporting.statements import provider_statement
    from tests.test_statements_at_scale import _schedule

    schedule, register = _schedule("wigan-cohort", "2013-06")
    mine = provider_statement(schedule, register, "P1")
    long = " ".join(f"word{n:02d}" for n in range(40))
    plain = statement_pdf.write_statement_pdf(mine, tmp_path / "plain.pdf")
    mine.evidence[0] = replace(mine.evidence[0], reason=long)
    wrapped = statement_pdf.write_statement_pdf(mine, tmp_path / "wrapped.pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(str(wrapped)).pages)
    assert in_order(long.split(), text.split()) == []
    lines = [ln for ln in text.splitlines() if "word" in ln]
    assert len(lines) >= 3, lines  # 40 words of 6 characters do not fit 86 mm in two lines
    assert all(w.startswith("word") and len(w) == 6 for ln in lines for w in ln.split()
               if "word" in w)  # no word cut

    def second_row_top(pdf: Path) -> float:
        """Where the second evidence row's client is drawn (points up from the page's foot)."""
        found = []
        for page in PdfReader(str(pdf)).pages:
            page.extract_text(visitor_text=lambda t, cm, tm, *_: found.append((t, tm[5])))
        return next(y for t, y in found if t.strip() == mine.evidence[1].client)

    assert second_row_top(plain) - second_row_top(wrapped) > 8  # two or more lines taller


class Even:
    """A typeface whose every character is 500 units wide (half an em)."""

    cw: dict[int, int] = defaultdict(lambda: 500)

    def get_text_width(self, text: str, size: float, _shaping) -> tuple[int, float]:
        return len(text), len(text) * 500 * size * 0.001


def test_lines_by_hand():
    """At 10 points a character of half an em is 5 points, 1.764 mm (k = 72 / 25.4 points to
    the mm): 5 characters (8.82 mm) fit in 10 mm, 6 (10.58 mm) do not."""
    k = 72 / 25.4
    assert lines_in("abc defgh ij", 10, Even(), 10, k) == ["abc", "defgh", "ij"]
    # "abc d" fits; "e" overflows: back to the space after "abc". "defgh" fits; the space
    # after it overflows and is dropped; "ij" is left.
    assert lines_in("abcdefghijkl", 10, Even(), 10, k) == ["abcde", "fghij", "kl"]
    # no space: the word is broken where it reaches the edge
    assert lines_in("abcde", 10, Even(), 10, k) == ["abcde"]  # exactly fits: one line
    assert lines_in("ab\ncd", 10, Even(), 10, k) == ["ab", "cd"]
    assert lines_in("", 10, Even(), 10, k) == [""]


def test_lines_are_those_fpdf2_would_break_the_text_into():
    """The oracle: fpdf2's own multi_cell, asked only for its lines, in a cell of the same
    width with the same 1 mm padding, in the statement's typeface — for 400 texts of words of
    every length (some longer than their column), in columns 12 to 90 mm wide, at 7 to 9
    points, plain and bold."""
    from fpdf import FPDF

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    statement_pdf.first_page(pdf, "lines")
    rnd = random.Random(42)
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789£%·—-/!.,"
    for n in range(400):
        text = " ".join("".join(rnd.choice(letters) for _ in range(rnd.choice(
            [1, 2, 3, 5, 8, 13, 30]))) for _ in range(rnd.randint(1, 12)))
        if n % 7 == 0:
            text = text.replace(" ", "  ", 1)  # two spaces running
        width, size, style = rnd.uniform(12, 90), rnd.choice([7, 8, 9]), rnd.choice(["", "B"])
        pdf.set_font("DejaVu", style, size)
        theirs = pdf.multi_cell(width, size * 0.55, text, dry_run=True, output="LINES",
                                padding=1)
        ours = lines_in(text, width - 2, pdf.fonts[f"dejavu{style}"], size, pdf.k)
        assert ours == theirs, (text, width, size, style)
