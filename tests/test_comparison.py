"""Cohorts against a comparison group (Peterborough, Transforming Rehabilitation): pay per
reconviction avoided when a cohort's rate beats its comparison group's by a threshold and the
difference is significant at the scheme's level; and a pooled test over every cohort
(`over: scheme`). Each cohort is a register entry holding its comparison group's figures;
the provider returns each cohort's people and reconvictions. Worked by hand below."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from pbr_cli.expr import ExprError, parse
from pbr_cli.model import load_model
from tests.conftest import Workspace

runner = CliRunner()

MODEL = """\
pbr_model: 1
scheme:
  name: reoffending-bond
  title: Reoffending bond (cohorts against comparison groups)
  version: "1"
  start: 2014-04-01
  end: 2016-03-31
  period: month
  payments: real
parameters:
  price_per_reconviction: {value: 1000, label: Paid per reconviction avoided (illustrative)}
  cohort_threshold: {value: 0.10, label: A cohort is paid from a 10% reduction}
  pooled_threshold: {value: 0.075, label: All cohorts together are paid from 7.5%}
  level: {value: 0.05, label: Significance level}
register:
  file: reoffending-bond.register.csv
  entity: cohort
  key: cohort_id
  provider: provider_code
  start: cohort_start
  columns:
    - {name: cohort_id, header: Cohort, type: text}
    - {name: provider_code, header: Provider code, type: text}
    - {name: comparison_people, header: Comparison group people, type: integer, min: 1}
    - {name: comparison_reconvicted, header: Comparison group reconvicted, type: integer, min: 0}
    - {name: cohort_start, header: Cohort start, type: date}
return:
  sheets:
    - name: Results
      description: One row for each cohort whose result is measured this month.
      key: [cohort_id]
      columns:
        - {name: cohort_id, header: Cohort, type: text, register: true}
        - {name: people, header: People in the cohort, type: integer, min: 1}
        - {name: reconvicted, header: People reconvicted, type: integer, min: 0}
measures:
  - {name: people_measured, sum: Results.people, format: integer}
  - {name: reconvicted_measured, sum: Results.reconvicted, format: integer}
  - {name: all_people, sum: Results.people, over: scheme, format: integer}
  - {name: all_reconvicted, sum: Results.reconvicted, over: scheme, format: integer}
  - {name: comparison_rate, expr: comparison_reconvicted / comparison_people, format: percent}
  - name: rate
    expr: IF(people_measured == 0, 0, reconvicted_measured / people_measured)
    format: percent
  - name: reduction
    expr: IF(people_measured == 0, 0, 1 - rate / comparison_rate)
    format: percent
  - name: avoided
    expr: comparison_rate * people_measured - reconvicted_measured
  - name: cohort_met
    expr: >
      people_measured > 0 and reduction >= cohort_threshold
      and significantly_lower(reconvicted_measured, people_measured,
                              comparison_reconvicted, comparison_people, level)
  - name: pooled_reduction
    expr: IF(all_people == 0, 0, 1 - (all_reconvicted / all_people) / comparison_rate)
    format: percent
payments:
  - name: cohort_payment
    label: Cohort payment
    amount: IF(cohort_met, price_per_reconviction * avoided, 0)
    shows: [people_measured, reconvicted_measured, reduction, avoided]
  - name: pooled_payment
    label: Pooled payment (all cohorts, cohorts not paid on their own)
    amount: >
      IF(people_measured > 0 and not cohort_met and pooled_reduction >= pooled_threshold,
         price_per_reconviction * avoided, 0)
    shows: [all_people, all_reconvicted, pooled_reduction]
"""

HEADER = ["Cohort", "Provider code", "Comparison group people", "Comparison group reconvicted",
          "Cohort start"]
COHORTS = [["C1", "SIB", "1000", "130", "2014-04-01"],
           ["C2", "SIB", "1000", "130", "2014-04-01"]]


@pytest.fixture
def scheme(tmp_path):
    model_path = tmp_path / "reoffending-bond.yaml"
    model_path.write_text(MODEL)
    (tmp_path / "reoffending-bond.register.csv").write_text(
        ",".join(HEADER) + "\n" + "\n".join(",".join(r) for r in COHORTS) + "\n")
    (tmp_path / "ws").mkdir()
    return Workspace(tmp_path / "ws", load_model(model_path), COHORTS, HEADER), model_path


def june(scheme, c1: tuple[int, int], c2: tuple[int, int]) -> dict:
    """June 2015 worked out with the two cohorts' (people, reconvicted) returned."""
    ws, model_path = scheme
    ws.add_return("SIB", "2015-06", {"Results": [
        {"cohort_id": code, "people": people, "reconvicted": reconvicted}
        for code, (people, reconvicted) in (("C1", c1), ("C2", c2))]})
    result = runner.invoke(app, ["calculate", "-m", str(model_path), "-p", "2015-06",
                                 "--returns", str(ws.returns), "--register",
                                 str(ws.register_path), "--json", "--dry-run"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_cohort_paid_on_its_own_and_one_paid_on_the_pooled_test(scheme):
    """C1: 100 of 1,000 reconvicted (10%) against 130 of 1,000 (13%): 1 − 0.10/0.13 =
    23.1% ≥ 10%, and z = 0.03 / √(0.115 × 0.885 × 2/1000) = 2.103, p = 0.018 ≤ 0.05: paid
    for 0.13 × 1,000 − 100 = 30 avoided, £30,000.00. C2: 120 of 1,000 (12%): 7.7% < 10%,
    not paid on its own; pooled, 220 of 2,000 is 11%, 1 − 0.11/0.13 = 15.4% ≥ 7.5%: paid
    for 130 − 120 = 10 avoided, £10,000.00."""
    data = june(scheme, (1000, 100), (1000, 120))
    lines = {(ln["entry"], ln["component"]): ln for p in data["providers"] for ln in p["lines"]}
    assert lines[("C1", "cohort_payment")]["amount"] == "30000.00"
    assert lines[("C1", "pooled_payment")]["amount"] == "0.00"  # paid on its own instead
    assert lines[("C2", "cohort_payment")]["amount"] == "0.00"
    assert lines[("C2", "pooled_payment")]["amount"] == "10000.00"
    assert lines[("C2", "pooled_payment")]["figures"]["all_people"] == 2000
    assert lines[("C2", "pooled_payment")]["figures"]["all_reconvicted"] == 220
    assert data["totals"]["payment"] == "40000.00"


def test_a_reduction_that_is_not_significant_is_not_paid(scheme):
    """C1 measured on 100 people: 10 reconvicted (10%) against 13%: the same 23.1%
    reduction, but z = 0.03 / √(0.1264 × 0.8736 × (1/100 + 1/1000)) = 0.86, p = 0.19 > 0.05:
    nothing on its own. Pooled with C2 (120 of 1,000): 130 of 1,100 is 11.8%, a 9.1%
    reduction ≥ 7.5%: C1 is paid 0.13 × 100 − 10 = 3 avoided (£3,000.00) and C2 10
    (£10,000.00) on the pooled test."""
    data = june(scheme, (100, 10), (1000, 120))
    paid = {(ln["entry"], ln["component"]): ln["amount"] for p in data["providers"]
            for ln in p["lines"] if ln["amount"] != "0.00"}
    assert paid == {("C1", "pooled_payment"): "3000.00", ("C2", "pooled_payment"): "10000.00"}


@pytest.mark.parametrize(("args", "expected"), [
    ("100, 1000, 130, 1000, 0.05", True),    # z = 2.103, p = 0.0177
    ("100, 1000, 130, 1000, 0.01", False),   # ... not at 1%
    ("10, 100, 130, 1000, 0.05", False),     # z = 0.86
    ("130, 1000, 100, 1000, 0.05", False),   # higher, not lower
    ("0, 50, 0, 50, 0.05", False),           # no spread at all
    # z = 1.64485384, just past the 5% critical value 1.64485363: p = 0.04999998, at or under
    # the level. The critical value is the normal quantile itself, compared exactly: taken to
    # six places (1.644854, as assurance's sample size takes z) it would say no.
    ("112, 366, 133, 366, 0.05", True),
])
def test_significantly_lower_by_hand(args, expected):
    assert parse(f"significantly_lower({args})").evaluate({}) is expected


def test_significantly_lower_refuses_figures_that_are_not_groups():
    with pytest.raises(ExprError, match="between 0 and the people"):
        parse("significantly_lower(20, 10, 1, 10, 0.05)").evaluate({})
    with pytest.raises(ExprError, match="share between 0 and 1"):
        parse("significantly_lower(1, 10, 2, 10, 5)").evaluate({"x": Fraction(1)})


def _checked(tmp_path, text: str):
    """`pbr models check` of the scheme written as `text`: (its file, the result, the output
    on one line)."""
    model_path = tmp_path / "reoffending-bond.yaml"
    model_path.write_text(text)
    (tmp_path / "reoffending-bond.register.csv").write_text(
        ",".join(HEADER) + "\n" + "\n".join(",".join(r) for r in COHORTS) + "\n")
    result = runner.invoke(app, ["models", "check", str(model_path)])
    return model_path, result, " ".join(result.output.split())


@pytest.mark.parametrize(("written", "said"), [
    ("  level: {value: 5, label: Significance level}",
     "5 is read as a share between 0 and 1"),
    ("  level: {value: {2014-04-01: 0.05, 2015-04-01: 10}, label: Significance level}",
     "10 is read as a share between 0 and 1"),
])
def test_a_significance_level_written_as_a_percentage_is_a_mistake_models_check_names(
        tmp_path, written, said):
    """`level: 5` for 0.05 was called sound by `pbr models check`; calculate then failed every
    cohort's test and the console said only "2 error(s)". Now it is a mistake at its line,
    saying what to write."""
    text = MODEL.replace("  level: {value: 0.05, label: Significance level}", written)
    assert text != MODEL
    model_path, result, out = _checked(tmp_path, text)
    line = text[:text.index(written)].count("\n") + 1
    assert result.exit_code == 2, result.output
    assert f"{model_path}:{line}: parameters.level.value: {said}" in out, out
    assert "write 0.05" in out or "write 0.1" in out


def test_a_level_written_into_the_formula_as_a_percentage_is_refused():
    with pytest.raises(ExprError, match=r"level is a share between 0 and 1 \(0.05 for 5%\), not 5"):
        parse("significantly_lower(1, 10, 2, 10, 5)")


def test_pooled_figures_over_different_months_are_a_mistake_models_check_names(tmp_path):
    """A pooled pair with one figure over many months and the other over the month alone was
    called sound, and paid a final month six times over. Now it is a mistake at the formula
    that divides them, naming both figures' spans."""
    old = "  - {name: all_reconvicted, sum: Results.reconvicted, over: scheme, format: integer}"
    new = ("  - {name: all_reconvicted, sum: Results.reconvicted, over: scheme, format: integer,"
           " window: {months: 12}}")
    text = MODEL.replace(old, new)
    assert text != MODEL
    model_path, result, out = _checked(tmp_path, text)
    line = text[:text.index("expr: IF(all_people == 0")].count("\n") + 1
    assert result.exit_code == 2, out
    assert (f"{model_path}:{line}: measures[9].expr: all_reconvicted / all_people divides "
            "figures that cover different months or entries (all_reconvicted: the last 12 "
            "months, over scheme; all_people: the month alone, over scheme)") in out, out
    # the same window on both is sound
    both = text.replace("  - {name: all_people, sum: Results.people, over: scheme, format: integer}",
                        "  - {name: all_people, sum: Results.people, over: scheme, format: integer,"
                        " window: {months: 12}}")
    model_path.write_text(both)
    assert runner.invoke(app, ["models", "check", str(model_path)]).exit_code == 0


def test_a_threshold_typed_as_a_percentage_is_a_mistake_models_check_names(tmp_path):
    """`cohort_threshold: 10` for 0.10, compared with a share (`reduction`, a percent), was
    called sound and is never reached: no cohort is ever paid. Now a mistake at its line."""
    old = "  cohort_threshold: {value: 0.10"
    assert old in MODEL
    text = MODEL.replace(old, "  cohort_threshold: {value: 10")
    model_path, result, out = _checked(tmp_path, text)
    line = text[:text.index("  cohort_threshold: {value: 10")].count("\n") + 1
    assert result.exit_code == 2, out
    assert (f"{model_path}:{line}: parameters.cohort_threshold.value: 10 is read as a share "
            "between 0 and 1 (by measures[8].expr, compared with reduction, a share): write "
            "0.1 for 10%") in out, out
