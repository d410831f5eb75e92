"""Client-level cohort rules: episodes, rolling proportions, bands, events, tariff and cap.

Input: a model's `cohort` rules and checked returns (every month since the scheme start, every
provider, because re-presentation counts anywhere). Output: episodes, with the problems that
only show across files (a discharge without an episode, overlapping episodes...), and for one
period month the events each provider earned, each with the proportion, window and band that
priced it. Proportions are exact Fractions, compared exactly with the band bounds; each event
is rounded half-up to the penny, and a payment line is the sum of its events.

No Excel, no Typer, no rich: plain records in, plain records out.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from pbr_cli.cohort_records import (  # noqa: F401 (re-exported)
    _EVENT_OF,
    KINDS,
    OPENING,
    record_columns,
    rule_holds,
)
from pbr_cli.model.records import Band, Model, Outcome
from pbr_cli.money import format_money, format_percent, round_pence
from pbr_cli.payment_records import NIL, REFUSED, Evidence, Source  # noqa: F401 (re-exported)
from pbr_cli.payment_records import PAID_EVENT as PAID
from pbr_cli.periods import Month, Window, financial_year_label, financial_year_start
from pbr_cli.problems import ERROR, WARNING, Problem
from pbr_cli.returns.checks import CheckedReturn

_DAYS = date.max.toordinal() + 2  # more than any day ordinal: (code, day) pairs as one number
_OPEN = date.max.toordinal()  # the end of an episode still open
_NONE = -1  # no record, no day
_EPOCH = date(1970, 1, 1).toordinal()


def add_months(day: date, months: int) -> date:
    """Calendar months later (or earlier); the day is clipped to the month's end, so
    31 August + 6 months is 28 February (29 in a leap year)."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def add_months_to(days, months: int):
    """add_months over an array of day ordinals (all real days), as day ordinals."""
    import numpy as np

    day = (np.asarray(days, np.int64) - _EPOCH).astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    into = (day - month.astype("datetime64[D]")).astype(np.int64)  # 0 on the 1st
    target = month + months
    first = target.astype("datetime64[D]")
    length = ((target + 1).astype("datetime64[D]") - first).astype(np.int64)
    return (first + np.minimum(into, length - 1)).astype(np.int64) + _EPOCH


def _month_numbers(days):
    """Months since January 1970 of an array of day ordinals."""
    import numpy as np

    return (np.asarray(days, np.int64) - _EPOCH).astype("datetime64[D]").astype(
        "datetime64[M]").astype(np.int64)


def _month_number(month: Month) -> int:
    return (month.year - 1970) * 12 + month.month - 1


def _iso(day: int) -> str:
    return date.fromordinal(int(day)).isoformat()


# -- each return's rows, as columns: pbr_cli/cohort_records.py (worked out at check time) --

class _Rows:
    """One record sheet's usable rows from every return, in date order (then provider,
    client, file, row), as arrays: provider, client and file are codes (indexes into
    History.providers, .clients and .files)."""

    def __init__(self, parts: list[tuple[int, int, dict[str, Any]]], kind: str,
                 holds: list[str]):
        import numpy as np

        def cat(name: str):
            return np.frombuffer(b"".join(part[name] for _, _, part in parts), np.int64).copy()

        sizes = [part["n"] for _, _, part in parts]
        self.file = np.repeat(np.array([f for f, _, _ in parts], np.int64), sizes)
        self.provider = np.repeat(np.array([p for _, p, _ in parts], np.int64), sizes)
        self.row = cat("row")
        self.day = cat("day")
        self.start = cat("start") if kind == "discharges" else self.day
        self.opening = np.repeat(np.array([bool(part.get(OPENING)) for _, _, part in parts],
                                          bool), sizes)  # rows of an opening caseload
        self.client_names = [c for _, _, part in parts for c in part["client"]]
        self.group = np.array([g for _, _, part in parts for g in part["group"]], object)
        self.holds = {name: np.frombuffer(b"".join(part["holds"].get(name) or bytes(part["n"])
                                                   for _, _, part in parts), bool).copy()
                      for name in holds}
        self.client = np.zeros(len(self.row), np.int64)  # set by History

    def sort(self) -> None:
        """Into date order (then provider, client, file and row)."""
        import numpy as np

        order = np.lexsort((self.row, self.opening, self.file, self.client, self.provider,
                            self.day))
        for name in ("file", "provider", "row", "day", "start", "client", "group", "opening"):
            setattr(self, name, getattr(self, name)[order])
        self.holds = {k: v[order] for k, v in self.holds.items()}

    def __len__(self) -> int:
        return len(self.row)


def _dense(*columns):
    """Codes 0..k-1 for the distinct rows of the given integer columns, in their order."""
    import numpy as np

    code = np.zeros(len(columns[0]), np.int64)
    if not len(code):
        return code
    size = 1  # how many values code can take
    for column in columns:
        column = np.asarray(column, np.int64)
        low, high = int(column.min()), int(column.max())
        if size * (high - low + 1) >= 2 ** 62:  # too many to number at once: renumber first
            code = np.unique(code, return_inverse=True)[1].astype(np.int64).reshape(-1)
            size = int(code.max()) + 1
        code = code * (high - low + 1) + (column - low)
        size *= high - low + 1
    return np.unique(code, return_inverse=True)[1].astype(np.int64).reshape(-1)


class History:
    """Every episode, from the records of every return given, as arrays in episode order
    (provider, start, client); with the problems only seen across files."""

    def __init__(self, model: Model, returns: list[CheckedReturn], tables: dict[str, _Rows],
                 providers: list[str], clients: list[str]):
        self.model, self.files, self.tables = model, returns, tables
        self.providers, self.clients = providers, clients
        self.problems: list[Problem] = []
        # built by _episodes (build_history calls it once): the episodes as arrays, the
        # review rows by episode, and every presentation pbr knows of by client and day
        self.episodes: dict[str, Any] = {}
        self.reviews: Any = None
        self.review_owner: Any = None
        self.known_day: Any = None
        self.known_provider: Any = None
        self.by_client: Any = None
        self.client_day: Any = None
        self.sheets = {kind: getattr(model.cohort, kind) for kind in (*KINDS, OPENING)}
        self.letters = {kind: [r.column_of(ref.sheet, ref.date) if ref else None
                               for r in returns] for kind, ref in self.sheets.items()}

    def _kind(self, kind: str, i: int) -> str:
        """The sheet a row came from: a presentation may be a row of the opening caseload."""
        return OPENING if kind == "presentations" and self.tables[kind].opening[i] else kind

    def source(self, kind: str, i: int) -> Source:
        rows = self.tables[kind]
        f = int(rows.file[i])
        kind = self._kind(kind, i)
        return Source(self.files[f].path, self.sheets[kind].sheet, int(rows.row[i]),
                      self.letters[kind][f])

    def problem(self, kind: str, i: int, code: str, message: str, column: str | None = None,
                severity: str = ERROR) -> Problem:
        rows = self.tables[kind]
        r = self.files[int(rows.file[i])]
        kind = self._kind(kind, i)
        sheet = self.sheets[kind].sheet
        letter = (r.column_of(sheet, column) if column
                  else self.letters[kind][int(rows.file[i])])
        return Problem(r.path, severity, code, f"client {self.clients[rows.client[i]]}: "
                       f"{message}", sheet, int(rows.row[i]), letter)


def _gather(model: Model, returns: list[CheckedReturn], providers: dict[str, int]):
    """Each record sheet's rows from every return, leaving out rows with errors."""

    cohort = model.cohort
    assert cohort is not None
    parts: dict[str, list] = {kind: [] for kind in KINDS}
    for f, r in enumerate(returns):
        columns = r.cohort if r.cohort is not None else record_columns(model, r)
        for kind, part in columns.items():
            ref = getattr(cohort, kind, None)
            if ref is None:
                continue
            bad = {p.row for p in r.problems if p.sheet == ref.sheet and p.is_error}
            if bad:
                part = _without(part, bad)
            if part["n"]:
                if kind == OPENING:
                    part, kind = {**part, OPENING: True}, "presentations"
                parts[kind].append((f, providers[r.provider or ""], part))
    return {kind: _Rows(parts[kind], kind, [o.name for o in cohort.outcomes
                                           if o.event == _EVENT_OF.get(kind)])
            for kind in KINDS}


def _without(part: dict[str, Any], bad: set[int]) -> dict[str, Any]:
    """record_columns' part without the given Excel rows."""
    import numpy as np

    keep = ~np.isin(np.frombuffer(part["row"], np.int64), list(bad))
    out: dict[str, Any] = {"n": int(keep.sum())}
    for name in ("client", "group"):
        out[name] = [v for v, ok in zip(part[name], keep.tolist(), strict=True) if ok]
    for name in ("row", "day", "start"):
        if name in part:
            out[name] = np.frombuffer(part[name], np.int64)[keep].tobytes()
    out["holds"] = {k: np.frombuffer(v, bool)[keep].tobytes() for k, v in part["holds"].items()}
    return out


def build_history(model: Model, returns: Iterable[CheckedReturn],
                  covered: dict[str, set[Month]], report_assumed: bool = True) -> History:
    """Episodes from every return given; `covered` says which months of each provider's
    records are present, so that a check needing a missing month is not made.

    A presentation starts an episode; a discharge closes the episode of its client at its
    provider that started on its episode start (with no such presentation in a month that
    is present, it is an error; in a missing month, the episode is assumed); a review
    belongs to the latest episode it falls in."""
    import numpy as np
    import pandas as pd

    cohort = model.cohort
    assert cohort is not None
    files = sorted((r for r in returns if r.provider is not None), key=lambda r: r.path)
    provider_names = sorted({r.provider for r in files if r.provider is not None})
    tables = _gather(model, files, {p: i for i, p in enumerate(provider_names)})
    everyone = [c for kind in KINDS for c in tables[kind].client_names]
    codes, uniques = pd.factorize(np.array(everyone, dtype=object))
    # in the order of the ids (as Python orders strings: by code point)
    # (numpy strings drop a trailing NUL: then sort them as Python objects)
    order = (np.argsort(uniques, kind="stable") if "\x00" in "".join(uniques)
             else np.argsort(np.array(uniques, dtype=str), kind="stable"))
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    codes, uniques = rank[codes], uniques[order]
    at = 0
    for kind in KINDS:
        rows = tables[kind]
        rows.client = codes[at:at + len(rows)].astype(np.int64)
        at += len(rows)
        rows.client_names = []
        rows.sort()
    history = History(model, files, tables, provider_names, list(uniques))
    _episodes(history, covered, report_assumed)
    return history


def _covered_array(history: History, covered: dict[str, set[Month]]):
    """(provider code, month number) of the months present, as sorted numbers."""
    import numpy as np

    return np.unique(np.array([i * 100_000 + _month_number(m)
                               for i, p in enumerate(history.providers)
                               for m in covered.get(p, ())], np.int64))


def _episodes(h: History, covered: dict[str, set[Month]], report_assumed: bool) -> None:
    import numpy as np

    cohort = h.model.cohort
    assert cohort is not None
    P, D, R = h.tables["presentations"], h.tables["discharges"], h.tables["reviews"]
    n_p, n_d = len(P), len(D)
    present = _covered_array(h, covered)
    start_month = _month_number(Month.of(h.model.start))
    # all_covered(provider, until): every month from the scheme start to until's is present
    first_missing = np.empty(len(h.providers), np.int64)
    for i, p in enumerate(h.providers):
        m, months = start_month, {_month_number(x) for x in covered.get(p, ())}
        while m in months:
            m += 1
        first_missing[i] = m
    found: list[tuple[tuple, Problem]] = []  # (order, problem): sorted at the end

    # -- discharges: each closes the episode its start names -------------------------------
    key = _dense(np.concatenate([P.provider, D.provider]),
                 np.concatenate([P.client, D.client]), np.concatenate([P.day, D.start]))
    key_p, key_d = key[:n_p], key[n_p:]
    first_p = np.full(int(key.max()) + 1 if len(key) else 0, _NONE, np.int64)
    unique, index = np.unique(key_p, return_index=True)
    first_p[unique] = index
    order = np.argsort(key_d, kind="stable")
    new_run = np.r_[True, key_d[order][1:] != key_d[order][:-1]] if n_d else np.zeros(0, bool)
    run = np.cumsum(new_run) - 1
    run_start = np.flatnonzero(new_run)
    rank, first_d = np.empty(n_d, np.int64), np.empty(n_d, np.int64)
    rank[order] = np.arange(n_d) - run_start[run]
    first_d[order] = order[run_start][run]
    matched = first_p[key_d] if n_d else np.zeros(0, np.int64)
    start_present = np.isin(D.provider * 100_000 + _month_numbers(D.start), present)
    assumed = (matched < 0) & ~start_present & (rank == 0)
    # episodes: one a presentation, then one a discharge whose presentation is not among
    # the returns
    ep_pres = np.r_[np.arange(n_p), np.full(int(assumed.sum()), _NONE)]
    ep_dis = np.full(len(ep_pres), _NONE, np.int64)
    closes = (matched >= 0) & (rank == 0)
    ep_dis[matched[closes]] = np.flatnonzero(closes)
    ep_dis[n_p:] = np.flatnonzero(assumed)
    ep = {
        "provider": np.r_[P.provider, D.provider[assumed]],
        "client": np.r_[P.client, D.client[assumed]],
        "start": np.r_[P.day, D.start[assumed]],
        "group": np.r_[P.group, D.group[assumed]],
        "tie": np.r_[np.arange(n_p), n_p + np.flatnonzero(assumed)],
        "opening": np.r_[P.opening, np.zeros(int(assumed.sum()), bool)],
        "pres": ep_pres,
        "dis": ep_dis,
    }
    ep["end"] = np.where(ep_dis >= 0, _take(D.day, ep_dis), _OPEN)
    start_col = cohort.discharges.episode_start or ""
    group_col = cohort.group
    was = P.group[np.maximum(matched, 0)] if n_p else np.full(n_d, "", object)
    changed = closes & (D.group != "") & (was != "") & (was != D.group)
    for d in np.flatnonzero((rank > 0) | ((matched < 0) & start_present) | changed):
        start = _iso(D.start[d])
        if rank[d] > 0 and (matched[d] >= 0 or not start_present[d]):
            first = int(first_d[d])
            source = h.source("discharges", first)
            problem = h.problem("discharges", d, "episode-already-discharged", f"the episode "
                                f"that started on {start} was already discharged on "
                                f"{_iso(D.day[first])} ({source.cell} of {source.file})",
                                start_col)
        elif matched[d] < 0:
            problem = h.problem("discharges", d, "discharge-without-episode", f"no presentation "
                                f"on {start} (the episode start) at "
                                f"{h.providers[D.provider[d]]}", start_col)
        else:
            group = P.group[matched[d]]
            problem = h.problem("discharges", d, "group-changed", f"{group_col} {D.group[d]} "
                                f"here, but {group} when the episode started on {start}",
                                group_col)
        found.append(((1, int(d)), problem))
    if report_assumed:
        scheme_start = h.model.start.toordinal()
        for d in np.flatnonzero(assumed):
            before = int(D.start[d]) < scheme_start
            found.append(((1, int(d)), h.problem(
                "discharges", d, "episode-assumed", (
                    f"the episode started on {_iso(D.start[d])}, before the scheme, and is "
                    f"not in {h.providers[D.provider[d]]}'s opening caseload; it is taken from "
                    "this discharge" if before and cohort.opening else
                    f"no return for {Month.of(date.fromordinal(int(D.start[d])))} to show the "
                    f"presentation on {_iso(D.start[d])}; the episode is taken from this "
                    "discharge"), start_col, WARNING)))

    # -- each client's episodes at a provider, in start order ------------------------------
    n_e = len(ep_pres)
    pc = _dense(np.r_[ep["provider"], R.provider, D.provider],
                np.r_[ep["client"], R.client, D.client])
    ep["pc"], review_pc, discharge_pc = pc[:n_e], pc[n_e:n_e + len(R)], pc[n_e + len(R):]
    in_list = np.lexsort((ep["tie"], ep["start"], ep["pc"]))  # each pc's episodes, in order
    position = np.empty(n_e, np.int64)
    position[in_list] = np.arange(n_e)
    # the order pbr first met each (provider, client): at a presentation, else a discharge
    met = np.full(int(pc.max()) + 1 if len(pc) else 0, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(met, ep["pc"][:n_p], np.arange(n_p))
    np.minimum.at(met, discharge_pc, n_p + np.arange(n_d))
    before, after = in_list[:-1], in_list[1:]
    overlap = ((ep["pc"][before] == ep["pc"][after]) & (ep["pres"][after] >= 0)
               & (ep["end"][before] > ep["start"][after]))
    for b, a in zip(before[overlap], after[overlap], strict=True):
        still = _still(ep["end"][b])
        if ep["opening"][a] and ep["pres"][b] >= 0 and ep["start"][b] == ep["start"][a]:
            source = h.source("presentations", ep["pres"][b])
            message = (f"the episode that started on {_iso(ep['start'][a])} is already in the "
                       f"opening caseload ({source.cell} of {source.file})")
        else:
            message = (f"presents again at {h.providers[ep['provider'][a]]} on "
                       f"{_iso(ep['start'][a])}, but the episode that started on "
                       f"{_iso(ep['start'][b])} {still}; discharge it first")
        found.append(((2, int(met[ep["pc"][a]]), int(position[a])), h.problem(
            "presentations", ep["pres"][a], "overlapping-episodes", message)))
    found += _two_providers(h, ep, met, position, covered)

    # -- reviews: each belongs to the latest episode it falls in ---------------------------
    at_key = ep["pc"][in_list] * _DAYS + ep["start"][in_list]
    high = np.searchsorted(at_key, review_pc * _DAYS + R.day, "right")
    low = np.searchsorted(at_key, review_pc * _DAYS, "left")
    owner = np.full(len(R), _NONE, np.int64)
    k = high - 1
    while True:
        looking = (owner < 0) & (k >= low)
        if not looking.any():
            break
        candidate = in_list[np.where(looking, k, 0)]
        hit = looking & (ep["end"][candidate] >= R.day)
        owner[hit] = candidate[hit]
        k = k - 1
    outside = owner < 0
    all_present = _month_numbers(R.day) < first_missing[R.provider]
    for i in np.flatnonzero(outside & (all_present | report_assumed)):
        if all_present[i]:
            hint = ("; a client in treatment when the scheme started belongs in the opening "
                    "caseload" if cohort.opening is not None and low[i] == high[i] else "")
            problem = h.problem("reviews", i, "review-outside-episode", f"the review on "
                                f"{_iso(R.day[i])} is outside every episode at "
                                f"{h.providers[R.provider[i]]}{hint}")
        else:
            problem = h.problem("reviews", i, "record-left-out", "no episode is known for this "
                                "review (a month's return is missing); it is left out", None,
                                WARNING)
        found.append(((4, int(i)), problem))
    owned = np.flatnonzero(~outside)
    was = ep["group"][owner[owned]]
    said = R.group[owned]
    for i in owned[(said != "") & (was != "") & (said != was)]:
        group = ep["group"][owner[i]]
        start = _iso(ep["start"][owner[i]])
        found.append(((4, int(i)), h.problem(
            "reviews", i, "group-changed", f"{group_col} {R.group[i]} here, but {group} "
            f"when the episode started on {start}", group_col)))

    # -- episode order: provider, start, client ---------------------------------------------
    final = np.lexsort((position, ep["client"], ep["start"], ep["provider"]))
    renumber = np.empty(n_e, np.int64)
    renumber[final] = np.arange(n_e)
    h.episodes = {name: ep[name][final] for name in
                  ("provider", "client", "start", "end", "group", "pres", "dis", "opening")}
    # (with no episode at all, every review is outside: nothing to renumber)
    owner_final = (np.where(owner >= 0, renumber[np.maximum(owner, 0)], _NONE) if n_e
                   else np.full(len(R), _NONE, np.int64))
    reviewed = np.flatnonzero(owner_final >= 0)
    by_owner = reviewed[np.argsort(owner_final[reviewed], kind="stable")]
    h.reviews = by_owner  # review rows, by episode (then date order)
    h.review_owner = owner_final[by_owner]
    if h.model.cohort.client_case == "distinct":
        found += _case_twins(h, P)
    h.problems = [p for _, p in sorted(found, key=lambda t: t[0])]
    # Every presentation pbr knows of, by client, then day (then row): the presentations'
    # rows, then the starts of episodes known only from a discharge (their presentation's
    # month has no return, or came before the scheme began). The anti-churn rule and the
    # follow-up's "no re-presentation" look at all of them, wherever pbr learnt of them.
    known_client = np.r_[P.client, D.client[assumed]]
    h.known_day = np.r_[P.day, D.start[assumed]]
    h.known_provider = np.r_[P.provider, D.provider[assumed]]
    h.by_client = np.lexsort((np.arange(len(h.known_day)), h.known_day, known_client))
    h.client_day = known_client[h.by_client] * _DAYS + h.known_day[h.by_client]


def _case_twins(h: History, P) -> list:
    """Client ids that differ only in case (C100, c100): two clients, as the model says, but
    probably one typed twice; a warning at the first presentation of the later spelling."""
    import numpy as np

    folded = list(map(str.casefold, h.clients))
    out: list = []
    if len(set(folded)) == len(folded):  # the usual case: no two ids differ only in case
        return out
    first: dict[str, int] = {}
    for index, name in enumerate(h.clients):
        other = first.setdefault(name.casefold(), index)
        if other == index:
            continue
        rows = np.flatnonzero(P.client == index)
        if len(rows):
            out.append(((5, int(rows[0])), h.problem(
                "presentations", int(rows[0]), "ids-differ-in-case",
                f"this id and '{h.clients[other]}' differ only in case; they are taken as two "
                "clients (the model's cohort.client_case: same makes them one)",
                h.model.cohort.client, severity=WARNING)))
    return out


def _take(values, index):
    """values[index] where index is a row (>= 0), else _NONE."""
    import numpy as np

    index = np.asarray(index, np.int64)
    if not len(values):
        return np.full(len(index), _NONE, np.int64)
    return np.where(index >= 0, values[np.maximum(index, 0)], _NONE)


def _still(end: int) -> str:
    return "is still open" if end == _OPEN else f"ran to {_iso(end)}"


def _two_providers(h: History, ep: dict[str, Any], met, position,
                   covered: dict[str, set[Month]]) -> list[tuple[tuple, Problem]]:
    """A client who presents to one provider while an episode at another is still open."""
    import numpy as np

    found: list[tuple[tuple, Problem]] = []
    n = len(ep["client"])
    if not n:
        return found
    by_client = np.lexsort((ep["provider"], ep["client"]))
    client, provider = ep["client"][by_client], ep["provider"][by_client]
    edges = np.flatnonzero(np.r_[True, client[1:] != client[:-1], True])
    starts, ends = edges[:-1], edges[1:]
    several = provider[starts] != provider[ends - 1]
    for lo, hi in zip(starts[several].tolist(), ends[several].tolist(), strict=True):
        mine = by_client[lo:hi]
        mine = mine[np.lexsort((position[mine], ep["provider"][mine], ep["start"][mine]))]
        rank = int(min(met[ep["pc"][mine]]))
        for i, a in enumerate(mine):
            if ep["pres"][a] < 0:
                continue
            for b in mine[:i]:
                if ep["provider"][b] == ep["provider"][a] or ep["start"][b] >= ep["start"][a]:
                    continue
                if ep["end"][b] != _OPEN and ep["end"][b] <= ep["start"][a]:
                    continue
                if ep["end"][b] == _OPEN and not _all_covered(
                        covered, h.providers[ep["provider"][b]], ep["start"][b], ep["start"][a]):
                    continue  # its discharge may be in a month not among the files
                found.append(((3, rank, i), h.problem(
                    "presentations", ep["pres"][a], "client-at-two-providers", f"presents to "
                    f"{h.providers[ep['provider'][a]]} on {_iso(ep['start'][a])}, but their "
                    f"episode at {h.providers[ep['provider'][b]]} that started on "
                    f"{_iso(ep['start'][b])} {_still(ep['end'][b])} (two providers treating "
                    "one client, or one id used for two people)", None, WARNING)))
                break
    return found


def _all_covered(covered: dict[str, set[Month]], provider: str, since: int, until: int) -> bool:
    months = covered.get(provider, set())
    window = Window(Month.of(date.fromordinal(int(since))),
                    Month.of(date.fromordinal(int(until))))
    return all(m in months for m in window.months())


# -- one month's events --------------------------------------------------------------------

@dataclass
class OutcomeFigures:
    numerator: int
    denominator: int
    window: Window
    proportion: Fraction | None = field(init=False)

    def __post_init__(self) -> None:
        self.proportion = (Fraction(self.numerator, self.denominator) if self.denominator
                           else None)


def band_for(bands: tuple[Band, ...], proportion: Fraction | None) -> Band | None:
    """The band with the greatest lower bound <= proportion (bounds inclusive), else None."""
    chosen = None
    if proportion is None:
        return None
    for band in bands:
        if proportion >= band.lower:
            chosen = band
    return chosen


class _Facts:
    """One provider's episodes: a slice of the history's, with its groups."""

    def __init__(self, span: slice, groups: list[str], group, clients: list[str],
                 group_names: list[str]):
        self.span, self.groups, self.group = span, groups, group
        self.clients, self.group_names = clients, group_names  # each episode's, as text


class CohortMonth:
    """Works out proportions and events for any month from one History.

    Each episode's facts for an outcome (its event record, when its follow-up ends and
    whether the client came back) are array operations over every episode, done once; a
    window's counts and a month's events are then comparisons over a provider's slice."""

    def __init__(self, model: Model, history: History):
        import numpy as np

        assert model.cohort is not None
        self.model, self.cohort, self.history = model, model.cohort, history
        provider = history.episodes["provider"]
        self.spans = {}
        for i, name in enumerate(history.providers):
            lo, hi = np.searchsorted(provider, [i, i + 1])
            self.spans[name] = slice(int(lo), int(hi))
        self._facts: dict[str, _Facts] = {}
        self._outcomes: dict[str, dict[str, Any]] = {}
        codes = (list(self.model.codes[self.cohort.group_codes].values)
                 if self.cohort.group_codes in self.model.codes else [])
        self._codes = {c: i for i, c in enumerate(codes)}

    def window(self, month: Month) -> Window:
        return Window.ending(month, self.cohort.window_months, self.model.start)

    def facts(self, provider: str) -> _Facts:
        import numpy as np

        found = self._facts.get(provider)
        if found is None:
            span = self.spans.get(provider, slice(0, 0))
            mine = self.history.episodes["group"][span]
            groups = sorted(set(mine.tolist()), key=self.group_order)
            index = {g: i for i, g in enumerate(groups)}
            names = mine.tolist()
            group = np.fromiter((index[g] for g in names), np.int64, len(names))
            clients = self.history.clients
            found = self._facts[provider] = _Facts(
                span, groups, group, [clients[c] for c in
                                      self.history.episodes["client"][span].tolist()], names)
        return found

    def outcome_facts(self, outcome: Outcome) -> dict[str, Any]:
        """For every episode: its event record and day (_NONE: none); for a first-review
        outcome, every review flattened (its episode, day, whether the rule holds); for a
        follow-up, when it ends and the first presentation within it."""
        import numpy as np

        done = self._outcomes.get(outcome.name)
        if done is not None:
            return done
        h, ep = self.history, self.history.episodes
        n = len(ep["start"])
        out: dict[str, Any] = {}
        if outcome.event == "discharge":
            D = h.tables["discharges"]
            dis = ep["dis"]
            holds = np.zeros(n, bool)
            holds[dis >= 0] = D.holds[outcome.name][dis[dis >= 0]]
            record = np.where(holds, dis, _NONE)
            out["record"] = record
            out["day"] = _take(D.day, record)
        elif outcome.event == "first-review":
            R = h.tables["reviews"]
            rows = h.reviews
            out["reviews"] = rows
            out["review_owner"] = h.review_owner
            out["review_day"] = R.day[rows]
            out["review_holds"] = R.holds[outcome.name][rows]
            record = np.full(n, _NONE, np.int64)
            holding = np.flatnonzero(out["review_holds"])
            owners, first = np.unique(h.review_owner[holding], return_index=True)
            record[owners] = rows[holding[first]]
            out["record"] = record
            out["day"] = _take(R.day, record)
        else:
            after = self.cohort.outcome(outcome.after or "")
            started = (self.outcome_facts(after)["day"] if after is not None
                       else np.full(n, _NONE, np.int64))
            has = started >= 0
            end = np.full(n, _NONE, np.int64)
            end[has] = add_months_to(started[has], outcome.months)
            # the first presentation anywhere after the event, up to the follow-up's end
            lo = np.searchsorted(h.client_day, ep["client"] * _DAYS + started, "right")
            hi = np.searchsorted(h.client_day, ep["client"] * _DAYS + end, "right")
            again = has & (hi > lo)
            out["started"] = started
            out["end"] = end
            out["again"] = again
            out["again_record"] = np.where(again, h.by_client[np.minimum(lo, max(len(
                h.by_client) - 1, 0))] if len(h.by_client) else _NONE, _NONE)
        self._outcomes[outcome.name] = out
        return out

    def _review_span(self, of: dict[str, Any], span: slice) -> slice:
        import numpy as np

        lo, hi = np.searchsorted(of["review_owner"], [span.start, span.stop])
        return slice(int(lo), int(hi))

    def figures_by_group(self, outcome: Outcome, facts: _Facts,
                         window: Window) -> list[OutcomeFigures]:
        """The outcome's numerator and denominator over the window, for each of the
        provider's groups (in facts.groups order)."""
        import numpy as np

        first, last = window.first.first_day.toordinal(), window.last.last_day.toordinal()
        size, span, ep = len(facts.groups), facts.span, self.history.episodes
        of = self.outcome_facts(outcome)
        if outcome.event == "discharge":
            den = (ep["start"][span] <= last) & (ep["end"][span] >= first)
            day = of["day"][span]
            num = den & (day >= first) & (day <= last)
            dens = np.bincount(facts.group[den], minlength=size)
            nums = np.bincount(facts.group[num], minlength=size)
        elif outcome.event == "first-review":
            part = self._review_span(of, span)
            day = of["review_day"][part]
            seen = (day >= first) & (day <= last)
            owner = of["review_owner"][part] - span.start
            reviewed = np.zeros(len(facts.group), bool)
            reviewed[owner[seen]] = True
            held = np.zeros(len(facts.group), bool)
            held[owner[seen & of["review_holds"][part]]] = True
            dens = np.bincount(facts.group[reviewed], minlength=size)
            nums = np.bincount(facts.group[held], minlength=size)
        else:
            end = of["end"][span]
            den = (end >= first) & (end <= last)
            dens = np.bincount(facts.group[den], minlength=size)
            nums = np.bincount(facts.group[den & ~of["again"][span]], minlength=size)
        return [OutcomeFigures(int(nums[i]), int(dens[i]), window) for i in range(size)]

    def events(self, provider: str, month: Month) -> tuple[list[Evidence], dict[tuple[str, str], dict[str, Any]]]:
        """Every event of `provider` in `month` before the cap, and per (component, group)
        the figures of its payment line."""
        import numpy as np

        h, ep = self.history, self.history.episodes
        facts = self.facts(provider)
        span = facts.span
        window = self.window(month)
        first, last = month.first_day.toordinal(), month.last_day.toordinal()
        events: list[Evidence] = []
        lines: dict[tuple[str, str], dict[str, Any]] = {}
        tariff = self.cohort.tariff
        if tariff is not None:
            start = ep["start"][span]
            new_mask = ((ep["pres"][span] >= 0) & ~ep["opening"][span] & (start >= first)
                        & (start <= last))
            for gi, group in enumerate(facts.groups):
                price = round_pence(tariff.prices.get(group, Fraction(0)))
                new = span.start + np.flatnonzero(new_mask & (facts.group == gi))
                befores = self._presented_before(new).tolist()
                # another presentation of the client that day, anywhere: only then is there
                # a rival to look for
                day_key = ep["client"][new] * _DAYS + ep["start"][new]
                several = (np.searchsorted(h.client_day, day_key + 1)
                           - np.searchsorted(h.client_day, day_key) > 1).tolist()
                for i, before, others in zip(new.tolist(), befores, several, strict=True):
                    source = h.source("presentations", ep["pres"][i])
                    rival = (self._same_day_rival(i) if before < 0 and tariff.same_day_once
                             and others else _NONE)
                    if rival >= 0:
                        status, why = REFUSED, (
                            f"presented the same day at {h.providers[h.known_provider[rival]]} "
                            "(one tariff a client a day)")
                    elif before < 0:
                        status, why = PAID, "new presentation"
                    else:
                        status, why = REFUSED, (
                            f"presented within {tariff.churn_months} months "
                            f"({_iso(h.known_day[before])} at {h.providers[h.known_provider[before]]})")
                    events.append(self._event(provider, facts, i, tariff.name, tariff.label,
                                              ep["start"][i], status, price, why, source))
                if len(new):
                    lines[(tariff.name, group)] = {"price": price, "events": len(new)}
        for outcome in self.cohort.outcomes:
            figs = self.figures_by_group(outcome, facts, window)
            found_all = self._outcome_events(outcome, facts, first, last)
            for gi, group in enumerate(facts.groups):
                fig = figs[gi]
                band = band_for(outcome.bands.get(group, ()), fig.proportion)
                price = round_pence(band.price) if band else Decimal("0.00")
                if outcome.reported_only:
                    band_text, price_note = "reported only", "reported, not paid"
                elif band is None:
                    lowest = outcome.bands.get(group, ())
                    band_text = f"below {format_percent(lowest[0].lower)}" if lowest else "no bands"
                    price_note = f"proportion {format_percent(fig.proportion)} is {band_text}"
                else:
                    band_text, price_note = band.label, ""
                at, names, clients = span.start, facts.group_names, facts.clients
                found = sorted((t for t in found_all if names[t[0] - at] == group),
                               key=lambda t: (t[1], clients[t[0] - at]))
                if fig.denominator == 0 and not found:
                    continue
                lines[(outcome.name, group)] = {
                    "numerator": fig.numerator, "denominator": fig.denominator,
                    "proportion": fig.proportion, "band": band_text, "price": price,
                    "events": sum(1 for t in found if t[4] == PAID),
                    "window": window}
                if outcome.reported_only:
                    continue
                said = price_note or (f"{outcome.label.lower()}: band {band_text} at "
                                      f"{format_percent(fig.proportion)}")
                for i, day, kind, row, status, why in found:
                    events.append(self._event(provider, facts, i, outcome.name, outcome.label,
                                              day, status, price, why or said,
                                              h.source(kind, row), fig, band_text))
        return events, lines

    def _outcome_events(self, outcome: Outcome, facts: _Facts, first: int,
                        last: int) -> list[tuple[int, int, str, int, str, str]]:
        """The month's events of an outcome, in episode order (first, last: day ordinals):
        (episode, day, sheet kind and row of its evidence, status, why)."""
        import numpy as np

        h, span = self.history, facts.span
        of = self.outcome_facts(outcome)
        out: list[tuple[int, int, str, int, str, str]] = []
        if outcome.event == "discharge":
            day = of["day"][span]
            found = (span.start + np.flatnonzero((day >= first) & (day <= last))).tolist()
            for i, record, on in zip(found, of["record"][found].tolist(),
                                     of["day"][found].tolist(), strict=True):
                out.append((i, on, "discharges", record, PAID, ""))
        elif outcome.event == "first-review":
            firsts = of["day"]
            part = self._review_span(of, span)
            # a holding review in the month, after the episode's first holding review
            owner, day = of["review_owner"][part], of["review_day"][part]
            later = ((day >= first) & (day <= last) & of["review_holds"][part]
                     & (firsts[owner] >= 0) & (day > firsts[owner]))
            refused: dict[int, list[int]] = defaultdict(list)
            for k in part.start + np.flatnonzero(later):
                refused[int(of["review_owner"][k])].append(int(k))
            mine = firsts[span]
            paid = set((span.start + np.flatnonzero((mine >= first) & (mine <= last))).tolist())
            R = h.tables["reviews"]
            for i in sorted(paid | set(refused)):
                if i in paid:
                    out.append((i, int(firsts[i]), "reviews", int(of["record"][i]), PAID, ""))
                for k in refused.get(i, []):
                    row = int(of["reviews"][k])
                    out.append((i, int(R.day[row]), "reviews", row, REFUSED,
                                f"already paid for this episode (first on {_iso(firsts[i])})"))
        else:
            after = self.cohort.outcome(outcome.after or "")
            assert after is not None  # a follow-up has an event to follow
            started_by = self.outcome_facts(after)["record"]
            kind = "discharges" if after.event == "discharge" else "reviews"
            end = of["end"][span]
            for i in span.start + np.flatnonzero((end >= first) & (end <= last)):
                # the follow-up is evidenced by the row of the event it follows
                row = int(started_by[i])
                start, stop = _iso(of["started"][i]), _iso(of["end"][i])
                if not of["again"][i]:
                    out.append((int(i), int(of["end"][i]), kind, row, PAID,
                                f"no presentation from {start} to {stop}"))
                else:
                    again = of["again_record"][i]
                    out.append((int(i), int(of["end"][i]), kind, row, REFUSED,
                                f"presented again within {outcome.months} months "
                                f"({_iso(h.known_day[again])} at {h.providers[h.known_provider[again]]})"))
        return out

    def _presented_before(self, episodes):
        """For each of the episodes, the latest presentation of its client, anywhere, in the
        churn months before its start (a row of the presentations), or _NONE."""
        import numpy as np

        tariff = self.cohort.tariff
        assert tariff is not None
        h, ep = self.history, self.history.episodes
        start = ep["start"][episodes]
        client = ep["client"][episodes] * _DAYS
        lo = np.searchsorted(h.client_day, client + add_months_to(start, -tariff.churn_months))
        hi = np.searchsorted(h.client_day, client + start)
        return np.where(hi > lo, h.by_client[np.maximum(hi - 1, 0)] if len(h.by_client) else
                        _NONE, _NONE)

    def _same_day_rival(self, i: int) -> int:
        """A presentation of episode i's client on the same day at another provider that
        comes first (by provider code, then row): that one earns the day's tariff. Its row
        of the presentations, or _NONE."""
        import numpy as np

        h, ep = self.history, self.history.episodes
        own = int(ep["pres"][i])
        key = int(ep["client"][i]) * _DAYS + int(ep["start"][i])
        lo, hi = np.searchsorted(h.client_day, [key, key + 1])
        mine = (h.providers[h.known_provider[own]], own)
        best = _NONE
        for k in range(int(lo), int(hi)):
            row = int(h.by_client[k])
            theirs = (h.providers[h.known_provider[row]], row)
            if row != own and theirs[0] != mine[0] and theirs < mine:
                if best == _NONE or theirs < (h.providers[h.known_provider[best]], best):
                    best = row
        return best

    def _event(self, provider: str, facts: _Facts, i: int, component: str, label: str,
               day: int, status: str, price: Decimal, reason: str, source: Source,
               fig: OutcomeFigures | None = None, band: str = "") -> Evidence:
        if status == PAID and price == 0:
            status = NIL
        at = i - facts.span.start
        return Evidence(
            provider=provider, client=facts.clients[at], component=component,
            component_label=label, day=date.fromordinal(int(day)), group=facts.group_names[at],
            status=status, price=price, amount=price if status == PAID else Decimal("0.00"),
            reason=reason, source=source, proportion=fig.proportion if fig else None,
            numerator=fig.numerator if fig else None,
            denominator=fig.denominator if fig else None, band=band,
            window=fig.window if fig else None)

    def group_order(self, code: str) -> tuple[int, str]:
        return (self._codes.get(code, len(self._codes)), code)


def apply_cap(events: list[Evidence], cap: Decimal | None, paid_before: Decimal,
              year: str) -> list[Evidence]:
    """Reduce the month's events, in date order, to what the annual cap leaves."""
    if cap is None:
        return events
    left = max(cap - paid_before, Decimal("0.00"))
    out = []
    for ev in sorted(events, key=lambda v: (v.day, v.component, v.client)):
        if ev.status != PAID or ev.amount <= 0:
            out.append(ev)
        elif ev.amount <= left:
            left -= ev.amount
            out.append(ev)
        elif left > 0:
            out.append(replace(ev, amount=left, cap_reduction=ev.amount - left,
                               reason=f"reduced by the annual cap of {format_money(cap)} for "
                               f"{year}: {format_money(left)} of {format_money(ev.price)} paid"))
            left = Decimal("0.00")
        else:
            out.append(replace(ev, status=REFUSED, amount=Decimal("0.00"),
                               cap_reduction=ev.amount, reason=f"annual cap of {format_money(cap)} for {year} reached"))
    return out


fy_label = financial_year_label  # (the calendar rule lives in periods.py)


def fy_months(model: Model, month: Month) -> list[Month]:
    """The months of `month`'s financial year before it, from the scheme start."""
    first = Month.of(max(financial_year_start(month.first_day), model.start))
    return [m for m in Window(first, month).months() if m != month]
