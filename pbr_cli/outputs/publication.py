"""A publication's workbook (its tables, and About: method, audit, the returns it lacks and
what changed since the last release of its months) and its JSON (docs/publication.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pbr_cli import __version__
from pbr_cli.outputs.report import _footer, _formats, _heading, _sheet, _sheets
from pbr_cli.outputs.xlsx import atomic_output, made_workbook, print_setup, safe_text

PUBLICATION_SHEETS = (("Counts", ("providers",)), ("Months", ("months",)), ("Groups", ("group_",)))


def write_publication(pub, target: Path) -> Path:
    """The publication workbook: its tables, and About (method and audit; no path)."""
    with atomic_output(Path(target)) as tmp:
        with made_workbook(tmp, f"{pub.model.title}: publication for {pub.period.text}") as wb:
            fmt = _formats(wb)
            for sheet, tables in _sheets(pub, PUBLICATION_SHEETS):
                _sheet(wb, fmt, pub, sheet, tables, charts=False)
            ws = wb.add_worksheet("About")
            top = _heading(ws, fmt, pub, "About this publication")
            print_setup(ws, 1, _footer(pub))
            for i, (k, v) in enumerate(about(pub)):
                ws.write_string(top + i, 0, k, fmt.label)
                ws.merge_range(top + i, 1, top + i, 3, safe_text(v), fmt.wrap)
                ws.set_row(top + i, 15 * (1 + len(v) // 100))
            ws.set_column(0, 0, 20)
            ws.set_column(1, 3, 40)
    return Path(target)


def about(pub) -> list[tuple[str, str]]:
    """The About sheet's facts, in order."""
    m = pub.model
    return [("Scheme", m.title), ("Model", f"{m.name} version {m.version}"),
            ("Model SHA-256", m.sha256), ("Period asked for", pub.period.describe()),
            ("Months published", f"{pub.months[0]} to {pub.months[-1]} ({pub.covers})"),
            ("Returns lacking", pub.describe_lacking()),
            ("Changed since", pub.describe_changes()),
            ("Method", pub.method()), *(("Audit", a) for a in pub.audit),
            ("Written by", f"pbr {__version__}")]


def publication_as_dict(pub, output: Path | None) -> dict[str, Any]:
    def table(t) -> dict[str, Any]:
        keys = [c.key for c in t.columns]
        return {"title": t.title, "columns": [{"key": c.key, "header": c.header,
                                                 "kind": c.kind} for c in t.columns],
                "rows": [dict(zip(keys, r, strict=True)) for r in t.rows], "total": None,
                "note": t.note}

    return {
        "model": pub.model.name,
        "model_sha256": pub.model.sha256,
        "virtual": pub.model.virtual,
        "period": {"text": pub.period.text, "kind": pub.period.kind,
                   "start": pub.period.start.isoformat(), "end": pub.period.end.isoformat(),
                   "months": [str(m) for m in pub.months],
                   "excluded": [{"month": str(e.month), "reason": e.why} for e in pub.excluded]},
        "publish": True,
        "base": pub.base,
        "method": pub.method(),
        "audit": pub.audit,
        "earlier_publications": pub.earlier,
        "lacking": pub.lacking,
        "changed_since": pub.changes,
        "tables": {name: table(t) for name, t in pub.tables.items()},
        "output": str(output) if output else None,
        "csv": None,
    }
