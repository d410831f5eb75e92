"""The model loader's rules for what a return looks like: its sheets and their columns, the
contract register's columns, and the checks across a sheet's rows. Mixed into the loader's
builder (loader.py), whose `fail`, `unique`, `formula`, `figure` and code lists they use."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from fractions import Fraction
from typing import Any

from pbr_cli import expr as formulas
from pbr_cli.model.conditions import condition_problem, is_condition, sample_value
from pbr_cli.model.kinds import GROUP_RULES, NUMERIC_TYPES, ColumnType, GroupCheckKind, Within
from pbr_cli.model.records import (
    PERIOD_FACTS,
    CodeList,
    Column,
    Dated,
    GroupCheck,
    RegisterSpec,
    Sheet,
    period_facts,
)
from pbr_cli.model.schema import did_you_mean
from pbr_cli.model.yamlread import Path as KeyPath
from pbr_cli.periods import Month
from pbr_cli.problems import Severity


class ReturnLayoutRules:
    path: Any  # the model file's path
    data: dict[str, Any]
    codes: dict[str, CodeList]
    fail: Callable[[KeyPath, str], None]
    unique: Callable[[list[str], KeyPath, str], None]
    formula: Callable[[Any, KeyPath, set[str]], formulas.Expr | None]
    figure: Callable[[Any, KeyPath], Fraction | Dated]
    measure_at: dict[str, int]  # each measure's name: its place under `measures`

    def column(self, spec: dict[str, Any], path: KeyPath, known: set[str]) -> Column:
        kind = spec["type"]
        if kind == "code":
            if not spec.get("codes"):
                self.fail((*path, "type"), "a code column needs `codes:` naming a code list")
            elif spec["codes"] not in self.codes:
                self.fail((*path, "codes"), f"no code list '{spec['codes']}' under `codes`"
                          f"{did_you_mean(spec['codes'], set(self.codes))}")
        if spec.get("within") and kind not in ("date", "date-time"):
            self.fail((*path, "within"), "`within` applies to date and date-time columns only")
        if (spec.get("min") is not None or spec.get("max") is not None) and kind not in (
                *NUMERIC_TYPES, ColumnType.DATE):
            self.fail(path, "`min` and `max` apply to number and date columns only")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", spec["name"]):
            self.fail((*path, "name"), "a column name is lower_case_words (letters, digits, _)")
        return Column(
            name=spec["name"],
            header=spec.get("header") or spec["name"].replace("_", " ").capitalize(),
            type=ColumnType(kind), codes=spec.get("codes"),
            required=spec.get("required", True) and not spec.get("required_when"),
            required_when=self.formula(spec.get("required_when"), (*path, "required_when"), known),
            min=self.formula(spec.get("min"), (*path, "min"), known),
            max=self.formula(spec.get("max"), (*path, "max"), known),
            within=Within(spec["within"]) if spec.get("within") else None,
            register=bool(spec.get("register")),
            prefill=spec.get("prefill"), info=bool(spec.get("info")), help=spec.get("help") or "",
        )

    def register(self, spec: dict[str, Any], params: set[str]) -> RegisterSpec:
        path: KeyPath = ("register",)
        columns = tuple(self.column(c, (*path, "columns", i), params | set(PERIOD_FACTS))
                        for i, c in enumerate(spec["columns"]))
        names = {c.name for c in columns}
        self.unique([c.name for c in columns], (*path, "columns"), "column")
        for key in ("key", "provider", "provider_name", "label", "start", "end"):
            if spec.get(key) and spec[key] not in names:
                self.fail((*path, key), f"no register column '{spec[key]}'{did_you_mean(spec[key], names)}")
        for i, name in enumerate(spec.get("group_by") or []):
            if name not in names:
                self.fail((*path, "group_by", i), f"no register column '{name}'")
        return RegisterSpec(
            file=(self.path.parent / spec["file"]), entity=spec["entity"], key=spec["key"],
            provider=spec["provider"], columns=columns, provider_name=spec.get("provider_name"),
            label=spec.get("label"), start=spec.get("start"), end=spec.get("end"),
            group_by=tuple(spec.get("group_by") or ()),
        )

    def sheet(self, spec: dict[str, Any], path: KeyPath, known: set[str]) -> Sheet:
        own = {str(c.get("name")) for c in spec["columns"] if isinstance(c, dict)}
        columns = tuple(self.column(c, (*path, "columns", i), known | own)
                        for i, c in enumerate(spec["columns"]))
        names = {c.name for c in columns}
        self.unique([c.name for c in columns], (*path, "columns"), "column")
        if sum(c.register for c in columns) > 1:
            self.fail((*path, "columns"),
                      "at most one column may have `register: true` (it links rows to entries)")
        if spec.get("one_row_per") and not any(c.register for c in columns):
            self.fail((*path, "one_row_per"), "one row per register entry needs a column with "
                      "`register: true`")
        for i, col in enumerate(columns):
            if col.prefill and col.prefill not in {c.name for c in self.data_register_columns()}:
                self.fail((*path, "columns", i, "prefill"), f"no register column '{col.prefill}'")
            elif col.prefill and spec.get("one_row_per") != "register-entry":
                self.fail((*path, "columns", i, "prefill"), "`prefill` fills the rows of a "
                          "sheet with one row per register entry (`one_row_per: "
                          "register-entry`); on this sheet it would fill nothing")
        for i, name in enumerate(spec.get("key") or []):
            if name not in names:
                self.fail((*path, "key", i), f"no column '{name}' on this sheet{did_you_mean(name, names)}")
        register_types = {c.name: c.type for c in self.data_register_columns()}
        self.bounds_give_their_type(columns, path, {**register_types,
                                                    **{c.name: c.type for c in columns}})
        return Sheet(name=spec["name"], description=spec.get("description") or "",
                     columns=columns, key=tuple(spec.get("key") or ()),
                     one_row_per=spec.get("one_row_per"), rows=spec.get("rows") or 500,
                     optional=bool(spec.get("optional")))

    def bounds_give_their_type(self, columns: tuple[Column, ...], path: KeyPath,
                               types: dict[str, str]) -> None:
        """Each min/max is worked out once with a value of each name's type: a bound that
        cannot be worked out, or that gives a number for a date (or a date for a number),
        would be skipped on every row, so the rule would never hold."""
        env = self.sample_env(types)
        for i, col in enumerate(columns):
            for key in ("min", "max"):
                bound = getattr(col, key)
                if bound is None or bound.names - set(env):
                    continue
                try:
                    value = bound.evaluate(env)
                except formulas.ExprError as exc:
                    if "division by zero" not in str(exc):
                        self.fail((*path, "columns", i, key), f"this bound cannot be worked out "
                                  f"for any row: {exc}")
                    continue
                if col.type == "date" and not isinstance(value, date):
                    self.fail((*path, "columns", i, key), "a date column's bound must give a "
                              "date: a date column, or one with whole days added (e.g. "
                              "`episode_start + 638`)")
                elif col.type != "date" and (isinstance(value, date) or isinstance(value, bool)):
                    self.fail((*path, "columns", i, key), "a number column's bound must give "
                              "a number")

    def sample_env(self, types: dict[str, str]) -> dict[str, Any]:
        """A value of each column's type by name, the period facts and the parameters (each
        at its first figure): what a formula over a row is worked out with once."""
        env: dict[str, Any] = {name: sample_value(kind) for name, kind in types.items()}
        env.update(period_facts(Month(2000, 1), 4))  # a sample: any month and year start
        env.update({name: self.figure(p["value"], ()) for name, p in
                    (self.data.get("parameters") or {}).items()
                    if isinstance(p, dict) and p.get("value") is not None})
        env.update({name: v.steps[0][1] for name, v in env.items() if isinstance(v, Dated)})
        return env

    def row_condition(self, where: Any, path: KeyPath, sheet: Sheet | None,
                      known: set[str]) -> formulas.Expr | None:
        """A measure's `where` written as a formula over the row's own columns, the register
        entry, the parameters and the period facts; checked once with a value of each type."""
        if not is_condition(where) or sheet is None:
            return None
        own = {c.name: c.type for c in sheet.columns}
        try:
            measures = sorted(n for n in formulas.parse(where).names
                              if n in self.measure_at and n not in own)
        except formulas.ExprError:
            measures = []
        if measures:
            self.fail(path, f"'{measures[0]}' is a measure: a condition reads the row's own "
                      "columns, its register entry, the parameters and the period's facts")
            return None
        parsed = self.formula(where, path, known | set(own))
        if parsed is None or parsed.names - (known | set(own)):
            return parsed
        register_types = {c.name: c.type for c in self.data_register_columns()}
        wrong = condition_problem(parsed, self.sample_env({**register_types, **own}))
        if wrong:
            self.fail(path, wrong)
        return parsed

    def data_register_columns(self) -> list[Column]:
        return [Column(c["name"], "", ColumnType(c["type"])) for c in self.data["register"]["columns"]]

    def check(self, spec: dict[str, Any], path: KeyPath, sheets: tuple[Sheet, ...]) -> GroupCheck:
        sheet = next((s for s in sheets if s.name == spec["sheet"]), None)
        if sheet is None:
            self.fail((*path, "sheet"), f"no return sheet '{spec['sheet']}'")
        else:
            for i, name in enumerate(spec["group_by"]):
                if sheet.column(name) is None:
                    self.fail((*path, "group_by", i), f"no column '{name}' on {sheet.name}")
            if spec.get("column") and sheet.column(spec["column"]) is None:
                self.fail((*path, "column"), f"no column '{spec['column']}' on {sheet.name}")
        kind = GroupCheckKind(spec["kind"])
        rule = GROUP_RULES[kind]
        if rule.missing_keys(spec):
            self.fail(path, f"{kind} needs " + " and ".join(f"`{k.name}`" for k in rule.keys))
        return GroupCheck(kind=kind, sheet=spec["sheet"], group_by=tuple(spec["group_by"]),
                          group_noun=spec.get("group_noun") or "group",
                          row_noun=spec.get("row_noun") or "rows",
                          severity=Severity(spec.get("severity") or "warning"),
                          min=spec.get("min"),
                          column=spec.get("column"),
                          values=tuple(str(v) for v in spec.get("values") or ()))
