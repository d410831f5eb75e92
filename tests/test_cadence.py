"""A component paid quarterly or annually (`paid:`), its months in between accrued, and a fee
paid without a return (`without_return:`): docs/models.md, "Paid quarterly or annually, and
paid without a return". The worked example by hand, a model test, `pbr run` as a user runs
it (its workbooks read back cell by cell), `pbr models check` refusing each misuse at its
line, and a plain second reading of the rule over random monthly histories."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from pbr_cli.model import load_model
from pbr_cli.periods import Month
from pbr_cli.pricing.cadence import paying_month, period_first
from pbr_cli.pricing.worth import month_schedule
from pbr_cli.returns.collect import read_and_check
from tests.conftest import ROOT, Workspace

runner = CliRunner()

MODEL = """\
pbr_model: 1
scheme:
  name: hip-care
  title: Hip fracture care (a top-up paid quarterly)
  version: "1"
  start: 2014-04-01
  end: 2015-03-31
  period: month
  payments: real
parameters:
  per_patient: {value: 100, label: Paid per patient treated}
  top_up_rate: {value: 12.345, label: Hip-fracture top-up per patient}
register:
  file: hip-care.register.csv
  entity: ward
  key: ward_id
  provider: provider_code
  start: contract_start
  end: contract_end
  columns:
    - {name: ward_id, header: Ward ID, type: text}
    - {name: provider_code, header: Provider code, type: text}
    - {name: fee, header: Monthly fee, type: money, min: 0}
    - {name: contract_start, header: Contract start, type: date}
    - {name: contract_end, header: Contract end, type: date, required: false}
return:
  sheets:
    - name: Patients
      description: One row for each ward, filled in for the month.
      one_row_per: register-entry
      key: [ward_id]
      columns:
        - {name: ward_id, header: Ward ID, type: text, register: true, prefill: ward_id}
        - {name: patients, header: Patients treated, type: integer, min: 0}
measures:
  - {name: patients, sum: Patients.patients, format: integer}
payments:
  - name: care
    label: Care
    amount: patients * per_patient
    shows: [patients]
  - name: top_up
    label: Hip-fracture top-up
    amount: patients * top_up_rate
    shows: [patients]
    paid: quarterly
  - name: fee
    label: Contract fee
    amount: fee
    without_return: true
"""

HEADER = ["ward_id", "provider_code", "fee", "contract_start", "contract_end"]
# W2's contract ends mid-quarter (15 May); W3's starts mid-quarter (10 May), at P2.
WARDS = [["W1", "P1", "500", "2014-04-01", ""],
         ["W2", "P1", "300", "2014-04-01", "2014-05-15"],
         ["W3", "P2", "200", "2014-05-10", ""]]
# patients by month, provider and ward; P2 sends no May return (until the test says)
PLAN = {"2014-04": {"P1": {"W1": 1, "W2": 2}},
        "2014-05": {"P1": {"W1": 1, "W2": 3}},
        "2014-06": {"P1": {"W1": 1}, "P2": {"W3": 4}}}

TESTS = """\
pbr_model_tests: 1
cases:
  # May: W2's last month pays its quarter, 24.69 (2 x 12.345) + 37.04 (3 x 12.345 = 37.035);
  # W1's 12.35 accrues; P2 sent nothing and is paid its fee alone (Fee only).
  - name: "May 2014: W2 ends mid-quarter, P2 paid its fee without a return"
    month: 2014-05
    returns:
      P1:
        2014-04:
          Patients: [{ward_id: W1, patients: 1}, {ward_id: W2, patients: 2}]
        2014-05:
          Patients: [{ward_id: W1, patients: 1}, {ward_id: W2, patients: 3}]
    expect:
      P1: {total: 1261.73, care: 400.00, top_up: 61.73, fee: 800.00}
      P2: {total: 200.00, fee: 200.00, top_up: 0.00, care: 0.00}
  # June: W1's quarter, 12.35 + 12.35 + 12.35 = 37.05; W3's May added nothing (no return),
  # June 4 x 12.345 = 49.38.
  - name: "June 2014: the quarter paid"
    month: 2014-06
    returns:
      P1:
        2014-04:
          Patients: [{ward_id: W1, patients: 1}, {ward_id: W2, patients: 2}]
        2014-05:
          Patients: [{ward_id: W1, patients: 1}, {ward_id: W2, patients: 3}]
        2014-06:
          Patients: [{ward_id: W1, patients: 1}]
      P2:
        2014-06:
          Patients: [{ward_id: W3, patients: 4}]
    expect:
      P1: {total: 637.05, care: 100.00, top_up: 37.05, fee: 500.00}
      P2: {total: 649.38, care: 400.00, top_up: 49.38, fee: 200.00}
"""


def _register_text(rows: list[list[str]]) -> str:
    return ",".join(HEADER) + "\n" + "\n".join(",".join(r) for r in rows) + "\n"


@pytest.fixture
def model_path(tmp_path) -> Path:
    path = tmp_path / "models" / "hip-care.yaml"
    path.parent.mkdir()
    path.write_text(MODEL)
    (path.parent / "hip-care.register.csv").write_text(_register_text(WARDS))
    return path


def test_the_worked_example_as_a_model_test(model_path):
    model_path.with_name("hip-care.tests.yaml").write_text(TESTS)
    result = runner.invoke(app, ["models", "test", str(model_path)])
    assert result.exit_code == 0, result.output
    assert "2 of 2 case(s) pass" in result.output


def test_a_model_test_still_says_a_wrong_accrual_to_the_penny(model_path):
    """The quarter worked as one (3 x 12.345 = 37.035, £37.04) is not what is paid."""
    model_path.with_name("hip-care.tests.yaml").write_text(
        TESTS.replace("top_up: 37.05", "top_up: 37.04"))
    result = runner.invoke(app, ["models", "test", str(model_path)])
    assert result.exit_code == 1, result.output
    assert "P1 top_up: expected £37.04, got £37.05" in result.output


def _lines(path: Path, sheet: str = "Lines") -> list[dict]:
    """A schedule sheet's table (headings on row 5) as one dict a row, read back."""
    ws = openpyxl.load_workbook(path, read_only=True)[sheet]
    rows = list(ws.iter_rows(min_row=5, values_only=True))
    out = []
    for r in rows[1:]:
        if r[0] in (None, "Total"):  # the table's end (its totals, the notes under it)
            break
        out.append(dict(zip(rows[0], r, strict=True)))
    return out


def _money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


class Authority:
    """A folder as `pbr init` makes one, for the test's own model, run as a user runs it."""

    def __init__(self, root: Path):
        self.root = root
        models = root / "models"
        models.mkdir(parents=True)
        (models / "hip-care.yaml").write_text(MODEL)
        (models / "hip-care.register.csv").write_text(_register_text(WARDS))
        (root / "pbr.yaml").write_text("models: models\nreturns: returns\noutput: out\n"
                                       "schemes:\n  hip-care: {approval: automatic}\n")
        (root / "work").mkdir()
        self.ws = Workspace(root / "work", load_model(models / "hip-care.yaml"), WARDS, HEADER)
        self.ws.returns = root / "returns" / "hip-care"

    def send(self, month: str, provider: str, wards: dict[str, int]) -> None:
        self.ws.add_return(provider, month, {"Patients": [
            {"ward_id": w, "patients": n} for w, n in wards.items()]})

    def run(self) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k not in ("PBR_LEDGER", "PBR_CONFIG")}
        env["COLUMNS"] = "80"
        return subprocess.run([sys.executable, "-m", "pbr_cli", "run"], cwd=self.root,
                              capture_output=True, text=True, timeout=300, env=env)

    def schedule(self, month: str) -> Path:
        return self.root / "out" / "hip-care" / f"hip-care-{month}-schedule.xlsx"


def test_pbr_run_shows_accrued_lines_pays_the_quarter_and_the_fee_without_a_return(tmp_path):
    a = Authority(tmp_path / "authority")
    for month, providers in PLAN.items():
        for provider, wards in providers.items():
            a.send(month, provider, wards)
    done = a.run()
    assert done.returncode == 1, done.stdout + done.stderr  # P2's May return is missing
    assert "Traceback" not in done.stderr
    assert "nothing is paid but Contract fee, paid without a return" in done.stdout

    # April: both wards' top-ups accrue (12.345 -> 12.35; 2 x 12.345 = 24.69), in no total.
    april = {(r["Ward ID"], r["Component"]): r for r in _lines(a.schedule("2014-04"))}
    assert april[("W1", "Hip-fracture top-up")]["Kind"] == "Accrued"
    assert _money(april[("W1", "Hip-fracture top-up")]["Amount"]) == Decimal("12.35")
    assert april[("W1", "Hip-fracture top-up")]["When paid"] == "accrued: paid with 2014-06"
    assert april[("W2", "Hip-fracture top-up")]["When paid"] == "accrued: paid with 2014-05"
    assert april[("W1", "Care")]["When paid"] is None
    summary = {r["Provider code"]: r for r in _lines(a.schedule("2014-04"), "Summary")}
    # care 100 + 200, fees 500 + 300; the top-ups' 37.04 in no column and no total
    assert _money(summary["P1"]["Hip-fracture top-up"]) == Decimal("0.00")
    assert _money(summary["P1"]["PbR total"]) == Decimal("1100.00")

    # May: W2's last month pays its quarter; P2 sent nothing and is paid its fee alone.
    may = {(r["Ward ID"], r["Component"]): r for r in _lines(a.schedule("2014-05"))}
    w2 = may[("W2", "Hip-fracture top-up")]
    assert (w2["Kind"], _money(w2["Amount"])) == ("PbR", Decimal("61.73"))  # 24.69 + 37.04
    assert w2["When paid"] == "paid for 2014-04 £24.69 + 2014-05 £37.04"
    assert [k for k in may if k[0] == "W3"] == [("W3", "Contract fee")]
    summary = {r["Provider code"]: r for r in _lines(a.schedule("2014-05"), "Summary")}
    assert summary["P2"]["Status"] == "Fee only"
    assert _money(summary["P2"]["PbR total"]) == Decimal("200.00")
    assert summary["P2"]["Note"] == ("no return received for 2014-05; nothing is paid but "
                                     "Contract fee, paid without a return")
    assert summary["P1"]["Status"] == "Paid"

    # June: W1's quarter (12.35 x 3) and W3's June alone (4 x 12.345 = 49.38; May withheld).
    june = {(r["Ward ID"], r["Component"]): r for r in _lines(a.schedule("2014-06"))}
    w1, w3 = june[("W1", "Hip-fracture top-up")], june[("W3", "Hip-fracture top-up")]
    assert _money(w1["Amount"]) == Decimal("37.05")
    assert w1["When paid"] == "paid for 2014-04 £12.35 + 2014-05 £12.35 + 2014-06 £12.35"
    assert _money(w3["Amount"]) == Decimal("49.38")
    assert w3["When paid"] == "paid for 2014-05 £0.00 withheld + 2014-06 £49.38"

    warnings = [r["Message"] for r in _lines(a.schedule("2014-06"), "Warnings")]
    assert ("provider P2: no return for 2014-05; it adds nothing to the quarter's or year's "
            "payment (nor to a rolling window) until it comes") in warnings

    # Each provider's statement says the same: P1's May, its accrued and paid top-ups; P2's
    # May, Fee only.
    env = {k: v for k, v in os.environ.items() if k not in ("PBR_LEDGER", "PBR_CONFIG")}
    made = subprocess.run([sys.executable, "-m", "pbr_cli", "statements", "-m", "hip-care",
                           "-p", "2014-05"], cwd=a.root, capture_output=True, text=True,
                          timeout=300, env=env)
    assert made.returncode == 0, made.stdout + made.stderr
    folder = a.root / "out" / "hip-care" / "statements" / "2014-05"
    p1 = {(r["Ward ID"], r["Component"]): r
          for r in _lines(folder / "hip-care-2014-05-P1-statement.xlsx")}
    assert p1[("W1", "Hip-fracture top-up")]["Kind"] == "Accrued"
    assert p1[("W1", "Hip-fracture top-up")]["When paid"] == "accrued: paid with 2014-06"
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(
        folder / "hip-care-2014-05-P1-statement.pdf").pages).split())
    assert ("Accrued this month, paid later and in no total: Hip-fracture top-up £12.35 "
            "(paid with 2014-06).") in text
    assert "paid for 2014-04 £24.69 + 2014-05 £37.04" in text
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(
        folder / "hip-care-2014-05-P2-statement.pdf").pages).split())
    assert ("FEE ONLY: no return received for 2014-05; nothing is paid but Contract fee, "
            "paid without a return") in text

    # P2's May return comes (2 patients) after June was approved: the July draft carries
    # May's care (+£200.00) and June's top-up (+£24.69: 24.69 + 49.38 = 74.07 against 49.38).
    a.send("2014-05", "P2", {"W3": 2})
    a.send("2014-07", "P1", {"W1": 1})
    a.send("2014-07", "P2", {"W3": 1})
    done = a.run()
    assert done.returncode == 0, done.stdout + done.stderr
    adjustments = {(r["Month"], r["Provider code"], r["Component"]): r
                   for r in _lines(a.schedule("2014-07"), "Adjustments")}
    assert set(adjustments) == {("2014-05", "P2", "care"), ("2014-06", "P2", "top_up")}
    june_top_up = adjustments[("2014-06", "P2", "top_up")]
    assert (_money(june_top_up["Previously calculated"]), _money(june_top_up["Now"]),
            _money(june_top_up["Difference"])) == (Decimal("49.38"), Decimal("74.07"),
                                                   Decimal("24.69"))
    assert june_top_up["Reason"] == "P2's returns for 2014-05 changed since 2014-06 was approved"
    assert _money(adjustments[("2014-05", "P2", "care")]["Difference"]) == Decimal("200.00")


def test_the_json_says_accrued_lines_and_what_a_payment_adds(tmp_path, model_path):
    ws = Workspace(tmp_path, load_model(model_path), WARDS, HEADER)
    for month, providers in PLAN.items():
        for provider, wards in providers.items():
            ws.add_return(provider, month, {"Patients": [
                {"ward_id": w, "patients": n} for w, n in wards.items()]})

    def calculated(month: str) -> dict:
        result = runner.invoke(app, ["calculate", "-m", str(model_path), "-p", month,
                                     "--returns", str(ws.returns), "--register",
                                     str(ws.register_path), "--json", "--dry-run"])
        assert result.exit_code in (0, 1), result.output
        return json.loads(result.stdout)

    april = calculated("2014-04")
    w1 = next(ln for ln in april["providers"][0]["lines"]
              if (ln["entry"], ln["component"]) == ("W1", "top_up"))
    assert (w1["kind"], w1["amount"], w1["paid_with"]) == ("accrued", "12.35", "2014-06")
    assert "accrued" not in w1
    assert april["totals"]["payment"] == "1100.00"  # the accrued 37.04 in no total
    june = calculated("2014-06")
    w3 = next(ln for p in june["providers"] for ln in p["lines"]
              if (ln["entry"], ln["component"]) == ("W3", "top_up"))
    assert w3["kind"] == "payment" and "paid_with" not in w3
    assert w3["accrued"] == [
        {"month": "2014-05", "amount": "0.00", "nothing": "withheld"},
        {"month": "2014-06", "amount": "49.38", "nothing": None}]
    care = next(ln for ln in june["providers"][0]["lines"] if ln["component"] == "care")
    assert "accrued" not in care and "paid_with" not in care  # a monthly line says nothing new


@pytest.mark.parametrize(("year_starts", "paid", "month", "first"), [
    (4, "quarterly", "2014-06", "2014-04"), (4, "quarterly", "2014-07", "2014-07"),
    (4, "quarterly", "2015-02", "2015-01"), (4, "annually", "2015-03", "2014-04"),
    (6, "quarterly", "2014-05", "2014-03"), (6, "quarterly", "2014-06", "2014-06"),
    (6, "annually", "2014-05", "2013-06"), (1, "annually", "2014-12", "2014-01"),
])
def test_quarters_and_years_follow_the_contract_year(model_path, year_starts, paid, month,
                                                     first):
    model_path.write_text(MODEL.replace("  payments: real\n", "  payments: real\n"
                                        f"  year_starts: {year_starts}\n"))
    model = load_model(model_path)
    assert period_first(model, paid, Month.parse(month)) == Month.parse(first)


def test_the_paying_month_is_the_quarters_last_or_the_contracts(model_path):
    model = load_model(model_path)
    w1, w2, _ = ({"ward_id": r[0], "provider_code": r[1],
                  "contract_start": date.fromisoformat(r[3]),
                  "contract_end": date.fromisoformat(r[4]) if r[4] else None} for r in WARDS)
    assert paying_month(model, w1, "quarterly", Month(2014, 4)) == Month(2014, 6)
    assert paying_month(model, w2, "quarterly", Month(2014, 4)) == Month(2014, 5)
    assert paying_month(model, w1, "annually", Month(2014, 9)) == Month(2015, 3)
    # the scheme ends 31 March 2015: a year from January (year_starts 1) pays in March 2015
    model_path.write_text(MODEL.replace("  payments: real\n", "  payments: real\n"
                                        "  year_starts: 1\n"))
    model = load_model(model_path)
    assert paying_month(model, w1, "annually", Month(2015, 1)) == Month(2015, 3)


FEE_FROM_ROWS = ("    amount: fee\n    without_return: true",
                 "    amount: fee + busy * 10\n    without_return: true")


@pytest.mark.parametrize(("old", "new", "path", "words", "anchor"), [
    # a fee paid without a return cannot read the return, even through another measure
    (FEE_FROM_ROWS[0], FEE_FROM_ROWS[1], "payments[2].without_return",
     "fee's amount reads patients, added up from the return's rows", "without_return: true"),
    ("    paid: quarterly", "    paid: fortnightly", "payments[1].paid",
     "'fortnightly' is not one of: monthly, quarterly, annually", "paid: fortnightly"),
    ("    without_return: true", "    without_return: yes please", "payments[2].without_return",
     "true or false", "without_return: yes please"),
    ("payments:\n  - name: care", "comparison:\n  name: block\n  label: Block\n  amount: fee\n"
     "  paid: annually\npayments:\n  - name: care", "comparison.paid", "never paid",
     "  paid: annually"),
])
def test_models_check_refuses_a_misuse_at_its_line(model_path, old, new, path, words, anchor):
    text = MODEL.replace("measures:\n  - {name: patients, sum: Patients.patients, format: "
                         "integer}\n", "measures:\n  - {name: patients, sum: Patients.patients, "
                         "format: integer}\n  - {name: busy, expr: patients > 10}\n")
    assert old in text
    text = text.replace(old, new, 1)
    model_path.write_text(text)
    line = text[:text.index(anchor)].count("\n") + 1
    result = runner.invoke(app, ["models", "check", str(model_path)])
    assert result.exit_code == 2, result.output
    assert f"{model_path}:{line}: {path}: " in result.output, result.output
    assert words in " ".join(result.output.split())


def test_a_per_participant_fee_is_paid_monthly_with_its_participants(tmp_path):
    source = ROOT / "models" / "troubled-families.yaml"
    text = source.read_text() + ("payments:\n  - name: core\n    label: Core fee\n"
                                 "    amount: 100\n    paid: quarterly\n")
    target = tmp_path / source.name
    target.write_text(text)
    register = source.with_name("troubled-families.register.csv")
    (tmp_path / register.name).write_text(register.read_text())
    line = text.count("\n")
    result = runner.invoke(app, ["models", "check", str(target)])
    assert result.exit_code == 2, result.output
    assert f"{target}:{line}: payments[0].paid: " in result.output, result.output
    assert "are for a service-level model's payments" in " ".join(result.output.split())


# The oracle: the rule read from docs/models.md alone, worked out plainly for random monthly
# histories and compared with every line pbr makes. A second component is paid annually from a
# three-month rolling figure, so each earlier month must be worked out with its own window.
ORACLE_MODEL = MODEL.replace("""measures:
  - {name: patients, sum: Patients.patients, format: integer}
""", """measures:
  - {name: patients, sum: Patients.patients, format: integer}
  - {name: rolling, sum: Patients.patients, window: {months: 3}, format: integer}
""") + """  - name: bonus
    label: Annual bonus
    amount: rolling * 0.335
    paid: annually
"""
RATE = {"care": Decimal(100), "top_up": Decimal("12.345")}


def _pence(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _months(first: Month, last: Month) -> list[Month]:
    out = [first]
    while out[-1] < last:
        out.append(out[-1].plus(1))
    return out


def _expected(wards, history, year_starts: int) -> dict:
    """(month, ward, component) -> (kind, amount) as docs/models.md says them."""
    scheme = _months(Month(2014, 4), Month(2015, 3))

    def active(w, m: Month) -> bool:
        return w["start"] <= m.last_day and (w["end"] is None or w["end"] >= m.first_day)

    def good(w, m: Month) -> bool:  # the provider's return for m came in, without errors
        return history.get((w["provider"], m)) == "ok"

    def patients(w, m: Month) -> int:  # the ward's row of the month, when it was counted
        return w["patients"][m] if active(w, m) and good(w, m) else 0

    def figure(w, name: str, m: Month) -> Decimal:
        if name == "bonus":  # the three months to m, never before the scheme start
            rows = sum(patients(w, k) for k in scheme if m.plus(-2) <= k <= m)
            return _pence(Decimal(rows) * Decimal("0.335"))
        return _pence(Decimal(patients(w, m)) * RATE[name])

    def span(m: Month, size: int) -> list[Month]:
        offset = (m.year * 12 + m.month - year_starts) % size  # months since the span began
        start = m.plus(-offset)
        return [start.plus(i) for i in range(size)]

    out = {}
    for m in scheme:
        for w in wards:
            if not active(w, m):
                continue
            out[(m, w["id"], "fee")] = ("payment", w["fee"])
            if not good(w, m):
                continue  # withheld: the fee alone
            out[(m, w["id"], "care")] = ("payment", figure(w, "care", m))
            for name, size in (("top_up", 3), ("bonus", 12)):
                months = [k for k in span(m, size) if k in scheme and active(w, k)]
                if m != months[-1]:
                    out[(m, w["id"], name)] = ("accrued", figure(w, name, m))
                else:
                    out[(m, w["id"], name)] = ("payment", sum(
                        (figure(w, name, k) for k in months if good(w, k)), Decimal("0.00")))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_paid_lines_agree_with_a_plain_reading_of_the_rule(tmp_path, seed):
    rng = random.Random(seed)
    year_starts = rng.choice([4, 1, 6, 10])
    model_path = tmp_path / "hip-care.yaml"
    model_path.write_text(ORACLE_MODEL.replace("  payments: real\n", "  payments: real\n"
                                               f"  year_starts: {year_starts}\n"))
    model = load_model(model_path)
    scheme = _months(Month(2014, 4), Month(2015, 3))
    wards = []
    for i in range(4):
        start = rng.choice(scheme[:8]).plus(0).first_day.replace(day=rng.choice([1, 10, 28]))
        end = (rng.choice([k for k in scheme if k.first_day > start]).first_day.replace(
            day=rng.choice([1, 15, 28])) if rng.random() < 0.5 else None)
        wards.append({"id": f"W{i}", "provider": f"P{i % 2}", "fee": Decimal(100 + 50 * i),
                      "start": start, "end": end,
                      "patients": {m: rng.randint(0, 9) for m in scheme}})
    rows = [[w["id"], w["provider"], str(w["fee"]), w["start"].isoformat(),
             w["end"].isoformat() if w["end"] else ""] for w in wards]
    (tmp_path / "hip-care.register.csv").write_text(_register_text(rows))
    (tmp_path / "ws").mkdir()
    ws = Workspace(tmp_path / "ws", model, rows, HEADER)
    history = {}
    for m in scheme:
        for provider in ("P0", "P1"):
            mine = [w for w in wards if w["provider"] == provider and w["start"] <= m.last_day
                    and (w["end"] is None or w["end"] >= m.first_day)]
            state = rng.choices(["ok", "missing", "faulty"], [8, 1, 1])[0]
            history[(provider, m)] = state
            if state == "missing" or not mine:
                continue
            ws.add_return(provider, str(m), {"Patients": [
                {"ward_id": w["id"],
                 "patients": -1 if state == "faulty" else w["patients"][m]} for w in mine]})
    collection = read_and_check(sorted(ws.returns.rglob("*.xlsx")), model, ws.register,
                                cache=None)
    got = {}
    for m in scheme:
        for ln in month_schedule(model, ws.register, m, collection).lines:
            got[(m, ln.entry, ln.component)] = (str(ln.kind), ln.amount)
    assert got == _expected(wards, history, year_starts)
