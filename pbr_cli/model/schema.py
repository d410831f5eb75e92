"""The model language's schema: every key, its type and its meaning, as data.

The loader checks a model against this schema (unknown keys with a "did you mean", wrong
types, missing keys), and the model reference in docs/model-keys.md is generated from it
(docsgen.py), so the two cannot drift.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pbr_cli.model.assurance import ASSURANCE, PERCENT
from pbr_cli.model.kinds import (
    GROUP_RULES,
    MEASURE_RULES,
    ColumnType,
    Over,
    Within,
    one_of,
)
from pbr_cli.model.schema_client import COHORT, PARTICIPANTS
from pbr_cli.model.schema_parts import WINDOW, Key, ListOf, MapOf, Section
from pbr_cli.model.schema_report import REPORT
from pbr_cli.model.schema_signals import SIGNALS
from pbr_cli.model.yamlread import Path, swapped_hint

__all__ = ["MODEL", "TYPE_WORDS", "Key", "ListOf", "MapOf", "Section", "check_schema",
           "did_you_mean", "share_hint"]


TYPE_WORDS = {
    "text": "text",
    "integer": "a whole number",
    "number": "a number (exact; 0.95 means exactly 0.95)",
    "price": "an amount in pounds and pence, amounts by date ({2011-06-01: 600, 2012-04-01: "
             "400}), or a formula giving one (over the parameters, the register entry and the "
             "participant's attachment row)",
    "count": "a whole number, or a formula giving one (over the parameters, the register "
             "entry and the participant's attachment row)",
    "dates": "a list of dates written YYYY-MM-DD",
    "figure": "a number (exact; 0.95 means exactly 0.95), or numbers by the date they apply "
              "from ({2011-06-01: 600, 2012-04-01: 400})",
    "money": "an amount in pounds and pence (a number with at most two decimal places, e.g. 150.25)",
    "date": "a date written YYYY-MM-DD",
    "bool": "true or false",
    "formula": "a formula (see Formulas)",
    "names": "a list of names",
    "texts": "a list of text values",
    "text-or-texts": "a text value or a list of them",
    "percent": "a percentage written with its sign, e.g. 10% or 2.5% (exact)",
    "condition": "a formula true or false for each row (over its own columns, the register "
                 "entry, the parameters and the period's facts), or column: value pairs (a value "
                 "or a list of them)",
}

COLUMN_TYPES = tuple(ColumnType)

COLUMN = Section(
    "Column",
    "One column of a return sheet or of the contract register.",
    (
        Key("name", "text", "The column's name in formulas and outputs (lower_case_words).",
            required=True, example="void_days"),
        Key("header", "text", "The heading providers see in row 1 (default: the name in words).",
            example="Void unit-days"),
        Key("type", "text", "What the cells hold.", required=True, choices=COLUMN_TYPES),
        Key("codes", "text", "For type code: the code list (a key under `codes`)."),
        Key("required", "bool", "Every row must fill it (default true)."),
        Key("required_when", "formula",
            "Required only when this formula is true for the row's register entry.",
            example='service_type == "ACC"'),
        Key("min", "formula", "Smallest value allowed (a number or a formula; may use the row's "
            "other columns, e.g. a date column's `min: episode_start`).", example="0"),
        Key("max", "formula", "Largest value allowed; may use register columns and period facts.",
            example="capacity * days_in_month"),
        Key("within", "text", "For dates: `period`, inside the return's month; `before-start`, "
            "before the scheme starts (an opening caseload's episode starts).",
            choices=tuple(Within)),
        Key("register", "bool", "This column holds the register key: the entry must exist and "
            "belong to the return's provider. A sheet without one holds the provider's own "
            "records (client-level sheets)."),
        Key("prefill", "text", "Template: fill this column from this register column."),
        Key("info", "bool", "Shown for the provider's reference; not read back or checked."),
        Key("help", "text", "The input message providers see when they select the cell."),
    ),
)

SHEET = Section(
    "Sheet",
    "One sheet of the provider's return.",
    (
        Key("name", "text", "The sheet's name in the workbook.", required=True,
            example="Utilisation"),
        Key("description", "text", "What the provider reports on this sheet."),
        Key("one_row_per", "text",
            "register-entry: exactly one row for each of the provider's register entries active "
            "in the period (the template pre-fills them).", choices=("register-entry",)),
        Key("key", "names", "Columns that together must be unique (duplicates are errors)."),
        Key("rows", "integer", "Template: how many blank rows to prepare (default 500)."),
        Key("optional", "bool", "A return may leave this sheet out (e.g. an opening caseload, "
            "filled in once); the template still has it."),
        Key("columns", ListOf(COLUMN), "The sheet's columns, left to right.", required=True),
    ),
)

CHECK = Section(
    "Check",
    "A check across rows of one sheet, per group of rows (e.g. per client).",
    (
        Key("kind", "text", " ".join(f"{kind}: {rule.doc}" for kind, rule in GROUP_RULES.items()),
            required=True, choices=tuple(GROUP_RULES)),
        Key("sheet", "text", "The sheet checked.", required=True),
        Key("group_by", "names", "Columns whose values make a group.", required=True),
        Key("group_noun", "text", "What a group is called in messages.", example="client"),
        Key("row_noun", "text", "What a row is called in messages.", example="outcomes"),
        # each kind's own keys
        *(Key(key.name, key.kind, f"For {kind}: {key.doc}")
          for kind, rule in GROUP_RULES.items() for key in rule.keys),
        Key("severity", "text", "error or warning (default warning).",
            choices=("error", "warning")),
    ),
)

MEASURE = Section(
    "Measure",
    "A named figure worked out for each register entry each month. Give exactly one of "
    f"{one_of(tuple(MEASURE_RULES))}.",
    (
        Key("name", "text", "The measure's name, used in later formulas.", required=True),
        Key("label", "text", "Its heading in schedules and reports."),
        *(rule.key for rule in MEASURE_RULES.values()),  # each kind's own key
        Key("where", "condition",
            "For sum/count: only rows for which the formula is true (`reconvicted_within_months "
            "<= 12`), or whose column has this value (or one of these values); a row the "
            "formula cannot be worked out for (a blank figure) is not counted, with a warning "
            "(rows-not-counted)."),
        Key("window", WINDOW, "For sum/count: look back over a rolling window (default: the "
            "period month only)."),
        Key("over", "text", "For sum/count: whose rows are added up: `entry`, the register "
            "entry's own (the default); `provider`, every entry of its provider; `scheme`, "
            "every entry in the scheme (a pooled figure, the same for all).",
            choices=tuple(Over)),
        Key("format", "text", "How to show it.",
            choices=("number", "integer", "money", "percent", "ratio")),
    ),
)

COMPONENT = Section(
    "Payment",
    "One payment component, worked out for each register entry and rounded half-up to the penny.",
    (
        Key("name", "text", "Short name.", required=True, example="utilisation"),
        Key("label", "text", "Heading in schedules.", required=True),
        Key("amount", "formula", "The amount in pounds, before rounding.", required=True,
            example="utilisation_share * monthly_value * utilisation_factor"),
        Key("shows", "names", "Measures shown beside the amount as its evidence."),
        Key("description", "text", "What this pays for, in words."),
        Key("paid", "text", "How often it is paid (default monthly): quarterly or annually, "
            "by the scheme's contract year (`scheme.year_starts`); the months in between are "
            "worked out and shown as accrued, and the month that ends the quarter or year (or "
            "the contract) pays their sum.", choices=("monthly", "quarterly", "annually")),
        Key("without_return", "bool", "Paid even when the provider's return for the month is "
            "missing or has errors (a contract fee); its amount must not read the return."),
    ),
)

RULE_WARNING = Section(
    "Warning",
    "A warning put on the schedule for an entry when a formula is true.",
    (
        Key("when", "formula", "When to warn.", required=True, example="outcomes_assessed == 0"),
        Key("code", "text", "A stable code for the warning.", required=True),
        Key("message", "text", "The message; {name} is replaced by a measure's value and "
            "{measure.window} by the dates of that measure's window.", required=True),
    ),
)

MODEL = Section(
    "Model",
    "A model file: one scheme, completely.",
    (
        Key("pbr_model", "integer", "The model language version (1).", required=True),
        Key("scheme", Section("Scheme", "Facts about the scheme.", (
            Key("name", "text", "The model's name; must match the file name.", required=True),
            Key("title", "text", "The scheme's title in outputs.", required=True),
            Key("version", "text", "The model's version; templates record it.", required=True),
            Key("commissioner", "text", "Who commissions the scheme."),
            Key("start", "date", "First day of the scheme.", required=True),
            Key("end", "date", "Last day of the scheme.", required=True),
            Key("period", "text", "How often providers return.", required=True,
                choices=("month",)),
            Key("payments", "text", "real, or virtual (shadow payments, not for payment).",
                required=True, choices=("real", "virtual")),
            Key("holidays", "dates", "Bank and public holidays, for deadlines in working "
                "days (Monday to Friday, not one of these).",
                example="[2012-12-25, 2012-12-26, 2013-01-01]"),
            Key("year_starts", "integer", "The month (1-12) the scheme's years start, for fee "
                "shares and annual caps: 4, April, the UK financial year, unless the contract "
                "says otherwise (6: years from June).", example="6"),
            Key("description", "text", "What the scheme pays for, in words."),
        )), "Scheme facts.", required=True),
        Key("parameters", MapOf(Section("Parameter", "A named figure formulas can use.", (
            Key("value", "figure", "The figure, or the figures by the date each applies from "
                "(the one in force on a payment's date applies). Give `value`, or `by` and "
                "`values`.", example="{2011-06-01: 600, 2012-04-01: 400}"),
            Key("by", "text", "A figure that depends on a code: the column (of the register, or "
                "of the participant's attachment row) whose code chooses it.",
                example="group"),
            Key("values", MapOf("number"), "With `by`: the figure for each code of that "
                "column's code list.", example="{LOW: 400, HIGH: 600}"),
            Key("label", "text", "What it means."),
        ))), "Named figures used by formulas."),
        Key("codes", MapOf(Section("Code list", "Allowed codes and their labels.", (
            Key("label", "text", "What the list is."),
            Key("values", MapOf("text"), "code: label pairs.", required=True),
        ))), "Code lists for code columns."),
        Key("register", Section("Register", "The commissioner's contract register.", (
            Key("file", "text", "CSV or xlsx, relative to the model file.", required=True),
            Key("entity", "text", "What one row is (e.g. service).", required=True),
            Key("key", "text", "The column that identifies a row.", required=True),
            Key("provider", "text", "The column holding the provider code.", required=True),
            Key("provider_name", "text", "The column holding the provider's name."),
            Key("label", "text", "The column naming an entry (e.g. service_name)."),
            Key("start", "text", "The column holding the contract start date."),
            Key("end", "text", "The column holding the contract end date."),
            Key("group_by", "names", "Columns to break totals down by (e.g. client_group)."),
            Key("columns", ListOf(COLUMN), "The register's columns.", required=True),
        )), "Where commissioner-held facts live.", required=True),
        Key("return", Section("Return", "The return providers fill in.", (
            Key("sheets", ListOf(SHEET), "The sheets of the return.", required=True),
            Key("checks", ListOf(CHECK), "Checks across rows."),
        )), "The return layout.", required=True),
        Key("measures", ListOf(MEASURE), "Figures worked out per entry per month, in order."),
        Key("payments", ListOf(COMPONENT), "The payment components (required unless the model "
            "has a `cohort`)."),
        Key("comparison", COMPONENT,
            "What the existing contract pays, shown beside the PbR payment (e.g. block)."),
        Key("warnings", ListOf(RULE_WARNING), "Warnings raised per entry."),
        Key("cohort", COHORT, "Client-level rules (episodes, banded outcomes, tariff, cap)."),
        Key("participants", PARTICIPANTS, "Per-participant rules (fees on attachment, results, "
            "a maximum per participant)."),
        Key("report", REPORT, "How period reports present the scheme."),
        Key("signals", SIGNALS, "Signals of gaming shown in reports and by `pbr assure signals` "
            "(never a payment)."),
        Key("assurance", ASSURANCE, "Checking claims after payment: samples, verdicts, "
            "recovery (docs/assurance.md)."),
    ),
)


@dataclass
class SchemaProblem:
    path: Path
    message: str


@dataclass
class _Walker:
    problems: list[SchemaProblem] = field(default_factory=list)

    def fail(self, path: Path, message: str) -> None:
        self.problems.append(SchemaProblem(path, message))

    def walk(self, value: Any, kind: Any, path: Path) -> None:
        if isinstance(kind, Section):
            self.section(value, kind, path)
        elif isinstance(kind, ListOf):
            if not isinstance(value, list):
                self.fail(path, "must be a list (lines starting with '- ')")
                return
            for i, item in enumerate(value):
                self.walk(item, kind.item, (*path, i))
        elif isinstance(kind, MapOf):
            if not isinstance(value, dict):
                self.fail(path, "must be a set of name: value lines")
                return
            for name, item in value.items():
                if _comma_split(value, name):
                    self.fail((*path, name), _comma_split(value, name))
                    continue
                self.walk(item, kind.value, (*path, name))
        elif kind == "condition" and isinstance(value, dict):  # column: value pairs
            self.walk(value, MapOf("text-or-texts"), path)
        else:
            self.scalar(value, kind, path)

    def section(self, value: Any, section: Section, path: Path) -> None:
        if not isinstance(value, dict):
            self.fail(path, f"must be a set of keys ({section.title.lower()})")
            return
        names = [k.name for k in section.keys]
        for name in value:
            if section.key(name) is None and _comma_split(value, name):
                self.fail((*path, name), _comma_split(value, name))
            elif section.key(name) is None:
                hint = did_you_mean(name, set(names)) or f"; known keys: {', '.join(names)}"
                hint = next((f": {why}" for key, why in section.instead if key == name), hint)
                self.fail((*path, name), f"unknown key '{name}'{hint}")
        for key in section.keys:
            if key.name not in value or value[key.name] is None:
                if key.required:
                    self.fail((*path, key.name), f"the key '{key.name}' is missing ({key.doc})")
                continue
            self.walk(value[key.name], key.kind, (*path, key.name))
            if key.choices and isinstance(value[key.name], str) and value[key.name] not in key.choices:
                self.fail((*path, key.name),
                          f"'{value[key.name]}' is not one of: {', '.join(key.choices)}")

    def scalar(self, value: Any, kind: str, path: Path) -> None:
        ok = {
            "text": lambda v: isinstance(v, str),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, (int, Decimal)) and not isinstance(v, bool),
            "money": lambda v: isinstance(v, (int, Decimal)) and not isinstance(v, bool)
            and (isinstance(v, int) or _at_most_pennies(v)),
            "date": lambda v: isinstance(v, date),
            "bool": lambda v: isinstance(v, bool),
            "formula": lambda v: isinstance(v, (str, int, Decimal)) and not isinstance(v, bool),
            "price": lambda v: isinstance(v, str) or _money(v) or _dated(v, _money),
            "figure": lambda v: _number(v) or _dated(v, _number),
            "dates": lambda v: isinstance(v, list) and all(isinstance(x, date) for x in v),
            "count": lambda v: isinstance(v, str) or (isinstance(v, int)
                                                      and not isinstance(v, bool)),
            "names": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
            "texts": lambda v: isinstance(v, list) and all(isinstance(x, (str, int)) for x in v),
            "condition": lambda v: isinstance(v, str),
            "percent": lambda v: isinstance(v, str) and PERCENT.fullmatch(v.strip()) is not None,
            "text-or-texts": lambda v: isinstance(v, (str, int))
            or (isinstance(v, list) and all(isinstance(x, (str, int)) for x in v)),
        }[kind]
        if not ok(value):
            if kind in DATED_OF and isinstance(value, dict) and value:
                self.dated(value, DATED_OF[kind], path)
                return
            item = ITEM_OF.get(kind)
            if item is not None and isinstance(value, list):
                for i, each in enumerate(value):  # the first item that is not one, by its place
                    if not ok([each]):
                        self.fail((*path, i), f"must be {TYPE_WORDS[item]}, not {_shown(each)}"
                                  f"{written_hint(each, item)}")
                        return
            self.fail(path, f"must be {TYPE_WORDS[kind]}, not {_shown(value)}"
                      f"{written_hint(value, kind)}")

    def dated(self, value: dict[Any, Any], figure: str, path: Path) -> None:
        """Figures by date with a bad date or figure: each named once, at its own line."""
        valid = {"number": _number, "money": _money}[figure]
        for key, each in value.items():
            try:
                date.fromisoformat(str(key))
            except ValueError:
                shaped = re.fullmatch(r"\d{4}-\d\d-\d\d", str(key))
                self.fail((*path, key), f"'{key}' is not a date"
                          + (f" of the calendar{swapped_hint(str(key))}" if shaped else
                             f": write the date this figure applies from as YYYY-MM-DD"
                             f"{written_hint(key, 'date')}"))
                continue
            if not valid(each):
                self.fail((*path, key), f"must be {TYPE_WORDS[figure]}, not {_shown(each)}"
                          f"{written_hint(each, figure)}")


# a list's kind, and the kind of each of its items (a bad item is named at its place)
ITEM_OF = {"dates": "date", "names": "text", "texts": "text"}
# figures by date: the kind of each figure (a bad date or figure is named at its place)
DATED_OF = {"figure": "number", "price": "money"}


def written_hint(value: Any, kind: str) -> str:
    """What to write for a figure or date typed the way people write them by hand: "1,200"
    is 1200, "0,95" is 0.95, 26/12/2013 is 2013-12-26; "" when it is none of those."""
    text = str(value).strip()
    if kind in ("date", "dates"):
        day = re.fullmatch(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})", text)
        iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
        if day is None and iso is None:
            return ""
        try:
            meant = (date(int(day[3]), int(day[2]), int(day[1])) if day is not None
                     else date(int(iso[1]), int(iso[2]), int(iso[3])))  # type: ignore[index]
        except ValueError:
            return ""
        return f" (write {meant.isoformat()} for {text})"
    if kind not in ("integer", "number", "money", "figure", "price", "count") \
            or not isinstance(value, str):
        return ""
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text):
        return f" (write {text.replace(',', '')}: a number without commas)"
    if re.fullmatch(r"-?\d+,\d+", text):
        return f" (write {text.replace(',', '.')}: a decimal point, not a comma)"
    return ""


def _comma_split(mapping: dict[str, Any], name: str) -> str:
    """Inside {...} a comma ends an entry: `{from: 0,60, price: 300}` reads as `from: 0` and a
    key `60` with nothing. What to write for such a key, or ""."""
    keys = list(mapping)
    at = keys.index(name)
    before = mapping[keys[at - 1]] if at else None
    if not (name.isdigit() and mapping[name] is None and isinstance(before, int)
            and not isinstance(before, bool)):
        return ""
    written = f"{before},{name}"
    return (f"'{written}' reads as two entries (a comma ends one): write "
            + (f"{before}{name}: a number without commas" if len(name) == 3 and before
               else f"{before}.{name}: a decimal point, not a comma"))


def _shown(value: Any) -> str:
    """A value as the model's author wrote it: a date as YYYY-MM-DD, a number as written, a
    text in quotes, a list of them likewise."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return repr(value)


def check_schema(data: Any) -> list[SchemaProblem]:
    walker = _Walker()
    walker.walk(data, MODEL, ())
    return walker.problems


def _number(v: Any) -> bool:
    return isinstance(v, (int, Decimal)) and not isinstance(v, bool)


def _money(v: Any) -> bool:
    return _number(v) and (isinstance(v, int) or _at_most_pennies(v))


def _dated(v: Any, value_ok: Any) -> bool:
    """Values by date: {YYYY-MM-DD: value, ...}, at least one."""
    if not isinstance(v, dict) or not v:
        return False
    for key, value in v.items():
        try:
            date.fromisoformat(str(key))
        except ValueError:
            return False
        if not value_ok(value):
            return False
    return True


def _at_most_pennies(value: Decimal) -> bool:
    """A finite amount with no more than two decimal places."""
    exponent = value.as_tuple().exponent
    return isinstance(exponent, int) and exponent >= -2


def did_you_mean(name: str, known: set[str]) -> str:
    """"; did you mean 'x'?" for the closest known name, or "" when none is close."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def share_hint(value: object) -> str:
    """" (write 0.05 for 5%)" for a share typed as a percentage, else ""."""
    from decimal import Decimal, InvalidOperation

    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return ""
    return f" (write {number / 100} for {number}%)" if 1 < number <= 100 else ""
