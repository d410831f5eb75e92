"""Regenerate the Troubled Families samples byte for byte (seeded).

    python sample_returns/make_troubled_families_samples.py [FOLDER]

Writes the register of local authorities (models/troubled-families.register.csv) and one
return per authority per month, April 2012 - September 2013, under
sample_returns/troubled-families/YYYY-MM/: the families attached that month, and the results
claimed that month. Each family is simulated from attachment: some achieve the crime and
anti-social behaviour result and, later, the school attendance result; some an adult's
progress to work; a few continuous employment. Results are claimed in the month they are
achieved or the month after. A few claims repeat one already made (paid once) and a few come
by the route a family has already been paid for (refused). Family ids and authorities are
invented.
"""

from __future__ import annotations

import csv
import random
import shutil
import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pbr_cli.model import load_model  # noqa: E402
from pbr_cli.outputs.template import write_template  # noqa: E402
from pbr_cli.periods import Month  # noqa: E402
from pbr_cli.returns.register import load_register  # noqa: E402

MODEL = ROOT / "models" / "troubled-families.yaml"
REGISTER = ROOT / "models" / "troubled-families.register.csv"
OUT = ROOT / "sample_returns" / "troubled-families"
if len(sys.argv) > 1:  # write into another folder (the tests compare it with the shipped files)
    _base = Path(sys.argv[1]).resolve()
    REGISTER, OUT = _base / REGISTER.name, _base / "troubled-families"
FIRST, LAST = Month(2012, 4), Month(2013, 9)
HEADER = ["Authority code", "Local authority", "Families to work with", "Start", "End"]
AUTHORITIES = [  # code, name, families to work with, families attached a month
    ("LA1", "Northtown Council", 120, 7),
    ("LA2", "Southvale Borough Council", 80, 4),
    ("LA3", "Eastmoor County Council", 200, 10),
]


def family(rng: random.Random, rows: dict, la: str, fid: str, attached: date) -> None:
    def claim(result: str, day: date) -> None:
        when = day if rng.random() < 0.7 else day + timedelta(days=31)
        if Month.of(when) <= LAST:
            rows.setdefault((la, Month.of(when)), {"Attachments": [], "Claims": []})[
                "Claims"].append({"family_id": fid, "result": result, "achieved_date": day})

    rows.setdefault((la, Month.of(attached)), {"Attachments": [], "Claims": []})[
        "Attachments"].append({"family_id": fid, "attachment_date": attached})
    roll = rng.random()
    if roll < 0.12:  # an adult into continuous work
        claim("EMP", attached + timedelta(days=rng.randint(120, 300)))
    elif roll < 0.65:  # crime and anti-social behaviour down, then school attendance
        crime = attached + timedelta(days=rng.randint(60, 200))
        claim("CRIME", crime)
        if rng.random() < 0.75:
            claim("EDU", crime + timedelta(days=rng.randint(30, 150)))
        if rng.random() < 0.05:
            claim("EMP", crime + timedelta(days=rng.randint(200, 260)))  # a second route
    if rng.random() < 0.25:
        claim("WORK", attached + timedelta(days=rng.randint(30, 240)))


def main() -> None:
    rng = random.Random(20120402)
    with REGISTER.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        for code, name, families, _ in AUTHORITIES:
            writer.writerow([code, name, families, "2012-04-01", ""])
    model = load_model(MODEL)
    register = load_register(model, REGISTER)
    if OUT.exists():
        shutil.rmtree(OUT)
    rows: dict[tuple[str, Month], dict[str, list[dict]]] = {}
    n = 0
    month = FIRST
    while month <= LAST:
        for code, _, _, per_month in AUTHORITIES:
            for _ in range(max(1, per_month + rng.randint(-2, 2))):
                n += 1
                day = month.first_day + timedelta(days=rng.randint(0, month.days - 1))
                family(rng, rows, code, f"TF{n:05d}", day)
        month = month.plus(1)
    month = FIRST
    while month <= LAST:
        for code, *_ in AUTHORITIES:
            data = rows.get((code, month), {"Attachments": [], "Claims": []})
            data["Attachments"].sort(key=lambda r: (r["attachment_date"], r["family_id"]))
            data["Claims"].sort(key=lambda r: (r["achieved_date"], r["family_id"], r["result"]))
            write_template(OUT / str(month) / f"{code}-{month}.xlsx", model, register, code,
                           month, data, cover={"Prepared by": f"Troubled families team, {code}"})
        month = month.plus(1)
    print(f"wrote {REGISTER} and {OUT}")


if __name__ == "__main__":
    main()
