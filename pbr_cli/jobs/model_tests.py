"""Model tests: worked examples written beside a model, run through pbr as a month's returns.

`models/<model>.tests.yaml` lists cases. Each case gives a contract register (or uses the
model's), the return rows each provider sent each month, the month to calculate, and what
each provider is paid: its total, each component, or that it is withheld, and why
(jobs/model_test_pins.py: its problems, lines refused, evidence lines). `pbr models test`
writes the returns as the model's own template would be filled in, reads and checks them as
any return is read, works the month out, and says every difference, to the penny:

    pbr_model_tests: 1
    cases:
      - name: the brief's June worked example
        month: 2013-06
        register:                       # optional: the model's register if left out
          - {service_id: S001, provider: P1, ...}
        returns:
          P1:
            2013-06:
              Utilisation: [{service_id: S001, void_days: 45}]
        expect:
          P1: {total: 12700.66, utilisation: 11763.16, outcomes: 937.50}
          P2: {withheld: no return received, problems: [no-return]}
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pbr_cli.errors import PbrError
from pbr_cli.files import TooLarge, read_bounded
from pbr_cli.jobs.model_test_pins import (
    TOTAL,
    Expected,
    PinReader,
    check_pins,
    read_money,
    says,
    tests_invalid,
)
from pbr_cli.model.records import Model
from pbr_cli.model.yamlread import YamlProblem, read_yaml
from pbr_cli.money import format_money
from pbr_cli.outputs.template import Filling, ReturnFor, write_return
from pbr_cli.periods import Month
from pbr_cli.pricing.earlier import Paid
from pbr_cli.pricing.records import PAID, WITHHELD
from pbr_cli.pricing.worth import month_schedule
from pbr_cli.returns.collect import read_and_check
from pbr_cli.returns.register import Register, load_register

MAX_TESTS_BYTES = 2_000_000


@dataclass
class CaseResult:
    name: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def tests_file(model: Model) -> Path:
    """Where a model's tests live: beside it, named <model>.tests.yaml."""
    return Path(model.path).with_name(f"{model.name}.tests.yaml")


def run_model_tests(model: Model, path: Path | None = None) -> list[CaseResult]:
    """Every case of the model's tests file, worked out; PbrError (model-tests-invalid) when
    the file cannot be read as tests, naming its line."""
    path = Path(path or tests_file(model))
    # every case's month and expectations read before any is worked out: a mistake in the
    # file is said at once, with its line, never after cases have run
    ready = [(case, where, _month(path, case, where["line"]),
              _expectations(model, case, path, where)) for case, where in _read(path)]
    return [_run(model, path, case, where, month, expect)
            for case, where, month, expect in ready]


_bad = tests_invalid


def _read(path: Path) -> list[tuple[dict[str, Any], dict]]:
    try:
        text = read_bounded(path, MAX_TESTS_BYTES).decode("utf-8")
    except FileNotFoundError:
        raise PbrError(f"no model tests at {path}", code="file-not-found") from None
    except (TooLarge, OSError, UnicodeDecodeError) as exc:
        raise _bad(path, 0, f"cannot be read as model tests ({exc})") from None
    try:
        data, lines = read_yaml(text)
    except YamlProblem as exc:
        raise _bad(path, exc.line, exc.message) from None
    if not isinstance(data, dict) or data.get("pbr_model_tests") != 1:
        raise _bad(path, lines.get(("pbr_model_tests",), 1),
                   "a model tests file starts `pbr_model_tests: 1`")
    cases = data.get("cases")
    if not isinstance(cases, list) or not cases:
        raise _bad(path, lines.get(("cases",), 1), "`cases:` lists at least one case")
    out = []
    for i, case in enumerate(cases):
        line = lines.get(("cases", i), 0)
        if not isinstance(case, dict):
            raise _bad(path, line, f"cases[{i}] must be a set of keys")
        unknown = sorted(set(case) - {"name", "month", "register", "returns", "expect", "paid"})
        if unknown:
            raise _bad(path, lines.get(("cases", i, unknown[0]), line),
                       f"cases[{i}]: unknown key '{unknown[0]}' (a case has name, "
                       "month, register, returns, paid and expect)")
        for key in ("name", "month", "returns", "expect"):
            if case.get(key) is None:
                raise _bad(path, line, f"cases[{i}]: the key '{key}' is missing")
        out.append((case, {"line": line, "index": i, "lines": lines}))
    return out


def _month(path: Path, case: dict[str, Any], line: int) -> Month:
    try:
        return Month.parse(str(case["month"]))
    except PbrError as exc:
        raise _bad(path, line, f"{case['name']}: {exc.message}") from None


def _run(model: Model, path: Path, case: dict[str, Any], where: dict, month: Month,
         expect: dict[str, Expected]) -> CaseResult:
    result = CaseResult(str(case["name"]))
    line = where["line"]
    with tempfile.TemporaryDirectory(prefix="pbr-model-test-") as tmp:
        root = Path(tmp)
        register = (_register(model, case["register"], root / "register.csv", path, line)
                    if case.get("register") is not None else load_register(model))
        files = _returns(model, register, case["returns"], root / "returns", path, line)
        collection = read_and_check([f for _, f in files], model, register, cache=None)
        for unreadable in collection.unreadable:
            result.failures.append(f"a return could not be read: {unreadable.message}")
        schedule = month_schedule(model, register, month, collection,
                                  _paid(model, case, path, line))
    found = {p.provider: p for p in schedule.providers}
    for provider, wanted in expect.items():
        p = found.get(provider)
        if p is None:
            result.failures.append(f"{provider}: expected in the schedule, not there (no "
                                   "active contract in the month?)")
            continue
        if wanted.withheld:
            if p.status != WITHHELD:
                result.failures.append(f"{provider}: expected withheld, paid "
                                       f"{format_money(p.total())}")
            elif not says(p.reason, wanted.withheld_reason):
                result.failures.append(f'{provider}: expected withheld "'
                                       f'{wanted.withheld_reason}", got withheld "{p.reason}"')
        elif p.status != PAID and p.shown_status != "Fee only":  # (checked on its amounts)
            result.failures.append(f"{provider}: expected paid, withheld ({p.reason})")
        else:
            for key, target in (wanted.amounts or {}).items():
                got = p.total() if key == TOTAL else p.component_total(key)
                if got != target:
                    result.failures.append(f"{provider} {key}: expected "
                                           f"{format_money(target)}, got {format_money(got)}")
        result.failures.extend(check_pins(provider, wanted, schedule,
                                          {str(f) for who, f in files if who == provider}))
    return result


def _expectations(model: Model, case: dict[str, Any], path: Path,
                  where: dict) -> dict[str, Expected]:
    """provider -> what it is paid (or withheld) and why; read before anything is worked
    out, so a mistake in them is said as such, never as a failing case."""
    expect = case["expect"]
    name = case["name"]
    if not isinstance(expect, dict) or not expect:
        raise _bad(path, where["line"], f"{name}: `expect:` maps each provider to what it "
                   "is paid")
    reader = PinReader(model, path, where["lines"], ("cases", where["index"], "expect"),
                       str(name))
    return {str(provider): reader.read(str(provider), wanted)
            for provider, wanted in expect.items()}


def _paid(model: Model, case: dict[str, Any], path: Path, line: int) -> Paid | None:
    """What the case says was paid before (`paid:` month -> provider -> component ->
    amount): those months approved, each amount the provider's for its one entry."""
    given = case.get("paid")
    if given is None:
        return None
    components = {c.name for c in model.payments}
    adjusted: dict[tuple[Month, str, str], Decimal] = {}
    if not isinstance(given, dict):
        raise _bad(path, line, f"{case['name']}: `paid:` maps each month to what each "
                   "provider was paid, by component")
    for text, providers in given.items():
        try:
            month = Month.parse(str(text))
        except PbrError as exc:
            raise _bad(path, line, f"{case['name']}: paid: {exc.message}") from None
        for provider, amounts in (providers or {}).items():
            if not isinstance(amounts, dict) or set(map(str, amounts)) - components:
                raise _bad(path, line, f"{case['name']}: paid: {month} {provider}: give "
                           f"amounts by payment component ({', '.join(sorted(components))})")
            for component, amount in amounts.items():
                adjusted[(month, str(provider), str(component))] = read_money(
                    amount, path, line, f"{case['name']}: paid: {month} {provider} {component}")
    return Paid(frozenset(Month.parse(str(m)) for m in given), {}, adjusted,
                "the case's `paid`")


def _register(model: Model, rows: Any, target: Path, path: Path, line: int) -> Register:
    """The case's own register, written as the model's register file would be."""
    columns = model.register.columns
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise _bad(path, line, "`register:` lists rows, each a set of the register's columns")
    names = {c.name for c in columns}
    for row in rows:
        unknown = sorted(set(row) - names)
        if unknown:
            raise _bad(path, line, f"register: no column '{unknown[0]}' in the model's register")
    with target.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([c.header for c in columns])
        for row in rows:
            writer.writerow(["" if row.get(c.name) is None else str(row[c.name])
                             for c in columns])
    return load_register(model, target)


def _returns(model: Model, register: Register, given: Any, folder: Path, path: Path,
             line: int) -> list[tuple[str, Path]]:
    """Each provider's return for each month, written as the model's template filled in:
    (provider, file)."""
    if not isinstance(given, dict):
        raise _bad(path, line, "`returns:` maps each provider to its months")
    files = []
    sheets = {s.name for s in model.sheets}
    for provider, months in given.items():
        if not isinstance(months, dict):
            raise _bad(path, line, f"returns: {provider} maps each month to its sheets' rows")
        for text, rows in months.items():
            try:
                month = Month.parse(str(text))
            except PbrError as exc:
                raise _bad(path, line, f"returns: {provider}: {exc.message}") from None
            if not isinstance(rows, dict) or set(rows) - sheets:
                raise _bad(path, line, f"returns: {provider} {month}: give rows for the "
                           f"model's sheets ({', '.join(sorted(sheets))})")
            target = folder / str(month) / f"{provider}-{month}.xlsx"
            write_return(target, ReturnFor(model, register, str(provider), month),
                         Filling({name: list(r or []) for name, r in rows.items()},
                                 filled_only=True))
            files.append((str(provider), target))
    return files
