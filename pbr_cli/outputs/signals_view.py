"""Signals of gaming as the console, JSON and a workbook show them: the report's Signals
section and `pbr assure signals`. They render the Signals table (pbr_cli.assurance.signals);
they decide nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from pbr_cli.outputs.table_fit import Col, fit_table, row_heights
from pbr_cli.outputs.xlsx import Formats, atomic_output, made_workbook, print_setup, write_cell
from pbr_cli.reporting.cells import Table

WIDTHS = {"provider": 10, "signal": 22, "raised": 8, "figure": 36, "own": 20, "peers": 18,
          "p_value": 10, "test": 26, "question": 48}
WRAPPED = ("signal", "figure", "own", "peers", "test", "question")


def _column(table: Table, key: str) -> int:
    return [c.key for c in table.columns].index(key)


def signals_section(con: Console, table: Table) -> None:
    """The raised signals, each with what to ask; or that none was raised."""
    raised = [r for r in table.rows if r[_column(table, "raised")]]
    p, s, f, v, q = (_column(table, k) for k in ("provider", "signal", "figure", "p_value",
                                                 "question"))
    if not raised:
        con.print(f"[bold]Signals[/]: none raised. {escape(table.note)}")
        return
    con.print(f"[bold]Signals[/] (never a payment): {len(raised)} raised")
    for r in raised:
        test = f" (p {escape(r[v])})" if r[v] else ""
        con.print(f"  [red]{escape(r[p])}[/] {escape(r[s])}: {escape(r[f])}{test}")
        con.print(f"    Ask: {escape(r[q])}")
    con.print(escape(table.note))


def signals_view(con: Console, table: Table, title: str, written: list[str]) -> None:
    """`pbr assure signals`: every signal of every provider, then the raised ones."""
    con.print(f"[bold]{escape(title)}[/]")
    keys = ("provider", "signal", "raised", "figure", "peers", "p_value")
    cols = [Col("Provider", "fixed"), Col("Signal"), Col("Raised", "fixed", drop=2),
            Col("Figure"), Col("Other providers", drop=3), Col("p-value", "fixed", "right",
                                                               drop=1)]
    rows = [[escape(str(r[_column(table, k)])) for k in keys] for r in table.rows]
    rows = [[*r[:2], f"[red]{r[2]}[/]" if r[2] else "", *r[3:]] for r in rows]
    fit_table(con, cols, rows, title="Signals by provider")
    signals_section(con, table)
    for path in written:
        con.print(f"Written: [bold]{escape(path)}[/]")


def signals_as_dict(signals: Any, output: Path | None) -> dict[str, Any]:
    """`pbr assure signals --json` (docs/json.md)."""
    from pbr_cli.assurance.signals import LABELS
    from pbr_cli.money import fraction_to_decimal

    return {
        "model": signals.model.name, "period": signals.period, "months": signals.months,
        "false_discovery": str(fraction_to_decimal(signals.level, 4)),
        "raised": len(signals.raised), "tested": signals.tested,
        "signals": [{"provider": f.provider, "signal": f.signal, "label": LABELS[f.signal],
                     "raised": f.raised, "figure": f.figure, "own_history": f.own,
                     "other_providers": f.peers, "test": f.test,
                     "p_value": None if f.p is None else str(fraction_to_decimal(f.p, 6)),
                     "question": f.question if f.raised else None}
                    for f in signals.findings],
        "output": str(output) if output else None,
    }


def write_signals(table: Table, title: str, target: Path) -> Path:
    """The Signals workbook: one sheet, the table with its wrapped text whole, printed
    landscape with its headings on every page."""
    with atomic_output(Path(target)) as tmp:
        with made_workbook(tmp, title) as wb:
            fmt = Formats(wb)
            ws = wb.add_worksheet("Signals")
            widths = [WIDTHS.get(c.key, 12) for c in table.columns]
            for j, w in enumerate(widths):
                ws.set_column(j, j, w)
            ws.write_string(0, 0, title, fmt.title)
            ws.write_string(1, 0, table.note, fmt.subtitle)
            header = 3
            rows = table.rows
            ws.add_table(header, 0, header + max(len(rows), 1), len(table.columns) - 1, {
                "name": "Signals", "style": "Table Style Light 9", "autofilter": len(rows) > 1,
                "columns": [{"header": c.header, "header_format": fmt.header}
                            for c in table.columns]})
            wraps = [c.key in WRAPPED for c in table.columns]
            heights = row_heights(rows, widths, wraps)
            for i, row in enumerate(rows):
                for j, value in enumerate(row):
                    write_cell(ws, header + 1 + i, j, value, fmt.top(fmt.text, wraps[j]))
                if heights[i] is not None:
                    ws.set_row(header + 1 + i, heights[i])
            print_setup(ws, header, title, widths,
                        repeat_columns=2)
    return Path(target)
