"""The records of every return a client-level run read, kept joined in the cache.

A client-level month is worked out from every earlier month's records (the history): each
month's run would otherwise load every earlier return's cached form, one file each, and
number their clients' ids again — most of a monthly run's reading. So `pbr calculate`
keeps, beside each return's own entry, one entry for the model and register holding every
return it read as one set of columns: each record sheet's rows of every return end to end
(Excel row, client, day, group, episode start, whether each outcome's rule holds), the
clients' ids and groups each held once, and every return's cover facts and problems.

The next month's run takes from it every return whose key (pbr_cli.cache: the SHA-256 of its
bytes, path, month folder, model, register and pbr's code) is among the files it reads, and
reads or loads only the others: the new month's, and any earlier return changed since. A
changed return's key is another, so it alone is read again; the rest are taken as they were.
What is taken is what the return's own entry would give (tests/test_joined.py). The entry
is written again, holding what the run read, whenever the run read a return it does not
hold; a run that read fewer (an earlier month worked out again) leaves it as it is.

No Excel, no Typer, no rich: plain records in, plain records out.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from pbr_cli.cache import ReturnCache
from pbr_cli.memory import give_back_memory
from pbr_cli.returns.checked import CheckedReturn
from pbr_cli.returns.cohort_records import Interned

SHAPE = 1  # raised whenever what the entry holds changes shape
NUMBERS = ("row", "day", "start", "client", "group")  # a compact part's int32 columns


@dataclass
class Joined:
    """What a joined entry gives a run: the returns it holds that the run reads, by key,
    their records compacted with `clients` and `groups` (reopened: new ids are numbered on)."""

    clients: Interned
    groups: Interned
    returns: dict[str, CheckedReturn]
    members: frozenset[str]  # every key the entry holds


def load_joined(cache: ReturnCache, model, register, keys: set[str]) -> Joined | None:
    """The joined entry's returns among `keys`, or None where there is no entry, it holds
    none of them, or it cannot be read as one."""
    found = cache.get(cache.joined_key(model, register, SHAPE))
    try:
        return _unpack(found, keys) if found is not None else None
    except Exception:  # a damaged or foreign entry: read the returns one by one
        return None


def store_joined(cache: ReturnCache, model, register, members: list[tuple[str, CheckedReturn]],
                 clients: Interned, groups: Interned) -> None:
    """Keep `members` (key, return) joined, when every return's records were compacted with
    `clients` and `groups` (as read_and_check compacts them)."""
    packed = _pack(members, clients, groups)
    if packed is not None:
        cache.put(cache.joined_key(model, register, SHAPE), packed)
        del packed
        give_back_memory()  # what packing and pickling held (at national scale, tens of MiB)


def _pack(members: list[tuple[str, CheckedReturn]], clients: Interned,
          groups: Interned) -> dict[str, Any] | None:
    import numpy as np  # (here: a run of service-level returns never needs it)

    kinds: dict[str, dict[str, Any]] = {}
    covers: list[CheckedReturn] = []
    for at, (_, r) in enumerate(members):
        cover = copy.copy(r)
        cover.cohort = None
        covers.append(cover)
        for kind, part in (r.cohort or {}).items():
            if part.get("interned") != (clients, groups) or set(part) - {
                    *NUMBERS, "n", "holds", "interned"}:
                return None  # not as read_and_check compacts records: kept one by one only
            into = kinds.setdefault(kind, {"at": [], "n": [], "outcomes": sorted(part["holds"]),
                                           "holds": [], **{name: [] for name in NUMBERS}})
            if sorted(part["holds"]) != into["outcomes"]:
                return None  # each part of a sheet has every outcome of the sheet's rows
            into["at"].append(at)
            into["n"].append(part["n"])
            for name in NUMBERS:
                if name in part:
                    into[name].append(part[name])
            into["holds"].append(part["holds"])
    columns: dict[str, dict[str, Any]] = {}
    for kind, into in kinds.items():
        n = np.array(into["n"], np.int64)
        column: dict[str, Any] = {"at": np.array(into["at"], np.int64),
                                  "offsets": np.r_[0, np.cumsum(n)]}
        for name in NUMBERS:
            if into[name]:
                if len(into[name]) != len(n):
                    return None
                column[name] = np.concatenate(into[name]).astype(np.int32)
        # whether each outcome's rule holds, one byte a row
        column["holds"] = {name: b"".join(holds[name] for holds in into["holds"])
                           for name in into["outcomes"]}
        columns[kind] = column
    return {"shape": SHAPE, "keys": [key for key, _ in members], "covers": covers,
            "cohort": [r.cohort is not None for _, r in members], "columns": columns,
            "clients": clients.names, "groups": groups.names}


def _unpack(found: Any, keys: set[str]) -> Joined | None:
    if not isinstance(found, dict) or found.get("shape") != SHAPE:
        return None
    members: list[str] = found["keys"]
    covers: list[CheckedReturn] = found["covers"]
    if not (len(members) == len(covers) == len(found["cohort"])
            and all(isinstance(r, CheckedReturn) for r in covers)):
        return None
    wanted = [at for at, key in enumerate(members) if key in keys]
    if not wanted:
        return None
    clients, groups = Interned.of(found["clients"]), Interned.of(found["groups"])
    interned = (clients, groups)
    cohorts: dict[int, dict[str, Any]] = {at: {} for at in wanted if found["cohort"][at]}
    for kind, column in found["columns"].items():
        offsets = column["offsets"].tolist()
        if any(len(values) != offsets[-1] for values in (
                *column["holds"].values(), *(column[name] for name in NUMBERS if name in column))):
            return None  # every column as long as the rows it holds
        for i, at in enumerate(column["at"].tolist()):
            if at not in cohorts:
                continue
            lo, hi = offsets[i], offsets[i + 1]
            part: dict[str, Any] = {"n": hi - lo, "interned": interned, "holds": {}}
            for name in NUMBERS:
                if name in column:
                    part[name] = column[name][lo:hi]
            for name, blob in column["holds"].items():
                part["holds"][name] = blob[lo:hi]
            cohorts[at][kind] = part
    returns = {}
    for at in wanted:
        r = covers[at]
        r.cohort = cohorts.get(at)
        returns[members[at]] = r
    return Joined(clients, groups, returns, frozenset(members))
