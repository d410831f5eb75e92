"""`pbr statements`: each provider's statement, as a workbook and a PDF. Nothing about any
other provider is anywhere in a statement's file — every part of the workbook's zip, the
PDF's text and metadata; the provider's own code, name and clients are there; the totals
agree to the penny with the month's schedule; the standing is the ledger's."""

from __future__ import annotations

import json
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from tests.conftest import ROOT

runner = CliRunner()
CASES = [("wigan-cohort", "2013-06"), ("troubled-families", "2013-06"),
         ("work-programme", "2013-05"), ("birmingham-90-10", "2013-06"),
         ("transforming-rehabilitation", "2017-10")]


def schedule_json(model: str, month: str) -> dict:
    result = runner.invoke(app, ["calculate", "-m", model, "-p", month, "--dry-run", "--json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def register_names(model: str) -> dict[str, str]:
    """provider code -> every name the register gives it (provider name, entry labels)."""
    import csv

    from pbr_cli.model import load_model

    spec = load_model(ROOT / "models" / f"{model}.yaml").register
    headers = {c.name: c.header for c in spec.columns}
    out: dict[str, set[str]] = {}
    with open(ROOT / "models" / f"{model}.register.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code = row[headers[spec.provider]]
            names = out.setdefault(code, set())
            for column in (spec.provider_name, spec.label):
                if column and row.get(headers[column]):
                    names.add(row[headers[column]])
    return {k: "|".join(sorted(v)) for k, v in out.items()}


CELLS = re.compile(r"^(\$?[A-Z]{1,3}\$?\d+(:\$?[A-Z]{1,3}\$?\d+)?\s*)+$")


def texts(xlsx: Path, pdf: Path) -> str:
    """Everything in both files a person or a program could read: every part of the
    workbook's zip (its name, every text and every attribute but cell addresses such as
    r="P5", which are not a provider P5), the PDF's text, metadata and bytes."""
    from xml.etree import ElementTree

    parts = []
    with zipfile.ZipFile(xlsx) as z:
        for name in z.namelist():
            parts.append(name)
            data = z.read(name)
            if not name.endswith((".xml", ".rels")):
                parts.append(data.decode("utf-8", errors="replace"))
                continue
            for node in ElementTree.fromstring(data).iter():
                parts += [node.text or "", node.tail or ""]
                parts += [v for v in node.attrib.values() if not CELLS.match(v)]
    reader = PdfReader(str(pdf))
    parts += [page.extract_text() for page in reader.pages]
    parts += [str(v) for v in (reader.metadata or {}).values()]
    # and every object of the PDF outside its (compressed, binary) streams: names, outlines,
    # annotations, the information dictionary
    parts.append(re.sub(r"stream\r?\n.*?endstream", "", pdf.read_bytes().decode("latin-1"),
                        flags=re.S))
    return "\n".join(parts)


def word(text: str) -> re.Pattern:
    return re.compile(r"(?<![\w])" + re.escape(text) + r"(?![\w])")


@pytest.mark.parametrize(("model", "month"), CASES)
def test_a_statement_holds_its_provider_and_nobody_else(tmp_path, model, month):
    data = schedule_json(model, month)
    providers = {p["provider"]: p for p in data["providers"]}
    if model == "birmingham-90-10":  # 24 providers: three of them are enough
        wanted = ["P01", "P12", "P23"]
    else:
        wanted = list(providers)
    clients: dict[str, set[str]] = {}
    for e in data.get("evidence", []):
        clients.setdefault(e["provider"], set()).add(e["client"])
    names = register_names(model)
    for code in wanted if model == "birmingham-90-10" else [None]:
        args = ["statements", "-m", model, "-p", month, "-o", str(tmp_path)]
        result = runner.invoke(app, args + (["--provider", code] if code else []))
        assert result.exit_code == 0, result.output
    for code in wanted:
        xlsx = tmp_path / f"{model}-{month}-{code}-statement.xlsx"
        pdf = tmp_path / f"{model}-{month}-{code}-statement.pdf"
        everything = texts(xlsx, pdf)
        pdf_text = "\n".join(p.extract_text() for p in PdfReader(str(pdf)).pages)
        mine = clients.get(code, set())
        for other, other_names in names.items():
            if other == code:
                continue
            assert not word(other).search(everything), (code, other)
            for name in other_names.split("|"):
                assert name not in everything, (code, name)
        for other, theirs in clients.items():
            if other != code:
                for client in sorted(theirs - mine):
                    assert not word(client).search(everything), (code, other, client)
        # Its own are there, in both files.
        for found in (everything, pdf_text):
            assert word(code).search(found)
            assert providers[code]["name"] in found
        for client in sorted(mine)[:20]:
            assert word(client).search(pdf_text), (code, client)
        # The totals agree with the schedule's lines to the penny.
        ws = openpyxl.load_workbook(xlsx, read_only=True)["Summary"]
        rows = [r for r in ws.iter_rows(values_only=True) if r and r[0] == code]
        header = next(r for r in ws.iter_rows(values_only=True) if r and r[0] == "Provider code")
        pbr = Decimal(str(rows[0][header.index("PbR total")])).quantize(Decimal("0.01"))
        assert pbr == Decimal(providers[code]["payment"])
        lines = openpyxl.load_workbook(xlsx, read_only=True)["Lines"]
        line_rows = list(lines.iter_rows(values_only=True))
        head = next(r for r in line_rows if r and r[0] == "Provider code")
        amounts = [Decimal(str(r[head.index("Amount")])).quantize(Decimal("0.01"))
                   for r in line_rows[line_rows.index(head) + 1:]
                   if r and r[0] == code and r[head.index("Kind")] == "PbR"]
        expected = [Decimal(ln["amount"]) for ln in providers[code]["lines"]
                    if ln["kind"] == "payment"]
        assert sorted(amounts) == sorted(expected)
        assert sum(expected) == Decimal(providers[code]["payment"])
        assert f"£{Decimal(providers[code]['payment']):,}" in pdf_text


def test_the_statement_says_where_the_month_stands_in_the_ledger(tmp_path):
    """Not calculated: NOT RECORDED. After `pbr calculate`: DRAFT, ledger run 1. After
    `pbr approve`: APPROVED, run 1, by the approver. Each said on the PDF's every page and
    in the workbook."""
    args = ["statements", "-m", "birmingham-90-10", "-p", "2013-04", "--provider", "P01", "-o",
            str(tmp_path)]
    pdf = tmp_path / "birmingham-90-10-2013-04-P01-statement.pdf"

    def said() -> list[str]:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        return [p.extract_text() for p in PdfReader(str(pdf)).pages]

    assert all("NOT RECORDED" in page for page in said())
    assert runner.invoke(app, ["calculate", "-m", "birmingham-90-10", "-p", "2013-04"]
                         ).exit_code in (0, 1)
    assert all("DRAFT — ledger run 1" in page for page in said())
    approved = runner.invoke(app, ["approve", "-m", "birmingham-90-10", "-p", "2013-04", "--run",
                                   "1", "--by", "J. Smith"])
    assert approved.exit_code == 0, approved.output
    pages = said()
    assert all("APPROVED — ledger run 1, approved by J. Smith" in page for page in pages)
    with zipfile.ZipFile(tmp_path / "birmingham-90-10-2013-04-P01-statement.xlsx") as z:
        assert "APPROVED — ledger run 1" in z.read("xl/sharedStrings.xml").decode()


def test_statements_are_byte_identical_when_made_again(tmp_path):
    for folder in ("a", "b"):
        result = runner.invoke(app, ["statements", "-m", "troubled-families", "-p", "2013-06",
                                     "--provider", "LA2", "-o", str(tmp_path / folder)])
        assert result.exit_code == 0, result.output
    for suffix in (".xlsx", ".pdf"):
        name = f"troubled-families-2013-06-LA2-statement{suffix}"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


@pytest.mark.parametrize(("args", "words"), [
    (["--provider", "P9"], "provider P9 is not paid under wigan-cohort in 2013-06"),
    (["-p", "2013-Q2"], "a statement is for one month"),
])
def test_a_statement_that_cannot_be_made_says_why(tmp_path, args, words):
    base = {"-p": "2013-06"}
    full = ["statements", "-m", "wigan-cohort", "-o", str(tmp_path)]
    if "-p" not in args:
        full += ["-p", base["-p"]]
    result = runner.invoke(app, full + args)
    assert result.exit_code == 2
    assert words in result.output and "Traceback" not in result.output


def test_an_approved_month_whose_figures_changed_since_is_refused(tmp_path, monkeypatch):
    """Approved, then a return is taken away: the month worked out now is not what was paid,
    so its statement would not be the approved one: refused (exit 2), saying where the
    difference is paid."""
    import shutil

    returns = tmp_path / "returns"
    shutil.copytree(ROOT / "sample_returns" / "birmingham-90-10" / "2013-04",
                    returns / "birmingham-90-10" / "2013-04")
    config = tmp_path / "pbr.yaml"
    config.write_text(f"models: {ROOT / 'models'}\nreturns: {returns}\noutput: "
                      f"{tmp_path / 'out'}\nledger: {tmp_path / 'ledger.sqlite'}\n")
    monkeypatch.setenv("PBR_CONFIG", str(config))
    monkeypatch.delenv("PBR_LEDGER")
    assert runner.invoke(app, ["calculate", "-m", "birmingham-90-10", "-p", "2013-04"]
                         ).exit_code in (0, 1)
    assert runner.invoke(app, ["approve", "-m", "birmingham-90-10", "-p", "2013-04", "--run",
                               "1", "--by", "J. Smith"]).exit_code == 0
    args = ["statements", "-m", "birmingham-90-10", "-p", "2013-04", "--provider", "P02",
            "-o", str(tmp_path / "s")]
    assert runner.invoke(app, args).exit_code == 0
    (returns / "birmingham-90-10" / "2013-04" / "P01-2013-04.xlsx").unlink()
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "2013-04 was approved as run 1, but its figures worked out now differ" in \
        " ".join(result.output.split())


def test_pbr_run_writes_the_statements_with_the_schedules(tmp_path, monkeypatch):
    """`statements: true` in the config: each month `pbr run` records, its providers'
    statements are written beside the schedule, standing as the run does."""
    config = tmp_path / "pbr.yaml"
    config.write_text(f"models: {ROOT / 'models'}\nreturns: {ROOT / 'sample_returns'}\n"
                      f"output: {tmp_path / 'out'}\nledger: {tmp_path / 'ledger.sqlite'}\n"
                      f"log: {tmp_path / 'pbr.log'}\nschemes:\n  troubled-families: "
                      "{go_live: 2013-09, approval: automatic, statements: true}\n")
    monkeypatch.setenv("PBR_CONFIG", str(config))
    monkeypatch.delenv("PBR_LEDGER")
    result = runner.invoke(app, ["run"])
    assert result.exit_code in (0, 1), result.output
    folder = tmp_path / "out" / "troubled-families" / "statements" / "2013-09"
    assert sorted(p.name for p in folder.iterdir()) == [
        f"troubled-families-2013-09-LA{i}-statement{s}" for i in (1, 2, 3)
        for s in (".pdf", ".xlsx")]
    text = PdfReader(str(folder / "troubled-families-2013-09-LA1-statement.pdf")).pages[0]
    assert "APPROVED — ledger run 1, approved automatically" in text.extract_text()
    assert "3 provider statement(s)" in " ".join(result.output.split())


def contact_days(model: str) -> dict[tuple[str, str], set[str]]:
    """(provider, client) -> every date on the rows of the provider's returns, all months,
    that name the client: when the provider saw them (read from the returns themselves)."""
    from datetime import date, datetime

    out: dict[tuple[str, str], set[str]] = {}
    for path in sorted((ROOT / "sample_returns" / model).glob("*/*.xlsx")):
        provider = path.name.split("-")[0]
        book = openpyxl.load_workbook(path, read_only=True)
        for ws in book.worksheets:
            for row in ws.iter_rows(values_only=True):
                days = {v.date().isoformat() if isinstance(v, datetime) else v.isoformat()
                        for v in row if isinstance(v, date)}
                for v in row:
                    if isinstance(v, str) and days:
                        out.setdefault((provider, v), set()).update(days)
        book.close()
    return out


def month_end(day: str) -> bool:
    from datetime import date, timedelta

    d = date.fromisoformat(day)
    return d.day == 1 or (d + timedelta(days=1)).day == 1


def test_a_statement_gives_no_date_of_another_providers_contact(tmp_path):
    """Wigan, June 2013: P4's client was refused as "presented within 12 months", the
    earlier presentation being at another provider on a day no return of P4's holds. The
    statement says it was at another provider within 12 months; and of the days another
    provider's returns hold for a provider's own clients, none that the provider's own
    returns and evidence never hold is anywhere in its statement."""
    model, month = "wigan-cohort", "2013-06"
    data = schedule_json(model, month)
    result = runner.invoke(app, ["statements", "-m", model, "-p", month, "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    days = contact_days(model)
    providers = sorted({p["provider"] for p in data["providers"]})
    checked = 0
    for code in providers:
        everything = texts(tmp_path / f"{model}-{month}-{code}-statement.xlsx",
                           tmp_path / f"{model}-{month}-{code}-statement.pdf")
        own = set().union(*(d for (p, _), d in days.items() if p == code)) | {
            e["date"] for e in data["evidence"] if e["provider"] == code}
        clients = {e["client"] for e in data["evidence"] if e["provider"] == code}
        theirs = {day for client in clients for other in providers if other != code
                  for day in days.get((other, client), set())} - own
        for day in sorted(theirs):
            if month_end(day):  # a window's or the period's bound, which pbr states itself
                continue
            checked += 1
            assert not word(day).search(everything), (code, day)
    assert checked > 0  # some clients were seen by two providers
    pdf = tmp_path / f"{model}-{month}-P4-statement.pdf"
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(str(pdf)).pages).split())
    assert "presented at another provider within 12 months" in text
