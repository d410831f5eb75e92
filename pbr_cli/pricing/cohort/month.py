"""A cohort model's pricing for any month: rolling proportions, bands, events and the tariff.

Input: the History of every episode (history.py). Output for one provider and month: the
events it earned, each with the proportion, window and band that priced it, and the figures
behind each group's payment line. Proportions are exact Fractions compared exactly with the
band bounds; each event is rounded half-up to the penny."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from pbr_cli.model.records import Band, Model, Outcome
from pbr_cli.money import format_percent, round_pence
from pbr_cli.periods import Month, Window, add_months_to
from pbr_cli.pricing.cohort.history import DAYS, NONE, History, iso_day, take
from pbr_cli.pricing.records import NIL, REFUSED, EventStatus, Evidence, Source
from pbr_cli.pricing.records import PAID_EVENT as PAID


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

    def __init__(self, provider: str, span: slice, groups: list[str], group: np.ndarray,
                 clients: list[str], group_names: list[str]):
        self.provider, self.span, self.groups, self.group = provider, span, groups, group
        self.clients, self.group_names = clients, group_names  # each episode's, as text


@dataclass(frozen=True, slots=True)
class GroupPrice:
    """What one component pays a group's events in the month: the tariff or outcome, its
    price and, for an outcome, the figures and band that set the price."""

    component: str
    label: str
    price: Decimal
    figures: OutcomeFigures | None = None
    band: str = ""


class CohortMonth:
    """Works out proportions and events for any month from one History.

    Each episode's facts for an outcome (its event record, when its follow-up ends and
    whether the client came back) are array operations over every episode, done once; a
    window's counts and a month's events are then comparisons over a provider's slice."""

    def __init__(self, model: Model, history: History):
        assert model.cohort is not None
        self.model, self.cohort, self.history = model, model.cohort, history
        provider = history.episodes["provider"]
        self.spans = {}
        for i, name in enumerate(history.providers):
            lo, hi = np.searchsorted(provider, [i, i + 1])
            self.spans[name] = slice(int(lo), int(hi))
        self._facts: dict[str, _Facts] = {}
        self._outcomes: dict[str, dict[str, Any]] = {}
        self._review_day: np.ndarray | None = None
        codes = (list(self.model.codes[self.cohort.group_codes].values)
                 if self.cohort.group_codes in self.model.codes else [])
        self._codes = {c: i for i, c in enumerate(codes)}

    def window(self, month: Month) -> Window:
        return Window.ending(month, self.cohort.window_months, self.model.start)

    def facts(self, provider: str) -> _Facts:
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
                provider, span, groups, group, [clients[c] for c in
                                      self.history.episodes["client"][span].tolist()], names)
        return found

    def done_with(self, provider: str) -> None:
        """The provider is priced: its facts are let go (they are made again if asked for)."""
        self._facts.pop(provider, None)

    def outcome_facts(self, outcome: Outcome) -> dict[str, Any]:
        """For every episode: its event record and day (NONE: none); for a first-review
        outcome, every review flattened (its episode, day, whether the rule holds); for a
        follow-up, when it ends and the first presentation within it."""
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
            record = np.where(holds, dis, NONE)
            out["record"] = record
            out["day"] = take(D.day, record)
        elif outcome.event == "first-review":
            R = h.tables["reviews"]
            rows = h.reviews
            out["reviews"] = rows
            out["review_owner"] = h.review_owner
            out["review_day"] = self._review_days(R.day, rows)
            out["review_holds"] = R.holds[outcome.name][rows]
            record = np.full(n, NONE, np.int64)
            holding = np.flatnonzero(out["review_holds"])
            owners, first = np.unique(h.review_owner[holding], return_index=True)
            record[owners] = rows[holding[first]]
            out["record"] = record
            out["day"] = take(R.day, record)
        else:
            after = self.cohort.outcome(outcome.after or "")
            started = (self.outcome_facts(after)["day"] if after is not None
                       else np.full(n, NONE, np.int64))
            has = started >= 0
            end = np.full(n, NONE, np.int64)
            end[has] = add_months_to(started[has], outcome.months)
            # the first presentation anywhere after the event, up to the follow-up's end
            lo = np.searchsorted(h.client_day, ep["client"] * DAYS + started, "right")
            hi = np.searchsorted(h.client_day, ep["client"] * DAYS + end, "right")
            again = has & (hi > lo)
            out["started"] = started
            out["end"] = end
            out["again"] = again
            out["again_record"] = np.where(again, h.by_client[np.minimum(lo, max(len(
                h.by_client) - 1, 0))] if len(h.by_client) else NONE, NONE)
        self._outcomes[outcome.name] = out
        return out

    def _review_days(self, day: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Each review's day, in episode order: one array for every first-review outcome."""
        if self._review_day is None:
            self._review_day = day[rows]
        return self._review_day

    def _review_span(self, of: dict[str, Any], span: slice) -> slice:
        lo, hi = np.searchsorted(of["review_owner"], [span.start, span.stop])
        return slice(int(lo), int(hi))

    def figures_by_group(self, outcome: Outcome, facts: _Facts,
                         window: Window) -> list[OutcomeFigures]:
        """The outcome's numerator and denominator over the window, for each of the
        provider's groups (in facts.groups order)."""
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
                priced = GroupPrice(tariff.name, tariff.label, price)
                new = span.start + np.flatnonzero(new_mask & (facts.group == gi))
                befores = self._presented_before(new).tolist()
                # another presentation of the client that day, anywhere: only then is there
                # a rival to look for
                day_key = ep["client"][new] * DAYS + ep["start"][new]
                several = (np.searchsorted(h.client_day, day_key + 1)
                           - np.searchsorted(h.client_day, day_key) > 1).tolist()
                for i, before, others in zip(new.tolist(), befores, several, strict=True):
                    source = h.source("presentations", ep["pres"][i])
                    rival = (self._same_day_rival(i) if before < 0 and tariff.same_day_once
                             and others else NONE)
                    if rival >= 0:
                        status, why = REFUSED, (
                            f"presented the same day at {h.providers[h.known_provider[rival]]} "
                            "(one tariff a client a day)")
                    elif before < 0:
                        status, why = PAID, "new presentation"
                    else:
                        status, why = REFUSED, (
                            f"presented within {tariff.churn_months} months "
                            f"({iso_day(h.known_day[before])} at {h.providers[h.known_provider[before]]})")
                    events.append(self._event(facts, i, ep["start"][i], status, why, source,
                                              priced))
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
                    lines[(outcome.name, group)]["counted"] = tuple(
                        (str(clients[t[0] - at]), iso_day(t[1])) for t in found if t[4] == PAID)
                    continue
                said = price_note or (f"{outcome.label.lower()}: band {band_text} at "
                                      f"{format_percent(fig.proportion)}")
                priced = GroupPrice(outcome.name, outcome.label, price, fig, band_text)
                for i, day, kind, row, status, why in found:
                    events.append(self._event(facts, i, day, status, why or said,
                                              h.source(kind, row), priced))
        return events, lines

    def _outcome_events(self, outcome: Outcome, facts: _Facts, first: int,
                        last: int) -> list[tuple[int, int, str, int, EventStatus, str]]:
        """The month's events of an outcome, in episode order (first, last: day ordinals):
        (episode, day, sheet kind and row of its evidence, status, why)."""
        h, span = self.history, facts.span
        of = self.outcome_facts(outcome)
        out: list[tuple[int, int, str, int, EventStatus, str]] = []
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
                                f"already paid for this episode (first on {iso_day(firsts[i])})"))
        else:
            after = self.cohort.outcome(outcome.after or "")
            assert after is not None  # a follow-up has an event to follow
            started_by = self.outcome_facts(after)["record"]
            kind = "discharges" if after.event == "discharge" else "reviews"
            end = of["end"][span]
            for i in span.start + np.flatnonzero((end >= first) & (end <= last)):
                # the follow-up is evidenced by the row of the event it follows
                row = int(started_by[i])
                start, stop = iso_day(of["started"][i]), iso_day(of["end"][i])
                if not of["again"][i]:
                    out.append((int(i), int(of["end"][i]), kind, row, PAID,
                                f"no presentation from {start} to {stop}"))
                else:
                    again = of["again_record"][i]
                    out.append((int(i), int(of["end"][i]), kind, row, REFUSED,
                                f"presented again within {outcome.months} months "
                                f"({iso_day(h.known_day[again])} at {h.providers[h.known_provider[again]]})"))
        return out

    def _presented_before(self, episodes: np.ndarray) -> np.ndarray:
        """For each of the episodes, the latest presentation of its client, anywhere, in the
        churn months before its start (a row of the presentations), or NONE."""
        tariff = self.cohort.tariff
        assert tariff is not None
        h, ep = self.history, self.history.episodes
        start = ep["start"][episodes]
        client = ep["client"][episodes] * DAYS
        lo = np.searchsorted(h.client_day, client + add_months_to(start, -tariff.churn_months))
        hi = np.searchsorted(h.client_day, client + start)
        return np.where(hi > lo, h.by_client[np.maximum(hi - 1, 0)] if len(h.by_client) else
                        NONE, NONE)

    def _same_day_rival(self, i: int) -> int:
        """A presentation of episode i's client on the same day at another provider that
        comes first (by provider code, then row): that one earns the day's tariff. Its row
        of the presentations, or NONE."""
        h, ep = self.history, self.history.episodes
        own = int(ep["pres"][i])
        key = int(ep["client"][i]) * DAYS + int(ep["start"][i])
        lo, hi = np.searchsorted(h.client_day, [key, key + 1])
        mine = (h.providers[h.known_provider[own]], own)
        best = NONE
        for k in range(int(lo), int(hi)):
            row = int(h.by_client[k])
            theirs = (h.providers[h.known_provider[row]], row)
            if row != own and theirs[0] != mine[0] and theirs < mine:
                if best == NONE or theirs < (h.providers[h.known_provider[best]], best):
                    best = row
        return best

    def _event(self, facts: _Facts, i: int, day: int, status: EventStatus, reason: str,
               source: Source, priced: GroupPrice) -> Evidence:
        """Episode i's event on `day` (an ordinal), priced as its group's line is."""
        price, fig = priced.price, priced.figures
        if status == PAID and price == 0:
            status = NIL
        at = i - facts.span.start
        return Evidence(
            provider=facts.provider, client=facts.clients[at], component=priced.component,
            component_label=priced.label, day=date.fromordinal(int(day)),
            group=facts.group_names[at], status=status, price=price,
            amount=price if status == PAID else Decimal("0.00"), reason=reason, source=source,
            proportion=fig.proportion if fig else None,
            numerator=fig.numerator if fig else None,
            denominator=fig.denominator if fig else None, band=priced.band,
            window=fig.window if fig else None)

    def group_order(self, code: str) -> tuple[int, str]:
        return (self._codes.get(code, len(self._codes)), code)

