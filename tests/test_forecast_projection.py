"""The forecast's projected returns: each is priced as a real one would be, so a projected
return that fails a check is a defect of the projection, counted and said, never a provider
silently paid nothing. The minimal case of the defect by hand, then every shipped scheme's
samples and generated histories held to it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import COHORT_MODEL_PATH, COHORT_REGISTER_HEADER, CohortReturns, Workspace

ROOT = Path(__file__).resolve().parents[1]


def run_forecast(ws: Workspace, model: Path, *extra: str) -> dict:
    """`pbr forecast ... --json` as the user runs it: a subprocess."""
    args = [sys.executable, "-m", "pbr_cli", "forecast", "-m", str(model),
            "--returns", str(ws.returns), "--register", str(ws.register_path),
            "-o", str(ws.root / "forecast.xlsx"), "--json", *extra]
    done = subprocess.run(args, capture_output=True, text=True, cwd=ws.root, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)["forecast"]


def by_month(data: dict) -> dict[str, dict]:
    return {m["month"]: m for m in data["base"]["months"]}


def test_a_discharge_of_a_client_new_that_month_is_not_repeated_on_one_episode(
        tmp_path, cohort_model):
    """One provider, no cap. April 2012: ten Medium clients present (A00..A09). May 2012: ten
    more (B00..B09); one of them, B00 (presented 2 May), is discharged TCDF on 20 May.

    With --basis 1 every projected month is May again: ten new Medium clients at the £300
    tariff, £3,000.00, and whatever the completion band adds. The drawn discharge belongs
    to a client new that month, so it goes to that client's new episode once; repeated for
    the open episodes' growth (ten then, nineteen now) it goes to an open episode, not to
    the same new episode again (a second discharge of one episode is an error, and a
    provider with an error in its return is paid nothing). So June and July are each at
    least 10 x £300 = £3,000.00 (it was £300.00, its range £0.00 to £0.00)."""
    ws = Workspace(tmp_path, cohort_model,
                   [["P1", "First Recovery Service", "Community recovery", "2012-04-01", "",
                     ""]], COHORT_REGISTER_HEADER)
    data = CohortReturns()
    for i in range(10):
        data.present("P1", f"A{i:02d}", date(2012, 4, 2 + i), "M")
        data.present("P1", f"B{i:02d}", date(2012, 5, 2 + i), "M")
    data.discharge("P1", "B00", date(2012, 5, 2), date(2012, 5, 20), "TCDF", "M")
    data.write(ws, "2012-04", "2012-05", providers=("P1",))
    out = run_forecast(ws, COHORT_MODEL_PATH, "--as-at", "2012-05", "--to", "2012-07",
                       "--basis", "1", "--no-budget", "--simulations", "20")
    # 2 projected provider-months in each of 20 simulations, every one checked, none failing
    defects = out["base"]["projection_defects"]
    assert (defects["of_simulations"], defects["of_returns"]) == (20, 40)
    assert defects["simulations"] == 0, (defects["codes"], defects["example"])
    months = by_month(out)
    assert months["2012-05"]["expected"] == "3000.00"  # recorded: 10 x £300
    for month in ("2012-06", "2012-07"):
        assert Decimal(months[month]["expected"]) >= Decimal("3000.00"), months[month]
        # (its range is wider than the simulations': two recorded months are a thin basis)
        assert Decimal(months[month]["low"]) > 0, months[month]



def test_an_episode_the_checks_refuse_is_never_open_in_the_projection(tmp_path, cohort_model):
    """One provider, no cap. X presents on 2 April 2012. May's return discharges X (20 May)
    but has an error (a presentation dated in June), so it is withheld and its discharge
    counts for nothing: X's April episode is still open. X presents again on 10 June: that
    episode overlaps the open one, so pbr's checks refuse it (overlapping-episodes) and it
    is no episode at all. Y presents on 1 June and is discharged on 15 July.

    As at July, with --basis 3, a projected month is April, June or July drawn (May has an
    error). July's discharge of Y (begun a month before) goes to an open episode nearest a
    month in age. The projection had X's June episode open, the nearest; a discharge of it
    is a discharge without an episode (a fault of the projection: the provider-month is
    withheld, paid nothing), in about one month in three. X's June episode is not open: the
    discharge goes to X's April episode, and no projected return fails."""
    ws = Workspace(tmp_path, cohort_model,
                   [["P1", "First Recovery Service", "Community recovery", "2012-04-01", "",
                     ""]], COHORT_REGISTER_HEADER)
    data = CohortReturns()
    data.present("P1", "X", date(2012, 4, 2), "M")
    data.discharge("P1", "X", date(2012, 4, 2), date(2012, 5, 20), "TCDF", "M")
    data._add("P1", date(2012, 5, 1), "Presentations",  # dated in June: May's error
              {"client_id": "Q", "presentation_date": date(2012, 6, 3), "complexity": "M"})
    data.present("P1", "X", date(2012, 6, 10), "M")
    data.present("P1", "Y", date(2012, 6, 1), "M")
    data.discharge("P1", "Y", date(2012, 6, 1), date(2012, 7, 15), "TCDF", "M")
    data.write(ws, "2012-04", "2012-07", providers=("P1",))
    out = run_forecast(ws, COHORT_MODEL_PATH, "--as-at", "2012-07", "--to", "2012-10",
                       "--basis", "3", "--no-budget", "--simulations", "20")
    defects = out["base"]["projection_defects"]
    assert defects["of_returns"] == 60
    assert defects["simulations"] == 0, (defects["codes"], defects["example"])


def test_a_provider_with_no_return_yet_is_projected_from_its_contract_start(tmp_path,
                                                                          cohort_model):
    """P1 as above; P2's contract starts on 1 June 2012 and it has sent no return. With
    --basis 1 each of P2's projected months is a return of any provider (here P1's May):
    ten new Medium clients presenting at P2, 10 x £300 = £3,000.00 at least, from June (not
    £0, as it was); May, before its contract, nothing. The assumptions name P2 and say how."""
    ws = Workspace(tmp_path, cohort_model,
                   [["P1", "First Recovery Service", "Community recovery", "2012-04-01", "",
                     ""],
                    ["P2", "Second Recovery Service", "Leigh recovery", "2012-06-01", "", ""]],
                   COHORT_REGISTER_HEADER)
    data = CohortReturns()
    for i in range(10):
        data.present("P1", f"A{i:02d}", date(2012, 4, 2 + i), "M")
        data.present("P1", f"B{i:02d}", date(2012, 5, 2 + i), "M")
    data.discharge("P1", "B00", date(2012, 5, 2), date(2012, 5, 20), "TCDF", "M")
    data.write(ws, "2012-04", "2012-05", providers=("P1",))
    out = run_forecast(ws, COHORT_MODEL_PATH, "--as-at", "2012-05", "--to", "2012-07",
                       "--basis", "1", "--no-budget", "--simulations", "20")
    p2 = {m["month"]: m for m in next(p for p in out["base"]["providers"]
                                      if p["provider"] == "P2")["months"]}
    assert p2["2012-05"]["expected"] == "0.00"
    for month in ("2012-06", "2012-07"):
        assert Decimal(p2[month]["components"]["presentation"]) == Decimal("3000.00"), month
    said = {a["topic"]: a["text"] for a in out["assumptions"]}
    assert said["No months to draw from"].startswith("P2: no return recorded yet; each "
                                                     "projected month of its contract is a "
                                                     "return of any provider")
    assert out["base"]["projection_defects"]["simulations"] == 0

# -- every shipped scheme's samples, and generated histories ---------------------------------

SHIPPED = ["birmingham-90-10", "wigan-cohort", "troubled-families", "work-programme",
           "transforming-rehabilitation"]


def _outlooks(model, register, root: Path, register_note: str, at: list[int],
              what_ifs: list[str] = (), simulations: int = 4):
    """The outlook as at each of the recorded months numbered `at` (1 the first), six
    months ahead, 4 simulations (or `simulations`), with the what-ifs if any."""
    from pbr_cli.forecast import PeriodSoFar, Settings, outlook
    from pbr_cli.forecast.scenario import parse_scenario
    from pbr_cli.pricing.worth import read_months
    from pbr_cli.returns.folders import months_with_returns

    months = [m for m in months_with_returns(root) if model.covers(m)]
    collection = read_months(None, model, register, root, months, None)
    for n in at:
        as_at = months[min(n, len(months) - 1) - 1]
        ahead = [m for m in (as_at.plus(i) for i in range(1, 7)) if model.covers(m)]
        returns = [r for r in collection.returns if r.month is not None and r.month <= as_at]
        scenario = parse_scenario(list(what_ifs), model, ahead[0]) if what_ifs else None
        yield as_at, outlook(model, register, PeriodSoFar({}, ahead, returns, as_at),
                             Settings(simulations=simulations), None, scenario)


@pytest.mark.parametrize("name", SHIPPED)
def test_no_projected_return_of_a_shipped_scheme_fails_a_check(name):
    """As at an early, a middle and a late month of each shipped scheme's samples, no
    simulation makes a projected return that pbr's checks refuse."""
    from pbr_cli.cycle.config import load_config
    from pbr_cli.model import find_model, load_model
    from pbr_cli.returns.register import load_register

    cfg = load_config(ROOT / "pbr.yaml")
    model = load_model(find_model(name, cfg.models))
    register = load_register(model, None)
    for as_at, o in _outlooks(model, register, cfg.returns_for(name), name, [2, 5, 9]):
        assert o.defects.of_returns > 0, (name, as_at)
        assert o.defects.simulations == 0, (name, as_at, o.defects.said())


@pytest.mark.parametrize("scheme", ["wigan-cohort", "troubled-families", "birmingham-90-10"])
def test_no_projected_return_of_a_generated_history_fails_a_check(scheme, tmp_path):
    """Histories from benchmarks/forecast_histories.py (a process unlike the samples': trends,
    steps, a provider joining, one leaving, a month with an error), as at months 3, 6 and 9
    (a pilot's: 2, 4, 5), with a what-if on volume: no projected return fails a check. A
    client-level scheme's provider with no return yet is projected from its contract start
    (from a return of any provider), not at nothing."""
    from benchmarks.forecast_histories import KINDS
    from pbr_cli.model import load_model
    from pbr_cli.returns.register import load_register

    size = {} if scheme == "birmingham-90-10" else {"n_months": 12}
    history = KINDS[scheme](tmp_path, 7, n_providers=4, **size)
    model = load_model(ROOT / "models" / f"{scheme}.yaml")
    register = load_register(model, history.register)
    at = [2, 4, 5] if scheme == "birmingham-90-10" else [3, 6, 9]
    joiner = history.providers[-1]  # its contract starts in the seventh month
    for as_at, o in _outlooks(model, register, history.root, scheme, at, ["volume+30%"]
                              if scheme != "birmingham-90-10" else []):
        assert o.defects.of_returns > 0, (scheme, as_at)
        assert o.defects.simulations == 0, (scheme, as_at, o.defects.said())
        if scheme != "birmingham-90-10" and as_at < history.months[joiner.first]:
            joined = [m for m in history.months[joiner.first:] if m > as_at][:2]
            assert all(o.total(joiner.code, m) > 0 for m in joined if any(
                k[1] == m for k in o.lines)), (as_at, joiner)


def test_no_projected_return_fails_on_the_history_that_had_one(tmp_path):
    """The cohort history of seed 5 (full size), as at its thirteenth month (2013-04): G02's
    return for 2013-01 has an error, so its discharge of C00332 counts for nothing, and
    C00332's presentation in 2013-04 is refused as overlapping the episode still open. Its
    forecast had a projected discharge of that refused episode in 14 of 20 simulations (5 of
    the 8 here: discharge-without-episode). None now."""
    from benchmarks.forecast_histories import KINDS
    from pbr_cli.model import load_model
    from pbr_cli.returns.register import load_register

    history = KINDS["wigan-cohort"](tmp_path, 5)
    model = load_model(ROOT / "models" / "wigan-cohort.yaml")
    register = load_register(model, history.register)
    for as_at, o in _outlooks(model, register, history.root, "wigan-cohort", [13],
                              simulations=8):
        assert str(as_at) == "2013-04"
        assert o.defects.of_returns > 0
        assert o.defects.simulations == 0, (as_at, o.defects.said())
