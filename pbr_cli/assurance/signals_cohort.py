"""The signals a cohort scheme's records support, one function each: a provider's figure,
its own history and its peers, and an exact one-sided p-value (docs/assurance.md, "Signals").

Each function takes the period's SignalData and the model's settings and returns one Finding
a provider (with too few records for a test, its p-value is None and it is not raised).
Nothing here changes a payment: the signals read the records, they price nothing."""

from __future__ import annotations

import bisect
import calendar
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from pbr_cli.assurance.signals_data import SignalData
from pbr_cli.assurance.signals_stats import HALF, binomial_at_least, fisher_greater
from pbr_cli.model.records import Model
from pbr_cli.model.signals import WEEKDAYS, SignalsSpec
from pbr_cli.money import format_percent
from pbr_cli.periods import add_months

FIRST_OF_MONTH = Fraction(1, 28)  # the most a day of the month can be of a month's days


@dataclass(frozen=True)
class Finding:
    provider: str
    signal: str
    figure: str
    own: str  # the provider's own history
    peers: str  # the other providers
    test: str
    p: Fraction | None  # None: too few records to test, or a fact (same_person)
    question: str
    raised: bool = False
    cases: int = 0  # same_person: the cases found


def share(a: int, n: int) -> str:
    """'31 of 50 (62.0%)', or '0 of 0'."""
    return f"{a} of {n}" + (f" ({format_percent(Fraction(a, n))})" if n else "")


def _pct(a: int, n: int) -> str:
    return format_percent(Fraction(a, n)) if n else "none"


def _in(day: date, data: SignalData) -> bool:
    return data.first <= day <= data.last


def _peers(counts: dict[str, tuple[int, int]], provider: str) -> tuple[int, int]:
    a = sum(v[0] for p, v in counts.items() if p != provider)
    n = sum(v[1] for p, v in counts.items() if p != provider)
    return a, n


def creaming(data: SignalData, spec: SignalsSpec, model: Model) -> list[Finding]:
    """The share of new presentations in the cheapest group (the lowest tariff), in the
    period against the provider's own months before it (Fisher, one-sided)."""
    cohort = model.cohort
    assert cohort is not None
    if cohort.tariff is None or not cohort.tariff.prices:
        return []
    prices = cohort.tariff.prices
    cheap = min(prices, key=lambda g: (prices[g], g))
    label = model.codes[cohort.group_codes].values.get(cheap, cheap) \
        if cohort.group_codes in model.codes else cheap
    now: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
    before: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for p in data.presentations:
        if p.opening or p.day > data.last:
            continue
        side = now if p.day >= data.first else before
        a, n = side[p.provider]
        side[p.provider] = (a + (p.group == cheap), n + 1)
    out = []
    for provider in data.providers:
        a, n = now[provider]
        c, m = before[provider]
        pa, pn = _peers(now, provider)
        pv = fisher_greater(a, n - a, c, m - c) if n and m else None
        out.append(Finding(
            provider, "creaming", f"{share(a, n)} new clients {label}",
            f"{share(c, m)} before the period", share(pa, pn),
            "Fisher exact, one-sided: the period's share against the months before", pv,
            f"Why did {label} clients rise from {_pct(c, m)} to {_pct(a, n)} of your new "
            "presentations: are clients with higher needs referred elsewhere or turned away?"))
    return out


def _episodes(data: SignalData) -> dict[tuple[str, str, date], date | None]:
    """Every episode (provider, client, start) up to the period's end, and the day it was
    discharged (None: open at the period's end)."""
    ended = {(d.provider, d.client, d.start): d.day for d in data.discharges if d.day <= data.last}
    return {(p.provider, p.client, p.day): ended.get((p.provider, p.client, p.day))
            for p in data.presentations if p.day <= data.last}


def parking(data: SignalData, spec: SignalsSpec, model: Model) -> list[Finding]:
    """Episodes open at the period's end with nothing recorded (no review, no discharge)
    for `parking_months` whole months, against the other providers (Fisher, one-sided)."""
    episodes = _episodes(data)
    reviews: dict[tuple[str, str], list[date]] = defaultdict(list)
    for r in data.reviews:
        if r.day <= data.last:
            reviews[(r.provider, r.client)].append(r.day)
    for days in reviews.values():
        days.sort()

    def idle_at(end: date) -> dict[str, tuple[int, int]]:
        cutoff = add_months(end, -spec.parking_months)
        counts: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
        for (provider, client, start), ended in episodes.items():
            if start > end or (ended is not None and ended <= end):
                continue
            days = reviews.get((provider, client), [])
            i = bisect.bisect_right(days, end)
            last = max(start, days[i - 1]) if i and days[i - 1] >= start else start
            a, n = counts[provider]
            counts[provider] = (a + (last < cutoff), n + 1)
        return counts

    now, before = idle_at(data.last), idle_at(data.first - timedelta(days=1))
    out = []
    for provider in data.providers:
        a, n = now[provider]
        c, m = _peers(now, provider)
        b0, bn = before[provider]
        pv = fisher_greater(a, n - a, c, m - c) if n and m else None
        out.append(Finding(
            provider, "parking", f"{share(a, n)} open episodes idle "
            f"{spec.parking_months} months", f"{share(b0, bn)} when the period began",
            share(c, m), "Fisher exact, one-sided: against the other providers", pv,
            f"What treatment are the {a} clients with nothing recorded since "
            f"{add_months(data.last, -spec.parking_months)} receiving, and why are they not "
            "discharged or reviewed?"))
    return out


def churn(data: SignalData, spec: SignalsSpec, model: Model) -> list[Finding]:
    """Re-presentations in the `days_around` days just after the anti-churn window ends
    against as many days just before it (binomial, one-half each side, one-sided)."""
    cohort = model.cohort
    assert cohort is not None
    if cohort.tariff is None:
        return []
    months, w = cohort.tariff.churn_months, spec.days_around
    seen: dict[str, list[date]] = defaultdict(list)
    for p in data.presentations:
        seen[p.client].append(p.day)
    for days in seen.values():
        days.sort()
    counts: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for p in data.presentations:
        if p.opening or not _in(p.day, data):
            continue
        days = seen[p.client]
        i = bisect.bisect_left(days, p.day)
        if i == 0:
            continue
        end = add_months(days[i - 1], months)  # the first day a presentation earns again
        after, before = counts[p.provider]
        if end <= p.day < end + timedelta(days=w):
            counts[p.provider] = (after + 1, before)
        elif end - timedelta(days=w) <= p.day < end:
            counts[p.provider] = (after, before + 1)
    out = []
    for provider in data.providers:
        a, b = counts[provider]
        c, m = _peers({k: (v[0], v[0] + v[1]) for k, v in counts.items()}, provider)
        pv = binomial_at_least(a, a + b, HALF) if a + b else None
        out.append(Finding(
            provider, "churn", f"{share(a, a + b)} re-presentations within "
            f"{w} days of {months} months came after", "", share(c, m),
            "Binomial exact, one-sided: one half after, one half before", pv,
            f"Why did {a} clients re-present just after their {months} months had passed, "
            f"when {b} did in the {w} days before: were presentations delayed to earn the tariff?"))
    return out


def bands(data: SignalData, spec: SignalsSpec, model: Model) -> list[Finding]:
    """Runs of months a rolling proportion sits within `band_margin` of a band's lower
    bound: each run counts once, above or below by most of its months (binomial, one-half
    each side, one-sided)."""
    index = {m: i for i, m in enumerate(data.months)}
    series: dict[tuple[str, str, str], list[tuple[int, int]]] = defaultdict(list)
    for pr in data.proportions:
        side = 0
        near = min(pr.bounds, key=lambda b: abs(pr.value - b), default=None)
        if near is not None and near <= pr.value < near + spec.band_margin:
            side = 1
        elif near is not None and near - spec.band_margin <= pr.value < near:
            side = -1
        series[(pr.provider, pr.outcome, pr.group)].append((index[pr.month], side))
    counts: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for (provider, _, _), marks in series.items():
        run, previous = 0, None
        for i, side in [*sorted(marks), (len(index) + 2, 0)]:
            if side == 0 or (previous is not None and i != previous + 1):
                if run:
                    up, down = counts[provider]
                    counts[provider] = (up + (run > 0), down + (run < 0))
                run = 0
            run += side
            previous = i
    out = []
    for provider in data.providers:
        a, b = counts[provider]
        c, m = _peers({k: (v[0], v[0] + v[1]) for k, v in counts.items()}, provider)
        pv = binomial_at_least(a, a + b, HALF) if a + b else None
        out.append(Finding(
            provider, "bands", f"{share(a, a + b)} spells within "
            f"{format_percent(spec.band_margin)} of a bound were above", "", share(c, m),
            "Binomial exact, one-sided: one half above, one half below", pv,
            "Were discharges or reviews timed to keep a proportion just above a band's "
            f"bound ({a} spells just above, {b} just below)?"))
    return out


def deadline(data: SignalData, spec: SignalsSpec, model: Model) -> list[Finding]:
    """Discharges dated in the last `deadline_days` days of their month (the return's
    deadline for counting in it) against as many days before them (binomial, one-half)."""
    k = spec.deadline_days
    counts: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for d in data.discharges:
        if not _in(d.day, data):
            continue
        days = calendar.monthrange(d.day.year, d.day.month)[1]
        last, before = counts[d.provider]
        if d.day.day > days - k:
            counts[d.provider] = (last + 1, before)
        elif d.day.day > days - 2 * k:
            counts[d.provider] = (last, before + 1)
    out = []
    for provider in data.providers:
        a, b = counts[provider]
        c, m = _peers({k2: (v[0], v[0] + v[1]) for k2, v in counts.items()}, provider)
        pv = binomial_at_least(a, a + b, HALF) if a + b else None
        out.append(Finding(
            provider, "deadline", f"{share(a, a + b)} discharges in a "
            f"month's last {2 * k} days were in its last {k}", "", share(c, m),
            "Binomial exact, one-sided: one half in the last days, one half before", pv,
            f"Why were {a} discharges dated in the last {k} days of their month: are "
            "episodes closed to count in a month's figures?"))
    return out


def _dates(data: SignalData, provider: str | None = None) -> list[tuple[str, date]]:
    """Every date a provider wrote in the period: presentations, discharges, reviews."""
    out = [(p.provider, p.day) for p in data.presentations if not p.opening]
    out += [(d.provider, d.day) for d in data.discharges]
    out += [(r.provider, r.day) for r in data.reviews]
    return [(p, d) for p, d in out if _in(d, data) and (provider is None or p == provider)]


def first_of_month(data: SignalData, spec: SignalsSpec, model: Model) -> list[Finding]:
    """Dates on the 1st of their month, against 1 in 28 (binomial, one-sided; no month has
    fewer days, so a provider writing true dates is flagged less often than the level)."""
    counts: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for provider, day in _dates(data):
        a, n = counts[provider]
        counts[provider] = (a + (day.day == 1), n + 1)
    return _against(data, counts, "first_of_month", "dates on the 1st",
                    lambda a, n: binomial_at_least(a, n, FIRST_OF_MONTH) if n else None,
                    "Binomial exact, one-sided: against 1 in 28",
                    "Are the dates real, or written as the 1st when the day was not known "
                    "({a} of {n})?")


def closed_days(data: SignalData, spec: SignalsSpec, model: Model) -> list[Finding]:
    """Dates on a day the service is closed, against the other providers (Fisher)."""
    names = " or ".join(WEEKDAYS[d].title() for d in spec.closed)
    counts: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for provider, day in _dates(data):
        a, n = counts[provider]
        counts[provider] = (a + (day.weekday() in spec.closed), n + 1)
    return _against(data, counts, "closed_days", f"dates on a {names}", None,
                    "Fisher exact, one-sided: against the other providers",
                    f"What happened on the {{a}} {names}s the service is closed?")


def round_figures(data: SignalData, spec: SignalsSpec, model: Model) -> list[Finding]:
    """Review figures above zero that are multiples of `round.multiple`, against the other
    providers (Fisher, one-sided)."""
    counts: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for r in data.reviews:
        if not _in(r.day, data):
            continue
        for column in spec.round_columns:
            v = r.value(column)
            if isinstance(v, int | float) and v > 0 and v == int(v):
                a, n = counts[r.provider]
                counts[r.provider] = (a + (int(v) % spec.round_multiple == 0), n + 1)
    return _against(data, counts, "round_figures",
                    f"review figures above 0 multiples of {spec.round_multiple}", None,
                    "Fisher exact, one-sided: against the other providers",
                    "Are the review figures asked of the client, or rounded when written "
                    "({a} of {n})?")


def _against(data: SignalData, counts: dict[str, tuple[int, int]], name: str, what: str,
             test: Callable[[int, int], Fraction | None] | None, words: str,
             question: str) -> list[Finding]:
    out = []
    for provider in data.providers:
        a, n = counts[provider]
        c, m = _peers(counts, provider)
        if test is not None:
            p = test(a, n)
        else:
            p = fisher_greater(a, n - a, c, m - c) if n and m else None
        out.append(Finding(provider, name, f"{share(a, n)} {what}", "", share(c, m), words, p,
                           question.format(a=a, n=n)))
    return out


def _same(client: str) -> str:
    """A client id as look-alikes share it: letters and digits only, case ignored, leading
    zeros of its number dropped (WG00123, wg-123 and WG 0123 are one)."""
    text = re.sub(r"[^0-9a-z]", "", client.casefold())
    return re.sub(r"(?<![0-9])0+(?=[0-9])", "", text)


def same_person(data: SignalData, spec: SignalsSpec, model: Model) -> list[Finding]:
    """The same client id, or a look-alike (_same), in treatment at two providers on the
    same day in the period. A fact, not a rate: every case is listed, none is tested."""
    spans: dict[str, list[tuple[str, str, date, date]]] = defaultdict(list)
    for (provider, client, start), ended in _episodes(data).items():
        spans[_same(client)].append((provider, client, start, ended or data.last))
    cases: dict[str, set[str]] = defaultdict(set)
    for alike in spans.values():
        for i, (p1, c1, s1, e1) in enumerate(alike):
            for p2, c2, s2, e2 in alike[i + 1:]:
                lo, hi = max(s1, s2, data.first), min(e1, e2)
                if p1 != p2 and lo < hi:  # (a transfer hands over on one day)
                    pair = f"{c1} at {p1} and {c2} at {p2}" if (p1, c1) < (p2, c2) \
                        else f"{c2} at {p2} and {c1} at {p1}"
                    cases[p1].add(pair)
                    cases[p2].add(pair)
    out = []
    for provider in data.providers:
        found = sorted(cases[provider])
        shown = "; ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
        out.append(Finding(
            provider, "same_person",
            f"{len(found)} client(s) also at another provider" + (f": {shown}" if found else ""),
            "", "",
            "A fact, not tested: every case is listed", None,
            "Is each of these one person treated twice, and which provider holds the episode?"
            if found else "", raised=bool(found), cases=len(found)))
    return out


SIGNALS: dict[str, Callable[[SignalData, SignalsSpec, Model], list[Finding]]] = {
    "creaming": creaming, "parking": parking, "churn": churn, "bands": bands,
    "deadline": deadline, "same_person": same_person, "first_of_month": first_of_month,
    "closed_days": closed_days, "round_figures": round_figures,
}
