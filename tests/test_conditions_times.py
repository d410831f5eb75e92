"""Counts and sums over rows a condition picks (`where:` written as a formula), and columns
holding a date and a time of day, whose differences are hours: a best-practice tariff paying
for each hip fracture operated on within 36 hours of admission, and a reoffending measure
counting reconvictions within 12 months without the provider counting them first. The test's
own scheme below; every figure worked by hand in its test's docstring."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import openpyxl
import pytest

from pbr_cli.expr import ExprError, parse
from pbr_cli.model import load_model
from pbr_cli.returns.cells import convert
from pbr_cli.returns.checks import check_return
from pbr_cli.workbook.reader import read_workbook
from tests.conftest import Workspace

MODEL = """\
pbr_model: 1
scheme:
  name: hip-fracture-tariff
  title: Hip fracture best practice tariff and reoffending (a test's own scheme)
  version: "1"
  start: 2014-04-01
  end: 2015-03-31
  period: month
  payments: real
parameters:
  bpt_price: {value: 1335, label: Best practice tariff per patient operated on in time}
  hours_target: {value: 36, label: Hours from admission to surgery}
  price_per_avoided: {value: 100, label: Paid per serious offender not reconvicted}
codes:
  offence:
    label: Offence type
    values: {SUMMARY: Summary offence, INDICTABLE: Indictable offence}
register:
  file: hip.register.csv
  entity: contract
  key: contract_id
  provider: provider_code
  columns:
    - {name: contract_id, header: Contract, type: text}
    - {name: provider_code, header: Provider code, type: text}
    - {name: own_target, header: Own target hours, type: integer, min: 1}
return:
  sheets:
    - name: Admissions
      description: One row for each patient admitted with a hip fracture this month.
      key: [patient_id]
      columns:
        - {name: contract_id, header: Contract, type: text, register: true}
        - {name: patient_id, header: Patient, type: text}
        - {name: admission_time, header: Admitted, type: date-time, within: period}
        - {name: operation_time, header: Operated on, type: date-time, required: false}
    - name: Offenders
      description: One row for each offender whose year of follow-up ends this month.
      key: [offender_id]
      columns:
        - {name: contract_id, header: Contract, type: text, register: true}
        - {name: offender_id, header: Offender, type: text}
        - {name: offence_type, header: Offence type, type: code, codes: offence}
        - name: reconvicted_within_months
          header: Reconvicted within months
          type: integer
          required: false
          min: 0
measures:
  - {name: admissions, count: Admissions, format: integer}
  - name: in_time
    label: Operated on within 36 hours
    count: Admissions
    where: operation_time - admission_time <= hours_target
    format: integer
  - name: in_own_time
    count: Admissions
    where: operation_time - admission_time <= own_target
    format: integer
  - name: serious
    count: Offenders
    where: {offence_type: INDICTABLE}
    format: integer
  - name: reconvicted_12
    count: Offenders
    where: "reconvicted_within_months <= 12 and offence_type != 'SUMMARY'"
    format: integer
payments:
  - name: tariff
    label: Best practice tariff
    amount: in_time * bpt_price
    shows: [admissions, in_time, in_own_time]
  - name: reoffending
    label: Serious offenders not reconvicted
    amount: (serious - reconvicted_12) * price_per_avoided
    shows: [serious, reconvicted_12]
"""

HEADER = ["Contract", "Provider code", "Own target hours"]
CONTRACTS = [["T1", "NORTH", "36"], ["T2", "SOUTH", "48"]]
ROOT = Path(__file__).resolve().parent.parent


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M")


# T1's May 2014: each patient's hours from admission to surgery, by hand
T1_ADMISSIONS = [
    ("P1", "2014-05-03 14:30", "2014-05-05 02:30"),  # 36h exactly: in time (<= 36)
    ("P2", "2014-05-10 08:00", "2014-05-11 20:01"),  # 36h 1m = 36 1/60: not in time
    ("P3", "2014-05-20 23:15", "2014-05-21 09:45"),  # 10h 30m: in time
    ("P4", "2014-05-31 22:00", "2014-06-01 06:00"),  # 8h, over the month's end: in time
    ("P5", "2014-05-25 10:00", None),                # not yet operated on: not counted
]
T1_OFFENDERS = [
    ("O1", "INDICTABLE", 6),     # reconvicted within 12 months
    ("O2", "INDICTABLE", 12),    # ... 12 is within
    ("O3", "INDICTABLE", 13),    # not within
    ("O4", "SUMMARY", 3),        # a summary offence: not counted
    ("O5", "INDICTABLE", None),  # blank: cannot be worked out, not counted, warned
    ("O6", "SUMMARY", None),     # blank too: the condition reads the months first
]


def write_scheme(root: Path, text: str = MODEL) -> Path:
    model_path = root / "hip-fracture-tariff.yaml"
    model_path.write_text(text)
    (root / "hip.register.csv").write_text(
        ",".join(HEADER) + "\n" + "\n".join(",".join(r) for r in CONTRACTS) + "\n")
    return model_path


@pytest.fixture
def scheme(tmp_path):
    model_path = write_scheme(tmp_path)
    (tmp_path / "ws").mkdir()
    return Workspace(tmp_path / "ws", load_model(model_path), CONTRACTS, HEADER), model_path


def admissions(contract: str, rows) -> list[dict]:
    return [{"contract_id": contract, "patient_id": p, "admission_time": at(a),
             "operation_time": at(o) if o else None} for p, a, o in rows]


def offenders(contract: str, rows) -> list[dict]:
    return [{"contract_id": contract, "offender_id": o, "offence_type": kind,
             "reconvicted_within_months": months} for o, kind, months in rows]


def pbr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pbr_cli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)


def calculate(ws: Workspace, model_path: Path, month: str) -> tuple[dict, dict]:
    """The month worked out by `pbr calculate` run as a user runs it: (its JSON, each
    (entry, component)'s line)."""
    done = pbr("calculate", "-m", str(model_path), "-p", month, "--returns", str(ws.returns),
               "--register", str(ws.register_path), "--json", "--dry-run")
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(done.stdout)
    return data, {(ln["entry"], ln["component"]): ln for p in data["providers"]
                  for ln in p["lines"]}


def test_a_tariff_paid_within_36_hours_and_reconvictions_counted_by_a_condition(scheme):
    """T1, May 2014. Admissions: P1 36h, P2 36h 1m, P3 10h 30m, P4 8h, P5 not operated on:
    in_time = 3 (P1, P3, P4), the tariff 3 × £1,335 = £4,005.00; T1's own target is 36 hours
    too: in_own_time = 3. Offenders: serious (INDICTABLE) = O1, O2, O3, O5 = 4; reconvicted
    within 12 months and not a summary offence = O1 (6), O2 (12) = 2; paid (4 − 2) × £100 =
    £200.00. Rows not counted, each warned: P5 (a blank Operated on) in in_time and
    in_own_time, O5 and O6 (a blank Reconvicted within months) in reconvicted_12.
    T2 (SOUTH, own target 48 hours): Q1 40h: in_time 0, in_own_time 1; £0.00."""
    ws, model_path = scheme
    ws.add_return("NORTH", "2014-05", {"Admissions": admissions("T1", T1_ADMISSIONS),
                                       "Offenders": offenders("T1", T1_OFFENDERS)})
    ws.add_return("SOUTH", "2014-05", {"Admissions": admissions("T2", [
        ("Q1", "2014-05-01 00:00", "2014-05-02 16:00")]), "Offenders": []})
    data, lines = calculate(ws, model_path, "2014-05")
    tariff, reoffending = lines[("T1", "tariff")], lines[("T1", "reoffending")]
    assert tariff["figures"] == {"admissions": 5, "in_time": 3, "in_own_time": 3}
    assert tariff["amount"] == "4005.00"
    assert reoffending["figures"] == {"serious": 4, "reconvicted_12": 2}
    assert reoffending["amount"] == "200.00"
    assert lines[("T2", "tariff")]["figures"] == {"admissions": 1, "in_time": 0,
                                                  "in_own_time": 1}
    assert lines[("T2", "tariff")]["amount"] == "0.00"
    assert data["totals"]["payment"] == "4205.00"
    said = [p["message"] for p in data["problems"] if p["code"] == "rows-not-counted"]
    assert said == [
        "contract T1: 1 row of Admissions not counted in in_time: the condition "
        "'operation_time - admission_time <= hours_target' cannot be worked out for it "
        "(a blank Operated on): 2014-05 row 6",
        "contract T1: 1 row of Admissions not counted in in_own_time: the condition "
        "'operation_time - admission_time <= own_target' cannot be worked out for it "
        "(a blank Operated on): 2014-05 row 6",
        "contract T1: 2 rows of Offenders not counted in reconvicted_12: the condition "
        "\"reconvicted_within_months <= 12 and offence_type != 'SUMMARY'\" cannot be worked "
        "out for them (a blank Reconvicted within months): 2014-05 row 6, 2014-05 row 7",
    ], said
    assert all(p["severity"] == "warning" for p in data["problems"]), data["problems"]


def test_hours_between_two_dates_and_times_are_exact():
    """14:30 on 3 May to 02:30 on 5 May is 36 hours; to 02:31, 36 1/60; 20 seconds less than
    an hour is 3580/3600 = 179/180. Earlier minus later is negative."""
    hours = parse("b - a")
    assert hours.evaluate({"a": at("2014-05-03 14:30"), "b": at("2014-05-05 02:30")}) == 36
    assert hours.evaluate({"a": at("2014-05-03 14:30"), "b": at("2014-05-05 02:31")}) == \
        Fraction(2161, 60)
    assert hours.evaluate({"a": datetime(2014, 5, 3, 14, 0, 0),
                           "b": datetime(2014, 5, 3, 14, 59, 40)}) == Fraction(179, 180)
    assert hours.evaluate({"a": at("2014-05-05 02:30"), "b": at("2014-05-03 14:30")}) == -36
    assert parse("b > a").evaluate({"a": at("2014-05-03 14:30"),
                                    "b": at("2014-05-03 14:31")}) is True


@pytest.mark.parametrize(("formula", "said"), [
    ("b - d", "a date and time takes only another date and time taken away"),
    ("b + 1", "a date and time takes only another date and time taken away"),
    ("b * 2", "a date and time takes only another date and time taken away"),
    ("b > d", "cannot compare a date and time (2014-05-03 14:30) with a date (2014-05-03)"),
    ("b == d", "cannot compare a date and time"),
])
def test_a_date_and_time_is_not_mixed_with_a_date_or_a_number(formula, said):
    with pytest.raises(ExprError, match=said.replace("(", r"\(").replace(")", r"\)")):
        parse(formula).evaluate({"b": at("2014-05-03 14:30"), "d": date(2014, 5, 3)})


def test_a_date_time_cell_read_from_a_real_workbook_as_excel_holds_it_and_as_text(scheme,
                                                                                tmp_path):
    """A return's Admitted cells written by a spreadsheet program (not pbr's template): C2 a
    date and time as Excel holds it (a serial with a fraction of a day, 41762.604166...,
    formatted yyyy-mm-dd hh:mm), C3 the same typed as text, C4 a whole day (00:00), C5 a
    time from June (outside the month), C6 a plain number, C7 text no calendar has. C2 and
    C4 are read; each other cell says file, sheet and cell."""
    ws, model_path = scheme
    path = ws.add_return("NORTH", "2014-05", {"Admissions": admissions("T1", [
        ("P1", "2014-05-03 14:30", None), ("P2", "2014-05-03 14:30", None),
        ("P3", "2014-05-03 14:30", None), ("P4", "2014-05-03 14:30", None),
        ("P5", "2014-05-03 14:30", None), ("P6", "2014-05-03 14:30", None)]),
        "Offenders": []})
    book = openpyxl.load_workbook(path)
    sheet = book["Admissions"]
    assert sheet["C1"].value == "Admitted"
    sheet["C2"].value = 41762 + Fraction(29, 48).__float__()  # 14:30 is 29/48 of a day
    sheet["C2"].number_format = "yyyy-mm-dd hh:mm"
    sheet["C3"].value, sheet["C3"].number_format = "2014-05-03 14:30", "@"
    sheet["C4"].value, sheet["C4"].number_format = date(2014, 5, 3), "yyyy-mm-dd"
    sheet["C5"].value = datetime(2014, 6, 1, 0, 30)
    sheet["C5"].number_format = "yyyy-mm-dd hh:mm"
    sheet["C6"].value, sheet["C6"].number_format = 7, "General"
    sheet["C7"].value, sheet["C7"].number_format = "2014-02-30 10:00", "@"
    written = tmp_path / "by-hand.xlsx"
    book.save(written)
    checked = check_return(read_workbook(written), ws.model, ws.register)
    table = checked.tables["Admissions"]
    # C2 as Excel holds it; C4, a whole day, is 00:00 (Excel holds the two alike)
    assert table["admission_time"].tolist()[0] == datetime(2014, 5, 3, 14, 30)
    assert table["admission_time"].tolist()[2] == datetime(2014, 5, 3, 0, 0)
    found = {(p.sheet, f"{p.column}{p.row}"): (p.code, p.message) for p in checked.problems}
    assert found == {
        ("Admissions", "C3"): ("date-as-text", "Admitted: '2014-05-03 14:30' is a date and "
                                               "time typed as text"),
        ("Admissions", "C5"): ("date-outside-period", found[("Admissions", "C5")][1]),
        ("Admissions", "C6"): ("date-as-number", "Admitted: 7 is a plain number, not a date "
                                                 "and time (format the cell as a date and "
                                                 "time)"),
        ("Admissions", "C7"): ("not-a-date", "Admitted: '2014-02-30 10:00' is not a date and "
                                             "time (enter the date and the time, e.g. "
                                             "2014-05-03 14:30)"),
    }, found
    assert "2014-06-01 00:30" in found[("Admissions", "C5")][1]
    assert all(p.file == str(written) for p in checked.problems)
    # the CLI says file, sheet and cell the same way, as a user runs it
    done = pbr("validate", str(written), "-m", str(model_path), "--register",
               str(ws.register_path))
    assert done.returncode == 1, done.stdout + done.stderr
    shown = " ".join(done.stdout.split())
    assert "Admissions" in shown and "C3" in shown and "typed as text" in shown, shown


def test_the_register_reads_a_date_and_time_written_as_text():
    """The register (a CSV: everything is text) takes 2014-05-03 14:30 and 03/05/2014
    14:30:15; a date alone has no time of day."""
    from pbr_cli.model.records import Column

    col = Column("t", "T", "date-time")  # type: ignore[arg-type]
    assert convert("2014-05-03 14:30", col, {}, from_text=True) == (
        datetime(2014, 5, 3, 14, 30), None, "")
    assert convert("03/05/2014 14:30:15", col, {}, from_text=True)[0] == datetime(
        2014, 5, 3, 14, 30, 15)
    assert convert("2014-05-03", col, {}, from_text=True)[1] == "not-a-date"
    # Excel's fraction of a day comes back a little either side of the minute
    assert convert(datetime(2014, 5, 3, 14, 29, 59, 999_990), col, {})[0] == at(
        "2014-05-03 14:30")


@pytest.mark.parametrize(("where", "said"), [
    ("reconvicted_within_month <= 12", "the formula uses 'reconvicted_within_month', which "
                                       "is not defined; did you mean "
                                       "'reconvicted_within_months'?"),
    ("reconvicted_within_months", "a condition must be a comparison that is true or false"),
    ("offence_type > 3", "cannot compare the text 'x' with a number (3)"),
    ("admission_time <= 36", "this condition cannot be worked out for any row: cannot compare "
                             "a date and time (2000-01-01 12:00) with a number (36)"),
    ("operation_time - period_start <= 36", "a date and time takes only another date and "
                                            "time taken away"),
    ("in_time > 0", "'in_time' is a measure: a condition reads the row's own columns"),
])
def test_models_check_refuses_a_condition_that_cannot_be_worked_out_at_its_line(
        tmp_path, where, said):
    """`pbr models check` works each condition out once with a value of each column's type:
    a name no column, register column or parameter has, a figure for a condition, a text or
    a date and time compared with a number, and an earlier measure (a condition reads the row,
    not the entry's figures) are refused at the `where` line."""
    sheet = "Offenders" if "offence" in where or "reconvicted" in where else "Admissions"
    text = MODEL.replace("  - name: in_own_time\n", f"  - name: tried\n    count: {sheet}\n"
                         f"    where: \"{where}\"\n  - name: in_own_time\n", 1)
    assert text != MODEL
    model_path = write_scheme(tmp_path, text)
    line = text[:text.index(f"where: \"{where}\"")].count("\n") + 1
    done = pbr("models", "check", str(model_path))
    out = " ".join(done.stdout.split() + done.stderr.split())
    assert done.returncode == 2, out
    assert f"{model_path}:{line}: measures" in out and said in out, out


def test_the_shipped_where_pairs_still_read_and_models_check_passes_the_scheme(tmp_path):
    done = pbr("models", "check", str(write_scheme(tmp_path)))
    assert done.returncode == 0, done.stdout + done.stderr
    model = load_model(write_scheme(tmp_path))
    serious = model.measure("serious")
    assert serious is not None and serious.where == (("offence_type", ("INDICTABLE",)),)
    assert serious.condition is None
    assert model.measure("in_time").condition.text == (  # type: ignore[union-attr]
        "operation_time - admission_time <= hours_target")


def test_a_date_time_column_in_the_return_template(scheme, tmp_path):
    """The template formats a date-time column's cells as a date and a time, so 14:30 typed
    in shows as 14:30 (and is read back as it was written)."""
    ws, _ = scheme
    path = ws.add_return("NORTH", "2014-05", {"Admissions": admissions("T1", [
        ("P1", "2014-05-03 14:30", "2014-05-05 02:30")]), "Offenders": []})
    sheet = openpyxl.load_workbook(path)["Admissions"]
    assert sheet["C2"].number_format == "yyyy-mm-dd hh:mm"
    assert sheet["C2"].value == at("2014-05-03 14:30")
    checked = check_return(read_workbook(path), ws.model, ws.register)
    assert checked.problems == []
    assert checked.tables["Admissions"]["operation_time"].tolist() == [at("2014-05-05 02:30")]


# -- the oracle: the same counts worked out plainly, over random rows ------------------------

def _oracle(adm_rows, off_rows, own_target: dict[str, int]) -> dict[tuple[str, str], int]:
    """Each measure by contract, from the docs' words alone: a row counts when its condition
    is true; a blank it has to read leaves it out. Hours are whole seconds / 3600."""
    out: dict[tuple[str, str], int] = {}
    for contract, _, admitted, operated in adm_rows:
        out[(contract, "admissions")] = out.get((contract, "admissions"), 0) + 1
        if operated is None:
            continue
        hours = Fraction(int((operated - admitted).total_seconds()), 3600)
        out[(contract, "in_time")] = out.get((contract, "in_time"), 0) + (hours <= 36)
        out[(contract, "in_own_time")] = out.get((contract, "in_own_time"), 0) + (
            hours <= own_target[contract])
    for contract, _, kind, months in off_rows:
        out[(contract, "serious")] = out.get((contract, "serious"), 0) + (kind == "INDICTABLE")
        if months is not None:  # `months <= 12 and ...` reads the months first
            out[(contract, "reconvicted_12")] = out.get((contract, "reconvicted_12"), 0) + (
                months <= 12 and kind != "SUMMARY")
    return out


def test_the_counts_agree_with_a_plain_count_over_random_rows(scheme):
    ws, model_path = scheme
    rng = random.Random(20140501)
    adm_rows, off_rows = [], []
    for i in range(160):
        contract = rng.choice(["T1", "T2"])
        admitted = datetime(2014, 5, 1) + timedelta(minutes=rng.randrange(31 * 24 * 60))
        if rng.random() < 0.1:  # 00:00, which the reader gives as a whole day
            admitted = admitted.replace(hour=0, minute=0)
        # around the targets: 34 to 50 hours, to the minute, sometimes to the second
        operated = admitted + timedelta(minutes=rng.randrange(34 * 60, 50 * 60),
                                        seconds=rng.choice([0, 0, 0, 1, 59]))
        adm_rows.append((contract, f"P{i}", admitted,
                         None if rng.random() < 0.1 else operated))
    for i in range(120):
        off_rows.append((rng.choice(["T1", "T2"]), f"O{i}",
                         rng.choice(["SUMMARY", "INDICTABLE"]),
                         None if rng.random() < 0.15 else rng.randrange(0, 25)))
    for provider, contract in (("NORTH", "T1"), ("SOUTH", "T2")):
        ws.add_return(provider, "2014-05", {
            "Admissions": [{"contract_id": c, "patient_id": p, "admission_time": a,
                            "operation_time": o} for c, p, a, o in adm_rows if c == contract],
            "Offenders": [{"contract_id": c, "offender_id": o, "offence_type": k,
                           "reconvicted_within_months": m}
                          for c, o, k, m in off_rows if c == contract]})
    _, lines = calculate(ws, model_path, "2014-05")
    expected = _oracle(adm_rows, off_rows, {"T1": 36, "T2": 48})
    for contract in ("T1", "T2"):
        figures = {**lines[(contract, "tariff")]["figures"],
                   **lines[(contract, "reoffending")]["figures"]}
        for name, value in figures.items():
            assert value == expected.get((contract, name), 0), (contract, name)


def test_a_condition_reads_the_month_of_year_from_the_schemes_year(tmp_path):
    """A scheme whose years start in June: May 2014 is the 12th month of 2013/14 and the
    year started on 1 June 2013. A `where` condition read month_of_year as if years started
    in April (May the 2nd month), so a count of May's admissions `where: month_of_year == 12`
    counted none. T1's five admissions are all in May: 5 at £1,335 = £6,675.00. (31 May 2014
    is 364 days after 1 June 2013.)"""
    text = MODEL.replace("  payments: real\n", "  payments: real\n  year_starts: 6\n", 1)
    text = text.replace("    where: operation_time - admission_time <= hours_target\n",
                        "    where: month_of_year == 12 and period_end - year_start == 364\n", 1)
    model_path = write_scheme(tmp_path, text)
    (tmp_path / "ws").mkdir()
    ws = Workspace(tmp_path / "ws", load_model(model_path), CONTRACTS, HEADER)
    ws.add_return("NORTH", "2014-05", {"Admissions": admissions("T1", T1_ADMISSIONS),
                                       "Offenders": offenders("T1", T1_OFFENDERS)})
    ws.add_return("SOUTH", "2014-05", {"Admissions": [], "Offenders": []})
    _, lines = calculate(ws, model_path, "2014-05")
    assert lines[("T1", "tariff")]["amount"] == "6675.00"


@pytest.mark.parametrize(("month", "year_starts", "place", "first"), [
    ((2016, 3), 4, 12, date(2015, 4, 1)),   # 2015/16 holds 29 February: 365 days to its end
    ((2015, 4), 4, 1, date(2015, 4, 1)),
    ((2014, 5), 6, 12, date(2013, 6, 1)),   # years from June
    ((2014, 6), 6, 1, date(2014, 6, 1)),
    ((2014, 1), 1, 1, date(2014, 1, 1)),    # calendar years
])
def test_the_contract_years_first_day_and_the_months_place_in_it(month, year_starts, place,
                                                                  first):
    """A contract in force from 2 April 2015 was taken for one in force the whole of 2015/16
    (`period_end - start >= 364` in March 2016, a leap year's 365-day span); `start <=
    year_start` says it for any year's length."""
    from pbr_cli.model.records import period_facts
    from pbr_cli.periods import Month

    facts = period_facts(Month(*month), year_starts)
    assert (facts["month_of_year"], facts["year_start"]) == (place, first)
