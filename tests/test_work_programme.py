"""The DWP Work Programme model (models/work-programme.yaml), through the CLI: each payment
group's participant, attached in contract year 1 and in work long enough for every payment,
is paid exactly the group's maximum; and the rules that time and refuse claims."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from pbr_cli.model import load_model
from tests.conftest import ROOT, Workspace

runner = CliRunner()
WP = ROOT / "models" / "work-programme.yaml"
HEADER = ["Contract code", "Prime provider", "Contract package area", "Start", "End"]
CONTRACT = [["WP01", "Northfield Employment Ltd", "North East", "2011-06-01", ""]]

# group: (attachment fee, weeks to a job outcome, job outcome, sustainment, most
# sustainments, maximum) as the model holds them; each maximum is fee + job outcome +
# sustainments x their price (ESA ex-IB's £13,720 = £600 + £3,500 + 26 x £370 is published;
# so are the first five groups' fees, job outcomes, sustainments in all and maxima: see
# HC162_TABLE_3 below).
GROUPS = {
    "JSA18": (400, 26, 1200, 170, 13, 3810),
    "JSA25": (400, 26, 1200, 215, 13, 4395),
    "JSAEE": (400, 26, 1200, 250, 20, 6600),
    "JSAIB": (400, 26, 1200, 250, 20, 6600),
    "ESAVOL": (400, 13, 1000, 115, 20, 3700),
    "ESANEW": (400, 13, 1200, 250, 20, 6600),
    "ESAIB": (600, 13, 3500, 370, 26, 13720),
    "IBIS": (400, 13, 1000, 115, 20, 3700),
    "JSAPL": (400, 26, 1200, 250, 20, 6600),
}


# Work and Pensions Committee, "Can the Work Programme work for all user groups?", First
# Report of Session 2013-14, HC 162, Table 3: "Maximum payments to Work Programme providers
# by payment group" (participants attached in year one; maximum payments over the 2-year
# attachment period), https://publications.parliament.uk/pa/cm201314/cmselect/cmworpen/162/
# 16208.htm. Its rows 1-5, as printed: attachment fee, job outcome fee, sustainment fees
# (the total of the four-weekly payments), total. (Its group 3, "JSA Early Access", is the
# model's JSA early entrants, JSAEE.)
HC162_TABLE_3 = {
    "JSA18": (400, 1200, 2210, 3810),    # 1. JSA aged 18-24
    "JSA25": (400, 1200, 2795, 4395),    # 2. JSA aged 25+
    "JSAEE": (400, 1200, 5000, 6600),    # 3. JSA Early Access
    "JSAIB": (400, 1200, 5000, 6600),    # 4. JSA Ex-IB
    "ESAVOL": (400, 1000, 2300, 3700),   # 5. ESA Volunteers
}


def run(ws: Workspace, month: str) -> dict:
    result = runner.invoke(app, ["calculate", "-m", str(WP), "-p", month, "--returns",
                                 str(ws.returns), "--register", str(ws.register_path),
                                 "--json", "--dry-run"], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path, load_model(WP), CONTRACT, HEADER)


def test_the_model_s_figures_are_the_ones_worked_by_hand_and_add_up_to_its_maxima():
    """The model's own figures by payment group (not this file's copy): each group's maximum
    is its fee, job outcome and every sustainment added up, and each is the figure this
    file's worked examples use."""
    params = {name: dict(p.table) for name, p in load_model(WP).parameters.items()}
    for group, (fee, weeks, job, sus, most, maximum) in GROUPS.items():
        assert [params[n][group] for n in ("attachment_price", "weeks_to_job_outcome",
                                           "job_outcome_price", "sustainment_price",
                                           "sustainments", "maximum_price")] == \
            [fee, weeks, job, sus, most, maximum], group
        assert params["attachment_price"][group] + params["job_outcome_price"][group] + \
            params["sustainment_price"][group] * params["sustainments"][group] == \
            params["maximum_price"][group], group


def test_the_model_s_figures_are_those_of_hc_162_table_3():
    """Each of Table 3's rows read: the model's attachment fee, job outcome, its sustainments
    added up (price x number) and its maximum are the row's four figures, and the row's
    total is its three payments added up (so the table is read right, too)."""
    params = {name: dict(p.table) for name, p in load_model(WP).parameters.items()}
    for group, (fee, job, sustainments, total) in HC162_TABLE_3.items():
        assert fee + job + sustainments == total, group
        assert (params["attachment_price"][group], params["job_outcome_price"][group],
                params["sustainment_price"][group] * params["sustainments"][group],
                params["maximum_price"][group]) == (fee, job, sustainments, total), group


def test_a_jsa_early_entrant_attached_in_year_one_who_stays_in_work_is_paid_6600(ws):
    """HC 162, Table 3, row 3: a JSA early entrant attached in year one (1 June 2011) who
    starts a job on 1 July 2011 and stays in it: the £400 fee in June 2011; the job outcome
    after 26 weeks (30 December 2011) £1,200; sustainments every 4 weeks after it, £5,000 in
    all (20 x £250), a further one refused. £400 + £1,200 + £5,000 = £6,600."""
    ws.add_return("WP01", "2011-06", {"Attachments": [
        {"participant_id": "EE", "payment_group": "JSAEE", "attachment_date": date(2011, 6, 1)}],
        "Claims": []})
    start = date(2011, 7, 1)
    outcome = start + timedelta(weeks=26)
    ws.add_return("WP01", "2013-10", {"Attachments": [], "Claims": [
        {"participant_id": "EE", "claim": "JOB", "job_start": start, "achieved_date": outcome},
        *({"participant_id": "EE", "claim": "SUS", "job_start": start,
           "achieved_date": outcome + timedelta(weeks=4 * k)} for k in range(1, 22))]})
    june, october = run(ws, "2011-06"), run(ws, "2013-10")
    assert june["totals"]["payment"] == "400.00"
    paid = [e for e in october["evidence"] if e["status"] == "paid"]
    assert sum(Decimal(e["amount"]) for e in paid if e["event"] == "job_outcome") == 1200
    assert sum(Decimal(e["amount"]) for e in paid if e["event"] == "sustainment") == 5000
    assert october["totals"]["payment"] == "6200.00"   # £6,600 less June's £400 fee
    assert [e["reason"] for e in october["evidence"] if e["status"] == "refused"][:1] == [
        "paid 20 time(s) already, the most"]


def test_each_group_s_participant_is_paid_its_maximum(ws):
    """Nine participants, one per group, attached on 1 June 2011 (year 1: the full fee),
    each starting a job on 1 July 2011; the job outcome completed after 13 or 26 weeks,
    then a sustainment every 4 weeks up to the group's number and one more (refused). All
    claims come in the October 2013 return."""
    ws.add_return("WP01", "2011-06", {"Attachments": [
        {"participant_id": f"P-{g}", "payment_group": g, "attachment_date": date(2011, 6, 1)}
        for g in GROUPS], "Claims": []})
    claims = []
    for group, (_, weeks, _, _, most, _) in GROUPS.items():
        start = date(2011, 7, 1)
        outcome = start + timedelta(weeks=weeks)
        claims.append({"participant_id": f"P-{group}", "claim": "JOB", "job_start": start,
                       "achieved_date": outcome})
        for k in range(1, most + 2):
            claims.append({"participant_id": f"P-{group}", "claim": "SUS", "job_start": start,
                           "achieved_date": outcome + timedelta(weeks=4 * k)})
    ws.add_return("WP01", "2013-10", {"Attachments": [], "Claims": claims})
    june, october = run(ws, "2011-06"), run(ws, "2013-10")
    paid: dict[str, Decimal] = {}
    for data in (june, october):
        for e in data["evidence"]:
            paid[e["client"]] = paid.get(e["client"], Decimal(0)) + Decimal(e["amount"])
    assert paid == {f"P-{g}": Decimal(v[5]) for g, v in GROUPS.items()}
    refused = [e for e in october["evidence"] if e["status"] == "refused"]
    assert {e["client"] for e in refused} == {f"P-{g}" for g in GROUPS}
    esa = next(e for e in refused if e["client"] == "P-ESAIB")
    assert esa["reason"] == "paid 26 time(s) already, the most"
    fees = {e["client"]: e["amount"] for e in june["evidence"]}
    assert fees["P-ESAIB"] == "600.00" and fees["P-JSA25"] == "400.00"
    assert june["totals"]["payment"] == "3800.00"       # 8 x £400 + £600
    # maxima £3,810 + £4,395 + £6,600 x 4 + £3,700 x 2 + £13,720 = £55,725, less £3,800
    assert october["totals"]["payment"] == "51925.00"


def test_claims_timed_from_the_job_and_the_job_outcome(ws):
    """A JSA 25+ participant's job outcome completed after 25 weeks is refused (26 are
    needed); an ESA one's after 13 is paid. A sustainment with no job outcome paid is
    refused; one 3 weeks after the job outcome is refused, one 4 weeks after is paid. A
    job that started before the participant joined pays nothing."""
    ws.add_return("WP01", "2012-01", {"Attachments": [
        {"participant_id": "J", "payment_group": "JSA25", "attachment_date": date(2012, 1, 2)},
        {"participant_id": "E", "payment_group": "ESANEW", "attachment_date": date(2012, 1, 3)},
        {"participant_id": "B", "payment_group": "JSA18", "attachment_date": date(2012, 1, 4)},
    ], "Claims": []})
    start = date(2012, 2, 1)
    ws.add_return("WP01", "2012-09", {"Attachments": [], "Claims": [
        {"participant_id": "J", "claim": "JOB", "job_start": start,
         "achieved_date": start + timedelta(weeks=25)},
        {"participant_id": "J", "claim": "SUS", "job_start": start,
         "achieved_date": start + timedelta(weeks=29)},
        {"participant_id": "E", "claim": "JOB", "job_start": start,
         "achieved_date": start + timedelta(weeks=13)},
        {"participant_id": "E", "claim": "SUS", "job_start": start,
         "achieved_date": start + timedelta(weeks=16)},
        {"participant_id": "E", "claim": "SUS", "job_start": start,
         "achieved_date": start + timedelta(weeks=17)},
        {"participant_id": "B", "claim": "JOB", "job_start": date(2011, 12, 1),
         "achieved_date": date(2012, 6, 1)},
    ]})
    got = [(e["client"], e["event"], e["status"], e["amount"], e["reason"])
           for e in run(ws, "2012-09")["evidence"]]
    assert ("J", "job_outcome", "refused", "0.00",
            "not yet in work long enough: a job outcome is paid after 13 weeks in work (ESA "
            "groups, IB/IS) or 26 weeks (JSA groups)") in got
    assert ("J", "sustainment", "refused", "0.00",
            "no job_outcome has been paid for this participant") in got
    assert ("E", "job_outcome", "paid", "1200.00", "") in got
    assert ("E", "sustainment", "refused", "0.00",
            "less than 4 weeks after the job_outcome (2012-05-02)") in got
    assert ("E", "sustainment", "paid", "250.00", "") in got
    assert ("B", "job_outcome", "refused", "0.00",
            "the job started before the participant joined the programme") in got


def test_the_attachment_fee_falls_by_contract_year_from_june(ws):
    """Attached 31 May 2012 (contract year 1): £400; 1 June 2012 (year 2, 50%): £200.00;
    ESA ex-IB in year 2: £300.00."""
    ws.add_return("WP01", "2012-05", {"Attachments": [
        {"participant_id": "A", "payment_group": "JSA25", "attachment_date": date(2012, 5, 31)}],
        "Claims": []})
    ws.add_return("WP01", "2012-06", {"Attachments": [
        {"participant_id": "B", "payment_group": "JSA25", "attachment_date": date(2012, 6, 1)},
        {"participant_id": "C", "payment_group": "ESAIB", "attachment_date": date(2012, 6, 1)}],
        "Claims": []})
    assert [e["amount"] for e in run(ws, "2012-05")["evidence"]] == ["400.00"]
    assert {e["client"]: e["amount"] for e in run(ws, "2012-06")["evidence"]} == {
        "B": "200.00", "C": "300.00"}


def test_a_sustainment_claimed_late_is_paid_when_its_weeks_do_not_overlap(ws):
    """Sustainments completed 28 February, 28 March and 25 April 2013, the March one claimed
    late (in May, after April's was paid): each is 4 weeks from the others, so all three
    are paid. One completed 9 May, 2 weeks after 25 April, overlaps it and is refused."""
    start = date(2012, 5, 10)
    outcome = start + timedelta(weeks=26)  # 8 November 2012

    def sus(day):
        return {"participant_id": "P", "claim": "SUS", "job_start": start, "achieved_date": day}

    ws.add_return("WP01", "2012-05", {"Attachments": [
        {"participant_id": "P", "payment_group": "JSA25", "attachment_date": date(2012, 5, 1)}],
        "Claims": []})
    ws.add_return("WP01", "2013-04", {"Attachments": [], "Claims": [
        {"participant_id": "P", "claim": "JOB", "job_start": start, "achieved_date": outcome},
        *(sus(outcome + timedelta(weeks=4 * k)) for k in (1, 2, 3, 4)),  # to 28 February
        sus(date(2013, 4, 25))]})
    ws.add_return("WP01", "2013-05", {"Attachments": [], "Claims": [
        sus(date(2013, 3, 28)), sus(date(2013, 5, 9))]})
    may = {e["date"]: (e["status"], e["reason"]) for e in run(ws, "2013-05")["evidence"]}
    assert may["2013-03-28"] == ("paid", "")
    assert may["2013-05-09"] == ("refused", "less than 4 weeks from the sustainment paid "
                                            "for 2013-04-25")


def two_contracts(tmp_path, names_contract: bool = True):
    """The Work Programme with a prime provider P holding two contracts, C1 and C2, each bid
    at its own discount on the job outcome price (10% and 20%)."""
    text = WP.read_text()
    text = text.replace("  key: provider_code\n  provider: provider_code\n",
                        "  key: contract_id\n  provider: provider_code\n")
    text = text.replace("    - {name: provider_code, header: Contract code, type: text}\n",
                        "    - {name: contract_id, header: Contract, type: text}\n"
                        "    - {name: provider_code, header: Prime provider code, type: text}\n"
                        "    - {name: discount, header: Discount bid, type: number}\n")
    if names_contract:
        text = text.replace(
            "        - {name: participant_id, header: Participant ID, type: text,\n"
            "           help: \"The participant's programme reference. No names.\"}",
            "        - {name: contract_id, header: Contract, type: text, register: true}\n"
            "        - {name: participant_id, header: Participant ID, type: text}")
    text = text.replace("      amount: job_outcome_price\n",
                        "      amount: job_outcome_price * (1 - discount)\n")
    model_path = tmp_path / "work-programme.yaml"
    model_path.write_text(text)
    header = ["Contract", "Prime provider code", "Prime provider", "Contract package area",
              "Discount bid", "Start", "End"]
    contracts = [["C1", "P", "Northfield Employment Ltd", "North East", "0.10", "2011-06-01", ""],
                 ["C2", "P", "Northfield Employment Ltd", "Wales", "0.20", "2011-06-01", ""]]
    (tmp_path / "work-programme.register.csv").write_text(
        "\n".join(",".join(r) for r in [header, *contracts]) + "\n")
    (tmp_path / "ws").mkdir()
    return Workspace(tmp_path / "ws", load_model(model_path), contracts, header), model_path


def test_a_prime_with_two_contracts_is_paid_each_contract_s_prices(tmp_path):
    """The attachments sheet names each participant's contract, so an ESA ex-IB job outcome
    is paid £3,500 x 0.90 = £3,150.00 on C1 and £3,500 x 0.80 = £2,800.00 on C2, each on
    its own contract's line (both were paid at C1's discount, on C1's line)."""
    ws, model_path = two_contracts(tmp_path)
    ws.add_return("P", "2011-06", {"Attachments": [
        {"contract_id": c, "participant_id": f"E-{c}", "payment_group": "ESAIB",
         "attachment_date": date(2011, 6, 1)} for c in ("C1", "C2")], "Claims": []})
    start = date(2011, 7, 1)
    ws.add_return("P", "2011-10", {"Attachments": [], "Claims": [
        {"participant_id": f"E-{c}", "claim": "JOB", "job_start": start,
         "achieved_date": start + timedelta(weeks=13)} for c in ("C1", "C2")]})
    result = runner.invoke(app, ["calculate", "-m", str(model_path), "-p", "2011-10",
                                 "--returns", str(ws.returns), "--register",
                                 str(ws.register_path), "--json", "--dry-run"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    lines = {(ln["entry"], ln["component"]): ln["amount"] for p in data["providers"]
             for ln in p["lines"]}
    assert lines[("C1", "job_outcome")] == "3150.00"
    assert lines[("C2", "job_outcome")] == "2800.00"
    assert data["totals"]["payment"] == "5950.00"
    june = json.loads(runner.invoke(app, [
        "calculate", "-m", str(model_path), "-p", "2011-06", "--returns", str(ws.returns),
        "--register", str(ws.register_path), "--json", "--dry-run"]).stdout)
    fees = {(ln["entry"], ln["component"]): ln["amount"] for p in june["providers"]
            for ln in p["lines"]}
    assert fees[("C1", "attachment")] == "600.00" and fees[("C2", "attachment")] == "600.00"


def test_a_prime_with_two_contracts_whose_attachments_name_none_is_warned(tmp_path):
    ws, model_path = two_contracts(tmp_path, names_contract=False)
    ws.add_return("P", "2011-06", {"Attachments": [
        {"participant_id": "E", "payment_group": "ESAIB", "attachment_date": date(2011, 6, 1)}],
        "Claims": []})
    data = json.loads(runner.invoke(app, [
        "calculate", "-m", str(model_path), "-p", "2011-06", "--returns", str(ws.returns),
        "--register", str(ws.register_path), "--json", "--dry-run"]).stdout)
    said = [p["message"] for p in data["problems"] if p["code"] == "participants-contract-unknown"]
    assert said == ["provider P holds 2 contracts this month but the Attachments sheet names "
                    "none: every participant is paid on contract C1, with its figures; add a "
                    "column with `register: true` naming each participant's contract"]
