"""A publication's workbook (its tables, and About: method, audit, the returns it lacks and
what changed since the last release of its months) and its JSON (docs/publication.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pbr_cli import __version__
from pbr_cli.outputs.report import _footer, _formats, _heading, _sheet, _sheets
from pbr_cli.outputs.xlsx import atomic_output, made_workbook, print_setup, safe_text
from pbr_cli.periods import Month
from pbr_cli.reporting.publication_release import EarlierRelease, describe_accuracy

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
            ("Publication identity", pub.identity),
            ("Key fingerprint", f"{pub.fingerprint} (the fingerprint of the authority's "
             "publication key, that every record's key is made under, never the key: every "
             "release of the authority shows the same one)"),
            ("Returns lacking", pub.describe_lacking()),
            ("Changed since", pub.describe_changes()),
            ("Method", pub.method()),
            ("Accuracy", describe_accuracy(pub.grid, pub.base)),
            *(("Audit", a) for a in pub.audit),
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
        "accuracy": describe_accuracy(pub.grid, pub.base),
        "audit": pub.audit,
        "identity": pub.identity,
        "fingerprint": pub.fingerprint,
        "earlier_publications": pub.earlier,
        "lacking": pub.lacking,
        "changed_since": pub.changes,
        "tables": {name: table(t) for name, t in pub.tables.items()},
        "output": str(output) if output else None,
        "csv": None,
    }


def earlier_releases(folder: Path) -> list[EarlierRelease]:
    """The publications in an output folder, as their About sheets describe them (a
    workbook that cannot be read as one is passed over)."""
    import hashlib

    import openpyxl

    out = []
    for path in sorted(Path(folder).glob("*-publication.xlsx")) if Path(folder).is_dir() else []:
        try:
            wb = openpyxl.load_workbook(path, read_only=True)
            try:
                facts = {str(r[0]): str(r[1]) for r in wb["About"].iter_rows(values_only=True)
                         if len(r) > 1 and r[0] and r[1]}
            finally:
                wb.close()
            first, _, last = facts["Months published"].split(" ")[:3]
            months = _months(Month.parse(first), Month.parse(last))
        except Exception:  # noqa: BLE001  (not a publication pbr wrote: nothing to hold)
            continue
        out.append(EarlierRelease(
            path.name, hashlib.sha256(path.read_bytes()).hexdigest(), facts.get("Scheme", ""),
            facts.get("Model", "").split(" version ")[0], facts.get("Publication identity", ""),
            tuple(str(m) for m in months), facts.get("Key fingerprint", "").split(" (")[0]))
    return out


def _months(first: Month, last: Month) -> list[Month]:
    out = [first]
    while out[-1] < last and len(out) < 1200:
        out.append(out[-1].plus(1))
    return out
