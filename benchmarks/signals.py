"""The signals of gaming measured: histories made by a process of this module's own, clean
and with each kind of gaming injected at stated strengths into one provider (P1), worked out
by pbr_cli.assurance.signals as `pbr assure signals` works them out.

The process (not the samples'): five providers, 24 months (the first twelve the history
before the period, the last twelve the period); each provider takes Poisson(14) new clients
a month, their group Low 45%, Medium 35%, High 20%, on a day drawn evenly from the month;
an episode lasts an exponential number of days (mean 200), is reviewed every 20 to 45 days
while open, and three in ten clients discharged present again at a provider drawn at random
after 30 to 730 days (evenly: no bunching at any gap). A review's days of use are 0 with
chance one half, else 1 to 28 evenly. Each provider's rolling proportion for each outcome
and group wanders (a random walk of 0.015 a month from a start drawn from 0.05 to 0.90)
against the Wigan model's band bounds.

The gaming, each at a weak and a strong strength, in P1 over the period only:

- creaming: that share of P1's new clients who would be Medium or High are Low instead;
- parking: that share of P1's episodes have no review after their first month and stay open;
- churn: that share of re-presentations to P1 in the 30 days before the window ends wait
  until just after it;
- bands: that share of P1's months just below a bound are reported just above it;
- deadline: that share of P1's discharges are dated in the last 3 days of their month;
- same_person: that many of P1's clients are also in treatment at P2, under a look-alike id;
- first_of_month: that share of P1's dates are written as the 1st;
- round_figures: that share of P1's review figures are rounded to a multiple of 7.

Found: P1's signal of that kind raised in the family of every provider and signal (the
Benjamini-Hochberg rule at the model's 5%). A false alarm: any signal raised in a clean
history (with every signal null, the share of histories with one is what the rule holds to
5%).

    python benchmarks/signals.py [--clean 200] [--runs 30] [--seed 1] [--arrivals 14]
                                 [--only churn bands]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pbr_cli.assurance.signals import assess  # noqa: E402
from pbr_cli.assurance.signals_data import (  # noqa: E402
    Discharge,
    Presentation,
    Proportion,
    Review,
    SignalData,
)
from pbr_cli.model import load_model  # noqa: E402
from pbr_cli.periods import Month  # noqa: E402

PROVIDERS = ["P1", "P2", "P3", "P4", "P5"]
START = Month(2012, 4)
MONTHS = [START.plus(i) for i in range(24)]
PERIOD = MONTHS[12:]
STRENGTHS = {"creaming": (0.25, 0.5), "parking": (0.1, 0.25), "churn": (0.5, 1.0),
             "bands": (0.5, 1.0), "deadline": (0.1, 0.25), "same_person": (1, 3),
             "first_of_month": (0.03, 0.08), "round_figures": (0.2, 0.5)}


def poisson(rng: random.Random, lam: float) -> int:
    k, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def history(model, rng: random.Random, gaming: str | None = None,
            strength: float = 0, rate: float = 14) -> SignalData:
    end = MONTHS[-1].last_day
    period_start = PERIOD[0].first_day
    data = SignalData(list(PERIOD), list(PROVIDERS))
    gamed = gaming is not None

    def in_period(day: date) -> bool:
        return day >= period_start

    def gamed_here(provider: str, day: date) -> bool:
        return gamed and provider == "P1" and in_period(day)

    arrivals = []  # (provider, client, day)
    n = 0
    for month in MONTHS:
        for provider in PROVIDERS:
            for _ in range(poisson(rng, rate)):
                n += 1
                day = month.first_day + timedelta(days=rng.randrange(month.days))
                arrivals.append((provider, f"C{n:05d}", day))
    churn_months = model.cohort.tariff.churn_months
    queue = sorted(arrivals, key=lambda a: a[2])
    seen: dict[str, list[date]] = {}
    i = 0
    while i < len(queue):
        provider, client, day = queue[i]
        i += 1
        if day > end:
            continue
        if gaming == "churn" and gamed_here(provider, day):
            before = [d for d in seen.get(client, ()) if d < day]
            if before:
                from pbr_cli.periods import add_months
                edge = add_months(max(before), churn_months)
                if edge - timedelta(days=30) <= day < edge and rng.random() < strength:
                    day = edge + timedelta(days=rng.randrange(30))
                    if day > end:
                        continue
        u = rng.random()
        group = "L" if u < 0.45 else "M" if u < 0.80 else "H"
        if gaming == "creaming" and gamed_here(provider, day) and group != "L" \
                and rng.random() < strength:
            group = "L"
        data.presentations.append(Presentation(provider, client, day, group))
        seen.setdefault(client, []).append(day)
        parked = (gaming == "parking" and provider == "P1" and rng.random() < strength
                  and day >= period_start - timedelta(days=180))  # parked in the period
        length = max(1, int(rng.expovariate(1 / 200)))
        stop = day + timedelta(days=length)
        review = day + timedelta(days=rng.randint(20, 45))
        while review < min(stop, end):
            if parked and review > day + timedelta(days=30):
                break
            value = 0 if rng.random() < 0.5 else rng.randint(1, 28)
            if gaming == "round_figures" and gamed_here(provider, review) and value \
                    and rng.random() < strength:
                value = max(7, 7 * round(value / 7))
            data.reviews.append(Review(provider, client, review,
                                       (("opiate_days", value), ("crack_days", 0))))
            review += timedelta(days=rng.randint(20, 45))
        if stop <= end and not parked:
            if gaming == "deadline" and gamed_here(provider, stop) and rng.random() < strength:
                month = Month(stop.year, stop.month)
                stop = month.last_day - timedelta(days=rng.randrange(3))
            data.discharges.append(Discharge(provider, client, day, stop, group))
            if rng.random() < 0.3:
                again = stop + timedelta(days=rng.randint(30, 730))
                queue.insert(_place(queue, again, i), (rng.choice(PROVIDERS), client, again))
    if gaming == "first_of_month":
        data.presentations = [replace(p, day=p.day.replace(day=1))
                              if gamed_here(p.provider, p.day) and rng.random() < strength
                              else p for p in data.presentations]
        data.reviews = [replace(r, day=r.day.replace(day=1))
                        if gamed_here(r.provider, r.day) and rng.random() < strength
                        else r for r in data.reviews]
    if gaming == "same_person":
        mine = [p for p in data.presentations if p.provider == "P1" and in_period(p.day)
                and not any(d.client == p.client for d in data.discharges)]
        for p in rng.sample(mine, min(int(strength), len(mine))):
            twin = p.client.lower().replace("c0", "c-")  # C00123 -> c-0123: a look-alike
            data.presentations.append(Presentation("P2", twin, p.day + timedelta(days=3),
                                                   p.group))
    data.proportions = proportions(model, rng, gaming == "bands", strength)
    return data


def _place(queue, day, lo):
    import bisect
    keys = [q[2] for q in queue[lo:]]
    return lo + bisect.bisect_right(keys, day)


def proportions(model, rng: random.Random, gamed: bool, strength: float) -> list[Proportion]:
    margin = model.signals.band_margin
    out = []
    for provider in PROVIDERS:
        for outcome in model.cohort.outcomes:
            if outcome.reported_only:
                continue
            for group, bands in outcome.bands.items():
                bounds = tuple(b.lower for b in bands)
                x = rng.uniform(0.05, 0.9)
                for month in MONTHS:
                    x = min(0.99, max(0.01, x + rng.gauss(0, 0.015)))
                    if month not in PERIOD:
                        continue
                    value = Fraction(round(x * 1000), 1000)
                    if gamed and provider == "P1" and rng.random() < strength:
                        for b in bounds:
                            if b - margin <= value < b:
                                value = b + (b - value) / 2
                    out.append(Proportion(provider, month, outcome.name, group, value,
                                          bounds))
    return out


def main() -> None:
    ask = argparse.ArgumentParser()
    ask.add_argument("--clean", type=int, default=200)
    ask.add_argument("--runs", type=int, default=30)
    ask.add_argument("--seed", type=int, default=1)
    ask.add_argument("--arrivals", type=float, default=14, help="new clients a provider a month")
    ask.add_argument("--only", nargs="*", default=list(STRENGTHS), help="the signals to inject")
    a = ask.parse_args()
    model = load_model(ROOT / "models" / "wigan-cohort.yaml")
    rng = random.Random(a.seed)
    began = time.time()
    alarms, wrong = 0, Counter()
    tests = nulls = 0
    for _ in range(a.clean):
        found = assess(model, history(model, rng, rate=a.arrivals))
        raised = [f for f in found.findings if f.raised]
        alarms += bool(raised)
        wrong.update(f.signal for f in raised)
        tests += found.tested
    print(f"clean histories: {a.clean}; with any signal raised: {alarms} "
          f"({alarms / a.clean:.1%}); raised by signal: {dict(wrong) or 'none'}; "
          f"tests a history: {tests / a.clean:.1f}")
    print()
    print("| signal | strength | found in P1 | other providers raised (false) |")
    print("|---|---|---|---|")
    for signal in a.only:
        strengths = STRENGTHS[signal]
        for strength in strengths:
            found_n = others = 0
            for _ in range(a.runs):
                result = assess(model, history(model, rng, signal, strength, a.arrivals))
                found_n += any(f.raised and f.provider == "P1" and f.signal == signal
                               for f in result.findings)
                others += sum(f.raised and f.provider != "P1" and f.signal != "same_person"
                              for f in result.findings)
                nulls += 1
            print(f"| {signal} | {strength} | {found_n} of {a.runs} ({found_n / a.runs:.0%}) "
                  f"| {others} |")
    print(f"\n{time.time() - began:.0f} s")


if __name__ == "__main__":
    main()
