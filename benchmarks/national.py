"""A seeded generator of national-scale returns, for a client-level or a service-level scheme.

    python benchmarks/national.py OUT [--scheme cohort|service] [--providers 200] [--months 18]

`--scheme cohort` (the default) writes returns for the shipped wigan-cohort model: each
provider has about NEW (`--new`, 95) new clients a month; each client's episode is a
presentation, a review every two to four months and, for most, a discharge, so 200 providers
x 18 months make about a million rows in 3,600 files.

`--scheme service` writes returns for the shipped birmingham-90-10 model, its dates widened to
cover the months generated: each provider has SERVICES (`--services`, 5) services, each with a
utilisation row a month and the outcomes of about a client a week, five to seven rows each
(about 400,000 rows in 3,600 files at the defaults).

Either way it writes OUT/pbr.yaml, OUT/models/ (the model and a register of PROVIDERS
providers) and OUT/returns/MODEL/YYYY-MM/*.xlsx: one return per provider per month from April
2012, made by `pbr template`'s writer without its blank rows. The files validate clean.
Run `python benchmarks/run.py OUT` on them.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import random
import re
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pbr_cli.model import load_model  # noqa: E402
from pbr_cli.outputs.template import write_template  # noqa: E402
from pbr_cli.periods import Month  # noqa: E402
from pbr_cli.returns.register import load_register  # noqa: E402

MODELS = {"cohort": "wigan-cohort", "service": "birmingham-90-10"}
GROUPS = ("L", "M", "H")
COMPLETE = {"L": 0.55, "M": 0.42, "H": 0.3}
OTHER_REASONS = ("DO", "DO", "WD", "RIC", "DEC", "ORR", "MOV")


def episodes(rng: random.Random, provider: str, month: Month, new: int, first: Month,
             last: Month, rows: dict, serial: list[int]) -> None:
    for _ in range(max(1, new + rng.randint(-new // 5, new // 5))):
        serial[0] += 1
        client = f"N{serial[0]:08d}"
        group = rng.choice(GROUPS)
        start = month.first_day + timedelta(days=rng.randint(0, month.days - 1))

        def put(day, sheet: str, row: dict) -> None:
            m = Month.of(day)
            if first <= m <= last:
                rows.setdefault((provider, m), {"Presentations": [], "Discharges": [],
                                                "Reviews": []})[sheet].append(row)

        put(start, "Presentations", {"client_id": client, "presentation_date": start,
                                     "complexity": group})
        day = start
        for _ in range(rng.randint(1, 3)):
            day = day + timedelta(days=rng.randint(60, 120))
            use = 0 if rng.random() < 0.5 else rng.randint(1, 28)
            put(day, "Reviews", {"client_id": client, "review_date": day, "complexity": group,
                                 "opiate_days": use, "crack_days": 0 if use == 0 else
                                 rng.randint(0, 10), "offended": rng.choice("YNNN"),
                                 "in_ete": rng.choice("YNN")})
        if rng.random() < 0.85:
            end = day + timedelta(days=rng.randint(1, 60))
            success = rng.random() < COMPLETE[group]
            reason = rng.choice(("TCDF", "TCOU")) if success else rng.choice(OTHER_REASONS)
            put(end, "Discharges", {"client_id": client, "episode_start": start,
                                    "discharge_date": end, "discharge_reason": reason,
                                    "complexity": group})


SERVICE_GROUPS = ("DIS", "MH", "SE", "OP")
OUTCOME_ITEMS = ("1b", "1c", "2a", "2b", "2c", "2d", "3a", "3b", "3c", "3d", "4b", "4c", "4d",
                 "4e", "5a")


def service_register(path: Path, providers: int, services: int) -> None:
    rng = random.Random(f"register-{providers}-{services}")
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["Service ID", "Provider code", "Provider name", "Service name",
                    "Client group", "Service type", "Capacity", "Annual contract value",
                    "Contract start", "Contract end"])
        for i in range(1, providers + 1):
            for j in range(1, services + 1):
                accommodation = rng.random() < 0.55
                capacity = rng.choice([8, 10, 12, 16, 20, 24, 30, 40] if accommodation
                                      else [20, 25, 30, 40, 50, 60, 80])
                value = capacity * (rng.randrange(4200, 7800, 50) if accommodation
                                    else rng.randrange(900, 1600, 25))
                w.writerow([f"S{i:04d}{j:02d}", f"P{i:04d}", f"Support provider {i}",
                            f"Service {j} of provider {i}", rng.choice(SERVICE_GROUPS),
                            "ACC" if accommodation else "FS", capacity, f"{value}.00",
                            "2012-04-01", ""])


def service_rows(rng: random.Random, register, provider: str, month: Month) -> dict:
    utilisation, outcomes = [], []
    for entry in register.provider_entries(provider):
        sid, cap = entry["service_id"], entry["capacity"]
        if entry["service_type"] == "ACC":
            voids = int(cap * month.days * max(0.0, rng.gauss(0.05, 0.05)))
            utilisation.append({"service_id": sid, "void_days": voids})
        else:
            utilisation.append({"service_id": sid,
                                "users_supported": max(0, round(cap * rng.gauss(0.97, 0.08)))})
        skill = rng.uniform(0.55, 0.9)
        for c in range(max(1, cap // 8 + rng.randrange(-1, 2))):
            items = ["1a", "4a"] + rng.sample(OUTCOME_ITEMS, rng.choice([3, 3, 3, 4, 5]))
            when = month.first_day + timedelta(days=rng.randrange(month.days))
            kind = "EXIT" if rng.random() < 0.2 else "REV"
            outcomes += [{"service_id": sid, "client_id": f"{sid}-{month}-{c + 1:03d}",
                          "assessment_date": when, "assessment": kind, "outcome": item,
                          "result": "A" if rng.random() < skill else "N"} for item in items]
    return {"Utilisation": utilisation, "Outcomes": outcomes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--providers", type=int, default=200)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--new", type=int, default=95,
                        help="cohort: new clients a provider a month")
    parser.add_argument("--services", type=int, default=5,
                        help="service: services a provider runs")
    parser.add_argument("--scheme", choices=sorted(MODELS), default="cohort")
    parser.add_argument("--seed", type=int, default=2012)
    args = parser.parse_args()
    began = time.perf_counter()
    out: Path = args.out
    name = MODELS[args.scheme]
    if out.exists():
        shutil.rmtree(out)
    (out / "models").mkdir(parents=True)
    first = Month(2012, 4)
    last = first.plus(args.months - 1)
    text = (ROOT / "models" / f"{name}.yaml").read_text(encoding="utf-8")
    # the scheme runs over every month generated
    text = re.sub(r"(?m)^  start: .*$", f"  start: {first.first_day}", text, count=1)
    text = re.sub(r"(?m)^  end: .*$", f"  end: {max(last.last_day, date(2014, 3, 31))}", text,
                  count=1)
    (out / "models" / f"{name}.yaml").write_text(text, encoding="utf-8")
    register_path = out / "models" / f"{name}.register.csv"
    if args.scheme == "service":
        service_register(register_path, args.providers, args.services)
    else:
        with register_path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["Provider code", "Provider name", "Service", "Contract start",
                        "Contract end", "Annual cap"])
            for i in range(1, args.providers + 1):
                w.writerow([f"P{i:04d}", f"Treatment service {i}", "Community recovery",
                            "2012-04-01", "", ""])
    # Each month approved as it is calculated, so that a month's run carries the adjustments
    # for every earlier one, as a live scheme's does.
    (out / "pbr.yaml").write_text("models: models\nreturns: returns\noutput: out\n"
                                  f"schemes:\n  {name}: {{approval: automatic}}\n")
    model = load_model(out / "models" / f"{name}.yaml")
    # Only the rows given: no blank rows for providers to fill in.
    model = dataclasses.replace(model, sheets=tuple(dataclasses.replace(s, rows=0)
                                                    for s in model.sheets))
    register = load_register(model)
    rng = random.Random(args.seed)
    rows: dict = {}
    serial = [0]
    if args.scheme == "cohort":
        month = first
        while month <= last:
            for i in range(1, args.providers + 1):
                episodes(rng, f"P{i:04d}", month, args.new, first, last, rows, serial)
            month = month.plus(1)
    total = files = 0
    month = first
    while month <= last:
        for i in range(1, args.providers + 1):
            provider = f"P{i:04d}"
            if args.scheme == "service":
                data = service_rows(rng, register, provider, month)
            else:
                data = rows.pop((provider, month), {"Presentations": [], "Discharges": [],
                                                    "Reviews": []})
                for items in data.values():
                    items.sort(key=lambda r: (min(v for v in r.values() if hasattr(v, "year")),
                                              r["client_id"]))
            total += sum(len(items) for items in data.values())
            write_template(out / "returns" / name / str(month) / f"{provider}-{month}.xlsx",
                           model, register, provider, month, data)
            files += 1
        print(f"\r{month}: {files:,} files, {total:,} rows", end="", file=sys.stderr, flush=True)
        month = month.plus(1)
    what = f" ({serial[0]:,} episodes)" if args.scheme == "cohort" else ""
    print(f"\nwrote {files:,} returns with {total:,} rows{what} to {out} "
          f"in {time.perf_counter() - began:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
