"""`pbr report`: periods, totals that equal the monthly schedules, flags, the ledger's view,
charts, publication suppression and the finance CSV."""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from pbr_cli.errors import PbrError
from pbr_cli.periods import parse_period
from tests.conftest import MODEL_PATH, ROOT, made_once, outcomes, worked_example

runner = CliRunner()
CONFIG = str(ROOT / "pbr.yaml")


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def sheet_table(ws, first_header: str) -> tuple[list[str], list[dict], dict | None]:
    """The table whose heading row starts with `first_header`: (headers, rows, total row)."""
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == first_header)
    headers = [h for h in rows[start] if h is not None]
    body, total = [], None
    for r in rows[start + 1:]:
        if r[0] is None:
            break
        record = dict(zip(headers, r, strict=False))
        if r[0] == "Total":
            total = record
            break
        body.append(record)
    return headers, body, total


# -- periods -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, start, end, months", [
    ("2013-06", date(2013, 6, 1), date(2013, 6, 30), 1),
    ("2013-Q2", date(2013, 4, 1), date(2013, 6, 30), 3),
    ("2013/14", date(2013, 4, 1), date(2014, 3, 31), 12),
    ("2013/14-Q4", date(2014, 1, 1), date(2014, 3, 31), 3),
    ("2013-04..2013-09", date(2013, 4, 1), date(2013, 9, 30), 6),
    ("2012-02", date(2012, 2, 1), date(2012, 2, 29), 1),
])
def test_every_period_form_resolves_to_exact_dates(text, start, end, months):
    p = parse_period(text)
    assert (p.start, p.end, len(p.months())) == (start, end, months)
    assert f"({start.isoformat()} to {end.isoformat()})" in p.describe()


@pytest.mark.parametrize("bad", ["2013-13", "2013-Q5", "2013/15", "2013-09..2013-04", "June",
                                 "2013/14-Q0", ""])
def test_bad_period_lists_the_accepted_forms(bad):
    with pytest.raises(PbrError) as err:
        parse_period(bad)
    for form in ("2013-06", "2013-Q2", "2013/14", "2013/14-Q1", "2013-04..2013-09"):
        assert form in err.value.message
    result = invoke("report", "--period", bad or " ", "--config", CONFIG)
    assert result.exit_code == 2 and "Accepted:" in result.output


def test_period_outside_every_scheme_exit_2():
    result = invoke("report", "-p", "2016-Q1", "-m", "birmingham-90-10", "--config", CONFIG)
    assert result.exit_code == 2
    assert "outside every scheme" in result.output and "2013-04-01 to 2013-09-30" in result.output


# -- totals equal the monthly schedules ---------------------------------------------------------

@pytest.fixture(scope="module")
def birmingham(tmp_path_factory):
    """(schedules, reports, console): made once for the run, read only."""
    return made_once(tmp_path_factory, "birmingham-reports", _birmingham)


def _birmingham(folder):
    """The shipped samples: each month's schedule from `pbr calculate`, then the reports for
    2013-Q2 (JSON and console) and 2013/14 (JSON)."""
    with pytest.MonkeyPatch.context() as mp:
        schedules = {}
        for month in ("2013-04", "2013-05", "2013-06", "2013-07", "2013-08", "2013-09"):
            # A ledger of its own for each month: no earlier month to work out again.
            mp.setenv("PBR_LEDGER", str(folder / f"ledger-{month}.sqlite"))
            path = folder / f"{month}.xlsx"
            result = invoke("calculate", "-m", "birmingham-90-10", "-p", month, "-o", str(path),
                            "--config", CONFIG)
            assert result.exit_code == 0, result.output
            schedules[month] = path
        mp.setenv("PBR_LEDGER", str(folder / "no-ledger.sqlite"))
        reports = {}
        for period in ("2013-Q2", "2013/14"):
            path = folder / f"{period.replace('/', '-')}.xlsx"
            shown = invoke("report", "-p", period, "-m", "birmingham-90-10", "-o", str(path),
                           "--config", CONFIG, "--json")
            assert shown.exit_code == 0, shown.output
            reports[period] = (path, json.loads(shown.stdout)["reports"][0])
        console = invoke("report", "-p", "2013-Q2", "-m", "birmingham-90-10", "-o",
                         str(folder / "again.xlsx"), "--config", CONFIG)
        assert console.exit_code == 0, console.output
    return schedules, reports, console.output


def schedule_totals(path: Path) -> tuple[dict[str, tuple[Decimal, Decimal]], Decimal, Decimal]:
    ws = openpyxl.load_workbook(path)["Summary"]
    _, rows, total = sheet_table(ws, "Provider code")
    per = {r["Provider code"]: (money(r["PbR total"]), money(r["Block contract"])) for r in rows}
    return per, money(total["PbR total"]), money(total["Block contract"])


@pytest.mark.parametrize("period, months", [
    ("2013-Q2", ["2013-04", "2013-05", "2013-06"]),
    ("2013/14", ["2013-04", "2013-05", "2013-06", "2013-07", "2013-08", "2013-09"]),
])
def test_report_totals_equal_the_sum_of_the_monthly_schedules(birmingham, period, months):
    schedules, reports, console = birmingham
    path, data = reports[period]
    want: dict[str, list[Decimal]] = {}
    pbr = block = Decimal("0.00")
    by_month = {}
    for m in months:
        per, t_pbr, t_block = schedule_totals(schedules[m])
        by_month[m] = (t_pbr, t_block)
        pbr += t_pbr
        block += t_block
        for p, (a, b) in per.items():
            want.setdefault(p, [Decimal("0.00"), Decimal("0.00")])
            want[p][0] += a
            want[p][1] += b
    # JSON
    assert data["period"]["months"] == months
    assert Decimal(data["totals"]["payment"]) == pbr
    assert Decimal(data["totals"]["comparison"]) == block
    for row in data["tables"]["providers"]["rows"]:
        assert [Decimal(row["payment"]), Decimal(row["comparison"])] == want[row["provider"]]
    for row in data["tables"]["months"]["rows"]:
        assert (Decimal(row["payment"]), Decimal(row["comparison"])) == by_month[row["month"]]
    # The workbook, read back cell by cell
    wb = openpyxl.load_workbook(path)
    _, rows, total = sheet_table(wb["Summary"], "Provider code")
    for r in rows:
        assert [money(r["PbR total"]), money(r["Block contract"])] == want[r["Provider code"]]
        assert money(r["Variance"]) == money(r["PbR total"]) - money(r["Block contract"])
    assert (money(total["PbR total"]), money(total["Block contract"])) == (pbr, block)
    _, month_rows, _ = sheet_table(wb["Months"], "Month")
    assert {r["Month"]: (money(r["PbR total"]), money(r["Block contract"]))
            for r in month_rows} == by_month
    # The finance CSV: its payment lines add up to the same total
    rows = list(csv.DictReader(io.StringIO(Path(data["csv"]).read_text())))
    assert sum(Decimal(r["amount"]) for r in rows if r["kind"] == "payment") == pbr
    assert sum(Decimal(r["amount"]) for r in rows if r["kind"] == "comparison") == block
    assert {r["basis"] for r in rows} == {"shadow - not for payment"}
    assert data["period"]["start"] == "2013-04-01"
    assert data["tables"].get("reconciliation") is None  # no ledger: nothing to reconcile
    # The console
    if period == "2013-Q2":
        assert f"£{pbr:,.2f}" in console and f"£{block:,.2f}" in console
        assert "SHADOW PAYMENT — NOT FOR PAYMENT" in console
        assert "2013-Q2 (2013-04-01 to 2013-06-30)" in console


def test_financial_year_states_its_dates_and_the_months_not_reported(birmingham):
    _, reports, _ = birmingham
    path, data = reports["2013/14"]
    assert (data["period"]["start"], data["period"]["end"]) == ("2013-04-01", "2014-03-31")
    assert [e["month"] for e in data["period"]["excluded"]] == [
        "2013-10", "2013-11", "2013-12", "2014-01", "2014-02", "2014-03"]
    assert "Not reported: 2013-10 to 2014-03 (outside the scheme)" in " ".join(
        str(c) for c in next(openpyxl.load_workbook(path)["Summary"].iter_rows(
            min_row=2, max_row=2, values_only=True)))
    about = {r[0]: r[1] for r in openpyxl.load_workbook(path)["About"].iter_rows(
        values_only=True) if r[0]}
    assert about["Period asked for"] == "2013/14 (2013-04-01 to 2014-03-31)"
    assert about["Months reported"] == "2013-04 to 2013-09 (2013-04-01 to 2013-09-30)"


def test_loss_flags_follow_the_models_share_and_name_small_providers(birmingham):
    _, reports, _ = birmingham
    _, data = reports["2013-Q2"]
    flagged = {f["provider"]: f for f in data["flags"] if "losing income" in f["flag"]}
    for row in data["tables"]["providers"]["rows"]:
        block, pbr = Decimal(row["comparison"]), Decimal(row["payment"])
        assert (row["provider"] in flagged) == ((block - pbr) * 20 > block)  # more than 5%
    # P23's contract is £45,500 a year: below the model's £150,000, so a small provider.
    assert flagged["P23"]["flag"] == "small provider losing income"
    assert "9.6% (£1,090.34)" in flagged["P23"]["detail"]
    assert flagged["P01"]["flag"] == "losing income"


def test_report_charts_have_titles_axes_and_legends(birmingham):
    _, reports, _ = birmingham
    path, _ = reports["2013-Q2"]
    with zipfile.ZipFile(path) as z:
        charts = sorted(n for n in z.namelist() if n.startswith("xl/charts/chart"))
        xml = {n: z.read(n).decode() for n in charts}
    assert len(charts) == 4
    text = "".join(xml.values())
    for title in ("PbR beside block contract by provider, 2013-Q2",
                  "Spend by component, month by month, against block contract",
                  "Rates month by month, all providers", "£ over the period", "£ in the month",
                  "Provider", "Month", "Rate", "% of the comparison"):
        assert f"<a:t>{title}</a:t>" in text, title
    for chart in xml.values():
        # chart and two axes; a legend, but for the variance chart's one series, whose
        # colours its title explains
        assert chart.count("<c:title>") >= 3
        assert ("<c:legend>" in chart) != ("flagged in vermillion" in chart)


# -- flags for returns, adjustments, late returns, determinism -----------------------------------

def test_missing_late_and_resubmitted_returns_are_flagged_and_adjustments_shown(workspace,
                                                                               monkeypatch):
    ws = workspace
    worked_example(ws)
    # the worked example's returns are a what-if for the config: recorded in a ledger of
    # their own, which the report then reads
    monkeypatch.setenv("PBR_LEDGER", str(ws.root / "worked.sqlite"))
    may_p2 = ws.returns / "2013-05" / "P2-2013-05.xlsx"
    held = may_p2.read_bytes()
    may_p2.unlink()  # P2's May return is late
    (ws.returns / "2013-06" / "P2-2013-06.xlsx").unlink()  # and June's never comes
    base = ["-m", str(MODEL_PATH), "--returns", str(ws.returns), "--register",
            str(ws.register_path)]
    ledger = ["--ledger", os.environ["PBR_LEDGER"]]

    def approve(month: str, result) -> None:
        run = json.loads(result.stdout)["ledger"]["run"]
        assert invoke("approve", *base, *ledger, "-p", month, "--run", str(run), "-o",
                      str(ws.root / f"{month}-approved.xlsx")).exit_code == 0

    for month in ("2013-04", "2013-05"):
        result = invoke("calculate", *base, *ledger, "-p", month, "-o",
                        str(ws.root / f"{month}.xlsx"), "--json")
        assert result.exit_code in (0, 1)
        approve(month, result)
    may_p2.write_bytes(held)
    june = {"Utilisation": [{"service_id": "S001", "void_days": 45},
                            {"service_id": "F010", "users_supported": 52}],
            "Outcomes": outcomes("S001", "CX", date(2013, 6, 20), 4)}
    ws.add_return("P1", "2013-06", june, name="P1-2013-06-v2.xlsx")
    result = invoke("calculate", *base, *ledger, "-p", "2013-06", "-o",
                    str(ws.root / "2013-06.xlsx"), "--json")
    assert result.exit_code == 1  # P2 withheld
    approve("2013-06", result)
    out = ws.root / "q2.xlsx"
    result = invoke("report", *base, "-p", "2013-Q2", "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["reports"][0]
    returns = {r["provider"]: r for r in data["tables"]["returns"]["rows"]}
    assert (returns["P2"]["2013-04"], returns["P2"]["2013-05"], returns["P2"]["2013-06"]) == (
        "used", "late", "missing")
    assert returns["P1"]["2013-06"] == "resubmitted"
    flags = {(f["provider"], f["flag"]): f["detail"] for f in data["flags"]}
    assert flags[("P2", "missing returns")] == "2013-06"
    assert flags[("P2", "late returns")] == "2013-05"
    assert flags[("P1", "resubmitted returns")] == "2013-06"
    # P2 is paid nothing for June against a £5,000.00 block: a small provider losing income.
    assert ("P2", "small provider losing income") in flags
    # The late May return was paid as an adjustment on June's schedule.
    adjustments = data["tables"]["adjustments"]["rows"]
    assert {(a["paid_in"], a["month"], a["provider"]) for a in adjustments} == {
        ("2013-06", "2013-05", "P2")}
    rec = {r["month"]: r for r in data["tables"]["reconciliation"]["rows"]}
    april, may = rec["2013-04"], rec["2013-05"]
    assert april["entitlement"] == april["now"] and april["to_adjust"] == "0.00"
    assert Decimal(rec["2013-06"]["due"]) == Decimal(rec["2013-06"]["entitlement"]) + Decimal(
        rec["2013-06"]["adjustments"])
    assert Decimal(may["now"]) - Decimal(may["entitlement"]) == Decimal(
        data["tables"]["adjustments"]["total"]["difference"])
    assert may["to_adjust"] == "0.00"
    assert [p["state"] for p in data["payments"]] == ["approved"] * 3
    # The same report again: the same bytes.
    first = out.read_bytes()
    assert invoke("report", *base, "-p", "2013-Q2", "-o", str(out)).exit_code == 0
    assert out.read_bytes() == first


def test_a_resubmission_marks_only_its_own_month(workspace):
    """April's return resubmitted: April is 'resubmitted'; May and June, whose rolling
    windows read April's corrected return, are their own returns, used as received."""
    ws = workspace
    worked_example(ws)
    april = ws.returns / "2013-04"
    (april / "P1-2013-04-v2.xlsx").write_bytes((april / "P1-2013-04.xlsx").read_bytes())
    base = ["-m", str(MODEL_PATH), "--returns", str(ws.returns), "--register",
            str(ws.register_path)]
    result = invoke("report", *base, "-p", "2013-Q2", "-o", str(ws.root / "q2.xlsx"), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["reports"][0]
    returns = {r["provider"]: r for r in data["tables"]["returns"]["rows"]}
    assert (returns["P1"]["2013-04"], returns["P1"]["2013-05"], returns["P1"]["2013-06"]) == (
        "resubmitted", "used", "used")
    flags = {(f["provider"], f["flag"]): f["detail"] for f in data["flags"]}
    assert flags[("P1", "resubmitted returns")] == "2013-04"


# -- publication ---------------------------------------------------------------------------------

def test_publish_from_the_command_line_writes_the_publication_alone(tmp_path):
    out = tmp_path / "published.xlsx"
    result = invoke("report", "-p", "2013-06", "-m", "wigan-cohort", "--publish", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "For publication" in result.output and "Audit:" in result.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["published.xlsx"]


