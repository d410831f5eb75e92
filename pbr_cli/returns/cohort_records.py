"""A client-level return's records as columns, worked out when the return is checked.

For each record sheet a cohort model names (presentations, discharges, reviews, and the
opening caseload), the rows with a client and a date, as columns; and for each outcome whose
events are that sheet's rows, whether its rule holds. Worked out in the worker that checks the
return and kept with it in the cache, so a month's run (pbr_cli/pricing/cohort/history.py) reads these
columns, not the return's tables.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pbr_cli.expr import ExprError
from pbr_cli.model.records import Model, Outcome
from pbr_cli.returns.checked import CheckedReturn

KINDS = ("presentations", "discharges", "reviews")
# the opening caseload's rows (episodes under way when the scheme started) join the
# presentations, marked as such: they start episodes, but earn no tariff
OPENING = "opening"
EVENT_OF = {"discharges": "discharge", "reviews": "first-review"}


# (rule, parameters it reads) -> values -> whether it holds: what rule_holds has worked out,
# kept by the caller for as long as it checks returns (a worker process: every file it reads)
RuleMemo = dict[tuple, dict[Any, bool]]


def record_columns(model: Model, r: CheckedReturn,
                   memo: RuleMemo | None = None) -> dict[str, dict[str, Any]]:
    """A return's client-level rows, for each record sheet (presentations, discharges,
    reviews): the rows with a client and a date (for a discharge, an episode start too), as
    columns: Excel row, client, day (an ordinal), group and episode start; and for each
    outcome whose events are that sheet's rows, whether its rule holds. Worked out when the
    return is checked and kept with it (the cache holds it too), so a month's run reads
    these columns, not the return's tables. Numbers are kept as the bytes of int64 arrays
    (Excel row, day ordinals) and of bool arrays (holds), which load fastest. An outcome's
    rule is worked out once for each distinct set of values in `memo`."""
    import numpy as np

    memo = {} if memo is None else memo

    cohort = model.cohort
    assert cohort is not None
    out: dict[str, dict[str, Any]] = {}
    if r.provider is None:
        return out
    for kind in (*KINDS, OPENING):
        ref = getattr(cohort, kind)
        frame = r.tables.get(ref.sheet) if ref is not None else None
        if frame is None or frame.empty:
            continue
        n = len(frame)

        def column(name: str | None, frame=frame, n=n) -> list[Any]:
            if name and name in frame.columns:
                return frame[name].to_numpy(dtype=object).tolist()
            return [None] * n

        clients, days, rows = column(cohort.client), column(ref.date), column("_row")
        starts = column(ref.episode_start) if kind == "discharges" else days
        keep = [i for i in range(n) if clients[i] is not None and isinstance(days[i], date)
                and isinstance(starts[i], date)]
        groups = column(cohort.group)
        part: dict[str, Any] = {
            "n": len(keep),
            "row": np.array([rows[i] for i in keep], np.int64).tobytes(),
            "client": [_client_id(c, cohort.client_case) for c in (clients[i] for i in keep)],
            "day": np.array([days[i].toordinal() for i in keep], np.int64).tobytes(),
            "group": [str(groups[i] or "") for i in keep],
            "holds": {},
        }
        if kind == "discharges":
            part["start"] = np.array([starts[i].toordinal() for i in keep], np.int64).tobytes()
        for outcome in cohort.outcomes:
            if outcome.event == EVENT_OF.get(kind):
                names = sorted(outcome.when.names) if outcome.when is not None else []
                values = [column(name) for name in names]
                part["holds"][outcome.name] = rule_holds(
                    model, outcome, names, [[v[i] for i in keep] for v in values],
                    len(keep), memo).tobytes()
        out[kind] = part
    return out


def rule_holds(model: Model, outcome: Outcome, names: list[str], values: list[list[Any]],
               n: int, memo: RuleMemo):
    """Whether an outcome's rule holds for each of n rows, given the columns it reads (a
    blank value leaves the name to the parameters). Worked out once for each distinct set
    of values in `memo`."""
    import numpy as np

    when = outcome.when
    if when is None or not n:
        return np.zeros(n, bool)
    params: dict[str, Any] = model.values_on(model.start)  # a rule reads no dated figure
    seen = memo.setdefault((when.text, *((k, params.get(k)) for k in sorted(when.names))), {})

    def evaluate(key: tuple) -> bool:
        context = {**params, **{k: v for k, v in zip(names, key, strict=True) if v is not None}}
        try:
            return when.evaluate(context) is True
        except ExprError:
            return False

    def holds(key: tuple) -> bool:
        try:
            return seen[key]
        except KeyError:
            found = seen[key] = evaluate(key)
            return found
        except TypeError:  # a value that cannot be a key: work it out each time
            return evaluate(key)

    keys = list(zip(*values, strict=True))
    try:
        found = [seen[key] for key in keys]  # every set of values seen before
    except (KeyError, TypeError):
        found = [holds(key) for key in keys]
    return np.array(found, bool)



class Interned:
    """Texts as codes 0, 1, 2... in the order first met: each distinct text (a client's id,
    a group) held once, however many rows of however many returns name it."""

    def __init__(self) -> None:
        self.codes: dict[str, int] | None = {}
        self.names: list[str] = []
        self.sealed = False

    @classmethod
    def of(cls, names: list[str]) -> Interned:
        """Texts numbered already (`names`, by code), to be numbered on: the lookup from
        text to code is made when a text is first numbered."""
        made = cls()
        made.names, made.codes = names, None
        return made

    def seal(self) -> None:
        """Nothing more is numbered: the lookup from text to code is let go (the texts,
        by code, are kept)."""
        self.codes, self.sealed = {}, True

    def code(self, texts: list[str]):
        """The codes of `texts` (an int64 array), new texts numbered on."""
        import numpy as np

        if self.sealed:
            raise ValueError("no text is numbered once the codes are sealed")
        if self.codes is None:
            self.codes = dict(zip(self.names, range(len(self.names)), strict=True))
        codes, names = self.codes, self.names
        # the texts not yet numbered, in the order first met, then every text looked up
        new = [text for text in dict.fromkeys(texts) if text not in codes]
        codes.update(zip(new, range(len(names), len(names) + len(new)), strict=True))
        names.extend(new)
        return np.fromiter(map(codes.__getitem__, texts), np.int64, len(texts))

    def __len__(self) -> int:
        return len(self.names)


def compact(columns: dict[str, dict[str, Any]], clients: Interned,
            groups: Interned) -> dict[str, dict[str, Any]]:
    """record_columns' parts as a caller holds them for many returns (`pbr validate`): each
    client's id and each group as a code (`clients`, `groups`: one for every return held),
    Excel rows and days as 32-bit numbers. The same records, in a quarter of the memory;
    number(part, name) and pbr_cli.pricing.cohort.rows read either form."""
    import numpy as np

    out: dict[str, dict[str, Any]] = {}
    interned = (clients, groups)
    for kind, part in columns.items():
        if isinstance(part["client"], np.ndarray):  # compact already
            out[kind] = part
            continue
        slim: dict[str, Any] = {name: value for name, value in part.items()
                                if name not in ("row", "day", "start", "client", "group")}
        for name in ("row", "day", "start"):
            if name in part:
                slim[name] = number(part, name).astype(np.int32)
        slim["client"] = clients.code(part["client"]).astype(np.int32)
        slim["group"] = groups.code(part["group"]).astype(np.int32)
        slim["interned"] = interned
        out[kind] = slim
    return out


def compacted_with(returns: list[CheckedReturn]) -> Interned | None:
    """The clients' codes every return's records were compacted with (compact), if they all
    were, with one; else None."""
    import numpy as np

    found = None
    for r in returns:
        if r.cohort is None:
            return None
        for part in r.cohort.values():
            if not isinstance(part["client"], np.ndarray):
                return None
            held = part["interned"][0]
            if found is not None and held is not found:
                return None
            found = held
    return found


def number(part: dict[str, Any], name: str):
    """A part's column of numbers (Excel row, day ordinal, episode start) as int64, from
    either form record_columns or compact gives."""
    import numpy as np

    value = part[name]
    if isinstance(value, bytes):
        return np.frombuffer(value, np.int64)
    return np.asarray(value).astype(np.int64)


def _client_id(value: Any, case: str) -> str:
    text = value if type(value) is str else str(value)
    return text.upper() if case == "same" else text


def declares_opening(model: Model, r: CheckedReturn) -> bool:
    """Whether the return, without errors of its own, declares an opening caseload row that
    its checks let through: a later month's return read for the time before the scheme."""
    if model.cohort is None or model.cohort.opening is None or r.errors:
        return False
    part = (r.cohort if r.cohort is not None else record_columns(model, r)).get(OPENING)
    if not part or not part["n"]:
        return False
    sheet = model.cohort.opening.sheet
    bad = {p.row for p in r.problems if p.sheet == sheet and p.is_error and p.row is not None}
    return any(row not in bad for row in number(part, "row").tolist())
