"""The model loader's rules for what a formula reads: a parameter read as a share (compared
with one, divided into one, or a significance level) holds shares, and figures divided one by
another cover the same months and entries. Mixed into the loader's builder, whose `fail` and
data they use."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from pbr_cli import expr as formulas
from pbr_cli.model.kinds import Over
from pbr_cli.model.records import Measure
from pbr_cli.model.yamlread import Path as KeyPath


class FormulaRules:
    data: dict[str, Any]
    fail: Callable[[KeyPath, str], None]

    def shares_compared(self, parsed: formulas.Expr, measures: dict[str, Measure],
                        path: KeyPath) -> None:
        """A parameter compared with a share (a measure shown as a percent) is a share too:
        a threshold typed 10 for 0.10 is never reached."""
        for a, b in formulas.comparisons(parsed):
            for share, other in ((a, b), (b, a)):
                m = measures.get(share)
                if m is not None and m.format == "percent":
                    self.a_share(other, path, f"compared with {share}, a share",
                                 inclusive=True)
        for share, other in formulas.ratios(parsed):  # a share over its target: a share too
            m = measures.get(share)
            if m is not None and m.format == "percent":
                self.a_share(other, path, f"{share}, a share, is divided by it", divisor=True)

    def a_share(self, name: str, used_at: KeyPath, read_as: str = "a significance level",
                inclusive: bool = False, divisor: bool = False) -> None:
        """A parameter read where a share between 0 and 1 belongs (a significance level):
        each of its figures must be one (5 written for 0.05 fails every cohort's test)."""
        spec = (self.data.get("parameters") or {}).get(name)
        if not isinstance(spec, dict):
            return
        value = spec.get("value")
        figures = (list(value.values()) if isinstance(value, dict) else [value]) + \
            list((spec.get("values") or {}).values())
        for figure in figures:
            try:
                share = Decimal(str(figure))
            except InvalidOperation:
                continue  # (its own check says what is wrong with it)
            inside = (0 < share <= 1 if divisor else 0 <= share <= 1 if inclusive
                      else 0 < share < 1)
            if share.is_finite() and not inside:
                where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}"
                                for p in used_at).lstrip(".")
                self.fail(("parameters", name, "value" if value is not None else "values"),
                          f"{figure} is read as a share between 0 and 1 (by {where}, "
                          f"{read_as}): " + (f"write {share / 100} for {figure}%" if share > 1
                                             else f"write {-share}" if share < 0
                                             else f"not {figure}"))
                return

    def pooled_alike(self, parsed: formulas.Expr, measures: dict[str, Measure],
                     path: KeyPath) -> None:
        """A pooled figure divided by another must cover the same months and entries: 83
        months of a scheme's events over this month's people pays many times over."""
        def said(m: Measure) -> str:
            months = (f"the last {m.window_months} months" if m.window_months
                      else "the month alone")
            return f"{m.name}: {months}, over {m.over}"

        for top, bottom in formulas.ratios(parsed):
            a, b = measures.get(top), measures.get(bottom)
            if a is None or b is None or not (a.rule.reads_rows and b.rule.reads_rows):
                continue
            pooled = a.over != Over.ENTRY or b.over != Over.ENTRY
            if pooled and (a.window_months, a.over) != (b.window_months, b.over):
                self.fail(path, f"{top} / {bottom} divides figures that cover different months "
                          f"or entries ({said(a)}; {said(b)}): give both the same `window` and "
                          "`over`")
