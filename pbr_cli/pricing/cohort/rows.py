"""A cohort model's record sheets as columns: each sheet's usable rows from every return,
in date order, as arrays (history.py builds the episodes from them); `dense` numbers their
distinct rows.

Input: checked returns, their records already columns (returns/cohort_records.py, at check
time). A row with an error of its own is left out here; an opening caseload row joins the
presentations, marked as such.

No Excel, no Typer, no rich: plain records in, plain arrays out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pbr_cli.model.records import Model
from pbr_cli.returns.checked import CheckedReturn
from pbr_cli.returns.cohort_records import EVENT_OF, KINDS, OPENING, Interned, number, record_columns


class Rows:
    """One record sheet's usable rows from every return, in date order (then provider,
    client, file, row), as arrays: provider, client and file are codes (indexes into
    History.providers, .clients and .files)."""

    def __init__(self, parts: list[tuple[int, int, dict[str, Any]]], kind: str,
                 holds: list[str], clients: Interned):
        def cat(name: str) -> np.ndarray:
            if not parts:
                return np.zeros(0, np.int64)
            return np.concatenate([number(part, name) for _, _, part in parts])

        sizes = [part["n"] for _, _, part in parts]
        self.file = np.repeat(np.array([f for f, _, _ in parts], np.int64), sizes)
        self.provider = np.repeat(np.array([p for _, p, _ in parts], np.int64), sizes)
        self.row = cat("row")
        self.day = cat("day")
        self.start = cat("start") if kind == "discharges" else self.day
        self.opening = np.repeat(np.array([bool(part.get(OPENING)) for _, _, part in parts],
                                          bool), sizes)  # rows of an opening caseload
        # client: a code in `clients` (History numbers them again, in the order of the ids)
        self.client = (np.concatenate([_client_codes(part, clients) for _, _, part in parts])
                       if parts else np.zeros(0, np.int64))
        self.group = np.array([g for _, _, part in parts for g in _groups(part)], object)
        self.holds = {name: np.frombuffer(b"".join(part["holds"].get(name) or bytes(part["n"])
                                                   for _, _, part in parts), bool).copy()
                      for name in holds}

    def sort(self) -> None:
        """Into date order (then provider, client, file and row)."""
        order = np.lexsort((self.row, self.opening, self.file, self.client, self.provider,
                            self.day))
        for name in ("file", "provider", "row", "day", "start", "client", "group", "opening"):
            setattr(self, name, getattr(self, name)[order])
        self.holds = {k: v[order] for k, v in self.holds.items()}

    def __len__(self) -> int:
        return len(self.row)


def _client_codes(part: dict[str, Any], clients: Interned) -> np.ndarray:
    """A part's clients as codes in `clients`."""
    codes = part["client"]
    if not isinstance(codes, np.ndarray):  # ids as text (record_columns)
        return clients.code(codes)
    held = part["interned"][0]
    if held is clients:
        return codes.astype(np.int64)
    return clients.code([held.names[c] for c in codes.tolist()])


def _groups(part: dict[str, Any]) -> list[str]:
    """A part's groups as text."""
    groups = part["group"]
    if not isinstance(groups, np.ndarray):
        return groups
    names = part["interned"][1].names
    return [names[g] for g in groups.tolist()]


def dense(*columns: np.ndarray | tuple[np.ndarray, ...]) -> np.ndarray:
    """Codes 0..k-1 for the distinct rows of the given integer columns, in their order. A
    column given as a tuple of arrays is those arrays one after another.

    Made in place over one array of codes (at national scale a column is millions of rows,
    and numpy's unique would hold five such arrays at once: docs/scale.md, Memory)."""
    n = sum(len(part) for part in columns[0]) if isinstance(columns[0], tuple) else len(columns[0])
    code = np.zeros(n, np.int64)
    if not n:
        return code
    size = 1  # how many values code can take
    for column in columns:
        parts = column if isinstance(column, tuple) else (column,)
        low = min(int(part.min()) for part in parts if len(part))
        high = max(int(part.max()) for part in parts if len(part))
        if size * (high - low + 1) >= 2 ** 62:  # too many to number at once: renumber first
            _ranks(code)
            size = int(code.max()) + 1
        code *= high - low + 1
        at = 0
        for part in parts:
            code[at:at + len(part)] += part
            at += len(part)
        code -= low
        size *= high - low + 1
    return _ranks(code)


def _ranks(code: np.ndarray) -> np.ndarray:
    """Each value of `code` replaced, in place, by its rank among the distinct values."""
    order = np.argsort(code)  # (a rank needs no stable order: equal values share one)
    ordered = code[order]
    new = np.empty(len(code), bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    np.cumsum(new, dtype=np.int64, out=ordered)
    del new
    ordered -= 1
    code[order] = ordered
    return code


def gather(model: Model, returns: list[CheckedReturn], providers: dict[str, int],
           openings_only: frozenset[str] = frozenset(),
           clients: Interned | None = None) -> dict[str, Rows]:
    """Each record sheet's rows from every return, leaving out rows with errors; of the
    returns named in `openings_only` (a later month's), only the opening caseload. Clients
    are codes in `clients` (new ids added to it)."""
    clients = Interned() if clients is None else clients

    cohort = model.cohort
    assert cohort is not None
    parts: dict[str, list[tuple[int, int, dict[str, Any]]]] = {kind: [] for kind in KINDS}
    for f, r in enumerate(returns):
        columns = r.cohort if r.cohort is not None else record_columns(model, r)
        for kind, part in columns.items():
            ref = getattr(cohort, kind, None)
            if ref is None or (r.path in openings_only and kind != OPENING):
                continue
            bad = {p.row for p in r.problems
                   if p.sheet == ref.sheet and p.is_error and p.row is not None}
            if bad:
                part = _without(part, bad)
            if part["n"]:
                if kind == OPENING:
                    part, kind = {**part, OPENING: True}, "presentations"
                parts[kind].append((f, providers[r.provider or ""], part))
    return {kind: Rows(parts[kind], kind, [o.name for o in cohort.outcomes
                                           if o.event == EVENT_OF.get(kind)], clients)
            for kind in KINDS}


def _without(part: dict[str, Any], bad: set[int]) -> dict[str, Any]:
    """record_columns' (or compact's) part without the given Excel rows."""
    keep = ~np.isin(number(part, "row"), list(bad))
    out: dict[str, Any] = {**part, "n": int(keep.sum())}
    for name in ("client", "group"):
        values = part[name]
        out[name] = (values[keep] if isinstance(values, np.ndarray) else
                     [v for v, ok in zip(values, keep.tolist(), strict=True) if ok])
    for name in ("row", "day", "start"):
        if name in part:
            kept = number(part, name)[keep]
            out[name] = kept.tobytes() if isinstance(part[name], bytes) else kept
    out["holds"] = {k: np.frombuffer(v, bool)[keep].tobytes() for k, v in part["holds"].items()}
    return out
