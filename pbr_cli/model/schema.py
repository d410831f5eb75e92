"""The model language's schema: every key, its type and its meaning, as data.

The loader checks a model against this schema (unknown keys with a "did you mean", wrong
types, missing keys), and the model reference in docs/models.md is generated from it, so
the two cannot drift.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pbr_cli.model.yamlread import Path


@dataclass(frozen=True)
class Key:
    name: str
    kind: Any  # a type word, a Section, ListOf or MapOf
    doc: str
    required: bool = False
    choices: tuple[str, ...] = ()
    example: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    doc: str
    keys: tuple[Key, ...]
    # keys a model writer may reach for here that mean something else: what to write instead
    instead: tuple[tuple[str, str], ...] = ()

    def key(self, name: str) -> Key | None:
        return next((k for k in self.keys if k.name == name), None)


@dataclass(frozen=True)
class ListOf:
    item: Any


@dataclass(frozen=True)
class MapOf:
    value: Any
    doc: str = ""


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
}

COLUMN_TYPES = ("text", "integer", "number", "money", "date", "code")

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
            choices=("period", "before-start")),
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
        Key("kind", "text", "min-rows-per-group: each group has at least `min` rows. "
            "must-include-per-group: each group has rows with all of `values` in `column`.",
            required=True, choices=("min-rows-per-group", "must-include-per-group")),
        Key("sheet", "text", "The sheet checked.", required=True),
        Key("group_by", "names", "Columns whose values make a group.", required=True),
        Key("group_noun", "text", "What a group is called in messages.", example="client"),
        Key("row_noun", "text", "What a row is called in messages.", example="outcomes"),
        Key("min", "integer", "For min-rows-per-group: the least number of rows."),
        Key("column", "text", "For must-include-per-group: the column looked at."),
        Key("values", "texts", "For must-include-per-group: values every group must have."),
        Key("severity", "text", "error or warning (default warning).",
            choices=("error", "warning")),
    ),
)

WINDOW = Section(
    "Window",
    "A rolling window of whole months ending with the period month, never before the scheme "
    "start.",
    (Key("months", "integer", "How many months, including the period month.", required=True),),
)

MEASURE = Section(
    "Measure",
    "A named figure worked out for each register entry each month. Give exactly one of "
    "`expr`, `sum` or `count`.",
    (
        Key("name", "text", "The measure's name, used in later formulas.", required=True),
        Key("label", "text", "Its heading in schedules and reports."),
        Key("expr", "formula", "A formula over parameters, register columns, period facts "
            "and earlier measures.", example="min(1, utilisation / utilisation_target)"),
        Key("sum", "text", "Sum a return column (Sheet.column) over the entry's rows.",
            example="Utilisation.void_days"),
        Key("count", "text", "Count the entry's rows of a return sheet.", example="Outcomes"),
        Key("where", MapOf("text-or-texts"),
            "For sum/count: only rows whose column has this value (or one of these values)."),
        Key("window", WINDOW, "For sum/count: look back over a rolling window (default: the "
            "period month only)."),
        Key("over", "text", "For sum/count: whose rows are added up: `entry`, the register "
            "entry's own (the default); `provider`, every entry of its provider; `scheme`, "
            "every entry in the scheme (a pooled figure, the same for all).",
            choices=("entry", "provider", "scheme")),
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

SHEET_REF = Section(
    "Record sheet",
    "Where one kind of client-level record lives.",
    (
        Key("sheet", "text", "The return sheet.", required=True, example="Presentations"),
        Key("date", "text", "The column holding the record's date.", required=True),
        Key("episode_start", "text", "Discharges only: the column giving the start (presentation "
            "date) of the episode that ends."),
    ),
)

BAND = Section(
    "Band",
    "One band of an outcome's price table.",
    (
        Key("from", "number", "The lowest proportion in the band (inclusive), e.g. 0.25.",
            required=True),
        Key("price", "money", "The price per outcome event in pounds.", required=True),
    ),
)

OUTCOME = Section(
    "Outcome",
    "A cohort outcome: one event per episode at most, a proportion per provider and group over "
    "the window, and a price from that proportion's band.",
    (
        Key("name", "text", "Short name.", required=True, example="completion"),
        Key("label", "text", "Heading in schedules.", required=True),
        Key("event", "text",
            "discharge: a discharge for which `when` is true; the proportion is such episodes / "
            "episodes in treatment at any time in the window. first-review: the episode's first "
            "review for which `when` is true; the proportion is episodes with such a review in "
            "the window / episodes with any review in the window. follow-up: `months` after the "
            "event of outcome `after`, if the client did not present again anywhere; the "
            "proportion is such follow-ups ending in the window / all follow-ups ending in it.",
            required=True, choices=("discharge", "first-review", "follow-up")),
        Key("when", "formula", "For discharge and first-review: which records count, a formula "
            "over the record's columns.", example='discharge_reason in ("TCDF", "TCOU")'),
        Key("after", "text", "For follow-up: the outcome whose event starts it."),
        Key("months", "integer", "For follow-up: its length in calendar months."),
        Key("bands", MapOf(ListOf(BAND)), "Per group code, the price bands, lowest first. Below "
            "the first band the price is 0. Leave out for an outcome that is reported, not paid."),
        Key("description", "text", "What the outcome is, in words."),
    ),
)

COHORT = Section(
    "Cohort",
    "Client-level rules. Returns list presentations, discharges and reviews per client; pbr "
    "builds episodes (one client at one provider, from presentation to discharge) from every "
    "return since the scheme start, across all providers.",
    (
        Key("client", "text", "The column holding the client id on every record sheet.",
            required=True, example="client_id"),
        Key("client_case", "text", "`distinct` (the default): client ids that differ only in "
            "case are two clients, and pbr warns (`ids-differ-in-case`); `same`: they are one "
            "client (compared in capitals)."),
        Key("group", "text", "The code column holding the episode's group, set at presentation; "
            "other record sheets that carry it must agree.", required=True, example="complexity"),
        Key("presentations", SHEET_REF, "Presentations: each starts an episode.", required=True),
        Key("discharges", SHEET_REF, "Discharges: each ends the episode that started on its "
            "`episode_start`.", required=True),
        Key("reviews", SHEET_REF, "Outcome reviews inside an episode."),
        Key("opening", SHEET_REF, "The opening caseload: clients already in treatment when "
            "the scheme starts, one row an episode, its `date` the episode's start (before the "
            "scheme starts). Each row starts an episode as a presentation would, but earns no "
            "tariff; it counts for the anti-churn rule. Usually an `optional` sheet filled in "
            "the provider's first return."),
        Key("window", WINDOW, "The rolling window proportions are measured over.", required=True),
        Key("tariff", Section("Tariff", "A price for each new presentation.", (
            Key("name", "text", "Short name.", required=True),
            Key("label", "text", "Heading in schedules.", required=True),
            Key("prices", MapOf("money"), "Price per group code.", required=True),
            Key("churn_months", "integer", "No tariff when the client presented (anywhere) in "
                "this many calendar months before.", required=True),
            Key("same_day", "text", "`once` (the default): one tariff a client a day across "
                "providers, to the provider first by code, the others refused (two providers "
                "on one day is the easy way round the churn rule); `each`: every provider's "
                "presentation is paid on its own merits."),
            Key("description", "text", "In words."),
        )), "The presentation tariff."),
        Key("outcomes", ListOf(OUTCOME), "The outcomes, paid and reported-only.", required=True),
        Key("cap", "text", "A register column (money) holding each provider's maximum payment "
            "per financial year (1 April to 31 March); blank means no cap."),
    ),
)

FEE = Section(
    "Fee",
    "A fee paid when a participant is attached (e.g. an up-front attachment fee).",
    (
        Key("name", "text", "Short name.", required=True, example="attachment"),
        Key("label", "text", "Heading in schedules.", required=True),
        Key("base", "price", "The full fee in pounds, before the year's share; a formula may "
            "read the participant's attachment row (e.g. its payment group).", required=True,
            example="4000"),
        Key("shares", MapOf("number"), "Per financial year (`\"2013/14\"`), the share of `base` "
            "paid for a participant attached in that year. Every year the scheme touches needs "
            "one.", required=True),
        Key("description", "text", "In words."),
    ),
)

REFUSAL = Section(
    "Refusal",
    "A claim the result is not paid on, from the claim's own columns: refused, saying why; the "
    "rest of the return is paid.",
    (
        Key("when", "formula", "A condition over the claim row's columns (and the parameters); "
            "when it holds, the claim is refused.", required=True,
            example='evidence != "LETTER"'),
        Key("reason", "text", "Why, in words, as the Evidence sheet says it.", required=True),
    ),
)

RESULT = Section(
    "Result",
    "A payment for a result claimed for a participant.",
    (
        Key("name", "text", "Short name.", required=True, example="employment"),
        Key("label", "text", "Heading in schedules.", required=True),
        Key("when_all", "texts", "Claim codes that must all be claimed for the participant; the "
            "result is paid on the claim that completes them."),
        Key("when_any", "texts", "Claim codes any one of which is the result."),
        Key("amount", "price", "The price in pounds (or a formula, e.g. a parameter)."),
        Key("to_total", "price", "Instead of a price: pays what brings the participant's fees "
            "and this `once_in` group's payments up to this total."),
        Key("once_in", "text", "A word naming a group of results of which a participant is paid "
            "at most one (e.g. `results`)."),
        Key("deflator", "number", "The share of the price taken off for results that would have "
            "happened anyway (default 0)."),
        Key("every_weeks", "integer", "Sustainment: paid again for a claim at least this many "
            "weeks from every one already paid (a late claim between two is paid when it "
            "overlaps neither)."),
        Key("up_to", "count", "With `every_weeks`: the most payments per participant "
            "(default 1)."),
        Key("after", "text", "Paid only once this other result has been paid for the "
            "participant; with `every_weeks`, the first payment at least that many weeks after "
            "it (sustainment after a job outcome)."),
        Key("weeks_after_attachment", "integer", "Paid only for a claim achieved at least this "
            "many weeks after the participant's attachment."),
        Key("refused_when", ListOf(REFUSAL), "Claims not paid on, from their own columns: a "
            "signed letter missing, earnings below a threshold, evidence self-certified."),
        Key("description", "text", "In words."),
    ),
    instead=(("when", "a result is paid on claim codes, not on a condition: `when_any: [CODE, "
              "...]` (any one of them) or `when_all: [CODE, ...]` (all of them)"),),
)

PARTICIPANTS = Section(
    "Participants",
    "Per-participant rules (a family, a person): fees on attachment, results by routes, a "
    "maximum per participant.",
    (
        Key("id", "text", "The column holding the participant's id on both sheets.",
            required=True, example="family_id"),
        Key("attachments", Section("Attachments", "The sheet of attachments.", (
            Key("sheet", "text", "The return sheet.", required=True),
            Key("date", "text", "Its attachment date column.", required=True),
        )), "Attachments: a participant joins the programme.", required=True),
        Key("claims", Section("Claims", "The sheet of result claims.", (
            Key("sheet", "text", "The return sheet.", required=True),
            Key("date", "text", "The date the result was achieved.", required=True),
            Key("outcome", "text", "The code column naming what was achieved.", required=True),
        )), "Claims: results achieved, one row per participant and code.", required=True),
        Key("maximum", "price", "The most paid for one participant, fees and results together."),
        Key("provider_maximum", "price", "The most paid to one provider for all its "
            "participants over the scheme, fees and results together (a formula may read the "
            "register entry, e.g. a contract value).", example="3000000"),
        Key("claim_within_months", "integer", "A claim in a return more than this many calendar "
            "months after the month it was achieved in is not paid."),
        Key("claim_within_days", "integer", "A claim in a return whose month ends more than "
            "this many days after it was achieved is not paid (e.g. 700)."),
        Key("claim_within_working_days", "integer", "A claim in a return whose month ends more "
            "than this many working days after it was achieved is not paid (Monday to Friday, "
            "not one of the scheme's `holidays`)."),
        Key("fees", ListOf(FEE), "Fees on attachment."),
        Key("results", ListOf(RESULT), "Results.", required=True),
    ),
)

RATE = Section(
    "Rate",
    "A rate the period report shows month by month, per provider and for all providers: the "
    "sum of a numerator over the provider's entries divided by the sum of a denominator.",
    (
        Key("name", "text", "Short name.", required=True, example="utilisation"),
        Key("label", "text", "Heading in reports.", required=True),
        Key("numerator", "text", "A measure or number register column, summed over entries.",
            required=True, example="occupied_days"),
        Key("denominator", "text", "A measure or number register column, summed over entries.",
            required=True, example="capacity_days"),
        Key("counts", "bool", "The numerator and denominator count people or their outcomes: "
            "`pbr report --publish` publishes them, rounded, with a share worked out from them "
            "(default false: not published)."),
    ),
)

REPORT = Section(
    "Report",
    "How `pbr report` presents the scheme over a period. Every key has a default.",
    (
        Key("rates", ListOf(RATE), "Rates shown month by month (cohort models also show each "
            "outcome's proportion)."),
        Key("loss_share", "number", "Flag a provider whose PbR total over the period falls short "
            "of the comparison (e.g. block) by more than this share of it (default 0.05).",
            example="0.05"),
        Key("small_provider", Section("Small provider", "Which providers count as small.", (
            Key("column", "text", "A money register column, summed over the provider's entries.",
                required=True, example="annual_value"),
            Key("below", "number", "Small when the sum is below this.", required=True,
                example="250000"),
        )), "Which providers are small (their loss flags say so)."),
        Key("publish_min_count", "integer", "`pbr report --publish`: each provider's month "
            "figure is rounded at random to a multiple of this, so no count can be narrowed "
            "to fewer than this many values (default 5; docs/publication.md).", example="5"),
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
                self.walk(item, kind.value, (*path, name))
        else:
            self.scalar(value, kind, path)

    def section(self, value: Any, section: Section, path: Path) -> None:
        if not isinstance(value, dict):
            self.fail(path, f"must be a set of keys ({section.title.lower()})")
            return
        names = [k.name for k in section.keys]
        for name in value:
            if section.key(name) is None:
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
            "text-or-texts": lambda v: isinstance(v, (str, int))
            or (isinstance(v, list) and all(isinstance(x, (str, int)) for x in v)),
        }[kind]
        if not ok(value):
            shown = str(value) if isinstance(value, Decimal) else repr(value)
            self.fail(path, f"must be {TYPE_WORDS[kind]}, not {shown}")


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
