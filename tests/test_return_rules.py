"""Each check of a return declares what it raises: its model keys are keys of the model
language, its codes are in the catalogue, and every code a return's checks can raise is
declared by exactly one check (pbr_cli/returns/rules.py). The rule kinds a model names by a
word (pbr_cli/model/kinds.py) are what the schema offers."""

from __future__ import annotations

import re
from pathlib import Path

from pbr_cli.model.kinds import GROUP_RULES, MEASURE_RULES
from pbr_cli.model.schema import CHECK, COLUMN, MEASURE, MODEL, SHEET, Section
from pbr_cli.problems import CATALOGUE
from pbr_cli.returns.rules import CHECKS

RETURNS = Path(__file__).resolve().parent.parent / "pbr_cli" / "returns"


def _all_keys(section: Section, seen: set[str]) -> set[str]:
    from pbr_cli.model.schema import ListOf, MapOf

    for key in section.keys:
        seen.add(key.name)
        kind = key.kind
        while isinstance(kind, (ListOf, MapOf)):
            kind = kind.item if isinstance(kind, ListOf) else kind.value
        if isinstance(kind, Section):
            _all_keys(kind, seen)
    return seen


def test_every_check_names_keys_of_the_model_language_and_codes_of_the_catalogue():
    keys = _all_keys(MODEL, set())
    for check in CHECKS:
        assert set(check.keys) <= keys, check
        assert check.codes() and check.codes() <= set(CATALOGUE), check


def test_every_code_the_checks_raise_is_declared_by_exactly_one_check():
    declared: dict[str, list[str]] = {}
    for check in CHECKS:
        for code in check.codes():
            declared.setdefault(code, []).append(check.__name__)
    assert {c: who for c, who in declared.items() if len(who) > 1} == {}
    # a code spelt in the checks' own modules, rather than taken from a check
    spelt = set()
    for path in RETURNS.glob("*.py"):
        if path.name in ("rules.py", "collect.py", "versions.py", "folders.py", "register.py",
                         "cells.py"):
            continue  # the declarations; the files, the register and the cell converter
        spelt |= set(re.findall(r'"([a-z]+(?:-[a-z]+)+)"', path.read_text(encoding="utf-8")))
    assert spelt & set(CATALOGUE) == set()


def test_the_cell_converter_raises_only_the_codes_cells_declares():
    from pbr_cli.returns.rules import Cells

    text = (RETURNS / "cells.py").read_text(encoding="utf-8")
    raised = set(re.findall(r'"([a-z]+(?:-[a-z]+)+)"', text)) & set(CATALOGUE)
    assert raised <= set(Cells.CONVERTED)


def test_the_schema_offers_the_kinds_and_keys_the_tables_hold():
    kind = CHECK.key("kind")
    assert kind is not None and set(kind.choices) == set(GROUP_RULES)
    for rule in GROUP_RULES.values():
        for key in rule.keys:
            assert CHECK.key(key.name) is not None
    for rule in MEASURE_RULES.values():
        assert MEASURE.key(rule.key.name) == rule.key
    assert COLUMN.key("type") is not None and SHEET.key("columns") is not None
