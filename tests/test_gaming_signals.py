"""Signals of gaming (docs/assurance.md, Signals): the exact tests worked by hand, each
signal on a history built by hand, the Benjamini-Hochberg rule, a clean history raising
nothing, the command as a user runs it, and the proof that signals change no payment."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import date
from fractions import Fraction
from math import comb

import pytest

from pbr_cli.assurance.signals import assess, signals_table
from pbr_cli.assurance.signals_cohort import SIGNALS
from pbr_cli.assurance.signals_data import (
    Discharge,
    Presentation,
    Proportion,
    Review,
    SignalData,
)
from pbr_cli.assurance.signals_stats import (
    HALF,
    benjamini_hochberg,
    binomial_at_least,
    fisher_greater,
)
from pbr_cli.model import load_model
from pbr_cli.periods import Month
from tests.conftest import ROOT, broken_model, pbr_in_process

WIGAN = ROOT / "models" / "wigan-cohort.yaml"
APRIL = [Month(2013, 4)]


@pytest.fixture(scope="module")
def wigan():
    return load_model(WIGAN)


def one(model, name: str, data: SignalData, provider: str = "P1"):
    assert model.signals is not None
    return next(f for f in SIGNALS[name](data, model.signals, model) if f.provider == provider)


# -- the exact tests -----------------------------------------------------------------------------

def test_binomial_tail_worked_by_hand():
    assert binomial_at_least(3, 3, HALF) == Fraction(1, 8)
    assert binomial_at_least(2, 4, HALF) == Fraction(6 + 4 + 1, 16)  # C(4,2)+C(4,3)+C(4,4)
    # 3 (1/28)^2 (27/28) + (1/28)^3 = (81 + 1) / 28^3
    assert binomial_at_least(2, 3, Fraction(1, 28)) == Fraction(82, 28 ** 3)
    assert binomial_at_least(0, 5, HALF) == 1 and binomial_at_least(6, 5, HALF) == 0


def test_fisher_one_sided_worked_by_hand():
    # | 3 1 | / | 1 3 |: margins 4 and 4 of 8; P(X >= 3) = (C(4,3)C(4,1) + C(4,4)C(4,0)) / C(8,4)
    assert fisher_greater(3, 1, 1, 3) == Fraction(16 + 1, 70)
    assert fisher_greater(0, 4, 0, 4) == 1  # nothing in the first column: nothing to see


def test_fisher_is_the_hypergeometric_tail_for_any_table():
    """Over 300 random tables, small and large (cells up to 400, the tail sums of hundreds of
    terms), the tail summed either way is the definition's sum, exactly: the sum
    over x >= a of C(a+c, x) C(b+d, a+b-x) over C(N, a+b), each term from C() afresh."""
    import random

    def plain(a, b, c, d):
        row, col, n = a + b, a + c, a + b + c + d
        if row == 0 or col == 0:
            return Fraction(1)
        return Fraction(sum(comb(col, x) * comb(n - col, row - x)
                            for x in range(a, min(row, col) + 1)), comb(n, row))

    rng = random.Random(42)
    for i in range(300):
        size = (6, 60, 400)[i % 3]
        a, b, c, d = (rng.randint(0, size) for _ in range(4))
        if i % 7 == 0:
            a, b = 0, rng.randint(0, size)  # no case at the provider
        if i % 11 == 0:
            c = 0  # none in the comparison
        assert fisher_greater(a, b, c, d) == plain(a, b, c, d), (a, b, c, d)
    assert fisher_greater(5, 0, 0, 5) == Fraction(1, comb(10, 5))  # every case at the provider


def test_benjamini_hochberg_worked_by_hand():
    q = Fraction(5, 100)
    p = [Fraction(x, 1000) for x in (10, 40, 30, 200)]
    # sorted 0.01 <= 1(0.05)/4 = 0.0125 yes; 0.03 <= 0.025 no; 0.04 <= 0.0375 no; 0.2 <= 0.05 no
    assert benjamini_hochberg(p, q) == [True, False, False, False]
    # step-up: 0.024 <= 2(0.05)/3 = 0.0333, so 0.02 is raised too though 0.02 > 0.05/3
    assert benjamini_hochberg([Fraction(20, 1000), Fraction(24, 1000), Fraction(6, 10)], q) \
        == [True, True, False]
    assert benjamini_hochberg([Fraction(x, 100) for x in (1, 2, 3, 4)], q) == [True] * 4


# -- each signal on a history built by hand ------------------------------------------------------

def test_creaming(wigan):
    p = [Presentation("P1", f"A{i}", date(2012, 10, 1 + i), g) for i, g in enumerate("LMMH")]
    p += [Presentation("P1", f"B{i}", date(2013, 4, 1 + i), g) for i, g in enumerate("LLLM")]
    p += [Presentation("P2", "C1", date(2013, 4, 9), "M")]
    f = one(wigan, "creaming", SignalData(APRIL, ["P1", "P2"], p))
    # Low (the cheapest tariff) 3 of 4 in the period against 1 of 4 before: Fisher 17/70
    assert f.p == Fraction(17, 70)
    assert f.figure == "3 of 4 (75%) new clients Low"
    assert f.own == "1 of 4 (25%) before the period" and f.peers == "0 of 1 (0%)"


def test_parking(wigan):
    p = [Presentation("P1", "A", date(2012, 12, 1), "L"),  # nothing since: idle
         Presentation("P1", "B", date(2012, 12, 1), "L"),  # reviewed 1 March: not idle
         Presentation("P1", "C", date(2013, 4, 2), "L"),
         Presentation("P2", "D", date(2012, 11, 1), "M"),  # reviewed 1 April
         Presentation("P2", "E", date(2013, 4, 3), "M")]
    r = [Review("P1", "B", date(2013, 3, 1)), Review("P2", "D", date(2013, 4, 1))]
    f = one(wigan, "parking", SignalData(APRIL, ["P1", "P2"], p, [], r))
    # idle: nothing since before 30 January (30 April less 3 months); P1 1 of 3, P2 0 of 2:
    # Fisher | 1 2 | 0 2 |: P(X >= 1) = C(1,1) C(4,2) / C(5,3) = 6/10
    assert f.p == Fraction(3, 5) and f.figure.startswith("1 of 3 (33.3%)")


def test_churn(wigan):
    p = [Presentation("P2", "X", date(2012, 4, 10), "L"),
         Presentation("P1", "X", date(2013, 4, 12), "L"),  # 2 days after 10 April: after
         Presentation("P2", "Y", date(2012, 4, 20), "L"),
         Presentation("P1", "Y", date(2013, 4, 5), "L"),  # 15 days before 20 April: before
         Presentation("P3", "Z", date(2012, 4, 1), "L"),
         Presentation("P1", "Z", date(2013, 4, 3), "L")]  # 2 days after 1 April: after
    f = one(wigan, "churn", SignalData(APRIL, ["P1", "P2", "P3"], p))
    assert f.p == Fraction(1, 2)  # 2 of 3 after: P(X >= 2), X ~ Bin(3, 1/2) = 4/8


def test_bands(wigan):
    def pr(month: int, group: str, value: str, bounds: tuple[str, ...]) -> Proportion:
        return Proportion("P1", Month(2013, month), "completion", group, Fraction(value),
                          tuple(Fraction(b) for b in bounds))
    low, mid = ("0.30", "0.45", "0.60"), ("0.15", "0.25", "0.40")
    props = [pr(4, "L", "0.31", low), pr(5, "L", "0.305", low),  # one spell just above
             pr(6, "L", "0.5", low), pr(7, "L", "0.44", low),  # then one just below 0.45
             pr(4, "M", "0.26", mid)]  # one spell just above 0.25
    months = [Month(2013, m) for m in (4, 5, 6, 7)]
    f = one(wigan, "bands", SignalData(months, ["P1"], proportions=props))
    assert f.p == Fraction(1, 2) and f.figure.startswith("2 of 3")  # Bin(3, 1/2) >= 2


def test_deadline(wigan):
    d = [Discharge("P1", f"A{day}", date(2013, 1, 5), date(2013, 4, day), "L")
         for day in (28, 29, 30, 26, 10)]  # April: last 3 days 28-30, the 3 before 25-27
    f = one(wigan, "deadline", SignalData(APRIL, ["P1"], [], d))
    assert f.p == Fraction(5, 16)  # 3 of 4: P(X >= 3), X ~ Bin(4, 1/2) = (4 + 1)/16


def test_first_of_month(wigan):
    p = [Presentation("P1", "A", date(2013, 4, 1), "L"),
         Presentation("P1", "B", date(2013, 4, 1), "L"),
         Presentation("P1", "C", date(2013, 4, 17), "L")]
    f = one(wigan, "first_of_month", SignalData(APRIL, ["P1"], p))
    assert f.p == Fraction(82, 28 ** 3)  # 2 of 3 against 1 in 28, as worked above


def test_round_figures(wigan):
    r = [Review("P1", "A", date(2013, 4, 2), (("opiate_days", v), ("crack_days", 0)))
         for v in (7, 14, 5, 0)]
    r += [Review("P2", "B", date(2013, 4, 2), (("opiate_days", v), ("crack_days", 0)))
          for v in (3, 5)]
    f = one(wigan, "round_figures", SignalData(APRIL, ["P1", "P2"], reviews=r))
    # P1 2 of 3 above 0 are multiples of 7, P2 0 of 2: C(2,2) C(3,1) / C(5,3) = 3/10
    assert f.p == Fraction(3, 10)


def test_same_person_look_alike_but_not_a_transfer(wigan):
    p = [Presentation("P1", "WG00123", date(2013, 4, 2), "L"),
         Presentation("P2", "wg-123", date(2013, 4, 10), "L"),  # the same, written otherwise
         Presentation("P1", "WG9", date(2013, 4, 1), "M"),
         Presentation("P3", "WG9", date(2013, 4, 5), "M")]  # the day P1 discharged: a transfer
    d = [Discharge("P1", "WG9", date(2013, 4, 1), date(2013, 4, 5), "M")]
    data = SignalData(APRIL, ["P1", "P2", "P3"], p, d)
    f = one(wigan, "same_person", data)
    assert f.raised and f.cases == 1 and "WG00123 at P1 and wg-123 at P2" in f.figure
    assert not one(wigan, "same_person", data, "P3").raised


# -- the family ----------------------------------------------------------------------------------

def test_a_clean_history_raises_nothing(wigan):
    from benchmarks.signals import history

    for seed in (1, 2, 3):
        found = assess(wigan, history(wigan, random.Random(seed)))
        assert found.tested > 30
        assert [f for f in found.findings if f.raised] == []


def test_gaming_injected_is_raised_at_the_provider_and_only_there(wigan):
    from benchmarks.signals import history

    found = assess(wigan, history(wigan, random.Random(7), "parking", 0.25))
    raised = [(f.provider, f.signal) for f in found.findings if f.raised]
    assert raised == [("P1", "parking")]
    table = signals_table(found)
    assert table.rows[0][:3] == ["P1", "Open with nothing recorded (parking)", "raised"]
    assert table.rows[0][-1].startswith("What treatment are the ")


def test_the_model_says_which_signals(tmp_path):
    _, message = broken_model(tmp_path, WIGAN, "checks: [creaming,", "checks: [skimming,")
    assert "signals.checks" in message and "'skimming' is not a signal" in message
    _, message = broken_model(tmp_path, WIGAN, "round: {columns: [opiate_days,",
                              "round: {columns: [offended,")
    assert "'offended' is not an integer column of the reviews sheet" in message


# -- as a user runs it ---------------------------------------------------------------------------

def _pbr(args: list[str], cwd, columns: int | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PBR_LEDGER", "PBR_CONFIG")}
    if columns:
        env["COLUMNS"] = str(columns)
    return subprocess.run([sys.executable, "-m", "pbr_cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _here(args: list[str], cwd) -> subprocess.CompletedProcess:
    """`pbr ARGS` in the test's own process, for what a command gives rather than how."""
    return pbr_in_process(*args, cwd=cwd)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    place = tmp_path_factory.mktemp("signals")
    (place / "pbr.yaml").write_text(f"models: {ROOT / 'models'}\nreturns: "
                                    f"{ROOT / 'sample_returns'}\noutput: out\n")
    return place


def test_assure_signals_as_a_subprocess(folder):
    out = _pbr(["assure", "signals", "-m", "wigan-cohort", "-p", "2013-Q2", "--json", "-o",
                "s.xlsx"], folder)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)["signals"]
    assert doc["false_discovery"] == "0.0500" and len(doc["signals"]) == 5 * 8
    assert {s["signal"] for s in doc["signals"]} == {
        "creaming", "parking", "churn", "bands", "deadline", "same_person", "first_of_month",
        "round_figures"}
    assert (folder / "s.xlsx").is_file()
    piped = _pbr(["assure", "signals", "-m", "wigan-cohort", "-p", "2013-Q2"], folder)
    assert piped.returncode == 0 and "Signals by provider" in piped.stdout
    assert "Signals never change a payment" in piped.stdout
    narrow = subprocess.run(  # on a terminal 80 columns wide: no line is longer
        ["script", "-qec", f"{sys.executable} -m pbr_cli assure signals -m wigan-cohort "
         "-p 2013-Q2", "/dev/null"], cwd=folder, capture_output=True, text=True, timeout=300,
        env={**os.environ, "COLUMNS": "80", "LINES": "50"})
    if narrow.returncode == 0:
        import re
        plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", narrow.stdout)
        assert max(len(line) for line in plain.splitlines()) <= 80
    no = _pbr(["assure", "signals", "-m", "birmingham-90-10", "-p", "2013-Q2"], folder)
    assert no.returncode == 2 and "names no signals" in no.stderr and "Traceback" not in no.stderr


def test_signals_change_no_payment(folder, tmp_path):
    """The Wigan model with and without its `signals:` section: every schedule and the
    report's every money table are the same; only the model's SHA-256 and the report's
    Signals table differ."""
    plain = tmp_path / "models"
    plain.mkdir()
    text = WIGAN.read_text()
    (plain / "wigan-cohort.yaml").write_text(text[:text.index("\nsignals:")] + "\n")
    (plain / "wigan-cohort.register.csv").write_text(
        (ROOT / "models" / "wigan-cohort.register.csv").read_text())
    other = tmp_path / "plain"
    other.mkdir()
    (other / "pbr.yaml").write_text(f"models: {plain}\nreturns: {ROOT / 'sample_returns'}\n"
                                    "output: out\n")
    got = {}
    for name, place in (("with", folder), ("without", other)):
        report = _here(["report", "-m", "wigan-cohort", "-p", "2013-Q2", "--json"], place)
        month = _here(["calculate", "-m", "wigan-cohort", "-p", "2013-06", "--dry-run",
                       "--json"], place)
        assert report.returncode in (0, 1) and month.returncode in (0, 1), report.stderr
        got[name] = (json.loads(report.stdout)["reports"][0], json.loads(month.stdout))
    (r1, s1), (r2, s2) = got["with"], got["without"]
    assert "signals" in r1["tables"] and "signals" not in r2["tables"]
    del r1["tables"]["signals"]
    for doc in (r1, r2, s1, s2):
        _drop(doc, "model_sha256")
        _drop(doc, "output")
        _drop(doc, "csv")
    for doc in (s1, s2):  # the model (and the register beside it) are other files
        doc["inputs"] = [f for f in doc["inputs"] if f["role"] not in ("model", "register")]
    assert r1 == r2
    assert s1 == s2
    assert s1["providers"] and s1["due"] != "0.00" and len(s1["evidence"]) > 100


def _drop(doc, key: str) -> None:
    if isinstance(doc, dict):
        doc.pop(key, None)
        for v in doc.values():
            _drop(v, key)
    elif isinstance(doc, list):
        for v in doc:
            _drop(v, key)


def test_the_worked_example_of_docs_models_md():
    """docs/models.md, "Signals of gaming": the four p-values, and the one raised."""
    creaming, deadline = fisher_greater(3, 1, 1, 3), binomial_at_least(3, 4, HALF)
    first, parking = binomial_at_least(2, 3, Fraction(1, 28)), fisher_greater(1, 2, 0, 2)
    assert (creaming, deadline, first, parking) == (Fraction(17, 70), Fraction(5, 16),
                                                    Fraction(82, 21_952), Fraction(3, 5))
    assert benjamini_hochberg([creaming, deadline, first, parking], Fraction(5, 100)) == \
        [False, False, True, False]


def test_the_report_gains_a_signals_sheet_and_section(folder):
    out = _here(["report", "-m", "wigan-cohort", "-p", "2013-Q2", "-o", "r.xlsx"], folder)
    assert out.returncode in (0, 1), out.stderr
    assert "Signals: none raised. 0 signal(s) raised of 40 worked out" in out.stdout
    import openpyxl

    book = openpyxl.load_workbook(folder / "r.xlsx", read_only=True)
    assert book.sheetnames[:3] == ["Summary", "Flags", "Signals"]
    rows = list(book["Signals"].iter_rows(values_only=True))
    header = next(r for r in rows if r and r[0] == "Provider")
    assert header[:3] == ("Provider", "Signal", "Raised") and header[-1] == "What to ask"
    body = [r for r in rows[rows.index(header) + 1:] if r and r[0] in ("P1", "P2", "P3", "P4",
                                                                        "P5")]
    assert len(body) == 40 and not any(r[2] for r in body)  # none raised on the samples


def test_closed_days(wigan):
    import dataclasses

    assert wigan.signals is not None and wigan.signals.closed == ()  # Wigan says none
    spec = dataclasses.replace(wigan.signals, closed=(5, 6))  # closed: [saturday, sunday]
    p = [Presentation("P1", c, day, "L") for c, day in
         (("A", date(2013, 4, 6)), ("B", date(2013, 4, 7)), ("C", date(2013, 4, 8)))]
    p += [Presentation("P2", c, day, "L") for c, day in
          (("D", date(2013, 4, 9)), ("E", date(2013, 4, 10)))]
    f = next(f for f in SIGNALS["closed_days"](SignalData(APRIL, ["P1", "P2"], p), spec, wigan)
             if f.provider == "P1")
    # a Saturday and a Sunday of P1's 3 dates, none of P2's 2: C(2,2) C(3,1) / C(5,3) = 3/10
    assert f.p == Fraction(3, 10) and f.figure == "2 of 3 (66.7%) dates on a Saturday or Sunday"


def test_signals_on_a_scheme_without_client_records_are_refused_at_their_line(tmp_path):
    from pbr_cli.errors import PbrError

    model = ROOT / "models" / "birmingham-90-10.yaml"
    path = tmp_path / model.name
    path.write_text(model.read_text() + "\nsignals:\n  checks: [creaming]\n")
    (tmp_path / "birmingham-90-10.register.csv").write_text(
        (ROOT / "models" / "birmingham-90-10.register.csv").read_text())
    with pytest.raises(PbrError) as err:
        load_model(path)
    assert "signals.checks" in err.value.message
    assert "signals are worked out from a cohort model's client records" in err.value.message


def test_a_report_lets_each_months_events_go_and_its_signals_are_the_same(folder):
    """`pbr report` of a national year held every month's events (evidence rows, and each
    reported-only line's clients and days) to the end, though only the signals' proportions
    read them: 802 MB at the 1× national set, growing
    with every month. Each month's events are now let go once the proportions are gathered;
    the signals are those worked out from the whole schedules, and every client's id and
    day is held once across the signal records."""
    import dataclasses

    from pbr_cli.assurance.signals import period_signals
    from pbr_cli.assurance.signals_data import Proportions, from_period
    from pbr_cli.cycle.config import load_config
    from pbr_cli.cycle.scheme import Scheme
    from pbr_cli.jobs.report import period_schedules, without_events
    from pbr_cli.periods import parse_period

    model = load_model(WIGAN)
    scheme = Scheme(load_config(folder / "pbr.yaml", required=True), model=model)
    whole = period_schedules(scheme, parse_period("2013-Q2"))
    gathered = Proportions(model)
    light = period_schedules(scheme, parse_period("2013-Q2"), each=without_events(gathered))
    assert [len(s.evidence) > 100 for s in whole.schedules] == [True] * 3
    assert [s.evidence for s in light.schedules] == [[], [], []]
    # every payment line as it was, less a reported-only line's events (client, day)
    counted = [ln for s in whole.schedules for ln in s.lines if ln.counted]
    assert len(counted) > 5 and all(not ln.counted for s in light.schedules for ln in s.lines)
    assert [s.lines for s in light.schedules] == [
        [dataclasses.replace(ln, counted=()) for ln in s.lines] for s in whole.schedules]
    assert period_signals(light, gathered.listed()) == period_signals(whole)
    data = from_period(whole)
    assert data.proportions == gathered.listed() and len(data.proportions) > 10
    held: dict = {}
    records = [*data.presentations, *data.discharges, *data.reviews]
    assert len(records) > 1000
    for r in records:
        assert held.setdefault(r.client, r.client) is r.client
        assert held.setdefault(r.day, r.day) is r.day


def test_pbr_report_keeps_its_months_without_events_and_its_signals_whole(folder, tmp_path):
    """What `pbr report` runs (jobs.report.run_report) keeps each month without its events,
    and its Signals table is the one worked out from the whole schedules."""
    from pbr_cli.assurance.signals import period_signals, signals_table
    from pbr_cli.cycle.config import load_config
    from pbr_cli.cycle.scheme import Scheme
    from pbr_cli.jobs.report import period_schedules, run_report
    from pbr_cli.periods import parse_period

    scheme = Scheme(load_config(folder / "pbr.yaml", required=True), model=load_model(WIGAN))
    report, written = run_report(scheme, parse_period("2013-Q2"), output=tmp_path / "r.xlsx")
    assert [p.name for p in written] == ["r.xlsx", "wigan-cohort-2013-Q2-payments.csv"]
    assert [len(s.evidence) for s in report.schedules] == [0, 0, 0]
    assert not any(ln.counted for s in report.schedules for ln in s.lines)
    whole = period_schedules(scheme, parse_period("2013-Q2"))
    assert report.tables["signals"] == signals_table(period_signals(whole))
