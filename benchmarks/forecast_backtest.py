"""Backtest of `pbr forecast`: a forecast made as at each month, from the returns up to it
alone, against what the months after it were worth, worked out from all their returns; beside
three naive forecasts from the same recorded months.

Histories come from benchmarks/forecast_histories.py (a process of its own, known and varied:
flat, trend, step, seasonal, a provider joining, one leaving, one seen for a month or two, a
month whose return has an error), one kind of scheme each: cohort (wigan-cohort), per
participant (troubled-families), service-level (birmingham-90-10, a six-month pilot); or, with
--samples, the shipped samples.

For each scheme and months ahead (1 to --horizon), over every as-at month from the --first:

- MAPE: the mean of |forecast - actual| / actual, per cent (months with an actual);
- MASE: the mean absolute error against that of last month repeated, on the same months
  (below 1: better than repeating last month);
- bias: the sum of (forecast - actual) over the sum of actuals, per cent;
- inside: the share of actual months inside the forecast's 80% range (calibration);
- the same MAPE and MASE for the naive forecasts: last month repeated, the mean of the last
  three, a straight line through the last six (at least two);
- the year's total (the first twelve months) as at months 6 and 9: recorded months plus the
  forecast of the rest, its error against the actual year, for pbr and each naive forecast;
- projected returns that failed a check (each a defect of the projection; there should be none).

    python benchmarks/forecast_backtest.py --quick              # under 2 minutes, one core
    nice python benchmarks/forecast_backtest.py --markdown      # the tables in docs/forecast.md
    python benchmarks/forecast_backtest.py --samples wigan-cohort
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.forecast_histories import KINDS  # noqa: E402
from pbr_cli.cycle.config import load_config  # noqa: E402
from pbr_cli.forecast import TOTAL, PeriodSoFar, Settings, outlook  # noqa: E402
from pbr_cli.model import find_model, load_model  # noqa: E402
from pbr_cli.periods import Month  # noqa: E402
from pbr_cli.pricing.worth import month_schedule, read_months  # noqa: E402
from pbr_cli.returns.folders import months_with_returns  # noqa: E402
from pbr_cli.returns.register import load_register  # noqa: E402

SCHEMES = ["wigan-cohort", "troubled-families", "birmingham-90-10"]
SAMPLES = ["birmingham-90-10", "wigan-cohort", "troubled-families", "work-programme"]
NAIVE = ["last", "mean3", "trend6"]


def naive(history: list[Decimal], ahead: int) -> dict[str, Decimal]:
    """The naive forecasts of the month `ahead` months after the last of `history`."""
    last = history[-1]
    mean3 = sum(history[-3:], Decimal(0)) / len(history[-3:])
    ys = [float(v) for v in history[-6:]]
    if len(ys) < 2:
        trend = float(last)
    else:
        n = len(ys)
        mx, my = (n - 1) / 2, sum(ys) / n
        slope = (sum((x - mx) * (y - my) for x, y in enumerate(ys))
                 / sum((x - mx) ** 2 for x in range(n)))
        trend = max(0.0, my + slope * (n - 1 + ahead - mx))
    return {"last": last, "mean3": mean3, "trend6": Decimal(str(round(trend, 2)))}


@dataclass
class Point:
    scheme: str
    history: str
    as_at: Month
    month: Month
    ahead: int
    actual: Decimal
    expected: Decimal
    low: Decimal
    high: Decimal
    naive: dict[str, Decimal]

    @property
    def inside(self) -> bool:
        return self.low <= self.actual <= self.high


@dataclass
class Error:
    """One forecast month's relative error (actual / expected - 1), for calibration: of the
    scheme's total ("total") or a provider's ("provider"), with what its basis was."""

    kind: str
    level_of: str
    ahead: int
    relative: float
    plain: bool  # neither thin, nor without a basis, nor stepped (ranges.Basis.factor == 1)
    inside: bool


@dataclass
class Year:
    scheme: str
    as_at: int  # month of the year (6 or 9)
    actual: Decimal
    forecast: dict[str, Decimal]  # pbr and each naive forecast -> the year's total


@dataclass
class Run:
    points: list[Point] = field(default_factory=list)
    errors: list[Error] = field(default_factory=list)
    years: list[Year] = field(default_factory=list)
    defects: dict[str, list[int]] = field(default_factory=dict)  # scheme -> [sims, of, ret]
    seconds: dict[str, float] = field(default_factory=dict)


def backtest(run: Run, scheme: str, label: str, root: Path, register_path: Path | None,
             settings: Settings, first: int, horizon: int) -> None:
    cfg = load_config(ROOT / "pbr.yaml")
    model = load_model(find_model(scheme, cfg.models))
    register = load_register(model, register_path)
    months = [m for m in months_with_returns(root) if model.covers(m)]
    collection = read_months(None, model, register, root, months, None)
    schedules = {m: month_schedule(model, register, m, collection) for m in months}
    actual = {m: s.total() for m, s in schedules.items()}
    by_provider = {(r.provider, m): sum((ln.amount for ln in r.lines if ln.kind == "payment"),
                                        Decimal(0))
                   for m, s in schedules.items() for r in s.providers}
    defects = run.defects.setdefault(scheme, [0, 0, 0])
    for i in range(first - 1, len(months) - 1):
        as_at = months[i]
        ahead = months[i + 1:i + 1 + horizon]
        returns = [r for r in collection.returns if r.month is not None and r.month <= as_at]
        so_far = PeriodSoFar({}, ahead, returns, as_at, cfg.scheme(scheme).budget.get("register"))
        o = outlook(model, register, so_far, settings, None)
        defects[0] += o.defects.simulations
        defects[1] += o.defects.of_simulations
        defects[2] += o.defects.returns
        recorded = [actual[m] for m in months[:i + 1]]
        for h, m in enumerate(ahead, start=1):
            low, high = o.month_range[(TOTAL, m)]
            run.points.append(Point(scheme, label, as_at, m, h, actual[m], o.total(TOTAL, m),
                                    low, high, naive(recorded, h)))
            for who in [TOTAL, *register.providers()]:
                expected = o.total(who, m)
                got = actual[m] if who == TOTAL else by_provider.get((who, m), Decimal(0))
                if expected > 0 and o.basis is not None:
                    lo, hi = o.month_range.get((who, m), (expected, expected))
                    run.errors.append(Error(model.kind, "total" if who == TOTAL else
                                            "provider", h, float(got / expected) - 1,
                                            o.basis.factor(who) == 1.0, lo <= got <= hi))
        if i + 1 in (6, 9) and len(months) >= 12 and len(ahead) >= 12 - (i + 1):
            rest = ahead[:12 - (i + 1)]
            so_far = sum(recorded, Decimal(0))
            forecast = {"pbr": so_far + sum((o.total(TOTAL, m) for m in rest), Decimal(0))}
            for name in NAIVE:
                forecast[name] = so_far + sum((naive(recorded, h)[name]
                                               for h in range(1, len(rest) + 1)), Decimal(0))
            run.years.append(Year(scheme, i + 1, sum((actual[m] for m in months[:12]),
                                                     Decimal(0)), forecast))


# -- the measures --------------------------------------------------------------------------

def mape(points: list[Point], of: str = "pbr") -> float:
    paid = [p for p in points if p.actual]
    return 100 * sum(abs(float(_value(p, of) - p.actual)) / float(p.actual)
                     for p in paid) / max(1, len(paid))


def mae(points: list[Point], of: str = "pbr") -> float:
    return sum(abs(float(_value(p, of) - p.actual)) for p in points) / max(1, len(points))


def mase(points: list[Point], of: str = "pbr") -> float:
    """Mean absolute error against that of last month repeated (nan if that is 0)."""
    base = mae(points, "last")
    return mae(points, of) / base if base else float("nan")


def bias(points: list[Point]) -> float:
    total = sum(float(p.actual) for p in points)
    return 100 * sum(float(p.expected - p.actual) for p in points) / total if total else 0.0


def _value(p: Point, of: str) -> Decimal:
    return p.expected if of == "pbr" else p.naive[of]


def year_error(years: list[Year], of: str) -> float:
    """The mean absolute error of the year's total, per cent of the actual year."""
    return 100 * sum(abs(float(y.forecast[of] - y.actual)) / float(y.actual)
                     for y in years) / max(1, len(years))


# -- the run -------------------------------------------------------------------------------

def generated(run: Run, schemes: list[str], seeds: list[int], settings: Settings, first: int,
              horizon: int, size: dict[str, int]) -> None:
    with tempfile.TemporaryDirectory(prefix="pbr-backtest-") as tmp:
        for scheme in schemes:
            started = time.perf_counter()
            for seed in seeds:
                out = Path(tmp) / f"{scheme}-{seed}"
                kw = dict(size)
                if scheme == "birmingham-90-10":
                    kw.pop("n_months", None)  # the pilot is six months
                h = KINDS[scheme](out, seed, **kw)
                backtest(run, scheme, f"seed {seed}", h.root, h.register, settings,
                         min(first, 2) if scheme == "birmingham-90-10" else first, horizon)
            run.seconds[scheme] = time.perf_counter() - started


def tables(run: Run, horizon: int, level: int) -> list[str]:
    out = ["| scheme | months ahead | forecasts | pbr MAPE | pbr MASE | bias | inside the "
           f"{level}% range | last month MAPE | mean of 3 MAPE (MASE) | trend of 6 MAPE "
           "(MASE) |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for scheme in dict.fromkeys(p.scheme for p in run.points):
        mine = [p for p in run.points if p.scheme == scheme]
        for h in range(1, horizon + 1):
            these = [p for p in mine if p.ahead == h]
            if not these:
                continue
            inside = sum(p.inside for p in these)
            out.append(f"| {scheme} | {h} | {len(these)} | {mape(these):.1f}% | "
                       f"{mase(these):.2f} | {bias(these):+.1f}% | {inside}/{len(these)} "
                       f"({inside / len(these):.0%}) | {mape(these, 'last'):.1f}% | "
                       f"{mape(these, 'mean3'):.1f}% ({mase(these, 'mean3'):.2f}) | "
                       f"{mape(these, 'trend6'):.1f}% ({mase(these, 'trend6'):.2f}) |")
    out += ["", "The year's total (its first twelve months) as at months 6 and 9: mean absolute "
            "error, per cent of the actual year.", "",
            "| scheme | as at month | histories | pbr | last month | mean of 3 | trend of 6 |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for scheme in dict.fromkeys(y.scheme for y in run.years):
        for at in (6, 9):
            these = [y for y in run.years if y.scheme == scheme and y.as_at == at]
            if these:
                out.append(f"| {scheme} | {at} | {len(these)} | "
                           + " | ".join(f"{year_error(these, of):.1f}%"
                                        for of in ["pbr", *NAIVE]) + " |")
    out += ["", "| scheme | simulations with a projected return failing a check | projected "
            "returns failing | seconds |", "|---|---:|---:|---:|"]
    for scheme, (sims, of, returns) in run.defects.items():
        out.append(f"| {scheme} | {sims} of {of} | {returns} | "
                   f"{run.seconds.get(scheme, 0):.0f} |")
    return out


PROBABILITIES = [0.01, 0.02, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6,
                 0.7, 0.75, 0.8, 0.85, 0.875, 0.9, 0.925, 0.95, 0.98, 0.99]


def calibration(errors: list[Error]) -> dict[str, dict[str, dict[int, list[tuple[float,
                                                                             float]]]]]:
    """The quantiles of the plain forecasts' relative errors, by kind, level and months
    ahead (linear between order statistics), each from the errors that many months ahead
    and one month either side (neighbouring horizons' errors are alike, and three times the
    errors steady the tails: an 80% range rests on its 10th and 90th percentiles)."""
    out: dict[str, dict[str, dict[int, list[tuple[float, float]]]]] = {}
    for e in errors:
        out.setdefault(e.kind, {}).setdefault(e.level_of, {}).setdefault(e.ahead, [])
    for kind, levels in out.items():
        for level_of, by_ahead in levels.items():
            for ahead in by_ahead:
                xs = sorted(e.relative for e in errors if e.plain and e.kind == kind
                            and e.level_of == level_of and abs(e.ahead - ahead) <= 1)
                if len(xs) < 5:
                    continue
                points = []
                for p in PROBABILITIES:
                    at = p * (len(xs) - 1)
                    i = int(at)
                    q = xs[i] + (xs[min(i + 1, len(xs) - 1)] - xs[i]) * (at - i)
                    points.append((p, round(q, 4)))
                by_ahead[ahead] = points
            levels[level_of] = {a: v for a, v in sorted(by_ahead.items()) if v}
    return out


def write_calibration(errors: list[Error], seeds: list[int], target: Path) -> None:
    table = calibration(errors)
    head = target.read_text().split("QUANTILES")[0].split("\n# measured on")[0]
    lines = [head.rstrip(), "",
             f"# measured on the generated histories of seeds {', '.join(map(str, seeds))}",
             "QUANTILES: dict[str, dict[str, dict[int, list[tuple[float, float]]]]] = {"]
    for kind, levels in table.items():
        lines.append(f"    {kind!r}: {{")
        for level_of, by_ahead in levels.items():
            lines.append(f"        {level_of!r}: {{")
            for ahead, points in by_ahead.items():
                lines.append(f"            {ahead}: [")
                for i in range(0, len(points), 4):
                    lines.append("                " + " ".join(
                        f"({p}, {q})," for p, q in points[i:i + 4]))
                lines.append("            ],")
            lines.append("        },")
        lines.append("    },")
    lines.append("}")
    target.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("schemes", nargs="*")
    parser.add_argument("--samples", action="store_true", help="the shipped samples instead")
    parser.add_argument("--quick", action="store_true",
                        help="one small history of each kind, 10 simulations (under 2 minutes)")
    parser.add_argument("--seeds", default="3",
                        help="histories of each kind: a number (seeds 1 to it) or a list "
                        "(\"3,4\": held out from a calibration made on 1,2)")
    parser.add_argument("--calibrate", action="store_true",
                        help="write pbr_cli/forecast/calibration.py from these histories' errors")
    parser.add_argument("--simulations", type=int, default=50)
    parser.add_argument("--level", type=int, default=80)
    parser.add_argument("--first", type=int, default=3,
                        help="the first as-at month, counted from the first (3)")
    parser.add_argument("--horizon", type=int, default=6, help="months ahead (6)")
    parser.add_argument("--markdown", action="store_true", help="(the tables are markdown)")
    parser.add_argument("--errors", type=Path, metavar="FILE",
                        help="also write every forecast month's relative error to FILE (JSON), "
                        "for --calibrate-from")
    parser.add_argument("--calibrate-from", type=Path, nargs="+", metavar="FILE",
                        help="write pbr_cli/forecast/calibration.py from errors written by "
                        "--errors, forecasting nothing")
    args = parser.parse_args()
    if args.calibrate_from:
        saved = [json.loads(f.read_text()) for f in args.calibrate_from]
        write_calibration([Error(**e) for one in saved for e in one["errors"]],
                          sorted({s for one in saved for s in one["seeds"]}),
                          ROOT / "pbr_cli" / "forecast" / "calibration.py")
        print("written: pbr_cli/forecast/calibration.py")
        return
    settings = Settings(simulations=10 if args.quick else args.simulations, level=args.level)
    run = Run()
    seeds: list[int] = []
    started = time.perf_counter()
    if args.samples:
        cfg = load_config(ROOT / "pbr.yaml")
        for scheme in args.schemes or SAMPLES:
            t = time.perf_counter()
            backtest(run, scheme, "samples", cfg.returns_for(scheme), None, settings,
                     args.first, args.horizon)
            run.seconds[scheme] = time.perf_counter() - t
    else:
        size = ({"n_providers": 4, "n_months": 14} if args.quick else {})
        seeds = ([1] if args.quick else [int(x) for x in args.seeds.split(",")]
                 if "," in args.seeds else list(range(1, int(args.seeds) + 1)))
        generated(run, args.schemes or SCHEMES, seeds, settings, args.first, args.horizon, size)
    print(f"{len(run.points)} forecast months, {settings.simulations} simulations each, "
          f"{time.perf_counter() - started:.0f} s on {os.cpu_count()} cores\n")
    print("\n".join(tables(run, args.horizon, args.level)))
    if args.errors:
        args.errors.write_text(json.dumps({"seeds": seeds, "simulations": settings.simulations,
                                           "errors": [asdict(e) for e in run.errors]}))
    if args.calibrate and not args.samples:
        write_calibration(run.errors, seeds, ROOT / "pbr_cli" / "forecast" / "calibration.py")
        print("\nwritten: pbr_cli/forecast/calibration.py")


if __name__ == "__main__":
    main()
