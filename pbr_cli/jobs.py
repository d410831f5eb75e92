"""Jobs the CLI runs: find inputs, run the stages, write outputs. No printing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbr_cli.collect import latest_month, read_and_check, returns_for_months
from pbr_cli.config import Config
from pbr_cli.engine import Schedule, calculate, history_months
from pbr_cli.errors import PbrError
from pbr_cli.model.records import Model
from pbr_cli.money import fraction_to_decimal
from pbr_cli.periods import Month
from pbr_cli.register import load_register


@dataclass
class CalculationResult:
    schedule: Schedule
    path: Path


def run_calculation(cfg: Config, model: Model, period: str | None, output: Path | None,
                    returns: Path | None, register_path: Path | None,
                    progress: Callable[[int, int, Path], None] | None = None) -> CalculationResult:
    from pbr_cli.outputs.schedule import schedule_filename, write_schedule

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
    files = returns_for_months(root, history_months(model, month))
    counter = {"n": 0}

    def tick(path: Path) -> None:
        counter["n"] += 1
        if progress:
            progress(counter["n"], len(files), path)

    collection = read_and_check(files, model, register, tick)
    schedule = calculate(model, register, month, collection.returns,
                         [u.problem() for u in collection.unreadable])
    path = Path(output) if output else cfg.output_for(model.name) / schedule_filename(schedule)
    write_schedule(schedule, path)
    return CalculationResult(schedule, path)


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
        "problems": [p.as_dict() for p in s.problems],
        "inputs": [{"role": f.role, "file": f.path, "sha256": f.sha256, "provider": f.provider,
                    "month": f.month, "used": f.used} for f in s.inputs],
    }
