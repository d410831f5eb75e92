"""Time pbr on a folder made by benchmarks/national.py, beside the raw readers' time.

    python benchmarks/run.py OUT [--runs 3]

Each measurement runs in a fresh process, RUNS times; it prints the median wall time and the
largest peak memory (max RSS). Beside pbr's commands it times, on the same files, the fastest
reader here (python-calamine, every sheet to Python values: the limit) and a plain pandas
`read_excel(engine="openpyxl")` of every sheet (what a user's own script would do), and
prints pbr's time as a ratio of each:

- `pbr validate` of the last month, and of all months;
- `pbr calculate` of the last month, cold (an empty cache) and warm (history unchanged);
- `pbr report` of the first financial year;
- `pbr --help`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

READ_CALAMINE = """
import sys
from python_calamine import CalamineWorkbook
cells = 0
for path in sys.argv[1:]:
    wb = CalamineWorkbook.from_path(path)
    for name in wb.sheet_names:
        rows = wb.get_sheet_by_name(name).to_python()
        cells += sum(len(r) for r in rows)
print(cells)
"""
READ_PANDAS = """
import sys
import pandas as pd
for path in sys.argv[1:]:
    pd.read_excel(path, sheet_name=None, engine="openpyxl")
"""
PEAK = """
import resource, runpy, sys
args = sys.argv[1:]
try:
    if args[0] == "-c":
        sys.argv = ["-c", *args[2:]]
        exec(compile(args[1], "<benchmark>", "exec"), {"__name__": "__main__"})
    else:
        sys.argv = args
        runpy.run_module(args[0], run_name="__main__", alter_sys=True)
except SystemExit:
    pass
print(f"PEAK {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
"""


def measure(args: list[str], cwd: Path, env: dict, runs: int, before=None) -> tuple[float, int]:
    """(median seconds, peak MiB) of `python -c PEAK args...` in fresh processes."""
    times, peaks = [], []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", PEAK, *args], cwd=cwd, env=env,
                              capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        peak = [ln for ln in proc.stderr.splitlines() if ln.startswith("PEAK ")]
        if proc.returncode not in (0, 1) or not peak:
            raise SystemExit(f"{' '.join(args[:4])} failed:\n{proc.stderr[-2000:]}")
        peaks.append(int(peak[-1].split()[1]) // 1024)
    return statistics.median(times), max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="a folder made by benchmarks/national.py")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    out = args.out.resolve()
    returns = out / "returns" / "wigan-cohort"
    months = sorted(p.name for p in returns.iterdir() if p.is_dir())
    files = sorted(str(p) for p in returns.rglob("*.xlsx"))
    last = sorted(str(p) for p in (returns / months[-1]).glob("*.xlsx"))
    year = int(months[0][:4])
    cache = Path(tempfile.mkdtemp(prefix="pbr-bench-cache-"))
    env = dict(os.environ, PBR_CACHE=str(cache), PBR_LEDGER=str(out / "bench-ledger.sqlite"))

    def empty_cache() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    print(f"{len(files):,} files in {len(months)} months ({months[0]} to {months[-1]}); "
          f"{args.runs} run(s) each; median wall time, largest peak memory")
    rows = []

    def row(label: str, result: tuple[float, int], limit: float | None = None,
            plain: float | None = None) -> None:
        seconds, peak = result
        text = f"{label:<46} {seconds:8.2f} s {peak:7,} MiB"
        if limit:
            text += f"   {seconds / limit:5.2f}x the limit"
        if plain:
            text += f"   {plain / seconds:5.1f}x faster than pandas+openpyxl"
        rows.append(text)
        print(text, flush=True)

    limit_all = measure(["-c", READ_CALAMINE, *files], out, env, args.runs)
    row("limit: python-calamine, all months", limit_all)
    limit_last = measure(["-c", READ_CALAMINE, *last], out, env, args.runs)
    row("limit: python-calamine, last month", limit_last)
    plain_all = measure(["-c", READ_PANDAS, *files], out, env, 1)
    row("pandas read_excel (openpyxl), all months, 1 run", plain_all)
    pbr = ["pbr_cli"]
    row("pbr validate, last month (cold)",
        measure([*pbr, "validate", str(returns / months[-1]), "-m", "wigan-cohort"], out, env,
                args.runs, empty_cache), limit_last[0])
    row("pbr validate, all months (cold)",
        measure([*pbr, "validate", str(returns), "-m", "wigan-cohort"], out, env, args.runs,
                empty_cache), limit_all[0], plain_all[0])
    cold = measure([*pbr, "calculate", "-m", "wigan-cohort", "-p", months[-1], "--dry-run"],
                   out, env, args.runs, empty_cache)
    row("pbr calculate, last month, cold", cold, limit_all[0], plain_all[0])
    warm = measure([*pbr, "calculate", "-m", "wigan-cohort", "-p", months[-1], "--dry-run"],
                   out, env, args.runs)
    row("pbr calculate, last month, warm", warm)
    print(f"{'warm / cold':<46} {warm[0] / cold[0]:8.2f}")
    row(f"pbr report {year}/{(year + 1) % 100:02d} (warm)",
        measure([*pbr, "report", "-m", "wigan-cohort", "-p", f"{year}/{(year + 1) % 100:02d}",
                 "-o", str(out / "bench-report.xlsx")], out, env, args.runs))
    row("pbr --help", measure([*pbr, "--help"], out, env, max(args.runs, 5)))
    shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
