"""The checks of formulas that read what was paid before (`paid_before`,
`paid_before_in_year`): each names payment components of the model, never the payment
whose amount it works out, and only a measure, a payment, the comparison or a warning reads
them (the months are a register entry's)."""

from __future__ import annotations

from collections.abc import Callable

from pbr_cli import expr as formulas
from pbr_cli.model.records import Component, Measure, RuleWarning
from pbr_cli.model.schema import did_you_mean
from pbr_cli.model.yamlread import Path as KeyPath

Fail = Callable[[KeyPath, str], None]
PLACES = ("measures", "payments", "comparison", "warnings")


def placed(parsed: formulas.Expr, path: KeyPath, fail: Fail) -> None:
    """Earlier payments are read per register entry and month: by measures and payments."""
    if path and path[0] not in PLACES and formulas.earlier_reads(parsed):
        function = formulas.earlier_reads(parsed)[0][0]
        fail(path, f"{function}() reads what was paid before for a register entry: only a "
             "measure, a payment, the comparison or a warning can use it")


def check_earlier(measures: tuple[Measure, ...], payments: tuple[Component, ...],
                  comparison: Component | None, warnings: tuple[RuleWarning, ...],
                  fail: Fail) -> None:
    """Each component read is one of the model's payments, and no payment reads its own
    earlier lines, itself or through the measures its amount uses."""
    names = {c.name for c in payments}
    through: dict[str, set[str]] = {}  # measure -> the components it reads, at any depth
    places: list[tuple[KeyPath, formulas.Expr]] = []
    for i, m in enumerate(measures):
        if m.expr is not None:
            places.append((("measures", i, m.kind), m.expr))
            through[m.name] = _reads(m.expr, through)
    places += [(("payments", i, "amount"), c.amount) for i, c in enumerate(payments)
               if c.amount is not None]
    if comparison is not None and comparison.amount is not None:
        places.append((("comparison", "amount"), comparison.amount))
    places += [(("warnings", i, "when"), w.when) for i, w in enumerate(warnings)]
    for path, parsed in places:
        for function, component in formulas.earlier_reads(parsed):
            if component not in names:
                fail(path, f"{function}(\"{component}\") reads a payment component the model "
                     f"does not have{did_you_mean(component, names)}")
    for i, c in enumerate(payments):
        if c.amount is not None and c.name in _reads(c.amount, through):
            fail(("payments", i, "amount"), f"the payment {c.name} reads what it paid itself "
                 f"before (paid_before(\"{c.name}\"), itself or through a measure): a "
                 "payment's amount may read other components' earlier payments, never its own")


def _reads(parsed: formulas.Expr, through: dict[str, set[str]]) -> set[str]:
    found = {component for _, component in formulas.earlier_reads(parsed)}
    for name in parsed.names:
        found |= through.get(name, set())
    return found
