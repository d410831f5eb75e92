"""A month with more evidence than an Excel sheet holds (about 4,100 providers of a
client-level scheme): every row goes to a CSV beside the workbook, which the Evidence sheet
names with its SHA-256; the pair is written, replaced, approved and removed together.

The sheet's limit is made small here (EVIDENCE_SHEET_ROWS) so that the shipped Wigan samples
overflow it; the CSV is then checked row by row against the Evidence sheet written with the
real limit."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

import pbr_cli.outputs.schedule as schedule_writer
from pbr_cli.cli.app import app

runner = CliRunner()
SCHEME, MONTH = "wigan-cohort", "2012-04"


def calculate(*more: str) -> dict:
    result = runner.invoke(app, ["calculate", "-m", SCHEME, "-p", MONTH, "--json", *more])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def sheet_rows(path: Path, first: int = 6) -> list[list]:
    ws = openpyxl.load_workbook(path, read_only=True)["Evidence"]
    return [list(r) for r in ws.iter_rows(min_row=first, values_only=True)]


def as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, float):
        return str(Decimal(str(value)))
    return str(value)


def test_evidence_too_long_for_a_sheet_goes_beside_the_workbook(tmp_path, monkeypatch):
    whole = calculate("--ledger", str(tmp_path / "other.sqlite"), "-o", str(tmp_path / "whole.xlsx"))
    assert whole["ledger"]["status"] == "draft"
    expected = sheet_rows(tmp_path / "whole.xlsx")
    assert len(expected) > 20  # a month of the samples' evidence

    monkeypatch.setattr(schedule_writer, "EVIDENCE_SHEET_ROWS", 10)
    draft = calculate()
    assert draft["ledger"]["status"] == "draft"
    workbook = Path(draft["output"])
    beside = workbook.with_name(workbook.stem + "-evidence.csv")
    assert beside.is_file()
    with open(beside, encoding="utf-8", newline="") as fh:
        found = list(csv.reader(fh))
    header, rows = found[0], found[1:]
    assert header[:4] == ["Provider code", "Client ID", "Event", "Date"]
    assert len(rows) == len(expected)
    amount = header.index("Amount")
    for got, want in zip(rows, expected, strict=True):
        assert got[:4] == [as_text(v) for v in want[:4]]
        assert Decimal(got[amount]) == Decimal(str(want[amount]))
        assert got[-3:] == [as_text(v) for v in want[-3:]]  # reason, source file and row
    # The sheet names the file and its SHA-256, so the workbook's own SHA-256 (in the
    # ledger) fixes the CSV's content.
    note = " ".join(str(r[0]) for r in sheet_rows(workbook, 1) if r and r[0])
    sha = hashlib.sha256(beside.read_bytes()).hexdigest()
    assert f"{len(rows):,} evidence rows" in note and beside.name in note and sha in note

    # The same month again: nothing new recorded, both files as they were.
    before = (workbook.read_bytes(), beside.read_bytes())
    again = calculate()
    assert again["ledger"]["status"] == "unchanged"
    assert (workbook.read_bytes(), beside.read_bytes()) == before

    # Approved: the approved schedule has its own evidence file; the draft's pair is gone.
    result = runner.invoke(app, ["approve", "-m", SCHEME, "-p", MONTH, "--run",
                                 str(draft["ledger"]["run"]), "--by", "test", "--json"])
    assert result.exit_code == 0, result.output
    approved = Path(json.loads(result.stdout)["output"])
    approved_beside = approved.with_name(approved.stem + "-evidence.csv")
    assert not workbook.exists() and not beside.exists()
    assert approved_beside.read_bytes() == before[1]  # the same evidence, row for row
    note = " ".join(str(r[0]) for r in sheet_rows(approved, 1) if r and r[0])
    assert approved_beside.name in note and sha in note


def test_an_output_with_no_evidence_file_refuses_rather_than_cuts(tmp_path, monkeypatch):
    """Written where no evidence file can go beside it, evidence too long for a sheet is
    refused (exit 2, output-too-large), never a sheet with rows missing."""
    import pytest

    from pbr_cli.cycle.config import load_config
    from pbr_cli.errors import PbrError
    from pbr_cli.model import find_model, load_model
    from pbr_cli.periods import Month
    from pbr_cli.pricing.worth import month_schedule, read_months
    from pbr_cli.returns.register import load_register

    monkeypatch.setattr(schedule_writer, "EVIDENCE_SHEET_ROWS", 10)
    cfg = load_config(None)
    model = load_model(find_model(SCHEME, cfg.models))
    register = load_register(model)
    month = Month.parse(MONTH)
    collection = read_months(cfg.cache, model, register, cfg.returns_for(SCHEME), [month], None)
    schedule = month_schedule(model, register, month, collection)
    with pytest.raises(PbrError, match="do not fit on an Excel sheet") as refused:
        schedule_writer.render_schedule(schedule, tmp_path / "statement.xlsx")
    assert refused.value.code == "output-too-large"
    assert list(tmp_path.iterdir()) in ([], [tmp_path / "statement.xlsx"])
    assert not (tmp_path / "statement-evidence.csv").exists()
