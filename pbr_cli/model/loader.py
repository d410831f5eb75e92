"""Load a model file: read YAML with lines, check it against the schema, then check what
the schema cannot see (names that refer to nothing, duplicates), and build the Model.

Every mistake is reported as `file:line: key.path: message`, all of them at once.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

from pbr_cli import expr as formulas
from pbr_cli.errors import PbrError
from pbr_cli.model.assurance import read_assurance
from pbr_cli.model.cadence import CadenceRules
from pbr_cli.model.client_level import ClientLevelRules, cohort_components, participant_components
from pbr_cli.model.conditions import pairs
from pbr_cli.model.earlier import check_earlier, placed
from pbr_cli.model.formula_rules import FormulaRules
from pbr_cli.model.kinds import (
    MEASURE_RULES,
    ColumnType,
    Over,
    one_of,
)
from pbr_cli.model.maxima import MaximaRules
from pbr_cli.model.records import (
    PERIOD_FACTS,
    PLACEHOLDER_RE,
    PUBLISH_FLOOR,
    CodeList,
    Cohort,
    Column,
    Component,
    Dated,
    Measure,
    Model,
    Parameter,
    Rate,
    RegisterSpec,
    ReportSpec,
    RuleWarning,
    Sheet,
    year_starts,
)
from pbr_cli.model.return_layout import ReturnLayoutRules
from pbr_cli.model.schema import check_schema, did_you_mean, share_hint
from pbr_cli.model.signals import read_signals
from pbr_cli.model.yamlread import Path as KeyPath
from pbr_cli.model.yamlread import YamlProblem, read_yaml
from pbr_cli.periods import Month

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MAX_MODEL_BYTES = 1_000_000


def list_models(models_dir: Path) -> list[Path]:
    return sorted(p for p in Path(models_dir).glob("*.yaml") if NAME_RE.match(p.stem))


def find_model(name: str, models_dir: Path) -> Path:
    """The file of the model called `name` (or `name` itself if it is a .yaml path)."""
    if name.endswith((".yaml", ".yml")) and Path(name).is_file():
        return Path(name)
    if not NAME_RE.match(name):
        raise PbrError(
            f"'{name}' is not a model name: use lower-case letters, digits and hyphens "
            "(see `pbr models list`)",
            code="bad-model-name",
        )
    path = Path(models_dir) / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(p.stem for p in list_models(models_dir)) or "none"
        raise PbrError(f"no model '{name}' in {models_dir} (models there: {known})",
                       code="unknown-model")
    return path


class _Problems:
    def __init__(self, file: Path, lines: dict[KeyPath, int]):
        self.file, self.lines = file, lines
        self.items: list[Any] = []
        self.warnings: list[Any] = []

    def add(self, path: KeyPath, message: str, to: list[Any] | None = None) -> None:
        line = 0
        for cut in range(len(path), -1, -1):
            if path[:cut] in self.lines:
                line = self.lines[path[:cut]]
                break
        dotted = _dotted(path)
        (self.items if to is None else to).append(
            (line, f"{self.file}:{line}: {dotted}: {message}" if dotted
             else f"{self.file}:{line}: {message}"))

    def warn(self, path: KeyPath, message: str) -> None:
        """Something a model may mean but seldom does: said by `pbr models check`, not
        refused."""
        self.add(path, f"warning: {message}", self.warnings)

    def raise_if_any(self) -> None:
        if self.items:
            shown = [text for _, text in sorted(self.items, key=lambda t: t[0])]
            raise PbrError(
                f"the model {self.file} has {len(shown)} mistake(s):\n  " + "\n  ".join(shown),
                code="model-invalid",
            )


def _dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_model(path: Path, warnings: list[str] | None = None,
               entries: tuple[dict[str, Any], ...] | None = None) -> Model:
    """The model at `path`, or PbrError naming every mistake's line; what it may mean but
    seldom does is added to `warnings` (each `file:line: key: warning: ...`). With its
    register's `entries`, what depends on an entry is checked for each."""
    path = Path(path)
    from pbr_cli.files import TooLarge, read_bounded

    try:
        raw = read_bounded(path, MAX_MODEL_BYTES)
    except TooLarge:
        raise PbrError(f"the model {path} is larger than 1 MB", code="model-invalid") from None
    except OSError as exc:
        raise PbrError(f"cannot read the model {path}: {exc.strerror}", code="unreadable-model") from None
    try:
        text = raw.decode("utf-8")
        data, lines = read_yaml(text)
    except UnicodeDecodeError:
        raise PbrError(f"{path}: the model is not UTF-8 text", code="model-invalid") from None
    except YamlProblem as exc:
        raise PbrError(f"{path}:{exc.line}: {exc.message}", code="model-invalid") from None
    problems = _Problems(path, lines)
    for p in check_schema(data):
        problems.add(p.path, p.message)
    problems.raise_if_any()
    builder = _Builder(path, data, problems)
    builder.entries = entries
    model = builder.build(hashlib.sha256(raw).hexdigest())
    problems.raise_if_any()
    if warnings is not None:
        warnings.extend(text for _, text in sorted(problems.warnings, key=lambda t: t[0]))
    return model


class _Builder(ReturnLayoutRules, ClientLevelRules, CadenceRules, FormulaRules, MaximaRules):
    def __init__(self, path: Path, data: dict[str, Any], problems: _Problems):
        self.path, self.data, self.problems = path, data, problems

    def fail(self, path: KeyPath, message: str) -> None:
        self.problems.add(path, message)

    def warn(self, path: KeyPath, message: str) -> None:
        self.problems.warn(path, message)

    def formula(self, text: Any, path: KeyPath, known: set[str]) -> formulas.Expr | None:
        if text is None:
            return None
        try:
            parsed = formulas.parse(str(text))
        except formulas.ExprError as exc:
            self.fail(path, str(exc))
            return None
        for name in sorted(parsed.share_names):
            self.a_share(name, path)
        placed(parsed, path, self.fail)
        for name in sorted(parsed.names - known):
            later = self.measure_at.get(name)
            if later is not None:
                self.fail(path, f"'{name}' is defined later (measures[{later}]); a measure can "
                          "use only those above it: move it below that line")
            else:
                self.fail(path, f"the formula uses '{name}', which is not defined"
                          f"{did_you_mean(name, known)}")
        return parsed

    def build(self, sha256: str) -> Model:
        d = self.data
        self.measure_at = {str(m.get("name")): i for i, m in enumerate(d.get("measures") or [])
                           if isinstance(m, dict)}
        scheme = d["scheme"]
        if scheme["name"] != self.path.stem:
            self.fail(("scheme", "name"),
                      f"the name '{scheme['name']}' must match the file name '{self.path.stem}'")
        if year_starts(scheme) != (scheme.get("year_starts") or 4):
            self.fail(("scheme", "year_starts"), "a month from 1 (January) to 12 (December)")
        if scheme["end"] < scheme["start"]:
            self.fail(("scheme", "end"), "the scheme ends before it starts")

        params = {name: self.parameter(name, spec)
                  for name, spec in (d.get("parameters") or {}).items()}
        codes = {
            name: CodeList(name, spec.get("label") or name,
                           {str(k): str(v) for k, v in spec["values"].items()})
            for name, spec in (d.get("codes") or {}).items()
        }
        self.codes = codes
        register = self.register(d["register"], set(params))
        context = set(params) | {c.name for c in register.columns} | set(PERIOD_FACTS)
        for name in params:
            if register.column(name) or name in PERIOD_FACTS:
                self.fail(("parameters", name), f"'{name}' is also a register column or fact")
        sheets = tuple(self.sheet(s, ("return", "sheets", i), context)
                       for i, s in enumerate(d["return"]["sheets"]))
        checks = tuple(self.check(c, ("return", "checks", i), sheets)
                       for i, c in enumerate(d["return"].get("checks") or []))
        measures, known = self.measures(d.get("measures") or [], sheets, set(context))
        self.scheme_months = ((scheme["end"].year - scheme["start"].year) * 12
                              + scheme["end"].month - scheme["start"].month + 1)
        for i, m in enumerate(measures):
            self.window_fits(m.window_months, ("measures", i, "window", "months"))
        cohort = self.cohort(d["cohort"], sheets, register, set(params)) if d.get("cohort") else None
        people = (self.participants(d["participants"], sheets, scheme["start"], scheme["end"])
                  if d.get("participants") else None)
        payments = tuple(self.component(c, ("payments", i), known)
                         for i, c in enumerate(d.get("payments") or []))
        if cohort is not None and people is not None:
            self.fail(("participants",), "a model has `cohort` or `participants`, not both")
        if cohort is not None:
            if payments or d.get("measures"):
                self.fail(("cohort",), "this model prices events itself: leave out `payments` "
                          "and `measures`")
            payments = cohort_components(cohort)
        elif people is not None:
            # A contract-level fee beside the per-participant payments: formulas over the
            # register entry, the parameters and the period (no return sheet is added up).
            for i, m in enumerate(measures):
                if m.rule.reads_rows:
                    self.fail(("measures", i, m.kind), "a per-participant model's measures are "
                              "formulas over the register entry and the parameters (its "
                              "attachments and claims are paid by `participants`)")
            payments = payments + participant_components(people)
        elif not payments:
            self.fail(("payments",), "the key 'payments' is missing (the payment components)")
        if cohort is None and people is None:
            read = {m.sheet for m in measures if m.rule.reads_rows}
            for i, sheet in enumerate(sheets):
                if sheet.name in read and sheet.register_column is None:
                    self.fail(("return", "sheets", i), f"the sheet '{sheet.name}' has no column "
                              "with `register: true`: a service-level model adds up each "
                              "sheet's rows by register entry, so mark the column holding the "
                              "entry's id (e.g. `register: true` on service_id)")
        self.unique([c.name for c in payments], ("payments",), "payment")
        self.cadence(d, payments, measures)
        comparison = (self.component(d["comparison"], ("comparison",), known)
                      if d.get("comparison") else None)
        warnings = tuple(self.warning(w, ("warnings", i), known, measures)
                         for i, w in enumerate(d.get("warnings") or []))
        report = self.report(d.get("report") or {}, register, measures, cohort is not None)
        check_earlier(measures, payments, comparison, warnings, self.fail)
        signals = (read_signals(d["signals"], cohort is not None, _review_columns(cohort, sheets),
                                self.fail) if d.get("signals") else None)
        return Model(
            name=scheme["name"], title=scheme["title"], version=str(scheme["version"]),
            commissioner=scheme.get("commissioner") or "", start=scheme["start"],
            end=scheme["end"], period=scheme["period"], virtual=scheme["payments"] == "virtual",
            description=" ".join((scheme.get("description") or "").split()),
            parameters=params, codes=codes, register=register, sheets=sheets, checks=checks,
            measures=measures, payments=payments, comparison=comparison, warnings=warnings,
            path=self.path, sha256=sha256, cohort=cohort, report=report, participants=people,
            year_starts=year_starts(scheme),
            holidays=frozenset(scheme.get("holidays") or ()), signals=signals,
            assurance=read_assurance(d.get("assurance"), self.fail),
        )

    def parameter(self, name: str, spec: dict[str, Any]) -> Parameter:
        """A figure, figures by date, or a figure for each code of a column (`by`)."""
        path: KeyPath = ("parameters", name)
        label = spec.get("label") or name
        if (spec.get("value") is None) == (spec.get("by") is None):
            self.fail(path, "give `value` (a figure) or `by` and `values` (a figure for each "
                      "code of a column)")
            return Parameter(name, Fraction(0), label)
        if spec.get("value") is not None:
            if spec.get("values") is not None:
                self.fail((*path, "values"), "`values` goes with `by`")
            written = spec["value"]
            self.not_below_nothing(written, (*path, "value"))
            return Parameter(name, self.figure(written, (*path, "value")), label)
        by, table = str(spec["by"]), spec.get("values") or {}
        column = self.by_column(by)
        if column is None:
            self.fail((*path, "by"), f"no column '{by}' in the register or a return sheet")
        elif column.type != "code" or column.codes not in self.data_codes():
            self.fail((*path, "by"), f"'{by}' must be a code column (a figure for each code)")
        else:
            codes = [str(c) for c in self.data_codes()[column.codes]["values"]]
            unknown = [str(c) for c in table if str(c) not in codes]
            missing = [c for c in codes if c not in {str(k) for k in table}]
            if unknown:
                self.fail((*path, "values", unknown[0]), f"'{unknown[0]}' is not a code of "
                          f"'{column.codes}' ({', '.join(codes)})")
            if missing:
                self.fail((*path, "values"), f"no figure for {', '.join(missing)}: give every "
                          "code of the column its figure")
        self.not_below_nothing(table, (*path, "values"))
        return Parameter(name, Fraction(0), label, by,
                         tuple((str(k), Fraction(v)) for k, v in table.items()))

    def not_below_nothing(self, written: Any, path: KeyPath) -> None:
        """A figure below 0 (a sign typed by mistake pays the opposite way): a warning at
        its line, each figure by date or by code at its own."""
        for key, v in (written.items() if isinstance(written, dict) else [(None, written)]):
            if v < 0:
                self.warn((*path, key) if key is not None else path, f"{v} is below 0: a figure "
                          f"a payment is worked out from seldom is (write {-v} if that is meant)")

    def by_column(self, name: str) -> Column | None:
        """The column a `by` figure reads: the register's, or a return sheet's."""
        for spec in [*self.data["register"].get("columns", []),
                     *(c for s in self.data["return"]["sheets"] for c in s.get("columns", []))]:
            if isinstance(spec, dict) and spec.get("name") == name:
                return Column(name=name, header=name, type=ColumnType(spec["type"]),
                              codes=spec.get("codes"))
        return None

    def data_codes(self) -> dict[str, Any]:
        return {str(k): v for k, v in (self.data.get("codes") or {}).items()
                if isinstance(v, dict) and isinstance(v.get("values"), dict)}

    def figure(self, value: Any, path: KeyPath) -> Fraction | Dated:
        """A number, or numbers by the date each applies from. The first date is on or before
        the scheme start (no day of the scheme is without a value); a scheme paid by the
        month for its register entries reads figures on each month's first day, so there a
        figure changes on the first of a month (a change mid-month would silently wait)."""
        if not isinstance(value, dict):
            return Fraction(value)
        steps = tuple(sorted((date.fromisoformat(str(k)), Fraction(v)) for k, v in value.items()))
        scheme = self.data["scheme"]
        if steps[0][0] > scheme["start"]:
            self.fail((*path, str(steps[0][0])), f"the first date is after the scheme start "
                      f"({scheme['start'].isoformat()}): give the value in force from the start")
        if not (self.data.get("participants")):
            for since, _ in steps:
                if since.day != 1:
                    self.fail((*path, str(since)), "this scheme is worked out a month at a "
                              "time, reading each figure on the month's first day: a figure "
                              f"changes on the first of a month (write "
                              f"{since.replace(day=1).isoformat()} or "
                              f"{Month.of(since).plus(1).first_day.isoformat()})")
        return Dated(steps)

    def unique(self, names: list[str], path: KeyPath, what: str) -> None:
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                self.fail((*path, i), f"the {what} name '{name}' is used twice")
            seen.add(name)

    def measures(self, specs: list[dict[str, Any]], sheets: tuple[Sheet, ...],
                 known: set[str]) -> tuple[tuple[Measure, ...], set[str]]:
        out: list[Measure] = []
        for i, spec in enumerate(specs):
            path: KeyPath = ("measures", i)
            name = spec["name"]
            kinds = [k for k in MEASURE_RULES if spec.get(k) is not None]
            if len(kinds) != 1:
                self.fail(path, f"give exactly one of {one_of(tuple(MEASURE_RULES))}")
                continue
            if name in known:
                self.fail((*path, "name"), f"'{name}' is already defined (a parameter, register "
                          "column, fact or earlier measure)")
            kind = kinds[0]
            rule = MEASURE_RULES[kind]
            sheet_name, column, condition = None, None, None
            if not rule.reads_rows:
                parsed = self.formula(spec[kind], (*path, kind), known)
            else:
                parsed = None
                target = str(spec[kind])
                sheet_name, _, column = target.partition(".")
                sheet = next((s for s in sheets if s.name == sheet_name), None)
                if sheet is None:
                    self.fail((*path, kind), f"no return sheet '{sheet_name}'")
                else:
                    wrong = rule.target_problem(sheet.column(column), column, target)
                    if wrong:
                        self.fail((*path, kind), wrong)
                for col_name, wanted in pairs(spec.get("where")).items():
                    col = sheet.column(col_name) if sheet is not None else None
                    if sheet is not None and col is None:
                        self.fail((*path, "where", col_name), f"no column '{col_name}' on "
                                  f"{sheet_name}")
                    elif col is not None and col.codes in self.codes:
                        listed = self.codes[col.codes].values
                        for value in (wanted if isinstance(wanted, list) else [wanted]):
                            if str(value) not in listed:
                                self.fail((*path, "where", col_name), f"'{value}' is not a code "
                                          f"of '{col.codes}' ({', '.join(listed)}): no row "
                                          "could match")
                condition = self.row_condition(spec.get("where"), (*path, "where"), sheet,
                                               known - {m.name for m in out})
            where = tuple(
                (k, tuple(str(x) for x in (v if isinstance(v, list) else [v])))
                for k, v in pairs(spec.get("where")).items()
            )
            window = spec.get("window", {}).get("months") if spec.get("window") else None
            if window is not None and window < 1:
                self.fail((*path, "window", "months"), "a window is at least 1 month")
            if not rule.reads_rows and spec.get("over"):
                self.fail((*path, "over"), "`over` goes with " + one_of(
                    [k for k, r in MEASURE_RULES.items() if r.reads_rows]))
            if parsed is not None:
                self.pooled_alike(parsed, {m.name: m for m in out}, (*path, kind))
                self.shares_compared(parsed, {m.name: m for m in out}, (*path, kind))
            out.append(Measure(name=name, label=spec.get("label") or name.replace("_", " "),
                               kind=rule.kind, expr=parsed, sheet=sheet_name, column=column or None,
                               where=where, condition=condition, window_months=window,
                               format=spec.get("format") or "number",
                               over=Over(spec.get("over") or Over.ENTRY)))
            known.add(name)
        self.unique([m.name for m in out], ("measures",), "measure")
        return tuple(out), known

    def component(self, spec: dict[str, Any], path: KeyPath, known: set[str]) -> Component:
        amount = self.formula(spec["amount"], (*path, "amount"), known)
        for i, name in enumerate(spec.get("shows") or []):
            if name not in known:
                self.fail((*path, "shows", i), f"'{name}' is not a measure{did_you_mean(name, known)}")
        return Component(name=spec["name"], label=spec["label"], amount=amount,
                         shows=tuple(spec.get("shows") or ()),
                         description=" ".join((spec.get("description") or "").split()),
                         paid=str(spec.get("paid") or "monthly"),
                         without_return=spec.get("without_return") is True)

    def report(self, spec: dict[str, Any], register: RegisterSpec, measures: tuple[Measure, ...],
               cohort: bool) -> ReportSpec:
        numeric = {c.name for c in register.columns if c.numeric}
        known = numeric | {m.name for m in measures}
        rates = []
        for i, r in enumerate(spec.get("rates") or []):
            path: KeyPath = ("report", "rates", i)
            if cohort:
                self.fail(path, "a cohort model's report shows each outcome's proportion "
                          "itself: leave out `rates`")
            for key in ("numerator", "denominator"):
                if r[key] not in known:
                    self.fail((*path, key), f"'{r[key]}' is not a measure or number register "
                              f"column{did_you_mean(r[key], known)}")
            rates.append(Rate(r["name"], r["label"], r["numerator"], r["denominator"],
                              bool(r.get("counts", False))))
        self.unique([r.name for r in rates], ("report", "rates"), "rate")
        small = spec.get("small_provider")
        money = {c.name for c in register.columns if c.type == "money"}
        if small and small["column"] not in money:
            self.fail(("report", "small_provider", "column"), f"'{small['column']}' is not a "
                      f"money register column{did_you_mean(small['column'], money)}")
        loss = Fraction(spec["loss_share"]) if spec.get("loss_share") is not None else Fraction(1, 20)
        if not 0 <= loss <= 1:
            self.fail(("report", "loss_share"),
                      f"a share is between 0 and 1{share_hint(spec['loss_share'])}")
        minimum = spec.get("publish_min_count", PUBLISH_FLOOR)
        if minimum < PUBLISH_FLOOR:
            self.fail(("report", "publish_min_count"), f"the base is at least {PUBLISH_FLOOR} "
                      f"(a larger one is allowed): rounded to multiples of {minimum}, a month "
                      f"figure shown as 0 is known to be 0 to {max(minimum - 1, 0)}, fewer "
                      f"than the {PUBLISH_FLOOR} possible values a publication leaves "
                      "(docs/publication.md)")
        identity = str(spec.get("publish_identity") or "").strip()
        return ReportSpec(tuple(rates), loss, small["column"] if small else None,
                          Fraction(small["below"]) if small else None, minimum, identity)

    def warning(self, spec: dict[str, Any], path: KeyPath, known: set[str],
                measures: tuple[Measure, ...]) -> RuleWarning:
        when = self.formula(spec["when"], (*path, "when"), known)
        for name, window in PLACEHOLDER_RE.findall(spec["message"]):
            measure = next((m for m in measures if m.name == name), None)
            if name not in known:
                self.fail((*path, "message"), f"the message uses {{{name}}}, which is not defined")
            elif window and (measure is None or not measure.window_months):
                self.fail((*path, "message"), f"'{name}' has no window")
        return RuleWarning(when=when, code=spec["code"], message=spec["message"])  # type: ignore[arg-type]


def _review_columns(cohort: Cohort | None, sheets: tuple[Sheet, ...]) -> dict[str, str]:
    """The reviews sheet's columns and their types (what `signals.round` may name)."""
    ref = cohort.reviews if cohort is not None else None
    sheet = next((s for s in sheets if ref is not None and s.name == ref.sheet), None)
    return {c.name: str(c.type) for c in sheet.columns} if sheet is not None else {}
