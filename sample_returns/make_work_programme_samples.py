"""Regenerate the Work Programme samples byte for byte (seeded).

    python sample_returns/make_work_programme_samples.py [FOLDER]

Writes the register of contracts (models/work-programme.register.csv) and one return per
contract per month, June 2011 - May 2013, under sample_returns/work-programme/YYYY-MM/: the
participants who joined that month (with their payment group), and the job outcomes and
sustainments claimed that month. Each participant is simulated from attachment: some start a
job, some of those stay in work long enough for a job outcome (13 or 26 weeks by group) and
then for sustainments every 4 weeks until they leave the job. Claims come in the month the
period in work is completed or the month after. A few claims break the rules: a job outcome
claimed a week early (refused), a sustainment for a participant with no job outcome
(refused), a claim made twice (paid once). Participant ids and providers are invented.
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

MODEL = ROOT / "models" / "work-programme.yaml"
REGISTER = ROOT / "models" / "work-programme.register.csv"
OUT = ROOT / "sample_returns" / "work-programme"
if len(sys.argv) > 1:  # write into another folder (the tests compare it with the shipped files)
    _base = Path(sys.argv[1]).resolve()
    REGISTER, OUT = _base / REGISTER.name, _base / "work-programme"
FIRST, LAST = Month(2011, 6), Month(2013, 5)
HEADER = ["Contract code", "Prime provider", "Contract package area", "Start", "End"]
CONTRACTS = [  # code, prime provider, area, participants joining a month
    ("WP01", "Northfield Employment Ltd", "North East", 9),
    ("WP02", "Valley Works Partnership", "Wales", 6),
    ("WP03", "Eastgate Jobs CIC", "East of England", 7),
]
# payment group: (share of referrals, weeks to a job outcome, chance of a job)
GROUPS = {
    "JSA18": (0.25, 26, 0.45), "JSA25": (0.35, 26, 0.40), "JSAEE": (0.08, 26, 0.40),
    "JSAIB": (0.04, 26, 0.30), "ESAVOL": (0.03, 13, 0.25), "ESANEW": (0.12, 13, 0.25),
    "ESAIB": (0.06, 13, 0.15), "IBIS": (0.02, 13, 0.20), "JSAPL": (0.05, 26, 0.30),
}


def participant(rng: random.Random, rows: dict, contract: str, pid: str, group: str,
                attached: date) -> None:
    def claim(kind: str, start: date, day: date, late: bool = False) -> None:
        when = day if rng.random() < 0.6 and not late else day + timedelta(days=35)
        if Month.of(when) <= LAST:
            rows.setdefault((contract, Month.of(when)), {"Attachments": [], "Claims": []})[
                "Claims"].append({"participant_id": pid, "claim": kind, "job_start": start,
                                  "achieved_date": day})

    rows.setdefault((contract, Month.of(attached)), {"Attachments": [], "Claims": []})[
        "Attachments"].append({"participant_id": pid, "payment_group": group,
                               "attachment_date": attached})
    _, weeks, job_chance = GROUPS[group]
    if rng.random() >= job_chance:
        if rng.random() < 0.02:  # a sustainment claimed with no job outcome: refused
            day = attached + timedelta(days=rng.randint(60, 200))
            claim("SUS", day - timedelta(weeks=4), day)
        return
    start = attached + timedelta(days=rng.randint(14, 300))
    weeks_in_work = rng.choice([4, 10, 20, 30, 40, 60, 80, 104, 104])
    if weeks_in_work < weeks:
        return
    outcome = start + timedelta(weeks=weeks)
    early = rng.random() < 0.04  # a job outcome claimed a week early: refused
    claim("JOB", start, outcome - timedelta(weeks=1) if early else outcome)
    if early:
        return
    if rng.random() < 0.03:
        claim("JOB", start, outcome, late=True)  # the same claim again later: paid once
    k = 1
    while weeks + 4 * k <= weeks_in_work:
        claim("SUS", start, outcome + timedelta(weeks=4 * k))
        k += 1


def main() -> None:
    rng = random.Random(20110601)
    with REGISTER.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        for code, name, area, _ in CONTRACTS:
            writer.writerow([code, name, area, "2011-06-01", ""])
    model = load_model(MODEL)
    register = load_register(model, REGISTER)
    if OUT.exists():
        shutil.rmtree(OUT)
    rows: dict[tuple[str, Month], dict[str, list[dict]]] = {}
    groups, weights = list(GROUPS), [v[0] for v in GROUPS.values()]
    n = 0
    month = FIRST
    while month <= LAST:
        for code, _, _, per_month in CONTRACTS:
            for _ in range(max(1, per_month + rng.randint(-2, 2))):
                n += 1
                day = month.first_day + timedelta(days=rng.randint(0, month.days - 1))
                participant(rng, rows, code, f"WP{n:06d}", rng.choices(groups, weights)[0],
                            day)
        month = month.plus(1)
    month = FIRST
    while month <= LAST:
        for code, *_ in CONTRACTS:
            data = rows.get((code, month), {"Attachments": [], "Claims": []})
            data["Attachments"].sort(key=lambda r: (r["attachment_date"], r["participant_id"]))
            claims, seen = [], set()
            for r in sorted(data["Claims"], key=lambda r: (r["achieved_date"],
                                                           r["participant_id"], r["claim"])):
                key = (r["participant_id"], r["claim"], r["achieved_date"])
                if key not in seen:  # one row per key in a return
                    seen.add(key)
                    claims.append(r)
            data["Claims"] = claims
            write_template(OUT / str(month) / f"{code}-{month}.xlsx", model, register, code,
                           month, data, cover={"Prepared by": f"Contract manager, {code}"})
        month = month.plus(1)
    print(f"wrote {REGISTER} and {OUT}")


if __name__ == "__main__":
    main()
