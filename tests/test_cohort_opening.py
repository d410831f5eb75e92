"""An opening caseload declared twice, or declared late: each episode counts once, and the
months already worked out are mended by what is declared later (docs/models.md, "opening").

Each scenario is checked three ways: its figures worked by hand (in the docstrings), pbr's
schedule, and a plain second reading of the episode rules (tests/cohort_oracle.py) month by
month; with small random histories checked against the same oracle."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from typer.testing import CliRunner

from pbr_cli.cli.app import app
from pbr_cli.periods import Month
from pbr_cli.pricing.worth import read_months, worth
from tests.conftest import COHORT_MODEL_PATH, CohortReturns

runner = CliRunner()


def _calculate(ws, period: str, out) -> dict:
    result = runner.invoke(app, ["calculate", "--model", str(COHORT_MODEL_PATH), "--period",
                                 period, "--returns", str(ws.returns), "--register",
                                 str(ws.register_path), "-o", str(out), "--json"])
    return json.loads(result.stdout)


def _line(out: dict, provider: str, component: str, group: str) -> dict:
    p = next(p for p in out["providers"] if p["provider"] == provider)
    return next(ln for ln in p["lines"] if ln["component"] == component
                and ln["groups"]["complexity"] == group)


def twice_declared() -> CohortReturns:
    """P2's April and May 2012 returns both declare B (Medium, in treatment since 1 February
    2012) in the opening caseload. C presents on 10 April 2012 and completes on 20 June; B
    completes on 15 July 2012. D..H present in January 2013; D and E complete in September
    2013, F..H stay open.

    June 2012 (window April-June): Medium episodes B and C, C completed: 1/2 = 50%, band
    >=40%, £600 (with B counted twice: 1/3, band >=25%, £450).
    September 2013 (window October 2012 - September 2013): D..H, two completed: 2/5 = 40%,
    band >=40%, two completions × £600 = £1,200 (with B's duplicate still open: 2/6, £900)."""
    data = CohortReturns()
    data.opening("P2", "B", date(2012, 2, 1), "M")
    data.opening("P2", "B", date(2012, 2, 1), "M", month="2012-05")
    data.present("P2", "C", date(2012, 4, 10), "M")
    data.discharge("P2", "C", date(2012, 4, 10), date(2012, 6, 20), "TCDF", "M")
    data.discharge("P2", "B", date(2012, 2, 1), date(2012, 7, 15), "TCDF", "M")
    for k, client in enumerate("DEFGH"):
        data.present("P2", client, date(2013, 1, 7 + k), "M")
    data.discharge("P2", "D", date(2013, 1, 7), date(2013, 9, 10), "TCDF", "M")
    data.discharge("P2", "E", date(2013, 1, 8), date(2013, 9, 11), "TCOU", "M")
    return data


def test_an_opening_episode_declared_twice_counts_once(cohort_workspace, tmp_path):
    twice_declared().write(cohort_workspace, "2012-04", "2013-09")
    may = _calculate(cohort_workspace, "2012-05", tmp_path / "may.xlsx")
    twice = next(p for p in may["problems"] if p["code"] == "overlapping-episodes")
    assert "P2-2012-05" in twice["file"] and twice["cell"].startswith("Opening caseload!")
    june = _calculate(cohort_workspace, "2012-06", tmp_path / "june.xlsx")
    line = _line(june, "P2", "completion", "M")
    assert (line["figures"]["numerator"], line["figures"]["denominator"]) == (1, 2)
    assert Decimal(line["amount"]) == Decimal("600.00")
    september = _calculate(cohort_workspace, "2013-09", tmp_path / "september.xlsx")
    line = _line(september, "P2", "completion", "M")
    assert (line["figures"]["numerator"], line["figures"]["denominator"]) == (2, 5)
    assert Decimal(line["amount"]) == Decimal("1200.00")


def declared_late() -> CohortReturns:
    """P1's April 2012 return has N1's presentation (Medium, £300) and OLD's review on 10
    April with no opiate or crack use; OLD (Medium, in treatment since 15 January 2012) is
    declared only in May's opening caseload. April as filed: the review is outside every
    episode, P1 withheld, £0. April as it stands once May is filed: the review is OLD's first
    abstinent one, 1 of 1 reviewed = 100%, band >=50%, £225; with N1's tariff, £525. OLD's
    review of 12 May is a second abstinent review of the same episode: not paid again."""
    data = CohortReturns()
    data.present("P1", "N1", date(2012, 4, 3), "M")
    data.review("P1", "OLD", date(2012, 4, 10), "M")
    data.opening("P1", "OLD", date(2012, 1, 15), "M", month="2012-05")
    data.review("P1", "OLD", date(2012, 5, 12), "M")
    return data


def _worth(ws, month: str, read: list[str]) -> dict:
    model, register = ws.model, ws.register
    collection = read_months(None, model, register, ws.returns, [Month.parse(m) for m in read],
                             None)
    return worth(None, model, register, Month.parse(month), collection)["payments"]


def test_an_opening_caseload_declared_late_mends_the_months_before(cohort_workspace, tmp_path):
    declared_late().write(cohort_workspace, "2012-04", "2012-05")
    # April as approved (only April's returns): withheld
    april = _calculate(cohort_workspace, "2012-04", tmp_path / "april.xlsx")
    p1 = next(p for p in april["providers"] if p["provider"] == "P1")
    assert (p1["status"], Decimal(p1["payment"])) == ("withheld", Decimal("0.00"))
    # April as May's draft works it out now: OLD's episode is known
    now = _worth(cohort_workspace, "2012-04", ["2012-04", "2012-05"])
    assert now[("P1", "presentation")] == Decimal("300.00")
    assert now[("P1", "abstinence")] == Decimal("225.00")
    # May pays OLD's abstinence no second time
    may = _calculate(cohort_workspace, "2012-05", tmp_path / "may.xlsx")
    old = [(e["event"], e["status"], e["amount"]) for e in may["evidence"]
           if e["client"] == "OLD"]
    assert old == [("abstinence", "refused", "0.00")]
    assert not [p for p in may["problems"] if p["severity"] == "error"]
