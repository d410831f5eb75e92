"""Formulas in models: a small, safe, exact expression language.

A model writes formulas such as ``min(1, utilisation / utilisation_target)`` or
``IF(service_type == "ACC", a, b)``. They are parsed once, when the model loads, into a
checked tree; nothing is ever handed to Python's ``eval``. Numbers are exact: ``0.95`` is
the Fraction 19/20, never a binary float. Text is compared as text, dates as dates, dates and
times as dates and times (two subtracted give the hours between, exactly).

Allowed: numbers, "text", names, + - * /, comparisons (== != < <= > >=), `in` and `not in`
a bracketed list of values, and / or / not, parentheses, and the functions listed in FUNCTIONS.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

FUNCTIONS: dict[str, str] = {
    "min": "min(a, b, ...): the smallest of the values",
    "max": "max(a, b, ...): the largest of the values",
    "abs": "abs(a): a without its sign",
    "IF": "IF(condition, then, otherwise): like Excel's IF; only the chosen branch is worked out",
    "days_active": (
        "days_active(start, end): days of the period month between start and end inclusive "
        "(a blank end means open-ended)"
    ),
    "significantly_lower": (
        "significantly_lower(events, people, comparison_events, comparison_people, level): "
        "true when the cohort's rate (events / people) is below the comparison group's and "
        "a one-sided two-proportion z-test (pooled) gives a p-value at or under the level "
        "(0.05: significant at 5%)"
    ),
    "paid_before": (
        'paid_before("component", ...): what the ledger says was paid for this register '
        "entry for the named payment components in the approved months of the scheme before "
        "this one (docs/models.md, 'What was paid before')"
    ),
    "paid_before_in_year": (
        'paid_before_in_year("component", ...): the same, over the months of the current '
        "contract year before this one (years from `scheme.year_starts`, April unless given)"
    ),
}

# the functions that read what was paid in earlier months: their values are component names
EARLIER = ("paid_before", "paid_before_in_year")


class ExprError(ValueError):
    """A formula that cannot be parsed, names something unknown, or cannot be worked out."""


# the arguments of a function that are shares between 0 and 1, by position
SHARE_ARGUMENTS: dict[str, tuple[int, ...]] = {"significantly_lower": (4,)}

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_CMPOPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


@dataclass(frozen=True)
class Expr:
    """A parsed formula: its text, the names it reads, and its checked tree."""

    text: str
    tree: ast.Expression
    names: frozenset[str]
    # the names read where a share between 0 and 1 belongs (significantly_lower's level):
    # the model's loader holds the figures they name to it
    share_names: frozenset[str] = frozenset()

    def evaluate(self, env: Mapping[str, Any], funcs: Mapping[str, Callable] | None = None) -> Any:
        return _Evaluator(self.text, env, funcs or {}).visit(self.tree.body)


MAX_FORMULA = 2_000  # characters: a real formula is a line or two
MAX_DIGITS = 30  # a number literal's digits, and the size of its exponent


def ratios(expr: Expr) -> list[tuple[str, str]]:
    """The names a formula divides one by the other, as written (`a / b`): (a, b) each."""
    return [(node.left.id, node.right.id) for node in ast.walk(expr.tree)
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
            and isinstance(node.left, ast.Name) and isinstance(node.right, ast.Name)]


def comparisons(expr: Expr) -> list[tuple[str, str]]:
    """The names a formula compares one with the other, as written (`a >= b`): (a, b) each."""
    return [(left.id, right.id) for node in ast.walk(expr.tree) if isinstance(node, ast.Compare)
            for left, right in zip([node.left, *node.comparators], node.comparators, strict=False)
            if isinstance(left, ast.Name) and isinstance(right, ast.Name)]


def earlier_reads(expr: Expr) -> list[tuple[str, str]]:
    """What a formula reads of earlier months' payments: (function, component) each, as
    written (`paid_before_in_year("fees")` gives ("paid_before_in_year", "fees"))."""
    return [(call.func.id, arg.value) for call in ast.walk(expr.tree)
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and call.func.id in EARLIER
            for arg in call.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]


def parse(text: str) -> Expr:
    """Parse and check a formula; raise ExprError saying what is wrong."""
    source = str(text).strip()
    if not source:
        raise ExprError("the formula is empty")
    if len(source) > MAX_FORMULA:
        raise ExprError(f"the formula is {len(source):,} characters long; a formula is at most "
                        f"{MAX_FORMULA:,} (split it into measures)")
    if "\n" in source:  # a formula written over several lines reads as one
        source = " ".join(line.strip() for line in source.splitlines())
    try:
        tree = ast.parse(source, mode="eval")
        names: set[str] = set()
        _check(tree.body, source, names)
        shares = {arg.id for call in ast.walk(tree) if isinstance(call, ast.Call)
                  and isinstance(call.func, ast.Name)
                  for i in SHARE_ARGUMENTS.get(call.func.id, ())
                  if isinstance(arg := call.args[i], ast.Name)}
    except SyntaxError as exc:
        raise ExprError(f"cannot read the formula '{source}': {exc.msg}{_where(source, exc)}"
                        ) from None
    except (RecursionError, MemoryError):
        raise ExprError("the formula is nested too deeply to read; split it into measures") from None
    return Expr(source, tree, frozenset(names), frozenset(shares))


def exact_number(literal: str) -> Fraction:
    """A number as written, exactly; refused when it has more digits than any payment rule
    needs (`1e999999999` would take for ever to write out)."""
    import re

    m = re.fullmatch(r"(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?", literal.replace("_", ""))
    if not m or len((m.group(1) or "") + (m.group(2) or "")) > MAX_DIGITS or (
            m.group(3) and abs(int(m.group(3))) > MAX_DIGITS):
        raise ExprError(f"'{literal[:40]}' is not a number a payment rule needs: write it with "
                        f"at most {MAX_DIGITS} digits and no exponent beyond e{MAX_DIGITS}")
    return Fraction(literal.replace("_", ""))


def _check(node: ast.AST, source: str, names: set[str]) -> None:
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, (int, float, str)) or isinstance(node.value, bool):
            raise ExprError(f"'{ast.get_source_segment(source, node)}' is not a number or text")
        if isinstance(node.value, (int, float)):
            # Keep the literal's own digits, so 0.95 becomes exactly 19/20 (a Fraction in
            # the tree, which only this module evaluates).
            exact = exact_number(ast.get_source_segment(source, node) or str(node.value))
            node.value = exact  # type: ignore[assignment]
        return
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise ExprError(f"'{node.id}' is a function; call it as {node.id}(...)")
        names.add(node.id)
        return
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        _check(node.left, source, names)
        _check(node.right, source, names)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
        _check(node.operand, source, names)
        return
    if isinstance(node, ast.Compare) and all(type(op) in _CMPOPS for op in node.ops):
        for part in [node.left, *node.comparators]:
            _check(part, source, names)
        return
    if (isinstance(node, ast.Compare) and len(node.ops) == 1
            and isinstance(node.ops[0], (ast.In, ast.NotIn))):
        options = node.comparators[0]
        if not isinstance(options, (ast.Tuple, ast.List)) or not all(
                isinstance(e, ast.Constant) for e in options.elts):
            raise ExprError(f"'{ast.get_source_segment(source, options)}' must be a list of "
                            'values in brackets, e.g. ("A", "B")')
        for part in [node.left, *options.elts]:
            _check(part, source, names)
        return
    if isinstance(node, ast.BoolOp):
        for part in node.values:
            _check(part, source, names)
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = ast.get_source_segment(source, node.func)
            raise ExprError(
                f"'{name}' is not a function pbr knows; known: {', '.join(sorted(FUNCTIONS))}"
            )
        if node.keywords:
            raise ExprError(f"{node.func.id}() takes plain values, not name=value")
        wanted = {"IF": 3, "abs": 1, "days_active": 2, "significantly_lower": 5}.get(node.func.id)
        if wanted is not None and len(node.args) != wanted:
            raise ExprError(f"{node.func.id}() takes {wanted} values, not {len(node.args)}")
        if node.func.id in ("min", "max") and len(node.args) < 2:
            raise ExprError(f"{node.func.id}() needs at least two values")
        if node.func.id in EARLIER and (not node.args or not all(
                isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)):
            raise ExprError(f'{node.func.id}() takes the names of payment components in '
                            f'quotes, e.g. {node.func.id}("fees")')
        for index in SHARE_ARGUMENTS.get(node.func.id, ()):
            level = node.args[index]
            if isinstance(level, ast.Constant) and isinstance(level.value, int | float) \
                    and not isinstance(level.value, bool) and not 0 < level.value < 1:
                raise ExprError(f"{node.func.id}()'s level is a share between 0 and 1 (0.05 for "
                                f"5%), not {ast.get_source_segment(source, level)}")
        for arg in node.args:
            _check(arg, source, names)
        return
    segment = ast.get_source_segment(source, node) or type(node).__name__
    raise ExprError(f"'{segment}' is not allowed in a formula")


class _Evaluator:
    def __init__(self, text: str, env: Mapping[str, Any], funcs: Mapping[str, Callable]):
        self.text = text
        self.env = env
        self.funcs = funcs

    def fail(self, why: str) -> ExprError:
        return ExprError(f"{why} in '{self.text}'")

    def visit(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in self.env:
                raise self.fail(f"'{node.id}' has no value")
            return self.env[node.id]
        if isinstance(node, ast.BinOp):
            op = _BINOPS[type(node.op)]
            left_value, right_value = self.visit(node.left), self.visit(node.right)
            if isinstance(left_value, date) or isinstance(right_value, date):
                return self.dates(op, left_value, right_value)
            left, right = self.as_number(left_value), self.as_number(right_value)
            if op == "+":
                return left + right
            if op == "-":
                return left - right
            if op == "*":
                return left * right
            if right == 0:
                raise self.fail("division by zero")
            return left / right
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return not self.truth(node.operand)
            value = self.number(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Compare) and isinstance(node.ops[0], (ast.In, ast.NotIn)):
            value = self.visit(node.left)
            found = any(_compare("==", value, e.value)
                        for e in node.comparators[0].elts)  # type: ignore[attr-defined]
            return found == isinstance(node.ops[0], ast.In)
        if isinstance(node, ast.Compare):
            left = self.visit(node.left)
            for cmp_op, right_node in zip(node.ops, node.comparators, strict=True):
                right = self.visit(right_node)
                if not _compare(_CMPOPS[type(cmp_op)], left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                return all(self.truth(v) for v in node.values)
            return any(self.truth(v) for v in node.values)
        if isinstance(node, ast.Call):
            name = node.func.id  # type: ignore[attr-defined]
            if name == "IF":
                cond, then, other = node.args
                return self.visit(then) if self.truth(cond) else self.visit(other)
            args = [self.visit(a) for a in node.args]
            if name == "min":
                return min(self.as_number(a) for a in args)
            if name == "max":
                return max(self.as_number(a) for a in args)
            if name == "abs":
                return abs(self.as_number(args[0]))
            if name == "significantly_lower":
                return self.significantly_lower(*(self.as_number(a) for a in args))
            if name in self.funcs:
                return self.funcs[name](*args)
            raise self.fail(f"{name}() cannot be used here")
        raise self.fail("unsupported formula part")

    def significantly_lower(self, x1: Fraction, n1: Fraction, x2: Fraction, n2: Fraction,
                            level: Fraction) -> bool:
        """One-sided two-proportion z-test with the pooled rate: is x1/n1 below x2/n2 with a
        p-value at or under `level`? The statistic is exact: z² = (p2 - p1)² / (p (1 - p)
        (1/n1 + 1/n2)) as a fraction, compared with the square of the normal distribution's
        critical value for the level (to double precision); no float decides the answer
        except that critical value."""
        from statistics import NormalDist

        if n1 <= 0 or n2 <= 0 or not 0 <= x1 <= n1 or not 0 <= x2 <= n2:
            raise self.fail("significantly_lower() needs events between 0 and the people, "
                            "and people above 0, in both groups")
        if not 0 < level < 1:
            raise self.fail("significantly_lower()'s level is a share between 0 and 1 "
                            "(0.05 for 5%)")
        p1, p2 = Fraction(x1) / n1, Fraction(x2) / n2
        if p1 >= p2:
            return False
        pooled = Fraction(x1 + x2) / (n1 + n2)
        spread = pooled * (1 - pooled) * (1 / Fraction(n1) + 1 / Fraction(n2))
        if spread == 0:
            return False
        z_squared = (p2 - p1) ** 2 / spread
        critical = Fraction(NormalDist().inv_cdf(1 - float(level)))
        return critical <= 0 or z_squared >= critical ** 2

    def dates(self, op: str, left: Any, right: Any) -> date | Fraction:
        """A date and whole days: date + days, days + date, date - days; date - date is days.
        A date and time takes only another taken away: the hours between, exactly."""
        if isinstance(left, datetime) or isinstance(right, datetime):
            if op == "-" and isinstance(left, datetime) and isinstance(right, datetime):
                return hours_between(right, left)
            raise self.fail("a date and time takes only another date and time taken away "
                            "(operation_time - admission_time gives the hours between)")
        if op == "-" and isinstance(left, date) and isinstance(right, date):
            return Fraction((left - right).days)
        days, day = (right, left) if isinstance(left, date) else (left, right)
        whole = (isinstance(days, (int, Fraction)) and not isinstance(days, bool)
                 and Fraction(days).denominator == 1)
        if not whole or isinstance(days, date) or op not in ("+", "-") or (
                op == "-" and not isinstance(left, date)):
            raise self.fail("a date takes whole days added or taken away (date + 30, "
                            "date - 7), and two dates subtracted give the days between")
        try:
            return day + timedelta(days=int(days) if op == "+" else -int(days))
        except OverflowError:
            raise self.fail("the date falls outside the calendar") from None

    def truth(self, node: ast.AST) -> bool:
        value = self.visit(node)
        if not isinstance(value, bool):
            raise self.fail("a condition must be a comparison")
        return value

    def number(self, node: ast.AST) -> Fraction:
        return self.as_number(self.visit(node))

    def as_number(self, value: Any) -> Fraction:
        if isinstance(value, bool) or value is None:
            raise self.fail("a number is missing" if value is None else "a yes/no is not a number")
        if isinstance(value, (int, Fraction)):
            return Fraction(value)
        raise self.fail(f"'{value}' is not a number")


def hours_between(start: datetime, end: datetime) -> Fraction:
    """The hours from one date and time to another, exactly (negative when end is earlier)."""
    delta = end - start
    return Fraction(delta.days * 86_400 + delta.seconds, 3_600) + Fraction(
        delta.microseconds, 3_600_000_000)


def _compare(op: str, left: Any, right: Any) -> bool:
    if isinstance(left, (int, Fraction)) and isinstance(right, (int, Fraction)):
        pass
    elif isinstance(left, datetime) != isinstance(right, datetime) and (
            isinstance(left, date) or isinstance(right, date)):
        raise ExprError(f"cannot compare {_what(left)} with {_what(right)}")
    elif isinstance(left, date) and isinstance(right, date):
        pass
    elif op in ("==", "!="):
        return (left == right) == (op == "==")
    else:
        raise ExprError(f"cannot compare {_what(left)} with {_what(right)}")
    return {
        "==": left == right,
        "!=": left != right,
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
    }[op]


def _what(value: Any) -> str:
    """A value as a comparison's message names it: its kind, and the value itself."""
    if isinstance(value, datetime):
        return f"a date and time ({value.isoformat(sep=' ', timespec='minutes')})"
    if isinstance(value, date):
        return f"a date ({value.isoformat()})"
    if isinstance(value, bool):
        return "a yes/no"
    if isinstance(value, (int, Fraction)):
        return f"a number ({value})"
    if value is None:
        return "a blank"
    return f"the text '{value}'" if isinstance(value, str) else repr(value)


def _where(source: str, exc: SyntaxError) -> str:
    """Where in a one-line formula Python stopped reading it: near what, or at the end."""
    if exc.offset is None or (exc.lineno or 1) != 1:
        return ""
    rest = source[exc.offset - 1:].strip()
    return f", near '{rest[:20]}'" if rest else ", at the end"
