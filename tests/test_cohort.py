"""The cohort model: the brief's Wigan worked example (§4) through the CLI, exact bands,
client-level validation, anti-churn, follow-ups, the annual cap, and traceable evidence."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from pbr_cli.model.records import Band
from pbr_cli.periods import add_months, add_months_to
from pbr_cli.pricing.cohort.cap import apply_cap
from pbr_cli.pricing.cohort.month import band_for
from pbr_cli.pricing.records import PAID_EVENT as PAID
from pbr_cli.pricing.records import Evidence, Source
from tests.conftest import COHORT_MODEL_PATH, CohortReturns, broken_model, wigan_worked_example

runner = CliRunner()


def calculate(ws, period: str, out, *extra):
    return runner.invoke(app, ["calculate", "--model", str(COHORT_MODEL_PATH), "--period", period,
                               "--returns", str(ws.returns), "--register", str(ws.register_path),
                               "-o", str(out), "--json", *extra])


def provider(data, code):
    p = next(p for p in data["providers"] if p["provider"] == code)
    return p, {(ln["component"], ln["groups"]["complexity"]): ln for ln in p["lines"]}


def test_wigan_worked_example_june_2013_provider_p1(cohort_workspace, tmp_path):
    wigan_worked_example().write(cohort_workspace, "2012-04", "2013-06")
    result = calculate(cohort_workspace, "2013-06", tmp_path / "june.xlsx")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    p1, lines = provider(data, "P1")

    medium = lines[("completion", "M")]  # 12 of 40 = 30% -> band >=25% -> GBP 450 x 2
    assert (medium["figures"]["numerator"], medium["figures"]["denominator"]) == (12, 40)
    assert medium["figures"]["proportion"] == "0.3000000000"
    assert medium["figures"]["band"] == "\u226525%"
    assert medium["figures"]["price"] == "450.00" and medium["figures"]["events_paid"] == 2
    assert medium["amount"] == "900.00"

    high = lines[("completion", "H")]  # 6 of 20 is exactly 30%: the >=30% band, inclusive
    assert (high["figures"]["numerator"], high["figures"]["denominator"]) == (6, 20)
    assert high["figures"]["band"] == "\u226530%" and high["figures"]["price"] == "800.00"
    assert high["amount"] == "800.00"

    tariff = lines[("presentation", "M")]  # 3 new Medium presentations, one re-presenting
    assert tariff["figures"]["events"] == 3 and tariff["figures"]["events_paid"] == 2
    assert tariff["amount"] == "600.00"
    assert p1["payment"] == "2300.00"

    refused = [e for e in data["evidence"] if e["status"] == "refused"]
    assert len(refused) == 1
    assert refused[0]["client"] == "M-X" and refused[0]["amount"] == "0.00"
    assert refused[0]["reason"] == "presented within 12 months (2012-11-03 at P2)"
    assert refused[0]["source"]["cell"] == "Presentations!B4"

    # The workbook says the same, cell by cell.
    wb = openpyxl.load_workbook(tmp_path / "june.xlsx")
    assert wb.sheetnames == ["Summary", "Lines", "Evidence", "Warnings", "About"]
    ev = wb["Evidence"]
    header = [c.value for c in ev[5]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in ev.iter_rows(min_row=6)]
    mx = next(r for r in rows if r["Client ID"] == "M-X")
    assert mx["Status"] == "Refused" and mx["Amount"] == 0 and mx["Price"] == 300
    assert mx["Reason"].startswith("presented within 12 months (2012-11-03")
    assert mx["Complexity"] == "Medium"
    h05 = next(r for r in rows if r["Client ID"] == "H05")
    assert (h05["Band"], h05["Amount"], h05["Achieved"], h05["Cohort"]) == ("\u226530%", 800, 6, 20)
    assert h05["Window"] == "2012-07-01 to 2013-06-30"
    # The group and window columns sit right of number columns: indented, they print apart.
    assert [ev.cell(6, col).alignment.indent for col in (4, 5, 11, 12)] == [0, 1, 0, 1]
    summary = wb["Summary"]
    p1_row = next(r for r in summary.iter_rows(min_row=6, values_only=True) if r[0] == "P1")
    assert p1_row[4:7] == (600, 1700, 0)  # presentations, completions, abstinence
    again = tmp_path / "again.xlsx"
    calculate(cohort_workspace, "2013-06", again)
    assert again.read_bytes() == (tmp_path / "june.xlsx").read_bytes()


def test_band_bounds_are_exact_fractions(cohort_model):
    completion = cohort_model.cohort.outcome("completion")
    high = completion.bands["H"]
    assert high[1].lower == Fraction(3, 10)  # "0.30" in the YAML is exactly 3/10
    assert band_for(high, Fraction(6, 20)) is high[1]
    assert band_for(high, Fraction(6, 20) - Fraction(1, 10**12)) is high[0]
    # A bound of 29%: floating point makes 29 of 100 a hair under it, exact fractions do not.
    bands = (Band(Fraction(29, 100), Fraction(500)),)
    assert 29 / 100 * 100 < 29  # what a float implementation would compare
    assert band_for(bands, Fraction(29, 100)) is bands[0]
    # Shares summed across months: 0.1 + 0.2 is not 0.3 in floats.
    assert 0.1 + 0.2 != 0.3
    assert band_for((Band(Fraction(3, 10), Fraction(1)),), Fraction(1, 10) + Fraction(2, 10))
    assert band_for(high, Fraction(1, 20)) is None  # below the first band: price 0


@given(st.integers(1, 500), st.integers(1, 500), st.integers(2, 1000))
def test_a_proportion_equal_to_a_bound_takes_that_band(n, d, k):
    n = min(n, d)
    bound = Fraction(n, d)
    bands = (Band(Fraction(0), Fraction(1)), Band(bound, Fraction(2)))
    if bound > 0:
        assert band_for(bands, Fraction(n * k, d * k)).price == 2
        assert band_for(bands, Fraction(n * k - 1, d * k)).price == 1


def test_six_calendar_months():
    assert add_months(date(2012, 8, 31), 6) == date(2013, 2, 28)
    assert add_months(date(2015, 8, 31), 6) == date(2016, 2, 29)
    assert add_months(date(2013, 6, 3), -12) == date(2012, 6, 3)
    for day, months, then in ((date(2012, 8, 31), 6, date(2013, 2, 28)),
                              (date(2015, 8, 31), 6, date(2016, 2, 29)),
                              (date(2013, 6, 3), -12, date(2012, 6, 3))):
        assert add_months_to([day.toordinal()], months).tolist() == [then.toordinal()]


def test_calendar_months_over_arrays_agree_with_one_day_at_a_time():
    # every day of 2011 to 2016 (month ends, leap days), months back and forward
    first, last = date(2011, 1, 1).toordinal(), date(2016, 12, 31).toordinal()
    days = list(range(first, last + 1))
    for months in (-12, -1, 0, 1, 6, 13, 18):
        got = add_months_to(days, months).tolist()
        assert got == [add_months(date.fromordinal(d), months).toordinal() for d in days]
    assert add_months_to([date(2012, 8, 31).toordinal()], 6).tolist() == [
        date(2013, 2, 28).toordinal()]


def _event(amount: str, day: int, client: str) -> Evidence:
    return Evidence("P1", client, "completion", "Completions", date(2013, 6, day), "M", PAID,
                    Decimal(amount), Decimal(amount), "", Source("f.xlsx", "Discharges", day))


@given(st.lists(st.sampled_from(["150.00", "300.00", "450.00", "800.00", "0.00"]), max_size=30),
       st.integers(0, 5000), st.integers(0, 6000))
def test_cap_is_never_exceeded_and_reconciles(prices, cap, before):
    events = [_event(p, 1 + i % 28, f"C{i:03d}") for i, p in enumerate(prices)]
    capped = apply_cap(events, Decimal(cap), Decimal(before), "2013/14")
    paid = sum((e.amount for e in capped), Decimal(0))
    assert paid <= max(Decimal(cap) - Decimal(before), Decimal(0))
    assert paid + sum((e.cap_reduction for e in capped), Decimal(0)) == sum(
        (e.amount for e in events), Decimal(0))
    assert all(0 <= e.amount <= e.price for e in capped)
    assert len(capped) == len(events)


def test_cap_reduces_lines_and_says_so(cohort_workspace, tmp_path):
    data = CohortReturns()
    for i in range(6):
        data.present("P1", f"A{i}", date(2013, 4, 2 + i), "H")  # 6 x 450 in April
        data.present("P1", f"B{i}", date(2013, 5, 2 + i), "H")  # 6 x 450 in May
    for row in cohort_workspace.register_path.read_text().splitlines()[1:]:
        assert row.endswith(",")  # no caps in the fixture register: add one
    text = cohort_workspace.register_path.read_text().replace(
        "P1,First Recovery Service,Community recovery,2012-04-01,,", "P1,First Recovery Service,"
        "Community recovery,2012-04-01,,4000")
    cohort_workspace.register_path.write_text(text)
    data.write(cohort_workspace, "2012-04", "2013-05")
    data_out = json.loads(calculate(cohort_workspace, "2013-05", tmp_path / "may.xlsx").stdout)
    _, lines = provider(data_out, "P1")
    line = lines[("presentation", "H")]
    assert line["amount"] == "1300.00"  # April paid 2,700; 1,300 of the 4,000 cap is left
    assert line["figures"]["cap_reduction"] == "1400.00"
    reasons = [e["reason"] for e in data_out["evidence"] if e["provider"] == "P1"]
    assert sum("reduced by the annual cap" in r for r in reasons) == 1
    assert sum("annual cap of £4,000.00 for 2013/14 reached" in r for r in reasons) == 3
    assert any(p["code"] == "cap-reached" for p in data_out["problems"])


def test_follow_up_abstinence_and_churn_rules(cohort_workspace, tmp_path):
    data = CohortReturns()
    # K1 completes on 31 August 2012; the follow-up ends 28 February 2013, no re-presentation.
    data.present("P1", "K1", date(2012, 5, 2), "L")
    data.discharge("P1", "K1", date(2012, 5, 2), date(2012, 8, 31), "TCDF", "L")
    # K2 completes on 30 August and presents again at P2 in December: no follow-up payment.
    data.present("P1", "K2", date(2012, 5, 3), "M")
    data.discharge("P1", "K2", date(2012, 5, 3), date(2012, 8, 30), "TCOU", "M")
    data.present("P2", "K2", date(2012, 12, 5), "M")
    # K3: abstinent in January (first) and again in February (already paid).
    data.present("P1", "K3", date(2012, 10, 1), "M")
    data.review("P1", "K3", date(2012, 11, 5), "M", opiate=4)
    data.review("P1", "K3", date(2013, 1, 7), "M")
    data.review("P1", "K3", date(2013, 2, 7), "M")
    data.write(cohort_workspace, "2012-04", "2013-02")
    out = json.loads(calculate(cohort_workspace, "2013-02", tmp_path / "feb.xlsx").stdout)
    events = {(e["client"], e["event"]): e for e in out["evidence"]}
    k1 = events[("K1", "non_representation")]
    assert k1["status"] == "paid" and k1["date"] == "2013-02-28"
    assert (k1["amount"], k1["band"]) == ("250.00", "\u226585%")  # 1 of 1 Low follow-ups
    assert k1["source"]["cell"] == "Discharges!C2"
    k2 = events[("K2", "non_representation")]
    assert k2["status"] == "refused"
    assert k2["reason"] == "presented again within 6 months (2012-12-05 at P2)"
    _, lines = provider(out, "P1")
    follow = lines[("non_representation", "M")]["figures"]
    assert (follow["numerator"], follow["denominator"], follow["events_paid"]) == (0, 1, 0)
    k3 = events[("K3", "abstinence")]
    assert k3["status"] == "refused" and "already paid for this episode (first on 2013-01-07)" in k3["reason"]
    abst = lines[("abstinence", "M")]["figures"]
    assert (abst["numerator"], abst["denominator"]) == (1, 1)
    # January paid the first abstinent review.
    jan = json.loads(calculate(cohort_workspace, "2013-01", tmp_path / "jan.xlsx").stdout)
    assert [(e["client"], e["status"]) for e in jan["evidence"] if e["event"] == "abstinence"] == [
        ("K3", "paid")]


def test_missing_history_month_is_named_and_assumed(cohort_workspace, tmp_path):
    data = CohortReturns()
    data.present("P1", "Z1", date(2013, 3, 4), "M")
    data.discharge("P1", "Z1", date(2013, 3, 4), date(2013, 6, 20), "TCDF", "M")
    data.write(cohort_workspace, "2012-04", "2013-06")
    (cohort_workspace.returns / "2013-03" / "P1-2013-03.xlsx").unlink()
    out = json.loads(calculate(cohort_workspace, "2013-06", tmp_path / "june.xlsx").stdout)
    messages = {p["code"]: p["message"] for p in out["problems"]}
    assert "no return for 2013-03; assumed no presentations" in messages["no-return"]
    assert "episode is taken from this discharge" in messages["episode-assumed"]
    _, lines = provider(out, "P1")
    assert lines[("completion", "M")]["figures"]["numerator"] == 1


def test_episode_error_in_the_month_withholds_the_provider(cohort_workspace, tmp_path):
    data = CohortReturns()
    data.discharge("P1", "Q1", date(2013, 6, 1), date(2013, 6, 12), "TCDF", "M")
    data.present("P2", "Q2", date(2013, 6, 3), "L")
    data.write(cohort_workspace, "2012-04", "2013-06")
    result = calculate(cohort_workspace, "2013-06", tmp_path / "june.xlsx")
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    p1, _ = provider(out, "P1")
    assert p1["status"] == "withheld" and p1["payment"] == "0.00"
    assert provider(out, "P2")[0]["payment"] == "150.00"
    problem = next(p for p in out["problems"] if p["code"] == "discharge-without-episode")
    assert problem["cell"] == "Discharges!B2" and problem["file"].endswith("P1-2013-06.xlsx")


# -- client-level validation: one planted problem per case, with its cell ---------------------

def _history() -> CohortReturns:
    data = CohortReturns()
    data.present("P1", "V1", date(2012, 4, 3), "M")
    data.review("P1", "V1", date(2012, 5, 9), "M", opiate=2)
    return data


CASES = [
    ("discharge before presentation", lambda d: d.discharge(
        "P1", "V2", date(2012, 6, 20), date(2012, 6, 2), "DO", "L"), "below-minimum", "Discharges!C2"),
    ("discharge without an episode", lambda d: d.discharge(
        "P1", "V3", date(2012, 5, 2), date(2012, 6, 2), "DO", "L"), "discharge-without-episode",
     "Discharges!B2"),
    ("overlapping episodes", lambda d: d.present("P1", "V1", date(2012, 6, 5), "M"),
     "overlapping-episodes", "Presentations!B2"),
    ("review outside an episode", lambda d: d.review("P1", "V4", date(2012, 6, 7), "L"),
     "review-outside-episode", "Reviews!B2"),
    ("unknown discharge reason", lambda d: d.discharge(
        "P1", "V1", date(2012, 4, 3), date(2012, 6, 2), "LEFT", "M"), "unknown-code", "Discharges!D2"),
    ("unknown complexity", lambda d: d.present("P1", "V5", date(2012, 6, 5), "Extreme"),
     "unknown-code", "Presentations!C2"),
    ("complexity changed in the episode", lambda d: d.review("P1", "V1", date(2012, 6, 7), "H"),
     "group-changed", "Reviews!C2"),
    ("opiate days above 28", lambda d: d.review("P1", "V1", date(2012, 6, 7), "M", opiate=29),
     "above-maximum", "Reviews!D2"),
    ("crack days below 0", lambda d: d.review("P1", "V1", date(2012, 6, 7), "M", crack=-1),
     "below-minimum", "Reviews!E2"),
    ("second discharge of one episode", lambda d: (
        d.discharge("P1", "V1", date(2012, 4, 3), date(2012, 5, 20), "DO", "M"),
        d.discharge("P1", "V1", date(2012, 4, 3), date(2012, 6, 2), "DO", "M")),
     "episode-already-discharged", "Discharges!B2"),
]


@pytest.mark.parametrize(("what", "plant", "code", "cell"), CASES, ids=[c[0] for c in CASES])
def test_client_level_validation(cohort_workspace, what, plant, code, cell):
    data = _history()
    plant(data)
    data.write(cohort_workspace, "2012-04", "2012-06", providers=("P1",))
    result = runner.invoke(app, ["validate", str(cohort_workspace.returns), "--model",
                                 str(COHORT_MODEL_PATH), "--register",
                                 str(cohort_workspace.register_path), "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    june = next(f for f in report["files"] if f["month"] == "2012-06")
    found = [(p["code"], p["cell"]) for p in june["problems"] if p["severity"] == "error"]
    assert found == [(code, cell)], what
    others = [f for f in report["files"] if f["month"] != "2012-06"]
    assert all(f["status"] == "clean" for f in others), what


@pytest.mark.parametrize(("days", "found"), [(60, []), (61, [("above-maximum", "Discharges!C2")])])
def test_a_date_bound_in_days_holds(cohort_workspace, tmp_path, days, found):
    """`max: episode_start + 60`: a discharge 60 days after the episode started is clean, one
    61 days after is above the maximum (a bound adding days to a date was never enforced)."""
    model = tmp_path / "model" / COHORT_MODEL_PATH.name
    model.parent.mkdir()
    text = COHORT_MODEL_PATH.read_text()
    assert "           min: episode_start,\n" in text
    model.write_text(text.replace("           min: episode_start,\n",
                                  "           min: episode_start, max: episode_start + 60,\n"))
    data = _history()
    start = date(2012, 4, 3)
    data.discharge("P1", "V1", start, start + timedelta(days=days), "DO", "M")  # in June
    data.write(cohort_workspace, "2012-04", "2012-06", providers=("P1",))
    result = runner.invoke(app, ["validate", str(cohort_workspace.returns), "--model", str(model),
                                 "--register", str(cohort_workspace.register_path), "--json"])
    report = json.loads(result.stdout)
    june = next(f for f in report["files"] if f["month"] == "2012-06")
    assert [(p["code"], p["cell"]) for p in june["problems"] if p["severity"] == "error"] == found
    if found:  # the limit is the formula's, said as such (not "after the episode start")
        message = next(p["message"] for p in june["problems"] if p["severity"] == "error")
        assert "2012-06-03 is after the latest allowed date 2012-06-02 (episode_start + 60)" \
            in message, message


def test_clean_history_validates_clean(cohort_workspace):
    _history().write(cohort_workspace, "2012-04", "2012-06", providers=("P1",))
    result = runner.invoke(app, ["validate", str(cohort_workspace.returns), "--model",
                                 str(COHORT_MODEL_PATH), "--register",
                                 str(cohort_workspace.register_path)])
    assert result.exit_code == 0, result.output


def test_every_evidence_row_traces_back_to_a_return_row(tmp_path):
    """The shipped samples, through the installed script: each event's source row holds the
    client and the date the event was paid for."""
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import ROOT

    out = tmp_path / "june.xlsx"
    proc = subprocess.run([sys.executable, "-m", "pbr_cli", "calculate", "--model", "wigan-cohort",
                           "--period", "2013-06", "-o", str(out), "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    statuses = {(e["event"], e["status"]) for e in data["evidence"]}
    reasons = " | ".join(e["reason"] for e in data["evidence"])
    for expected in ("presented within 12 months", "already paid for this episode",
                     "presented again within 6 months", "reduced by the annual cap"):
        assert expected in reasons
    assert ("presentation", "paid") in statuses and ("completion", "paid") in statuses
    books: dict[str, openpyxl.Workbook] = {}
    for e in data["evidence"]:
        path = ROOT / e["source"]["file"] if not Path(e["source"]["file"]).is_absolute() \
            else Path(e["source"]["file"])
        wb = books.setdefault(str(path), openpyxl.load_workbook(path, read_only=True))
        sheet, ref = e["source"]["cell"].split("!")
        row = int("".join(ch for ch in ref if ch.isdigit()))
        values = [c.value for c in next(wb[sheet].iter_rows(min_row=row, max_row=row))]
        assert values[0] == e["client"], e
        recorded = wb[sheet][ref].value.date()
        if e["event"] == "non_representation":
            assert add_months(recorded, 6).isoformat() == e["date"], e
        else:
            assert recorded.isoformat() == e["date"], e
    assert len(data["evidence"]) > 100


BAD_MODELS = [
    ("bands out of order", "          - {from: 0.30, price: 200}\n          - {from: 0.45, price: 300}",
     "          - {from: 0.45, price: 300}\n          - {from: 0.30, price: 200}",
     "lowest first"),
    ("unknown group in bands", "        L:\n          - {from: 0.30", "        X:\n          - {from: 0.30",
     "'X' is not a group code"),
    ("follow-up after nothing", "after: completion", "after: completed",
     "a follow-up needs `after:`"),
    ("when names no column", 'when: offended == "N"', 'when: offence == "N"',
     "'offence', which is not defined; did you mean 'offended'?"),
]


@pytest.mark.parametrize(("what", "old", "new", "message"), BAD_MODELS, ids=[b[0] for b in BAD_MODELS])
def test_cohort_model_mistakes_are_named_with_their_line(tmp_path, what, old, new, message):
    path, error = broken_model(tmp_path, COHORT_MODEL_PATH, old, new)
    assert message in error
    assert f"{path}:" in error


def test_a_look_alike_id_is_the_same_client_or_an_error(cohort_workspace, tmp_path):
    """C100 presents at P1 in January 2013. In June it presents at P2 again, its id typed in
    fullwidth letters ('Ｃ１００'): that is C100 (Unicode NFKC), so the anti-churn rule refuses
    the tariff, as for the plain id. Typed with a zero-width space it is an error naming the
    cell, and P2 is withheld; it is never paid as a new client."""
    data = CohortReturns()
    data.present("P1", "C100", date(2013, 1, 10), "M")
    data.present("P2", "\uff23\uff11\uff10\uff10", date(2013, 6, 5), "M")
    data.write(cohort_workspace, "2012-04", "2013-06")
    out = json.loads(calculate(cohort_workspace, "2013-06", tmp_path / "june.xlsx").stdout)
    tariff = [e for e in out["evidence"] if e["provider"] == "P2"
              and e["event"] == "presentation"]
    assert [(e["client"], e["status"], e["amount"]) for e in tariff] == [("C100", "refused",
                                                                          "0.00")]
    assert tariff[0]["reason"] == "presented within 12 months (2013-01-10 at P1)"
    june = cohort_workspace.returns / "2013-06" / "P2-2013-06.xlsx"
    from pbr_cli.periods import Month

    rows = data.rows[("P2", Month(2013, 6))]
    rows["Presentations"][0]["client_id"] = "C\u200b100"
    june.unlink()
    cohort_workspace.add_return("P2", "2013-06", rows)
    out = json.loads(calculate(cohort_workspace, "2013-06", tmp_path / "june2.xlsx").stdout)
    p2 = next(p for p in out["providers"] if p["provider"] == "P2")
    assert p2["status"] == "withheld" and p2["payment"] == "0.00"
    bad = [p for p in out["problems"] if p["code"] == "suspicious-characters"]
    assert bad and bad[0]["cell"].startswith("Presentations!") and "U+200B" in bad[0]["message"]


def test_one_tariff_a_client_a_day_across_providers(cohort_workspace, tmp_path):
    """Z9 presents at P1 and at P2 on 5 June 2013, never before: P1 (first by code) earns
    the Medium tariff (GBP 300), P2's is refused, saying why; a presentation five days later
    was already refused by the 12-month rule. With `same_day: each` both are paid."""
    data = CohortReturns()
    data.present("P2", "Z9", date(2013, 6, 5), "M")
    data.present("P1", "Z9", date(2013, 6, 5), "M")
    data.write(cohort_workspace, "2012-04", "2013-06")
    out = json.loads(calculate(cohort_workspace, "2013-06", tmp_path / "june.xlsx").stdout)
    tariffs = {e["provider"]: e for e in out["evidence"] if e["client"] == "Z9"
               and e["event"] == "presentation"}
    assert (tariffs["P1"]["status"], tariffs["P1"]["amount"]) == ("paid", "300.00")
    assert (tariffs["P2"]["status"], tariffs["P2"]["amount"]) == ("refused", "0.00")
    assert tariffs["P2"]["reason"] == "presented the same day at P1 (one tariff a client a day)"
    text = COHORT_MODEL_PATH.read_text()
    assert "churn_months: 12\n" in text
    each = tmp_path / "each" / COHORT_MODEL_PATH.name
    each.parent.mkdir()
    each.write_text(text.replace("churn_months: 12\n", "churn_months: 12\n    same_day: each\n"))
    import shutil

    shutil.copy(COHORT_MODEL_PATH.with_name("wigan-cohort.register.csv"), each.parent)
    result = runner.invoke(app, ["calculate", "--model", str(each), "--period", "2013-06",
                                 "--returns", str(cohort_workspace.returns), "--register",
                                 str(cohort_workspace.register_path), "-o",
                                 str(tmp_path / "each.xlsx"), "--json"])
    both = {e["provider"]: e["status"] for e in json.loads(result.stdout)["evidence"]
            if e["client"] == "Z9" and e["event"] == "presentation"}
    assert both == {"P1": "paid", "P2": "paid"}


def test_every_known_presentation_counts_wherever_pbr_learnt_it(cohort_workspace, tmp_path):
    """Presentations known only from a discharge's episode start count for the anti-churn
    rule and for re-presentation, as the brief says 'presented (at any provider)'.

    Y was in treatment at P1 before the scheme began (episode start 1 February 2012, known
    from P1's April discharge) and presents at P2 on 3 May 2012: no tariff (the brief pays
    £0; pbr paid £450). W completes at P1 on 15 May 2012; P2's August return never came, but
    its September return discharges W from an episode that began on 1 August 2012: W's
    follow-up ending 15 November 2012 is refused (pbr paid it)."""
    data = CohortReturns()
    data.discharge("P1", "Y", date(2012, 2, 1), date(2012, 4, 20), "DO", "H")
    data.present("P2", "Y", date(2012, 5, 3), "H")
    data.present("P1", "W", date(2012, 4, 2), "L")
    data.discharge("P1", "W", date(2012, 4, 2), date(2012, 5, 15), "TCDF", "L")
    data.discharge("P2", "W", date(2012, 8, 1), date(2012, 9, 20), "DO", "L")
    data.write(cohort_workspace, "2012-04", "2012-11")
    (cohort_workspace.returns / "2012-08" / "P2-2012-08.xlsx").unlink()
    may = json.loads(calculate(cohort_workspace, "2012-05", tmp_path / "may.xlsx").stdout)
    y = next(e for e in may["evidence"] if e["client"] == "Y" and e["event"] == "presentation")
    assert (y["status"], y["amount"]) == ("refused", "0.00")
    assert y["reason"] == "presented within 12 months (2012-02-01 at P1)"
    nov = json.loads(calculate(cohort_workspace, "2012-11", tmp_path / "nov.xlsx").stdout)
    w = next(e for e in nov["evidence"] if e["client"] == "W"
             and e["event"] == "non_representation")
    assert (w["status"], w["amount"]) == ("refused", "0.00")
    assert w["reason"] == "presented again within 6 months (2012-08-01 at P2)"


def test_records_before_a_mid_month_start_never_count(cohort_workspace, tmp_path):
    """The scheme starts on 15 April 2012. Presentations on 3 and 10 April are before it:
    left out with a warning each, so April pays no tariff for them (pbr paid 2 x £300); one
    on 20 April is paid."""
    import shutil

    folder = tmp_path / "model"
    folder.mkdir()
    text = COHORT_MODEL_PATH.read_text()
    assert "  start: 2012-04-01\n" in text
    model = folder / COHORT_MODEL_PATH.name
    model.write_text(text.replace("  start: 2012-04-01\n", "  start: 2012-04-15\n", 1))
    shutil.copy(COHORT_MODEL_PATH.with_name("wigan-cohort.register.csv"), folder)
    data = CohortReturns()
    data.present("P1", "EARLY1", date(2012, 4, 3), "M")
    data.present("P1", "EARLY2", date(2012, 4, 10), "M")
    data.present("P1", "ON-TIME", date(2012, 4, 20), "M")
    data.write(cohort_workspace, "2012-04", "2012-04")
    result = runner.invoke(app, ["calculate", "--model", str(model), "--period", "2012-04",
                                 "--returns", str(cohort_workspace.returns), "--register",
                                 str(cohort_workspace.register_path), "-o",
                                 str(tmp_path / "apr.xlsx"), "--json"])
    out = json.loads(result.stdout)
    paid = [(e["client"], e["amount"]) for e in out["evidence"] if e["provider"] == "P1"
            and e["event"] == "presentation"]
    assert paid == [("ON-TIME", "300.00")]
    early = [p for p in out["problems"] if p["code"] == "before-scheme-start"]
    assert [p["cell"] for p in early] == ["Presentations!B2", "Presentations!B3"]
    assert "2012-04-03 is before the scheme starts (2012-04-15)" in early[0]["message"]


def test_ids_that_differ_only_in_case(cohort_workspace, tmp_path):
    """c100 presents at P2 in June 2013; C100 presented at P1 in January. As two clients (the
    default) P2 earns the tariff and pbr warns at the cell; with cohort.client_case: same
    they are one client and the anti-churn rule refuses it."""
    import shutil

    data = CohortReturns()
    data.present("P1", "C100", date(2013, 1, 10), "M")
    data.present("P2", "c100", date(2013, 6, 5), "M")
    data.write(cohort_workspace, "2012-04", "2013-06")
    out = json.loads(calculate(cohort_workspace, "2013-06", tmp_path / "june.xlsx").stdout)
    c = next(e for e in out["evidence"] if e["provider"] == "P2" and e["event"] == "presentation")
    assert (c["client"], c["status"]) == ("c100", "paid")
    twins = [p for p in out["problems"] if p["code"] == "ids-differ-in-case"]
    assert len(twins) == 1 and twins[0]["cell"].startswith("Presentations!A")
    assert "'C100' differ only in case" in twins[0]["message"]
    folder = tmp_path / "same"
    folder.mkdir()
    text = COHORT_MODEL_PATH.read_text()
    assert "  client: client_id\n" in text
    model = folder / COHORT_MODEL_PATH.name
    model.write_text(text.replace("  client: client_id\n",
                                  "  client: client_id\n  client_case: same\n", 1))
    shutil.copy(COHORT_MODEL_PATH.with_name("wigan-cohort.register.csv"), folder)
    result = runner.invoke(app, ["calculate", "--model", str(model), "--period", "2013-06",
                                 "--returns", str(cohort_workspace.returns), "--register",
                                 str(cohort_workspace.register_path), "-o",
                                 str(tmp_path / "same.xlsx"), "--json"])
    out = json.loads(result.stdout)
    c = next(e for e in out["evidence"] if e["provider"] == "P2" and e["event"] == "presentation")
    assert (c["client"], c["status"]) == ("C100", "refused")


def test_an_opening_caseload_is_matched_and_paid(cohort_workspace, tmp_path):
    """Clients already in treatment on 1 April 2012 are declared in P1's April return.

    Y1 (Medium, in treatment since 1 February 2012) has a review on 10 May 2012 with no
    opiate or crack use: P1's only Medium episode reviewed in April-May is Y1's, 1 of 1 =
    100% abstinent, band >=50% at £225. Without the declaration the review is outside every
    episode, an error that withholds P1 (£0). Y2 (High, since 5 December 2011) completes on
    20 June 2012: 1 of 1 High episodes in treatment April-June = 100%, band >=45% at £1,000.
    Neither earns a presentation tariff. Y2 presents at P2 on 3 July 2012: within 12 months
    of 5 December 2011, so no tariff."""
    data = CohortReturns()
    data.opening("P1", "Y1", date(2012, 2, 1), "M")
    data.opening("P1", "Y2", date(2011, 12, 5), "H")
    data.review("P1", "Y1", date(2012, 5, 10), "M")
    data.discharge("P1", "Y2", date(2011, 12, 5), date(2012, 6, 20), "TCDF", "H")
    data.present("P2", "Y2", date(2012, 7, 3), "H")
    data.write(cohort_workspace, "2012-04", "2012-07")

    def payments(month: str) -> dict:
        out = json.loads(calculate(cohort_workspace, month, tmp_path / f"{month}.xlsx").stdout)
        assert not [p for p in out["problems"] if p["severity"] == "error"], out["problems"]
        return out

    april = payments("2012-04")
    assert [e for e in april["evidence"] if e["client"] in ("Y1", "Y2")] == []
    may = payments("2012-05")
    y1 = [(e["event"], e["status"], e["amount"]) for e in may["evidence"] if e["client"] == "Y1"]
    assert y1 == [("abstinence", "paid", "225.00")]
    p1, _ = provider(may, "P1")
    assert Decimal(p1["payment"]) == Decimal("225.00")
    june = payments("2012-06")
    y2 = [(e["event"], e["status"], e["amount"], e["numerator"], e["denominator"])
          for e in june["evidence"] if e["client"] == "Y2"]
    assert y2 == [("completion", "paid", "1000.00", 1, 1)]
    july = payments("2012-07")
    again = next(e for e in july["evidence"] if e["client"] == "Y2")
    assert (again["provider"], again["event"], again["status"]) == ("P2", "presentation", "refused")
    assert again["reason"] == "presented within 12 months (2011-12-05 at P1)"

    # the same May without the declaration: the review has no episode, P1 is withheld
    (cohort_workspace.returns / "2012-04" / "P1-2012-04.xlsx").unlink()
    cohort_workspace.add_return("P1", "2012-04", {})
    out = json.loads(calculate(cohort_workspace, "2012-05", tmp_path / "none.xlsx").stdout)
    outside = next(p for p in out["problems"] if p["code"] == "review-outside-episode")
    assert "belongs in the opening caseload" in outside["message"]
    p1, _ = provider(out, "P1")
    assert (p1["status"], Decimal(p1["payment"])) == ("withheld", Decimal("0.00"))


def test_an_opening_caseload_row_must_be_before_the_start_and_declared_once(
        cohort_workspace, tmp_path):
    data = CohortReturns()
    data.opening("P2", "LATE", date(2012, 4, 2), "M")
    data.opening("P1", "TWICE", date(2012, 1, 9), "L")
    data.opening("P1", "TWICE", date(2012, 1, 9), "L", month="2012-05")
    data.write(cohort_workspace, "2012-04", "2012-05")
    out = json.loads(calculate(cohort_workspace, "2012-04", tmp_path / "april.xlsx").stdout)
    late = next(p for p in out["problems"] if p["code"] == "date-not-before-start")
    assert late["cell"] == "Opening caseload!B2"
    assert "2012-04-02 is not before the scheme starts (2012-04-01)" in late["message"]
    out = json.loads(calculate(cohort_workspace, "2012-05", tmp_path / "may.xlsx").stdout)
    twice = next(p for p in out["problems"] if p["code"] == "overlapping-episodes")
    assert twice["cell"].startswith("Opening caseload!") and "P1-2012-05" in twice["file"]
    assert "already in the opening caseload (Opening caseload!B2 of" in twice["message"]


def test_a_calculation_keeps_a_client_level_returns_records_and_lets_its_tables_go():
    """`pbr calculate` reads the months' returns with their client-level records compact and
    their tables let go (the history reads only the records): a look at a let-go table is
    said as a fault, never read as a return with no rows; a service-level return keeps its
    tables. The month's schedule is the one worked out from returns that keep everything."""
    from pbr_cli.cycle.scheme import Scheme
    from pbr_cli.periods import Month
    from pbr_cli.returns.checked import TablesLetGo

    scheme = Scheme.named(None, "wigan-cohort")
    june = Month(2013, 6)
    let_go = scheme.read([june], compact_records=True)
    kept = scheme.read([june])
    returns = [r for r in let_go.returns if r.cohort]
    assert len(returns) >= 10
    for r in returns:
        assert isinstance(r.tables, TablesLetGo)
        with pytest.raises(RuntimeError, match="tables were let go"):
            r.tables.get("Presentations")
    assert all(not isinstance(r.tables, TablesLetGo) for r in kept.returns)
    let_go_schedule, kept_schedule = scheme.schedule(june, let_go), scheme.schedule(june, kept)
    assert let_go_schedule.total() == kept_schedule.total() != 0
    assert [(line.provider, line.component, line.amount) for p in let_go_schedule.providers
            for line in p.lines] == [(line.provider, line.component, line.amount)
                                     for p in kept_schedule.providers for line in p.lines]
    service = Scheme.named(None, "birmingham-90-10").read([june], compact_records=True)
    assert service.returns and all(len(r.tables) for r in service.returns)


def test_a_calculations_last_use_of_its_records_lets_them_go_and_reads_their_codes_as_they_are(
        monkeypatch):
    """`pbr calculate` works out nothing more from its returns' records once the month's
    schedule is made (`last`): the history reads the clients' codes the records were
    compacted with (no second table of every client's id is built) and the records of the
    month and before are let go as the history gathers them, so the records and the history
    are not both held at national scale. The schedule, lines and evidence alike, is the one
    worked out from returns that keep everything."""
    from pbr_cli.cycle.scheme import Scheme
    from pbr_cli.periods import Month
    from pbr_cli.returns.cohort_records import Interned

    scheme = Scheme.named(None, "wigan-cohort")
    june = Month(2013, 6)
    kept = scheme.read([june], compact_records=True)
    let_go = scheme.read([june], compact_records=True)
    assert let_go.clients is not None and let_go.clients.sealed
    kept_schedule = scheme.schedule(june, kept)

    def numbered_again(self, texts):
        raise AssertionError("the history numbered the clients' ids again")

    monkeypatch.setattr(Interned, "code", numbered_again)
    schedule = scheme.schedule(june, let_go, last=True)
    assert [r.month for r in let_go.returns if r.cohort is not None] == []
    assert all(r.cohort is not None for r in kept.returns if not r.errors and r.provider)
    assert schedule.total() == kept_schedule.total() != 0
    assert [(p.provider, ln.component, ln.groups, ln.amount, ln.figures)
            for p in schedule.providers for ln in p.lines] == [
        (p.provider, ln.component, ln.groups, ln.amount, ln.figures)
        for p in kept_schedule.providers for ln in p.lines]
    assert schedule.evidence == kept_schedule.evidence and len(schedule.evidence) > 100
    assert [str(p) for p in schedule.problems] == [str(p) for p in kept_schedule.problems]


@given(st.lists(st.lists(st.sampled_from(["A1", "a1", "B2", "", " ", "é", "e\u0301", "Z9"]),
                         max_size=12), max_size=6))
def test_interned_texts_are_numbered_in_the_order_first_met_across_calls(calls):
    """Each distinct text gets the next code the first time any call meets it, and the same
    code ever after: a plain count, text by text, agrees."""
    import numpy as np

    from pbr_cli.returns.cohort_records import Interned

    interned, plain = Interned(), {}
    for texts in calls:
        codes = interned.code(texts)
        expected = [plain.setdefault(t, len(plain)) for t in texts]
        assert codes.dtype == np.int64 and codes.tolist() == expected
    assert interned.names == list(plain) and len(interned) == len(plain)


def test_the_codes_a_history_reads_as_they_are_are_only_those_every_return_shares():
    """The history reads the clients' codes as they are only when every return's records
    were compacted with one table of ids: a return compacted with another, or holding its
    ids as text, or with no records, makes it number them itself."""
    import dataclasses

    from pbr_cli.cycle.scheme import Scheme
    from pbr_cli.periods import Month
    from pbr_cli.returns.cohort_records import Interned, compact, compacted_with

    scheme = Scheme.named(None, "wigan-cohort")
    found = scheme.read([Month(2012, 6)], compact_records=True)
    returns = [r for r in found.returns if r.cohort]
    assert len(returns) >= 4 and compacted_with(returns) is found.clients
    texts = scheme.read([Month(2012, 6)])
    plain = [r for r in texts.returns if r.cohort]
    assert compacted_with(plain) is None
    assert compacted_with([*returns[:-1], plain[-1]]) is None
    assert compacted_with([*returns, dataclasses.replace(returns[0], cohort=None)]) is None
    other = dataclasses.replace(plain[0], cohort=compact(plain[0].cohort, Interned(), Interned()))
    assert compacted_with([*returns, other]) is None
    assert compacted_with([]) is None


@given(st.lists(st.tuples(st.integers(-3, 3), st.integers(0, 2**40), st.integers(-5, 5)),
                max_size=60),
       st.integers(0, 60), st.booleans())
def test_dense_codes_are_the_ranks_numpy_unique_gives(rows, cut, wide):
    """`dense` numbers the distinct rows in place, in parts, to hold less at national scale:
    the codes are numpy's unique inverse over the rows (as the code was before), whether a
    column comes whole or in two parts, and when the columns together span more than int64
    can number at once (they are renumbered between columns)."""
    import numpy as np

    from pbr_cli.pricing.cohort.rows import dense

    columns = [np.array([r[i] for r in rows], np.int64) for i in range(3)]
    if wide:  # columns whose product of ranges passes 2**62
        columns.insert(1, np.array([r[1] * 1024 for r in rows], np.int64))
    stacked = np.stack(columns, axis=1) if rows else np.zeros((0, len(columns)), np.int64)
    expected = (np.unique(stacked, axis=0, return_inverse=True)[1].reshape(-1) if rows
                else np.zeros(0, np.int64))
    assert dense(*columns).tolist() == expected.tolist()
    cut = min(cut, len(rows))
    parts = [(c[:cut], c[cut:]) for c in columns]
    assert dense(*parts).tolist() == expected.tolist()
