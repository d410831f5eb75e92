"""Pinned reasons in a model test: why each provider is paid what it is, not only how much.

Beside a provider's amounts, a case's `expect` may pin why: `withheld` with a part of the
reason, the `problems` raised about the provider (every code, warnings and errors), the
claims or rows `refused` (every one, each with a part of its reason), and `evidence` lines
(a client's event paid, nil or refused, its amount and reason). So a case whose total
matches for the wrong reason fails, saying what was expected and what was got:

    P1:
      total: 2300.00
      problems: []
      refused:
        - {client: M-X, component: presentation, reason: [2012-11-03, P2]}
      evidence:
        - {client: H05, component: completion, status: paid, amount: 800.00, reason: "band ≥30%"}
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pbr_cli.errors import PbrError
from pbr_cli.model.records import Model
from pbr_cli.money import format_money
from pbr_cli.pricing.records import NIL, PAID_EVENT, REFUSED, Evidence, Schedule
from pbr_cli.problems import CATALOGUE, Problem

TOTAL = "total"
WITHHELD_KEY, REFUSED_KEY, PROBLEMS_KEY, EVIDENCE_KEY = "withheld", "refused", "problems", "evidence"
PIN_KEYS = (WITHHELD_KEY, REFUSED_KEY, PROBLEMS_KEY, EVIDENCE_KEY)
LINE_KEYS = ("client", "component", "date", "status", "amount", "reason")
REFUSED_LINE_KEYS = ("client", "component", "date", "reason")
STATUSES = {s.value: s for s in (PAID_EVENT, NIL, REFUSED)}


def tests_invalid(path: Path, line: int, message: str) -> PbrError:
    """The tests file cannot be read as tests: its line and what is wrong (exit code 2)."""
    where = f"{path}:{line}: " if line else f"{path}: "
    return PbrError(f"{where}{message}", code="model-tests-invalid")


def read_money(value: Any, path: Path, line: int, what: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        amount = Decimal("NaN")
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise tests_invalid(path, line, f"{what}: '{value}' is not an amount in pounds and pence")
    return amount.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Line:
    """An evidence line as the case expects it; what is left out is not compared."""

    client: str
    component: str = ""
    day: dt.date | None = None
    status: str = ""
    amount: Decimal | None = None
    reason: tuple[str, ...] = ()  # parts of the reason, each of which it says

    def names(self, ev: Evidence) -> bool:
        """The evidence line is about the same client, component and date."""
        return (ev.client == self.client and (not self.component or ev.component == self.component)
                and (self.day is None or ev.day == self.day))

    def fits(self, ev: Evidence) -> bool:
        return ((not self.status or ev.status == self.status)
                and (self.amount is None or ev.amount == self.amount)
                and all(says(ev.reason, part) for part in self.reason))

    def describe(self) -> str:
        what = f"{self.client}'s {self.component}" if self.component else self.client
        if self.day is not None:
            what += f" of {self.day.isoformat()}"
        said = [self.status] if self.status else []
        if self.amount is not None:
            said.append(format_money(self.amount))
        if self.reason:
            said.append(", ".join(f'"{part}"' for part in self.reason))
        return " ".join([what, *said])


@dataclass
class Expected:
    """What a case expects of one provider: withheld, or paid these amounts; and why."""

    withheld: bool = False
    withheld_reason: str = ""
    amounts: dict[str, Decimal] | None = None
    problems: tuple[str, ...] | None = None  # every code raised about the provider
    refused: tuple[Line, ...] | None = None  # every line refused
    evidence: tuple[Line, ...] = ()  # these lines, among others


class PinReader:
    """Reads one provider's expectation of a case, naming the line of anything wrong."""

    def __init__(self, model: Model, path: Path, lines: dict, where: tuple[Any, ...],
                 name: str):
        self.model, self.path, self.lines, self.where, self.name = model, path, lines, where, name
        self.components = {c.name for c in model.payments}
        self.at = where  # the provider's expectation being read

    def line(self, *keys: Any) -> int:
        """The line of the key at the provider's expectation + keys, or of the nearest key
        holding it."""
        full = (*self.at, *keys)
        for n in range(len(full), 0, -1):
            if full[:n] in self.lines:
                return self.lines[full[:n]]
        return 0

    def bad(self, message: str, *keys: Any) -> PbrError:
        return tests_invalid(self.path, self.line(*keys), f"{self.name}: {message}")

    def read(self, provider: str, wanted: Any) -> Expected:
        self.at = (*self.where, provider)
        if wanted == WITHHELD_KEY:
            return Expected(withheld=True)
        if not isinstance(wanted, dict) or not wanted:
            raise self.bad(f"{provider}: give `withheld` or the amounts ({{total: ..., "
                           "<component>: ...}), with any of `problems`, `refused` and "
                           "`evidence`")
        out = Expected()
        amounts: dict[str, Decimal] = {}
        for key, value in wanted.items():
            if key == WITHHELD_KEY:
                out.withheld, out.withheld_reason = True, self._withheld(provider, value)
            elif key == PROBLEMS_KEY:
                out.problems = self._problems(provider, value)
            elif key in (REFUSED_KEY, EVIDENCE_KEY):
                lines = self._lines(provider, key, value)
                if key == REFUSED_KEY:
                    out.refused = lines
                else:
                    out.evidence = lines
            elif key == TOTAL or key in self.components:
                amounts[str(key)] = read_money(value, self.path, self.line(key),
                                               f"{self.name}: {provider} {key}")
            else:
                raise self.bad(f"{provider}: '{key}' is not a payment component "
                               f"({', '.join(sorted(self.components))}) or `total`, "
                               "`withheld`, `problems`, `refused` or `evidence`", key)
        if out.withheld:
            given = [k for k in wanted if k in (TOTAL, REFUSED_KEY, EVIDENCE_KEY)
                     or k in self.components]
            if given:
                raise self.bad(f"{provider}: a withheld provider is paid nothing and has no "
                               f"events; '{given[0]}' cannot be expected of it", given[0])
        else:
            out.amounts = amounts
        return out

    def _withheld(self, provider: str, value: Any) -> str:
        if value is True:
            return ""
        if isinstance(value, str) and value.strip():
            return value.strip()
        raise self.bad(f"{provider}: `withheld:` is `true` or a part of the reason it is "
                       "withheld (\"no return received\"); leave it out for a provider paid",
                       WITHHELD_KEY)

    def _problems(self, provider: str, value: Any) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            raise self.bad(f"{provider}: `problems:` lists problem codes ([] for none)",
                           PROBLEMS_KEY)
        own = {w.code for w in self.model.warnings}
        for i, code in enumerate(items):
            if not isinstance(code, str) or (code not in CATALOGUE and code not in own):
                known = (f" or one of the model's warnings ({', '.join(sorted(own))})"
                         if own else "")
                raise self.bad(f"{provider}: '{code}' is not a problem code "
                               f"(docs/problem-codes.md){known}", PROBLEMS_KEY, i)
        return tuple(items)

    def _lines(self, provider: str, key: str, value: Any) -> tuple[Line, ...]:
        if not self.model.client_level:
            raise self.bad(f"{provider}: `{key}:` pins events, and a {self.model.kind} "
                           "scheme has none (pin its amounts and `problems`)", key)
        if not isinstance(value, list):
            raise self.bad(f"{provider}: `{key}:` lists lines, each {{client: ..., ...}} "
                           "([] for none)", key)
        return tuple(self._line_of(provider, key, i, item) for i, item in enumerate(value))

    def _line_of(self, provider: str, key: str, i: int, item: Any) -> Line:
        allowed = REFUSED_LINE_KEYS if key == REFUSED_KEY else LINE_KEYS
        what = f"{provider} {key}[{i}]"
        if not isinstance(item, dict):
            raise self.bad(f"{what}: give {{client: ..., {', '.join(allowed[1:])}}}", key, i)
        for k in item:
            if k not in allowed:
                extra = (" (a refused line is £0.00, refused)" if key == REFUSED_KEY
                         and k in LINE_KEYS else "")
                raise self.bad(f"{what}: unknown key '{k}' (a line has "
                               f"{', '.join(allowed[:-1])} and {allowed[-1]}){extra}", key, i, k)
        if item.get("client") is None or str(item["client"]).strip() == "":
            raise self.bad(f"{what}: the key 'client' is missing (the client's or "
                           "participant's id, as in the return)", key, i)
        reason = self._reason(what, item.get("reason"), (key, i, "reason"))
        if key == REFUSED_KEY and not reason:
            raise self.bad(f"{what}: give the `reason` it is refused for (its words, or a "
                           "distinctive part of them)", key, i)
        if key == EVIDENCE_KEY and not any(item.get(k) is not None
                                           for k in ("status", "amount", "reason")):
            raise self.bad(f"{what}: give what the line says: its status, amount or reason",
                           key, i)
        component = str(item.get("component") or "")
        if component and component not in self.components:
            raise self.bad(f"{what}: '{component}' is not a payment component "
                           f"({', '.join(sorted(self.components))})", key, i, "component")
        status = REFUSED.value if key == REFUSED_KEY else str(item.get("status") or "")
        if status and status not in STATUSES:
            raise self.bad(f"{what}: status '{status}' is paid, nil or refused", key, i,
                           "status")
        amount = item.get("amount")
        return Line(str(item["client"]).strip(), component, self._day(what, item.get("date"),
                                                                      (key, i, "date")),
                    status,
                    None if amount is None else read_money(amount, self.path,
                                                           self.line(key, i, "amount"),
                                                           f"{self.name}: {what} amount"),
                    reason)

    def _reason(self, what: str, value: Any, keys: tuple[Any, ...]) -> tuple[str, ...]:
        """A reason's words, or a list of parts it says (each in any order)."""
        parts = value if isinstance(value, list) else [] if value is None else [value]
        if not all(isinstance(p, (str, int, dt.date)) and str(p).strip() for p in parts):
            raise self.bad(f"{what}: `reason:` is the reason's words, or a list of parts of "
                           "them", *keys)
        return tuple(str(p).strip() for p in parts)

    def _day(self, what: str, value: Any, keys: tuple[Any, ...]) -> dt.date | None:
        if value is None or isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise self.bad(f"{what}: date '{value}' is not a date written YYYY-MM-DD",
                           *keys) from None


def check_pins(provider: str, expected: Expected, schedule: Schedule,
               files: set[str]) -> list[str]:
    """Each way the schedule differs from the pinned reasons for the provider, in words."""
    out: list[str] = []
    if expected.problems is not None:
        out.extend(_check_problems(provider, expected.problems,
                                   _problems_about(schedule, provider, files)))
    mine = [ev for ev in schedule.evidence if ev.provider == provider]
    if expected.refused is not None:
        refused = [ev for ev in mine if ev.status == REFUSED]
        said, used = _check_lines(provider, expected.refused, mine, refused)
        out.extend(said)
        out.extend(f"{provider}: {_got_line(ev, with_day=True)}, not expected"
                   for i, ev in enumerate(refused) if i not in used)
    out.extend(_check_lines(provider, expected.evidence, mine, mine)[0])
    return out


def _problems_about(schedule: Schedule, provider: str, files: set[str]) -> list[Problem]:
    """The problems of the provider's returns, or naming it: a problem said of no return
    (an earlier month's missing return) names its provider in its first words."""
    return [p for p in schedule.problems
            if p.provider == provider or (p.file and p.file in files)
            or (p.provider is None and not p.file
                and p.message.startswith(f"provider {provider}:"))]


def _check_problems(provider: str, codes: tuple[str, ...], raised: list[Problem]) -> list[str]:
    out = [f"{provider}: expected problem {code}, not raised" for code in sorted(set(codes))
           if all(p.code != code for p in raised)]
    said: set[str] = set()
    for p in raised:
        if p.code not in codes and p.code not in said:
            said.add(p.code)
            where = f"{p.cell}: " if p.cell else ""
            times = sum(1 for q in raised if q.code == p.code)
            more = f"; {times} in all" if times > 1 else ""
            out.append(f"{provider}: problem {p.code} not expected ({where}{p.message}{more})")
    return out


def _check_lines(provider: str, wanted: tuple[Line, ...], mine: list[Evidence],
                 among: list[Evidence]) -> tuple[list[str], set[int]]:
    """Each wanted line matched to its own line among `among`, in order; what differs, and
    which of `among` are accounted for (matched, or said as what was got instead)."""
    out: list[str] = []
    used: set[int] = set()
    for want in wanted:
        found = next((i for i, ev in enumerate(among)
                      if i not in used and want.names(ev) and want.fits(ev)), None)
        if found is None:  # the line it names, said as got, is accounted for
            found = next((i for i, ev in enumerate(among)
                          if i not in used and want.names(ev)), None)
            named = [ev for ev in mine if want.names(ev)]
            got = ("no such line in the month" if not named else "got " + "; ".join(
                _got_line(ev, with_day=len(named) > 1, short=True,
                          reason=bool(want.reason) and want.status in ("", PAID_EVENT))
                for ev in named))
            out.append(f"{provider}: expected {want.describe()}, {got}")
        if found is not None:
            used.add(found)
    return out, used


def _got_line(ev: Evidence, with_day: bool = False, short: bool = False,
              reason: bool = True) -> str:
    """`paid £1,200.00`, `refused "already attached"`; with the client unless short."""
    said = (f"{ev.status.value} {format_money(ev.amount)}" if ev.status == PAID_EVENT
            else ev.status.value)
    if ev.reason and (reason or ev.status != PAID_EVENT):
        said += f' "{ev.reason}"'
    if with_day:
        said += f" on {ev.day.isoformat()}"
    return said if short else f"{ev.client}'s {ev.component} {said}"


def says(text: str, part: str) -> bool:
    """The text says the part: compared as read, case and runs of spaces aside."""
    return _plain(part) in _plain(text)


def _plain(text: str) -> str:
    return " ".join(text.split()).casefold()
