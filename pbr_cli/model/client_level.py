"""The model loader's rules for client-level models: a cohort (episodes, outcomes, bands,
tariff, cap) or per-participant fees and results. Mixed into the loader's builder, whose
`fail`, `unique`, `formula` and code lists they use."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from pbr_cli import expr as formulas
from pbr_cli.model.kinds import ClientCase, Event
from pbr_cli.model.records import (
    PERIOD_FACTS,
    Band,
    CodeList,
    Cohort,
    Column,
    Component,
    Dated,
    Fee,
    Outcome,
    Participants,
    Price,
    RegisterSpec,
    Result,
    Sheet,
    SheetRef,
    Tariff,
    year_starts,
)
from pbr_cli.model.schema import did_you_mean, share_hint
from pbr_cli.model.yamlread import Path as KeyPath
from pbr_cli.money import format_money, round_pence
from pbr_cli.periods import financial_years


class ClientLevelRules:
    data: dict[str, Any]
    codes: dict[str, CodeList]
    fail: Callable[[KeyPath, str], None]
    warn: Callable[[KeyPath, str], None]
    unique: Callable[[list[str], KeyPath, str], None]
    formula: Callable[[Any, KeyPath, set[str]], formulas.Expr | None]
    figure: Callable[[Any, KeyPath], Fraction | Dated]
    maxima: Callable[[Price | None, Price | None, KeyPath, dict[str, list[str]]], None]

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
                          f"{did_you_mean(ref['sheet'], {s.name for s in sheets})}")
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
        case = spec.get("client_case") or ClientCase.DISTINCT
        if case not in tuple(ClientCase):
            self.fail((*path, "client_case"), f"must be distinct or same, not '{case}'")
        client_case = ClientCase(case) if case in tuple(ClientCase) else ClientCase.DISTINCT
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
                          f"{did_you_mean(ref['sheet'], {s.name for s in sheets})}")
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
        years = financial_years(start, end, year_starts(self.data["scheme"]))
        attachment_columns = ({c.name for c in refs["attachments"][0].columns}
                              if "attachments" in refs else set())
        priced_by = (attachment_columns | set(self.data.get("parameters") or {})
                     | {str(c.get("name")) for c in self.data["register"]["columns"]})
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
                high = next((v for v in f["shares"].values() if Fraction(v) > 1), None)
                self.fail(where, "a share is between 0 and 1"
                          + (share_hint(high) if high is not None else ""))
            fees.append(Fee(f["name"], f["label"],
                            self.price(f["base"], (*path, "fees", i, "base"), priced_by), shares,
                            " ".join((f.get("description") or "").split())))
        results = []
        claims_sheet = next((s for s in sheets if s.name == spec["claims"]["sheet"]), None)
        claim_columns = {c.name for c in claims_sheet.columns} if claims_sheet else set()
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
                self.fail((*where, "deflator"), "a deflator is a share from 0 up to (not) 1"
                          + share_hint(r["deflator"]))
            written = r.get("up_to") or 1
            up_to: int | formulas.Expr = written
            if isinstance(written, str):
                up_to = self.formula(written, (*where, "up_to"), priced_by) or 1
            elif written < 1:
                self.fail((*where, "up_to"), "at least 1 payment")
            if r.get("up_to") and not r.get("every_weeks"):
                self.fail((*where, "up_to"), "`up_to` goes with `every_weeks`")
            refusals = []
            for k, rule in enumerate(r.get("refused_when") or []):
                when = self.formula(rule["when"], (*where, "refused_when", k, "when"),
                                    claim_columns | priced_by | set(PERIOD_FACTS))
                if when is not None:
                    refusals.append((when, " ".join(str(rule["reason"]).split())))
            results.append(Result(
                r["name"], r["label"], tuple(chosen), bool(r.get("when_all")),
                self.price(r["amount"], (*where, "amount"), priced_by)
                if r.get("amount") is not None else None,
                self.price(r["to_total"], (*where, "to_total"), priced_by)
                if r.get("to_total") is not None else None,
                r.get("once_in"), deflator, r.get("every_weeks"), up_to,
                " ".join((r.get("description") or "").split()), tuple(refusals),
                r.get("after"), r.get("weeks_after_attachment")))
        names = [x.name for x in fees] + [x.name for x in results]
        self.unique(names, (*path, "results"), "fee or result")
        result_names = [x.name for x in results]
        for i, r in enumerate(results):
            if r.after is not None and (r.after not in result_names or r.after == r.name):
                self.fail((*path, "results", i, "after"), f"'{r.after}' is not another result"
                          f"{did_you_mean(r.after, set(result_names) - {r.name})}")
            for key in ("weeks_after_attachment",):
                value = getattr(r, key)
                if value is not None and value < 1:
                    self.fail((*path, "results", i, key), "at least 1 week")
        within_days = spec.get("claim_within_days")
        for key in ("claim_within_days", "claim_within_working_days", "claim_after_days",
                    "claim_after_working_days"):
            if spec.get(key) is not None and spec[key] < 1:
                self.fail((*path, key), "at least 1 day")
        self.wait_within_deadline(spec, path, (end - start).days + 1)
        maximum = (self.price(spec["maximum"], (*path, "maximum"), priced_by)
                   if spec.get("maximum") is not None else None)
        provider_maximum = (self.price(spec["provider_maximum"], (*path, "provider_maximum"),
                                       priced_by - attachment_columns)
                            if spec.get("provider_maximum") is not None else None)
        columns = [*(refs["attachments"][0].columns if "attachments" in refs else ()),
                   *(Column(str(c["name"]), "", c["type"], c.get("codes"))
                     for c in self.data["register"]["columns"])]
        self.maxima(maximum, provider_maximum, path,
                    {c.name: list(self.codes[c.codes].values) for c in columns
                     if c.type == "code" and c.codes in self.codes})
        return Participants(
            spec["id"], refs["attachments"][1] if "attachments" in refs else SheetRef("", ""),
            refs["claims"][1] if "claims" in refs else SheetRef("", ""),
            spec["claims"]["outcome"], maximum, spec.get("claim_within_months"),
            tuple(fees), tuple(results), within_days,
            provider_maximum, spec.get("claim_within_working_days"),
            spec.get("claim_after_days"), spec.get("claim_after_working_days"))

    def wait_within_deadline(self, spec: dict[str, Any], path: KeyPath, days: int) -> None:
        """A wait before a claim longer than the deadline for it, or than the scheme's `days`,
        leaves no month a claim could be paid in (n working days take at least n days)."""
        waits = (("claim_after_days", "days", ("claim_within_days",)),
                 ("claim_after_working_days", "working days",
                  ("claim_within_days", "claim_within_working_days")))
        for wait, unit, deadlines in waits:
            first = spec.get(wait)
            if not isinstance(first, int):
                continue
            if first > days:
                self.fail((*path, wait), f"a wait of {first} {unit} is longer than the scheme "
                          f"({days} days): no claim could ever be paid")
                continue
            for deadline in deadlines:
                last = spec.get(deadline)
                if isinstance(last, int) and first > last:
                    self.fail((*path, wait), f"a wait of {first} {unit} is longer than "
                              f"`{deadline}: {last}`: no claim could ever be paid")

    def price(self, value: Any, path: KeyPath, known: set[str]) -> Price:
        """Pounds, pounds by date (`{2011-06-01: 1200, 2013-04-01: 1000}`: the amount in force
        on the day attached or achieved), or a formula worked out for each participant
        (`job_price`, `IF(payment_group == "ESA", 600, 400)`)."""
        if isinstance(value, str):
            parsed = self.formula(value, path, known)
            return parsed if parsed is not None else Fraction(0)
        price = self.figure(value, path)
        for amount in _fixed(price):
            if amount < 0:
                written = -amount if amount.denominator == 1 else round_pence(-amount)
                self.fail(path, f"{format_money(round_pence(amount))} is below £0: an amount "
                          f"paid is £0 or more (write {written})")
            elif amount == 0:
                self.warn(path, "£0: nothing is ever paid by it; write the amount, or leave "
                          "it out")
        return price

    def window_fits(self, months: int | None, path: KeyPath) -> None:
        """A window longer than the scheme could never be full: the returns it would look
        back over are never kept."""
        scheme = getattr(self, "scheme_months", None)
        if months and scheme and 0 < scheme < months:  # (a scheme ending first: said once)
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
        event = Event(spec["event"])
        when = None
        source = {Event.DISCHARGE: "discharges", Event.FIRST_REVIEW: "reviews"}.get(event)
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
                dated = sorted(n for n in (when.names if when else ()) if isinstance(
                    (self.data.get("parameters") or {}).get(n, {}).get("value"), dict))
                if dated:
                    self.fail((*path, "when"), f"'{dated[0]}' has values by date, and a "
                              "cohort outcome's rule is worked out once for every month: "
                              "give it one value, or make a second outcome from the date "
                              "it changes")
        else:
            after = next((o for o in earlier if o.name == spec.get("after")), None)
            if after is None or after.event == Event.FOLLOW_UP:
                self.fail((*path, "after"), "a follow-up needs `after:` naming an earlier "
                          "discharge or first-review outcome")
            if not spec.get("months") or spec["months"] < 1:
                self.fail((*path, "months"), "a follow-up needs `months:` of 1 or more")
        bands: dict[str, tuple[Band, ...]] = {}
        for group, rows in (spec.get("bands") or {}).items():
            table = tuple(Band(Fraction(r["from"]), Fraction(r["price"])) for r in rows)
            where = (*path, "bands", group)
            # each band said at its own line: the first out of range, the first not higher
            wrong = next((k for k, b in enumerate(table)
                          if b.lower < 0 or b.lower > 1 or b.price < 0), None)
            if wrong is not None:
                high = rows[wrong]["from"] if table[wrong].lower > 1 else None
                self.fail((*where, wrong), "bounds are proportions from 0 to 1 and prices are 0 "
                          "or more" + (share_hint(high) if high is not None else ""))
            lower = next((k for k in range(1, len(table))
                          if table[k - 1].lower >= table[k].lower), None)
            if lower is not None:
                self.fail((*where, lower), "list the bands lowest first, each bound higher "
                          f"than the last ({rows[lower]['from']} is not above "
                          f"{rows[lower - 1]['from']})")
            bands[str(group)] = table
        self.group_keys(bands, (*path, "bands"), codes)
        return Outcome(name=spec["name"], label=spec["label"], event=event, when=when,
                       bands=bands, after=spec.get("after"), months=spec.get("months") or 0,
                       description=" ".join((spec.get("description") or "").split()))


def participant_components(people: Participants | None) -> tuple[Component, ...]:
    """A per-participant model's payment lines: one per fee and per result."""
    if people is None:
        return ()
    return (tuple(Component(f.name, f.label, None, description=f.description) for f in people.fees)
            + tuple(Component(r.name, r.label, None, description=r.description)
                    for r in people.results))


def cohort_components(cohort: Cohort) -> tuple[Component, ...]:
    """The schedule's columns for a cohort model: the tariff, then each outcome."""
    out = []
    if cohort.tariff is not None:
        out.append(Component(cohort.tariff.name, cohort.tariff.label, None,
                             description=cohort.tariff.description))
    for o in cohort.outcomes:
        out.append(Component(o.name, o.label, None, description=o.description,
                             reported_only=o.reported_only))
    return tuple(out)


def _fixed(price: Price | None) -> list[Fraction]:
    """A fixed price's figures (each dated one's too); none for a formula, which is worked
    out per participant."""
    if isinstance(price, Fraction):
        return [price]
    if isinstance(price, Dated):
        return [value for _, value in price.steps]
    return []
