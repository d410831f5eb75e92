"""The kinds of rule a model names by a word, one class each: the checks over groups of a
sheet's rows (`return.checks[].kind`) and the ways a measure is worked out (`expr`, `sum`,
`count`). Each kind declares its model keys, what it needs, how `pbr models show` says it
and, for a group check, the problem code it raises and that code's message template. The
schema (schema.py), the loader, describe.py, the checks of a return
(pbr_cli/returns/across_rows.py) and the generated docs all read these tables, so a new kind
is one class and one table entry here.

The closed sets of words the model records hold (a column's type, a date column's `within`,
whose rows a measure adds up, a cohort outcome's event) are enums here too; each value is
the word a model file writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, ClassVar, Literal, TypeAlias

from pbr_cli.model.schema_parts import Key
from pbr_cli.problems import GROUP_MISSING_VALUES, GROUP_TOO_FEW_ROWS, ProblemCode

# The records these kinds read (records.py, which names the kinds): Any here, so that
# neither module imports the other.
Column: TypeAlias = Any
GroupCheck: TypeAlias = Any
Measure: TypeAlias = Any


class ColumnType(StrEnum):
    """What a column's cells hold."""

    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    MONEY = "money"
    DATE = "date"
    DATE_TIME = "date-time"  # a date and a time of day (two subtracted: the hours between)
    CODE = "code"


NUMERIC_TYPES = (ColumnType.INTEGER, ColumnType.NUMBER, ColumnType.MONEY)


class Within(StrEnum):
    """Where a date column's dates must fall."""

    PERIOD = "period"  # inside the return's month
    BEFORE_START = "before-start"  # before the scheme starts (an opening caseload)


class Over(StrEnum):
    """Whose rows a sum or count adds up."""

    ENTRY = "entry"  # the register entry's own
    PROVIDER = "provider"  # every entry of its provider
    SCHEME = "scheme"  # every entry in the scheme (a pooled figure)


class Event(StrEnum):
    """The event that makes a cohort outcome."""

    DISCHARGE = "discharge"
    FIRST_REVIEW = "first-review"
    FOLLOW_UP = "follow-up"


class ClientCase(StrEnum):
    """Whether client ids differing only in case are one client."""

    DISTINCT = "distinct"
    SAME = "same"


# -- checks over groups of rows ----------------------------------------------------------------

class GroupCheckKind(StrEnum):
    MIN_ROWS = "min-rows-per-group"
    MUST_INCLUDE = "must-include-per-group"


class GroupRule:
    """One kind of check over the groups of a sheet's rows (e.g. per client)."""

    kind: ClassVar[GroupCheckKind]
    doc: ClassVar[str]  # what it checks, in the model reference
    keys: ClassVar[tuple[Key, ...]]  # the check's own keys; each is needed
    code: ClassVar[ProblemCode]  # the problem a group failing it gets
    template: ClassVar[str]  # its message: the check's nouns, `who` and what finding() gives

    def missing_keys(self, spec: dict[str, Any]) -> list[str]:
        """The keys this kind needs that a check in the model file leaves out."""
        return [k.name for k in self.keys if spec.get(k.name) in (None, "", [])]

    def describe(self, check: GroupCheck) -> str:
        raise NotImplementedError

    def finding(self, check: GroupCheck, values: Sequence[Any]) -> dict[str, Any] | None:
        """What is wrong with a group whose rows hold `values` in the check's column (the
        template's fields), or None when the group passes."""
        raise NotImplementedError

    def message(self, check: GroupCheck, who: str, values: Sequence[Any]) -> str | None:
        found = self.finding(check, values)
        if found is None:
            return None
        return self.template.format(group_noun=check.group_noun, row_noun=check.row_noun,
                                    who=who, **found)


class MinRowsPerGroup(GroupRule):
    kind = GroupCheckKind.MIN_ROWS
    doc = "each group has at least `min` rows."
    keys = (Key("min", "integer", "the least number of rows."),)
    code = GROUP_TOO_FEW_ROWS
    template = "{group_noun} {who} has {count} {row_noun}; at least {min} are expected"

    def describe(self, check: GroupCheck) -> str:
        return f"each {check.group_noun} has at least {check.min} {check.row_noun}"

    def finding(self, check: GroupCheck, values: Sequence[Any]) -> dict[str, Any] | None:
        if len(values) < (check.min or 0):
            return {"count": len(values), "min": check.min}
        return None


class MustIncludePerGroup(GroupRule):
    kind = GroupCheckKind.MUST_INCLUDE
    doc = "each group has rows with all of `values` in `column`."
    keys = (Key("column", "text", "the column looked at."),
            Key("values", "texts", "values every group must have."))
    code = GROUP_MISSING_VALUES
    template = ("{group_noun} {who} has no {missing} among their {row_noun} ({values} are "
                "mandatory)")

    def describe(self, check: GroupCheck) -> str:
        return (f"each {check.group_noun} has {', '.join(check.values)} among their "
                f"{check.row_noun}")

    def finding(self, check: GroupCheck, values: Sequence[Any]) -> dict[str, Any] | None:
        have = set(values)
        missing = [v for v in check.values if v not in have]
        if missing:
            return {"missing": " or ".join(missing), "values": ", ".join(check.values)}
        return None


GROUP_RULES: dict[GroupCheckKind, GroupRule] = {
    rule.kind: rule for rule in (MinRowsPerGroup(), MustIncludePerGroup())}


# -- measures ----------------------------------------------------------------------------------

# (a Literal, not an enum: a what-if makes a measure a formula by giving its kind as "expr")
MeasureKind = Literal["expr", "sum", "count"]


class MeasureRule:
    """One way a measure is worked out: its key in the model gives the formula or the rows."""

    kind: ClassVar[MeasureKind]
    key: ClassVar[Key]  # the measure's key naming this kind, in the schema
    reads_rows: ClassVar[bool] = True  # adds up a return sheet's rows (`where`, `window`, `over`)
    nothing: ClassVar[Any] = None  # its value where no row counts

    def target_problem(self, column: Column | None, column_name: str, target: str) -> str | None:
        """What is wrong with the `Sheet.column` a row kind names (the sheet exists), or None."""
        return None

    def what(self, measure: Measure) -> str:
        raise NotImplementedError

    def describe(self, measure: Measure) -> str:
        """How `pbr models show` says the measure is worked out."""
        where = "".join(f" where {k} is {' or '.join(v)}" for k, v in measure.where)
        if measure.condition is not None:
            where = f" where {measure.condition.text}"
        span = (f" over the {measure.window_months} months ending with the period month"
                if measure.window_months else " in the period month")
        pooled = {Over.PROVIDER: ", all the provider's entries together",
                  Over.SCHEME: ", every entry in the scheme together"}.get(measure.over, "")
        return f"{self.what(measure)}{where}{span}{pooled}"


class ExprMeasure(MeasureRule):
    kind = "expr"
    key = Key("expr", "formula", "A formula over parameters, register columns, period facts "
              "and earlier measures.", example="min(1, utilisation / utilisation_target)")
    reads_rows = False

    def describe(self, measure: Measure) -> str:
        return measure.expr.text if measure.expr else ""


class SumMeasure(MeasureRule):
    kind = "sum"
    key = Key("sum", "text", "Sum a return column (Sheet.column) over the entry's rows.",
              example="Utilisation.void_days")

    def target_problem(self, column: Column | None, column_name: str, target: str) -> str | None:
        if column is None or not column.numeric:
            return f"'{target}' must name a number column as Sheet.column"
        return None

    def what(self, measure: Measure) -> str:
        return f"sum of {measure.sheet}.{measure.column}"


class CountMeasure(MeasureRule):
    kind = "count"
    key = Key("count", "text", "Count the entry's rows of a return sheet.", example="Outcomes")
    nothing = 0

    def target_problem(self, column: Column | None, column_name: str, target: str) -> str | None:
        return "count takes a sheet name only" if column_name else None

    def what(self, measure: Measure) -> str:
        return f"count of {measure.sheet} rows"


MEASURE_RULES: dict[str, MeasureRule] = {
    rule.kind: rule for rule in (ExprMeasure(), SumMeasure(), CountMeasure())}


def one_of(words: Sequence[str]) -> str:
    """`a`, `b` or `c`."""
    quoted = [f"`{w}`" for w in words]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
