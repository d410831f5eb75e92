"""A measure's `where` written as a formula (`reconvicted_within_months <= 12`): which names
it may read, and its check when the model loads — worked out once with a value of each
column's type, so a condition naming no column, or comparing a date with a number, is refused
at its line instead of counting no row every month."""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction
from typing import Any

from pbr_cli.expr import Expr, ExprError

# a value of each column type, for working a formula out once when the model loads
SAMPLES: dict[str, Any] = {"date": date(2000, 1, 1), "date-time": datetime(2000, 1, 1, 12, 0),
                           "text": "x", "code": "x"}


def sample_value(kind: str) -> Any:
    """A value of a column's type (a number: 1)."""
    return SAMPLES.get(kind, Fraction(1))


def is_condition(where: Any) -> bool:
    """`where` written as a formula (text), not as column: value pairs."""
    return isinstance(where, str)


def pairs(where: Any) -> dict[str, Any]:
    """`where` as column: value pairs ({} when it is a formula, or not given)."""
    return where if isinstance(where, dict) else {}


def condition_problem(condition: Expr, env: dict[str, Any]) -> str | None:
    """What is wrong with a row condition worked out with the sample values in `env`, or None.
    A division by zero says nothing of the condition (the sample's 1s may make one)."""
    try:
        value = condition.evaluate(env)
    except ExprError as exc:
        if "division by zero" in str(exc):
            return None
        return f"this condition cannot be worked out for any row: {exc}"
    if not isinstance(value, bool):
        return ("a condition must be a comparison that is true or false for each row "
                "(e.g. reconvicted_within_months <= 12), not a figure")
    return None
