"""Load a model file: read YAML with lines, check it against the schema, then check what
the schema cannot see (names that refer to nothing, duplicates), and build the Model.

Every mistake is reported as `file:line: key.path: message`, all of them at once.
"""

from __future__ import annotations

import hashlib
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

from pbr_cli import expr as formulas
from pbr_cli.errors import PbrError
from pbr_cli.model.records import (
    PERIOD_FACTS,
    PLACEHOLDER_RE,
    Band,
    CodeList,
    Cohort,
    Column,
    Component,
    Fee,
    GroupCheck,
    Measure,
    Model,
    Outcome,
    Parameter,
    Participants,
    Rate,
    RegisterSpec,
    ReportSpec,
    Result,
    RuleWarning,
    Sheet,
    SheetRef,
    Tariff,
)
from pbr_cli.model.schema import check_schema
from pbr_cli.model.yamlread import Path as KeyPath
from pbr_cli.model.yamlread import YamlProblem, read_yaml

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

    def add(self, path: KeyPath, message: str) -> None:
        line = 0
        for cut in range(len(path), -1, -1):
            if path[:cut] in self.lines:
                line = self.lines[path[:cut]]
                break
        dotted = _dotted(path)
        self.items.append((line, f"{self.file}:{line}: {dotted}: {message}" if dotted
                           else f"{self.file}:{line}: {message}"))

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


def load_model(path: Path) -> Model:
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
    model = _Builder(path, data, problems).build(hashlib.sha256(raw).hexdigest())
    problems.raise_if_any()
    return model


class _Builder:
    def __init__(self, path: Path, data: dict[str, Any], problems: _Problems):
        self.path, self.data, self.problems = path, data, problems

    def fail(self, path: KeyPath, message: str) -> None:
        self.problems.add(path, message)

    def formula(self, text: Any, path: KeyPath, known: set[str]) -> formulas.Expr | None:
        if text is None:
            return None
        try:
            parsed = formulas.parse(str(text))
        except formulas.ExprError as exc:
            self.fail(path, str(exc))
            return None
        for name in sorted(parsed.names - known):
            self.fail(path, f"the formula uses '{name}', which is not defined{_hint(name, known)}")
        return parsed

    def build(self, sha256: str) -> Model:
        d = self.data
        scheme = d["scheme"]
        if scheme["name"] != self.path.stem:
            self.fail(("scheme", "name"),
                      f"the name '{scheme['name']}' must match the file name '{self.path.stem}'")
        if scheme["end"] < scheme["start"]:
            self.fail(("scheme", "end"), "the scheme ends before it starts")

        params = {
            name: Parameter(name, Fraction(spec["value"]), spec.get("label") or name)
            for name, spec in (d.get("parameters") or {}).items()
        }
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
        if cohort is not None or people is not None:
            if payments or d.get("measures"):
                self.fail(("cohort" if cohort else "participants",), "this model prices events "
                          "itself: leave out `payments` and `measures`")
            payments = (_cohort_components(cohort) if cohort is not None
                        else _participant_components(people))
        elif not payments:
            self.fail(("payments",), "the key 'payments' is missing (the payment components)")
        self.unique([c.name for c in payments], ("payments",), "payment")
        comparison = (self.component(d["comparison"], ("comparison",), known)
                      if d.get("comparison") else None)
        warnings = tuple(self.warning(w, ("warnings", i), known, measures)
                         for i, w in enumerate(d.get("warnings") or []))
        report = self.report(d.get("report") or {}, register, measures, cohort is not None)
        return Model(
            name=scheme["name"], title=scheme["title"], version=str(scheme["version"]),
            commissioner=scheme.get("commissioner") or "", start=scheme["start"],
            end=scheme["end"], period=scheme["period"], virtual=scheme["payments"] == "virtual",
            description=" ".join((scheme.get("description") or "").split()),
            parameters=params, codes=codes, register=register, sheets=sheets, checks=checks,
            measures=measures, payments=payments, comparison=comparison, warnings=warnings,
            path=self.path, sha256=sha256, cohort=cohort, report=report, participants=people,
        )

    def unique(self, names: list[str], path: KeyPath, what: str) -> None:
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                self.fail((*path, i), f"the {what} name '{name}' is used twice")
            seen.add(name)

    def column(self, spec: dict[str, Any], path: KeyPath, known: set[str]) -> Column:
        kind = spec["type"]
        if kind == "code":
            if not spec.get("codes"):
                self.fail((*path, "type"), "a code column needs `codes:` naming a code list")
            elif spec["codes"] not in self.codes:
                self.fail((*path, "codes"), f"no code list '{spec['codes']}' under `codes`"
                          f"{_hint(spec['codes'], set(self.codes))}")
        if spec.get("within") and kind != "date":
            self.fail((*path, "within"), "`within` applies to date columns only")
        if (spec.get("min") is not None or spec.get("max") is not None) and kind not in (
                "integer", "number", "money", "date"):
            self.fail(path, "`min` and `max` apply to number and date columns only")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", spec["name"]):
            self.fail((*path, "name"), "a column name is lower_case_words (letters, digits, _)")
        return Column(
            name=spec["name"],
            header=spec.get("header") or spec["name"].replace("_", " ").capitalize(),
            type=kind, codes=spec.get("codes"),
            required=spec.get("required", True) and not spec.get("required_when"),
            required_when=self.formula(spec.get("required_when"), (*path, "required_when"), known),
            min=self.formula(spec.get("min"), (*path, "min"), known),
            max=self.formula(spec.get("max"), (*path, "max"), known),
            within=spec.get("within"), register=bool(spec.get("register")),
            prefill=spec.get("prefill"), info=bool(spec.get("info")), help=spec.get("help") or "",
        )

    def register(self, spec: dict[str, Any], params: set[str]) -> RegisterSpec:
        path: KeyPath = ("register",)
        columns = tuple(self.column(c, (*path, "columns", i), params | set(PERIOD_FACTS))
                        for i, c in enumerate(spec["columns"]))
        names = {c.name for c in columns}
        self.unique([c.name for c in columns], (*path, "columns"), "column")
        for key in ("key", "provider", "provider_name", "label", "start", "end"):
            if spec.get(key) and spec[key] not in names:
                self.fail((*path, key), f"no register column '{spec[key]}'{_hint(spec[key], names)}")
        for i, name in enumerate(spec.get("group_by") or []):
            if name not in names:
                self.fail((*path, "group_by", i), f"no register column '{name}'")
        return RegisterSpec(
            file=(self.path.parent / spec["file"]), entity=spec["entity"], key=spec["key"],
            provider=spec["provider"], columns=columns, provider_name=spec.get("provider_name"),
            label=spec.get("label"), start=spec.get("start"), end=spec.get("end"),
            group_by=tuple(spec.get("group_by") or ()),
        )

    def sheet(self, spec: dict[str, Any], path: KeyPath, known: set[str]) -> Sheet:
        own = {str(c.get("name")) for c in spec["columns"] if isinstance(c, dict)}
        columns = tuple(self.column(c, (*path, "columns", i), known | own)
                        for i, c in enumerate(spec["columns"]))
        names = {c.name for c in columns}
        self.unique([c.name for c in columns], (*path, "columns"), "column")
        if sum(c.register for c in columns) > 1:
            self.fail((*path, "columns"),
                      "at most one column may have `register: true` (it links rows to entries)")
        if spec.get("one_row_per") and not any(c.register for c in columns):
            self.fail((*path, "one_row_per"), "one row per register entry needs a column with "
                      "`register: true`")
        for i, col in enumerate(columns):
            if col.prefill and col.prefill not in {c.name for c in self.data_register_columns()}:
                self.fail((*path, "columns", i, "prefill"), f"no register column '{col.prefill}'")
        for i, name in enumerate(spec.get("key") or []):
            if name not in names:
                self.fail((*path, "key", i), f"no column '{name}' on this sheet{_hint(name, names)}")
        return Sheet(name=spec["name"], description=spec.get("description") or "",
                     columns=columns, key=tuple(spec.get("key") or ()),
                     one_row_per=spec.get("one_row_per"), rows=spec.get("rows") or 500,
                     optional=bool(spec.get("optional")))

    def data_register_columns(self) -> list[Column]:
        return [Column(c["name"], "", c["type"]) for c in self.data["register"]["columns"]]

    def check(self, spec: dict[str, Any], path: KeyPath, sheets: tuple[Sheet, ...]) -> GroupCheck:
        sheet = next((s for s in sheets if s.name == spec["sheet"]), None)
        if sheet is None:
            self.fail((*path, "sheet"), f"no return sheet '{spec['sheet']}'")
        else:
            for i, name in enumerate(spec["group_by"]):
                if sheet.column(name) is None:
                    self.fail((*path, "group_by", i), f"no column '{name}' on {sheet.name}")
            if spec.get("column") and sheet.column(spec["column"]) is None:
                self.fail((*path, "column"), f"no column '{spec['column']}' on {sheet.name}")
        if spec["kind"] == "min-rows-per-group" and spec.get("min") is None:
            self.fail(path, "min-rows-per-group needs `min`")
        if spec["kind"] == "must-include-per-group" and not (spec.get("column") and spec.get("values")):
            self.fail(path, "must-include-per-group needs `column` and `values`")
        return GroupCheck(kind=spec["kind"], sheet=spec["sheet"], group_by=tuple(spec["group_by"]),
                          group_noun=spec.get("group_noun") or "group",
                          row_noun=spec.get("row_noun") or "rows",
                          severity=spec.get("severity") or "warning", min=spec.get("min"),
                          column=spec.get("column"),
                          values=tuple(str(v) for v in spec.get("values") or ()))

    def measures(self, specs: list[dict[str, Any]], sheets: tuple[Sheet, ...],
                 known: set[str]) -> tuple[tuple[Measure, ...], set[str]]:
        out = []
        for i, spec in enumerate(specs):
            path: KeyPath = ("measures", i)
            name = spec["name"]
            kinds = [k for k in ("expr", "sum", "count") if spec.get(k) is not None]
            if len(kinds) != 1:
                self.fail(path, "give exactly one of `expr`, `sum` or `count`")
                continue
            if name in known:
                self.fail((*path, "name"), f"'{name}' is already defined (a parameter, register "
                          "column, fact or earlier measure)")
            kind = kinds[0]
            sheet_name, column = None, None
            if kind == "expr":
                parsed = self.formula(spec["expr"], (*path, "expr"), known)
            else:
                parsed = None
                target = str(spec[kind])
                sheet_name, _, column = target.partition(".")
                sheet = next((s for s in sheets if s.name == sheet_name), None)
                if sheet is None:
                    self.fail((*path, kind), f"no return sheet '{sheet_name}'")
                elif kind == "sum":
                    col = sheet.column(column)
                    if col is None or not col.numeric:
                        self.fail((*path, kind), f"'{target}' must name a number column as "
                                  "Sheet.column")
                elif column:
                    self.fail((*path, kind), "count takes a sheet name only")
                for col_name in (spec.get("where") or {}):
                    if sheet is not None and sheet.column(col_name) is None:
                        self.fail((*path, "where", col_name), f"no column '{col_name}' on "
                                  f"{sheet_name}")
            where = tuple(
                (k, tuple(str(x) for x in (v if isinstance(v, list) else [v])))
                for k, v in (spec.get("where") or {}).items()
            )
            window = spec.get("window", {}).get("months") if spec.get("window") else None
            if window is not None and window < 1:
                self.fail((*path, "window", "months"), "a window is at least 1 month")
            out.append(Measure(name=name, label=spec.get("label") or name.replace("_", " "),
                               kind=kind, expr=parsed, sheet=sheet_name, column=column or None,
                               where=where, window_months=window,
                               format=spec.get("format") or "number"))
            known.add(name)
        self.unique([m.name for m in out], ("measures",), "measure")
        return tuple(out), known

    def component(self, spec: dict[str, Any], path: KeyPath, known: set[str]) -> Component:
        amount = self.formula(spec["amount"], (*path, "amount"), known)
        for i, name in enumerate(spec.get("shows") or []):
            if name not in known:
                self.fail((*path, "shows", i), f"'{name}' is not a measure{_hint(name, known)}")
        return Component(name=spec["name"], label=spec["label"], amount=amount,
                         shows=tuple(spec.get("shows") or ()),
                         description=" ".join((spec.get("description") or "").split()))

    def report(self, spec: dict[str, Any], register: RegisterSpec, measures: tuple[Measure, ...],
               cohort: bool) -> ReportSpec:
        numeric = {c.name for c in register.columns if c.type in ("integer", "number", "money")}
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
                              f"column{_hint(r[key], known)}")
            rates.append(Rate(r["name"], r["label"], r["numerator"], r["denominator"],
                              bool(r.get("counts", False))))
        self.unique([r.name for r in rates], ("report", "rates"), "rate")
        small = spec.get("small_provider")
        money = {c.name for c in register.columns if c.type == "money"}
        if small and small["column"] not in money:
            self.fail(("report", "small_provider", "column"), f"'{small['column']}' is not a "
                      f"money register column{_hint(small['column'], money)}")
        loss = Fraction(spec["loss_share"]) if spec.get("loss_share") is not None else Fraction(1, 20)
        if not 0 <= loss <= 1:
            self.fail(("report", "loss_share"), "a share is between 0 and 1")
        minimum = spec.get("publish_min_count", 5)
        if minimum < 1:
            self.fail(("report", "publish_min_count"), "the threshold is at least 1")
        return ReportSpec(tuple(rates), loss, small["column"] if small else None,
                          Fraction(small["below"]) if small else None, minimum)

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


    def cohort(self, spec: dict[str, Any], sheets: tuple[Sheet, ...], register: RegisterSpec,
               params: set[str]) -> Cohort:
        path: KeyPath = ("cohort",)
        group, client = spec["group"], spec["client"]
        refs: dict[str, SheetRef] = {}
        for kind in ("presentations", "discharges", "reviews", "opening"):
            ref = spec.get(kind)
            if ref is None:
                continue
            sheet = next((s for s in sheets if s.name == ref["sheet"]), None)
            where = (*path, kind)
            if sheet is None:
                self.fail((*where, "sheet"), f"no return sheet '{ref['sheet']}'"
                          f"{_hint(ref['sheet'], {s.name for s in sheets})}")
                continue
            for key in ("date", "episode_start"):
                col = sheet.column(ref[key]) if ref.get(key) else None
                if ref.get(key) and (col is None or col.type != "date"):
                    self.fail((*where, key), f"'{ref[key]}' must be a date column of {sheet.name}")
            if sheet.column(client) is None:
                self.fail((*path, "client"), f"no column '{client}' on {sheet.name}")
            if kind in ("presentations", "opening"):
                col = sheet.column(group)
                if col is None or col.type != "code":
                    self.fail((*path, "group"), f"'{group}' must be a code column of {sheet.name}")
            dated = sheet.column(ref["date"])
            if kind == "opening" and (dated is None or dated.within != "before-start"):
                self.fail((*where, "date"), f"'{ref['date']}' must be a date column with "
                          "`within: before-start` (an opening caseload is of episodes that "
                          "started before the scheme)")
            if kind == "opening" and ref["sheet"] in {r.sheet for r in refs.values()}:
                self.fail((*where, "sheet"), "the opening caseload needs a sheet of its own")
            if kind == "discharges" and not ref.get("episode_start"):
                self.fail(where, "discharges need `episode_start`")
            refs[kind] = SheetRef(ref["sheet"], ref["date"], ref.get("episode_start"))
        pres = next((s for s in sheets if s.name == spec["presentations"]["sheet"]), None)
        group_col = pres.column(group) if pres else None
        group_codes = group_col.codes if group_col and group_col.codes else ""
        codes = set(self.codes[group_codes].values) if group_codes in self.codes else set()
        outcomes: list[Outcome] = []
        for i, o in enumerate(spec["outcomes"]):
            outcomes.append(self.outcome(o, (*path, "outcomes", i), sheets, refs, outcomes,
                                         codes, params))
        self.unique([o.name for o in outcomes], (*path, "outcomes"), "outcome")
        tariff = None
        if spec.get("tariff"):
            t = spec["tariff"]
            prices = {str(k): Fraction(v) for k, v in t["prices"].items()}
            self.group_keys(prices, (*path, "tariff", "prices"), codes)
            if t["churn_months"] < 0:
                self.fail((*path, "tariff", "churn_months"), "must be 0 or more")
            same_day = t.get("same_day") or "once"
            if same_day not in ("once", "each"):
                self.fail((*path, "tariff", "same_day"), f"must be once or each, not '{same_day}'")
            tariff = Tariff(t["name"], t["label"], prices, t["churn_months"],
                            " ".join((t.get("description") or "").split()),
                            same_day_once=same_day == "once")
        cap = spec.get("cap")
        capped = register.column(cap) if cap else None
        if cap and (capped is None or capped.type != "money"):
            self.fail((*path, "cap"), f"'{cap}' must be a money column of the register")
        months = spec["window"]["months"]
        if months < 1:
            self.fail((*path, "window", "months"), "a window is at least 1 month")
        self.window_fits(months, (*path, "window", "months"))
        client_case = spec.get("client_case") or "distinct"
        if client_case not in ("distinct", "same"):
            self.fail((*path, "client_case"), f"must be distinct or same, not '{client_case}'")
        return Cohort(client=client, group=group, group_codes=group_codes,
                      presentations=refs.get("presentations") or SheetRef("", ""),
                      discharges=refs.get("discharges") or SheetRef("", ""),
                      reviews=refs.get("reviews"), window_months=months,
                      outcomes=tuple(outcomes), tariff=tariff, cap=cap,
                      client_case=client_case, opening=refs.get("opening"))

    def participants(self, spec: dict[str, Any], sheets: tuple[Sheet, ...], start, end
                     ) -> Participants:
        path: KeyPath = ("participants",)
        refs = {}
        for kind in ("attachments", "claims"):
            ref = spec[kind]
            sheet = next((s for s in sheets if s.name == ref["sheet"]), None)
            if sheet is None:
                self.fail((*path, kind, "sheet"), f"no return sheet '{ref['sheet']}'"
                          f"{_hint(ref['sheet'], {s.name for s in sheets})}")
                continue
            col = sheet.column(ref["date"])
            if col is None or col.type != "date":
                self.fail((*path, kind, "date"), f"'{ref['date']}' must be a date column of "
                          f"{sheet.name}")
            if sheet.column(spec["id"]) is None:
                self.fail((*path, "id"), f"no column '{spec['id']}' on {sheet.name}")
            refs[kind] = (sheet, SheetRef(ref["sheet"], ref["date"]))
        codes: set[str] = set()
        if "claims" in refs:
            col = refs["claims"][0].column(spec["claims"]["outcome"])
            if col is None or col.type != "code":
                self.fail((*path, "claims", "outcome"), f"'{spec['claims']['outcome']}' must be "
                          f"a code column of {refs['claims'][0].name}")
            elif col.codes in self.codes:
                codes = set(self.codes[col.codes].values)
        years = _financial_years(start, end)
        fees = []
        for i, f in enumerate(spec.get("fees") or []):
            shares = {str(k): Fraction(v) for k, v in f["shares"].items()}
            where = (*path, "fees", i, "shares")
            for year in shares:
                if year not in years:
                    self.fail((*where, year), f"'{year}' is not a financial year of the scheme "
                              f"({', '.join(years)})")
            missing = [y for y in years if y not in shares]
            if missing:
                self.fail(where, f"no share for {', '.join(missing)}: every financial year the "
                          "scheme touches needs one")
            if any(not 0 <= v <= 1 for v in shares.values()):
                self.fail(where, "a share is between 0 and 1")
            fees.append(Fee(f["name"], f["label"], Fraction(f["base"]), shares,
                            " ".join((f.get("description") or "").split())))
        results = []
        for i, r in enumerate(spec["results"]):
            where = (*path, "results", i)
            if bool(r.get("when_all")) == bool(r.get("when_any")):
                self.fail(where, "give one of `when_all` or `when_any` (the claim codes)")
            chosen = [str(c) for c in (r.get("when_all") or r.get("when_any") or [])]
            for c in chosen:
                if codes and c not in codes:
                    self.fail((*where, "when_all" if r.get("when_all") else "when_any"),
                              f"'{c}' is not a claim code ({', '.join(sorted(codes))})")
            if (r.get("amount") is None) == (r.get("to_total") is None):
                self.fail(where, "give one of `amount` or `to_total`")
            if r.get("to_total") is not None and (r.get("every_weeks") or r.get("deflator")):
                self.fail(where, "`to_total` cannot repeat (`every_weeks`) or be deflated")
            deflator = Fraction(r["deflator"]) if r.get("deflator") is not None else Fraction(0)
            if not 0 <= deflator < 1:
                self.fail((*where, "deflator"), "a deflator is a share from 0 up to (not) 1")
            up_to = r.get("up_to") or 1
            if r.get("up_to") and not r.get("every_weeks"):
                self.fail((*where, "up_to"), "`up_to` goes with `every_weeks`")
            results.append(Result(
                r["name"], r["label"], tuple(chosen), bool(r.get("when_all")),
                Fraction(r["amount"]) if r.get("amount") is not None else None,
                Fraction(r["to_total"]) if r.get("to_total") is not None else None,
                r.get("once_in"), deflator, r.get("every_weeks"), up_to,
                " ".join((r.get("description") or "").split())))
        names = [x.name for x in fees] + [x.name for x in results]
        self.unique(names, (*path, "results"), "fee or result")
        maximum = Fraction(spec["maximum"]) if spec.get("maximum") is not None else None
        return Participants(
            spec["id"], refs["attachments"][1] if "attachments" in refs else SheetRef("", ""),
            refs["claims"][1] if "claims" in refs else SheetRef("", ""),
            spec["claims"]["outcome"], maximum, spec.get("claim_within_months"),
            tuple(fees), tuple(results))

    def window_fits(self, months: int | None, path: KeyPath) -> None:
        """A window longer than the scheme could never be full: the returns it would look
        back over are never kept."""
        scheme = getattr(self, "scheme_months", None)
        if months and scheme and months > scheme:
            self.fail(path, f"a window of {months} months is longer than the scheme "
                      f"({scheme} months): it would look back before the scheme start")

    def group_keys(self, table: dict[str, Any], path: KeyPath, codes: set[str]) -> None:
        for name in table:
            if codes and name not in codes:
                self.fail((*path, name), f"'{name}' is not a group code ({', '.join(sorted(codes))})")
        missing = sorted(codes - set(table)) if table else []
        if missing:
            self.fail(path, f"no price for group(s) {', '.join(missing)}: give every group "
                      "its prices (0 where nothing is paid)")

    def outcome(self, spec: dict[str, Any], path: KeyPath, sheets: tuple[Sheet, ...],
                refs: dict[str, SheetRef], earlier: list[Outcome], codes: set[str],
                params: set[str]) -> Outcome:
        event = spec["event"]
        when = None
        source = {"discharge": "discharges", "first-review": "reviews"}.get(event)
        if source is not None:
            ref = refs.get(source)
            sheet = next((s for s in sheets if ref and s.name == ref.sheet), None)
            if ref is None:
                self.fail((*path, "event"), f"a {event} outcome needs `cohort.{source}`")
            elif spec.get("when") is None:
                self.fail(path, f"a {event} outcome needs `when`")
            else:
                names = {c.name for c in sheet.columns} if sheet else set()
                when = self.formula(spec["when"], (*path, "when"), names | params)
        else:
            after = next((o for o in earlier if o.name == spec.get("after")), None)
            if after is None or after.event == "follow-up":
                self.fail((*path, "after"), "a follow-up needs `after:` naming an earlier "
                          "discharge or first-review outcome")
            if not spec.get("months") or spec["months"] < 1:
                self.fail((*path, "months"), "a follow-up needs `months:` of 1 or more")
        bands: dict[str, tuple[Band, ...]] = {}
        for group, rows in (spec.get("bands") or {}).items():
            table = tuple(Band(Fraction(r["from"]), Fraction(r["price"])) for r in rows)
            where = (*path, "bands", group)
            if any(b.lower < 0 or b.lower > 1 or b.price < 0 for b in table):
                self.fail(where, "bounds are proportions from 0 to 1 and prices are 0 or more")
            if any(a.lower >= b.lower for a, b in zip(table, table[1:], strict=False)):
                self.fail(where, "list the bands lowest first, each bound higher than the last")
            bands[str(group)] = table
        self.group_keys(bands, (*path, "bands"), codes)
        return Outcome(name=spec["name"], label=spec["label"], event=event, when=when,
                       bands=bands, after=spec.get("after"), months=spec.get("months") or 0,
                       description=" ".join((spec.get("description") or "").split()))


def _participant_components(people: Participants | None) -> tuple[Component, ...]:
    """A per-participant model's payment lines: one per fee and per result."""
    if people is None:
        return ()
    return (tuple(Component(f.name, f.label, None, description=f.description) for f in people.fees)
            + tuple(Component(r.name, r.label, None, description=r.description)
                    for r in people.results))


def _cohort_components(cohort: Cohort) -> tuple[Component, ...]:
    """The schedule's columns for a cohort model: the tariff, then each outcome."""
    out = []
    if cohort.tariff is not None:
        out.append(Component(cohort.tariff.name, cohort.tariff.label, None,
                             description=cohort.tariff.description))
    for o in cohort.outcomes:
        out.append(Component(o.name, o.label, None, description=o.description,
                             reported_only=o.reported_only))
    return tuple(out)


def _financial_years(start, end) -> list[str]:
    """The UK financial years (e.g. "2013/14") from `start` to `end`."""
    from pbr_cli.periods import Month, financial_year_label, financial_year_start

    first, last = financial_year_start(start), financial_year_start(end)
    return [financial_year_label(Month(y, 4)) for y in range(first.year, last.year + 1)]


def _hint(name: str, known: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
