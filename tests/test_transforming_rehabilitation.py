"""Transforming Rehabilitation (models/transforming-rehabilitation.yaml): `pbr run` over the
shipped samples, its schedules read back cell by cell against a plain second reading of the
rules (the oracle below, written from docs/models.md's "Example: Transforming
Rehabilitation" and the published mechanism, reading the returns and the register with
openpyxl and csv, not with pbr); and what a result filed against the wrong entry or in the
wrong month gets."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from statistics import NormalDist

import openpyxl
import pytest
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from pbr_cli.model import load_model
from tests.conftest import ROOT, Workspace

runner = CliRunner()
TR = ROOT / "models" / "transforming-rehabilitation.yaml"
REGISTER = ROOT / "models" / "transforming-rehabilitation.register.csv"
SAMPLES = ROOT / "sample_returns" / "transforming-rehabilitation"
MONTHS = sorted(p.name for p in SAMPLES.iterdir() if p.is_dir())

# The illustrative figures, as docs/models.md states them.
FEE_SHARE = {"2016/17": Fraction(99, 100), "2017/18": Fraction(98, 100)}
BINARY_PRICE, FREQUENCY_PRICE, LEVEL = 2000, 400, 0.05
LABELS = {"fee_for_service": "Fee for service", "binary": "Binary measure",
          "frequency": "Frequency measure"}


# ---- the oracle: a plain reading of the rules --------------------------------------------

def _pence(x: Fraction) -> Decimal:
    return (Decimal(x.numerator) / Decimal(x.denominator)).quantize(Decimal("0.01"),
                                                                    ROUND_HALF_UP)


def _rows(path: Path, sheet: str) -> list[dict]:
    """A return sheet's filled rows, by heading (the first row)."""
    wb = openpyxl.load_workbook(path, read_only=True)
    if sheet not in wb.sheetnames:
        return []
    values = list(wb[sheet].iter_rows(values_only=True))
    head = values[0]
    return [dict(zip(head, r, strict=True)) for r in values[1:] if any(v is not None for v in r)]


def _lower(events: Fraction, people: int, events2: Fraction, people2: int) -> bool:
    """Is events/people significantly below events2/people2 (one-sided, pooled z-test)?"""
    p1, p2 = float(events) / people, float(events2) / people2
    pooled = float(events + events2) / (people + people2)
    if p1 >= p2:
        return False
    z = (p2 - p1) / (pooled * (1 - pooled) * (1 / people + 1 / people2)) ** 0.5
    p_value = 1 - NormalDist().cdf(z)
    assert abs(p_value - LEVEL) > 1e-6, "too close to the level for a float to decide"
    return p_value <= LEVEL


def oracle(month: str) -> dict[tuple[str, str, str], Decimal]:
    """(CRC, entry, component) -> amount, for every line the month should have."""
    year, mon = int(month[:4]), int(month[5:])
    first = date(year, mon, 1)
    last = date(year + mon // 12, mon % 12 + 1, 1)
    days = (last - first).days
    fy = f"{year - (mon < 4)}/{(year - (mon < 4) + 1) % 100:02d}"
    results = {}
    for path in sorted((SAMPLES / month).glob("*.xlsx")):
        for row in _rows(path, "Results"):
            results[row["Entry ID"]] = row
    lines = {}
    with REGISTER.open(encoding="utf-8") as fh:
        for entry in csv.DictReader(fh):
            start = date.fromisoformat(entry["Start"])
            end = date.fromisoformat(entry["End"]) if entry["End"] else date(9999, 1, 1)
            active = sum(1 for d in range(days)
                         if start <= date.fromordinal(first.toordinal() + d) <= end)
            if not active:
                continue
            crc, key = entry["CRC code"], entry["Entry ID"]
            fee = binary = frequency = Fraction(0)
            if entry["Entry type"] == "FFS":
                fee = (Fraction(entry["Annual price"]) * FEE_SHARE[fy] / 12
                       * Fraction(active, days))
            elif key in results:
                r = results[key]
                n, k, offences = r["Offenders in the cohort"], \
                    r["Offenders with a proven reoffence"], r["Proven reoffences"]
                base_n = int(entry["Baseline offenders (2011)"])
                base_rate = Fraction(entry["Baseline binary rate"])
                base_freq = Fraction(entry["Baseline frequency (reoffences per reoffender)"])
                fewer = base_rate * n - k
                down = _lower(Fraction(k), n, base_rate * base_n, base_n)
                up = _lower(base_rate * base_n, base_n, Fraction(k), n)
                if down or up:
                    binary = BINARY_PRICE * fewer  # negative when up: a deduction
                fewer_offences = base_freq * k - offences
                if down and fewer_offences > 0:
                    frequency = FREQUENCY_PRICE * fewer_offences
            for name, amount in (("fee_for_service", fee), ("binary", binary),
                                 ("frequency", frequency)):
                lines[(crc, key, name)] = _pence(amount)
    return lines


# ---- the schedule as pbr run wrote it ----------------------------------------------------

def _schedule(path: Path) -> tuple[dict, dict]:
    """(CRC, entry, component label) -> amount from the Lines sheet; CRC -> PbR total from
    the Summary sheet; both read cell by cell under their headings."""
    wb = openpyxl.load_workbook(path, read_only=True)
    lines, totals = {}, {}
    rows = list(wb["Lines"].iter_rows(values_only=True))
    at = next(i for i, r in enumerate(rows) if r[0] == "Provider code")
    head = rows[at]
    for r in rows[at + 1:]:
        if r[0] is None:
            continue
        cell = dict(zip(head, r, strict=True))
        assert cell["Kind"] == "PbR"
        lines[(cell["Provider code"], cell["Entry ID"], cell["Component"])] = \
            Decimal(str(cell["Amount"])).quantize(Decimal("0.01"))
    rows = list(wb["Summary"].iter_rows(values_only=True))
    at = next(i for i, r in enumerate(rows) if r[0] == "Provider code")
    for r in rows[at + 1:]:
        cell = dict(zip(rows[at], r, strict=True))
        if cell["Provider code"] and cell["Status"] == "Paid":
            totals[cell["Provider code"]] = Decimal(str(cell["PbR total"])).quantize(
                Decimal("0.01"))
    return lines, totals


@pytest.fixture(scope="module")
def run_output(tmp_path_factory):
    """`pbr run` as cron would start it, over the shipped samples, approving each month."""
    folder = tmp_path_factory.mktemp("tr-run")
    (folder / "pbr.yaml").write_text(
        f"models: {ROOT / 'models'}\nreturns: {ROOT / 'sample_returns'}\noutput: out\n"
        "ledger: out/ledger.sqlite\nlog: out/pbr.log\nschemes:\n"
        "  transforming-rehabilitation: {approval: automatic, go_live: 2017-01}\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(folder), "PBR_CACHE": "off"}
    done = subprocess.run([sys.executable, "-m", "pbr_cli", "run", "--config",
                           str(folder / "pbr.yaml"), "--json"], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=600)
    return folder, done


def test_pbr_run_pays_every_sample_month_as_the_rules_read_plainly(run_output):
    folder, done = run_output
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    said = json.loads(done.stdout)
    assert len(MONTHS) == 13
    for month in MONTHS:
        path = (folder / "out" / "transforming-rehabilitation"
                / f"transforming-rehabilitation-{month}-schedule.xlsx")
        lines, totals = _schedule(path)
        expected = oracle(month)
        assert lines == {(c, e, LABELS[n]): v for (c, e, n), v in expected.items()}, month
        for crc in {c for c, _, _ in expected}:
            assert totals[crc] == sum(v for (c, _, _), v in expected.items() if c == crc)
    assert "transforming-rehabilitation" in json.dumps(said)


def test_the_samples_show_each_way_a_cohort_comes_out():
    """Across the two publications: a cohort paid on both measures (CRC01), one whose fall
    is not significant (CRC02), a significant rise deducted (CRC03), and one paid on the
    binary measure whose frequency rose (CRC04, January 2018)."""
    paid = {**oracle("2017-10"), **oracle("2018-01")}
    assert paid[("CRC01", "CRC01-2015Q4", "binary")] > 0
    assert paid[("CRC01", "CRC01-2015Q4", "frequency")] > 0
    assert paid[("CRC02", "CRC02-2015Q4", "binary")] == 0
    assert paid[("CRC03", "CRC03-2015Q4", "binary")] < 0
    assert paid[("CRC04", "CRC04-2016Q1", "binary")] > 0
    assert paid[("CRC04", "CRC04-2016Q1", "frequency")] == 0


def test_october_2017_by_hand(run_output):
    """CRC01's cohort of October-December 2015: 1,017 of 2,319 reoffended (43.86%) against
    a baseline of 47.5% (1,140 of 2,400): z = 2.55, significant. 0.475 x 2,319 - 1,017 =
    84.525 reoffenders fewer, x £2,000 = £169,050.00; 3,399 reoffences against 3.9 x 1,017
    = 3,966.3: 567.3 fewer, x £400 = £226,920.00. Its fee: £24,000,000 x 0.98 / 12 =
    £1,960,000.00. CRC03's: 1,038 of 1,851 (56.08%) against 51%: -93.99 x £2,000 =
    -£187,980.00, a deduction."""
    folder, _ = run_output
    lines, totals = _schedule(folder / "out" / "transforming-rehabilitation"
                              / "transforming-rehabilitation-2017-10-schedule.xlsx")
    assert lines[("CRC01", "CRC01-2015Q4", "Binary measure")] == Decimal("169050.00")
    assert lines[("CRC01", "CRC01-2015Q4", "Frequency measure")] == Decimal("226920.00")
    assert lines[("CRC01", "CRC01", "Fee for service")] == Decimal("1960000.00")
    assert totals["CRC01"] == Decimal("2355970.00")
    assert lines[("CRC03", "CRC03-2015Q4", "Binary measure")] == Decimal("-187980.00")


def test_the_model_holds_the_figures_the_docs_state_and_marks_them_illustrative():
    model = load_model(TR)
    assert model.values_on(date(2017, 3, 1))["fee_share"] == FEE_SHARE["2016/17"]
    assert model.values_on(date(2017, 4, 1))["fee_share"] == FEE_SHARE["2017/18"]
    now = model.values_on(date(2017, 10, 1))
    assert (now["binary_price"], now["frequency_price"], now["level"]) == (
        BINARY_PRICE, FREQUENCY_PRICE, Fraction(str(LEVEL)))
    for name, parameter in model.parameters.items():
        assert "(illustrative)" in parameter.label, name


# ---- a result filed against the wrong entry, or in another month --------------------------

def _workspace(tmp_path: Path, moved_to: str | None = None) -> Workspace:
    with REGISTER.open(encoding="utf-8") as fh:
        header, *rows = list(csv.reader(fh))
    rows = [r for r in rows if r[1] == "CRC01"]
    if moved_to:  # the cohort's publication moved: the register says so
        for r in rows:
            if r[0] == "CRC01-2015Q4":
                r[-2:] = [f"{moved_to}-01", f"{moved_to}-30"]
    tmp_path.mkdir(exist_ok=True)
    return Workspace(tmp_path, load_model(TR), rows, header)


def _calculate(ws: Workspace, month: str) -> dict:
    result = runner.invoke(app, ["calculate", "-m", str(TR), "-p", month, "--returns",
                                 str(ws.returns), "--register", str(ws.register_path),
                                 "--json", "--dry-run"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


RESULT = {"offenders": 1000, "reoffenders": 400, "reoffences": 1200}
CASELOAD = [{"entry_id": "CRC01", "community_starts": 480, "custody_releases": 300}]


def test_a_result_filed_against_the_contract_is_warned_and_the_fee_still_paid(tmp_path):
    """A Results row naming CRC01 (the contract) instead of its cohort: the fee is paid as
    ever (£1,960,000.00), nothing is paid on the result, and a warning says why."""
    ws = _workspace(tmp_path)
    ws.add_return("CRC01", "2017-10", {"Caseload": CASELOAD,
                                       "Results": [{"entry_id": "CRC01", **RESULT}]})
    data = _calculate(ws, "2017-10")
    paid = {(ln["entry"], ln["component"]): ln["amount"] for p in data["providers"]
            for ln in p["lines"]}
    assert paid[("CRC01", "fee_for_service")] == "1960000.00"
    assert paid[("CRC01", "binary")] == paid[("CRC01", "frequency")] == "0.00"
    said = {p["code"]: p["message"] for p in data["problems"]}
    assert "calculation-failed" not in said
    assert said["result-on-contract"].startswith(
        "entry CRC01: a cohort result (1000 offenders) was returned against the contract entry")
    assert said["no-cohort-result"].startswith("entry CRC01-2015Q4: no final result")


def test_a_result_filed_after_its_month_is_paid_once_the_register_moves_it(tmp_path):
    """The October-December 2015 result filed in November: the cohort is not active then,
    so the row is refused and nothing is paid. With the cohort moved to November in the
    register, November pays it: 0.475 x 1,000 - 400 = 75 fewer, x £2,000 = £150,000.00
    (400 of 1,000 against 1,140 of 2,400: z = 4.05); 3.9 x 400 - 1,200 = 360 fewer, x £400
    = £144,000.00."""
    ws = _workspace(tmp_path)
    ws.add_return("CRC01", "2017-11", {"Caseload": CASELOAD,
                                       "Results": [{"entry_id": "CRC01-2015Q4", **RESULT}]})
    data = _calculate(ws, "2017-11")
    assert [p["code"] for p in data["problems"]] == ["entry-not-active"]
    assert data["totals"]["payment"] == "1960000.00"
    moved = _workspace(tmp_path / "moved", moved_to="2017-11")
    moved.add_return("CRC01", "2017-11", {"Caseload": CASELOAD, "Results": [
        {"entry_id": "CRC01-2015Q4", **RESULT}]})
    data = _calculate(moved, "2017-11")
    paid = {(ln["entry"], ln["component"]): ln["amount"] for p in data["providers"]
            for ln in p["lines"]}
    assert paid[("CRC01-2015Q4", "binary")] == "150000.00"
    assert paid[("CRC01-2015Q4", "frequency")] == "144000.00"
    assert data["totals"]["payment"] == "2254000.00"


def test_pbr_models_list_lines_the_titles_up_past_a_long_name():
    """`transforming-rehabilitation` is longer than the 24 characters the name column had:
    its title started one place later than every other. Each title now starts in the same
    column, and the scheme is listed."""
    listed = runner.invoke(app, ["models", "list", "--config", str(ROOT / "pbr.yaml")])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert any(ln.startswith("transforming-rehabilitation ") for ln in lines)
    starts = {ln.index(" " + ln.split()[1]) for ln in lines}
    assert len(starts) == 1, listed.output
