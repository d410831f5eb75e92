"""Time pbr on a folder made by benchmarks/national.py, beside the raw readers' time.

    python benchmarks/run.py OUT [--runs 3] [--skip-pandas] [--skip-report]

Each measurement runs in a fresh process, RUNS times; it prints the median wall time and the
largest peak memory (max RSS). Beside pbr's commands it times, on the same files, the fastest
reader here (python-calamine, every sheet to Python values: the limit) and a plain pandas
`read_excel(engine="openpyxl")` of every sheet (what a user's own script would do), and
prints pbr's time as a ratio of each:

- `pbr validate` of the last month, and of all months (an empty cache);
- `pbr calculate` of the last month, writing its schedule and recording it in a ledger of
  its own: cold (an empty cache and ledger: every file of the history is read and checked,
  as `pbr validate` would, then worked out), and after `pbr validate` of all months;
- the monthly run after a year and a half of them: every earlier month calculated in turn
  and recorded, as the monthly runs leave the ledger and the cache; then `pbr calculate` of
  the last month alone, and `pbr validate` of the new month followed by `pbr calculate`
  (the warm monthly run), beside the same calculation with the cache emptied (every file
  read again and every recorded month worked out again for prior-period adjustments);
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


def scheme_of(out: Path) -> str:
    """The scheme a set made by benchmarks/national.py is of (its pbr.yaml's first)."""
    found = re.search(r"schemes:\s*(?:\[\s*)?([\w.-]+)", (out / "pbr.yaml").read_text())
    if not found:
        raise SystemExit(f"{out / 'pbr.yaml'} names no scheme; make OUT with national.py")
    return found.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="a folder made by benchmarks/national.py")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-pandas", action="store_true",
                        help="leave out the pandas+openpyxl read (minutes at national scale)")
    parser.add_argument("--skip-report", action="store_true")
    args = parser.parse_args()
    out = args.out.resolve()
    model = scheme_of(out)
    # A client-level (cohort) calculation reads every month; a service-level one its window.
    reads_all = re.search(r"^cohort:", (out / "models" / f"{model}.yaml").read_text(), re.M)
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
        text = f"{label:<52} {seconds:8.2f} s {peak:7,} MiB"
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
    ledger = Path(env["PBR_LEDGER"])

    outputs = out / "out"  # schedules (out/out/<model>/) and the run log, from pbr.yaml

    def empty_ledger() -> None:
        """The ledger, and the schedules and log lines that show it held runs."""
        for old in ledger.parent.glob(ledger.name + "*"):
            old.unlink()
        shutil.rmtree(outputs, ignore_errors=True)

    def from_scratch() -> None:
        empty_cache()
        empty_ledger()

    def run_pbr(args: list[str]) -> None:
        proc = subprocess.run([sys.executable, "-m", *args], cwd=out, env=env,
                              capture_output=True, text=True, check=False)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr[-2000:]}")

    validate_all = [*pbr, "validate", str(returns), "-m", model]
    validate_new = [*pbr, "validate", str(returns / months[-1]), "-m", model]
    calculate = [*pbr, "calculate", "-m", model, "-p", months[-1]]
    row("pbr validate, last month (cold)",
        measure(validate_new, out, env, args.runs, from_scratch), limit_last[0])
    validated = measure(validate_all, out, env, args.runs, from_scratch)
    row("pbr validate, all months (cold)", validated, limit_all[0], plain)
    cold = measure(calculate, out, env, args.runs, from_scratch)
    if reads_all:
        row("pbr calculate, last month, cold", cold, limit_all[0], plain)
    else:  # it reads its window's months, so the limit of all months is no yardstick
        row("pbr calculate, last month, cold (its window)", cold)

    def validate_first() -> None:
        from_scratch()
        run_pbr(validate_all)

    after = measure(calculate, out, env, args.runs, validate_first)
    row("pbr calculate, after validate", after)
    both = (validated[0] + after[0], max(validated[1], after[1]))
    row("validate all + calculate, from cold", both, limit_all[0], plain)

    # The state the previous months' runs leave: each month calculated in turn, its schedule
    # written and recorded (and approved: pbr.yaml says so) in the ledger, and the cache,
    # the schedules and the log as they left them.
    print(f"(calculating {months[0]} to {months[-2]} in turn, as monthly runs would ...)",
          flush=True)
    from_scratch()
    for month in months[:-1]:
        run_pbr([*pbr, "calculate", "-m", model, "-p", month])
    saved = Path(tempfile.mkdtemp(prefix="pbr-bench-state-"))
    shutil.copytree(cache, saved / "cache")
    shutil.copy2(ledger, saved / "ledger")
    shutil.copytree(outputs, saved / "outputs")

    def previous_months_run() -> None:
        from_scratch()
        shutil.copytree(saved / "cache", cache)
        shutil.copy2(saved / "ledger", ledger)
        shutil.copytree(saved / "outputs", outputs)

    def ledger_only() -> None:
        previous_months_run()
        empty_cache()

    recorded = f"{len(months) - 1} earlier months in the ledger"
    warm = measure(calculate, out, env, args.runs, previous_months_run)
    row(f"pbr calculate, warm ({recorded})", warm)
    checked_new = measure(validate_new, out, env, args.runs, previous_months_run)
    row("pbr validate, new month (after last month's run)", checked_new)

    def new_month_validated() -> None:
        previous_months_run()
        run_pbr(validate_new)

    then = measure(calculate, out, env, args.runs, new_month_validated)
    row("pbr calculate, after that", then)
    routine = (checked_new[0] + then[0], max(checked_new[1], then[1]))
    row("warm monthly run: validate new + calculate", routine)
    ratio = f"{routine[0] / both[0]:8.2f}"
    rows.append(f"{'warm run / validate + calculate from cold':<52} {ratio}")
    print(rows[-1], flush=True)
    cold_run = measure(calculate, out, env, args.runs, ledger_only)
    row(f"pbr calculate, cold ({recorded})", cold_run, limit_all[0], plain)
    ratio = f"{routine[0] / cold_run[0]:8.2f}"
    rows.append(f"{'warm run / the same run cold':<52} {ratio}")
    print(rows[-1], flush=True)
    shutil.rmtree(saved, ignore_errors=True)
    if not args.skip_report:
        fy = f"{year}/{(year + 1) % 100:02d}"
        row(f"pbr report {fy} (warm)",
            measure([*pbr, "report", "-m", model, "-p", fy, "-o",
                     str(out / "bench-report.xlsx")], out, env, args.runs))
    row("pbr --help", measure([*pbr, "--help"], out, env, max(args.runs, 5)))
    shutil.rmtree(cache, ignore_errors=True)
    empty_ledger()


if __name__ == "__main__":
    main()
