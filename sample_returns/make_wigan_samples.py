"""Regenerate the Wigan cohort model samples byte for byte (seeded).

    python sample_returns/make_wigan_samples.py [FOLDER]

Writes the contract register (models/wigan-cohort.register.csv), one client-level return per
provider per month April 2012 - September 2013 under sample_returns/wigan-cohort/YYYY-MM/, and
returns with planted client-level problems under sample_returns/faulty-wigan/ (see README.md).

Clients are simulated one treatment career at a time: they present, are reviewed every few
months, and are discharged; some complete and stay well, some complete and relapse within six
months, some drop out and come back (to the same or another provider) within a year, some are
transferred to another provider. Provider P4 has a small annual cap that its 2013/14
payments reach. Client ids are pseudonymous; names and figures are invented.
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
from pbr_cli.periods import Month, add_months  # noqa: E402
from pbr_cli.returns.register import load_register  # noqa: E402

MODEL = ROOT / "models" / "wigan-cohort.yaml"
REGISTER = ROOT / "models" / "wigan-cohort.register.csv"
OUT = ROOT / "sample_returns" / "wigan-cohort"
FAULTY = ROOT / "sample_returns" / "faulty-wigan"
if len(sys.argv) > 1:  # write into another folder (the tests compare it with the shipped files)
    _base = Path(sys.argv[1]).resolve()
    REGISTER, OUT, FAULTY = _base / REGISTER.name, _base / "wigan-cohort", _base / "faulty-wigan"
FIRST, LAST = date(2012, 4, 1), date(2013, 9, 30)
HEADER = ["Provider code", "Provider name", "Service", "Contract start", "Contract end",
          "Annual cap"]
PROVIDERS = [  # code, name, service, new clients a month, annual cap
    ("P1", "Wigan Recovery Partnership", "Community drug and alcohol recovery", 14, "250000"),
    ("P2", "Leigh Community Treatment", "Leigh treatment and recovery", 9, ""),
    ("P3", "Hindley Green Recovery Hub", "Structured day programme", 7, ""),
    ("P4", "Ashton Peer Support", "Peer-led recovery support", 4, "7000"),
    ("P5", "Standish Family Service", "Family and young adults service", 5, ""),
]
COMPLETE = {"L": 0.55, "M": 0.42, "H": 0.3}  # chance an episode ends in a successful completion
UNSUCCESSFUL = ["DO", "DO", "DO", "WD", "RIC", "DEC", "ORR", "MOV", "TIC"]


class Returns:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, Month], dict[str, list[dict]]] = {}

    def add(self, provider: str, day: date, sheet: str, row: dict) -> None:
        key = (provider, Month.of(day))
        self.rows.setdefault(key, {"Presentations": [], "Discharges": [], "Reviews": []})
        self.rows[key][sheet].append(row)


def career(rng: random.Random, out: Returns, client: str, provider: str, start: date,
           providers: list[str]) -> None:
    """One client's episodes, one after another, until the samples end."""
    while start <= LAST:
        complexity = rng.choices("LMH", weights=[4, 4, 2])[0]
        out.add(provider, start, "Presentations", {"client_id": client,
                "presentation_date": start, "complexity": complexity})
        length = rng.randint(45, 400)
        end = start + timedelta(days=length)
        success = rng.random() < COMPLETE[complexity]
        review = start + timedelta(days=rng.randint(20, 40))
        use_opiate = rng.random() < 0.6
        while review < min(end, LAST + timedelta(days=1)):
            progress = (review - start).days / length
            clean = rng.random() < (0.25 + 0.6 * progress if success else 0.15 + 0.2 * progress)
            out.add(provider, review, "Reviews", {
                "client_id": client, "review_date": review, "complexity": complexity,
                "opiate_days": 0 if clean or not use_opiate else rng.randint(1, 28),
                "crack_days": 0 if clean or use_opiate else rng.randint(1, 20),
                "offended": "N" if rng.random() < 0.6 + 0.3 * progress else "Y",
                "in_ete": "Y" if rng.random() < 0.1 + 0.4 * progress else "N"})
            review += timedelta(days=rng.randint(50, 100))
        if end > LAST:
            return  # still in treatment when the samples end
        roll = rng.random()
        if success:
            reason = "TCDF" if rng.random() < 0.7 else "TCOU"
        elif roll < 0.2:
            reason = "TNC"  # transferred to another provider
        else:
            reason = rng.choice(UNSUCCESSFUL)
        out.add(provider, end, "Discharges", {"client_id": client, "episode_start": start,
                "discharge_date": end, "discharge_reason": reason, "complexity": complexity})
        if reason == "TNC":
            provider = rng.choice([p for p in providers if p != provider])
            start = end + timedelta(days=rng.randint(0, 10))
        elif success and rng.random() < 0.2:  # relapse: back within six months
            start = end + timedelta(days=rng.randint(20, 170))
            provider = rng.choice(providers)
        elif not success and reason in ("DO", "WD", "ORR") and rng.random() < 0.45:  # churn
            start = end + timedelta(days=rng.randint(15, 330))
            provider = provider if rng.random() < 0.5 else rng.choice(providers)
        elif rng.random() < 0.08:  # back much later
            start = add_months(end, 13) + timedelta(days=rng.randint(0, 60))
        else:
            return


def faulty_returns(model, register) -> None:
    """P2's June 2013 return with planted client-level problems; README.md lists them."""
    june = date(2013, 6, 1)
    rows = {
        "Presentations": [
            {"client_id": "WF-001", "presentation_date": june + timedelta(days=2), "complexity": "M"},
            {"client_id": "WF-002", "presentation_date": june + timedelta(days=4), "complexity": "X"},
            {"client_id": "WF-003", "presentation_date": june + timedelta(days=6), "complexity": "L"},
            {"client_id": "WF-003", "presentation_date": june + timedelta(days=20), "complexity": "L"},
        ],
        "Discharges": [
            {"client_id": "WF-001", "episode_start": june + timedelta(days=2),
             "discharge_date": june, "discharge_reason": "TCDF", "complexity": "M"},
            {"client_id": "WF-004", "episode_start": date(2013, 6, 5),
             "discharge_date": june + timedelta(days=9), "discharge_reason": "DO", "complexity": "H"},
            {"client_id": "WF-005", "episode_start": june + timedelta(days=1),
             "discharge_date": june + timedelta(days=12), "discharge_reason": "GONE",
             "complexity": "L"},
        ],
        "Reviews": [
            {"client_id": "WF-003", "review_date": june + timedelta(days=10), "complexity": "H",
             "opiate_days": 0, "crack_days": 0, "offended": "N", "in_ete": "N"},
            {"client_id": "WF-006", "review_date": june + timedelta(days=11), "complexity": "L",
             "opiate_days": 3, "crack_days": 0, "offended": "N", "in_ete": "N"},
            {"client_id": "WF-001", "review_date": june + timedelta(days=13), "complexity": "M",
             "opiate_days": 35, "crack_days": 0, "offended": "N", "in_ete": "Y"},
        ],
    }
    write_template(FAULTY / "P2-2013-06-client-level-problems.xlsx", model, register, "P2",
                   Month(2013, 6), rows)


def main() -> None:
    rng = random.Random(20120401)
    with REGISTER.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        for code, name, service, _, cap in PROVIDERS:
            writer.writerow([code, name, service, FIRST.isoformat(), "", cap])
    model = load_model(MODEL)
    register = load_register(model, REGISTER)
    for folder in (OUT, FAULTY):
        if folder.exists():
            shutil.rmtree(folder)
    out = Returns()
    codes = [p[0] for p in PROVIDERS]
    n = 0
    month = Month.of(FIRST)
    while month <= Month.of(LAST):
        for code, _, _, per_month, _ in PROVIDERS:
            for _ in range(max(1, per_month + rng.randint(-3, 3))):
                n += 1
                start = month.first_day + timedelta(days=rng.randint(0, month.days - 1))
                career(rng, out, f"WG{n:05d}", code, start, codes)
        month = month.plus(1)
    month = Month.of(FIRST)
    while month <= Month.of(LAST):
        for code in codes:
            rows = out.rows.get((code, month), {})
            for sheet in rows.values():
                sheet.sort(key=lambda r: (min(v for v in r.values() if isinstance(v, date)),
                                          r["client_id"]))
            write_template(OUT / str(month) / f"{code}-{month}.xlsx", model, register, code,
                           month, rows, cover={"Prepared by": f"Data officer, {code}"})
        month = month.plus(1)
    FAULTY.mkdir(parents=True, exist_ok=True)
    faulty_returns(model, register)
    print(f"wrote {REGISTER}, {OUT} and {FAULTY}")


if __name__ == "__main__":
    main()
