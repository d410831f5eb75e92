"""How pbr's cold run grows with the size of a programme: the same run on sets made by
benchmarks/national.py at several sizes (1x, 2x, 4x the providers, so 2x and 4x the clients
and rows), side by side.

    python benchmarks/national.py /tmp/national                      # 200 providers
    python benchmarks/national.py /tmp/national-2x --providers 400
    python benchmarks/national.py /tmp/national-4x --providers 800
    python benchmarks/scaling.py /tmp/national /tmp/national-2x /tmp/national-4x [--runs 1]

For each set, in fresh processes (benchmarks/run.py's `measure`): python-calamine's read of
every sheet (the limit, and the row count), `pbr validate` of every month from an empty
cache, then `pbr calculate` of the last month (its schedule written and recorded in a ledger
of its own): the cold run. It prints each time, the time per million rows, the ratio to the
limit and the peak memory (max RSS), then how far each set's time per row is from the first's.
With --report, it then times `pbr report` of the set's first financial year from the cache
the cold run left (the report reads every return of the year and works out each month),
and prints its peak memory beside the cold run's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import READ_CALAMINE, measure, scheme_of  # noqa: E402

ROWS = """
import sys
from python_calamine import CalamineWorkbook
rows = 0
for path in sys.argv[1:]:
    wb = CalamineWorkbook.from_path(path)
    for name in wb.sheet_names:
        if name not in ("Cover", "Codes"):
            rows += max(len(wb.get_sheet_by_name(name).to_python()) - 1, 0)
print(rows)
"""


def count_rows(files: list[str]) -> int:
    import subprocess

    proc = subprocess.run([sys.executable, "-c", ROWS, *files], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", type=Path, nargs="+", help="folders made by national.py")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--report", action="store_true",
                        help="also `pbr report` of the first financial year, warm")
    args = parser.parse_args()
    results = []
    for out in (s.resolve() for s in args.sets):
        model = scheme_of(out)
        returns = out / "returns" / model
        months = sorted(p.name for p in returns.iterdir() if p.is_dir())
        files = sorted(str(p) for p in returns.rglob("*.xlsx"))
        rows = count_rows(files)
        cache = Path(tempfile.mkdtemp(prefix="pbr-scaling-cache-"))
        ledger = Path(tempfile.mkdtemp(prefix="pbr-scaling-ledger-")) / "ledger.sqlite"
        env = dict(os.environ, PBR_CACHE=str(cache), PBR_LEDGER=str(ledger))

        def from_scratch(cache=cache, ledger=ledger, out=out) -> None:
            shutil.rmtree(cache, ignore_errors=True)
            for old in ledger.parent.glob("ledger.sqlite*"):
                old.unlink()
            shutil.rmtree(out / "out", ignore_errors=True)

        def validated(from_scratch=from_scratch, returns=returns, model=model, out=out,
                      env=env) -> None:
            from_scratch()
            import subprocess

            subprocess.run([sys.executable, "-m", "pbr_cli", "validate", str(returns), "-m",
                            model], cwd=out, env=env, capture_output=True, check=False)

        limit = measure(["-c", READ_CALAMINE, *files], out, env, args.runs)
        validate = measure(["pbr_cli", "validate", str(returns), "-m", model], out, env,
                           args.runs, from_scratch)
        calculate = measure(["pbr_cli", "calculate", "-m", model, "-p", months[-1]], out, env,
                            args.runs, validated)
        cold = validate[0] + calculate[0]
        if args.report:
            first = int(months[0][:4]) - (int(months[0][5:]) < 4)
            year = f"{first}/{(first + 1) % 100:02d}"
            report = measure(["pbr_cli", "report", "-m", model, "-p", year, "-o",
                              str(out / "out" / "scaling-report.xlsx")], out, env, args.runs)
            print(f"{out.name}: pbr report {year} (warm) {report[0]:.2f} s, "
                  f"{report[1]:,} MiB", flush=True)
        results.append((out.name, len(files), rows, limit, validate, calculate, cold))
        print(f"{out.name}: {len(files):,} files, {rows:,} rows; limit {limit[0]:.2f} s; "
              f"validate {validate[0]:.2f} s ({validate[1]:,} MiB); calculate "
              f"{calculate[0]:.2f} s ({calculate[1]:,} MiB); cold run {cold:.2f} s = "
              f"{cold / limit[0]:.2f}x the limit, {cold / rows * 1e6:.2f} s a million rows",
              flush=True)
        from_scratch()
        shutil.rmtree(ledger.parent, ignore_errors=True)
    base = results[0][6] / results[0][2]
    print()
    print("| set | files | rows | limit | validate | calculate | cold run | × limit | "
          "s / million rows | against the first | peak memory |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, n, rows, limit, validate, calculate, cold in results:
        per = cold / rows
        print(f"| {name} | {n:,} | {rows:,} | {limit[0]:.2f} s | {validate[0]:.2f} s | "
              f"{calculate[0]:.2f} s | {cold:.2f} s | {cold / limit[0]:.2f} | {per * 1e6:.2f} | "
              f"{(per / base - 1) * 100:+.0f}% | {max(validate[1], calculate[1]):,} MiB |")


if __name__ == "__main__":
    main()
