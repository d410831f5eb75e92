"""Regenerate the Transforming Rehabilitation samples byte for byte (seeded).

    python sample_returns/make_transforming_rehabilitation_samples.py [FOLDER]

Writes the register (models/transforming-rehabilitation.register.csv: four CRCs' contracts, each
with its predicted range of weighted volume for a year and the price per case outside it, and
their quarterly cohorts October-December 2015 and January-March 2016, each with its 2011
baseline) and one return per CRC per month, April 2016 - January 2018 (the contract year 2016/17
whole, reconciled in March 2017), under sample_returns/transforming-rehabilitation/YYYY-MM/: the
month's caseload (orders started, releases from custody; in March, the contract year's too, the
sums of its months) and, in October 2017 and January 2018, the final proven reoffending result
of the cohort published that month. Each cohort is simulated offender by offender: each
reoffends with the CRC's own chance, and a reoffender commits one reoffence and then each
further one with the CRC's own chance, so the counts the return carries are sums over people,
not figures worked back from the model's rules. The CRCs, prices, ranges and baselines are
invented (illustrative): the ranges are set so that in 2016/17 one CRC's weighted volume is
above its range, one below and two within.
"""

from __future__ import annotations

import csv
import random
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pbr_cli.model import load_model  # noqa: E402
from pbr_cli.outputs.template import write_template  # noqa: E402
from pbr_cli.periods import Month  # noqa: E402
from pbr_cli.returns.register import load_register  # noqa: E402

MODEL = ROOT / "models" / "transforming-rehabilitation.yaml"
REGISTER = ROOT / "models" / "transforming-rehabilitation.register.csv"
OUT = ROOT / "sample_returns" / "transforming-rehabilitation"
if len(sys.argv) > 1:  # write into another folder (the tests compare it with the shipped files)
    _base = Path(sys.argv[1]).resolve()
    REGISTER, OUT = _base / REGISTER.name, _base / "transforming-rehabilitation"
FIRST, LAST = Month(2016, 4), Month(2018, 1)
HEADER = ["Entry ID", "CRC code", "Community Rehabilitation Company", "Entry", "Entry type",
          "Annual price", "Predicted volume low", "Predicted volume high",
          "Price per case outside the range", "Cohort quarter", "Baseline offenders (2011)",
          "Baseline binary rate",
          "Baseline frequency (reoffences per reoffender)", "Start", "End"]
# code, name, annual price, chance of reoffending, chance of each further reoffence
CRCS = [
    ("CRC01", "Northern Fells CRC", "24000000.00", 0.43, 0.70),
    ("CRC02", "Vale and Marches CRC", "15600000.00", 0.43, 0.72),
    ("CRC03", "Estuary CRC", "19200000.00", 0.55, 0.76),
    ("CRC04", "Three Rivers CRC", "12000000.00", 0.40, 0.75),
]
# CRC: its predicted range of weighted volume for a year (low, high) and the price per case
# outside it; a year's weighted volume comes to about 4.65 x the CRC's baseline cohort size
RANGES = {"CRC01": (10000, 12000, "150.00"), "CRC02": (6000, 7000, "180.00"),
          "CRC03": (10000, 11000, "160.00"), "CRC04": (5000, 6000, "200.00")}
# cohort quarter, its label, the month its final result is published
COHORTS = [("2015Q4", "October-December 2015", Month(2017, 10)),
           ("2016Q1", "January-March 2016", Month(2018, 1))]
# (CRC, cohort): the 2011 baseline offenders, binary rate (after the case-mix adjustment)
# and reoffences per reoffender
BASELINES = {
    ("CRC01", "2015Q4"): (2400, "0.475", "3.9"), ("CRC01", "2016Q1"): (2400, "0.4725", "3.9"),
    ("CRC02", "2015Q4"): (1600, "0.44", "3.6"), ("CRC02", "2016Q1"): (1600, "0.4425", "3.6"),
    ("CRC03", "2015Q4"): (2000, "0.51", "4.1"), ("CRC03", "2016Q1"): (2000, "0.505", "4.1"),
    ("CRC04", "2015Q4"): (1200, "0.45", "3.5"), ("CRC04", "2016Q1"): (1200, "0.4475", "3.5"),
}


def cohort_result(rng: random.Random, people: int, reoffend: float, again: float) -> dict:
    """Offender by offender: who reoffends, and how many reoffences each commits."""
    reoffenders = reoffences = 0
    for _ in range(people):
        if rng.random() < reoffend:
            reoffenders += 1
            reoffences += 1
            while rng.random() < again:
                reoffences += 1
    return {"offenders": people, "reoffenders": reoffenders, "reoffences": reoffences}


def main() -> None:
    rng = random.Random(20150201)
    with REGISTER.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        for code, name, price, _, _ in CRCS:
            writer.writerow([code, code, name, f"{name}: fee for service", "FFS", price,
                             *RANGES[code], "", "", "", "", "2015-02-01", ""])
            for quarter, label, published in COHORTS:
                people, rate, frequency = BASELINES[(code, quarter)]
                writer.writerow([f"{code}-{quarter}", code, name, f"{name}: cohort {label}",
                                 "COHORT", "", "", "", "", quarter, people, rate, frequency,
                                 published.first_day.isoformat(),
                                 published.last_day.isoformat()])
    model = load_model(MODEL)
    register = load_register(model, REGISTER)
    if OUT.exists():
        shutil.rmtree(OUT)
    results = {}
    for code, _, _, reoffend, again in CRCS:
        for quarter, _, published in COHORTS:
            people = BASELINES[(code, quarter)][0]
            people += rng.randint(-people // 10, people // 10)
            results[(code, published)] = {"entry_id": f"{code}-{quarter}",
                                          **cohort_result(rng, people, reoffend, again)}
    month = FIRST
    year: dict[str, list[int]] = {}  # CRC -> the contract year's orders and releases so far
    while month <= LAST:
        for code, *_ in CRCS:
            size = BASELINES[(code, "2015Q4")][0]
            caseload = {"entry_id": code,
                        "community_starts": size // 5 + rng.randint(-size // 20, size // 20),
                        "custody_releases": size // 8 + rng.randint(-size // 40, size // 40)}
            so_far = year.setdefault(code, [0, 0]) if month.month != 4 else [0, 0]
            so_far[0] += caseload["community_starts"]
            so_far[1] += caseload["custody_releases"]
            year[code] = so_far
            if month.month == 3:  # the year's last month: the year as recorded
                caseload["year_community_starts"], caseload["year_custody_releases"] = so_far
            data: dict[str, list[dict]] = {"Caseload": [caseload]}
            if (code, month) in results:
                data["Results"] = [results[(code, month)]]
            write_template(OUT / str(month) / f"{code}-{month}.xlsx", model, register, code,
                           month, data, cover={"Prepared by": f"Contract manager, {code}"})
        month = month.plus(1)
    print(f"wrote {REGISTER} and {OUT}")


if __name__ == "__main__":
    main()
