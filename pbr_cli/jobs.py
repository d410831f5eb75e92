"""Jobs the CLI runs: find inputs, run the stages, write outputs. No printing."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pbr_cli import __version__
from pbr_cli.collect import latest_month, month_of_folder, read_and_check, returns_for_months
from pbr_cli.config import Config
from pbr_cli.engine import Schedule, calculate, history_months
from pbr_cli.errors import PbrError
from pbr_cli.ledger import Adjustment, Ledger, RunRecord, now_utc
from pbr_cli.model.records import Model
from pbr_cli.money import fraction_to_decimal
from pbr_cli.periods import Month, Period
from pbr_cli.register import load_register
from pbr_cli.returns.checks import CheckedReturn


@dataclass
class CalculationResult:
    schedule: Schedule
    path: Path | None  # None when nothing was written (a dry run, or a closed month)
    status: str = "written"  # recorded | unchanged | dry-run | closed | written (no ledger)
    run_id: int | None = None
    closed_by: str | None = None


def _copies(returns: list[CheckedReturn]) -> list[CheckedReturn]:
    """Returns a calculation may add problems to, leaving the originals as read."""
    return [dataclasses.replace(r, problems=list(r.problems)) for r in returns]


def _month_inputs(model: Model, month: Month, collection) -> tuple[list[CheckedReturn], list]:
    """The returns a calculation of `month` reads, and the problems of the unreadable files
    among them."""
    months = set(history_months(model, month))
    returns = [r for r in collection.returns if r.month in months or
               (r.month is None and month_of_folder(Path(r.path)) in months)]
    unreadable = [u.problem() for u in collection.unreadable
                  if month_of_folder(Path(u.path)) in months]
    return returns, unreadable


def _month_schedule(model: Model, register, month: Month, collection) -> Schedule:
    returns, unreadable = _month_inputs(model, month, collection)
    return calculate(model, register, month, _copies(returns), unreadable)


def _result_key(cache, model: Model, register, month: Month, collection) -> str | None:
    """The cache key of what `month` is worth: its payments depend on nothing but the model,
    the register, pbr's version and the returns it reads (their bytes, paths and folders)."""
    if cache is None:
        return None
    returns, unreadable = _month_inputs(model, month, collection)
    parts = ["month", str(month), model.sha256, register.sha256, __version__,
             sorted((r.path, r.sha256, str(r.month)) for r in returns),
             sorted((p.file, p.code, p.message) for p in unreadable)]
    return "m" + hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _worth(schedule: Schedule) -> dict[str, Any]:
    """What prior-period adjustments compare: the month's payments by provider and
    component, and the returns used (for the reason an amount changed)."""
    return {"payments": payments_by_component(schedule),
            "used": {(i.provider, i.month): i.sha256 for i in schedule.inputs
                     if i.role == "return" and i.used}}


def _read_months(cfg: Config, model: Model, register, root: Path, months: list[Month],
                 progress: Callable[[int, int, Path], None] | None):
    """Read and check, once each, every return that working out `months` needs."""
    needed: set[Month] = set()
    for month in months:
        needed |= set(history_months(model, month))
    files = returns_for_months(root, sorted(needed))
    counter = {"n": 0}

    def tick(path: Path) -> None:
        counter["n"] += 1
        if progress:
            progress(counter["n"], len(files), path)

    return read_and_check(files, model, register, tick, cfg.cache)


def run_calculation(cfg: Config, model: Model, period: str | None, output: Path | None,
                    returns: Path | None, register_path: Path | None,
                    progress: Callable[[int, int, Path], None] | None = None,
                    dry_run: bool = False, use_ledger: bool = True,
                    command: str = "calculate") -> CalculationResult:
    """Calculate a month, with prior-period adjustments for every earlier recorded month whose
    figures have changed, write its schedule, and record the run in the ledger."""
    from pbr_cli.outputs.schedule import schedule_filename, write_schedule

    started = now_utc()
    register = load_register(model, register_path)
    root = Path(returns) if returns else cfg.returns_for(model.name)
    if not root.is_dir():
        raise PbrError(f"no returns folder {root} (returns are filed as {root}/YYYY-MM/*.xlsx)",
                       code="file-not-found")
    if period:
        month = Month.parse(period)
    else:
        found = latest_month(root)
        if found is None:
            raise PbrError(f"no returns in {root}: nothing to calculate", code="file-not-found")
        month = found
    if month.last_day < model.start or month.first_day > model.end:
        raise PbrError(f"{month} is outside the scheme {model.name} ({model.start} to "
                       f"{model.end})", code="period-outside-scheme")
    ledger = Ledger(cfg.ledger) if use_ledger and (not dry_run or cfg.ledger.exists()) else None
    try:
        recorded = [Month.parse(p) for p in ledger.periods(model.name)] if ledger else []
        earlier = [m for m in recorded if m < month]
        later = [m for m in recorded if m > month]
        collection = _read_months(cfg, model, register, root, [month, *earlier], progress)
        schedule = _month_schedule(model, register, month, collection)
        cache = cfg.cache
        key = _result_key(cache, model, register, month, collection)
        if key:  # next month, this one is an earlier month to check for adjustments
            cache.put(key, _worth(schedule))
        for e in earlier:
            schedule.adjustments += _adjustments(ledger, model, register, e, month, collection,
                                                 cache)

        if later:
            return CalculationResult(schedule, None, "closed", closed_by=str(max(later)))
        if dry_run:
            return CalculationResult(schedule, None, "dry-run")
        path = Path(output) if output else cfg.output_for(model.name) / schedule_filename(schedule)
        write_schedule(schedule, path)
        if ledger is None:
            return CalculationResult(schedule, path, "written")
        record = _record(schedule, register, started, command, path)
        latest = ledger.latest_run(model.name, str(month))
        if latest is not None and latest["fingerprint"] == record.fingerprint:
            return CalculationResult(schedule, path, "unchanged", latest["id"])
        return CalculationResult(schedule, path, "recorded", ledger.record(record))
    finally:
        if ledger is not None:
            ledger.close()


@dataclass
class PeriodSchedules:
    """Each month of a period worked out as `pbr calculate` would now, from one read."""

    model: Model
    period: Period
    register: Any
    schedules: list[Schedule]
    excluded: list[tuple[Month, str]]  # months of the period not reported, and why
    collection: Any


def period_schedules(cfg: Config, model: Model, period: Period, returns: Path | None,
                     register_path: Path | None,
                     progress: Callable[[int, int, Path], None] | None = None) -> PeriodSchedules:
    """Work out every month of `period` inside the scheme that has returns, reading each
    file once. Months outside the scheme, or with no returns at all, are listed as excluded."""
    register = load_register(model, register_path)
    root = Path(returns) if returns else cfg.returns_for(model.name)
    if not root.is_dir():
        raise PbrError(f"no returns folder {root} (returns are filed as {root}/YYYY-MM/*.xlsx)",
                       code="file-not-found")
    wanted: list[Month] = []
    excluded: list[tuple[Month, str]] = []
    for month in period.months():
        if month.last_day < model.start or month.first_day > model.end:
            excluded.append((month, f"outside the scheme ({model.start} to {model.end})"))
        elif not returns_for_months(root, [month]):
            excluded.append((month, f"no returns in {root / str(month)}"))
        else:
            wanted.append(month)
    if not wanted:
        inside = [m for m, why in excluded if not why.startswith("outside")]
        why = (f"no returns for any month of it in {root}" if inside
               else f"the scheme {model.name} runs {model.start} to {model.end}")
        raise PbrError(f"nothing to report for {period.describe()}: {why}",
                       code="period-outside-scheme" if not inside else "file-not-found")
    collection = _read_months(cfg, model, register, root, wanted, progress)
    schedules = [_month_schedule(model, register, m, collection) for m in wanted]
    return PeriodSchedules(model, period, register, schedules, excluded, collection)


def run_report(cfg: Config, model: Model, period: Period, returns: Path | None,
               register_path: Path | None, publish: bool = False, output: Path | None = None,
               progress: Callable[[int, int, Path], None] | None = None):
    """Work out the period's months, build the report (with the ledger's record of them when
    there is a ledger) and write the workbook, and the finance CSV unless it is for
    publication. Returns the report and the files written."""
    from pbr_cli.outputs.report import csv_filename, report_filename, write_csv, write_report
    from pbr_cli.report import build_report

    ps = period_schedules(cfg, model, period, returns, register_path, progress)
    ledger = Ledger(cfg.ledger) if cfg.ledger.exists() else None
    try:
        report = build_report(ps, publish, ledger)
    finally:
        if ledger is not None:
            ledger.close()
    path = Path(output) if output else cfg.output_for(model.name) / report_filename(report)
    written = [write_report(report, path)]
    if not publish:
        written.append(write_csv(report, path.with_name(csv_filename(report))))
    return report, written


def payments_by_component(schedule: Schedule) -> dict[tuple[str, str], Decimal]:
    out: dict[tuple[str, str], Decimal] = {}
    for p in schedule.providers:
        for ln in p.lines:
            if ln.kind == "payment":
                out[(p.provider, ln.component)] = out.get((p.provider, ln.component),
                                                          Decimal("0.00")) + ln.amount
    return out


def _adjustments(ledger: Ledger, model: Model, register, month: Month, current: Month,
                 collection, cache=None) -> list[Adjustment]:
    """What `month` is worth now against what has been accounted for it before `current`.
    What it is worth is worked out again, unless the cache holds it for the same inputs."""
    key = _result_key(cache, model, register, month, collection)
    worth = cache.get(key) if key else None
    if not (isinstance(worth, dict) and set(worth) == {"payments", "used"}):
        worth = _worth(_month_schedule(model, register, month, collection))
        if key:
            cache.put(key, worth)
    accounted, last_run = ledger.accounted(model.name, str(month), str(current))
    now = worth["payments"]
    before = {(i["provider"], i["period"]): i["sha256"] for i in ledger.inputs(last_run)
              if i["role"] == "return" and i["used"]} if last_run else {}
    after = worth["used"]
    run = ledger.run(last_run) if last_run else None
    out = []
    for key in sorted(set(now) | set(accounted)):
        previous = accounted.get(key, Decimal("0.00"))
        value = now.get(key, Decimal("0.00"))
        if previous != value:
            out.append(Adjustment(str(month), key[0], key[1], previous, value,
                                  _reason(key[0], month, before, after, run, model, register)))
    return out


def _reason(provider: str, month: Month, before: dict, after: dict, run, model: Model,
            register) -> str:
    own = (provider, str(month))
    if own in after and own not in before:
        return f"{provider}'s {month} return arrived after {month} was calculated"
    if own in after and before.get(own) != after[own]:
        return f"{provider}'s {month} return was replaced (resubmitted)"
    if own in before and own not in after:
        return f"{provider}'s {month} return is no longer used"
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    mine = [m for p, m in changed if p == provider]
    if mine:
        return f"{provider}'s returns for {', '.join(mine)} changed since {month} was calculated"
    if changed:
        return ("other providers' returns changed (" + ", ".join(f"{p} {m}" for p, m in changed[:4])
                + (", ..." if len(changed) > 4 else "") + ")")
    if run is not None and run["model_sha256"] != model.sha256:
        return "the model changed"
    if run is not None and run["register_sha256"] != register.sha256:
        return "the contract register changed"
    return f"{month} worked out again"


def _record(schedule: Schedule, register, started: str, command: str, path: Path) -> RunRecord:
    inputs = [(i.role, i.path, i.sha256, i.provider, i.month, i.used) for i in schedule.inputs]
    lines = [(p.provider, ln.entry, dict(ln.groups), ln.component, ln.kind, ln.amount)
             for p in schedule.providers for ln in p.lines]
    adjustments = schedule.adjustments
    digest = {
        "model": schedule.model.sha256, "register": register.sha256, "tool": __version__,
        "period": str(schedule.month),
        "inputs": sorted((i[0], i[2], i[3], i[4], i[5]) for i in inputs if i[0] == "return"),
        "lines": sorted((p, e, json.dumps(g, sort_keys=True), c, k, str(a))
                        for p, e, g, c, k, a in lines),
        "adjustments": [(a.month, a.provider, a.component, str(a.previous), str(a.now))
                        for a in adjustments],
    }
    fingerprint = hashlib.sha256(json.dumps(digest, sort_keys=True).encode()).hexdigest()
    return RunRecord(schedule.model.name, schedule.model.sha256, register.sha256,
                     str(schedule.month), __version__, started, command, fingerprint,
                     schedule.total(), schedule.adjustment_total(), len(schedule.withheld),
                     str(path), inputs, lines, adjustments)


def _plain(value: Any) -> Any:
    from fractions import Fraction

    if isinstance(value, Fraction):
        # Whole numbers stay numbers; ratios are exact decimal strings (10 places).
        return value.numerator if value.denominator == 1 else str(fraction_to_decimal(value, 10))
    return value if isinstance(value, (int, str, type(None))) else str(value)


def schedule_as_dict(s: Schedule, path: Path | None) -> dict[str, Any]:
    """The schedule as plain JSON-ready data; money as strings of pounds and pence."""
    return {
        "schema": 1,
        "model": s.model.name,
        "model_sha256": s.model.sha256,
        "virtual": s.model.virtual,
        "period": {"month": str(s.month), "start": s.month.first_day.isoformat(),
                   "end": s.month.last_day.isoformat()},
        "output": str(path) if path else None,
        "totals": {"payment": str(s.total()), "comparison": str(s.total("comparison"))},
        "providers": [
            {"provider": p.provider, "name": p.name, "status": p.status, "reason": p.reason,
             "payment": str(p.total()), "comparison": str(p.total("comparison")),
             "variance": str(p.variance),
             "lines": [{"entry": ln.entry, "groups": dict(ln.groups),
                        "component": ln.component, "kind": ln.kind,
                        "amount": str(ln.amount),
                        "figures": {f.name: _plain(f.value) for f in ln.figures}}
                       for ln in p.lines]}
            for p in s.providers
        ],
        "evidence": [
            {"provider": e.provider, "client": e.client, "event": e.component,
             "date": e.day.isoformat(), "group": e.group, "status": e.status,
             "price": str(e.price), "amount": str(e.amount), "reason": e.reason,
             "proportion": _plain(e.proportion), "numerator": e.numerator,
             "denominator": e.denominator, "band": e.band,
             "window": str(e.window) if e.window else None,
             "source": {"file": e.source.file, "cell": e.source.cell}}
            for e in s.evidence
        ],
        "adjustments": [
            {"month": a.month, "provider": a.provider, "component": a.component,
             "previous": str(a.previous), "now": str(a.now), "difference": str(a.difference),
             "reason": a.reason}
            for a in s.adjustments
        ],
        "due": str(s.due()),
        "problems": [p.as_dict() for p in s.problems],
        "inputs": [{"role": f.role, "file": f.path, "sha256": f.sha256, "provider": f.provider,
                    "month": f.month, "used": f.used} for f in s.inputs],
    }
