"""`pbr forecast`: worked examples by hand (a steady service-level month, a cohort rate
crossing a band boundary, an annual cap reached mid-year), what-ifs, the workbook read back,
and bad input — all through the command line as a subprocess would run it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from tests.conftest import (
    COHORT_MODEL_PATH,
    COHORT_REGISTER_HEADER,
    MODEL_PATH,
    CohortReturns,
    Workspace,
    outcomes,
)

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def forecast(ws: Workspace, model: Path, *extra: str, config: Path | None = None):
    args = ["forecast", "--model", str(model), "--returns", str(ws.returns),
            "--register", str(ws.register_path), "--simulations", "20", "--json",
            "-o", str(ws.root / "forecast.xlsx"), *extra]
    if config is not None:
        args += ["--config", str(config)]
    return runner.invoke(app, args)


def months(data, outlook="base"):
    return {m["month"]: m for m in data[outlook]["months"]}


def provider(data, code, outlook="base"):
    return next(p for p in data[outlook]["providers"] if p["provider"] == code)


# -- a service-level scheme at a steady rate -------------------------------------------------

STEADY_REGISTER = [
    ["S002", "P2", "Second Provider", "Second scheme", "OP", "ACC", "10", "60000", "2012-04-01",
     "2013-08-15"],
]


def steady(ws: Workspace) -> None:
    """April to June 2013 alike: no void days, and 5 of 5 outcomes achieved each month."""
    for month in ("2013-04", "2013-05", "2013-06"):
        y, m = map(int, month.split("-"))
        ws.add_return("P2", month, {"Utilisation": [{"service_id": "S002", "void_days": 0}],
                                    "Outcomes": outcomes("S002", f"D{m}", date(y, m, 10), 5)})


HAND_TABLE = {"service-level": {"total": {1: [(0.1, -0.1), (0.9, 0.2)]},
                                "provider": {1: [(0.1, -0.2), (0.9, 0.1)]}},
              "cohort": {"total": {1: [(0.1, -0.3), (0.9, 0.5)]}}}


@pytest.fixture
def hand_calibration(monkeypatch):
    """The calibration table (forecast/calibration.py) replaced by one given by hand."""
    monkeypatch.setattr("pbr_cli.forecast.ranges.QUANTILES", HAND_TABLE)


def test_a_steady_service_is_projected_at_its_rate_until_its_contract_ends(tmp_path, model,
                                                                           hand_calibration):
    ws = Workspace(tmp_path, model, STEADY_REGISTER)
    steady(ws)
    result = forecast(ws, MODEL_PATH, "--period", "2013-04..2013-09", "--no-budget")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["forecast"]
    assert data["recorded_months"] == ["2013-04", "2013-05", "2013-06"]
    assert data["projected_months"] == ["2013-07", "2013-08", "2013-09"]
    by = months(data)
    # By hand: full utilisation (factor 1) and every outcome achieved (factor 1), so each whole
    # month pays its monthly value: 60,000 / 12 = 5,000.00 (4,500.00 + 500.00).
    assert by["2013-07"]["expected"] == "5000.00"
    # The contract ends on 15 August: 15 of 31 days. Each line is rounded on its own:
    # 4,500 x 15 / 31 = 2,177.419.. -> 2,177.42 and 500 x 15 / 31 = 241.935.. -> 241.94,
    # so the month is 2,419.36 (not 5,000 x 15 / 31 rounded once, 2,419.35).
    assert by["2013-08"]["expected"] == "2419.36"
    # September: no contract, nothing.
    assert by["2013-09"]["expected"] == "0.00"
    # Every draw is alike, but a range is the expected figure scaled by the calibrated
    # relative errors (here a table given by hand: the scheme's total one month ahead
    # actual/expected - 1 from -10% at the 10th percentile to +20% at the 90th). July, one
    # month ahead: 5,000 x 0.9 = 4,500.00 to 5,000 x 1.2 = 6,000.00. August, two months
    # ahead, beyond the table: grown by √2, -14.1421% and +28.2843% (to six places):
    # 2,419.36 x 0.858579 = 2,077.2117.. -> 2,077.21; x 1.282843 = 3,103.6594.. -> 3,103.66.
    # No top is above the most that could be paid: July's contract month, £5,000.00;
    # August's, 5,000 x 15 / 31 = 2,419.354.. -> 2,419.35, is a penny below the expected
    # figure (its two lines rounded one by one), so its top is the expected £2,419.36.
    assert (by["2013-07"]["low"], by["2013-07"]["high"]) == ("4500.00", "5000.00")
    assert (by["2013-08"]["low"], by["2013-08"]["high"]) == ("2077.21", "2419.36")
    p2 = provider(data, "P2")
    july = next(m for m in p2["months"] if m["month"] == "2013-07")
    assert july["components"] == {"utilisation": "4500.00", "outcomes": "500.00"}
    recorded = sum(Decimal(by[m]["expected"]) for m in ("2013-04", "2013-05", "2013-06"))
    assert recorded == Decimal("15000.00")
    assert data["base"]["total"]["expected"] == str(recorded + Decimal("7419.36"))
    # The period: recorded £15,000.00 plus the projected months, whose sides add up:
    # 22,419.36 - (500.00 + 342.15) = 21,577.21 and 22,419.36 + (1,000.00 + 684.30) =
    # 24,103.66, brought down to the most that could be paid, 15,000.00 + 5,000.00 +
    # 2,419.35 = 22,419.35, and so to the expected total a penny above it.
    assert (data["base"]["total"]["low"], data["base"]["total"]["high"]) == ("21577.21",
                                                                           "22419.36")
    assert data["most_payable"] == "22419.35"


def test_no_range_top_is_above_the_most_that_could_be_paid(tmp_path, model, hand_calibration):
    """The steady service of the test above, forecast to July 2013 only. Its contract is
    £60,000 a year: at most £5,000.00 a month (a service-level factor is at most 1), and the
    most that could be paid over April to July is the recorded £15,000.00 plus July's
    £5,000.00 = £20,000.00. July's expected figure is that £5,000.00 (full utilisation,
    every outcome); the calibrated range (a table by hand: -10% to +20%) would run from
    £4,500.00 to £6,000.00, but nothing can pay £6,000.00: the top is the contract's month,
    £5,000.00, for the provider and the scheme; the period's top the most, £20,000.00 (its
    bottom £20,000.00 - £500.00 = £19,500.00, as calibrated)."""
    ws = Workspace(tmp_path, model, STEADY_REGISTER)
    steady(ws)
    result = forecast(ws, MODEL_PATH, "--period", "2013-04..2013-07", "--no-budget")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["forecast"]
    assert data["most_payable"] == "20000.00"
    july = months(data)["2013-07"]
    assert (july["expected"], july["low"], july["high"]) == ("5000.00", "4500.00", "5000.00")
    total = data["base"]["total"]
    assert (total["expected"], total["low"], total["high"]) == ("20000.00", "19500.00",
                                                                "20000.00")
    # P2's own, by the providers' table (-20% to +10%): £15,000.00 + £5,000.00 x 0.8 =
    # £19,000.00 to £15,000.00 + £5,500.00, brought down to its contract's £20,000.00
    assert (provider(data, "P2")["low"], provider(data, "P2")["high"]) == ("19000.00",
                                                                          "20000.00")


def test_a_what_if_on_a_measure_and_a_parameter_is_shown_beside_the_base_case(tmp_path, model):
    ws = Workspace(tmp_path, model, STEADY_REGISTER)
    steady(ws)
    result = forecast(ws, MODEL_PATH, "--period", "2013-04..2013-09", "--no-budget",
                      "--what-if", "utilisation=76%", "--what-if",
                      "outcome_share=0.2 from 2013-08")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["forecast"]
    what_if = months(data, "what_if")
    # July: utilisation 76% against the 95% target is a factor of 0.8: 0.9 x 5,000 x 0.8 =
    # 3,600.00, plus the outcomes' 500.00.
    assert what_if["2013-07"]["expected"] == "4100.00"
    # August (15 of 31 days): 4,500 x 15 / 31 x 0.8 = 1,741.935.. -> 1,741.94; outcomes now
    # 20% of 5,000 x 15 / 31 = 483.870.. -> 483.87.
    assert what_if["2013-08"]["expected"] == "2225.81"
    assert what_if["2013-06"]["expected"] == "5000.00"  # recorded months do not change
    assert months(data)["2013-07"]["expected"] == "5000.00"  # the base case does not either
    assert data["what_if"]["changes"] == ["utilisation=76%", "outcome_share=0.2 from 2013-08"]


# -- a cohort scheme whose completion rate crosses a band ------------------------------------

def single(ws_root: Path, cohort_model, cap: str = "") -> Workspace:
    return Workspace(ws_root, cohort_model,
                     [["P1", "First Recovery Service", "Community recovery", "2012-04-01", "",
                       cap]], COHORT_REGISTER_HEADER)


def test_a_cohort_crossing_a_band_boundary_is_paid_the_new_band_from_that_month(
        tmp_path, cohort_model, hand_calibration):
    """Nine Medium clients present in April 2012; in May and in June one more presents and
    one earlier episode completes successfully, so nine episodes stay open. With --basis 1
    every projected month is June again: one presentation and one successful completion
    (as many discharges as then, since as many episodes are open).

    Completion over the window (from the scheme start): June 2 of 11 episodes (18.2%, the
    band from 15%, £300); July 3 of 12 = exactly 25%: the band from 25% (lower bounds
    count), £450; August 4/13, September 5/14 (35.7%): £450; October 6/15 = exactly 40%:
    the band from 40%, £600. Each month also pays one tariff of £300."""
    ws = single(tmp_path, cohort_model)
    data = CohortReturns()
    for i in range(9):
        data.present("P1", f"A{i}", date(2012, 4, 2 + i), "M")
    for month, done in ((5, 0), (6, 1)):
        data.present("P1", f"N{month}", date(2012, month, 3), "M")
        data.discharge("P1", f"A{done}", date(2012, 4, 2 + done), date(2012, month, 20),
                       "TCDF", "M")
    data.write(ws, "2012-04", "2012-06", providers=("P1",))
    result = forecast(ws, COHORT_MODEL_PATH, "--period", "2012-04..2012-10", "--basis", "1",
                      "--no-budget")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)["forecast"]
    p1 = {m["month"]: m["components"] for m in provider(out, "P1")["months"]}
    assert p1["2012-06"]["completion"] == "300.00"  # recorded: 18.2%, the band from 15%
    for month in ("2012-07", "2012-08", "2012-09"):
        assert p1[month] == {"presentation": "300.00", "completion": "450.00",
                             "abstinence": "0.00", "non_representation": "0.00"}, month
    assert p1["2012-10"] == {"presentation": "300.00", "completion": "600.00",
                             "abstinence": "0.00", "non_representation": "0.00"}
    # Every draw is alike, so the simulations agree on £900.00; the range is the calibrated
    # relative errors (a table by hand: -30% to +50% one month ahead) grown by √4 (October
    # is four months ahead, beyond the table): -60% and +100%: £360.00 to £1,800.00.
    assert (months(out)["2012-10"]["low"], months(out)["2012-10"]["high"]) == ("360.00",
                                                                               "1800.00")


def five_new_clients_a_month(ws: Workspace) -> None:
    """April to June 2012: five new Medium clients a month at P1, nothing else."""
    data = CohortReturns()
    for month in (4, 5, 6):
        for k in range(5):
            data.present("P1", f"C{month}-{k}", date(2012, month, 2 + k), "M")
    data.write(ws, "2012-04", "2012-06", providers=("P1",))


def test_a_provider_reaching_its_annual_cap_mid_year(tmp_path, cohort_model):
    """Five new Medium clients a month earn 5 x £300 = £1,500 a month. With a cap of £5,000 a
    financial year: April, May and June recorded (£4,500), July £500 (reduced by the cap),
    August to March nothing. The cap is said to be reached from July."""
    ws = single(tmp_path, cohort_model, cap="5000")
    five_new_clients_a_month(ws)
    result = forecast(ws, COHORT_MODEL_PATH, "--period", "2012/13", "--no-budget")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)["forecast"]
    by = months(out)
    assert [by[m]["expected"] for m in ("2012-04", "2012-05", "2012-06")] == ["1500.00"] * 3
    assert by["2012-07"]["expected"] == "500.00"
    assert all(by[m]["expected"] == "0.00" for m in out["projected_months"][1:])
    p1 = provider(out, "P1")
    assert p1["expected"] == "5000.00" and p1["low"] == p1["high"] == "5000.00"
    assert p1["limit_reached"] == {"month": "2012-07", "share": 1.0}
    # The workbook says the same.
    wb = openpyxl.load_workbook(ws.root / "forecast.xlsx")
    assert wb.sheetnames == ["Forecast", "Providers", "By month", "Charts", "Assumptions"]
    rows = {r[0]: r for r in wb["Providers"].iter_rows(values_only=True) if r[0] == "P1"}
    assert rows["P1"][2:8] == (4500, 500, 5000, 5000, 5000, "from 2012-07 (in 100% of "
                                                             "simulations)")
    sheet = wb["Forecast"]
    facts = {r[0]: r[1] for r in sheet.iter_rows(values_only=True) if r[0]}
    assert facts["Expected total for the period"] == 5000
    assert facts["Recorded so far"] == 4500
    month_rows = {r[0]: r for r in sheet.iter_rows(values_only=True)
                  if isinstance(r[0], str) and r[0].startswith("2012-")}
    assert month_rows["2012-06"][1:4] == ("recorded", 1500, None)
    assert month_rows["2012-07"][1:6] == ("projected", None, 500, 500, 500)
    assumptions = [r[0] for r in wb["Assumptions"].iter_rows(min_row=6, values_only=True)]
    assert "Method" in assumptions and "Range" in assumptions


def test_the_budget_and_a_volume_what_if(tmp_path, cohort_model):
    ws = single(tmp_path, cohort_model)
    five_new_clients_a_month(ws)
    config = tmp_path / "pbr.yaml"
    config.write_text("schemes:\n  wigan-cohort:\n    budget: {2012/13: 17000}\n")
    result = forecast(ws, COHORT_MODEL_PATH, "--period", "2012/13", "--what-if", "volume+100%",
                      config=config)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)["forecast"]
    # 12 months x £1,500 = £18,000 against £17,000: passed in every simulation.
    assert out["budget"] == "17000.00"
    assert out["base"]["total"]["expected"] == "18000.00"
    assert out["base"]["total"]["over_budget_chance"] == 1.0
    # Twice the new clients: 9 projected months x £3,000 more... = £4,500 + 9 x £3,000.
    assert out["what_if"]["total"]["expected"] == "31500.00"


# -- bad input -----------------------------------------------------------------------------

def test_bad_input_is_told_clearly_with_its_exit_code(tmp_path, cohort_model):
    ws = single(tmp_path, cohort_model)
    data = CohortReturns()
    data.present("P1", "C1", date(2012, 4, 2), "M")
    data.write(ws, "2012-04", "2012-05", providers=("P1",))
    cases = [
        (["--period", "2013/14", "--no-budget"], "forecast-no-months",
         "no month of 2013/14 (2013-04-01 to 2014-03-31) has returns recorded"),
        (["--period", "2012/13"], "budget-missing", "no budget for wigan-cohort 2012/13"),
        (["--no-budget", "--what-if", "completoin+5 points"], "bad-what-if",
         "'completoin' is not an outcome with a rule on its events of this model; did you "
         "mean 'completion'?"),
        (["--no-budget", "--what-if", "tariff=300"], "bad-what-if", "is not a parameter"),
        (["--no-budget", "--what-if", "completion is better"], "bad-what-if",
         "is not a what-if pbr understands"),
        (["--no-budget", "--as-at", "2011-12"], "forecast-no-months",
         "no month of wigan-cohort has returns"),
        (["--no-budget", "--period", "2012/13", "--to", "2012-12"], "usage",
         "give --period or --to, not both"),
    ]
    for extra, code, words in cases:
        result = forecast(ws, COHORT_MODEL_PATH, *extra)
        assert result.exit_code == 2, (extra, result.output)
        error = json.loads(result.stdout)["error"]
        assert error["code"] == code, extra
        assert words in error["message"], (extra, error["message"])
    assert not (ws.root / "forecast.xlsx").exists()


def test_forecast_as_a_user_runs_it_on_the_shipped_samples(tmp_path):
    """A real subprocess on the shipped Wigan samples, piped (every width is checked in
    test_console_width.py); the same forecast twice gives the same workbook, byte for byte;
    nothing is recorded."""
    out = tmp_path / "f.xlsx"
    args = [sys.executable, "-m", "pbr_cli", "forecast", "-m", "wigan-cohort", "-p", "2013/14",
            "--no-budget", "--simulations", "10", "-o", str(out)]
    env = {"COLUMNS": "80", "PBR_LEDGER": str(tmp_path / "ledger.sqlite"),
           "PATH": "/usr/bin:/bin", "PBR_CACHE": "off"}
    first = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "FORECAST — NOT FOR PAYMENT" in first.stdout
    assert "| P1       | Wigan Recovery Partnership |" in first.stdout
    one = out.read_bytes()
    second = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env,
                            timeout=300)
    assert second.returncode == 0 and out.read_bytes() == one
    assert not (tmp_path / "ledger.sqlite").exists()


def test_what_if_forms_change_what_they_name(cohort_model, model):
    """Each form changes what it says, from the month it says, and nothing else."""
    from fractions import Fraction

    from pbr_cli.forecast.scenario import parse_scenario
    from pbr_cli.periods import Month

    first = Month(2013, 10)
    assert parse_scenario(["volume+10%"], cohort_model, first).volume.new_people == 0.1
    assert parse_scenario(["completion-5 points"], cohort_model,
                          first).volume.outcome_points == {"completion": -0.05}
    priced = parse_scenario(["completion price+10% from 2013-12"], cohort_model,
                            first).model_for(cohort_model)

    def medium(m: Month) -> list[Fraction]:
        outcome = priced(m).cohort.outcome("completion")
        return [b.price for b in outcome.bands["M"]]

    assert medium(Month(2013, 11)) == [300, 450, 600]
    assert medium(Month(2013, 12)) == [330, 495, 660]
    assert priced(Month(2013, 12)).cohort.tariff.prices["M"] == 300  # the tariff untouched

    # A parameter from a month: the old figure before it, the new one from its first day.
    changed = parse_scenario(["utilisation_target=0.9 from 2013-08"], model,
                             Month(2013, 7)).model_for(model)(Month(2013, 8))
    assert changed.values_on(date(2013, 7, 31))["utilisation_target"] == Fraction(95, 100)
    assert changed.values_on(date(2013, 8, 1))["utilisation_target"] == Fraction(9, 10)
    # From a month before the scheme began: the new figure throughout (it was the old one
    # from the scheme's start: both figures were given the same first day).
    early = parse_scenario(["utilisation_target=0.9 from 2012-01"], model,
                           Month(2013, 7)).model_for(model)(Month(2013, 8))
    assert early.values_on(model.start)["utilisation_target"] == Fraction(9, 10)
    assert early.values_on(date(2013, 9, 1))["utilisation_target"] == Fraction(9, 10)


def test_a_statement_can_carry_the_providers_projected_income(tmp_path, cohort_model):
    """The capped provider's June statement, with --forecast: its projected income for the
    rest of 2012/13 (July £500, then nothing) in the workbook and the PDF."""
    from pypdf import PdfReader

    ws = single(tmp_path, cohort_model, cap="5000")
    five_new_clients_a_month(ws)
    folder = tmp_path / "statements"
    result = runner.invoke(app, ["statements", "--model", str(COHORT_MODEL_PATH), "-p",
                                 "2012-06", "--returns", str(ws.returns), "--register",
                                 str(ws.register_path), "--forecast", "-o", str(folder)])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(next(folder.glob("*.xlsx")))
    sheet = book["Projected income"]
    rows = [r for r in sheet.iter_rows(values_only=True) if r[0]]
    months_shown = {r[0]: r[1:4] for r in rows if str(r[0]).startswith("2012-")
                    or str(r[0]).startswith("2013-")}
    assert months_shown["2012-07"] == (500, 500, 500)
    assert months_shown["2013-03"] == (0, 0, 0)
    total = next(r for r in rows if r[0] == "Months to come")
    assert total[1:4] == (500, 500, 500)
    assert any("A FORECAST, NOT A PAYMENT" in str(r[0]) for r in rows)
    text = "".join(page.extract_text() for page in PdfReader(next(folder.glob("*.pdf"))).pages)
    assert "Projected income (a forecast, not a payment)" in text
    assert "Months to come" in text and "£500.00" in text


def test_the_shipped_budget_from_the_register_is_the_block_contracts_value(tmp_path):
    """Birmingham's budget is `budget: {register: annual_value}`: a twelfth of each service's
    value a month, pro rata, each rounded as a line is — the report's block total, to the
    penny."""
    config = ["--config", str(ROOT / "pbr.yaml")]
    out = json.loads(runner.invoke(app, ["forecast", "-m", "birmingham-90-10", "--json",
                                         "--simulations", "10", "-o", str(tmp_path / "f.xlsx"),
                                         *config]
                                   ).stdout)["forecast"]
    report = json.loads(runner.invoke(app, ["report", "-m", "birmingham-90-10", "-p",
                                            "2013/14", "--json", "-o",
                                            str(tmp_path / "r.xlsx"), *config]
                                      ).stdout)["reports"][0]
    assert out["budget"] == report["totals"]["comparison"] == "2639654.71"
    assert out["base"]["total"]["expected"] == report["totals"]["payment"]
    assert out["base"]["total"]["over_budget_chance"] == 0.0


def test_a_budget_that_is_not_an_amount_is_refused(tmp_path):
    config = tmp_path / "pbr.yaml"
    config.write_text("schemes:\n  wigan-cohort:\n    budget: {2013/14: lots}\n")
    result = runner.invoke(app, ["forecast", "-m", "wigan-cohort", "--config", str(config)])
    assert result.exit_code == 2
    assert "budget: 2013/14: 'lots' is not an amount in pounds" in result.output


def test_volume_is_refused_for_a_scheme_without_clients(model):
    from pbr_cli.errors import PbrError
    from pbr_cli.forecast.scenario import parse_scenario
    from pbr_cli.periods import Month

    with pytest.raises(PbrError) as err:
        parse_scenario(["volume+10%"], model, Month(2013, 7))
    assert err.value.code == "bad-what-if"
    assert "change a measure instead (e.g. utilisation=90%)" in err.value.message


def test_ranges_are_by_nearest_rank_and_expected_lines_sum_to_totals():
    from pbr_cli.forecast import percentile_range

    values = [Decimal(v) for v in range(1, 101)]  # 1..100
    assert percentile_range(values, 80) == (Decimal(10), Decimal(90))
    assert percentile_range(values[:10], 80) == (Decimal(1), Decimal(9))
    assert percentile_range([Decimal(5)], 90) == (Decimal(5), Decimal(5))


@pytest.mark.parametrize("name", ["birmingham-90-10", "wigan-cohort", "troubled-families",
                                  "work-programme", "transforming-rehabilitation"])
def test_projected_returns_are_ones_the_checks_across_files_accept(name):
    """The returns made for the months to come never contradict the recorded ones (a client
    presenting again while in treatment, a discharge of no episode...): in no simulation is
    a provider withheld for an error in a projected month."""
    import random

    from pbr_cli.cycle.config import load_config
    from pbr_cli.forecast import _copies, draws_for
    from pbr_cli.forecast.simulate import Projector, Volume
    from pbr_cli.model import find_model, load_model
    from pbr_cli.pricing import calculate, history_months
    from pbr_cli.pricing.worth import read_months
    from pbr_cli.returns.folders import months_with_returns
    from pbr_cli.returns.register import load_register

    cfg = load_config(ROOT / "pbr.yaml")
    model = load_model(find_model(name, cfg.models))
    register = load_register(model, None)
    root = cfg.returns_for(name)
    recorded = [m for m in months_with_returns(root) if model.covers(m)]
    as_at = recorded[-4] if model.end < recorded[-1].plus(3).first_day else recorded[-1]
    collection = read_months(cfg.cache, model, register, root, recorded, None)
    returns = [r for r in collection.returns if r.month <= as_at]
    draws = draws_for(model, returns, as_at, 12)
    ahead = [as_at.plus(i) for i in (1, 2, 3)]
    for s in range(4):
        projector = Projector(model, register, returns, draws, random.Random(s), Volume())
        made = [r for month in ahead for r in projector.month(month)]
        assert made, name
        for month in ahead:
            inputs = [r for r in returns + made if r.month in set(history_months(model, month))]
            schedule = calculate(model, register, month, _copies(inputs))
            errors = [p.message for p in schedule.problems if p.is_error]
            assert not schedule.withheld and not errors, (name, s, month, errors[:3])


def test_a_provider_with_no_usable_return_is_projected_from_the_register_and_named(
        tmp_path, model):
    """P3's only returns have errors (a negative count of void days): none can be drawn. Its
    contract is in the register: £120,000 a year, twice P2's £60,000. Each month to come it
    is paid what P2 (the provider with returns) is paid per pound of contract value: P2's
    July is £4,500.00 + £500.00 on £5,000.00 of contract (a twelfth of £60,000), so P3's
    £10,000.00 of contract is paid £9,000.00 + £1,000.00. It is named beside the totals (the
    JSON's no_basis, the workbook's Forecast sheet, the console's headline), and the most
    the commissioner could pay is stated: recorded £15,000.00 (P2's three months; P3's are
    withheld) plus three months of both contracts, 3 x (£5,000 + £10,000) = £60,000.00."""
    ws = Workspace(tmp_path, model, [
        ["S002", "P2", "Second Provider", "Second scheme", "OP", "ACC", "10", "60000",
         "2012-04-01", ""],
        ["S003", "P3", "Third Provider", "Third scheme", "OP", "ACC", "10", "120000",
         "2012-04-01", ""]])
    steady(ws)
    for month in ("2013-04", "2013-05", "2013-06"):
        ws.add_return("P3", month, {"Utilisation": [{"service_id": "S003", "void_days": -5}],
                                    "Outcomes": []})
    result = forecast(ws, MODEL_PATH, "--period", "2013-04..2013-09", "--no-budget")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)["forecast"]
    p3 = provider(out, "P3")
    assert [m["expected"] for m in p3["months"]] == ["0.00"] * 3 + ["10000.00"] * 3
    assert p3["months"][3]["components"] == {"utilisation": "9000.00", "outcomes": "1000.00"}
    said = {a["topic"]: a["text"] for a in out["assumptions"]}
    assert said["No months to draw from"].startswith("P3:")
    assert "per pound of contract value" in said["No months to draw from"]
    assert [n["provider"] for n in out["no_basis"]] == ["P3"]
    assert out["most_payable"] == "60000.00"
    assert provider(out, "P2")["months"][3]["expected"] == "5000.00"  # P2 projected as before
    wb = openpyxl.load_workbook(ws.root / "forecast.xlsx")
    facts = {r[0]: r[1] for r in wb["Forecast"].iter_rows(values_only=True) if r[0]}
    assert facts["Projected without a return of its own"].startswith("P3 Third Provider")
    assert facts["The most that could be paid"] == 60000
    console = runner.invoke(app, ["forecast", "--model", str(MODEL_PATH), "--returns",
                                  str(ws.returns), "--register", str(ws.register_path),
                                  "--simulations", "20", "--period", "2013-04..2013-09",
                                  "--no-budget", "-o", str(ws.root / "again.xlsx")])
    head = console.output.split("Each provider")[0]
    assert "Projected without a return of its own: P3 (Third Provider)" in " ".join(
        head.split())
    assert "The most that could be paid" in head


def test_a_cap_reached_in_a_recorded_month_is_said_to_be_reached_then(tmp_path, cohort_model):
    """With a cap of £4,000 a financial year, April and May pay £1,500 each and June's
    £1,500 is cut to the £1,000 left: the cap is reached in June, a recorded month. The
    forecast as at June says so ("from 2012-06"), not the first projected month (July),
    in the JSON, the workbook and the console."""
    ws = single(tmp_path, cohort_model, cap="4000")
    five_new_clients_a_month(ws)
    result = forecast(ws, COHORT_MODEL_PATH, "--period", "2012/13", "--no-budget")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)["forecast"]
    by = months(out)
    assert [by[m]["expected"] for m in ("2012-04", "2012-05", "2012-06")] == [
        "1500.00", "1500.00", "1000.00"]
    assert provider(out, "P1")["limit_reached"] == {"month": "2012-06", "share": 1.0}
    wb = openpyxl.load_workbook(ws.root / "forecast.xlsx")
    rows = {r[0]: r for r in wb["Providers"].iter_rows(values_only=True) if r[0] == "P1"}
    assert rows["P1"][7] == "from 2012-06 (recorded)"


def uneven_months(ws: Workspace, providers: tuple[str, ...] = ("P1",)) -> None:
    """April to June 2012: 2, 8 and 14 new Medium clients a month at each provider, so the
    months drawn differ and the simulations disagree."""
    data = CohortReturns()
    for p in providers:
        for month, n in ((4, 2), (5, 8), (6, 14)):
            for k in range(n):
                data.present(p, f"{p}-C{month}-{k}", date(2012, month, 2 + k), "M")
    data.write(ws, "2012-04", "2012-06", providers=providers)


def test_expected_figures_are_shown_to_what_the_simulations_support(tmp_path, cohort_model):
    """Each projected month is £600, £2,400 or £4,200 (2, 8 or 14 presentations at £300)
    at random: the simulations' period totals spread by hundreds of pounds, so the workbook
    shows the months to come rounded (to the nearest £10 or £100, as its note says), while
    recorded months stay to the penny and the JSON keeps the averages to the penny."""
    ws = single(tmp_path, cohort_model)
    uneven_months(ws)
    result = forecast(ws, COHORT_MODEL_PATH, "--period", "2012/13", "--no-budget")
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(ws.root / "forecast.xlsx")
    sheet = wb["Forecast"]
    note = sheet["A4"].value
    assert note.startswith("Expected figures and ranges of the months to come are rounded "
                           "to the nearest £"), note
    unit = int(note.split("nearest £")[1].split(":")[0].replace(",", ""))
    assert unit in (10, 100, 1000)
    month_rows = {r[0]: r for r in sheet.iter_rows(values_only=True)
                  if isinstance(r[0], str) and r[0].startswith("201")}
    assert month_rows["2012-05"][2] == 2400  # recorded: exact
    for m in ("2012-07", "2012-12", "2013-03"):
        for v in month_rows[m][3:6]:
            assert v % unit == 0, (m, v)
    cell = next(c for row in sheet.iter_rows() for c in row if c.value == month_rows[
        "2012-07"][3] and c.column == 4)
    assert cell.number_format == "£#,##0"
    facts = {r[0]: r[1] for r in sheet.iter_rows(values_only=True) if r[0]}
    assert facts["Expected total for the period"] == 600 + 2400 + 4200 + facts[
        "Expected for the months to come"]
    assert facts["Expected for the months to come"] % unit == 0


def test_each_providers_table_starts_a_printed_page(tmp_path, cohort_model):
    """The By month sheet: every provider's table after the first begins a new printed
    page, so no table is split from its heading."""
    ws = Workspace(tmp_path, cohort_model, [
        ["P1", "First Recovery Service", "Community recovery", "2012-04-01", "", ""],
        ["P2", "Second Recovery Service", "Community recovery", "2012-04-01", "", ""]],
        COHORT_REGISTER_HEADER)
    uneven_months(ws, ("P1", "P2"))
    result = forecast(ws, COHORT_MODEL_PATH, "--period", "2012/13", "--no-budget")
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(ws.root / "forecast.xlsx")["By month"]
    titles = [c.row for c in sheet["A"] if c.value in ("P1 First Recovery Service",
                                                       "P2 Second Recovery Service")]
    assert len(titles) == 2
    breaks = [b.id for b in sheet.row_breaks.brk]
    assert breaks == [titles[1] - 1]  # a break after the row before P2's title
    assert sheet.cell(titles[1] + 1, 1).value == "Month"  # its heading right under it


def ten_new_clients_a_month(ws: Workspace, providers: tuple[str, ...] = ("P1",)) -> None:
    data = CohortReturns()
    for p in providers:
        for month in (4, 5, 6):
            for k in range(10):
                data.present(p, f"{p}-C{month}-{k}", date(2012, month, 2 + k), "M")
    data.write(ws, "2012-04", "2012-06", providers=providers)


def test_volume_up_half_raises_each_month_by_the_tariff_of_the_extra_clients(tmp_path,
                                                                             cohort_model):
    """Ten new Medium clients a month, nothing else: each projected month pays 10 x £300 =
    £3,000.00. With volume+50%, 15 new clients a month: 15 x £300 = £4,500.00, £1,500.00
    more a month, and over the nine projected months July to March 9 x £1,500 = £13,500.00
    more; the recorded months (3 x £3,000) do not move."""
    ws = single(tmp_path, cohort_model)
    ten_new_clients_a_month(ws)
    result = forecast(ws, COHORT_MODEL_PATH, "--period", "2012/13", "--no-budget",
                      "--what-if", "volume+50%")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)["forecast"]
    base, what_if = months(out), months(out, "what_if")
    for m in out["projected_months"]:
        assert base[m]["expected"] == "3000.00", m
        assert what_if[m]["expected"] == "4500.00", m
    for m in out["recorded_months"]:
        assert what_if[m]["expected"] == base[m]["expected"] == "3000.00"
    assert Decimal(out["what_if"]["total"]["expected"]) - Decimal(
        out["base"]["total"]["expected"]) == Decimal("13500.00")


def test_a_provider_joining_and_one_leaving_by_the_register_move_the_projection_from_their_dates(
        tmp_path, cohort_model):
    """P1 sends ten new Medium clients a month (£3,000.00) and its contract ends on 31
    December 2012; P2's starts on 1 September 2012 and it has sent nothing. P2 is projected
    as a typical provider from September (every provider's month is P1's £3,000.00), P1
    until December: P1 July-December £3,000.00 then nothing; P2 nothing until August, then
    £3,000.00 a month to March."""
    ws = Workspace(tmp_path, cohort_model, [
        ["P1", "First Recovery Service", "Community recovery", "2012-04-01", "2012-12-31", ""],
        ["P2", "Second Recovery Service", "Community recovery", "2012-09-01", "", ""]],
        COHORT_REGISTER_HEADER)
    ten_new_clients_a_month(ws)
    result = forecast(ws, COHORT_MODEL_PATH, "--period", "2012/13", "--no-budget")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)["forecast"]
    p1 = {m["month"]: m["expected"] for m in provider(out, "P1")["months"]}
    p2 = {m["month"]: m["expected"] for m in provider(out, "P2")["months"]}
    assert [p1[m] for m in out["projected_months"]] == ["3000.00"] * 6 + ["0.00"] * 3
    assert [p2[m] for m in out["projected_months"]] == ["0.00"] * 2 + ["3000.00"] * 7
    assert [n["provider"] for n in out["no_basis"]] == ["P2"]


def test_a_range_never_narrows_further_ahead_and_always_holds_the_expected_figure(monkeypatch):
    """Calibrated points are measured, so noisy: a farther month's may be narrower than a
    nearer one's, or lie wholly on one side of the expected figure. By hand (80%: the 10th
    and 90th points): one month ahead -10%..+20%; two ahead the table says -5%..+30%, so the
    low side stays at the nearer -10% and the high side takes +30%; three ahead it says
    +2%..+25% (all above the expected figure), so -10%..+30%: the widest so far, and 0 inside.
    Beyond the table (six months ahead) the last sides grow with sqrt(6 / 3)."""
    from pbr_cli.forecast import ranges

    table = {"cohort": {"total": {1: [(0.1, -0.10), (0.9, 0.20)],
                                  2: [(0.1, -0.05), (0.9, 0.30)],
                                  3: [(0.1, 0.02), (0.9, 0.25)]}}}
    monkeypatch.setattr(ranges, "QUANTILES", table)
    assert ranges.relative_band("cohort", "total", 1, 80) == pytest.approx((-0.10, 0.20))
    assert ranges.relative_band("cohort", "total", 2, 80) == pytest.approx((-0.10, 0.30))
    assert ranges.relative_band("cohort", "total", 3, 80) == pytest.approx((-0.10, 0.30))
    grow = (6 / 3) ** 0.5
    assert ranges.relative_band("cohort", "total", 6, 80) == pytest.approx((-0.10 * grow,
                                                                            0.30 * grow))
    # the shipped calibration: every kind's range is at least as wide a month further on
    for kind, levels in ranges.QUANTILES.items():
        for level_of in levels:
            bands = [ranges.relative_band(kind, level_of, h, 80) for h in range(1, 9)]
            for (lo0, hi0), (lo1, hi1) in zip(bands, bands[1:], strict=False):
                assert lo1 <= lo0 <= 0 <= hi0 <= hi1
