"""Statements for every provider of a national month, beside the cold run.

    python benchmarks/statements.py OUT [--runs 1] [--providers N]

On a folder made by benchmarks/national.py, in fresh processes (run.py's `measure`): the cold
run (`pbr validate` of every month from an empty cache and ledger, then `pbr calculate` of
the last month, recorded as a draft), then `pbr statements` of the last month for every
provider paid (or the first N), a workbook and a PDF each, from the cache and ledger the
cold run left. It prints each time, the peak memory of pbr's process, the time a statement
and the statements' time as a ratio of the cold run (the target: below 1), and the machine's
load average as each step began and as the last ended (on a shared machine, compare the
ratio, not the times).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import measure, scheme_of  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="a folder made by benchmarks/national.py")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--providers", type=int, default=0,
                        help="only the first N providers' statements (default: every one)")
    args = parser.parse_args()
    out = args.out.resolve()
    model = scheme_of(out)
    returns = out / "returns" / model
    months = sorted(p.name for p in returns.iterdir() if p.is_dir())
    cache = Path(tempfile.mkdtemp(prefix="pbr-bench-cache-"))
    ledger = Path(tempfile.mkdtemp(prefix="pbr-bench-ledger-")) / "ledger.sqlite"
    folder = Path(tempfile.mkdtemp(prefix="pbr-bench-statements-"))
    env = dict(os.environ, PBR_CACHE=str(cache), PBR_LEDGER=str(ledger))

    def from_scratch() -> None:
        shutil.rmtree(cache, ignore_errors=True)
        for old in ledger.parent.glob("ledger.sqlite*"):
            old.unlink()
        shutil.rmtree(out / "out", ignore_errors=True)

    def validated() -> None:
        from_scratch()
        subprocess.run([sys.executable, "-m", "pbr_cli", "validate", str(returns), "-m", model],
                       cwd=out, env=env, capture_output=True, check=False)

    loads = [os.getloadavg()[0]]
    validate = measure(["pbr_cli", "validate", str(returns), "-m", model], out, env, args.runs,
                       from_scratch)
    calculate = measure(["pbr_cli", "calculate", "-m", model, "-p", months[-1]], out, env,
                        args.runs, validated)
    cold = validate[0] + calculate[0]
    loads.append(os.getloadavg()[0])
    listing = subprocess.run(
        [sys.executable, "-m", "pbr_cli", "calculate", "-m", model, "-p", months[-1],
         "--dry-run", "--json"], cwd=out, env=env, capture_output=True, text=True)
    paid = [p["provider"] for p in json.loads(listing.stdout)["providers"]]
    wanted = paid[:args.providers] if args.providers else []

    def statements_args() -> list[str]:
        return ["pbr_cli", "statements", "-m", model, "-p", months[-1], "-o", str(folder)]

    def clear() -> None:
        shutil.rmtree(folder, ignore_errors=True)

    if wanted:  # one command a provider would start pbr N times: time them as one
        start = time.perf_counter()
        peak = 0
        for code in wanted:
            clear()
            peak = max(peak, measure([*statements_args(), "--provider", code], out, env, 1)[1])
        made = (time.perf_counter() - start, peak)
        count = len(wanted)
    else:
        made = measure(statements_args(), out, env, args.runs, clear)
        count = len(list(folder.glob("*-statement.pdf")))
    loads.append(os.getloadavg()[0])
    written = len(list(folder.glob("*-statement.pdf")))
    if written < (1 if wanted else len(paid)):
        raise SystemExit(f"pbr statements stopped after {written} of {len(paid)} statements "
                         "(its crash report says why): no measure")
    print(f"{out.name}: cold run {cold:.2f} s (validate {validate[0]:.2f} s, {validate[1]:,} "
          f"MiB; calculate {calculate[0]:.2f} s, {calculate[1]:,} MiB)")
    print(f"pbr statements, {count} providers ({count} workbooks, {count} PDFs): "
          f"{made[0]:.2f} s, {made[1]:,} MiB; {made[0] / max(count, 1):.3f} s a statement; "
          f"{made[0] / cold:.2f} of the cold run")
    print("load average (1 minute) at the start, after the cold run, at the end: "
          + ", ".join(f"{x:.1f}" for x in loads))
    from_scratch()
    shutil.rmtree(ledger.parent, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
