"""A cohort model's history: every episode, from the records of every return given.

Input: a model's `cohort` rules and checked returns (every month since the scheme start, every
provider, because re-presentation counts anywhere), their records already columns
(cohort_records.py, at check time). Output: one History, built in one place (build_history),
with the problems that only show across files (a discharge without an episode, overlapping
episodes...). Pricing reads it (month.py); nothing changes it afterwards.

No Excel, no Typer, no rich: plain records in, plain records out.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from pbr_cli.memory import give_back_memory
from pbr_cli.model.records import Model
from pbr_cli.periods import Month, Window, month_number, month_numbers
from pbr_cli.pricing.cohort.rows import Rows, dense, gather
from pbr_cli.pricing.records import Source
from pbr_cli.problems import ERROR, WARNING, Problem, Severity
from pbr_cli.returns.checked import CheckedReturn
from pbr_cli.returns.cohort_records import KINDS, OPENING, Interned, compacted_with

DAYS = date.max.toordinal() + 2  # more than any day ordinal: (code, day) pairs as one number
OPEN = date.max.toordinal()  # the end of an episode still open
NONE = -1  # no record, no day


@functools.lru_cache(maxsize=1 << 14)  # each day's text made once: a month's events name a few
def iso_day(day: int) -> str:  # hundred days, and a report holds a year of them
    return date.fromordinal(int(day)).isoformat()


class History:
    """Every episode, from the records of every return given, as arrays in episode order
    (provider, start, client); with the problems only seen across files. Built in one place
(build_history), then frozen: its arrays are read-only."""

    def __init__(self, model: Model, returns: list[CheckedReturn], tables: dict[str, Rows],
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

    def freeze(self) -> None:
        """Made read-only once built: pricing reads the arrays, nothing may change them."""
        arrays = [*self.episodes.values(), self.reviews, self.review_owner, self.known_day,
                  self.known_provider, self.by_client, self.client_day]
        for rows in self.tables.values():
            arrays += [v for v in vars(rows).values() if isinstance(v, np.ndarray)]
            arrays += list(rows.holds.values())
        for array in arrays:
            if isinstance(array, np.ndarray):
                array.flags.writeable = False

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
                severity: Severity = ERROR) -> Problem:
        rows = self.tables[kind]
        r = self.files[int(rows.file[i])]
        kind = self._kind(kind, i)
        sheet = self.sheets[kind].sheet
        letter = (r.column_of(sheet, column) if column
                  else self.letters[kind][int(rows.file[i])])
        return Problem(r.path, severity, code, f"client {self.clients[rows.client[i]]}: "
                       f"{message}", sheet, int(rows.row[i]), letter)


def build_history(model: Model, returns: Iterable[CheckedReturn],
                  covered: dict[str, set[Month]], report_assumed: bool = True,
                  later: Iterable[CheckedReturn] = (), records_once: bool = False,
                  clients: Interned | None = None) -> History:
    """Episodes from every return given; `covered` says which months of each provider's
    records are present, so that a check needing a missing month is not made. Of the
    `later` returns (months after the one worked out) only the opening caseload is read: a
    client in treatment when the scheme started was so in every month, whenever declared.

    A presentation starts an episode; a discharge closes the episode of its client at its
    provider that started on its episode start (with no such presentation in a month that
    is present, it is an error; in a missing month, the episode is assumed); a review
    belongs to the latest episode it falls in.

    With `records_once`, each return's records (CheckedReturn.cohort) are let go once they
    are gathered, for a caller that needs them no more (`pbr validate`): the returns' records
    and the joined history are then not both held. `clients` is what the returns' records
    were compacted with (cohort_records.compact), when they were; else, when every return's
    records were compacted with one, that one: its codes are read as they are, and no
    second table of every client's id is made."""
    cohort = model.cohort
    assert cohort is not None
    later = [r for r in later if r.provider is not None]
    files = sorted([*(r for r in returns if r.provider is not None), *later],
                   key=lambda r: r.path)
    provider_names = sorted({r.provider for r in files if r.provider is not None})
    interned = clients if clients is not None else compacted_with(files) or Interned()
    tables = gather(model, files, {p: i for i, p in enumerate(provider_names)},
                    frozenset(r.path for r in later), interned)
    if records_once:
        for r in files:
            r.cohort = None
    # the clients the rows name, numbered again in the order of their ids (as Python orders
    # strings: by code point); their codes are small whole numbers, so counted rather than
    # sorted or hashed (numpy's unique: half a second a million rows)
    used = np.flatnonzero(np.bincount(np.concatenate([tables[kind].client for kind in KINDS])))
    uniques = [interned.names[c] for c in used.tolist()]
    # (numpy strings drop a trailing NUL: then sort them as Python objects)
    order = (np.argsort(np.array(uniques, dtype=object), kind="stable")
             if "\x00" in "".join(uniques)
             else np.argsort(np.array(uniques, dtype=str), kind="stable"))
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    uniques = [uniques[i] for i in order.tolist()]
    for kind in KINDS:
        rows = tables[kind]
        rows.client = rank[np.searchsorted(used, rows.client)]
        rows.sort()
    history = History(model, files, tables, provider_names, uniques)
    del used, order, rank
    give_back_memory()  # the records let go, and the rows' order before sorting
    _episodes(history, covered, report_assumed)
    give_back_memory()  # what working out the episodes held
    history.freeze()
    return history


def _covered_array(history: History, covered: dict[str, set[Month]]) -> np.ndarray:
    """(provider code, month number) of the months present, as sorted numbers."""
    return np.unique(np.array([i * 100_000 + month_number(m)
                               for i, p in enumerate(history.providers)
                               for m in covered.get(p, ())], np.int64))


def _episodes(h: History, covered: dict[str, set[Month]], report_assumed: bool) -> None:
    cohort = h.model.cohort
    assert cohort is not None
    P, D, R = h.tables["presentations"], h.tables["discharges"], h.tables["reviews"]
    n_p, n_d = len(P), len(D)
    present = _covered_array(h, covered)
    start_month = month_number(Month.of(h.model.start))
    # all_covered(provider, until): every month from the scheme start to until's is present
    first_missing = np.empty(len(h.providers), np.int64)
    for i, p in enumerate(h.providers):
        m, months = start_month, {month_number(x) for x in covered.get(p, ())}
        while m in months:
            m += 1
        first_missing[i] = m
    found: list[tuple[tuple[int, ...], Problem]] = []  # (order, problem): sorted at the end

    # -- discharges: each closes the episode its start names -------------------------------
    key = dense((P.provider, D.provider), (P.client, D.client), (P.day, D.start))
    key_p, key_d = key[:n_p], key[n_p:]
    first_p = np.full(int(key.max()) + 1 if len(key) else 0, NONE, np.int64)
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
    start_present = np.isin(D.provider * 100_000 + month_numbers(D.start), present)
    assumed = (matched < 0) & ~start_present & (rank == 0)
    # episodes: one a presentation, then one a discharge whose presentation is not among
    # the returns
    ep_pres = np.r_[np.arange(n_p), np.full(int(assumed.sum()), NONE)]
    ep_dis = np.full(len(ep_pres), NONE, np.int64)
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
    ep["end"] = np.where(ep_dis >= 0, take(D.day, ep_dis), OPEN)
    start_col = cohort.discharges.episode_start or ""
    group_col = cohort.group
    was = P.group[np.maximum(matched, 0)] if n_p else np.full(n_d, "", object)
    changed = closes & (D.group != "") & (was != "") & (was != D.group)
    for d in np.flatnonzero((rank > 0) | ((matched < 0) & start_present) | changed):
        start = iso_day(D.start[d])
        if rank[d] > 0 and (matched[d] >= 0 or not start_present[d]):
            first = int(first_d[d])
            source = h.source("discharges", first)
            problem = h.problem("discharges", int(d), "episode-already-discharged", f"the episode "
                                f"that started on {start} was already discharged on "
                                f"{iso_day(D.day[first])} ({source.cell} of {source.file})",
                                start_col)
        elif matched[d] < 0:
            problem = h.problem("discharges", int(d), "discharge-without-episode", f"no presentation "
                                f"on {start} (the episode start) at "
                                f"{h.providers[D.provider[d]]}", start_col)
        else:
            group = P.group[matched[d]]
            problem = h.problem("discharges", int(d), "group-changed", f"{group_col} {D.group[d]} "
                                f"here, but {group} when the episode started on {start}",
                                group_col)
        found.append(((1, int(d)), problem))
    if report_assumed:
        scheme_start = h.model.start.toordinal()
        for d in np.flatnonzero(assumed):
            before = int(D.start[d]) < scheme_start
            found.append(((1, int(d)), h.problem(
                "discharges", int(d), "episode-assumed", (
                    f"the episode started on {iso_day(D.start[d])}, before the scheme, and is "
                    f"not in {h.providers[D.provider[d]]}'s opening caseload; it is taken from "
                    "this discharge" if before and cohort.opening else
                    f"no return for {Month.of(date.fromordinal(int(D.start[d])))} to show the "
                    f"presentation on {iso_day(D.start[d])}; the episode is taken from this "
                    "discharge"), start_col, WARNING)))

    # each step's arrays over every row are let go once the step is done (at national scale
    # they are most of what working out the episodes holds: docs/scale.md, Memory)
    del key, key_p, key_d, first_p, unique, index, order, new_run, run, run_start, rank
    del first_d, matched, start_present, closes, was, changed, ep_dis

    # -- each client's episodes at a provider, in start order ------------------------------
    n_e = len(ep_pres)
    del ep_pres
    pc = dense((ep["provider"], R.provider, D.provider), (ep["client"], R.client, D.client))
    ep["pc"], review_pc, discharge_pc = pc[:n_e], pc[n_e:n_e + len(R)], pc[n_e + len(R):]
    in_list = np.lexsort((ep["tie"], ep["start"], ep["pc"]))  # each pc's episodes, in order
    position = np.empty(n_e, np.int64)
    position[in_list] = np.arange(n_e)
    # the order pbr first met each (provider, client): at a presentation, else a discharge
    met = np.full(int(pc.max()) + 1 if len(pc) else 0, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(met, ep["pc"][:n_p], np.arange(n_p))
    np.minimum.at(met, discharge_pc, n_p + np.arange(n_d))
    refused, overlapping = _refuse_overlaps(h, ep, in_list, position, met)
    found += overlapping
    for e in np.flatnonzero(refused & (ep["dis"] >= 0)).tolist():
        # its discharge closes nothing: the episode it names was not counted
        closing, source = int(ep["dis"][e]), h.source("presentations", ep["pres"][e])
        found.append(((1, closing), h.problem(
            "discharges", closing, "discharge-without-episode", f"the episode that started on "
            f"{iso_day(ep['start'][e])} is not counted ({source.cell} of {source.file} "
            "overlaps another episode); correct that return", start_col)))
    if refused.any():  # a refused row is no part of any episode, in any month
        ep = {name: values[~refused] for name, values in ep.items()}
        n_e = len(ep["pres"])
        in_list = np.lexsort((ep["tie"], ep["start"], ep["pc"]))
        position = np.empty(n_e, np.int64)
        position[in_list] = np.arange(n_e)
    found += _two_providers(h, ep, met, position, covered)
    del met, discharge_pc, refused

    # -- reviews: each belongs to the latest episode it falls in ---------------------------
    at_key = ep["pc"][in_list] * DAYS + ep["start"][in_list]
    high = np.searchsorted(at_key, review_pc * DAYS + R.day, "right")
    low = np.searchsorted(at_key, review_pc * DAYS, "left")
    owner = np.full(len(R), NONE, np.int64)
    k = high - 1
    while True:
        looking = (owner < 0) & (k >= low)
        if not looking.any():
            break
        candidate = in_list[np.where(looking, k, 0)]
        hit = looking & (ep["end"][candidate] >= R.day)
        owner[hit] = candidate[hit]
        k = k - 1
    del at_key, k, looking, review_pc
    outside = owner < 0
    all_present = month_numbers(R.day) < first_missing[R.provider]
    for i in np.flatnonzero(outside & (all_present | report_assumed)).tolist():
        if all_present[i]:
            hint = ("; a client in treatment when the scheme started belongs in the opening "
                    "caseload" if cohort.opening is not None and low[i] == high[i] else "")
            problem = h.problem("reviews", i, "review-outside-episode", f"the review on "
                                f"{iso_day(R.day[i])} is outside every episode at "
                                f"{h.providers[R.provider[i]]}{hint}")
        else:
            problem = h.problem("reviews", i, "record-left-out", "no episode is known for this "
                                "review (a month's return is missing); it is left out", None,
                                WARNING)
        found.append(((4, int(i)), problem))
    del high, low, all_present
    owned = np.flatnonzero(~outside)
    was = ep["group"][owner[owned]]
    said = R.group[owned]
    for i in owned[(said != "") & (was != "") & (said != was)]:
        group = ep["group"][owner[i]]
        start = iso_day(ep["start"][owner[i]])
        found.append(((4, int(i)), h.problem(
            "reviews", i, "group-changed", f"{group_col} {R.group[i]} here, but {group} "
            f"when the episode started on {start}", group_col)))

    # -- episode order: provider, start, client ---------------------------------------------
    final = np.lexsort((position, ep["client"], ep["start"], ep["provider"]))
    renumber = np.empty(n_e, np.int64)
    renumber[final] = np.arange(n_e)
    pres = ep["pres"]
    del in_list, position, pc, owned, was, said, outside
    h.episodes = {}
    for name in ("provider", "client", "start", "end", "group", "pres", "dis", "opening"):
        h.episodes[name] = ep.pop(name)[final]  # each array let go as its copy is made
    del ep, final
    # (with no episode at all, every review is outside: nothing to renumber)
    owner_final = (np.where(owner >= 0, renumber[np.maximum(owner, 0)], NONE) if n_e
                   else np.full(len(R), NONE, np.int64))
    del renumber, owner
    reviewed = np.flatnonzero(owner_final >= 0)
    by_owner = reviewed[np.argsort(owner_final[reviewed], kind="stable")]
    h.reviews = by_owner  # review rows, by episode (then date order)
    h.review_owner = owner_final[by_owner]
    assert h.model.cohort is not None
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
    by_client = np.lexsort((np.arange(len(h.known_day)), h.known_day, known_client))
    counted = np.ones(len(h.known_day), bool)
    counted[:n_p] = np.isin(np.arange(n_p), pres)  # a refused presentation is not known
    h.by_client = by_client[counted[by_client]]
    h.client_day = known_client[h.by_client] * DAYS + h.known_day[h.by_client]


def _refuse_overlaps(h: History, ep: dict[str, Any], in_list: np.ndarray, position: np.ndarray,
                     met: np.ndarray) -> tuple[np.ndarray, list[tuple[tuple[int, ...], Problem]]]:
    """Episodes of one client at one provider that cannot both be (one starts before the other
    ends): the row declared first stands — by the month of its return, then by start — and
    the other is refused, an `overlapping-episodes` error on its row, and counts in no
    month. A duplicate declaration of an opening episode is such a row. An episode known only
    from its discharge is never refused, nor refuses one that started before it."""
    refused = np.zeros(len(ep["pres"]), bool)
    found: list[tuple[tuple[int, ...], Problem]] = []
    earlier, later = in_list[:-1], in_list[1:]
    clash = (ep["pc"][earlier] == ep["pc"][later]) & (ep["end"][earlier] > ep["start"][later])
    if not clash.any():  # the usual case (no overlap of neighbours in start order: none at all)
        return refused, found
    month_of = np.array([month_number(r.month) if r.month else 0 for r in h.files], np.int64)
    filed = np.where(ep["pres"] >= 0, month_of[h.tables["presentations"].file[
        np.maximum(ep["pres"], 0)]] if len(ep["pres"]) else 0, -1)
    for pc in np.unique(ep["pc"][later[clash]]).tolist():
        mine = in_list[ep["pc"][in_list] == pc].tolist()  # in start order
        kept: list[int] = []
        for a in sorted(mine, key=lambda e: (int(filed[e]), int(position[e]))):
            first = next((b for b in kept if _overlap(ep, position, b, a) and (
                position[b] < position[a] or ep["pres"][b] >= 0)), None)
            if first is None or ep["pres"][a] < 0:
                kept.append(a)
                continue
            refused[a] = True
            found.append(((2, int(met[pc]), int(position[a])), h.problem(
                "presentations", ep["pres"][a], "overlapping-episodes",
                _overlap_message(h, ep, a, first, position))))
    return refused, found


def _overlap(ep: dict[str, Any], position: np.ndarray, a: int, b: int) -> bool:
    first, second = (a, b) if position[a] < position[b] else (b, a)
    return bool(ep["end"][first] > ep["start"][second])


def _overlap_message(h: History, ep: dict[str, Any], a: int, b: int, position: np.ndarray) -> str:
    """Why episode a is refused: it overlaps episode b, declared first."""
    if ep["pres"][b] >= 0:
        source = h.source("presentations", ep["pres"][b])
        where = f" ({source.cell} of {source.file})"
    else:
        where = ""
    start, other = iso_day(ep["start"][a]), iso_day(ep["start"][b])
    if ep["opening"][a] and ep["pres"][b] >= 0 and ep["start"][b] == ep["start"][a]:
        return f"the episode that started on {start} is already in the opening caseload{where}"
    if position[b] < position[a]:
        return (f"presents again at {h.providers[ep['provider'][a]]} on {start}, but the "
                f"episode that started on {other} {_still(ep['end'][b])}; discharge it first")
    return (f"the episode that started on {start} overlaps the one that started on {other}"
            f"{where}, declared first; it is not counted")


def _case_twins(h: History, P: Rows) -> list[tuple[tuple[int, ...], Problem]]:
    """Client ids that differ only in case (C100, c100): two clients, as the model says, but
    probably one typed twice; a warning at the first presentation of the later spelling."""
    assert h.model.cohort is not None
    client_column = h.model.cohort.client

    out: list[tuple[tuple[int, ...], Problem]] = []
    # the usual case, no two ids differ only in case, told by the folded ids' hashes (the
    # folded ids themselves, held at once, are most of this check's memory at national
    # scale); where two hashes meet, the ids are compared as text
    hashes = np.sort(np.fromiter((hash(name.casefold()) for name in h.clients), np.int64,
                                 count=len(h.clients)))
    if not (hashes[1:] == hashes[:-1]).any():
        return out
    del hashes
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
                client_column, severity=WARNING)))
    return out


def take(values: np.ndarray, index: npt.ArrayLike) -> np.ndarray:
    """values[index] where index is a row (>= 0), else NONE."""
    index = np.asarray(index, np.int64)
    if not len(values):
        return np.full(len(index), NONE, np.int64)
    return np.where(index >= 0, values[np.maximum(index, 0)], NONE)


def _still(end: int) -> str:
    return "is still open" if end == OPEN else f"ran to {iso_day(end)}"


def _two_providers(h: History, ep: dict[str, Any], met: np.ndarray, position: np.ndarray,
                   covered: dict[str, set[Month]]) -> list[tuple[tuple[int, ...], Problem]]:
    """A client who presents to one provider while an episode at another is still open."""
    found: list[tuple[tuple[int, ...], Problem]] = []
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
                if ep["end"][b] != OPEN and ep["end"][b] <= ep["start"][a]:
                    continue
                if ep["end"][b] == OPEN and not _all_covered(
                        covered, h.providers[ep["provider"][b]], ep["start"][b], ep["start"][a]):
                    continue  # its discharge may be in a month not among the files
                found.append(((3, rank, i), h.problem(
                    "presentations", ep["pres"][a], "client-at-two-providers", f"presents to "
                    f"{h.providers[ep['provider'][a]]} on {iso_day(ep['start'][a])}, but their "
                    f"episode at {h.providers[ep['provider'][b]]} that started on "
                    f"{iso_day(ep['start'][b])} {_still(ep['end'][b])} (two providers treating "
                    "one client, or one id used for two people)", None, WARNING)))
                break
    return found


def _all_covered(covered: dict[str, set[Month]], provider: str, since: int, until: int) -> bool:
    months = covered.get(provider, set())
    window = Window(Month.of(date.fromordinal(int(since))),
                    Month.of(date.fromordinal(int(until))))
    return all(m in months for m in window.months())


