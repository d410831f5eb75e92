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
    assert defects["simulations"] == 0, defects
    months = by_month(out)
    assert months["2012-05"]["expected"] == "3000.00"  # recorded: 10 x £300
    for month in ("2012-06", "2012-07"):
        assert Decimal(months[month]["expected"]) >= Decimal("3000.00"), months[month]
        # (its range is wider than the simulations': two recorded months are a thin basis)
        assert Decimal(months[month]["low"]) > 0, months[month]



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
              what_ifs: list[str] = ()):
    """The outlook as at each of the recorded months numbered `at` (1 the first), six
    months ahead, 4 simulations, with the what-ifs if any."""
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
                             Settings(simulations=4), None, scenario)


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
