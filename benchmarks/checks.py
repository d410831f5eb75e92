"""What checking a return costs, a column at a time (the default) and a cell at a time
(the reference the column checks are proved against, tests/test_column_checks.py).

    python benchmarks/checks.py OUT [--files 20] [--runs 7]

OUT is a set `benchmarks/national.py` wrote. The script reads the last FILES returns once,
then times `check_return` over them both ways, turn about, RUNS times, and prints the least
processor time a return each way and their ratio (the machine may be shared: the two are
measured back to back, so their ratio holds when the times do not).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pbr_cli.model import load_model  # noqa: E402
from pbr_cli.returns.checks import check_return  # noqa: E402
from pbr_cli.returns.folders import month_of_folder  # noqa: E402
from pbr_cli.returns.register import load_register  # noqa: E402
from pbr_cli.workbook.reader import read_workbook  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    model_file = next(p for p in (args.out / "models").glob("*.yaml"))
    model = load_model(model_file)
    register = load_register(model, model_file.with_suffix(".register.csv"))
    files = sorted((args.out / "returns").glob("*/*/*.xlsx"))[-args.files:]
    began = time.process_time()
    raws = [(read_workbook(f, [s.name for s in model.sheets]), month_of_folder(f))
            for f in files]
    read = (time.process_time() - began) / len(files)
    rows = sum(len(s.rows) - 1 for raw, _ in raws for s in raw.sheets.values()
               if s.name != "Cover") / len(raws)

    def timed(by_cell: bool) -> float:
        began = time.process_time()
        for raw, month in raws:
            check_return(raw, model, register, month, by_cell=by_cell)
        return (time.process_time() - began) / len(raws)

    best = {True: float("inf"), False: float("inf")}
    for _ in range(args.runs):
        for by_cell in (True, False):
            best[by_cell] = min(best[by_cell], timed(by_cell))
    print(f"{model.name}: {len(raws)} returns, {rows:.0f} rows each on average")
    print(f"  reading (once, for scale): {read * 1000:.2f} ms a return")
    print(f"  a cell at a time:   {best[True] * 1000:.2f} ms a return")
    print(f"  a column at a time: {best[False] * 1000:.2f} ms a return "
          f"({best[True] / best[False]:.1f}x faster)")


if __name__ == "__main__":
    main()
