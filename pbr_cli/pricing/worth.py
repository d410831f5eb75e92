"""What a month is worth now: its schedule worked out from the returns as they stand, and
the cached summary of it that prior-period adjustments compare with what was paid."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pbr_cli.cache import ReturnCache, code_sha256
from pbr_cli.errors import check_stop
from pbr_cli.ledger.records import InputRole, LineKind
from pbr_cli.model.records import Model
from pbr_cli.periods import Month, Period
from pbr_cli.pricing import calculate, history_months
from pbr_cli.pricing.earlier import Paid
from pbr_cli.pricing.records import Schedule
from pbr_cli.problems import Problem
from pbr_cli.returns.checked import CheckedReturn
from pbr_cli.returns.cohort_records import declares_opening
from pbr_cli.returns.collect import Collection, read_and_check
from pbr_cli.returns.folders import month_of_folder, returns_for_months
from pbr_cli.returns.register import Register


def _copies(returns: list[CheckedReturn]) -> list[CheckedReturn]:
    """Returns a calculation may add problems to, leaving the originals as read."""
    return [dataclasses.replace(r, problems=list(r.problems)) for r in returns]


def month_inputs(model: Model, month: Month,
                 collection: Collection) -> tuple[list[CheckedReturn], list[Problem]]:
    """The returns a calculation of `month` reads, and the problems of the unreadable files
    among them."""
    months = set(history_months(model, month))
    returns = [r for r in collection.returns if r.month in months or
               (r.month is None and month_of_folder(Path(r.path)) in months)]
    # a later return's opening caseload: the clients in treatment when the scheme started
    # were so in this month too, whenever they were declared (docs/models.md)
    returns += [r for r in collection.returns if r.month is not None and r.month > month
                and declares_opening(model, r)]
    unreadable = [u.problem() for u in collection.unreadable
                  if month_of_folder(Path(u.path)) in months]
    return returns, unreadable


def month_schedule(model: Model, register: Register, month: Month,
                   collection: Collection, earlier: Paid | None = None,
                   last: bool = False) -> Schedule:
    """The month's schedule from the collection's returns. With `last`, the caller works out
    nothing more from their records (`pbr calculate`): the client-level records of `month`
    and the months before it are let go as the history gathers them, so the records and the
    history are not both held. A later month's return, read for its opening caseload, keeps
    its records: whether it declares one is asked again (result_key)."""
    returns, unreadable = month_inputs(model, month, collection)
    copies = _copies(returns)
    if last:
        for r in returns:
            if r.month is not None and r.month <= month:
                r.cohort = None  # its copy holds them until the history has them
    return calculate(model, register, month, copies, unreadable, earlier=earlier,
                     records_once=last)


def result_key(cache: ReturnCache | None, model: Model, register: Register, month: Month,
               collection: Collection, earlier: Paid | None = None) -> str | None:
    """The cache key of what `month` is worth: its payments depend on nothing but the model,
    the register, pbr's code, the returns it reads (their bytes, paths and folders) and,
    where a formula reads them, the earlier months' payments."""
    if cache is None:
        return None
    returns, unreadable = month_inputs(model, month, collection)
    parts = ["month", str(month), model.sha256, register.sha256, code_sha256(),
             sorted((r.path, r.sha256, str(r.month)) for r in returns),
             sorted((p.file, p.code, p.message) for p in unreadable)]
    if earlier is not None:
        parts.append(earlier.digest())
    return "m" + hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def payments_by_component(schedule: Schedule) -> dict[tuple[str, str], Decimal]:
    out: dict[tuple[str, str], Decimal] = {}
    for p in schedule.providers:
        for ln in p.lines:
            if ln.kind == LineKind.PAYMENT:
                out[(p.provider, ln.component)] = out.get((p.provider, ln.component),
                                                          Decimal("0.00")) + ln.amount
    return out


def summary(schedule: Schedule) -> dict[str, Any]:
    """What prior-period adjustments compare: the month's payments by provider and
    component, and the returns used (for the reason an amount changed)."""
    return {"payments": payments_by_component(schedule),
            "used": {(i.provider, i.month): i.sha256 for i in schedule.inputs
                     if i.role == InputRole.RETURN and i.used}}


def worth(cache: ReturnCache | None, model: Model, register: Register, month: Month,
          collection: Collection, earlier: Paid | None = None) -> dict[str, Any]:
    """The month's summary, from the cache when it holds it for the same inputs."""
    key = result_key(cache, model, register, month, collection, earlier)
    found = cache.get(key) if cache is not None and key else None
    if isinstance(found, dict) and set(found) == {"payments", "used"}:
        return found
    found = summary(month_schedule(model, register, month, collection, earlier))
    if cache is not None and key:
        cache.put(key, found)
    return found


def remember(cache: ReturnCache | None, model: Model, register: Register, month: Month,
             collection: Collection, schedule: Schedule, earlier: Paid | None = None) -> None:
    """Keep what a month just worked out is worth: next month it is an earlier month."""
    key = result_key(cache, model, register, month, collection, earlier)
    if cache is not None and key:
        cache.put(key, summary(schedule))


def read_months(cache: ReturnCache | None, model: Model, register: Register, root: Path,
                months: list[Month],
                progress: Callable[[int, int, Path], None] | None,
                compact_records: bool = False) -> Collection:
    """Read and check, once each, every return that working out `months` needs; with
    `compact_records`, their client-level records are held compact and their tables let go
    (for a caller that reads them only through the history: returns/collect.py,
    read_and_check)."""
    needed: set[Month] = set()
    for month in months:
        needed |= set(history_months(model, month))
    files = returns_for_months(root, sorted(needed))
    counter = {"n": 0}

    def tick(path: Path) -> None:
        check_stop()
        counter["n"] += 1
        if progress:
            progress(counter["n"], len(files), path)

    return read_and_check(files, model, register, tick, cache,
                          tables=None if compact_records else True)


@dataclass(frozen=True)
class Excluded:
    """A month of a period that is not reported, and why."""

    month: Month
    why: str
    outside: bool  # outside the scheme (else: no returns filed for it)

    @property
    def short(self) -> str:
        """The reason without its detail: 'outside the scheme' or 'no returns'."""
        return self.why.split(" (")[0] if self.outside else "no returns"


@dataclass
class PeriodSchedules:
    """Each month of a period worked out as `pbr calculate` would now, from one read."""

    model: Model
    period: Period
    register: Register
    schedules: list[Schedule]
    excluded: list[Excluded]  # months of the period not reported, and why
    collection: Collection
