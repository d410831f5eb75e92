"""A publication: what a period report may show the public, and the audit that proves it.

The method (docs/publication.md). A publication shows counts of people's events and outcomes
only: no money, no rolling proportions, no bands, nothing a provider wrote, no path. Every
count is built from **month figures**: one count of one provider's month, for one component
(or counted measure) and group. Each month figure is rounded at random to a multiple of the
model's `publish_min_count` (b): a figure x with remainder r = x mod b goes up to the next
multiple with probability r/b, else down; so rounding is unbiased. The draw comes from a
keyed hash (HMAC-SHA-256) of the keys of the records it counts, each record's key made from
the record's own identity under the authority's publication key (kept in a key file, outside
the ledger): the same records round the same way in every publication, ledger and name (a
cell key from record keys, pbr_cli/reporting/record_keys.py). Every figure shown is a sum of
rounded month figures, and every
share is worked out from figures shown. So whatever anyone combines, across tables and across
publications, the most they can learn is the rounded month figures, and a rounded figure R
says only that the true one lies between R − (b − 1) and R + (b − 1) (never below 0): at least
b possible values.

Before anything is written the audit checks exactly that: every figure is the sum of the
month figures it names, rounded with the authority's key; and, against every earlier
publication of the scheme in the ledger, a month figure with the same records was shown the
same. A release names the returns it lacks and what changed since the last release of
its months; one with nothing to count is refused.

No Excel, no Typer, no rich.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from pbr_cli.errors import PbrError
from pbr_cli.ledger.records import StoredPublication
from pbr_cli.model.records import PUBLISH_FLOOR, Model
from pbr_cli.periods import Month
from pbr_cli.pricing.worth import Excluded, PeriodSchedules
from pbr_cli.reporting.cells import Column, ColumnKind, Table
from pbr_cli.reporting.counts import BOTH, OF_WHICH, REST, Item  # noqa: F401  (REST re-exported)
from pbr_cli.reporting.kinds import MonthFigures, reporting_kind
from pbr_cli.reporting.publication_release import (
    _WHY,
    EarlierRelease,
    Grid,
    _name,
    changes_since,
    check_history,
    fingerprint,
    full_grid,
    lacking_of,
    renamed_items,
)
from pbr_cli.reporting.record_keys import Records, cell_key, records_tag
from pbr_cli.reporting.report import covers
from pbr_cli.reporting.slices import group_label

ALL = "*"
METHOD = "random rounding of month figures, cell key from record keys (HMAC-SHA-256)"


@dataclass
class Publication:
    """Duck-types the parts of report.Report that the outputs read."""

    model: Any
    period: Any
    months: list[Month]
    excluded: list[Excluded]
    base: int
    tables: dict[str, Table]
    rounded: dict[tuple[str, ...], int]  # month figure -> its rounded value
    true: dict[tuple[str, ...], int]  # month figure -> its true value (recorded, not shown)
    sums: list[tuple[int, frozenset]]  # every figure shown, with the month figures it adds
    grid: Grid  # every month figure there is, from the register and the model
    identity: str  # the scheme's publication identity (part of every record's key)
    fingerprint: str  # the key's fingerprint (never the key)
    audit: list[str] = field(default_factory=list)  # what the audit proved, in words
    earlier: int = 0
    # each provider's month without an accepted return: {provider, month, why}
    lacking: list[dict[str, str]] = field(default_factory=list)
    # what changed since the last release of any of the same months (None: there was none)
    changes: dict[str, Any] | None = None
    # each month figure as first published (true, shown), by name: a revision adds to it
    first: dict[str, tuple[int, int]] = field(default_factory=dict)
    records: Records = field(default_factory=dict)  # month figure -> its records' identities
    tags: dict[tuple[str, ...], str] = field(default_factory=dict)  # non-empty ones' tags
    renamed: dict[str, str] = field(default_factory=dict)  # items renamed: old -> new name
    publish: bool = True

    @property
    def threshold(self) -> int:
        return self.base

    def value(self, cell: Any) -> Any:
        return cell

    def rows(self, table: Table) -> list[list[Any]]:
        return [*table.rows, *([table.total] if table.total is not None else [])]

    @property
    def covers(self) -> str:
        return covers(self.months)

    def describe_coverage(self) -> str:
        text = (f"Period {self.period.describe()}. Published: {len(self.months)} month(s), "
                f"{self.months[0]} to {self.months[-1]} ({self.covers}).")
        if self.excluded:
            text += " Not published: " + ", ".join(str(e.month) for e in self.excluded) + "."
        return text

    def method(self) -> str:
        b = self.base
        return (f"Counts only (no money, proportions or bands). Each count of one provider's "
                f"month is rounded at random to a multiple of {b} (up with probability "
                f"remainder/{b}, so totals are unbiased), drawn from the keys of the records it "
                "counts under the authority's publication key: the same records round the same "
                "way in every publication; a month published before is "
                "shown as first published, plus any later change rounded on its own. Every "
                "figure is a sum of "
                "rounded month figures, and every share is worked out from figures shown, so "
                "figures may not add up to the unpublished ones.")

    def describe_lacking(self) -> str:
        if not self.lacking:
            return ("None: every provider's return for every month published was received "
                    "and accepted.")
        by: dict[str, list[str]] = defaultdict(list)
        for d in self.lacking:
            by[d["provider"]].append(f"{d['month']} ({_WHY[d['why']]})")
        return ("; ".join(f"{p}: {', '.join(ms)}" for p, ms in sorted(by.items()))
                + ". A provider's month without an accepted return counts nothing: its "
                "figures are 0 and the all-provider totals leave it out.")

    def describe_changes(self) -> str:
        c = self.changes
        if c is None:
            return "First release of these months."
        said = [f"{d['provider']}'s {d['month']} {d['what']}" for d in c["returns"]]
        if c["revised_months"]:
            said.append("figures of " + ", ".join(c["revised_months"]) + " revised (late or "
                        "corrected returns)")
        return (f"Release {c['release']} ({c['period']}) published "
                f"{', '.join(c['months'])}: " + ("; ".join(said) if said else "nothing changed")
                + ".")

    def figures_json(self) -> str:
        """What the ledger records of this publication: its base, months and the returns it
        lacked, and each month figure, true and shown."""
        return json.dumps({"base": self.base, "months": [str(m) for m in self.months],
                           "lacking": self.lacking, "identity": self.identity,
                           "fingerprint": self.fingerprint, "title": self.model.title,
                           "figures": {_name(a): [self.true[a], self.rounded[a]]
                                       for a in sorted(self.true)},
                           "records": {_name(a): t for a, t in sorted(self.tags.items())}},
                          sort_keys=True, separators=(",", ":"))


def round_figure(cell: bytes, x: int, base: int) -> int:
    """x rounded at random to a multiple of base, the draw fixed by the cell's key (so the
    same records always round the same)."""
    r = x % base
    if r == 0:
        return x
    draw = int.from_bytes(cell[:8], "big")  # uniform on 0 .. 2**64 - 1
    return x - r + (base if draw * base < r * 2**64 else 0)


def shown_value(key: bytes, identity: str, records: list[str], base: int,
                first: tuple[int, int] | None) -> int:
    """A month figure as shown: its x = len(records) rounded by its cell key; or, for a
    month published before with another true value x1 (shown as r1), r1 plus the change
    x - x1 rounded on its own, its draw made afresh from the records and x1 (so a revision
    tells nothing of x1; docs/publication.md, Revisions)."""
    x = len(records)
    if first is None:
        return round_figure(cell_key(key, identity, records), x, base)
    if first[0] == x:
        return first[1]
    change = round_figure(cell_key(key, identity, records, f"revision of {first[0]}"),
                          x - first[0], base)
    return max(0, first[1] + change)  # (never below 0: it would tell that the month fell)


def first_published(rows: Iterable[StoredPublication], fp: str, identity: str, b: int,
                    renamed: dict[str, str] | None = None,
                    ) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
    """Each month figure as the authority's key first published it, (true, shown): by name, and
    by its records' tag (the same records under a name since changed). A release of the
    scheme to another base is refused (the base never changes)."""
    out: dict[str, tuple[int, int]] = {}
    by_records: dict[str, tuple[int, int]] = {}
    for row in rows:
        facts = row.facts
        if facts.get("fingerprint", fp) != fp or facts.get("identity", row.model) != identity:
            continue
        was_base = facts.get("base")
        if was_base is None and any(v[1] % b for v in row.month_figures.values()):
            was_base = "another base"
        if was_base is not None and was_base != b:
            raise PbrError(f"publication {row.id} ({row.period}) rounded the scheme's month "
                           f"figures to multiples of {was_base}; the model's base is now {b} "
                           "(report.publish_min_count). The base of a published scheme cannot "
                           "change: the same months rounded to two bases could be narrowed. "
                           f"Set it back to {was_base}; nothing was written",
                           code="not-publishable")
        tags = row.records
        for name, (x, r) in row.month_figures.items():
            parts = name.split("|")
            if renamed and parts[2] in renamed:  # (read under the item's new name)
                out.setdefault("|".join([*parts[:2], renamed[parts[2]], *parts[3:]]), (x, r))
            out.setdefault(name, (x, r))
            if name in tags:
                by_records.setdefault(tags[name], (x, r))
    return out, by_records


def items_of(model: Model) -> list[Item]:
    """What a publication counts: for models whose lines carry events, each component's
    events and those paid; otherwise each rate of the report that counts people's outcomes."""
    return reporting_kind(model).publication_items(model)


def month_figures(ps: PeriodSchedules, items: list[Item], groups: list[str]) -> dict[tuple[str, ...], int]:
    """The true month figures: (provider, month, item, *group values, OF_WHICH or REST) ->
    count."""
    kind = reporting_kind(ps.model)
    out: MonthFigures = defaultdict(int)
    for s in ps.schedules:
        kind.add_month_figures(s, items, groups, out)
    return dict(out)


def _share(num: int, den: int) -> int | None:
    """num / den as a whole percent, halves up; None without a denominator."""
    if den <= 0:
        return None
    return int((Fraction(100 * num, den) + Fraction(1, 2)) // 1)


def publication_identity(model: Model) -> str:
    """The scheme's publication identity: part of every record's key (default: the model's
    name; `report.publish_identity` keeps it across a rename)."""
    return model.report.publish_identity or model.name


def something_to_publish(ps: PeriodSchedules) -> list[dict[str, str]]:
    """Refuse a publication with nothing to count (checked before a key is made); returns
    the provider months it lacks."""
    items = items_of(ps.model)
    lacking = lacking_of(ps)
    if not items:
        raise PbrError(f"nothing to publish for {ps.period.describe()}: the model counts "
                       "nothing a publication shows (no payment component, no rate marked "
                       "`counts: true`); nothing was written", code="not-publishable")
    if len(lacking) == sum(len(s.providers) for s in ps.schedules):
        raise PbrError(f"nothing to publish for {ps.period.describe()}: no provider's return "
                       "for any of its months was received and accepted ("
                       + ", ".join(f"{d['provider']} {d['month']}" for d in lacking[:6])
                       + (", …" if len(lacking) > 6 else "") + "); nothing was written or "
                       "recorded", code="not-publishable")
    return lacking


def month_records(ps: PeriodSchedules, items: list[Item], groups: list[str]) -> Records:
    """Each month figure's records (pbr_cli/reporting/record_keys.py), every month."""
    kind = reporting_kind(ps.model)
    out: Records = {}
    for s in ps.schedules:
        out.update(kind.month_records(s, items, groups))
    return out


def build_publication(ps: PeriodSchedules, key: bytes,
                      earlier: Iterable[StoredPublication] = (),
                      found: Iterable[EarlierRelease] = ()) -> Publication:
    """The publication of a period from its months' schedules, rounded with the authority's
    publication key and audited against the earlier publications (ledger rows, of every scheme; and
    releases `found` in the output folder) before it is returned."""
    model = ps.model
    base = model.report.publish_min_count
    _floor(base)
    kind = reporting_kind(model)
    groups = kind.publication_groups(model)
    items = items_of(model)
    lacking = something_to_publish(ps)
    true = month_figures(ps, items, groups)
    grid = full_grid(ps, items, groups, kind.group_codes(model))
    for atom in grid.cells():
        true.setdefault(atom, 0)  # every cell of the grid has its figure, 0 where empty
    identity = publication_identity(model)
    records = month_records(ps, items, groups)
    for atom, x in true.items():
        records.setdefault(atom, [])
        if len(records[atom]) != x:  # (each count is of its records, one by one)
            raise PbrError(f"the month figure {_name(atom)} counts {x}, but "
                           f"{len(records[atom])} record(s); nothing was written",
                           code="not-publishable")
    records = {a: records[a] for a in true}
    tags = {a: records_tag(cell_key(key, identity, r)) for a, r in records.items() if r}
    earlier = list(earlier)
    renamed = renamed_items(earlier, fingerprint(key), identity, tags, items=grid.items)
    by_name, by_records = first_published(earlier, fingerprint(key), identity, base, renamed)
    was_shown: dict[str, tuple[int, int]] = {}
    for a in true:
        was = by_name.get(_name(a)) or by_records.get(tags.get(a, ""))
        if was is not None:
            was_shown[_name(a)] = was
    rounded = {a: shown_value(key, identity, records[a], base, was_shown.get(_name(a)))
               for a in sorted(true)}
    sums: list[tuple[int, frozenset]] = []
    months = [str(s.month) for s in ps.schedules]
    providers = sorted({a[0] for a in true})
    if set(providers) - {p for ps_ in grid.providers.values() for p in ps_}:
        raise PbrError("a month figure's provider is not in the register; nothing was written",
                       code="not-publishable")

    def total(**match: Any) -> int:
        """The sum of the rounded month figures that match (provider, month, item, measure,
        and groups by name), noted for the audit."""
        atoms = frozenset(a for a in rounded if _matches(a, match, groups))
        value = sum(rounded[a] for a in atoms)
        sums.append((value, atoms))
        return value

    tables: dict[str, Table] = {}
    shown_items = items  # every item, with or without events: the grid, not the data
    # -- by provider, over the period ---------------------------------------------------------
    cols = [Column("item", "Counted", ColumnKind.TEXT), Column("provider", "Provider", ColumnKind.TEXT),
            Column("first", "Count", ColumnKind.COUNT), Column("second", "Of which", ColumnKind.COUNT),
            Column("share", "Share (%)", ColumnKind.INTEGER)]
    rows = []
    for item in shown_items:
        for p in [*providers, ALL]:
            first = total(provider=p, item=item.key, measure=BOTH)
            second = total(provider=p, item=item.key, measure=OF_WHICH)
            rows.append([item.label, "All providers" if p == ALL else p, first, second,
                         _share(second, first)])
    pairs = sorted({f"{i.first_label.lower()}, and of which {i.second_label.lower()}"
                    for i in shown_items})
    tables["providers"] = Table(
        "providers", "Counts over the period, by provider", cols, rows, None,
        f"Count: {'; or '.join(pairs)}. " + _ROUNDED)
    # -- month by month, all providers ----------------------------------------------------------
    cols = [Column("item", "Counted", ColumnKind.TEXT), Column("measure", "Count", ColumnKind.TEXT)]
    cols += [Column(m, Month.parse(m).label()[:3] + " " + m[:4], ColumnKind.COUNT) for m in months]
    cols.append(Column("period", "Period", ColumnKind.COUNT))
    rows = []
    for item in shown_items:
        for measure, label in ((BOTH, item.first_label), (OF_WHICH, item.second_label)):
            rows.append([item.label, label,
                         *(total(month=m, item=item.key, measure=measure) for m in months),
                         total(item=item.key, measure=measure)])
    tables["months"] = Table("months", "Month by month, all providers", cols, rows, None,
                             _ROUNDED)
    # -- by group, all providers -------------------------------------------------------------
    for g in groups:
        values = grid.groups[g]
        heading = group_label(model, g, kind.group_codes(model))
        cols = [Column("item", "Counted", ColumnKind.TEXT), Column("group", heading, ColumnKind.TEXT),
                Column("first", "Count", ColumnKind.COUNT), Column("second", "Of which", ColumnKind.COUNT),
                Column("share", "Share (%)", ColumnKind.INTEGER)]
        rows = []
        for item in shown_items:
            for v in values:
                first = total(item=item.key, measure=BOTH, **{g: v})
                second = total(item=item.key, measure=OF_WHICH, **{g: v})
                rows.append([item.label, v, first, second, _share(second, first)])
        tables[f"group_{g}"] = Table(f"group_{g}", f"By {heading.lower()}, all "
                                     "providers", cols, rows, None, _ROUNDED)
    pub = Publication(model, ps.period, list(s.month for s in ps.schedules), ps.excluded, base,
                      tables, rounded, true, sums, grid, identity, fingerprint(key),
                      lacking=lacking, first=was_shown, records=records, tags=tags,
                      renamed=renamed)
    earlier = check_history(pub, earlier, found)
    audit(pub, key, earlier)
    pub.changes = changes_since(pub, earlier)
    return pub


_ROUNDED = ("Each provider's month is rounded at random to a multiple of the publication's "
            "base; figures here are sums of those, and shares are worked out from them.")


def _matches(atom: tuple[str, ...], match: dict[str, Any], groups: list[str]) -> bool:
    where = {"provider": 0, "month": 1, "item": 2, "measure": len(atom) - 1}
    for name, value in match.items():
        if value == ALL:
            continue
        at = where.get(name)
        if at is None:
            at = 3 + groups.index(name)
        if atom[at] != value and not (isinstance(value, tuple) and atom[at] in value):
            return False
    return True


def possible_values(shown: int, base: int) -> int:
    """How many true values a month figure shown as `shown` may have: R - (b - 1) to
    R + (b - 1), never below 0 (b at R = 0, 2b - 1 above)."""
    return (shown + base - 1) - max(0, shown - (base - 1)) + 1


def _floor(base: int) -> None:
    """Refuse a base that would leave a month figure fewer than PUBLISH_FLOOR values."""
    if possible_values(0, base) < PUBLISH_FLOOR:
        raise PbrError(f"the publication's base is {base}: a month figure shown as 0 could be "
                       f"narrowed to {possible_values(0, base)}, fewer than {PUBLISH_FLOOR} "
                       "possible values (the base is at least "
                       f"{PUBLISH_FLOOR}); nothing was written", code="not-publishable")


def audit(pub: Publication, key: bytes, earlier: Iterable[StoredPublication]) -> None:
    """Attack the publication before it is written; raise PbrError if anything shown could
    tell more than the rounded month figures. Fills pub.audit with what it proved."""
    b, name = pub.base, pub.identity
    # 1. Every month figure is rounded with the authority's key from its records, to a
    #    multiple of b, within b (a revised one: as first published, plus its change rounded,
    #    within 2b - 1).
    for atom, x in pub.true.items():
        r = pub.rounded[atom]
        was = pub.first.get(_name(atom))
        near = b if was is None or was[0] == x else 2 * b - 1
        if (len(pub.records[atom]) != x
                or r != shown_value(key, name, pub.records[atom], b, was) or r % b or r < 0
                or abs(r - x) >= near):
            raise PbrError(f"the publication's month figure {_name(atom)} is not rounded as "
                           "the method says; nothing was written", code="not-publishable")
    # 2. Every figure shown is the sum of the rounded month figures it names: nothing else.
    for value, atoms in pub.sums:
        if value != sum(pub.rounded[a] for a in atoms):
            raise PbrError("a published figure is not a sum of rounded month figures; nothing "
                           "was written", code="not-publishable")
    # 3. Earlier publications of the scheme: the same month with the same data, or the same
    #    records under any name, was shown the same; a month whose data changed since is a
    #    revision, said.
    mine = {_name(a): (pub.true[a], pub.rounded[a]) for a in pub.true}
    mine_by_records = {t: (pub.true[a], pub.rounded[a]) for a, t in pub.tags.items()}
    count = 0
    for row in earlier:
        count += 1
        tags = row.records
        for figure, (was_true, was_shown) in row.month_figures.items():
            now = mine.get(figure)
            same = mine_by_records.get(tags.get(figure, ""))
            if same is not None and same[1] != was_shown:
                raise PbrError(f"publication {row.id} ({row.period}) showed the month "
                               f"figure {figure} as {was_shown}; the same records are shown "
                               f"as {same[1]} here; nothing was written",
                               code="not-publishable")
            if now is None:
                continue
            if now[0] == was_true and now[1] != was_shown:
                raise PbrError(f"publication {row.id} ({row.period}) showed the month "
                               f"figure {figure} as {was_shown}; with the same data this one "
                               f"shows {now[1]} (the authority's publication key has changed?); "
                               "nothing was written", code="not-publishable")
    pub.earlier = count
    # 4. What anyone can learn of a month figure, from all of them: R - (b-1) .. R + (b-1).
    narrowest = min((possible_values(r, b) for a, r in pub.rounded.items()
                     if pub.first.get(_name(a), (pub.true[a],))[0] == pub.true[a]),
                    default=b)  # (a revised figure is r1 + a rounded change: wider still)
    if narrowest < PUBLISH_FLOOR:  # (a base of at least the floor never leaves fewer)
        raise PbrError(f"a month figure could be narrowed to {narrowest}, fewer than "
                       f"{PUBLISH_FLOOR} possible values; nothing was written",
                       code="not-publishable")
    pub.audit = [
        f"Every figure shown is a sum of rounded month figures ({pub.grid.describe()}, "
        f"each rounded to a multiple of {b} by the keys of the records it counts): checked "
        "one by one.",
        f"Against {count} earlier publication(s) of the scheme in the ledger: every month "
        "figure with the same records, under any name, is shown the same.",
        f"From everything published, no count of a provider's month can be narrowed to fewer "
        f"than {b} possible values (a figure shown as 0 may be 0 to {b - 1}; one shown "
        f"as {b} may be 1 to {2 * b - 1}); no money, proportion, band, client id, file name or "
        "path is shown.",
    ]
