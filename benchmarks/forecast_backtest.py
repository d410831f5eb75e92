"""Backtest of `pbr forecast` on the shipped samples: a forecast made as at each month,
against what those months were then actually worth.

For each scheme and each as-at month (from `--first` months into the scheme to the month
before the last recorded one), the months after it (up to `--horizon`) are forecast from the
returns up to it alone, and compared with the months worked out from all their returns:

- the error of each month's expected figure (forecast minus actual), as £ and as % of actual;
- whether the actual month fell inside the month's range, and whether the actual total of
  the horizon fell inside the horizon total's range — as often as the stated level says?

    python benchmarks/forecast_backtest.py                  # every shipped scheme
    python benchmarks/forecast_backtest.py wigan-cohort --simulations 100 --markdown

Prints a table per scheme and a summary line; --markdown prints the tables as docs/forecast.md
shows them.
"""

from __future__ import annotations

import argparse
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pbr_cli.cycle.config import load_config  # noqa: E402
from pbr_cli.forecast import TOTAL, PeriodSoFar, Settings, outlook  # noqa: E402
from pbr_cli.model import find_model, load_model  # noqa: E402
from pbr_cli.pricing.worth import month_schedule, read_months  # noqa: E402
from pbr_cli.returns.folders import months_with_returns  # noqa: E402
from pbr_cli.returns.register import load_register  # noqa: E402

SCHEMES = ["birmingham-90-10", "wigan-cohort", "troubled-families", "work-programme"]


def backtest(name: str, settings: Settings, first: int, horizon: int, step: int):
    cfg = load_config(ROOT / "pbr.yaml")
    model = load_model(find_model(name, cfg.models))
    register = load_register(model, None)
    root = cfg.returns_for(name)
    months = [m for m in months_with_returns(root) if model.covers(m)]
    collection = read_months(cfg.cache, model, register, root, months, None)
    actual = {m: month_schedule(model, register, m, collection).total() for m in months}
    rows = []
    for i in range(first - 1, len(months) - 1, step):
        as_at = months[i]
        ahead = months[i + 1:i + 1 + horizon]
        returns = [r for r in collection.returns if r.month is not None and r.month <= as_at]
        o = outlook(model, register, PeriodSoFar({}, ahead, returns, as_at), settings, None)
        for m in ahead:
            low, high = o.month_range[(TOTAL, m)]
            rows.append({"as_at": as_at, "month": m, "ahead": ahead.index(m) + 1,
                         "expected": o.total(TOTAL, m), "actual": actual[m],
                         "low": low, "high": high, "inside": low <= actual[m] <= high})
        low, high = o.total_range[TOTAL]
        total = sum((actual[m] for m in ahead), Decimal("0.00"))
        rows.append({"as_at": as_at, "month": f"{ahead[0]}..{ahead[-1]}", "ahead": "all",
                     "expected": o.total(TOTAL), "actual": total, "low": low, "high": high,
                     "inside": low <= total <= high})
    return rows


def _mape(rows) -> Decimal:
    """The mean of |expected - actual| / actual, per cent, over months with an actual."""
    paid = [r for r in rows if r["actual"]]
    return (sum((abs(r["expected"] - r["actual"]) / r["actual"] for r in paid), Decimal(0))
            / max(1, len(paid)) * 100)


def _bias(rows) -> Decimal:
    """Expected minus actual over all the rows, per cent of actual."""
    return (sum((r["expected"] - r["actual"] for r in rows), Decimal(0))
            / max(Decimal(1), sum((r["actual"] for r in rows), Decimal(0))) * 100)


def pct(error: Decimal, actual: Decimal) -> str:
    return f"{error / actual * 100:+.1f}%" if actual else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("schemes", nargs="*", default=SCHEMES)
    parser.add_argument("--simulations", type=int, default=50)
    parser.add_argument("--level", type=int, default=80)
    parser.add_argument("--first", type=int, default=4,
                        help="the first as-at month, counted from the scheme's first (4)")
    parser.add_argument("--horizon", type=int, default=6, help="months ahead (6)")
    parser.add_argument("--step", type=int, default=1, help="every this many as-at months")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    settings = Settings(simulations=args.simulations, level=args.level)
    summary = []
    for name in args.schemes:
        started = time.perf_counter()
        rows = backtest(name, settings, args.first, args.horizon, args.step)
        took = time.perf_counter() - started
        monthly = [r for r in rows if r["ahead"] != "all"]
        totals = [r for r in rows if r["ahead"] == "all"]
        print(f"\n{name}: {len(totals)} forecasts, {len(monthly)} months, "
              f"{args.simulations} simulations each, {took:.0f} s")
        if args.markdown:
            print("\n| months ahead | forecasts | mean absolute error | bias | actual inside "
                  f"the {args.level}% range |")
            print("|---:|---:|---:|---:|---:|")
            for ahead in sorted({r["ahead"] for r in monthly}):
                these = [r for r in monthly if r["ahead"] == ahead]
                print(f"| {ahead} | {len(these)} | {_mape(these):.1f}% | {_bias(these):+.1f}% | "
                      f"{sum(r['inside'] for r in these)}/{len(these)} |")
            print("\n| as at | months | expected | actual | error | range | inside |")
            print("|---|---|---:|---:|---:|---|---|")
            rows = totals
        for r in rows:
            error = r["expected"] - r["actual"]
            cells = [str(r["as_at"]), str(r["month"]), f"£{r['expected']:,}",
                     f"£{r['actual']:,}", f"{pct(error, r['actual'])}",
                     f"£{r['low']:,} to £{r['high']:,}", "yes" if r["inside"] else "NO"]
            if not args.markdown:
                cells.insert(2, str(r["ahead"]))
            print(("| " + " | ".join(cells) + " |") if args.markdown else "  ".join(cells))
        inside_m = sum(r["inside"] for r in monthly)
        inside_t = sum(r["inside"] for r in totals)
        mape, bias = _mape(monthly), _bias(monthly)
        line = (f"{name}: months inside their {args.level}% range {inside_m}/{len(monthly)} "
                f"({inside_m / max(1, len(monthly)):.0%}); horizon totals inside "
                f"{inside_t}/{len(totals)} ({inside_t / max(1, len(totals)):.0%}); mean "
                f"absolute error of a month {mape:.1f}%; overall bias {bias:+.1f}%")
        summary.append(line)
        print(line)
    print()
    for line in summary:
        print(line)


if __name__ == "__main__":
    main()
