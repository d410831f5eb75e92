"""The package's structure, from its own imports: no module imports another in a circle, none
imports a package above its own, and the calculation core imports neither Excel, Typer nor rich.

Layers, lowest first (docs/architecture.md): the foundation is the modules at the package's top
level; every other layer is one package, and a module takes its package's layer. A module may
import its own layer and the ones below it, never one above.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "pbr_cli"

FOUNDATION = {"pbr_cli", "errors", "money", "periods", "problems", "names", "files", "expr", "cache",
              "scratch", "workers", "memory"}
LAYERS: list[str] = ["foundation", "ledger", "model", "workbook", "returns", "pricing", "reporting",
                     "assurance", "forecast", "outputs", "cycle", "jobs", "cli"]
# `python -m pbr_cli` is the command line, though it sits at the top level
ENTRY_POINTS = {"__main__": "cli"}
# the calculation core: plain records in, plain records out
CORE_PACKAGES = {"ledger", "pricing", "reporting", "assurance", "forecast"}
CORE_MODULES = {"money", "periods", "expr"}
NOT_IN_CORE = ("openpyxl", "xlsxwriter", "python_calamine", "typer", "rich")


def layer_of(module: str) -> str:
    """A module's layer: its package's, or the foundation's at the top level."""
    if module in ENTRY_POINTS:
        return ENTRY_POINTS[module]
    if module in FOUNDATION:
        return "foundation"
    return module.split(".")[0]


def core() -> set[str]:
    return {m for m in modules() if m in CORE_MODULES or m.split(".")[0] in CORE_PACKAGES}


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
    rank = {name: i for i, name in enumerate(LAYERS)}
    unplaced = sorted(m for m in g if layer_of(m) not in rank)
    assert unplaced == [], "a new top-level module: name it in FOUNDATION, or put it in a package"
    upward = sorted((m, t, layer_of(t)) for m, targets in g.items() for t in targets
                    if rank[layer_of(t)] > rank[layer_of(m)])
    assert upward == []


def test_the_foundation_is_small():
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert len(top) <= 15, top


def test_an_upward_import_is_found():
    assert layer_of("pricing.worth") == "pricing" and layer_of("money") == "foundation"
    assert LAYERS.index(layer_of("cycle.state")) > LAYERS.index(layer_of("ledger.store"))


def test_the_core_imports_neither_excel_typer_nor_rich():
    mods = modules()
    names = core()
    assert {"pricing", "ledger.store", "reporting.publication", "forecast", "money"} <= names
    for name in sorted(names):
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


# -- the house's rules, kept true ----------------------------------------------------------------

ARCHITECTURE = ROOT / "docs" / "architecture.md"


def _paragraphs() -> dict[str, str]:
    """docs/architecture.md's paragraph on each package (`**`ledger/`**: ...`), and the
    foundation's (`**Foundation**`), by the package's name."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    out: dict[str, str] = {}
    for chunk in text.split("\n\n"):
        if chunk.startswith("**Foundation**"):
            out["foundation"] = chunk
        elif chunk.startswith("**`") and "/`**" in chunk.split("\n")[0]:
            out[chunk[3:chunk.index("/`**")]] = chunk
    return out


def unnamed(paragraphs: dict[str, str], paths: list[Path]) -> list[str]:
    """The modules (paths under pbr_cli/) not named in their package's paragraph (a
    sub-package's files there too; a sub-package by its folder)."""
    missing = []
    for path in paths:
        parts = path.relative_to(PACKAGE).parts
        where = "foundation" if len(parts) == 1 else parts[0]
        said = paragraphs.get(where, "")
        name = f"`{parts[-2]}/`" if parts[-1] == "__init__.py" and len(parts) > 2 else \
            f"`{parts[-1]}`"
        if parts[-1] == "__init__.py" and len(parts) == 2:
            name = f"**`{parts[0]}/`**"
        if name not in said and f"`{'/'.join(parts[1:])}`" not in said:
            missing.append("/".join(parts))
    return missing


def test_every_module_is_named_in_the_architecture_page():
    """Each file is named in its package's paragraph, so the page cannot fall behind the
    tree."""
    paragraphs = _paragraphs()
    assert set(paragraphs) == set(LAYERS)
    assert unnamed(paragraphs, sorted(PACKAGE.rglob("*.py"))) == [], \
        "name these in docs/architecture.md"


def test_a_module_missing_from_the_page_is_found():
    paragraphs = _paragraphs()
    new = [PACKAGE / "ledger" / "nothing.py", PACKAGE / "money.py",
           PACKAGE / "reporting" / "kinds" / "nothing.py", PACKAGE / "nothing" / "__init__.py"]
    assert unnamed(paragraphs, new) == ["ledger/nothing.py", "reporting/kinds/nothing.py",
                                        "nothing/__init__.py"]


def test_no_module_is_over_500_lines():
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert long == {}


def test_the_exit_codes_are_said_once_and_documented():
    from pbr_cli.errors import EXIT_CODES, exit_codes_said

    table = (ROOT / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    documented = {int(line.split("|")[1]) for line in table.splitlines()
                  if line.startswith("| ") and line.split("|")[1].strip().isdigit()}
    assert documented == set(EXIT_CODES)
    said = exit_codes_said()
    assert all(f"{code} {meaning}" in said for code, meaning in EXIT_CODES.items())


def _calls(name: str) -> set[str]:
    """The modules that call `name` (a function, or Class.method)."""
    found = set()
    for module, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                text = (f.id if isinstance(f, ast.Name) else
                        f"{f.value.id}.{f.attr}" if isinstance(f, ast.Attribute)
                        and isinstance(f.value, ast.Name) else "")
                if text == name:
                    found.add(module)
    return found


def test_the_ledger_is_chosen_and_opened_in_one_place():
    """`chosen_ledger → open_ledger` stood at ten call sites, each slightly different: the
    ledger is chosen by LedgerChoice.of, only for a configured scheme, and opened only by
    LedgerChoice."""
    assert _calls("LedgerChoice.of") == {"cycle.scheme"}
    assert _calls("Ledger") == {"cycle.state"}
    assert _calls("ledger_place") <= {"cycle.state", "cycle.config", "ledger.store"}


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    a = node.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
    return [n for n in names if n not in ("self", "cls")]


def _commands(tree: ast.Module) -> set[str]:
    """The command line's command functions: those registered as commands (a decorator
    `...command(...)`, or `group.command(...)(name)` as cli/app.py and cli/assure.py do)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                "command" in ast.unparse(d) for d in node.decorator_list):
            found.add(node.name)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Call) and \
                isinstance(node.func.func, ast.Attribute) and node.func.func.attr == "command" \
                and node.args and isinstance(node.args[0], ast.Name):
            found.add(node.args[0].id)
    return found


def test_no_function_takes_more_than_seven_parameters():
    """What travels together is one record: no function but the command line's command
    functions (one option a parameter) takes more than seven."""
    registered = set()
    for path in (PACKAGE / "cli").glob("*.py"):
        registered |= _commands(ast.parse(path.read_text(encoding="utf-8")))
    registered |= {"forecast", "statements", "init"}  # registered on the app in cli/app.py
    app = (PACKAGE / "cli" / "app.py").read_text(encoding="utf-8")
    assert all(f"app.command()({name})" in app for name in ("forecast", "statements", "init"))
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        in_cli = path.parent == PACKAGE / "cli"
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                    len(_parameters(node)) > 7 and not (in_cli and node.name in registered):
                long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert long == []


def test_a_function_with_eight_parameters_is_found():
    node = ast.parse("def f(self, a, b, c, d, e, f, g, *h): pass").body[0]
    assert isinstance(node, ast.FunctionDef) and len(_parameters(node)) == 8
