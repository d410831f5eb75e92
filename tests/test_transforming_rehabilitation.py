"""Transforming Rehabilitation (models/transforming-rehabilitation.yaml): `pbr run` over the
shipped samples, each month approved in turn in a real ledger (the contract year 2016/17
whole, reconciled in March 2017 against the fees the ledger says were paid), its schedules
read back cell by cell against a plain second reading of the rules (the oracle below,
written from docs/models.md's "Example: Transforming Rehabilitation" and the published
mechanism, reading the returns and the register with openpyxl and csv, not with pbr); and
what a result filed against the wrong entry or in the wrong month gets."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path
from statistics import NormalDist

import openpyxl
import pytest
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from pbr_cli.model import load_model
from tests.conftest import ROOT, Workspace, made_once

runner = CliRunner()
TR = ROOT / "models" / "transforming-rehabilitation.yaml"
REGISTER = ROOT / "models" / "transforming-rehabilitation.register.csv"
SAMPLES = ROOT / "sample_returns" / "transforming-rehabilitation"
MONTHS = sorted(p.name for p in SAMPLES.iterdir() if p.is_dir())

# The illustrative figures, as docs/models.md states them.
FEE_SHARE = {"2016/17": Fraction(99, 100), "2017/18": Fraction(98, 100)}
BINARY_PRICE, FREQUENCY_PRICE, LEVEL = 2000, 400, 0.05
# heading of the month's figure, heading of the year's (March's return), weight
WEIGHTS = [("Community orders and suspended sentence orders started",
            "Orders started in the contract year", 1),
           ("Offenders released from custody", "Released from custody in the contract year",
            Fraction(3, 2))]
LABELS = {"fee_for_service": "Fee for service", "reconciliation": "Year-end reconciliation",
          "binary": "Binary measure", "frequency": "Frequency measure"}


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


def _year_months(month: str) -> list[str]:
    """The contract year's months (April to March) up to and including `month`."""
    year, mon = int(month[:4]), int(month[5:])
    starts = year - (mon < 4)
    out = [f"{starts + (m < 4)}-{m:02d}" for m in (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)]
    return out[:out.index(month) + 1]


def weighted_volume(crc: str, months: list[str]) -> Fraction:
    """The CRC's caseload for the contract year, as its last month's return records it,
    each order started weighing 1 and each release from custody 1.5 (the samples' year
    figures are the sums of their months' too)."""
    (last,) = _rows(SAMPLES / months[-1] / f"{crc}-{months[-1]}.xlsx", "Caseload")
    for month_heading, year_heading, _ in WEIGHTS:
        assert last[year_heading] == sum(
            row[month_heading] for m in months
            for row in _rows(SAMPLES / m / f"{crc}-{m}.xlsx", "Caseload"))
    return sum((weight * last[heading] for _, heading, weight in WEIGHTS), Fraction(0))


def year_due(entry: dict, month: str) -> Fraction:
    """What the contract is due for the contract year ending with `month`: its annual price
    less the discount, plus the price per case above the predicted range (less it below)."""
    volume = weighted_volume(entry["CRC code"], _year_months(month))
    low, high = Fraction(entry["Predicted volume low"]), Fraction(entry["Predicted volume high"])
    outside = max(Fraction(0), volume - high) - max(Fraction(0), low - volume)
    fy = f"{int(month[:4]) - 1}/{int(month[2:4]):02d}"
    return (Fraction(entry["Annual price"]) * FEE_SHARE[fy]
            + Fraction(entry["Price per case outside the range"]) * outside)


@cache
def oracle(month: str) -> dict[tuple[str, str, str], Decimal]:
    """(CRC, entry, component) -> amount, for every line the month should have. In March,
    a contract in force from 1 April to 31 March is paid, in place of its twelfth fee, the
    year's due less the fees paid in the year's months before (each as this oracle pays
    it, every sample month approved in turn)."""
    year, mon = int(month[:4]), int(month[5:])
    first = date(year, mon, 1)
    last = date(year + mon // 12, mon % 12 + 1, 1)
    days = (last - first).days
    fy = f"{year - (mon < 4)}/{(year - (mon < 4) + 1) % 100:02d}"
    year_first = date(year - (mon < 4), 4, 1)
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
            fee = reconciliation = binary = frequency = Fraction(0)
            if entry["Entry type"] == "FFS" and mon == 3 and start <= year_first and (
                    not entry["End"] or end >= last):
                before = _year_months(month)[:-1]
                reconciliation = year_due(entry, month) - sum(
                    (Fraction(oracle(m)[(crc, key, "fee_for_service")])
                     for m in before if m in MONTHS), Fraction(0))
            elif entry["Entry type"] == "FFS":
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
            for name, amount in (("fee_for_service", fee), ("reconciliation", reconciliation),
                                 ("binary", binary), ("frequency", frequency)):
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
    """`pbr run` as cron would start it, over the shipped samples, approving each month
    (made once for the run; the tests only read it)."""
    return made_once(tmp_path_factory, "tr-run", _run)


def _run(folder):
    (folder / "pbr.yaml").write_text(
        f"models: {ROOT / 'models'}\nreturns: {ROOT / 'sample_returns'}\noutput: out\n"
        "ledger: out/ledger.sqlite\nlog: out/pbr.log\nschemes:\n"
        "  transforming-rehabilitation: {approval: automatic, go_live: 2016-04}\n")
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
    assert len(MONTHS) == 22
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


def test_a_contract_years_fees_and_reconciliation_are_its_due_to_the_penny(run_output):
    """2016/17 through the ledger: for each CRC, the approved fee lines of April 2016 to
    February 2017 and March 2017's reconciliation, read back from the ledger, add up to the
    year's due to the penny — the annual price less the discount, and the price per case
    outside the predicted range (the oracle's `year_due`); March's fee is £0.00. The samples
    hold a CRC above its range (paid more), one below (paid less) and two within."""
    from pbr_cli.ledger.records import LineKind
    from pbr_cli.ledger.store import Ledger

    folder, done = run_output
    assert done.returncode == 0, done.stderr
    year = _year_months("2017-03")
    with REGISTER.open(encoding="utf-8") as fh:
        contracts = {e["CRC code"]: e for e in csv.DictReader(fh) if e["Entry type"] == "FFS"}
    ledger = Ledger(str(folder / "out" / "ledger.sqlite"), readonly=True)
    try:
        approved = {a.period: a.run_id for a in ledger.approvals("transforming-rehabilitation")}
        paid: dict[tuple[str, str, str], Decimal] = {}
        for month in year:
            for ln in ledger.lines(approved[month]):
                if ln.kind == LineKind.PAYMENT and ln.entry in contracts:
                    paid[(month, ln.entry, ln.component)] = ln.amount
            assert ledger.adjustments(approved[month]) == []
    finally:
        ledger.close()
    sides = set()
    for crc, entry in contracts.items():
        fees = sum(paid[(m, crc, "fee_for_service")] for m in year)
        assert paid[("2017-03", crc, "fee_for_service")] == Decimal("0.00")
        due = _pence(year_due(entry, "2017-03"))
        assert fees + paid[("2017-03", crc, "reconciliation")] == due, crc
        volume = weighted_volume(crc, year)
        low, high = (Fraction(entry[f"Predicted volume {w}"]) for w in ("low", "high"))
        sides.add("above" if volume > high else "below" if volume < low else "within")
        # within the range, the year is its price less the discount alone
        assert (due == _pence(Fraction(entry["Annual price"]) * FEE_SHARE["2016/17"])) == (
            low <= volume <= high)
    assert sides == {"above", "below", "within"}


def test_the_reconciliation_reads_the_fee_through_a_cohort_beside_it(tmp_path):
    """CRC01 with its contract and a cohort published in June 2016 (its fee line £0.00),
    April 2016 to February 2017 approved by `pbr run`; then the annual price corrected in
    the register (£24,000,000 -> £24,120,000): March 2017's draft carries each earlier
    month's fee adjustment for CRC01, £24,120,000 x 0.99 / 12 - £1,980,000 = £1,989,900 -
    £1,980,000 = +£9,900.00, and its reconciliation counts them for the contract, the one
    of CRC01's entries paid a fee, not the cohort: the year's lines and the adjustments add
    up to the year's due at the corrected price."""
    with REGISTER.open(encoding="utf-8") as fh:
        header, *rows = list(csv.reader(fh))
    rows = [r for r in rows if r[0] == "CRC01"] + [
        ["CRC01-2015Q1", "CRC01", "Northern Fells CRC", "Northern Fells CRC: cohort",
         "COHORT", "", "", "", "", "2015Q1", "2400", "0.475", "3.9", "2016-06-01",
         "2016-06-30"]]
    folder = tmp_path
    (folder / "models").mkdir()
    model = folder / "models" / "transforming-rehabilitation.yaml"
    model.write_text(TR.read_text(encoding="utf-8"), encoding="utf-8")

    def register(price: str) -> None:
        rows[0][5] = price
        with (folder / "models" / REGISTER.name).open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh, lineterminator="\n").writerows([header, *rows])

    register("24000000.00")
    returns = folder / "returns" / "transforming-rehabilitation"

    def file(month: str) -> None:
        (returns / month).mkdir(parents=True)
        source = SAMPLES / month / f"CRC01-{month}.xlsx"
        (returns / month / source.name).write_bytes(source.read_bytes())

    (folder / "pbr.yaml").write_text(
        "models: models\nreturns: returns\noutput: out\nledger: out/ledger.sqlite\n"
        "log: out/pbr.log\nschemes:\n"
        "  transforming-rehabilitation: {go_live: 2016-04, approval: automatic}\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(folder), "PBR_CACHE": "off"}

    def pbr() -> int:
        """`pbr run`, each month approved as it is drafted: March 2017's run."""
        done = subprocess.run([sys.executable, "-m", "pbr_cli", "run", "--json", "--config",
                               str(folder / "pbr.yaml")], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "calculation-failed" not in done.stdout + done.stderr
        return {m["month"]: m["run"] for m in json.loads(done.stdout)["months"]}.get("2017-03", 0)

    for month in _year_months("2017-02"):
        file(month)
    pbr()  # April 2016 to February 2017 drafted and approved
    register("24120000.00")
    file("2017-03")
    run = pbr()
    from pbr_cli.ledger.records import LineKind
    from pbr_cli.ledger.store import Ledger

    ledger = Ledger(str(folder / "out" / "ledger.sqlite"), readonly=True)
    try:
        carried = [(a.month, a.provider, a.component, a.difference)
                   for a in ledger.adjustments(run) if a.difference]
        lines = {(ln.entry, ln.component): ln.amount for ln in ledger.lines(run)
                 if ln.kind == LineKind.PAYMENT}
        june = next(a.run_id for a in ledger.approvals("transforming-rehabilitation")
                    if a.period == "2016-06")
        cohort = [(ln.component, ln.amount) for ln in ledger.lines(june)
                  if ln.entry == "CRC01-2015Q1" and ln.kind == LineKind.PAYMENT]
        fees = sum(ln.amount for m in _year_months("2017-02")
                   for ln in ledger.lines(next(a.run_id for a in ledger.approvals(
                       "transforming-rehabilitation") if a.period == m))
                   if ln.kind == LineKind.PAYMENT and ln.component == "fee_for_service")
    finally:
        ledger.close()
    assert carried == [(m, "CRC01", "fee_for_service", Decimal("9900.00"))
                       for m in _year_months("2017-02")]
    entry = dict(zip(header, rows[0], strict=True))
    due = _pence(year_due(entry, "2017-03"))
    # 11 months at £1,980,000.00 = £21,780,000; 11 adjustments of £9,900 = £108,900
    assert fees == Decimal("21780000.00")
    assert ("fee_for_service", Decimal("0.00")) in cohort  # June: two entries, one paid a fee
    assert fees + 11 * Decimal("9900.00") + lines[("CRC01", "reconciliation")] == due


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
    # (no word of earlier months not approved: November does not work the reconciliation out,
    # so reads nothing of them; March does, tests/test_earlier_payments.py)
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
