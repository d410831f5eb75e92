"""Statements for every provider of a month, written cheaply: the typeface parsed once in a
process and shared by every PDF (pbr_cli/outputs/typeface.py), and many statements written
in worker processes. The files are the same bytes as a PDF with its own parse of the
typeface, and as statements written one at a time, listed in the same order."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pbr_cli.outputs import statement_pdf, typeface
from tests.conftest import ROOT


def _schedule(model: str, month: str):
    from pbr_cli.cycle.calculate import run_calculation
    from pbr_cli.cycle.scheme import Scheme
    from pbr_cli.pricing.records import Standing, State

    scheme = Scheme.named(None, model)
    calc = run_calculation(scheme, month, dry_run=True)

    calc.schedule.standing = Standing(State.NOT_RECORDED)
    return calc.schedule, scheme.register


def _own_parse(pdf, family, style, path):
    pdf.add_font(family, style, str(path))  # fpdf2's own: a parse for each document


@pytest.mark.parametrize(("model", "month"), [("wigan-cohort", "2013-06"),
                                              ("birmingham-90-10", "2013-06")])
def test_a_shared_typeface_gives_the_bytes_of_its_own_parse(tmp_path, monkeypatch, model,
                                                            month):
    """Every provider's PDF, written one after another in one process, so that the second
    and later reuse the typeface and the widths the first measured, is byte for byte the PDF
    written with fpdf2 parsing the typeface for that document alone."""
    from fpdf.fonts import TTFFont

    from pbr_cli.reporting.statements import provider_statement

    schedule, register = _schedule(model, month)
    codes = [p.provider for p in schedule.providers]
    assert len(codes) >= 2
    monkeypatch.setattr(typeface, "_PARSED", {})
    monkeypatch.setattr(typeface, "_WIDTHS", {})
    parses = []
    plain_init = TTFFont.__init__

    def counted(self, *args, **kwargs):
        parses.append(args[2] if len(args) > 2 else "")
        plain_init(self, *args, **kwargs)

    monkeypatch.setattr(TTFFont, "__init__", counted)
    shared = {}
    for round_ in range(2):  # twice over: the widths kept from the first round are used
        for code in codes:
            mine = provider_statement(schedule, register, code)
            target = tmp_path / f"shared-{round_}-{code}.pdf"
            shared[(round_, code)] = statement_pdf.write_statement_pdf(mine, target).read_bytes()
    assert len(parses) == 2  # the regular and the bold, once each for 2 x len(codes) PDFs
    assert typeface._WIDTHS  # widths were kept

    monkeypatch.setattr(statement_pdf, "add_typeface", _own_parse)
    for code in codes:
        mine = provider_statement(schedule, register, code)
        own = statement_pdf.write_statement_pdf(mine, tmp_path / f"own-{code}.pdf").read_bytes()
        assert own.startswith(b"%PDF")
        assert shared[(0, code)] == own, code
        assert shared[(1, code)] == own, code
    assert len(parses) == 2 + 2 * len(codes)


def test_statements_written_in_workers_are_those_written_one_at_a_time(tmp_path, monkeypatch):
    """Ten providers' statements (more than PARALLEL_FROM) in two worker processes: the same
    files, byte for byte, listed in the same order, as one at a time in pbr's process."""
    from pbr_cli import workers
    from pbr_cli.jobs import statements

    schedule, register = _schedule("troubled-families", "2013-06")
    codes = [p.provider for p in schedule.providers]
    many = (codes * 10)[:statements.PARALLEL_FROM + 2]  # a provider may be asked again
    pools = []

    class Counted(workers.Workers):
        def __init__(self, *args, **kwargs):
            pools.append(args[2])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(workers, "Workers", Counted)
    monkeypatch.setenv("PBR_WORKERS", "1")
    one = statements.write_statements(schedule, register, tmp_path / "one", many)
    assert pools == []
    monkeypatch.setenv("PBR_WORKERS", "2")
    two = statements.write_statements(schedule, register, tmp_path / "two", many)
    assert pools == [2]
    assert [c for c, _, _ in two] == [c for c, _, _ in one] == many
    for (_, x1, p1), (_, x2, p2) in zip(one, two, strict=True):
        assert x2.parent == tmp_path / "two" and x1.name == x2.name and p1.name == p2.name
        assert x1.read_bytes() == x2.read_bytes()
        assert p1.read_bytes() == p2.read_bytes()


def test_pbr_statements_in_workers_writes_what_one_process_writes(tmp_path):
    """`pbr statements` as a user runs it, with one worker and with two: the same files and
    the same listing."""
    made = {}
    for count in ("1", "2"):
        out = tmp_path / count
        env = dict(os.environ, PBR_WORKERS=count, PBR_CACHE="off")
        proc = subprocess.run(
            [sys.executable, "-m", "pbr_cli", "statements", "-m", "wigan-cohort", "-p",
             "2013-06", "-o", str(out), "--json"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        listing = json.loads(proc.stdout)
        made[count] = (json.dumps(listing).replace(str(out), "OUT"),
                       {p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert made["1"][0] == made["2"][0]
    assert made["1"][1] == made["2"][1]
    assert len(made["1"][1]) == 10  # five providers, a workbook and a PDF each


def test_a_statement_whose_worker_dies_is_named_and_stops_the_command(tmp_path, monkeypatch):
    """A worker that ends while writing a provider's statement (given once more to a fresh
    worker, which ends too): pbr stops with `statement-lost`, naming the provider and how
    its worker ended, never a traceback or a missing statement passed over."""
    from pbr_cli.errors import PbrError
    from pbr_cli.jobs import statements

    schedule, register = _schedule("troubled-families", "2013-06")
    codes = [p.provider for p in schedule.providers]
    many = (codes * 10)[:statements.PARALLEL_FROM + 2]
    doomed = many[-1]
    real = statements._write_one

    def ends(code):
        if code == doomed:
            os._exit(3)
        return real(code)

    monkeypatch.setattr(statements, "_write_one", ends)
    monkeypatch.setenv("PBR_WORKERS", "2")
    with pytest.raises(PbrError) as raised:
        statements.write_statements(schedule, register, tmp_path, many)
    assert raised.value.code == "statement-lost"
    assert f"the statement for {doomed} could not be written" in str(raised.value)
    assert "exit code 3" in str(raised.value)


def _text_pdf(texts, add):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(statement_pdf.FIXED)
    add(pdf, "DejaVu", "", statement_pdf.FONTS / "DejaVuSans.ttf")
    add(pdf, "DejaVu", "B", statement_pdf.FONTS / "DejaVuSans-Bold.ttf")
    pdf.add_page()
    for i, text in enumerate(texts):
        pdf.set_font("DejaVu", "B" if i % 2 else "", 9)
        pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
    return pdf


def test_a_font_cut_from_the_common_cut_is_the_cut_of_the_whole_file(tmp_path, monkeypatch):
    """40 documents of random text (in the regular and the bold, each a random share of the
    common characters, some with a character beyond them: Greek, Cyrillic, CJK that DejaVu
    lacks): the PDF written by write_pdf, its fonts cut from the common cut where they can
    be, is byte for byte the PDF of fpdf2's own parse and cut of the whole file. Most of the
    documents were cut from the common cut."""
    import random

    from fontTools import ttLib

    rng = random.Random(20261206)
    monkeypatch.setattr(typeface, "_PARSED", {})
    monkeypatch.setattr(typeface, "_WIDTHS", {})
    monkeypatch.setattr(typeface, "_COMMON_CUT", {})
    monkeypatch.setattr(typeface, "_WRITTEN", typeface.COMMON_FROM)  # each from the common cut
    cmap = ttLib.TTFont(statement_pdf.FONTS / "DejaVuSans.ttf").getBestCmap()
    common = [chr(c) for lo, hi in typeface.COMMON for c in range(max(lo, 0x20), hi) if c in cmap]
    inside = {c for lo, hi in typeface.COMMON for c in range(lo, hi)}
    beyond = ["Ω", "Ж", "ש", "中", "ﬁ"]  # (DejaVu has no 中: a missing glyph, not a glyph)
    cuts = []
    real = typeface._font_file

    def noted(parsed, data, number):
        cuts.append(any(data is cut for cut, _ in typeface._COMMON_CUT.values()))
        return real(parsed, data, number)

    monkeypatch.setattr(typeface, "_font_file", noted)
    expected = 0
    for n in range(40):
        share = rng.sample(common, rng.randint(1, 120))
        texts = ["".join(rng.choice(share) for _ in range(rng.randint(1, 120)))
                 for _ in range(rng.randint(1, 4))]
        if n % 5 == 0:
            texts.append(rng.choice(beyond) + texts[0])
        for style in (0, 1):  # a typeface is cut from the common cut if its text is inside
            text = "".join(t for i, t in enumerate(texts) if i % 2 == style)
            expected += all(ord(c) in inside or ord(c) not in cmap for c in text)
        ours = tmp_path / f"ours-{n}.pdf"
        typeface.write_pdf(_text_pdf(texts, typeface.add_typeface), ours)
        own = tmp_path / f"own-{n}.pdf"
        _text_pdf(texts, _own_parse).output(str(own))
        assert ours.read_bytes() == own.read_bytes(), texts
    assert cuts.count(True) == expected
    assert 64 <= expected < 80  # the 32 documents within COMMON, both typefaces; some others


def test_a_statement_worker_ended_by_ctrl_c_halfway_leaves_no_half_made_file(tmp_path,
                                                                             monkeypatch):
    """Ctrl-C reaches every process of the terminal's group: a worker ended by it halfway
    through a provider's workbook left the workbook's temporary file and its private parts
    folder in the statements folder. pbr removes what its ended workers left there."""
    import signal

    from pbr_cli.errors import PbrError
    from pbr_cli.jobs import statements
    from pbr_cli.outputs import schedule as schedule_writer
    from pbr_cli.outputs.xlsx import made_workbook

    schedule, register = _schedule("troubled-families", "2013-06")
    codes = [p.provider for p in schedule.providers]
    many = (codes * 10)[:statements.PARALLEL_FROM + 2]
    doomed = many[-1]
    real = schedule_writer.render_schedule

    def halfway(s, path, what="payment schedule", evidence_file=None):
        if s.providers[0].provider == doomed:
            with made_workbook(path, "half") as wb:
                wb.add_worksheet("Half")
                os.kill(os.getpid(), signal.SIGINT)
        return real(s, path, what, evidence_file)

    monkeypatch.setattr(schedule_writer, "render_schedule", halfway)
    monkeypatch.setenv("PBR_WORKERS", "2")
    with pytest.raises(PbrError) as raised:
        statements.write_statements(schedule, register, tmp_path, many)
    assert raised.value.code == "statement-lost"
    assert "SIGINT" in str(raised.value)
    left = [p.name for p in tmp_path.rglob("*") if p.name.endswith(".tmp") or
            p.name == ".pbr-tmp"]
    assert left == []
