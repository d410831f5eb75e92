"""What a publication release has and says of itself (docs/publication.md): the full grid of
its month figures, worked out from the register and the model, never from the data; the
returns it lacks, per provider and month; what changed since the last release of the same
months; and its key's fingerprint, held against every earlier release of the scheme, in the
ledger and in the output folder.

No Excel, no Typer, no rich.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pbr_cli.errors import PbrError
from pbr_cli.ledger.publication_key import fingerprint  # noqa: F401  (re-exported)
from pbr_cli.ledger.records import StoredPublication
from pbr_cli.pricing.records import ProviderStatus
from pbr_cli.pricing.worth import PeriodSchedules
from pbr_cli.reporting.counts import BOTH, Item


def _name(atom: tuple[str, ...]) -> str:
    return "|".join(atom)


@dataclass(frozen=True)
class Grid:
    """Every month figure a publication has, worked out from what is public (the register's
    providers in each month, the model's items and group codes), never from the data: a
    figure is there, as 0 before rounding, whether anything happened in its cell or not."""

    providers: dict[str, list[str]]  # month -> the register's providers that month
    items: list[str]
    groups: dict[str, list[str]]  # group column -> its codes

    def cells(self) -> Iterable[tuple[str, ...]]:
        combos: list[tuple[str, ...]] = [()]
        for values in self.groups.values():
            combos = [(*c, v) for c in combos for v in values]
        for month, providers in self.providers.items():
            for p in providers:
                for item in self.items:
                    for c in combos:
                        for measure in BOTH:
                            yield (p, month, item, *c, measure)

    def describe(self) -> str:
        """The grid in words: only what the register and the model say."""
        months = len(self.providers)
        counts = sorted({len(p) for p in self.providers.values()})
        who = (f"{counts[0]} provider(s)" if len(counts) == 1
               else f"{counts[0]} to {counts[-1]} providers")
        size = sum(1 for _ in self.cells())
        parts = [who, f"{len(self.items)} item(s)",
                 *(f"{len(v)} {g} code(s)" for g, v in self.groups.items()),
                 f"{months} month(s)", "2 counts (of which, and the rest)"]
        return f"{size:,} month figures: the full grid of " + " × ".join(parts)


def full_grid(ps: PeriodSchedules, items: list[Item], groups: list[str],
              group_codes: str | None) -> Grid:
    model = ps.model
    values = {}
    for g in groups:
        col = model.register.column(g)
        name = col.codes if col is not None and col.codes else group_codes
        codes = model.codes.get(name) if name else None
        if codes is None:
            raise PbrError(f"the publication's group {g} has no code list in the model: its "
                           "values would come from the data; nothing was written",
                           code="not-publishable")
        values[g] = list(codes.values)
    return Grid({str(s.month): sorted(p.provider for p in s.providers) for s in ps.schedules},
                [i.key for i in items], values)


_WHY = {"missing": "no return", "faulty": "return with errors"}


def lacking_of(ps: PeriodSchedules) -> list[dict[str, str]]:
    """Each provider's month without an accepted return, and why."""
    out = []
    for s in ps.schedules:
        for p in sorted(s.providers, key=lambda p: p.provider):
            if p.status == ProviderStatus.WITHHELD:
                out.append({"provider": p.provider, "month": str(s.month),
                            "why": "missing" if p.return_file is None else "faulty"})
    return out


def changes_since(pub: Any, earlier: Iterable[StoredPublication]) -> dict[str, Any] | None:
    """What changed since the last release that published any of the same months: returns
    added, corrected or now lacking (per provider and month), and the months whose figures
    were revised."""
    mine = {str(m) for m in pub.months}
    last = None
    for row in earlier:
        theirs = set(row.facts.get("months") or {n.split("|")[1] for n in row.month_figures})
        if theirs & mine:
            last = (row, sorted(theirs & mine))
    if last is None:
        return None
    row, common = last
    returns = []
    if "lacking" in row.facts:
        was = {(d["provider"], d["month"]): d["why"] for d in row.facts["lacking"]}
        now = {(d["provider"], d["month"]): d["why"] for d in pub.lacking}
        for key in sorted(set(was) | set(now), key=lambda k: (k[1], k[0])):
            before, after = was.get(key), now.get(key)
            if key[1] in common and before != after:
                what = (("return added" if before == "missing" else "return corrected")
                        if after is None else
                        "return now missing" if after == "missing" else "return now with errors")
                returns.append({"provider": key[0], "month": key[1], "what": what})
    then = row.month_figures
    now_true = {_name(a): x for a, x in pub.true.items()}
    names = {n for n in [*then, *now_true] if n.split("|")[1] in common}
    revised = sorted({n.split("|")[1] for n in names
                      if (then[n][0] if n in then else 0) != now_true.get(n, 0)})
    return {"release": row.id, "period": row.period, "months": common, "returns": returns,
            "revised_months": revised}


@dataclass(frozen=True)
class EarlierRelease:
    """A release found in the output folder: what its About sheet says of it."""

    where: str  # the file's name
    sha256: str
    scheme: str  # the scheme's title
    model: str  # the model's name
    identity: str
    months: tuple[str, ...]
    fingerprint: str  # "" on a release made before fingerprints were shown


def check_history(pub: Any, rows: Iterable[StoredPublication],
                  found: Iterable[EarlierRelease]) -> list[StoredPublication]:
    """Hold this release against every earlier one of the same scheme (the same identity,
    model name or title), in the ledger (`rows`, every scheme's) and in the output folder
    (`found`): one that published any of the same months under another key, or under an item
    name the model no longer has, is refused (the months would be rounded afresh). Returns
    the ledger's releases of the scheme under this key, for the audit."""
    model, mine = pub.model, {str(m) for m in pub.months}
    ours = {"identity": pub.identity, "model": model.name, "title": model.title}
    same_key: list[StoredPublication] = []
    recorded = set()
    for row in rows:
        recorded.add(row.output_sha256)
        facts = row.facts
        theirs = {"identity": facts.get("identity", row.model), "model": row.model,
                  "title": facts.get("title")}
        if not any(theirs[k] == ours[k] for k in ours):
            continue
        was = facts.get("fingerprint")
        months = set(facts.get("months") or {n.split("|")[1] for n in row.month_figures})
        common = sorted(months & mine)
        if was is not None and was != pub.fingerprint:
            if common:
                raise PbrError(
                    f"publication {row.id} ({row.model} {row.period}) published {', '.join(common)} "
                    f"under the publication key with fingerprint {was}; this one would round "
                    f"them with {pub.fingerprint} (identity {pub.identity}): the same months "
                    "rounded twice could be narrowed. Publish with the key that made it (the "
                    "authority's key file; for a ledger made before key files, `pbr "
                    "publication key export` writes its key to one); nothing was written",
                    code="not-publishable")
            continue
        if theirs["identity"] != pub.identity:
            if common and was is not None:
                raise PbrError(
                    f"publication {row.id} ({row.model} {row.period}) published "
                    f"{', '.join(common)} of this scheme as {theirs['identity']}; this one "
                    f"is {pub.identity}, whose records' keys differ: the same months rounded "
                    "twice could be narrowed. Set the model's `report.publish_identity: "
                    f"{theirs['identity']}`; nothing was written", code="not-publishable")
            continue
        gone = sorted({n.split("|")[2] for n in row.month_figures
                       if n.split("|")[1] in mine and n.split("|")[2] not in pub.grid.items
                       and n.split("|")[2] not in pub.renamed})
        if gone:
            raise PbrError(
                f"publication {row.id} ({row.period}) published {', '.join(common)} with "
                f"figures of {', '.join(gone)}, which the model no longer has (renamed?), and "
                "whose records no figure here counts: the same events under a new name, "
                "changed since, would be rounded afresh. Keep the name for these months; "
                "nothing was written", code="not-publishable")
        same_key.append(row)
    for r in found:
        if r.sha256 in recorded or not ({r.scheme, r.model, r.identity}
                                        & {model.title, model.name, pub.identity}):
            continue
        common = sorted(set(r.months) & mine)
        if common and r.fingerprint == pub.fingerprint and r.identity != pub.identity:
            raise PbrError(
                f"the output folder holds {r.where}, a release of {', '.join(common)} of this "
                f"scheme as {r.identity}; this one is {pub.identity}, whose records' keys "
                "differ: the same months rounded twice could be narrowed. Set the model's "
                f"`report.publish_identity: {r.identity}`; nothing was written",
                code="not-publishable")
        if common and r.fingerprint != pub.fingerprint:
            under = (f"under the key with fingerprint {r.fingerprint}" if r.fingerprint
                     else "before releases showed their key's fingerprint")
            raise PbrError(
                f"the output folder holds {r.where}, a release of {', '.join(common)} of this "
                f"scheme made {under} and not recorded in this ledger; this one would round "
                f"them with {pub.fingerprint}: the same months rounded twice could be "
                "narrowed. Publish with the ledger that made it; nothing was written",
                code="not-publishable")
    return same_key


def renamed_items(rows: Iterable[StoredPublication], fp: str, identity: str,
                  tags: dict[tuple[str, ...], str], items: list[str]) -> dict[str, str]:
    """Items of earlier releases (same key and identity) the model no longer has, whose
    records a figure here counts: old name -> new (a component renamed). Their figures are
    the new item's, frozen as first published (the releases' figures read under the new
    name), so a month revised since keeps its first rounding under the new name too."""
    now = {t: a[2] for a, t in tags.items()}
    out: dict[str, str] = {}
    for row in rows:
        facts = row.facts
        if facts.get("fingerprint", fp) != fp or facts.get("identity", row.model) != identity:
            continue
        for name, t in row.records.items():
            item, new = name.split("|")[2], now.get(t)
            if new is not None and new != item and item not in items:
                out.setdefault(item, new)
    return out


def error_of(n: int, base: int) -> tuple[float, int]:
    """A sum of n rounded month figures: its expected distance from the truth, worked out
    from the grid alone (each remainder taken as equally likely, never the true ones, which
    would tell them), and the most it can be. One figure's error has variance
    (b² − 1) / 6 over remainders; a sum's is about normal: E|e| = sd × √(2/π)."""
    import math

    if n == 0:
        return 0.0, 0
    sd = math.sqrt(n * (base * base - 1) / 6)
    return min(sd * math.sqrt(2 / math.pi), n * (base - 1)), n * (base - 1)


def describe_accuracy(grid: Grid, base: int) -> str:
    """The expected and worst error of each kind of figure in the release, from its grid."""
    groups = 1
    for values in grid.groups.values():
        groups *= len(values)
    months = len(grid.providers)
    providers = max((len(p) for p in grid.providers.values()), default=0)
    kinds = [("one provider's month", 2 * groups), ("all providers' month", 2 * groups * providers),
             (f"one provider over the {months} month(s)", 2 * groups * months),
             (f"all providers over the {months} month(s)", 2 * groups * providers * months)]
    said = []
    for what, n in kinds:
        mean, worst = error_of(n, base)
        said.append(f"{what} {mean:.1f} on average or less, at most {worst}")
    return ("How far a count may be from the truth, from the grid alone (each count is a sum "
            "of rounded figures; empty cells round to themselves, so the average is less): "
            + "; ".join(said) + ". A share worked out from small counts may be far off, and "
            "100% may be shown where the truth is below it (docs/publication.md, Accuracy).")
