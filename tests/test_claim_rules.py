"""Rules on when a per-participant claim may be made: a wait after the date achieved before it
may be claimed (`claim_after_days`, `claim_after_working_days`: the Work Programme's 15
working days after the period claimed), and refusals over the facts of the return's month
and the participant's attachment date (`period_end > attachment_date + 700`). Each worked by
hand on a variant of Troubled Families; the working-day wait also against a plain count of
working days written from docs/models.md."""

from __future__ import annotations

import json
import random
import subprocess
from datetime import date, timedelta

import pytest

from pbr_cli.cli.app import app
from tests.conftest import Workspace
from tests.test_cli import _script
from tests.test_participants import (
    TF,
    _groups_scheme,
    attach,
    claim,
    month_of,
    paid,
    runner,
    scheme_from,
)

HOLIDAYS = "[2013-12-25, 2013-12-26, 2014-01-01]"


def waiting_scheme(wait: str, holidays: str = HOLIDAYS) -> str:
    """Troubled Families with the scheme's holidays and a wait before a claim (`wait`: the
    participants keys, one a line)."""
    text = TF.read_text()
    text = text.replace("  payments: real\n", f"  payments: real\n  holidays: {holidays}\n", 1)
    return text.replace("  maximum: 4000\n", "  maximum: 4000\n" + wait)


def reasons(data: dict) -> dict[tuple[str, str], tuple[str, str]]:
    return {(e["client"], e["event"]): (e["status"], e["reason"]) for e in data["evidence"]}


def december_then_january(ws: Workspace, december: list[tuple[str, date]],
                          january: list[tuple[str, date]]) -> None:
    """Families A, B and C attached on 1 November 2013; progress-to-work claims (WORK,
    £100) in the December and January returns."""
    ws.add_return("LA1", "2013-11", {"Attachments": [attach(f, date(2013, 11, 1))
                                                     for f in "ABC"], "Claims": []})
    for month, claims in (("2013-12", december), ("2014-01", january)):
        ws.add_return("LA1", month, {"Attachments": [], "Claims": [
            claim(family, "WORK", day) for family, day in claims]})


def test_a_claim_before_the_working_day_wait_is_refused_and_paid_in_a_later_return(tmp_path):
    """15 working days, with 25 and 26 December 2013 and 1 January 2014 holidays, counted
    to the last day of the return's month.
    B achieved Monday 2 December: 3-6 (4), 9-13 (9), 16-20 (14), 23 (15): may be claimed
    from 23 December; December ends on the 31st: paid £100.00.
    A achieved Thursday 12 December: 13 (1), 16-20 (6), 23-24 (8), 27 (9), 30-31 (11),
    2-3 January (13), 6-7 January (15): from 7 January, refused in December.
    C achieved Monday 9 December: 10-13 (4), 16-20 (9), 23-24 (11), 27 (12), 30-31 (14),
    2 January (15): from 2 January, refused in December (without the holidays it would be
    30 December, and paid: the holidays decide it).
    Both claimed again in January: paid, 2 × £100.00 = £200.00 (a claim refused as too
    soon counts towards nothing, so the second is no 'already claimed')."""
    ws, model_path = scheme_from(tmp_path, waiting_scheme("  claim_after_working_days: 15\n"))
    december_then_january(ws, [("A", date(2013, 12, 12)), ("B", date(2013, 12, 2)),
                               ("C", date(2013, 12, 9))],
                          [("A", date(2013, 12, 12)), ("C", date(2013, 12, 9))])
    dec = month_of(ws, model_path, "2013-12")
    assert paid(dec) == {"progress_to_work": "100.00"}
    got = reasons(dec)
    assert got[("B", "progress_to_work")] == ("paid", "")
    assert got[("A", "progress_to_work")] == (
        "refused", "claimed in 2013-12, too soon: may be claimed from 2014-01-07 (15 working "
                   "days after 2013-12-12)")
    assert got[("C", "progress_to_work")] == (
        "refused", "claimed in 2013-12, too soon: may be claimed from 2014-01-02 (15 working "
                   "days after 2013-12-09)")
    jan = month_of(ws, model_path, "2014-01")
    assert paid(jan) == {"progress_to_work": "200.00"}
    assert {k: v[0] for k, v in reasons(jan).items()} == {
        ("A", "progress_to_work"): "paid", ("C", "progress_to_work"): "paid"}


def test_a_wait_in_days_and_the_later_of_two_waits(tmp_path):
    """30 days: achieved 1 December, may be claimed from 31 December, the month's last day:
    paid in December. Achieved 2 December: from 1 January, refused in December, paid in
    January. With 15 working days as well (holidays as above), achieved 9 December: 30 days
    gives 8 January, 15 working days 2 January; the later, 8 January, is the one said."""
    ws, model_path = scheme_from(tmp_path, waiting_scheme("  claim_after_days: 30\n"))
    december_then_january(ws, [("A", date(2013, 12, 1)), ("B", date(2013, 12, 2))],
                          [("B", date(2013, 12, 2))])
    dec = month_of(ws, model_path, "2013-12")
    assert paid(dec) == {"progress_to_work": "100.00"}
    assert reasons(dec)[("A", "progress_to_work")] == ("paid", "")
    assert reasons(dec)[("B", "progress_to_work")] == (
        "refused", "claimed in 2013-12, too soon: may be claimed from 2014-01-01 (30 days "
                   "after 2013-12-02)")
    assert paid(month_of(ws, model_path, "2014-01")) == {"progress_to_work": "100.00"}

    both = tmp_path / "both"
    both.mkdir()
    ws, model_path = scheme_from(both, waiting_scheme(
        "  claim_after_days: 30\n  claim_after_working_days: 15\n"))
    december_then_january(ws, [("C", date(2013, 12, 9))], [("C", date(2013, 12, 9))])
    assert reasons(month_of(ws, model_path, "2013-12"))[("C", "progress_to_work")] == (
        "refused", "claimed in 2013-12, too soon: may be claimed from 2014-01-08 (30 days "
                   "after 2013-12-09)")
    assert paid(month_of(ws, model_path, "2014-01")) == {"progress_to_work": "100.00"}
    shown = " ".join(runner.invoke(app, ["models", "show", str(model_path)]).output.split())
    assert ("A claim whose month ends less than 15 working days after the result is refused; "
            "a later return may claim it.") in shown


MODEL_TESTS = """pbr_model_tests: 1
cases:
  - name: "December: a claim 15 working days after 2 December paid, one after 12 December refused"
    # B achieved 2 December: from 23 December, paid £100.00. A achieved 12 December: from
    # 7 January (holidays 25, 26 December and 1 January), refused.
    month: 2013-12
    returns:
      LA1:
        2013-11:
          Attachments:
            - {family_id: A, attachment_date: 2013-11-01}
            - {family_id: B, attachment_date: 2013-11-01}
        2013-12:
          Claims:
            - {family_id: A, result: WORK, achieved_date: 2013-12-12}
            - {family_id: B, result: WORK, achieved_date: 2013-12-02}
    expect:
      LA1: {total: 100.00, attachment: 0.00, progress_to_work: 100.00}
  - name: "January: the claim refused in December claimed again and paid"
    month: 2014-01
    returns:
      LA1:
        2013-11:
          Attachments:
            - {family_id: A, attachment_date: 2013-11-01}
        2013-12:
          Claims:
            - {family_id: A, result: WORK, achieved_date: 2013-12-12}
        2014-01:
          Claims:
            - {family_id: A, result: WORK, achieved_date: 2013-12-12}
    expect:
      LA1: {total: 100.00, progress_to_work: 100.00}
"""


def test_the_wait_in_a_model_s_own_tests_and_from_the_command_line(tmp_path):
    """The same worked example as the user runs it: `pbr models test` on the model's own
    cases, and `pbr calculate` for December (A refused, saying from when) and January (A's
    claim paid), each a real process."""
    ws, model_path = scheme_from(tmp_path, waiting_scheme("  claim_after_working_days: 15\n"))
    model_path.with_name("troubled-families.tests.yaml").write_text(MODEL_TESTS)
    tested = subprocess.run([*_script(), "models", "test", str(model_path)],
                            capture_output=True, text=True, timeout=300)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    failing = MODEL_TESTS.replace("{total: 100.00, attachment: 0.00, progress_to_work: 100.00}",
                                  "{total: 200.00}")
    model_path.with_name("troubled-families.tests.yaml").write_text(failing)
    wrong = subprocess.run([*_script(), "models", "test", str(model_path)],
                           capture_output=True, text=True, timeout=300)
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    assert "LA1 total: expected £200.00, got £100.00" in " ".join(wrong.stdout.split())

    december_then_january(ws, [("A", date(2013, 12, 12))], [("A", date(2013, 12, 12))])
    runs = {}
    for month in ("2013-12", "2014-01"):
        proc = subprocess.run([*_script(), "calculate", "-m", str(model_path), "-p", month,
                               "--returns", str(ws.returns), "--register",
                               str(ws.register_path), "--json", "--dry-run"],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        runs[month] = json.loads(proc.stdout)
    assert [(e["client"], e["status"], e["amount"], e["reason"])
            for e in runs["2013-12"]["evidence"]] == [
        ("A", "refused", "0.00", "claimed in 2013-12, too soon: may be claimed from 2014-01-07 "
                                 "(15 working days after 2013-12-12)")]
    assert [(e["client"], e["status"], e["amount"]) for e in runs["2014-01"]["evidence"]] == [
        ("A", "paid", "100.00")]
    assert runs["2014-01"]["totals"]["payment"] == "100.00"


@pytest.mark.parametrize("key", ["claim_after_days", "claim_after_working_days"])
@pytest.mark.parametrize(("written", "said"), [
    ("-3", "at least 1 day"),
    ("0", "at least 1 day"),
    ("1.5", "must be a whole number, not 1.5"),
    ("0.15", "must be a whole number, not 0.15"),
    ("15%", "must be a whole number, not '15%'"),
])
def test_models_check_names_a_misused_wait_at_its_line(tmp_path, key, written, said):
    text = waiting_scheme(f"  {key}: {written}\n")
    model_path = tmp_path / TF.name
    model_path.write_text(text)
    (tmp_path / "troubled-families.register.csv").write_bytes(
        TF.with_name("troubled-families.register.csv").read_bytes())
    result = runner.invoke(app, ["models", "check", str(model_path)])
    out = " ".join(result.output.split())
    line = text[:text.index(f"  {key}:")].count("\n") + 1
    assert result.exit_code == 2, out
    assert f"{model_path}:{line}: participants.{key}: {said}" in out, out


@pytest.mark.parametrize(("keys", "said"), [
    # 20 working days to wait and 15 to claim in
    ("  claim_within_working_days: 15\n  claim_after_working_days: 20\n",
     "claim_after_working_days: a wait of 20 working days is longer than "
     "`claim_within_working_days: 15`: no claim could ever be paid"),
    ("  claim_within_days: 20\n  claim_after_days: 21\n",
     "claim_after_days: a wait of 21 days is longer than `claim_within_days: 20`"),
    # 1 April 2012 to 31 March 2015: three years of 365 days (no 29 February falls in them),
    # 1,095 days (such a wait was an endless count of days, or a date past the calendar's end)
    ("  claim_after_days: 100000000000\n",
     "claim_after_days: a wait of 100000000000 days is longer than the scheme (1095 days)"),
    ("  claim_after_working_days: 1096\n",
     "claim_after_working_days: a wait of 1096 working days is longer than the scheme"),
])
def test_a_wait_no_claim_could_be_paid_after_is_a_mistake(tmp_path, keys, said):
    text = waiting_scheme(keys)
    model_path = tmp_path / TF.name
    model_path.write_text(text)
    (tmp_path / "troubled-families.register.csv").write_bytes(
        TF.with_name("troubled-families.register.csv").read_bytes())
    result = runner.invoke(app, ["models", "check", str(model_path)])
    out = " ".join(result.output.split())
    key = said.split(":")[0]
    line = text[:text.index(f"  {key}:")].count("\n") + 1
    assert result.exit_code == 2, out
    assert f"{model_path}:{line}: participants.{said}" in out, out


def test_refusals_over_the_return_s_month_and_the_participant_s_start(tmp_path):
    """Day 700 from attachment. Attached 2 April 2012: + 700 days is 3 March 2014
    (2 April 2013 is 365 days on, 2 April 2014 730; 30 days before it, 3 March).
    Progress to work is refused when achieved after day 700 (`achieved_date >
    attachment_date + 700`); employment when claimed in a return whose month ends after it
    (`period_end > attachment_date + 700`).
    February 2014 (ends 28 February): A's employment achieved 10 February is paid to
    £4,000 less A's £3,200 fee: £800.00.
    March 2014 (ends 31 March, after 3 March): B's progress to work achieved 3 March, day
    700 itself, is paid £100.00; B's employment achieved the same day is refused (claimed in
    a month ending after day 700); C's progress to work achieved 4 March is refused."""
    text = TF.read_text()
    text = text.replace("      amount: 100\n", """      amount: 100
      refused_when:
        - when: achieved_date > attachment_date + 700
          reason: achieved after day 700 from attachment
""").replace("      to_total: 4000\n", """      to_total: 4000
      refused_when:
        - when: period_end > attachment_date + 700
          reason: claimed in a month ending after day 700 from attachment
""")
    ws, model_path = scheme_from(tmp_path, text)
    ws.add_return("LA1", "2012-04", {"Attachments": [attach(f, date(2012, 4, 2)) for f in "ABC"],
                                     "Claims": []})
    ws.add_return("LA1", "2014-02", {"Attachments": [], "Claims": [
        claim("A", "EMP", date(2014, 2, 10))]})
    ws.add_return("LA1", "2014-03", {"Attachments": [], "Claims": [
        claim("B", "WORK", date(2014, 3, 3)), claim("B", "EMP", date(2014, 3, 3)),
        claim("C", "WORK", date(2014, 3, 4))]})
    assert paid(month_of(ws, model_path, "2014-02")) == {"employment": "800.00"}
    march = month_of(ws, model_path, "2014-03")
    assert paid(march) == {"progress_to_work": "100.00"}
    assert reasons(march) == {
        ("B", "progress_to_work"): ("paid", ""),
        ("B", "employment"): ("refused", "claimed in a month ending after day 700 from "
                                         "attachment"),
        ("C", "progress_to_work"): ("refused", "achieved after day 700 from attachment")}


def test_a_figure_by_date_in_a_refusal_is_read_on_the_date_achieved(tmp_path):
    """The fewest hours a week are 16 to 31 August 2013 and 20 from 1 September. Both jobs
    are claimed in September at 18 hours: J's, achieved 30 August, is read at 16 and paid
    £1,200.00 (the job price on 30 August); K's, achieved 2 September, at 20 and refused.
    (Read at the return's month, both would be refused.) `days_in_month` may be read too."""
    results = """    - name: job_outcome
      label: Job outcome
      when_any: [WORK]
      amount: job_price
      refused_when:
        - when: hours < min_hours
          reason: too few hours a week
        - when: days_in_month > 31
          reason: never
"""
    ws, model_path = scheme_from(tmp_path, _groups_scheme(
        results, extra_params="  min_hours: {value: {2012-04-01: 16, 2013-09-01: 20}}\n"))
    ws.add_return("LA1", "2013-05", {"Attachments": [
        {**attach("J", date(2013, 5, 1)), "payment_group": "JSA"},
        {**attach("K", date(2013, 5, 2)), "payment_group": "JSA"}], "Claims": []})
    ws.add_return("LA1", "2013-09", {"Attachments": [], "Claims": [
        {**claim("J", "WORK", date(2013, 8, 30)), "hours": 18},
        {**claim("K", "WORK", date(2013, 9, 2)), "hours": 18}]})
    september = month_of(ws, model_path, "2013-09")
    assert {e["client"]: (e["status"], e["amount"], e["reason"])
            for e in september["evidence"]} == {
        "J": ("paid", "1200.00", ""), "K": ("refused", "0.00", "too few hours a week")}


# The oracle: docs/models.md's words ("a claim in a return whose month ends before the date
# achieved plus that many working days — Monday to Friday, not one of the scheme's holidays —
# is refused"), written again with its own list of England's 2013 bank holidays.
ORACLE_HOLIDAYS = {date(2013, 1, 1), date(2013, 3, 29), date(2013, 4, 1), date(2013, 5, 6),
                   date(2013, 5, 27), date(2013, 8, 26), date(2013, 12, 25), date(2013, 12, 26),
                   date(2014, 1, 1)}


def oracle_first_day(achieved: date, wait: int) -> date:
    """The first day on which `wait` working days have passed since `achieved`."""
    day = achieved
    while sum(1 for i in range(1, (day - achieved).days + 1)
              if (achieved + timedelta(days=i)).weekday() < 5
              and achieved + timedelta(days=i) not in ORACLE_HOLIDAYS) < wait:
        day += timedelta(days=1)
    return day


def test_the_working_day_wait_against_a_plain_count(tmp_path):
    """Three hundred families attached in November and December 2012, each with one claim
    achieved on a random day of 2013 and claimed in its month or one of the two after; pbr's
    refusal of each claim (and the day it says it may be claimed from) is the plain count's."""
    wait = 15
    holidays = "[" + ", ".join(sorted(d.isoformat() for d in ORACLE_HOLIDAYS)) + "]"
    ws, model_path = scheme_from(tmp_path, waiting_scheme(
        f"  claim_after_working_days: {wait}\n", holidays))
    rng = random.Random(20131202)
    attached = {"2012-11": [], "2012-12": []}
    claims: dict[str, list[dict]] = {}
    expected: dict[str, str] = {}
    for i in range(300):
        family = f"F{i:03d}"
        attached["2012-11" if i % 2 else "2012-12"].append(
            attach(family, date(2012, 11 if i % 2 else 12, 1 + i % 28)))
        achieved = date(2013, 1, 1) + timedelta(days=rng.randrange(365))
        year, month = achieved.year, achieved.month + rng.randrange(3)
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        claimed = f"{year}-{month:02d}"
        claims.setdefault(claimed, []).append(claim(family, "WORK", achieved))
        month_end = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
        first = oracle_first_day(achieved, wait)
        expected[family] = "" if first <= month_end else (
            f"claimed in {claimed}, too soon: may be claimed from {first.isoformat()} "
            f"({wait} working days after {achieved.isoformat()})")
    for month, rows in attached.items():
        ws.add_return("LA1", month, {"Attachments": rows, "Claims": []})
    for month, rows in claims.items():
        ws.add_return("LA1", month, {"Attachments": [], "Claims": rows})
    got: dict[str, str] = {}
    for month in sorted(claims):
        for e in month_of(ws, model_path, month)["evidence"]:
            got[e["client"]] = "" if e["status"] == "paid" else e["reason"]
    assert got == expected
    refused = sum(1 for why in expected.values() if why)
    assert 30 < refused < 270  # both kinds are tried, many times
