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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from pbr_cli.expr import ExprError
from pbr_cli.model.records import Band, Model, Outcome
from pbr_cli.money import format_money, format_percent, round_pence
from pbr_cli.periods import Month, Window, financial_year_start
from pbr_cli.problems import ERROR, WARNING, Problem
from pbr_cli.returns.checks import CheckedReturn

PAID, REFUSED, NIL = "paid", "refused", "nil"  # nil: an event whose band price is 0


def add_months(day: date, months: int) -> date:
    """Calendar months later (or earlier); the day is clipped to the month's end, so
    31 August + 6 months is 28 February (29 in a leap year)."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# Records are made for every row of every month's returns: plain slotted classes (not frozen,
# which costs twice the time to make), hashed on their fields as before, and never changed.
@dataclass(slots=True, unsafe_hash=True)
class Source:
    """The row of a return a record came from."""

    file: str
    sheet: str
    row: int
    column: str | None = None  # letter of the record's date column

    @property
    def cell(self) -> str:
        return f"{self.sheet}!{self.column or ''}{self.row}"


@dataclass(slots=True, unsafe_hash=True)
class Record:
    """One row of a client-level sheet."""

    provider: str
    client: str
    day: date
    values: dict[str, Any] = field(compare=False, hash=False)
    source: Source = field(compare=False)


@dataclass
class Episode:
    """One client at one provider, from presentation to discharge (or still open)."""

    provider: str
    client: str
    group: str
    start: date
    presentation: Record | None  # None: assumed from a discharge row
    discharge: Record | None = None
    reviews: list[Record] = field(default_factory=list)

    @property
    def end(self) -> date | None:
        return self.discharge.day if self.discharge else None

    def in_treatment(self, first: date, last: date) -> bool:
        return self.start <= last and (self.end is None or self.end >= first)

    @property
    def source(self) -> Source:
        record = self.presentation or self.discharge
        assert record is not None
        return record.source


@dataclass(frozen=True)
class Evidence:
    """One event: paid (perhaps reduced by the cap) or refused, and why."""

    provider: str
    client: str
    component: str
    component_label: str
    day: date
    group: str
    status: str  # paid | refused
    price: Decimal
    amount: Decimal
    reason: str
    source: Source
    proportion: Fraction | None = None
    numerator: int | None = None
    denominator: int | None = None
    band: str = ""
    window: Window | None = None
    cap_reduction: Decimal = Decimal("0.00")


@dataclass
class History:
    episodes: list[Episode]
    presentations: dict[str, list[Record]]  # client -> presentations anywhere, by date
    problems: list[Problem]


# -- building episodes ---------------------------------------------------------------------

def records(client_col: str, r: CheckedReturn, sheet: str, date_col: str) -> list[Record]:
    """The usable rows of a record sheet (rows with errors, no id or no date are left out)."""
    frame = r.tables.get(sheet)
    if frame is None or frame.empty or r.provider is None:
        return []
    bad = {p.row for p in r.problems if p.sheet == sheet and p.is_error}
    letter = r.column_of(sheet, date_col)
    names = list(frame.columns)
    at_client, at_day, at_row = names.index(client_col), names.index(date_col), names.index("_row")
    provider, path = r.provider, r.path
    out = []
    for row in frame.to_numpy(dtype=object).tolist():
        client, day, number = row[at_client], row[at_day], row[at_row]
        if number in bad or client is None or not isinstance(day, date):
            continue
        out.append(Record(provider, client if type(client) is str else str(client), day,
                          dict(zip(names, row, strict=True)),
                          Source(path, sheet, number, letter)))
    return out


def _order(record: Record) -> tuple:
    return (record.day, record.provider, record.client, record.source.file, record.source.row)


def build_history(model: Model, returns: Iterable[CheckedReturn],
                  covered: dict[str, set[Month]], report_assumed: bool = True) -> History:
    """Episodes from every return given; `covered` says which months of each provider's
    records are present, so that a check needing a missing month is not made."""
    cohort = model.cohort
    assert cohort is not None
    returns = list(returns)
    pres, dis, rev = [], [], []
    for r in returns:
        pres += records(cohort.client, r, cohort.presentations.sheet, cohort.presentations.date)
        dis += records(cohort.client, r, cohort.discharges.sheet, cohort.discharges.date)
        if cohort.reviews is not None:
            rev += records(cohort.client, r, cohort.reviews.sheet, cohort.reviews.date)
    problems: list[Problem] = []
    columns = {r.path: r for r in returns}

    def problem(record: Record, code: str, message: str, column: str | None = None,
                severity: str = ERROR) -> None:
        letter = (columns[record.source.file].column_of(record.source.sheet, column)
                  if column else record.source.column)
        problems.append(Problem(record.source.file, severity, code,
                                f"client {record.client}: {message}", record.source.sheet,
                                record.source.row, letter))

    def all_covered(provider: str, until: date, since: date | None = None) -> bool:
        months = covered.get(provider, set())
        first = Month.of(since or model.start)
        return all(m in months for m in Window(first, Month.of(until)).months())

    by_pc: dict[tuple[str, str], list[Episode]] = defaultdict(list)
    pres.sort(key=_order)
    for record in pres:
        group = str(record.values.get(cohort.group) or "")
        by_pc[(record.provider, record.client)].append(
            Episode(record.provider, record.client, group, record.day, record))
    start_col = cohort.discharges.episode_start or ""
    for record in sorted(dis, key=_order):
        start = record.values.get(start_col)
        if not isinstance(start, date):
            continue
        episodes = by_pc[(record.provider, record.client)]
        episode = next((e for e in episodes if e.start == start), None)
        group = str(record.values.get(cohort.group) or "")
        if episode is None:
            if Month.of(start) in covered.get(record.provider, set()):
                problem(record, "discharge-without-episode", f"no presentation on "
                        f"{start.isoformat()} (the episode start) at {record.provider}",
                        start_col)
                continue
            if report_assumed:
                problem(record, "episode-assumed", f"no return for {Month.of(start)} to show the "
                        f"presentation on {start.isoformat()}; the episode is taken from this "
                        "discharge", start_col, WARNING)
            episode = Episode(record.provider, record.client, group, start, None)
            episodes.append(episode)
            episodes.sort(key=lambda e: e.start)
        elif episode.discharge is not None:
            problem(record, "episode-already-discharged", f"the episode that started on "
                    f"{start.isoformat()} was already discharged on "
                    f"{episode.discharge.day.isoformat()} ({episode.discharge.source.cell} of "
                    f"{episode.discharge.source.file})", start_col)
            continue
        if group and episode.group and group != episode.group:
            problem(record, "group-changed", f"{cohort.group} {group} here, but "
                    f"{episode.group} when the episode started on {start.isoformat()}",
                    cohort.group)
        episode.discharge = record
    for episodes in by_pc.values():
        for before, after in zip(episodes, episodes[1:], strict=False):
            if after.presentation is not None and (before.end is None or before.end > after.start):
                still = ("is still open" if before.end is None
                         else f"ran to {before.end.isoformat()}")
                problem(after.presentation, "overlapping-episodes", f"presents again at "
                        f"{after.provider} on {after.start.isoformat()}, but the episode that "
                        f"started on {before.start.isoformat()} {still}; discharge it first")
    _two_providers(by_pc, problem, all_covered)
    for record in sorted(rev, key=_order):
        episodes = by_pc.get((record.provider, record.client), [])
        inside = [e for e in episodes if e.start <= record.day
                  and (e.end is None or record.day <= e.end)]
        if not inside:
            if all_covered(record.provider, record.day):
                problem(record, "review-outside-episode", f"the review on "
                        f"{record.day.isoformat()} is outside every episode at {record.provider}")
            elif report_assumed:
                problem(record, "record-left-out", "no episode is known for this review (a "
                        "month's return is missing); it is left out", None, WARNING)
            continue
        episode = inside[-1]
        group = str(record.values.get(cohort.group) or "")
        if group and episode.group and group != episode.group:
            problem(record, "group-changed", f"{cohort.group} {group} here, but {episode.group} "
                    f"when the episode started on {episode.start.isoformat()}", cohort.group)
        episode.reviews.append(record)
    all_episodes = sorted((e for eps in by_pc.values() for e in eps),
                          key=lambda e: (e.provider, e.start, e.client))
    presentations: dict[str, list[Record]] = defaultdict(list)
    for record in pres:  # in date order
        presentations[record.client].append(record)
    return History(all_episodes, dict(presentations), problems)


def _two_providers(by_pc, problem, all_covered) -> None:
    """A client who presents to one provider while an episode at another is still open."""
    by_client: dict[str, list[Episode]] = defaultdict(list)
    for (_, client), episodes in by_pc.items():
        by_client[client] += episodes
    for episodes in by_client.values():
        if len({e.provider for e in episodes}) < 2:
            continue
        episodes.sort(key=lambda e: (e.start, e.provider))
        for i, after in enumerate(episodes):
            if after.presentation is None:
                continue
            for before in episodes[:i]:
                if before.provider == after.provider or before.start >= after.start:
                    continue
                if before.end is not None and before.end <= after.start:
                    continue
                if before.end is None and not all_covered(before.provider, after.start,
                                                          before.start):
                    continue  # its discharge may be in a month not among the files
                still = ("is still open" if before.end is None
                         else f"ran to {before.end.isoformat()}")
                problem(after.presentation, "client-at-two-providers", f"presents to "
                        f"{after.provider} on {after.start.isoformat()}, but their episode at "
                        f"{before.provider} that started on {before.start.isoformat()} {still} "
                        "(two providers treating one client, or one id used for two people)",
                        None, WARNING)
                break


# -- one month's events --------------------------------------------------------------------

@dataclass
class OutcomeFigures:
    numerator: int
    denominator: int
    window: Window

    @property
    def proportion(self) -> Fraction | None:
        return Fraction(self.numerator, self.denominator) if self.denominator else None


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
    """One provider's episodes as arrays (day ordinals; -1: none), built once and reused for
    every month and window asked about."""

    def __init__(self, episodes: list[Episode], groups: list[str]):
        import numpy as np

        self.episodes = episodes
        self.groups = groups
        index = {g: i for i, g in enumerate(groups)}
        self.group = np.fromiter((index[e.group] for e in episodes), np.int64, len(episodes))
        self.start = np.fromiter((e.start.toordinal() for e in episodes), np.int64,
                                 len(episodes))
        self.end = np.fromiter((e.end.toordinal() if e.end else _OPEN for e in episodes),
                               np.int64, len(episodes))
        self.presented = np.fromiter((e.presentation is not None for e in episodes), bool,
                                     len(episodes))
        self.outcomes: dict[str, dict[str, Any]] = {}


_OPEN = date.max.toordinal()  # the end of an episode still open


class CohortMonth:
    """Works out proportions and events for any month from one History.

    Each episode's facts for an outcome (its event record, whether the rule holds, when its
    follow-up ends and whether the client came back) are found once, in Python; a window's
    counts and a month's events are then array comparisons over the provider's episodes."""

    def __init__(self, model: Model, history: History):
        assert model.cohort is not None
        self.model, self.cohort, self.history = model, model.cohort, history
        self.params = {n: p.value for n, p in model.parameters.items()}
        self.by_provider: dict[str, list[Episode]] = defaultdict(list)
        for e in history.episodes:
            self.by_provider[e.provider].append(e)
        self._rules: dict[str, Callable[[dict[str, Any]], bool]] = {}
        self._facts: dict[str, _Facts] = {}

    def window(self, month: Month) -> Window:
        return Window.ending(month, self.cohort.window_months, self.model.start)

    def rule(self, outcome: Outcome) -> Callable[[dict[str, Any]], bool]:
        """The outcome's rule as a test of a record's values, worked out once for each
        distinct set of the values it reads."""
        test = self._rules.get(outcome.name)
        if test is not None:
            return test
        when = outcome.when
        if when is None:
            def test(values: dict[str, Any]) -> bool:
                return False
        else:
            names = tuple(sorted(when.names))
            memo: dict[Any, bool] = {}
            one = names[0] if len(names) == 1 else None

            def test(values: dict[str, Any]) -> bool:
                key = values.get(one) if one is not None else tuple(map(values.get, names))
                try:
                    return memo[key]
                except KeyError:
                    memo[key] = held = self._evaluate(when, values)
                    return held
                except TypeError:  # a value that cannot be a key: work it out each time
                    return self._evaluate(when, values)
        self._rules[outcome.name] = test
        return test

    def _evaluate(self, when, values: dict[str, Any]) -> bool:
        try:
            return when.evaluate({**self.params, **{k: v for k, v in values.items()
                                                    if v is not None}}) is True
        except ExprError:
            return False

    def _follow(self, outcome: Outcome, episode: Episode,
                record: Record | None) -> tuple[date, date, Record | None] | None:
        """(start, end, re-presentation or None) of the follow-up after an episode's event
        record (None without one)."""
        if record is None:
            return None
        end = add_months(record.day, outcome.months)
        again = next((p for p in self.history.presentations.get(episode.client, [])
                      if record.day < p.day <= end), None)
        return record.day, end, again

    # -- facts, once per provider and outcome ------------------------------------------------
    def facts(self, provider: str) -> _Facts:
        found = self._facts.get(provider)
        if found is None:
            episodes = self.by_provider.get(provider, [])
            groups = sorted({e.group for e in episodes}, key=self.group_order)
            found = self._facts[provider] = _Facts(episodes, groups)
        return found

    def outcome_facts(self, outcome: Outcome, facts: _Facts) -> dict[str, Any]:
        import numpy as np

        done = facts.outcomes.get(outcome.name)
        if done is not None:
            return done
        n = len(facts.episodes)
        out: dict[str, Any] = {}
        test = self.rule(outcome)
        if outcome.event == "discharge":
            records = [d if (d := e.discharge) is not None and test(d.values) else None
                       for e in facts.episodes]
        if outcome.event == "first-review":
            # every review, flattened: its episode, its day, whether the rule holds; and each
            # episode's first review for which it holds (reviews are kept in date order)
            owner, day, held, rows = [], [], [], []
            records = []
            for i, e in enumerate(facts.episodes):
                first = None
                for r in e.reviews:
                    ok = test(r.values)
                    owner.append(i)
                    day.append(r.day.toordinal())
                    held.append(ok)
                    rows.append(r)
                    if ok and first is None:
                        first = r
                records.append(first)
            out["review_owner"] = np.array(owner, np.int64)
            out["review_day"] = np.array(day, np.int64)
            out["review_holds"] = np.array(held, bool)
            out["reviews"] = rows
        if outcome.event in ("discharge", "first-review"):
            out["record"] = records
            out["day"] = np.fromiter((r.day.toordinal() if r else -1 for r in records),
                                     np.int64, n)
        if outcome.event not in ("discharge", "first-review"):
            after = self.cohort.outcome(outcome.after or "")
            started = (self.outcome_facts(after, facts).get("record", [None] * n) if after
                       else [None] * n)
            follows = [self._follow(outcome, e, record)
                       for e, record in zip(facts.episodes, started, strict=True)]
            out["follow"] = follows
            out["end"] = np.fromiter((f[1].toordinal() if f else -1 for f in follows),
                                     np.int64, n)
            out["again"] = np.fromiter((f is not None and f[2] is not None for f in follows),
                                       bool, n)
        facts.outcomes[outcome.name] = out
        return out

    def figures_by_group(self, outcome: Outcome, facts: _Facts,
                         window: Window) -> list[OutcomeFigures]:
        """The outcome's numerator and denominator over the window, for each of the
        provider's groups (in facts.groups order)."""
        import numpy as np

        first, last = window.first.first_day.toordinal(), window.last.last_day.toordinal()
        size = len(facts.groups)
        of = self.outcome_facts(outcome, facts)
        if outcome.event == "discharge":
            den = (facts.start <= last) & (facts.end >= first)
            num = den & (of["day"] >= first) & (of["day"] <= last)
            dens = np.bincount(facts.group[den], minlength=size)
            nums = np.bincount(facts.group[num], minlength=size)
        elif outcome.event == "first-review":
            seen = (of["review_day"] >= first) & (of["review_day"] <= last)
            owners = np.unique(of["review_owner"][seen])
            holding = np.unique(of["review_owner"][seen & of["review_holds"]])
            dens = np.bincount(facts.group[owners], minlength=size)
            nums = np.bincount(facts.group[holding], minlength=size)
        else:
            den = (of["end"] >= first) & (of["end"] <= last)
            dens = np.bincount(facts.group[den], minlength=size)
            nums = np.bincount(facts.group[den & ~of["again"]], minlength=size)
        return [OutcomeFigures(int(nums[i]), int(dens[i]), window) for i in range(size)]

    def events(self, provider: str, month: Month) -> tuple[list[Evidence], dict[tuple[str, str], dict[str, Any]]]:
        """Every event of `provider` in `month` before the cap, and per (component, group)
        the figures of its payment line."""
        import numpy as np

        facts = self.facts(provider)
        episodes = facts.episodes
        window = self.window(month)
        first, last = month.first_day.toordinal(), month.last_day.toordinal()
        events: list[Evidence] = []
        lines: dict[tuple[str, str], dict[str, Any]] = {}
        tariff = self.cohort.tariff
        if tariff is not None:
            new_mask = facts.presented & (facts.start >= first) & (facts.start <= last)
            for gi, group in enumerate(facts.groups):
                price = round_pence(tariff.prices.get(group, Fraction(0)))
                new = [episodes[i] for i in np.flatnonzero(new_mask & (facts.group == gi))]
                for e in new:
                    assert e.presentation is not None
                    before = self._presented_before(e)
                    if before is None:
                        events.append(self._event(e, tariff.name, tariff.label, e.start, PAID,
                                                  price, "new presentation", e.presentation.source))
                    else:
                        events.append(self._event(
                            e, tariff.name, tariff.label, e.start, REFUSED, price,
                            f"presented within {tariff.churn_months} months "
                            f"({before.day.isoformat()} at {before.provider})", e.presentation.source))
                if new:
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
                found = sorted((t for t in found_all if t[0].group == group),
                               key=lambda t: (t[1].day, t[0].client))
                if fig.denominator == 0 and not found:
                    continue
                lines[(outcome.name, group)] = {
                    "numerator": fig.numerator, "denominator": fig.denominator,
                    "proportion": fig.proportion, "band": band_text, "price": price,
                    "events": sum(1 for _, _, status, _ in found if status == PAID),
                    "window": window}
                if outcome.reported_only:
                    continue
                for e, record, status, why in found:
                    reason = why or price_note or (f"{outcome.label.lower()}: band {band_text} "
                                                   f"at {format_percent(fig.proportion)}")
                    events.append(self._event(
                        e, outcome.name, outcome.label, record.day, status, price, reason,
                        record.source, fig, band_text))
        return events, lines

    def _outcome_events(self, outcome: Outcome, facts: _Facts, first: int,
                        last: int) -> list[tuple[Episode, Record, str, str]]:
        """The month's events of an outcome, in episode order (first, last: day ordinals)."""
        import numpy as np

        of = self.outcome_facts(outcome, facts)
        episodes = facts.episodes
        out: list[tuple[Episode, Record, str, str]] = []
        if outcome.event == "discharge":
            for i in np.flatnonzero((of["day"] >= first) & (of["day"] <= last)):
                out.append((episodes[i], of["record"][i], PAID, ""))
        elif outcome.event == "first-review":
            firsts = of["day"]
            # a holding review in the month, after the episode's first holding review
            owner, day = of["review_owner"], of["review_day"]
            later = ((day >= first) & (day <= last) & of["review_holds"]
                     & (firsts[owner] >= 0) & (day > firsts[owner]))
            refused: dict[int, list[int]] = defaultdict(list)
            for k in np.flatnonzero(later):
                refused[int(owner[k])].append(int(k))
            paid = set(np.flatnonzero((firsts >= first) & (firsts <= last)).tolist())
            for i in sorted(paid | set(refused)):
                e, record = episodes[i], of["record"][i]
                if i in paid:
                    out.append((e, record, PAID, ""))
                for k in refused.get(i, []):
                    out.append((e, of["reviews"][k], REFUSED, f"already paid for this episode "
                                f"(first on {record.day.isoformat()})"))
        else:
            after = self.cohort.outcome(outcome.after or "")
            assert after is not None  # a follow-up has an event to follow
            started_by = self.outcome_facts(after, facts)["record"]
            for i in np.flatnonzero((of["end"] >= first) & (of["end"] <= last)):
                e = episodes[i]
                start, end, again = of["follow"][i]
                # the follow-up is evidenced by the row of the event it follows
                started = started_by[i]
                assert started is not None
                record = Record(e.provider, e.client, end, {}, started.source)
                if again is None:
                    out.append((e, record, PAID, f"no presentation from {start.isoformat()} to "
                                f"{end.isoformat()}"))
                else:
                    out.append((e, record, REFUSED, f"presented again within {outcome.months} "
                                f"months ({again.day.isoformat()} at {again.provider})"))
        return out

    def _presented_before(self, episode: Episode) -> Record | None:
        tariff = self.cohort.tariff
        assert tariff is not None and episode.presentation is not None
        since = add_months(episode.start, -tariff.churn_months)
        earlier = [p for p in self.history.presentations.get(episode.client, [])
                   if since <= p.day < episode.start]
        return earlier[-1] if earlier else None

    def _event(self, e: Episode, component: str, label: str, day: date, status: str,
               price: Decimal, reason: str, source: Source, fig: OutcomeFigures | None = None,
               band: str = "") -> Evidence:
        if status == PAID and price == 0:
            status = NIL
        return Evidence(
            provider=e.provider, client=e.client, component=component, component_label=label,
            day=day, group=e.group, status=status, price=price,
            amount=price if status == PAID else Decimal("0.00"), reason=reason, source=source,
            proportion=fig.proportion if fig else None, numerator=fig.numerator if fig else None,
            denominator=fig.denominator if fig else None, band=band,
            window=fig.window if fig else None)

    def group_order(self, code: str) -> tuple[int, str]:
        codes = list(self.model.codes[self.cohort.group_codes].values) \
            if self.cohort.group_codes in self.model.codes else []
        return (codes.index(code) if code in codes else len(codes), code)


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


def fy_label(month: Month) -> str:
    start = financial_year_start(month.first_day)
    return f"{start.year}/{str(start.year + 1)[-2:]}"


def fy_months(model: Model, month: Month) -> list[Month]:
    """The months of `month`'s financial year before it, from the scheme start."""
    first = Month.of(max(financial_year_start(month.first_day), model.start))
    return [m for m in Window(first, month).months() if m != month]
