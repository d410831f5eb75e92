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
    least 10 x £300 = £3,000.00, in every simulation."""
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
        assert Decimal(months[month]["low"]) >= Decimal("3000.00"), (month, months[month])
        assert Decimal(months[month]["expected"]) >= Decimal("3000.00"), months[month]
