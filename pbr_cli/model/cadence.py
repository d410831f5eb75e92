"""The model loader's rules for when a payment is paid: `paid` (quarterly or annually, the
months in between accrued) and `without_return` (paid in a month whose return is missing or
faulty). Mixed into the loader's builder (loader.py), whose `fail` they use; the pricing is
pbr_cli/pricing/cadence.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pbr_cli.model.records import Component, Measure
from pbr_cli.model.yamlread import Path as KeyPath

KEYS = ("paid", "without_return")


class CadenceRules:
    fail: Callable[[KeyPath, str], None]

    def cadence(self, data: dict[str, Any], payments: tuple[Component, ...],
                measures: tuple[Measure, ...]) -> None:
        """Refuse `paid` and `without_return` where they cannot hold, each at its line."""
        specs = [s for s in data.get("payments") or [] if isinstance(s, dict)]
        if data.get("cohort") or data.get("participants"):
            for i, spec in enumerate(specs):
                for key in KEYS:
                    if spec.get(key) not in (None, "monthly", False):
                        self.fail(("payments", i, key), "a fee beside per-participant "
                                  "payments is paid with them, every month: `paid` and "
                                  "`without_return` are for a service-level model's payments")
            return
        comparison = data.get("comparison")
        for key in KEYS:
            if isinstance(comparison, dict) and key in comparison:
                self.fail(("comparison", key), "the comparison is what the existing contract "
                          f"pays, shown beside each month and never paid: leave out `{key}`")
        by_name = {m.name: m for m in measures}
        for i, component in enumerate(payments[:len(specs)]):
            if component.without_return and component.amount is not None:
                read = rows_read(component.amount.names, by_name, set())
                if read:
                    self.fail(("payments", i, "without_return"),
                              f"{component.name}'s amount reads {', '.join(sorted(read))}, "
                              "added up from the return's rows: a payment made without a "
                              "return cannot read one (leave out `without_return`, or pay "
                              "it from the register and the parameters alone)")


def rows_read(names: frozenset[str], measures: dict[str, Measure], seen: set[str]) -> set[str]:
    """The measures among `names`, or behind the formulas among them, that add up rows."""
    out: set[str] = set()
    for name in sorted(names - seen):
        seen.add(name)
        measure = measures.get(name)
        if measure is None:
            continue
        if measure.rule.reads_rows:
            out.add(name)
        elif measure.expr is not None:
            out |= rows_read(measure.expr.names, measures, seen)
    return out
