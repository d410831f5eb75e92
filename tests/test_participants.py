"""Per-participant models: the Troubled Families phase 1 worked examples, to the penny, for
families attached in each of the three years; and the other rule kinds (deflator,
sustainment, claim deadline, de-duplication) on a scheme built from the same language."""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from pbr_cli.model import load_model
from tests.conftest import ROOT, Workspace

runner = CliRunner()
TF = ROOT / "models" / "troubled-families.yaml"
HEADER = ["Authority code", "Local authority", "Families to work with", "Start", "End"]
LA = [["LA1", "Northtown Council", "120", "2012-04-01", ""]]


def attach(family: str, day: date) -> dict:
    return {"family_id": family, "attachment_date": day}


def claim(family: str, result: str, day: date) -> dict:
    return {"family_id": family, "result": result, "achieved_date": day}


def month_of(ws: Workspace, model_path: Path, month: str) -> dict:
    result = runner.invoke(app, ["calculate", "-m", str(model_path), "-p", month, "--returns",
                                 str(ws.returns), "--register", str(ws.register_path), "--json",
                                 "--dry-run"], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def paid(data: dict) -> dict[str, str]:
    return {ln["component"]: ln["amount"] for p in data["providers"] for ln in p["lines"]
            if ln["amount"] != "0.00"}


def events(data: dict) -> list[tuple[str, str, str, str]]:
    return [(e["client"], e["event"], e["status"], e["amount"]) for e in data["evidence"]]


def scheme_from(tmp_path: Path, text: str) -> tuple[Workspace, Path]:
    """A scheme written in the model language (a variant of Troubled Families), with the
    shipped register beside it and a workspace of returns for the authority LA1."""
    model_path = tmp_path / "troubled-families.yaml"
    model_path.write_text(text)
    (tmp_path / "troubled-families.register.csv").write_bytes(
        (ROOT / "models" / "troubled-families.register.csv").read_bytes())
    (tmp_path / "ws").mkdir()
    return Workspace(tmp_path / "ws", load_model(model_path), LA, HEADER), model_path


@pytest.fixture(scope="module")
def families(tmp_path_factory):
    """One authority's returns: two families attached in each financial year, each reaching
    a result by one route or the other."""
    ws = Workspace(tmp_path_factory.mktemp("tf"), load_model(TF), LA, HEADER)
    plan = {
        "2012-05": ([attach("F12A", date(2012, 5, 10))], []),
        "2012-06": ([attach("F12B", date(2012, 6, 1))], []),
        "2012-11": ([], [claim("F12A", "CRIME", date(2012, 11, 1))]),
        "2013-01": ([], [claim("F12A", "EDU", date(2013, 1, 15)),
                         claim("FX", "EDU", date(2013, 1, 20))]),
        "2013-02": ([], [claim("F12A", "WORK", date(2013, 2, 4))]),
        "2013-03": ([], [claim("F12B", "EMP", date(2013, 3, 1)),
                         claim("F12A", "EMP", date(2013, 3, 8))]),
        "2013-04": ([attach("F13A", date(2013, 4, 15))], []),
        "2013-07": ([attach("F13B", date(2013, 7, 2))],
                    [claim("F13A", "CRIME", date(2013, 6, 30)),
                     claim("F13A", "EDU", date(2013, 7, 20))]),
        "2013-09": ([], [claim("F13A", "WORK", date(2013, 9, 3)),
                         claim("F13B", "EMP", date(2013, 9, 9))]),
        "2013-10": ([attach("F12A", date(2013, 10, 1))],
                    [claim("F13A", "WORK", date(2013, 9, 3))]),
        "2014-05": ([attach("F14A", date(2014, 5, 6))], []),
        "2014-06": ([attach("F14B", date(2014, 6, 16))], []),
        "2014-09": ([], [claim("F14A", "CRIME", date(2014, 8, 1)),
                         claim("F14A", "EDU", date(2014, 9, 1)),
                         claim("F14A", "WORK", date(2014, 9, 2)),
                         claim("F14B", "EMP", date(2014, 9, 5))]),
    }
    for month, (attachments, claims) in plan.items():
        ws.add_return("LA1", month, {"Attachments": attachments, "Claims": claims})
    return ws, {m: month_of(ws, TF, m) for m in plan}


def test_attachment_fees_fall_by_financial_year(families):
    _, months = families
    # 80% / 60% / 40% of £4,000 for families attached in 2012/13, 2013/14, 2014/15.
    assert paid(months["2012-05"]) == {"attachment": "3200.00"}
    assert paid(months["2012-06"]) == {"attachment": "3200.00"}
    assert paid(months["2013-04"]) == {"attachment": "2400.00"}
    assert paid(months["2014-05"]) == {"attachment": "1600.00"}
    assert paid(months["2014-06"]) == {"attachment": "1600.00"}


def test_results_bring_each_family_to_the_published_totals(families):
    _, months = families
    # 2012/13 family: crime/ASB and education to £3,900 (£700), then £100 progress to work.
    assert paid(months["2012-11"]) == {}  # CRIME alone: counts towards the result
    assert ("F12A", "crime_education", "nil", "0.00") in events(months["2012-11"])
    assert paid(months["2013-01"]) == {"crime_education": "700.00"}
    assert paid(months["2013-02"]) == {"progress_to_work": "100.00"}
    # 2012/13 family by the employment route: to £4,000 (£800).
    assert paid(months["2013-03"]) == {"employment": "800.00"}
    # 2013/14: £2,400 + £1,500 + £100, and £2,400 + £1,600.
    assert paid(months["2013-07"]) == {"attachment": "2400.00", "crime_education": "1500.00"}
    assert paid(months["2013-09"]) == {"progress_to_work": "100.00", "employment": "1600.00"}
    # 2014/15: £1,600 + £2,300 + £100, and £1,600 + £2,400.
    assert paid(months["2014-09"]) == {"crime_education": "2300.00",
                                       "progress_to_work": "100.00", "employment": "2400.00"}
    assert months["2014-09"]["totals"]["payment"] == "4800.00"
    totals = {"F12A": 3200 + 700 + 100, "F12B": 3200 + 800, "F13A": 2400 + 1500 + 100,
              "F13B": 2400 + 1600, "F14A": 1600 + 2300 + 100, "F14B": 1600 + 2400}
    got: dict[str, Decimal] = {}
    for data in months.values():
        for e in data["evidence"]:
            got[e["client"]] = got.get(e["client"], Decimal(0)) + Decimal(e["amount"])
    assert {k: got[k] for k in totals} == {k: Decimal(v) for k, v in totals.items()}
    assert max(totals.values()) == 4000


def test_one_results_payment_per_family_and_claims_paid_once(families):
    _, months = families
    refused = {(c, ev): amount for c, ev, status, amount in events(months["2013-03"])
               if status == "refused"}
    assert refused == {("F12A", "employment"): "0.00"}
    reasons = {e["client"]: e["reason"] for e in months["2013-03"]["evidence"]
               if e["status"] == "refused"}
    assert "one 'results' payment per participant" in reasons["F12A"]
    later = {(e["client"], e["event"]): e for e in months["2013-10"]["evidence"]}
    assert later[("F13A", "progress_to_work")]["status"] == "refused"
    assert "already claimed" in later[("F13A", "progress_to_work")]["reason"]
    assert later[("F12A", "attachment")]["status"] == "refused"
    assert "already attached on 2012-05-10" in later[("F12A", "attachment")]["reason"]
    unattached = next(e for e in months["2013-01"]["evidence"] if e["client"] == "FX")
    assert unattached["status"] == "refused" and "not attached" in unattached["reason"]
    assert paid(months["2013-10"]) == {}


def test_schedule_evidence_sheet_traces_each_payment(families, tmp_path):
    import openpyxl

    ws, _ = families
    out = tmp_path / "s.xlsx"
    result = runner.invoke(app, ["calculate", "-m", str(TF), "-p", "2013-07", "--returns",
                                 str(ws.returns), "--register", str(ws.register_path), "-o",
                                 str(out), "--dry-run"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["calculate", "-m", str(TF), "-p", "2013-07", "--returns",
                                 str(ws.returns), "--register", str(ws.register_path), "-o",
                                 str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(out)["Evidence"]
    rows = [r for r in sheet.iter_rows(min_row=6, values_only=True) if r[0]]
    by = {(r[1], r[2]): r for r in rows}
    assert by[("F13A", "Crime, anti-social behaviour and education results")][6] == 1500
    assert by[("F13B", "Attachment fees")][6] == 2400
    assert by[("F13B", "Attachment fees")][9].endswith("LA1-2013-07.xlsx")


def test_deflator_sustainment_and_claim_deadline(tmp_path):
    text = TF.read_text()
    start = text.index("  results:\n")
    text = text[:start] + """  claim_within_months: 3
  results:
    - name: work_start
      label: Into work
      when_any: [WORK]
      amount: 1000
      deflator: 0.15
    - name: sustained
      label: Still in work
      when_any: [EMP]
      amount: 250
      every_weeks: 4
      up_to: 3
""" + text[text.index("\nreport:"):]
    # Sustainment claims one result many times: a claim row is one participant, result and date.
    text = text.replace("key: [family_id, result]", "key: [family_id, result, achieved_date]")
    ws, model_path = scheme_from(tmp_path, text)
    ws.add_return("LA1", "2013-05", {"Attachments": [attach("P1", date(2013, 5, 1))], "Claims": []})
    ws.add_return("LA1", "2013-06", {"Attachments": [], "Claims": [
        claim("P1", "WORK", date(2013, 6, 3)),
        claim("P1", "EMP", date(2013, 6, 3))]})
    ws.add_return("LA1", "2013-07", {"Attachments": [], "Claims": [
        claim("P1", "EMP", date(2013, 6, 17)),   # 2 weeks after the last: too soon
        claim("P1", "EMP", date(2013, 7, 1))]})  # 4 weeks: paid
    ws.add_return("LA1", "2013-08", {"Attachments": [], "Claims": [
        claim("P1", "EMP", date(2013, 7, 29)),   # the third: paid
        claim("P1", "EMP", date(2013, 8, 26))]})  # a fourth: no more
    ws.add_return("LA1", "2013-10", {"Attachments": [], "Claims": [
        claim("P1", "WORK", date(2013, 6, 1))]})  # achieved June, claimed October: too late
    june = month_of(ws, model_path, "2013-06")
    # £1,000 less a 15% deflator = £850.00; the first sustainment payment £250.00.
    assert paid(june) == {"work_start": "850.00", "sustained": "250.00"}
    july = month_of(ws, model_path, "2013-07")
    assert paid(july) == {"sustained": "250.00"}
    assert any("less than 4 weeks from the sustained paid for 2013-06-03" in e["reason"]
               for e in july["evidence"])
    august = month_of(ws, model_path, "2013-08")
    assert paid(august) == {"sustained": "250.00"}
    assert any("paid 3 time(s) already" in e["reason"] for e in august["evidence"])
    october = month_of(ws, model_path, "2013-10")
    assert paid(october) == {}
    late = [e for e in october["evidence"] if e["client"] == "P1"]
    assert late and all("more than 3 months after it was achieved" in e["reason"] for e in late)


def test_a_share_with_a_fraction_of_a_percent_is_written_as_a_percentage(tmp_path):
    """A fee share of 0.125 was written '25/2% of £4,000.00' in the evidence; it is 12.5%."""
    import shutil

    text = TF.read_text()
    assert '"2012/13": 0.80' in text
    model = tmp_path / TF.name
    model.write_text(text.replace('"2012/13": 0.80', '"2012/13": 0.125'))
    shutil.copy(TF.with_name("troubled-families.register.csv"), tmp_path)
    (tmp_path / "ws").mkdir()
    ws = Workspace(tmp_path / "ws", load_model(model), LA, HEADER)
    ws.add_return("LA1", "2012-05", {"Attachments": [attach("F1", date(2012, 5, 10))],
                                     "Claims": []})
    data = month_of(ws, model, "2012-05")
    fee = next(e for e in data["evidence"] if e["event"] == "attachment")
    assert (fee["amount"], fee["reason"]) == ("500.00", "2012/13: 12.5% of £4,000.00")


def test_a_claim_refused_on_its_own_columns_leaves_the_month_paid(tmp_path):
    """An education result claimed without a signed letter from the school is refused, saying
    why; the family's other result and the month's attachment fee are still paid (an error
    would have withheld the authority's whole month)."""
    text = TF.read_text()
    text = text.replace(
        "        - {name: achieved_date, header: Date achieved, type: date,\n",
        "        - {name: evidence, header: Evidence, type: code, codes: evidence, required: false}\n"
        "        - {name: achieved_date, header: Date achieved, type: date,\n")
    text = text.replace("codes:\n", "codes:\n  evidence:\n    label: Evidence\n"
                        "    values: {LETTER: Signed letter from the school, SELF: Self-certified}\n",
                        1)
    start = text.index("  results:\n")
    text = text[:start] + """  results:
    - name: education
      label: Back in school
      when_any: [EDU]
      amount: 500
      refused_when:
        - when: evidence != "LETTER"
          reason: a school result needs a signed letter from the school
    - name: work_start
      label: Into work
      when_any: [WORK]
      amount: 1000
""" + text[text.index("\nreport:"):]
    ws, model_path = scheme_from(tmp_path, text)
    ws.add_return("LA1", "2013-05", {"Attachments": [attach("A", date(2013, 5, 1)),
                                                     attach("B", date(2013, 5, 2))],
                                     "Claims": []})
    ws.add_return("LA1", "2013-06", {"Attachments": [attach("C", date(2013, 6, 3))], "Claims": [
        {**claim("A", "EDU", date(2013, 6, 3)), "evidence": "LETTER"},
        {**claim("B", "EDU", date(2013, 6, 4)), "evidence": "SELF"},
        claim("B", "WORK", date(2013, 6, 5))]})
    june = month_of(ws, model_path, "2013-06")
    assert june["providers"][0]["status"] == "paid"
    # C's fee: £4,000 x 60% (2013/14) = £2,400.00; A's letter-backed result £500.00; B's work
    # result £1,000.00; B's self-certified school result refused.
    assert paid(june) == {"attachment": "2400.00", "education": "500.00",
                          "work_start": "1000.00"}
    refused = [e for e in june["evidence"] if e["status"] == "refused"]
    assert [(e["client"], e["event"], e["reason"]) for e in refused] == [
        ("B", "education", "a school result needs a signed letter from the school")]
    assert refused[0]["source"]["cell"].startswith("Claims!")


def test_claims_timed_from_another_event(tmp_path):
    """Work Programme-like timing: a job outcome only 13 weeks after attachment; sustainment
    only after a paid job outcome, the first 4 weeks after it and then every 4 weeks; and a
    claim deadline in days (700). Sustainment with no job outcome, a week after one, or a job
    outcome before 13 weeks were paid before."""
    text = TF.read_text()
    start = text.index("  results:\n")
    text = text[:start] + """  claim_within_days: 700
  results:
    - name: job_outcome
      label: Job outcome
      when_any: [WORK]
      amount: 1000
      weeks_after_attachment: 13
    - name: sustainment
      label: Sustainment
      when_any: [EMP]
      amount: 150
      after: job_outcome
      every_weeks: 4
      up_to: 20
""" + text[text.index("\nreport:"):]
    text = text.replace("key: [family_id, result]", "key: [family_id, result, achieved_date]")
    ws, model_path = scheme_from(tmp_path, text)
    ws.add_return("LA1", "2012-04", {"Attachments": [attach("C", date(2012, 4, 2))],
                                     "Claims": []})
    ws.add_return("LA1", "2013-04", {"Attachments": [attach("A", date(2013, 4, 1)),
                                                     attach("B", date(2013, 4, 1))],
                                     "Claims": []})
    ws.add_return("LA1", "2013-06", {"Attachments": [], "Claims": [
        claim("A", "WORK", date(2013, 6, 24)),    # 12 weeks after attachment: too soon
        claim("B", "EMP", date(2013, 6, 24))]})   # sustainment with no job outcome
    ws.add_return("LA1", "2013-07", {"Attachments": [], "Claims": [
        claim("A", "WORK", date(2013, 7, 1)),     # 13 weeks: paid
        claim("A", "EMP", date(2013, 7, 8))]})    # one week after the job outcome
    ws.add_return("LA1", "2013-08", {"Attachments": [], "Claims": [
        claim("A", "EMP", date(2013, 7, 29)),     # 4 weeks after the job outcome: paid
        claim("A", "EMP", date(2013, 8, 26))]})   # 4 weeks after that: paid
    ws.add_return("LA1", "2014-07", {"Attachments": [], "Claims": [
        claim("C", "WORK", date(2012, 7, 9))]})   # 752 days before the month ends: too late
    june = month_of(ws, model_path, "2013-06")
    reasons = {(e["client"], e["event"]): e["reason"] for e in june["evidence"]}
    assert paid(june) == {}
    assert reasons[("A", "job_outcome")] == (
        "achieved less than 13 weeks after attachment (2013-04-01): due from 2013-07-01")
    assert reasons[("B", "sustainment")] == "no job_outcome has been paid for this participant"
    july = month_of(ws, model_path, "2013-07")
    assert paid(july) == {"job_outcome": "1000.00"}
    assert {(e["client"], e["event"]): e["reason"] for e in july["evidence"]}[
        ("A", "sustainment")] == "less than 4 weeks after the job_outcome (2013-07-01)"
    august = month_of(ws, model_path, "2013-08")
    assert paid(august) == {"sustainment": "300.00"}  # two at £150.00
    late = month_of(ws, model_path, "2014-07")
    assert paid(late) == {}
    assert [e["reason"] for e in late["evidence"]] == [
        "claimed in 2014-07, more than 700 days after it was achieved (2012-07-09)"]


def test_prices_by_the_participants_payment_group_and_from_parameters(tmp_path):
    """Work Programme payment groups: the attachment fee is £400 for JSA participants and £600
    for ESA ex-incapacity benefit (it was paid at £400 for both); a result's price may be a
    parameter (it was refused: "must be a number, not 'job_price'"), and so may the maximum."""
    text = TF.read_text()
    text = text.replace(
        "        - {name: attachment_date, header: Attachment date, type: date, within: period,\n",
        "        - {name: payment_group, header: Payment group, type: code, codes: payment_group}\n"
        "        - {name: attachment_date, header: Attachment date, type: date, within: period,\n")
    text = text.replace("codes:\n", "codes:\n  payment_group:\n    label: Payment group\n"
                        "    values: {JSA: JSA 25 and over, ESA: ESA ex-incapacity benefit}\n", 1)
    text = text.replace("parameters:\n", "parameters:\n  job_price: {value: 1200}\n"
                        "  most: {value: 1500}\n", 1) if "parameters:\n" in text else text.replace(
        "codes:\n", "parameters:\n  job_price: {value: 1200}\n  most: {value: 1500}\n\ncodes:\n", 1)
    start = text.index("  fees:\n")
    text = text[:start] + """  maximum: most
  fees:
    - name: attachment
      label: Attachment fees
      base: IF(payment_group == "ESA", 600, 400)
      shares: {"2012/13": 1, "2013/14": 1, "2014/15": 1}
  results:
    - name: job_outcome
      label: Job outcome
      when_any: [WORK]
      amount: job_price
""" + text[text.index("\nreport:"):]
    text = text.replace("  maximum: 4000\n", "")
    ws, model_path = scheme_from(tmp_path, text)
    ws.add_return("LA1", "2013-05", {"Attachments": [
        {**attach("J", date(2013, 5, 1)), "payment_group": "JSA"},
        {**attach("E", date(2013, 5, 2)), "payment_group": "ESA"}], "Claims": []})
    ws.add_return("LA1", "2013-09", {"Attachments": [], "Claims": [
        claim("J", "WORK", date(2013, 9, 2)), claim("E", "WORK", date(2013, 9, 3))]})
    may = month_of(ws, model_path, "2013-05")
    assert {(e["client"], e["amount"]) for e in may["evidence"]} == {("J", "400.00"),
                                                                     ("E", "600.00")}
    september = month_of(ws, model_path, "2013-09")
    # J: the £400 fee and the £1,200 job price would pass the £1,500 maximum: £1,100.00 is
    # paid; E: £600 + £1,200, so £900.00.
    amounts = {e["client"]: (e["amount"], e["reason"]) for e in september["evidence"]}
    assert amounts["J"] == ("1100.00", "maximum of £1,500.00 per participant reached")
    assert amounts["E"] == ("900.00", "maximum of £1,500.00 per participant reached")


def test_contract_years_that_start_in_june(tmp_path):
    """A scheme whose contract years start in June (the Work Programme's): a family attached in
    May 2013 is in the 2012/13 contract year (80% of £4,000), one attached in June 2013 in
    2013/14 (60%); by financial years both would have been 2013/14."""
    text = TF.read_text()
    text = text.replace("  payments: real\n", "  payments: real\n  year_starts: 6\n", 1)
    text = text.replace('shares: {"2012/13": 0.80,', 'shares: {"2011/12": 1, "2012/13": 0.80,')
    ws, model_path = scheme_from(tmp_path, text)
    ws.add_return("LA1", "2013-05", {"Attachments": [attach("M", date(2013, 5, 31))],
                                     "Claims": []})
    ws.add_return("LA1", "2013-06", {"Attachments": [attach("J", date(2013, 6, 1))],
                                     "Claims": []})
    assert paid(month_of(ws, model_path, "2013-05")) == {"attachment": "3200.00"}
    june = month_of(ws, model_path, "2013-06")
    assert paid(june) == {"attachment": "2400.00"}
    assert june["evidence"][0]["reason"].startswith("2013/14: 60% of £4,000.00")


def _groups_scheme(results: str, fee_base: str = "400", extra_params: str = "") -> str:
    """Troubled Families rewritten with a payment group on the attachment and the given
    results (YAML under `results:`)."""
    text = TF.read_text()
    text = text.replace(
        "        - {name: attachment_date, header: Attachment date, type: date, within: period,\n",
        "        - {name: payment_group, header: Payment group, type: code, codes: payment_group}\n"
        "        - {name: attachment_date, header: Attachment date, type: date, within: period,\n")
    text = text.replace(
        "        - {name: achieved_date, header: Date achieved, type: date,",
        "        - {name: hours, header: Hours a week, type: integer, required: false}\n"
        "        - {name: achieved_date, header: Date achieved, type: date,", 1)
    text = text.replace("codes:\n", "parameters:\n  job_price: {value: {2012-04-01: 1200, "
                        "2013-09-01: 1000}}\n" + extra_params + "\ncodes:\n  payment_group:\n"
                        "    label: Payment group\n    values: {JSA: JSA 25 and over, "
                        "ESA: ESA ex-incapacity benefit}\n", 1)
    start = text.index("  fees:\n")
    text = text[:start] + f"""  fees:
    - name: attachment
      label: Attachment fees
      base: {fee_base}
      shares: {{"2012/13": 1, "2013/14": 1, "2014/15": 1}}
  results:
{results}""" + text[text.index("\nreport:"):]
    return text.replace("  maximum: 4000\n", "")


def test_prices_by_date_leave_earlier_months_as_they_were(tmp_path):
    """A price from a date applies to what happens from that date: the attachment fee is
    £400 to 31 May 2013 and £300 from 1 June (written as amounts by date), the job price
    £1,200 to 31 August 2013 and £1,000 from 1 September (a parameter by date). A job
    achieved on 30 August and claimed in September is paid £1,200; one achieved on
    2 September, £1,000; May's fee stays £400 when May is worked out again."""
    results = """    - name: job_outcome
      label: Job outcome
      when_any: [WORK]
      amount: job_price
"""
    ws, model_path = scheme_from(tmp_path, _groups_scheme(
        results, fee_base="{2012-04-01: 400, 2013-06-01: 300}"))
    ws.add_return("LA1", "2013-05", {"Attachments": [
        {**attach("A", date(2013, 5, 31)), "payment_group": "JSA"}], "Claims": []})
    ws.add_return("LA1", "2013-06", {"Attachments": [
        {**attach("B", date(2013, 6, 1)), "payment_group": "JSA"}], "Claims": []})
    ws.add_return("LA1", "2013-09", {"Attachments": [], "Claims": [
        claim("A", "WORK", date(2013, 8, 30)), claim("B", "WORK", date(2013, 9, 2))]})
    may_before = month_of(ws, model_path, "2013-05")
    assert [(e["client"], e["amount"]) for e in may_before["evidence"]] == [("A", "400.00")]
    assert [(e["client"], e["amount"]) for e in month_of(ws, model_path, "2013-06")[
        "evidence"]] == [("B", "300.00")]
    september = month_of(ws, model_path, "2013-09")
    assert {e["client"]: e["amount"] for e in september["evidence"]} == {"A": "1200.00",
                                                                         "B": "1000.00"}
    assert september["totals"]["payment"] == "2200.00"
    assert month_of(ws, model_path, "2013-05") == may_before
    shown = runner.invoke(app, ["models", "show", str(model_path)]).output
    assert "£400.00 from 2012-04-01, £300.00 from 2013-06-01" in " ".join(shown.split())


def test_a_claim_refused_on_the_participants_own_attributes(tmp_path):
    """A refusal may read the participant's attachment row as well as the claim's: an ESA
    participant's job counts from 16 hours a week, a JSA one's from 30 (a claim below is
    refused, with the reason, and the rest of the month is paid)."""
    results = """    - name: job_outcome
      label: Job outcome
      when_any: [WORK]
      amount: 1000
      refused_when:
        - when: hours < IF(payment_group == "ESA", 16, 30)
          reason: too few hours a week for the participant's payment group
"""
    ws, model_path = scheme_from(tmp_path, _groups_scheme(results))
    ws.add_return("LA1", "2013-05", {"Attachments": [
        {**attach("J", date(2013, 5, 1)), "payment_group": "JSA"},
        {**attach("E", date(2013, 5, 2)), "payment_group": "ESA"}], "Claims": []})
    ws.add_return("LA1", "2013-09", {"Attachments": [], "Claims": [
        {**claim("J", "WORK", date(2013, 9, 2)), "hours": 20},
        {**claim("E", "WORK", date(2013, 9, 3)), "hours": 20}]})
    september = month_of(ws, model_path, "2013-09")
    got = {e["client"]: (e["status"], e["amount"], e["reason"]) for e in september["evidence"]}
    assert got["J"] == ("refused", "0.00",
                        "too few hours a week for the participant's payment group")
    assert got["E"][:2] == ("paid", "1000.00")
    assert september["totals"]["payment"] == "1000.00"


def test_a_contract_level_fee_beside_per_participant_payments_and_a_provider_maximum(tmp_path):
    """Work and Health's delivery fee: a monthly payment per contract (here £10 a month for
    each family the authority is to work with: 120 × £10 = £1,200.00), paid with the
    per-family payments and withheld with them when the month's return is missing; and
    the Innovation Fund's most per project: £5,000 for all the authority's families. Two
    families attached in May 2013 at £2,400 each (£4,800); a third in June would take it to
    £7,200: £200.00 is paid, "maximum of £5,000.00 for the provider reached"."""
    text = TF.read_text()
    text = text.replace("  maximum: 4000\n", "  maximum: 4000\n  provider_maximum: 5000\n")
    text = text.replace("\nparticipants:\n", """
payments:
  - name: delivery_fee
    label: Delivery fee
    amount: families * 10
    description: A monthly fee for running the service.

participants:
""")
    ws, model_path = scheme_from(tmp_path, text)
    ws.add_return("LA1", "2013-05", {"Attachments": [attach("A", date(2013, 5, 1)),
                                                     attach("B", date(2013, 5, 2))],
                                     "Claims": []})
    ws.add_return("LA1", "2013-06", {"Attachments": [attach("C", date(2013, 6, 3))],
                                     "Claims": []})
    may = month_of(ws, model_path, "2013-05")
    assert paid(may) == {"delivery_fee": "1200.00", "attachment": "4800.00"}
    june = month_of(ws, model_path, "2013-06")
    assert paid(june) == {"delivery_fee": "1200.00", "attachment": "200.00"}
    assert [(e["client"], e["amount"], e["reason"]) for e in june["evidence"]] == [
        ("C", "200.00", "maximum of £5,000.00 for the provider reached")]
    assert june["totals"]["payment"] == "1400.00"
    july = month_of(ws, model_path, "2013-07")  # no return: the month is withheld
    assert paid(july) == {}
    assert july["providers"][0]["status"] == "withheld"
    shown = " ".join(runner.invoke(app, ["models", "show", str(model_path)]).output.split())
    assert "at most £5,000.00 to a provider for all its participants" in shown
    assert "Delivery fee: A monthly fee for running the service. [= families * 10]" in shown


def test_a_claim_deadline_in_working_days_with_the_scheme_s_holidays(tmp_path):
    """15 working days, Christmas Day and Boxing Day 2013 listed as holidays. Achieved on
    Friday 6 December and claimed in December: 9-13, 16-20, 23-24, 27, 30-31 December are
    15 working days to the month's end: paid. Achieved on Thursday 5 December: 16, refused.
    (Without the holidays 6 December would be 17 days: the holidays decide it.)"""
    text = TF.read_text()
    text = text.replace("  payments: real\n", "  payments: real\n  holidays: [2013-12-25, "
                        "2013-12-26]\n", 1)
    text = text.replace("  maximum: 4000\n", "  maximum: 4000\n  claim_within_working_days: 15\n")
    ws, model_path = scheme_from(tmp_path, text)
    ws.add_return("LA1", "2013-11", {"Attachments": [attach("A", date(2013, 11, 1)),
                                                     attach("B", date(2013, 11, 1))],
                                     "Claims": []})
    ws.add_return("LA1", "2013-12", {"Attachments": [], "Claims": [
        claim("A", "WORK", date(2013, 12, 6)), claim("B", "WORK", date(2013, 12, 5))]})
    december = month_of(ws, model_path, "2013-12")
    got = {e["client"]: (e["status"], e["reason"]) for e in december["evidence"]}
    assert got["A"] == ("paid", "")
    assert got["B"] == ("refused", "claimed in 2013-12, more than 15 working days after it "
                                   "was achieved (2013-12-05)")


def test_a_provider_maximum_below_one_participants_maximum_is_a_mistake(tmp_path):
    """`provider_maximum` £3,000 below `maximum` £4,000 — one family would use up the whole
    authority's maximum — was called sound. Now a mistake at its line, saying what to do."""
    text = TF.read_text().replace("  maximum: 4000\n", "  maximum: 4000\n  provider_maximum: 3000\n")
    target = tmp_path / TF.name
    target.write_text(text)
    shutil.copy(TF.with_name(TF.stem + ".register.csv"), tmp_path / (TF.stem + ".register.csv"))
    result = runner.invoke(app, ["models", "check", str(target)])
    out = " ".join(result.output.split())
    line = text[:text.index("provider_maximum: 3000")].count("\n") + 1
    assert result.exit_code == 2, out
    assert (f"{target}:{line}: participants.provider_maximum: £3,000.00 for a provider's "
            "participants together is below £4,000.00, the most for one of them") in out, out


def test_a_holiday_that_is_not_a_date_is_named_at_its_item(tmp_path):
    """A bad holiday was reported as the whole list in Python's own words
    ("[datetime.date(2013, 12, 25), '26/12/2013']") without naming the item. Now the item,
    its place in the list and what to write."""
    text = TF.read_text().replace("  payments: real\n", "  payments: real\n  holidays: "
                                  "[2013-12-25, 26/12/2013]\n", 1)
    target = tmp_path / TF.name
    target.write_text(text)
    shutil.copy(TF.with_name(TF.stem + ".register.csv"), tmp_path / (TF.stem + ".register.csv"))
    result = runner.invoke(app, ["models", "check", str(target)])
    out = " ".join(result.output.split())
    assert result.exit_code == 2, out
    assert "scheme.holidays[1]: must be a date written YYYY-MM-DD, not '26/12/2013'" in out, out
    assert "datetime.date" not in out
