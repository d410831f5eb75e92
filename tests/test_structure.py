"""The package's structure, from its own imports: no module imports another in a circle, none
imports a layer above its own, and the calculation core imports neither Excel, Typer nor rich.

Layers, lowest first (docs/architecture.md): each module may import its own layer and the
ones below it, never one above.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "pbr_cli"

LAYERS: list[tuple[str, set[str]]] = [
    ("foundation", {"pbr_cli", "errors", "money", "periods", "problems", "names", "files", "cells",
                    "expr", "model", "model.records", "model.schema", "model.schema_parts", "model.schema_client",
                    "model.yamlread", "model.client_level",
                    "model.loader", "runlog", "docsgen", "ledger_db", "lock", "describe"}),
    ("workbooks", {"workbook", "workbook.package", "workbook.sheet_scan", "workbook.reader"}),
    ("inputs", {"returns", "returns.layout", "returns.folders", "returns.versions", "register",
                "cache", "config"}),
    ("checks", {"returns.checked", "returns.fast", "returns.across_rows", "returns.checks",
                "cohort_records", "collect"}),
    ("records", {"payment_records"}),
    ("pricing", {"pricing.kind", "pricing.service", "pricing.cohort.history",
                 "pricing.cohort.month", "pricing.cohort.cap", "pricing.cohort",
                 "pricing.participants", "pricing"}),
    ("ledger and periods", {"ledger_records", "ledger_schema", "ledger_chain", "ledger", "cycle",
                            "adjustments", "worth",
                            "reporting", "reporting.cells", "reporting.slices",
                            "reporting.returns", "reporting.tables", "reporting.ledger_tables",
                            "reporting.report", "publication", "statements",
                            "forecast", "forecast.simulate", "forecast.scenario",
                            "forecast.moves", "forecast.cohort_pipeline",
                            "forecast.participant_pipeline"}),
    ("outputs", {"outputs", "outputs.xlsx", "outputs.annotate", "outputs.template",
                 "outputs.schedule", "outputs.schedule_json", "outputs.report",
                 "outputs.console", "outputs.statement_pdf", "outputs.forecast",
                 "outputs.forecast_view"}),
    ("jobs", {"validate", "jobs", "period_jobs", "approval", "runner", "model_tests",
              "statement_jobs", "setup_folder", "forecast_jobs"}),
    ("command line", {"cli_common", "cli_ledger", "cli_models", "cli_statements", "cli_forecast",
                      "cli", "main",
                      "__main__"}),
]
CORE = {"payment_records", "pricing", "pricing.kind", "pricing.service", "pricing.cohort",
        "pricing.cohort.history", "pricing.cohort.month", "pricing.cohort.cap",
        "pricing.participants", "reporting.cells", "reporting.slices", "reporting.returns",
        "reporting.tables", "reporting.ledger_tables", "reporting.report", "ledger_records",
        "ledger_schema", "ledger_chain", "ledger_db",
        "publication", "periods", "money", "adjustments", "worth", "ledger", "expr",
        "statements", "forecast", "forecast.simulate", "forecast.scenario", "forecast.moves",
        "forecast.cohort_pipeline", "forecast.participant_pipeline"}
NOT_IN_CORE = ("openpyxl", "xlsxwriter", "python_calamine", "typer", "rich")


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "pbr_cli"
        out[name] = path
    return out


def imports(path: Path, known: set[str]) -> tuple[set[str], set[str]]:
    """(pbr_cli modules imported, other top-level packages imported), however deep in the
    file (imports inside functions count)."""
    ours, theirs = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "pbr_cli" or node.module.startswith("pbr_cli."):
                base = node.module.removeprefix("pbr_cli").removeprefix(".") or "pbr_cli"
                for alias in node.names:
                    full = f"{base}.{alias.name}" if base != "pbr_cli" else alias.name
                    ours.add(full if full in known else base)
            else:
                theirs.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("pbr_cli."):
                    ours.add(alias.name.removeprefix("pbr_cli."))
                else:
                    theirs.add(alias.name.split(".")[0])
    return ours, theirs


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: {t for t in imports(path, set(mods))[0] if t in mods and t != name}
            for name, path in mods.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_another_in_a_circle():
    assert cycles(graph()) == []


def test_a_circle_is_found_when_there_is_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_module_has_a_layer_and_imports_none_above_it():
    g = graph()
    layer = {m: i for i, (_, names) in enumerate(LAYERS) for m in names}
    assert set(g) - set(layer) == set(), "a new module: give it a layer here"
    upward = sorted((m, t, LAYERS[layer[t]][0]) for m, targets in g.items() for t in targets
                    if layer[t] > layer[m])
    assert upward == []


def test_the_core_imports_neither_excel_typer_nor_rich():
    mods = modules()
    for name in sorted(CORE):
        _, theirs = imports(mods[name], set(mods))
        assert not theirs & set(NOT_IN_CORE), (name, theirs & set(NOT_IN_CORE))


def test_every_code_a_command_stops_with_is_in_the_problem_catalogue():
    from pbr_cli.problems import CATALOGUE

    raised: dict[str, str] = {}
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            callee = getattr(node.func, "id", getattr(node.func, "attr", None))
            if callee not in ("PbrError", "UnreadableFile"):
                continue
            given = [kw.value for kw in node.keywords if kw.arg == "code"]
            if callee == "UnreadableFile" and len(node.args) >= 2:
                given.append(node.args[1])
            for value in given:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    raised.setdefault(value.value, name)
    assert len(raised) > 30
    assert {code: where for code, where in raised.items() if code not in CATALOGUE} == {}
