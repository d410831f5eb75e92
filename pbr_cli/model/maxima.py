"""The model loader's rule for a per-participant model's maxima: a provider's maximum below
one participant's is a mistake (one participant would use it all up), whether each is an
amount, amounts by date or a formula. A formula is worked out for every figure it can be:
each code of the column a figure is chosen by (`by: payment_group`), each date a figure
changes on; one that reads a figure only a register entry or a participant's row holds is
said, as a warning at its line, not to be checked; with the register (`pbr models check`),
each entry's figures are worked out too. Mixed into the loader's builder, whose
`fail`, `warn` and data they use."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from itertools import product
from typing import Any

from pbr_cli import expr as formulas
from pbr_cli.model.records import Dated, Price
from pbr_cli.model.yamlread import Path as KeyPath
from pbr_cli.money import format_money, round_pence

MAX_CASES = 10_000  # the ways a formula's figures can be chosen, worked out one by one

# each amount a maximum can be, with what it is for (" for payment_group G1") and the
# register entry it is worked out for (None: any); None when it cannot be worked out
Amounts = list[tuple[Fraction, str, str | None]] | None
ENTRY = " entry"  # (no name a formula can read has a space)


class MaximaRules:
    data: dict[str, Any]
    fail: Callable[[KeyPath, str], None]
    warn: Callable[[KeyPath, str], None]
    # the register's entries (typed values by column), when the check has read them
    entries: tuple[dict[str, Any], ...] | None = None

    def maxima(self, maximum: Price | None, provider_maximum: Price | None, path: KeyPath,
               codes: dict[str, list[str]]) -> None:
        """`codes`: each code column a maximum may read (the register's, the attachment
        row's) and its codes."""
        each = self.amounts(maximum, (*path, "maximum"), codes)
        total = self.amounts(provider_maximum, (*path, "provider_maximum"), codes)
        if not each or not total:
            return
        # the most for one participant against the least for its provider: an entry's own
        # (or any entry's, for a figure that does not depend on it)
        pairs = [(t, e) for t in total for e in each if None in (t[2], e[2]) or t[2] == e[2]]
        if not pairs:
            return
        (least, for_least, _), (most, for_most, _) = min(pairs, key=lambda p: p[0][0] - p[1][0])
        if least < most:
            self.fail((*path, "provider_maximum"), f"{format_money(round_pence(least))}"
                      f"{_said(for_least)} for a provider's participants together is below "
                      f"{format_money(round_pence(most))}, the most for one of them "
                      f"(`maximum`{for_most and ','}{for_most}): one participant would use it "
                      "all up; write the provider's maximum, or leave it out")

    def amounts(self, price: Price | None, path: KeyPath, codes: dict[str, list[str]]) -> Amounts:
        if price is None:
            return []
        if isinstance(price, Fraction):
            return [(price, "", None)]
        if isinstance(price, Dated):
            return [(value, "", None) for _, value in price.steps]
        return self.worked_out(price, path, codes)

    def worked_out(self, formula: formulas.Expr, path: KeyPath,
                   codes: dict[str, list[str]]) -> Amounts:
        """Every amount a formula over the parameters and code columns can give."""
        params = self.data.get("parameters") or {}
        choices: dict[str, list[Any]] = {}  # a name read: the values it can take
        for name in sorted(formula.names):
            spec = params.get(name)
            by = spec.get("by") if isinstance(spec, dict) else None
            if isinstance(spec, dict) and by is None:
                value: Any = spec.get("value")
                if value is None:
                    return None  # (a parameter without a figure: said at its own line)
                choices[name] = ([Fraction(v) for v in value.values()] if isinstance(value, dict)
                                 else [Fraction(value)])
            elif by is not None and str(by) in codes:
                choices.setdefault(str(by), codes[str(by)])
            elif name in codes:
                choices[name] = codes[name]
            elif name in self.register_columns() and self.entries is not None:
                choices[ENTRY] = list(self.entries)
            else:
                self.warn(path, f"'{formula.text}' reads {name}, a figure each "
                          + ("register entry holds: without the register" if name in
                             self.register_columns() else "participant holds:")
                          + " the check cannot work it out, so cannot hold the provider's "
                          "maximum against one participant's; check them by hand")
                return None
        names = sorted(choices)
        cases = list(product(*(choices[n] for n in names)))
        if len(cases) > MAX_CASES:
            self.warn(path, f"'{formula.text}' can be worked out {len(cases):,} ways: too many "
                      "to hold the provider's maximum against one participant's; check them "
                      "by hand")
            return None
        out = []
        register = self.data["register"]
        for case in cases:
            env = dict(zip(names, case, strict=True))
            entry = env.pop(ENTRY, None)
            if entry is not None:
                env.update({k: Fraction(v) if isinstance(v, (int, Decimal)) and
                            not isinstance(v, bool) else v for k, v in entry.items()})
            for name, spec in params.items():
                if isinstance(spec, dict) and spec.get("by") is not None and \
                        str(spec["by"]) in env:
                    chosen = (spec.get("values") or {}).get(env[str(spec["by"])])
                    if chosen is not None:
                        env[name] = Fraction(chosen)
            try:
                value = formula.evaluate(env)
            except formulas.ExprError as exc:
                self.warn(path, f"'{formula.text}' cannot be worked out"
                          f"{_for(names, case, codes)}: {exc}")
                return None
            if isinstance(value, bool) or not isinstance(value, (int, Fraction)):
                return None  # (not an amount: said when it is paid)
            said = _for(names, case, codes)
            if entry is not None:
                said = (f"{said}," if said else " for") + \
                    f" {register['entity']} {entry.get(register['key'])}"
            out.append((Fraction(value), said,
                        None if entry is None else str(entry.get(register["key"]))))
        return out

    def register_columns(self) -> set[str]:
        return {str(c.get("name")) for c in self.data["register"]["columns"]
                if isinstance(c, dict)}


def _for(names: list[str], case: tuple[Any, ...], codes: dict[str, list[str]]) -> str:
    """What one way of working a formula out is for: " for payment_group G1"."""
    said = [f"{n} {v}" for n, v in zip(names, case, strict=True) if n in codes]
    return f" for {', '.join(said)}" if said else ""


def _said(label: str) -> str:
    return f" ({label.strip()})" if label else ""

