"""The contract register: commissioner-held facts (contract values, capacities, dates).

Read from CSV (or the first sheet of an xlsx) beside the model. Any mistake in it stops the
run (exit code 2) with every problem listed by file, row and column: payments must never be
worked out from a register pbr had to guess at.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pbr_cli.errors import PbrError
from pbr_cli.model.records import Model
from pbr_cli.periods import Month, days_active
from pbr_cli.returns.cells import convert, is_blank


@dataclass(frozen=True)
class Register:
    path: Path
    sha256: str
    entries: tuple[dict[str, Any], ...]  # typed values by column name
    key: str
    provider: str

    def entry(self, key: str) -> dict[str, Any] | None:
        return self._by_key.get(key)

    @property
    def _by_key(self) -> dict[str, dict[str, Any]]:
        cached = self.__dict__.get("_index")
        if cached is None:
            cached = {e[self.key]: e for e in self.entries}
            object.__setattr__(self, "_index", cached)
        return cached

    def providers(self) -> list[str]:
        return sorted({e[self.provider] for e in self.entries})

    def provider_entries(self, provider: str) -> list[dict[str, Any]]:
        return [e for e in self.entries if e[self.provider] == provider]


def entry_days(model: Model, entry: dict[str, Any], month: Month) -> int:
    """The days of the month the entry's contract is active (its start and end dates)."""
    start = entry.get(model.register.start) if model.register.start else None
    end = entry.get(model.register.end) if model.register.end else None
    return days_active(month, start, end)


def entry_active(model: Model, entry: dict[str, Any], month: Month) -> bool:
    return entry_days(model, entry, month) > 0


def provider_name(model: Model, register: Register, provider: str) -> str:
    if model.register.provider_name:
        for e in register.provider_entries(provider):
            return str(e.get(model.register.provider_name) or "")
    return ""


MAX_REGISTER_BYTES = 64 * 1024 * 1024  # a register is a few hundred rows; this is far beyond


def load_register(model: Model, path: Path | None = None) -> Register:
    path = Path(path or model.register.file)
    from pbr_cli.files import read_bounded

    try:
        raw = read_bounded(path, MAX_REGISTER_BYTES)
    except OSError as exc:
        raise PbrError(f"cannot read the contract register {path}: {exc.strerror}",
                       code="register-invalid") from None
    rows = _rows(path, raw)
    if not rows:
        raise PbrError(f"the contract register {path} is empty", code="register-invalid")
    spec = model.register
    headers = [" ".join(str(h or "").split()).casefold() for h in rows[0]]
    positions: dict[str, int] = {}
    problems: list[str] = []
    for col in spec.columns:
        for wanted in (col.header.casefold(), col.name.casefold()):
            if wanted in headers:
                positions[col.name] = headers.index(wanted)
                break
        else:
            problems.append(f"{path}: row 1: the column '{col.header}' is missing")
    entries = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if all(is_blank(v) for v in row):
            continue
        entry: dict[str, Any] = {}
        for col in spec.columns:
            if col.name not in positions:
                continue
            raw_value = row[positions[col.name]] if positions[col.name] < len(row) else None
            value, code, detail = convert(raw_value, col, model.codes, from_text=True)
            if code:
                problems.append(f"{path}: row {number}, {col.header}: {detail}")
            elif value is None and col.required:
                problems.append(f"{path}: row {number}, {col.header}: must be filled")
            elif value is not None and col.min is not None and value < col.min.evaluate(
                    model.values_on(model.start)):
                problems.append(f"{path}: row {number}, {col.header}: {value} is too small")
            entry[col.name] = value
        key = entry.get(spec.key)
        if str(key) in seen:
            problems.append(f"{path}: row {number}: {spec.key} '{key}' is already on row "
                            f"{seen[str(key)]}")
        seen[str(key)] = number
        start, end = entry.get(spec.start or ""), entry.get(spec.end or "")
        if isinstance(start, date) and isinstance(end, date) and end < start:
            problems.append(f"{path}: row {number}: the contract ends before it starts")
        entries.append(entry)
    if problems:
        shown = problems[:50] + ([f"... and {len(problems) - 50} more"] if len(problems) > 50 else [])
        raise PbrError(f"the contract register has {len(problems)} problem(s):\n  "
                       + "\n  ".join(shown), code="register-invalid")
    return Register(path, hashlib.sha256(raw).hexdigest(), tuple(entries), spec.key, spec.provider)


def _rows(path: Path, raw: bytes) -> list[list[Any]]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from pbr_cli.workbook.reader import read_workbook

        book = read_workbook(path)
        first = book.sheet_names[0]
        return book.sheets[first].rows
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PbrError(f"the contract register {path} is not UTF-8 text; save it as "
                       "'CSV UTF-8'", code="register-invalid") from None
    return [row for row in csv.reader(io.StringIO(text))]
