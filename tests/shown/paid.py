"""What pbr takes from each return, cell by cell: run as a subprocess,

    python -m tests.shown.paid [--register CSV] FILE...

prints one JSON object per file, one a line: its status and problems as `pbr validate` finds
them for the file alone, the provider and month its Cover gave, and every value pbr read
from the sheets it pays on, with the cell it came from. A file that stops the check (a
PbrError: an unknown model, say) is reported as refused with the error's code.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any


def _value(v: Any) -> dict[str, Any] | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, bool):
        return {"kind": "bool", "value": v}
    if isinstance(v, dt.datetime):
        return {"kind": "datetime", "value": v.isoformat()}
    if isinstance(v, dt.date):
        return {"kind": "date", "value": v.isoformat()}
    if isinstance(v, int | Decimal):
        return {"kind": "number", "value": str(v)}
    if isinstance(v, float):
        return {"kind": "number", "value": repr(v)}
    try:
        import pandas as pd
        if v is pd.NaT or (not isinstance(v, str) and pd.isna(v)):
            return None
    except (ImportError, TypeError, ValueError):
        pass
    return {"kind": "text", "value": str(v)}


def _checked(r) -> dict[str, Any]:
    values = []
    for sheet, table in r.tables.items():
        if "_row" not in getattr(table, "columns", ()):
            continue
        for column in table.columns:
            if column == "_row":
                continue
            letter = r.column_of(sheet, column)
            if letter is None:
                continue
            for row, v in zip(table["_row"], table[column], strict=True):
                values.append({"sheet": sheet, "cell": f"{letter}{int(row)}", "column": column,
                               "value": _value(v)})
    return {"file": r.path, "status": str(r.status.value if hasattr(r.status, "value")
                                          else r.status),
            "provider": r.provider, "month": str(r.month) if r.month else None,
            "problems": [p.as_dict() for p in r.problems], "values": values, "error": None}


def _refused(path: str, code: str, message: str) -> dict[str, Any]:
    return {"file": path, "status": "unusable", "provider": None, "month": None,
            "problems": [{"severity": "fatal", "code": code, "message": message, "cell": None,
                          "sheet": None, "row": None, "column": None}],
            "values": [], "error": None}


def check(files: list[Path], register: Path | None) -> list[dict[str, Any]]:
    from pbr_cli.cycle.config import load_config
    from pbr_cli.errors import PbrError
    from pbr_cli.jobs.validate import ModelChooser
    from pbr_cli.returns.collect import read_and_check

    cfg = load_config(None)
    choose = ModelChooser(cfg.models, register)
    try:
        batches = [read_and_check(files, None, None, None, None, choose)]
    except PbrError:  # one file stopped the batch: each on its own
        batches = []
        for f in files:
            try:
                batches.append(read_and_check([f], None, None, None, None, choose))
            except PbrError as e:
                print(json.dumps(_refused(str(f), e.code, str(e))), flush=True)
    out = []
    for collection in batches:
        for path in collection.nameless:
            out.append(_refused(path, "missing-cover", "no Cover naming the model"))
        for bad in collection.unreadable:
            p = bad.problem()
            out.append(_refused(bad.path, p.code, p.message))
        out.extend(_checked(r) for r in collection.returns)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--register", type=Path)
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    for result in check(args.files, args.register):
        print(json.dumps(result, default=str), flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
