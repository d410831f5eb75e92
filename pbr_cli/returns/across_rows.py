"""The checks across a sheet's rows: a key twice, a register entry with no row, and the
model's checks over groups of rows (each kind's test and message are its own: GroupRule in
pbr_cli/model/kinds.py). Each says what it finds through `add`, as the cell checks do
(checks.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from pbr_cli.model.records import Model, Sheet
from pbr_cli.periods import Month
from pbr_cli.problems import Problem
from pbr_cli.returns.register import Register, entry_active
from pbr_cli.returns.rules import DuplicateRows, Entries

# add(problem code, message, sheet, row, column index, severity)
Add = Callable[..., None]


def duplicate_keys(spec: Sheet, frame: Any, positions: dict[str, int], add: Add) -> None:
    """A sheet's key (e.g. client and date) twice: the second row, naming the first."""
    if not spec.key or frame.empty:
        return
    key_cols = list(spec.key)
    keys = [k for k in zip(*(frame[c].tolist() for c in key_cols), strict=True)
            if None not in k]
    if len(set(keys)) == len(keys):
        return  # the usual case, found at once; the rows are walked only to say where
    say_duplicates(spec, ((v[:-1], v[-1]) for v in frame[[*key_cols, "_row"]].itertuples(
        index=False, name=None)), positions, add)


def say_duplicates(spec: Sheet, keyed_rows: Any, positions: dict[str, int], add: Add) -> None:
    """Each row (key, Excel row) whose whole key an earlier row had: the second row, naming
    the first (a key with a blank part is no key)."""
    key_cols = list(spec.key)
    first_seen: dict[tuple, int] = {}
    for key, row in keyed_rows:
        key = tuple(key)
        if any(v is None for v in key):
            continue
        if key in first_seen:
            shown = ", ".join(f"{spec.header(c)} {v}" for c, v in zip(key_cols, key, strict=True))
            add(DuplicateRows.TWICE.code, DuplicateRows.TWICE.text(
                shown=shown, first=first_seen[key]), spec.name, row, positions.get(key_cols[0]))
        else:
            first_seen[key] = row

def missing_entries(model: Model, register: Register, spec: Sheet, frame: Any, provider: str,
                    month: Month, add: Add) -> None:
    """A register entry active in the month with no row on the sheet."""
    reg = model.register
    assert spec.register_column is not None  # the model loader insists on it
    present = set(frame[spec.register_column.name].dropna())
    for entry in register.provider_entries(provider):
        if entry_active(model, entry, month) and entry[reg.key] not in present:
            label = f" ({entry[reg.label]})" if reg.label else ""
            add(Entries.NO_ROW.code, Entries.NO_ROW.text(noun=reg.entity, key=entry[reg.key],
                                                         label=label, month=month), spec.name)

def group_checks(model: Model, tables: dict[str, Any], problems: list[Problem], add: Add) -> None:
    """The model's checks over groups of rows (e.g. at least N rows per client)."""
    for check in model.checks:
        frame = tables.get(check.sheet)
        spec = model.sheet(check.sheet)
        if frame is None or frame.empty or spec is None:
            continue
        groups: dict[tuple, list[tuple[int, Any]]] = defaultdict(list)
        value_col = check.column
        # Rows with errors are already reported; counting them would only add noise.
        bad_rows = {p.row for p in problems if p.sheet == check.sheet and p.is_error}
        rows = frame["_row"].tolist()
        keys = zip(*(frame[c].tolist() for c in check.group_by), strict=True)
        values = frame[value_col].tolist() if value_col else [None] * len(rows)
        for key, row, value in zip(keys, rows, values, strict=True):
            if None in key or row in bad_rows:
                continue
            groups[key].append((row, value))
        rule = check.rule
        for key, rows in groups.items():
            message = rule.message(check, " ".join(str(v) for v in key), [v for _, v in rows])
            if message is not None:
                add(rule.code, message, check.sheet, min(r for r, _ in rows), None,
                    check.severity)
