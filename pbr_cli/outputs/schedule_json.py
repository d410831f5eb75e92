"""A schedule as plain JSON-ready data (`pbr calculate --json`, docs/json.md): money as strings
of pounds and pence, exact ratios as decimal strings."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from pbr_cli.ledger.records import LineKind
from pbr_cli.money import fraction_to_decimal
from pbr_cli.names import shown
from pbr_cli.pricing.records import PAID, PaymentLine, Schedule


def _plain(value: Any) -> Any:
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
        "output": shown(path) if path else None,
        "standing": ({"state": s.standing.state, "run": s.standing.run,
                      "approved_by": s.standing.approved_by or None,
                      "approved_at": s.standing.approved_at or None,
                      "text": s.standing.describe()} if s.standing is not None else None),
        "totals": {"payment": str(s.total()), "comparison": str(s.total(LineKind.COMPARISON))},
        "providers": [
            {"provider": p.provider, "name": p.name, "status": p.status, "reason": p.reason,
             "payment": str(p.total()), "comparison": str(p.total(LineKind.COMPARISON)),
             "variance": str(p.variance),
             "notes": s.payment_notes(p.provider) if p.status == PAID else [],
             "lines": [{"entry": ln.entry, "groups": dict(ln.groups),
                        "component": ln.component, "kind": ln.kind,
                        "amount": str(ln.amount),
                        "figures": {f.name: _plain(f.value) for f in ln.figures},
                        **_cadence(ln)}
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


def _cadence(ln: PaymentLine) -> dict[str, Any]:
    """A component paid quarterly or annually (pricing/cadence.py): an accrued line's paying
    month, or each month a payment adds up; nothing for a line paid monthly."""
    if ln.paid_with is not None:
        return {"paid_with": str(ln.paid_with)}
    if ln.accrued:
        return {"accrued": [{"month": str(a.month), "amount": str(a.amount),
                             "nothing": a.nothing or None} for a in ln.accrued]}
    return {}
