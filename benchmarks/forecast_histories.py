"""Histories for the forecast backtest: returns made by a process of this module's own, known
and varied, for each kind of scheme (cohort, per participant, service-level).

Nothing here comes from the shipped samples or from the forecast: each provider's monthly
volume (new clients, attachments, or a service's occupancy and outcomes) is a base rate times
a shape over the months, drawn as Poisson counts:

- flat: the base rate every month;
- trend: 4% more each month than the first (a caseload growing);
- step: halved from the ninth month (a contract cut); rise: 60% more from the eighth;
- seasonal: 30% up and down over a year (a sine, peaking in the fourth month).

Providers also differ in their dates: one joins mid-year (its contract starts in the seventh
month), one leaves (its contract ends after the twelfth), one starts so late that some
forecasts see only one or two of its months; and one provider's return for the tenth month
has an error (a date outside its month), so it is withheld that month, as a real one would be.

What happens to each client after arriving is the process's own too: a cohort episode ends
each month with a chance by complexity, successfully or not, and is reviewed every three
months (one in twelve ends within its first month); a family's results come months after
attachment at fixed chances; a service's void days and outcomes achieved follow its shape.

    python benchmarks/forecast_histories.py wigan-cohort /tmp/h    # write one history
"""

from __future__ import annotations

import csv
import math
import random
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pbr_cli.model import load_model  # noqa: E402
from pbr_cli.outputs.template import write_template  # noqa: E402
from pbr_cli.periods import Month  # noqa: E402
from pbr_cli.returns.register import entry_active, load_register  # noqa: E402

SHAPES = ["flat", "trend", "step", "seasonal", "rise"]


def shape(name: str, t: int) -> float:
    """The volume of month `t` (0 the first) against the base rate."""
    if name == "trend":
        return 1 + 0.04 * t
    if name == "step":
        return 1.0 if t < 8 else 0.5
    if name == "rise":
        return 1.0 if t < 7 else 1.6
    if name == "seasonal":
        return 1 + 0.3 * math.sin(2 * math.pi * t / 12)
    return 1.0


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


@dataclass
class Provider:
    code: str
    shape: str
    base: float  # new clients (or attachments) a month, or a service's capacity
    first: int = 0  # the month its contract starts (0: the scheme's first month)
    last: int | None = None  # the month after which it ends (None: it runs on)
    faulty: int | None = None  # a month whose return has an error


@dataclass
class History:
    """Where a history was written, and what made it."""

    scheme: str
    root: Path  # returns/<YYYY-MM>/*.xlsx
    register: Path
    months: list[Month]
    providers: list[Provider] = field(default_factory=list)


def providers_for(rng: random.Random, n: int, low: float, high: float,
                  months: int) -> list[Provider]:
    """`n` providers with shapes in turn and their dates: the last three join mid-year,
    leave after month 12, start late (only a month or two seen by some forecasts); the
    second's tenth month has an error."""
    out = [Provider(f"G{i + 1:02d}", SHAPES[i % len(SHAPES)], rng.uniform(low, high))
           for i in range(n)]
    if n >= 4:
        out[-1].first = 6  # joins mid-year
        out[-2].last = min(months - 2, 11)  # leaves
        out[-3].first = min(months - 3, 4 + months // 3)  # a late start: thin basis
        out[1].faulty = min(months - 2, 9)
    return out


def _months(first: Month, n: int) -> list[Month]:
    return [first.plus(i) for i in range(n)]


def _day(rng: random.Random, month: Month) -> date:
    return month.first_day + timedelta(days=rng.randrange(month.days))


def _register(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _dates(p: Provider, months: list[Month]) -> tuple[str, str]:
    start = months[p.first].first_day.isoformat()
    end = months[p.last].last_day.isoformat() if p.last is not None else ""
    return start, end


def _write(model_path: Path, register_path: Path, root: Path, months: list[Month],
           providers: list[Provider], rows: dict) -> None:
    model = load_model(model_path)
    register = load_register(model, register_path)
    for t, month in enumerate(months):
        for p in providers:
            if t < p.first or (p.last is not None and t > p.last):
                continue
            if not any(entry_active(model, e, month) for e in register.provider_entries(p.code)):
                continue
            data = rows.get((p.code, t), {})
            write_template(root / str(month) / f"{p.code}-{month}.xlsx", model, register,
                           p.code, month, data, filled_only=True)


def _fault(rows: dict, p: Provider, sheet: str, column: str, months: list[Month]) -> None:
    """The faulty month's first row of `sheet` dated the month before: an error."""
    if p.faulty is None:
        return
    found = rows.get((p.code, p.faulty), {}).get(sheet)
    if found:
        found[0][column] = months[p.faulty].first_day - timedelta(days=3)


# -- a cohort scheme (wigan-cohort) --------------------------------------------------------

def cohort(out: Path, seed: int, n_providers: int = 6, n_months: int = 21) -> History:
    rng = random.Random(f"cohort:{seed}")
    months = _months(Month(2012, 4), n_months)
    providers = providers_for(rng, n_providers, 5, 16, n_months)
    register = _register(out / "register.csv", ["Provider code", "Provider name", "Service",
                                                  "Contract start", "Contract end",
                                                  "Annual cap"],
                         [[p.code, f"Provider {p.code}", "Recovery", *_dates(p, months), ""]
                          for p in providers])
    ends = {"L": 0.16, "M": 0.12, "H": 0.09}  # chance an open episode ends in a month
    success = {"L": 0.6, "M": 0.45, "H": 0.3}
    rows: dict = {}

    def add(p: Provider, t: int, sheet: str, row: dict) -> None:
        rows.setdefault((p.code, t), {"Presentations": [], "Discharges": [], "Reviews": []})
        rows[(p.code, t)][sheet].append(row)

    n = 0
    for p in providers:
        open_eps: list[tuple[str, date, str, int]] = []  # client, start, complexity, month
        returning: list[tuple[int, str, str]] = []  # (month, client, complexity) again
        last = p.last if p.last is not None else n_months - 1
        for t in range(p.first, last + 1):
            month = months[t]
            arrivals = [(f"C{(n := n + 1):05d}", rng.choices("LMH", weights=[4, 4, 2])[0])
                        for _ in range(poisson(rng, p.base * shape(p.shape, t)))]
            arrivals += [(c, g) for when, c, g in returning if when == t]
            for client, complexity in arrivals:
                start = _day(rng, month)
                add(p, t, "Presentations", {"client_id": client, "presentation_date": start,
                                            "complexity": complexity})
                open_eps.append((client, start, complexity, t))
            still = []
            for client, start, complexity, began in open_eps:
                if t > began and (t - began) % 3 == 0:
                    clean = rng.random() < 0.2 + 0.1 * min(4, (t - began) // 3)
                    # (reviews in the first fortnight, discharges after it)
                    add(p, t, "Reviews", {"client_id": client, "review_date":
                                          month.first_day + timedelta(days=rng.randrange(14)),
                                          "complexity": complexity,
                                          "opiate_days": 0 if clean else rng.randint(1, 20),
                                          "crack_days": 0, "offended": "N", "in_ete": "N"})
                # (in its first month: one in twelve leaves or completes within the month)
                if (rng.random() < ends[complexity] if t > began else
                        start.day < month.days and rng.random() < 1 / 12):
                    ok = rng.random() < success[complexity]
                    day = month.first_day + timedelta(days=rng.randint(14, month.days - 1))
                    if t == began:
                        day = start + timedelta(days=rng.randint(1, month.days - start.day))
                    add(p, t, "Discharges", {"client_id": client, "episode_start": start,
                                             "discharge_date": day, "discharge_reason":
                                             ("TCDF" if ok else rng.choice(["DO", "WD"])),
                                             "complexity": complexity})
                    if not ok and rng.random() < 0.15:
                        returning.append((t + rng.randint(2, 7), client, complexity))
                else:
                    still.append((client, start, complexity, began))
            open_eps = still
    for p in providers:
        _fault(rows, p, "Reviews", "review_date", months)
    for data in rows.values():
        for sheet in data.values():
            sheet.sort(key=lambda r: (min(v for v in r.values() if isinstance(v, date)),
                                      r["client_id"]))
    _write(ROOT / "models" / "wigan-cohort.yaml", register, out / "returns", months,
           providers, rows)
    return History("wigan-cohort", out / "returns", register, months, providers)


# -- a per-participant scheme (troubled-families) ------------------------------------------

def participants(out: Path, seed: int, n_providers: int = 6, n_months: int = 21) -> History:
    rng = random.Random(f"participants:{seed}")
    months = _months(Month(2012, 4), n_months)
    providers = providers_for(rng, n_providers, 4, 12, n_months)
    register = _register(out / "register.csv", ["Authority code", "Local authority",
                                                 "Families to work with", "Start", "End"],
                         [[p.code, f"Council {p.code}", str(int(p.base * 40)),
                           *_dates(p, months)] for p in providers])
    rows: dict = {}

    def add(p: Provider, day: date, sheet: str, row: dict) -> None:
        t = months.index(Month.of(day)) if Month.of(day) in months else None
        last = p.last if p.last is not None else n_months - 1
        if t is None or t > last:
            return
        rows.setdefault((p.code, t), {"Attachments": [], "Claims": []})[sheet].append(row)

    n = 0
    for p in providers:
        last = p.last if p.last is not None else n_months - 1
        for t in range(p.first, last + 1):
            for _ in range(poisson(rng, p.base * shape(p.shape, t))):
                n += 1
                fid = f"F{n:05d}"
                attached = _day(rng, months[t])
                add(p, attached, "Attachments", {"family_id": fid, "attachment_date": attached})
                if rng.random() < 0.55:
                    crime = attached + timedelta(days=rng.randint(50, 220))
                    add(p, crime, "Claims", {"family_id": fid, "result": "CRIME",
                                             "achieved_date": crime})
                    if rng.random() < 0.6:
                        edu = crime + timedelta(days=rng.randint(20, 120))
                        add(p, edu, "Claims", {"family_id": fid, "result": "EDU",
                                               "achieved_date": edu})
                elif rng.random() < 0.2:
                    emp = attached + timedelta(days=rng.randint(100, 300))
                    add(p, emp, "Claims", {"family_id": fid, "result": "EMP",
                                           "achieved_date": emp})
                if rng.random() < 0.2:
                    work = attached + timedelta(days=rng.randint(30, 200))
                    add(p, work, "Claims", {"family_id": fid, "result": "WORK",
                                            "achieved_date": work})
    for p in providers:
        _fault(rows, p, "Attachments", "attachment_date", months)
    for data in rows.values():
        data["Attachments"].sort(key=lambda r: (r["attachment_date"], r["family_id"]))
        data["Claims"].sort(key=lambda r: (r["achieved_date"], r["family_id"], r["result"]))
    _write(ROOT / "models" / "troubled-families.yaml", register, out / "returns", months,
           providers, rows)
    return History("troubled-families", out / "returns", register, months, providers)


# -- a service-level scheme (birmingham-90-10: a six-month pilot) --------------------------

OUTCOME_CODES = ["1a", "4a", "1b", "1c", "2a", "2b", "2c", "3a", "3b", "4b"]


def service(out: Path, seed: int, n_providers: int = 8, n_months: int = 6) -> History:
    rng = random.Random(f"service:{seed}")
    months = _months(Month(2013, 4), n_months)
    providers = providers_for(rng, n_providers, 8, 30, n_months)
    for p in providers:  # a six-month pilot: a join in month 3, a leaver after month 4
        p.first = min(p.first, 2)
        p.last = None if p.last is None else 3
        p.faulty = None if p.faulty is None else 3
    entries = []
    for i, p in enumerate(providers):
        capacity = max(5, int(p.base))
        value = capacity * rng.choice([5000, 6000, 7500])
        entries.append([f"S{i + 1:03d}", p.code, f"Provider {p.code}", f"Service {i + 1}",
                        rng.choice(["DIS", "MH", "SE", "OP"]), "ACC", str(capacity),
                        f"{value}.00", *_dates(p, months)])
    register = _register(out / "register.csv", [
        "Service ID", "Provider code", "Provider name", "Service name", "Client group",
        "Service type", "Capacity", "Annual contract value", "Contract start", "Contract end"],
        entries)
    rows: dict = {}
    for entry, p in zip(entries, providers, strict=True):
        sid, capacity = entry[0], int(entry[6])
        last = p.last if p.last is not None else n_months - 1
        skill = rng.uniform(0.55, 0.85)
        for t in range(p.first, last + 1):
            month = months[t]
            level = shape(p.shape, t)  # occupancy and achievement follow the shape
            void = max(0.0, min(0.6, 0.12 - 0.1 * (level - 1) + rng.gauss(0, 0.03)))
            data = {"Utilisation": [{"service_id": sid,
                                     "void_days": int(capacity * month.days * void)}],
                    "Outcomes": []}
            for c in range(max(1, poisson(rng, capacity / 6 * level))):
                when = _day(rng, month)
                achieved = [rng.random() < min(0.95, skill * level) for _ in range(5)]
                data["Outcomes"] += [
                    {"service_id": sid, "client_id": f"{sid}-{t:02d}{c:03d}",
                     "assessment_date": when, "assessment": "REV", "outcome": code,
                     "result": "A" if ok else "N"}
                    for code, ok in zip(OUTCOME_CODES[:2] + rng.sample(OUTCOME_CODES[2:], 3),
                                        achieved, strict=True)]
            rows[(p.code, t)] = data
    for p in providers:
        _fault(rows, p, "Outcomes", "assessment_date", months)
    _write(ROOT / "models" / "birmingham-90-10.yaml", register, out / "returns", months,
           providers, rows)
    return History("birmingham-90-10", out / "returns", register, months, providers)


KINDS = {"wigan-cohort": cohort, "troubled-families": participants,
         "birmingham-90-10": service}


if __name__ == "__main__":
    made = KINDS[sys.argv[1]](Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    print(f"{made.scheme}: {len(made.months)} months, {len(made.providers)} providers, "
          f"written to {made.root}")
