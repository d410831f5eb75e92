"""A seeded generator of national-scale returns for the client-level (cohort) scheme.

    python benchmarks/national.py OUT [--providers 200] [--months 18] [--new 70]

Writes OUT/pbr.yaml, OUT/models/ (the shipped wigan-cohort model with a register of
PROVIDERS providers) and OUT/returns/wigan-cohort/YYYY-MM/*.xlsx: one return per provider per
month for MONTHS months from April 2012. Each provider has about NEW new clients a month; each
client's episode is a presentation, a review every two to four months and, for most, a
discharge, so the default (200 x 18 x 95) makes about a million rows in 3,600 files. The files
are real returns, made by `pbr template`'s writer without its blank rows, and validate clean.
Run `python benchmarks/run.py OUT` on them.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import random
import shutil
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pbr_cli.model import load_model  # noqa: E402
from pbr_cli.outputs.template import write_template  # noqa: E402
from pbr_cli.periods import Month  # noqa: E402
from pbr_cli.register import load_register  # noqa: E402

MODEL = "wigan-cohort"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--providers", type=int, default=200)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--new", type=int, default=95, help="new clients a provider a month")
    parser.add_argument("--seed", type=int, default=2012)
    args = parser.parse_args()
    began = time.perf_counter()
    out: Path = args.out
    if out.exists():
        shutil.rmtree(out)
    (out / "models").mkdir(parents=True)
    shutil.copy(ROOT / "models" / f"{MODEL}.yaml", out / "models" / f"{MODEL}.yaml")
    register_path = out / "models" / f"{MODEL}.register.csv"
    with register_path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["Provider code", "Provider name", "Service", "Contract start",
                    "Contract end", "Annual cap"])
        for i in range(1, args.providers + 1):
            w.writerow([f"P{i:04d}", f"Treatment service {i}", "Community recovery",
                        "2012-04-01", "", ""])
    (out / "pbr.yaml").write_text("models: models\nreturns: returns\noutput: out\n"
                                  f"schemes: [{MODEL}]\n")
    model = load_model(out / "models" / f"{MODEL}.yaml")
    # Only the rows given: no blank rows for providers to fill in.
    model = dataclasses.replace(model, sheets=tuple(dataclasses.replace(s, rows=0)
                                                    for s in model.sheets))
    register = load_register(model)
    rng = random.Random(args.seed)
    first = Month(2012, 4)
    last = first.plus(args.months - 1)
    rows: dict = {}
    serial = [0]
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
            data = rows.get((provider, month), {"Presentations": [], "Discharges": [],
                                                "Reviews": []})
            for items in data.values():
                items.sort(key=lambda r: (min(v for v in r.values() if hasattr(v, "year")),
                                          r["client_id"]))
                total += len(items)
            write_template(out / "returns" / MODEL / str(month) / f"{provider}-{month}.xlsx",
                           model, register, provider, month, data)
            files += 1
        print(f"\r{month}: {files:,} files, {total:,} rows", end="", file=sys.stderr, flush=True)
        month = month.plus(1)
    print(f"\nwrote {files:,} returns with {total:,} rows ({serial[0]:,} episodes) to {out} "
          f"in {time.perf_counter() - began:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
