"""Time pbr on a folder made by benchmarks/national.py, beside the raw readers' time.

    python benchmarks/run.py OUT [--runs 3] [--skip-pandas] [--skip-report]

Each measurement runs in a fresh process, RUNS times; it prints the median wall time and the
largest peak memory (max RSS). Beside pbr's commands it times, on the same files, the fastest
reader here (python-calamine, every sheet to Python values: the limit) and a plain pandas
`read_excel(engine="openpyxl")` of every sheet (what a user's own script would do), and
prints pbr's time as a ratio of each:

- `pbr validate` of the last month, and of all months (an empty cache);
- `pbr calculate` of the last month: cold (an empty cache: every file of the history is
  read and checked, as `pbr validate` would, then worked out), after `pbr validate` of all
  months (the monthly routine: validate, then calculate), and warm (the cache holds every
  earlier month, as the previous month's run left it: only the new month's files are read);
- the warm monthly routine: `pbr validate` of the new month, then `pbr calculate`, after the
  previous month's run, beside the same routine from cold (validate all, then calculate);
- `pbr report` of the first financial year (after the runs above);
- `pbr --help`.

The scheme is the one OUT/pbr.yaml names (`schemes: [...]`).
"""

from __future__ import annotations

import argparse
import os
import re
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
    parser.add_argument("--skip-pandas", action="store_true",
                        help="leave out the pandas+openpyxl read (minutes at national scale)")
    parser.add_argument("--skip-report", action="store_true")
    args = parser.parse_args()
    out = args.out.resolve()
    found = re.search(r"schemes:\s*\[\s*([\w.-]+)", (out / "pbr.yaml").read_text())
    if not found:
        raise SystemExit(f"{out / 'pbr.yaml'} names no scheme; make OUT with national.py")
    model = found.group(1)
    returns = out / "returns" / model
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
    plain = None
    if not args.skip_pandas:
        plain_all = measure(["-c", READ_PANDAS, *files], out, env, 1)
        row("pandas read_excel (openpyxl), all months, 1 run", plain_all)
        plain = plain_all[0]
    pbr = ["pbr_cli"]
    validate_all = [*pbr, "validate", str(returns), "-m", model]
    calculate = [*pbr, "calculate", "-m", model, "-p", months[-1], "--dry-run"]
    row("pbr validate, last month (cold)",
        measure([*pbr, "validate", str(returns / months[-1]), "-m", model], out, env,
                args.runs, empty_cache), limit_last[0])
    validated = measure(validate_all, out, env, args.runs, empty_cache)
    row("pbr validate, all months (cold)", validated, limit_all[0], plain)
    cold = measure(calculate, out, env, args.runs, empty_cache)
    row("pbr calculate, last month, cold", cold, limit_all[0], plain)

    def run_pbr(args: list[str]) -> None:
        subprocess.run([sys.executable, "-m", *args], cwd=out, env=env, capture_output=True,
                       check=False)

    def validate_first() -> None:
        empty_cache()
        run_pbr(validate_all)

    after = measure(calculate, out, env, args.runs, validate_first)
    row("pbr calculate, last month, after validate", after)
    both = (validated[0] + after[0], max(validated[1], after[1]))
    row("validate all + calculate, from cold", both, limit_all[0], plain)

    def previous_month_run() -> None:
        empty_cache()
        run_pbr([*pbr, "calculate", "-m", model, "-p", months[-2], "--dry-run"])

    warm = measure(calculate, out, env, args.runs, previous_month_run)
    row("pbr calculate, last month, warm (new month only)", warm)
    rows.append(f"{'warm / cold':<46} {warm[0] / cold[0]:8.2f}")
    print(rows[-1], flush=True)
    validate_new = [*pbr, "validate", str(returns / months[-1]), "-m", model]
    checked_new = measure(validate_new, out, env, args.runs, previous_month_run)
    row("pbr validate, new month (after last month's run)", checked_new)

    def new_month_validated() -> None:
        previous_month_run()
        run_pbr(validate_new)

    then = measure(calculate, out, env, args.runs, new_month_validated)
    row("pbr calculate, last month, after that", then)
    routine = (checked_new[0] + then[0], max(checked_new[1], then[1]))
    row("warm monthly routine: validate new + calculate", routine)
    rows.append(f"{'warm routine / routine from cold':<46} {routine[0] / both[0]:8.2f}")
    print(rows[-1], flush=True)
    if not args.skip_report:
        fy = f"{year}/{(year + 1) % 100:02d}"
        row(f"pbr report {fy} (warm)",
            measure([*pbr, "report", "-m", model, "-p", fy, "-o",
                     str(out / "bench-report.xlsx")], out, env, args.runs))
    row("pbr --help", measure([*pbr, "--help"], out, env, max(args.runs, 5)))
    shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
