"""The model's `assurance` section (docs/assurance.md): how many of a month's paid items are
sampled per provider for checking after payment, and how a sample's failures are extrapolated.
Its schema entry (ASSURANCE, part of schema.py's MODEL) and the record the loader makes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from pbr_cli.model.schema_parts import Key, Section

ASSURANCE = Section(
    "Assurance",
    "Checking claims after payment (`pbr assure sample` and `pbr assure record`; "
    "docs/assurance.md): each provider's paid items of a month are sampled, the checkers' "
    "verdicts recovered, and the failure rate extrapolated to the items not sampled. Give "
    "`share`, or `margin`, `confidence` and `expected_rate`. It changes no payment until "
    "verdicts are recorded.",
    (
        Key("share", "percent", "A fixed share of each provider's paid items, rounded up.",
            example="10%"),
        Key("minimum", "integer", "At least this many items per provider (all of them where it "
            "has fewer; default 0).", example="5"),
        Key("margin", "percent", "Enough items to estimate each provider's failure rate within "
            "this margin: n0 = z²·p(1−p)/e², n = n0/(1+(n0−1)/N), rounded up.", example="5%"),
        Key("confidence", "percent", "With `margin`: the two-sided confidence the margin is "
            "held at (z from it, to six decimal places).", example="95%"),
        Key("expected_rate", "percent", "With `margin`: the failure rate expected (p).",
            example="10%"),
        Key("extrapolate", "bool", "Recover the failure rate's lower bound from the items not "
            "sampled too (default true)."),
        Key("extrapolation_confidence", "percent", "The one-sided confidence of the "
            "Clopper–Pearson lower bound the failures are extrapolated at (default 95%).",
            example="95%"),
    ),
)

PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)%")


def percent(text: str) -> Fraction:
    """'12.5%' as the exact share 1/8 (the schema has checked its form)."""
    found = PERCENT.fullmatch(text.strip())
    assert found is not None
    return Fraction(found.group(1)) / 100


@dataclass(frozen=True)
class AssuranceSpec:
    """How a scheme's months are sampled and recovered (exact shares)."""

    share: Fraction | None = None
    minimum: int = 0
    margin: Fraction | None = None
    confidence: Fraction | None = None
    expected_rate: Fraction | None = None
    extrapolate: bool = True
    extrapolation_confidence: Fraction = Fraction(95, 100)

    def describe(self) -> str:
        """The rule in words, as outputs say it."""
        at_least = f", at least {self.minimum} per provider" if self.minimum else ""
        if self.share is not None:
            return f"{_pc(self.share)} of each provider's paid items, rounded up{at_least}"
        return (f"enough to estimate each provider's failure rate within ±{_pc(self.margin)} at "
                f"{_pc(self.confidence)} confidence, expecting {_pc(self.expected_rate)}"
                f"{at_least}")


def _pc(value: Fraction | None) -> str:
    assert value is not None
    text = f"{float(value * 100):.6f}".rstrip("0").rstrip(".")
    return f"{text}%"


def read_assurance(spec: dict[str, Any] | None,
                   fail: Callable[[tuple[Any, ...], str], None]) -> AssuranceSpec | None:
    """The section read (None when the model has none); what does not hold is said by `fail`
    at its key."""
    if not spec:
        return None
    values = {k: percent(v) for k, v in spec.items()
              if isinstance(v, str) and PERCENT.fullmatch(v.strip())}
    for name, value in values.items():
        if not 0 < value < 1 and name != "share" or name == "share" and not 0 < value <= 1:
            fail(("assurance", name), "a percentage above 0% and below 100% (a share up to 100%)")
    by_margin = [k for k in ("margin", "confidence", "expected_rate") if k in spec]
    if ("share" in spec) == bool(by_margin):
        fail(("assurance",), "give `share`, or `margin`, `confidence` and `expected_rate`, "
             "not both and not neither")
    elif by_margin and len(by_margin) < 3:
        missing = [k for k in ("margin", "confidence", "expected_rate") if k not in spec]
        fail(("assurance", missing[0]), f"with `margin`, give {', '.join(missing)} too")
    minimum = spec.get("minimum", 0)
    if not isinstance(minimum, int) or minimum < 0:
        fail(("assurance", "minimum"), "a whole number, 0 or more")
        minimum = 0
    return AssuranceSpec(values.get("share"), minimum, values.get("margin"),
                         values.get("confidence"), values.get("expected_rate"),
                         spec.get("extrapolate", True) is not False,
                         values.get("extrapolation_confidence", Fraction(95, 100)))
