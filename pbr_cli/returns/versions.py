"""Return file names: which of several returns for one provider and month is used, and whose
a file that cannot be opened is taken to be."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pbr_cli.problems import ERROR, WARNING, Problem
from pbr_cli.returns.layout import COVER_SHEET

_VERSION_RE = re.compile(r"[-_ .]v(\d+)$", re.IGNORECASE)


def resubmission_number(path: str | Path) -> int:
    """A resubmitted return ends its name with -v2, -v3...; a name without one is version 1."""
    m = _VERSION_RE.search(Path(path).stem)
    return int(m.group(1)) if m else 1


def latest_version(found: list) -> tuple[Any, list, list]:
    """Of several returns for one provider and month: (the one to use, those it replaces,
    those that clash with it at the same version). The rule: the highest -vN in the name."""
    if len(found) == 1:  # (nearly every provider's month: nothing to rank)
        return found[0], [], []
    ranked = sorted(found, key=lambda r: (resubmission_number(r.path), r.path))
    top = resubmission_number(ranked[-1].path)
    best = [r for r in ranked if resubmission_number(r.path) == top]
    return best[0], [r for r in ranked if resubmission_number(r.path) < top], best[1:]


def named_for(path: str | Path, providers: list[str]) -> str | None:
    """The provider a return's file is named for (P1-2013-04.xlsx, P1_April.xlsx, 'P1 April'),
    or None. Used only for a file that cannot be opened: any other return says its provider
    on its Cover sheet."""
    name = Path(path).name
    return next((p for p in providers if name.startswith((f"{p}-", f"{p}_", f"{p} "))), None)


def version_problems(provider: str, month: object, best: Any, replaced: list,
                     clash: list) -> list[tuple[Any, Problem]]:
    """What each of several returns for one provider and month is told, on its Cover (the
    one rule `pbr validate` and `pbr calculate` share): a replaced return that it is not used;
    returns at the same version that each is an error until one is withdrawn or renamed."""
    out: list[tuple[Any, Problem]] = []
    for r in replaced:
        out.append((r, Problem(r.path, WARNING, "resubmitted", f"{best.path} replaces this "
                               f"{month} return of {provider}; it is not used", COVER_SHEET)))
    same = [best, *clash] if clash else []
    for r in same:
        others = ", ".join(o.path for o in same if o is not r)
        out.append((r, Problem(r.path, ERROR, "duplicate-return", f"{provider} has another "
                               f"return for {month}: {others}; remove the one that is not to "
                               "be paid on, or name the corrected one -v2", COVER_SHEET)))
    return out
