"""How each provider's return stood in each month of a period (used, late, resubmitted,
missing, faulty, none), the returns table, and the flags for the evaluation."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any

from pbr_cli.ledger.records import InputRole
from pbr_cli.ledger.store import Ledger
from pbr_cli.money import format_money, format_percent
from pbr_cli.periods import Month
from pbr_cli.pricing.records import PAID
from pbr_cli.reporting.cells import Column, ColumnKind, Fact, Table
from pbr_cli.reporting.slices import Slices
from pbr_cli.returns.versions import named_for


class ReturnState(StrEnum):
    """How a provider's return stood in a month of the period."""

    USED = "used"  # received and used
    LATE = "late"  # arrived after the month was first calculated (from the ledger)
    RESUBMITTED = "resubmitted"  # replaced by a corrected version
    MISSING = "missing"  # no return: nothing paid
    FAULTY = "faulty"  # errors, or could not be read: nothing paid
    NONE = "none"  # no active contract that month


Statuses = dict[tuple[str, Month], tuple[ReturnState, str]]  # (provider, month) -> (state, detail)


@dataclass(frozen=True)
class Flag:
    """Something the evaluation should look at for one provider."""

    provider: str
    name: str
    flag: str
    detail: str


def return_statuses(sl: Slices, ledger: Ledger | None) -> Statuses:
    """Each provider's return in each month, with the detail behind its state."""
    out: Statuses = {}
    unreadable: dict[tuple[str, str], list[str]] = defaultdict(list)
    for u in sl.ps.collection.unreadable:
        owner = named_for(u.path, sl.providers)
        if owner is not None:
            unreadable[(owner, Path(u.path).parent.name)].append(Path(u.path).name)
    late = _late_returns(sl, ledger) if ledger is not None else {}
    for s in sl.ps.schedules:
        replaced = s.replaced_in_month()
        seen = set()
        for p in s.providers:
            seen.add(p.provider)
            key = (p.provider, s.month)
            bad = unreadable.get((p.provider, str(s.month)))
            if p.status != PAID:
                if p.return_file is None and not bad:
                    out[key] = (ReturnState.MISSING, p.reason)
                else:
                    out[key] = (ReturnState.FAULTY, p.reason if p.return_file else
                                f"unreadable: {', '.join(bad or [])}")
            elif key in late:
                out[key] = (ReturnState.LATE, late[key])
            elif replaced.get(p.provider):
                out[key] = (ReturnState.RESUBMITTED,
                            f"replaced {replaced[p.provider]} time(s)")
            else:
                out[key] = (ReturnState.USED, "")
        for provider in sl.providers:
            if provider not in seen:
                out[(provider, s.month)] = (ReturnState.NONE, "no active contract")
    return out


def _late_returns(sl: Slices, ledger: Ledger) -> dict[tuple[str, Month], str]:
    """Returns that arrived after their month was first calculated (from the ledger)."""
    out = {}
    runs = ledger.runs(sl.model.name)
    for s in sl.ps.schedules:
        first = next((r for r in runs if r.period == str(s.month)), None)
        if first is None:
            continue
        had = {i.provider for i in ledger.inputs(first.id)
               if i.role == InputRole.RETURN and i.period == str(s.month) and i.used}
        for i in s.inputs:
            if (i.role == InputRole.RETURN and i.used and i.month == str(s.month)
                    and i.provider not in had):
                out[(i.provider, s.month)] = (f"arrived after {s.month} was first "
                                              f"calculated (run {first.id})")
    return out


def returns_table(sl: Slices, statuses: Statuses, ledger: Ledger | None) -> Table:
    cols = [Column("provider", "Provider code", ColumnKind.TEXT)]
    cols += [Column(str(m), m.label()[:3] + " " + str(m.year), ColumnKind.TEXT) for m in sl.months]
    rows: list[list[Any]] = [
        [p, *(str(statuses[(p, m)][0]) if statuses[(p, m)][0] != ReturnState.NONE else ""
              for m in sl.months)] for p in sl.providers]
    note = ("used: received and used; late: arrived after the month was first calculated "
            "(from the ledger); resubmitted: replaced by a corrected version; missing: no "
            "return, nothing paid; faulty: a return with errors or one that could not be "
            "read, nothing paid.")
    if ledger is None:
        note += " No ledger: lateness is not known."
    return Table("returns", "Returns month by month", cols, rows, None, note)


def find_flags(sl: Slices, statuses: Statuses) -> list[Flag]:
    """The flags for the evaluation: income lost against the comparison (small providers
    said as such), returns missing, faulty, late or resubmitted, and annual caps reached."""
    out: list[Flag] = []
    spec = sl.model.report
    small = _small_providers(sl)
    for p in sl.providers:
        mine: list[tuple[str, str]] = []
        if sl.model.comparison:
            f = sl.f.slices.get(sl.key(provider=p), Fact())
            block = sl.f.slices.get(sl.cmp_key(provider=p), Fact()).comparison
            loss = block - f.payment
            if block > 0 and Fraction(loss) > spec.loss_share * Fraction(block):
                detail = (f"PbR {format_money(f.payment)} against "
                          f"{sl.model.comparison.label.lower()} {format_money(block)}: "
                          f"{format_percent(Fraction(loss) / Fraction(block))} "
                          f"({format_money(loss)}) less, more than "
                          f"{format_percent(spec.loss_share)}")
                if p in small:
                    detail += f"; a small provider ({small[p]})"
                mine.append(("small provider losing income" if p in small
                             else "losing income", detail))
        for state, word in ((ReturnState.MISSING, "missing returns"),
                            (ReturnState.FAULTY, "faulty returns"),
                            (ReturnState.LATE, "late returns"),
                            (ReturnState.RESUBMITTED, "resubmitted returns")):
            hit = [m for m in sl.months if statuses[(p, m)][0] == state]
            if hit:
                mine.append((word, ", ".join(str(m) for m in hit)))
        caps = [str(s.month) for s in sl.ps.schedules for prob in s.problems
                if prob.code == "cap-reached" and prob.provider == p]
        if caps:
            mine.append(("annual cap reached", ", ".join(caps)))
        out += [Flag(p, sl.names[p], flag, detail) for flag, detail in mine]
    return out


def flags_table(sl: Slices, flags: list[Flag]) -> Table:
    cols = [Column("provider", "Provider code", ColumnKind.TEXT), Column("name", "Provider name", ColumnKind.TEXT),
            Column("flag", "Flag", ColumnKind.TEXT), Column("detail", "Detail", ColumnKind.TEXT)]
    rows: list[list[Any]] = [[f.provider, f.name, f.flag, f.detail] for f in flags]
    spec = sl.model.report
    return Table("flags", "Flags for the evaluation", cols, rows, None,
                 f"Losing income: PbR more than {format_percent(spec.loss_share)} below the "
                 "comparison over the period." if sl.model.comparison else "")


def _small_providers(sl: Slices) -> dict[str, str]:
    spec = sl.model.report
    if not spec.small_column or spec.small_below is None:
        return {}
    totals: dict[str, Fraction] = defaultdict(Fraction)
    for entry in sl.ps.register.entries:
        value = entry.get(spec.small_column)
        if value is not None:
            totals[entry[sl.model.register.provider]] += Fraction(value)
    header = sl.model.register.column(spec.small_column)
    said = header.header.lower() if header is not None else spec.small_column
    return {p: f"{said} {format_money(Decimal(v.numerator) / v.denominator)} below "
               f"{format_money(Decimal(spec.small_below.numerator))}"
            for p, v in totals.items() if v < spec.small_below}
