"""A clear trend in a provider's new clients or participants is followed into the months to
come, damped (forecast/trend.py); a slope no clearer than its noise is not. Worked by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal

from pbr_cli.forecast.trend import fitted
from pbr_cli.periods import Month, month_number
from tests.conftest import COHORT_MODEL_PATH, COHORT_REGISTER_HEADER, CohortReturns, Workspace


def test_a_straight_rise_is_followed_and_damped():
    """6, 7, 8, 9, 10, 11 new clients in six months: the line through them has slope 1 and
    no residual, so the slope is clear. Its value at the latest month is 11; the mean is 8.5.
    One month on: 11 + 1 x 0.8 = 11.8, against the mean 11.8 / 8.5 = 1.3882..; two months
    on: 11 + 0.8 + 0.64 = 12.44, 1.4635..; far on, never past 11 + 1 x 0.8 / 0.2 = 15."""
    first = month_number(Month(2012, 4))
    trend = fitted({first + i: 6 + i for i in range(6)})
    assert trend is not None
    assert (trend.level, trend.slope, trend.mean) == (11.0, 1.0, 8.5)
    assert abs(trend.factor(first + 6) - 11.8 / 8.5) < 1e-9
    assert abs(trend.factor(first + 7) - 12.44 / 8.5) < 1e-9
    assert trend.factor(first + 60) < 15 / 8.5
    assert abs(trend.change(first + 6, 0.5) - (11.8 / 8.5 * 1.5 - 1)) < 1e-9  # with volume+50%


def test_noise_and_too_few_months_are_not_a_trend():
    """10, 12, 9, 11, 10, 12: slope 0.1714.. (sum (x - 2.5)(y - 10.67) = 3 over 17.5)
    with a standard error of 0.312 (the residuals' 6.82 over 4 degrees of freedom, over
    17.5, square-rooted): not twice it, so nothing is followed. Five months of a straight rise are too few."""
    first = month_number(Month(2012, 4))
    assert fitted({first + i: y for i, y in enumerate([10, 12, 9, 11, 10, 12])}) is None
    assert fitted({first + i: 6 + i for i in range(5)}) is None


def test_a_rising_provider_is_projected_rising(tmp_path, cohort_model):
    """One provider, no cap: 6, 7, 8, 9, 10, 11 Medium clients present April to September
    2012, nobody discharged. As at September, each projected month is one of those months
    drawn, its presentations times the trend's factor (above): October 11.8 clients on
    average at the £300 tariff, £3,540; November 12.44, £3,732. Drawn without the trend it was
    the months' mean, 8.5 clients, £2,550. With 40 simulations the draws' own noise is about
    ±£70 (the months' spread of 1.7 clients x £300 x 1.39 over √40), so October is between
    £3,300 and £3,800 and November above October; the assumptions say so."""
    ws = Workspace(tmp_path, cohort_model,
                   [["P1", "First Recovery Service", "Community recovery", "2012-04-01", "",
                     ""]], COHORT_REGISTER_HEADER)
    data = CohortReturns()
    for m, n in zip(range(4, 10), range(6, 12), strict=True):
        for i in range(n):
            data.present("P1", f"C{m:02d}{i:02d}", date(2012, m, 2 + i), "M")
    data.write(ws, "2012-04", "2012-09", providers=("P1",))
    args = [sys.executable, "-m", "pbr_cli", "forecast", "-m", str(COHORT_MODEL_PATH),
            "--returns", str(ws.returns), "--register", str(ws.register_path),
            "-o", str(ws.root / "forecast.xlsx"), "--json", "--as-at", "2012-09",
            "--to", "2012-11", "--no-budget", "--simulations", "40"]
    done = subprocess.run(args, capture_output=True, text=True, cwd=ws.root, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout)["forecast"]
    p1 = {m["month"]: m for m in out["base"]["providers"][0]["months"]}
    october = Decimal(p1["2012-10"]["components"]["presentation"])
    november = Decimal(p1["2012-11"]["components"]["presentation"])
    assert Decimal("3300") < october < Decimal("3800"), october
    assert november > october
    said = {a["topic"]: a["text"] for a in out["assumptions"]}
    assert said["Trends followed"].startswith("New clients or participants a month: P1 rising "
                                              "11.8% of its mean a month over 6 months")
    assert out["base"]["projection_defects"]["simulations"] == 0
