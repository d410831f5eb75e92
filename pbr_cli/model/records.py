"""The Model and its parts: plain frozen records built from a checked model file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

from pbr_cli.errors import PbrError
from pbr_cli.expr import Expr
from pbr_cli.model.assurance import AssuranceSpec
from pbr_cli.model.kinds import (
    GROUP_RULES,
    MEASURE_RULES,
    NUMERIC_TYPES,
    ClientCase,
    ColumnType,
    Event,
    GroupCheckKind,
    GroupRule,
    MeasureKind,
    MeasureRule,
    Over,
    Within,
)
from pbr_cli.model.signals import SignalsSpec
from pbr_cli.money import format_percent
from pbr_cli.problems import Severity

# Names every formula may use, whatever the model: facts of the period month being worked out.
PERIOD_FACTS = {
    "days_in_month": "the number of days in the period month",
    "period_start": "the first day of the period month (a date)",
    "period_end": "the last day of the period month (a date)",
    "month_of_year": ("the period month's place in the contract year, 1 to 12 (12: the "
                      "year's last month; years from `scheme.year_starts`, April unless given)"),
    "year_start": "the first day of the contract year the period month is in (a date)",
}


def period_facts(month: Any, year_starts: int) -> dict[str, Any]:
    """The period month's facts as formulas read them (PERIOD_FACTS): its days, first and
    last day, and its place in the contract year (years from the month `year_starts`: the
    scheme's, which every caller gives, since a default would be April's for every scheme)."""
    place = (month.month - year_starts) % 12 + 1
    first = month.first_day
    year_start = date(first.year - (1 if month.month < year_starts else 0), year_starts, 1)
    return {"days_in_month": Fraction(month.days), "period_start": first,
            "period_end": month.last_day, "month_of_year": Fraction(place),
            "year_start": year_start}


# A placeholder in a model's warning message: {name} or {name.window}
PLACEHOLDER_RE = re.compile(r"\{([a-z_][a-z0-9_]*)(\.window)?\}")

@dataclass(frozen=True)
class CodeList:
    name: str
    label: str
    values: dict[str, str]  # code -> label

    def normalise(self, raw: str) -> str | None:
        """The code for `raw` given as a code or as its label (any case), else None."""
        text = " ".join(str(raw).split()).casefold()
        for code, label in self.values.items():
            if text == code.casefold() or text == label.casefold():
                return code
        return None


@dataclass(frozen=True)
class Column:
    name: str
    header: str
    type: ColumnType
    codes: str | None = None
    required: bool = True
    required_when: Expr | None = None
    min: Expr | None = None
    max: Expr | None = None
    within: Within | None = None
    register: bool = False
    prefill: str | None = None
    info: bool = False
    help: str = ""

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES


@dataclass(frozen=True)
class Sheet:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    one_row_per: str | None = None
    rows: int = 500
    optional: bool = False  # a return may leave the sheet out (e.g. an opening caseload)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def header(self, name: str) -> str:
        """The heading of the named column, as the return shows it (the name if none)."""
        column = self.column(name)
        return column.header if column is not None else name

    @property
    def entry_column(self) -> Column:
        """The column linking a service-level sheet's rows to register entries."""
        column = self.register_column
        if column is None:
            raise PbrError(f"the sheet '{self.name}' has no column with `register: true`, so "
                           "its rows belong to no register entry", code="model-invalid")
        return column

    @property
    def register_column(self) -> Column | None:
        """The column linking rows to register entries; None on client-level sheets, whose
        rows belong to the return's provider."""
        return next((c for c in self.columns if c.register), None)

    @property
    def read_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not c.info)


@dataclass(frozen=True)
class GroupCheck:
    kind: GroupCheckKind
    sheet: str
    group_by: tuple[str, ...]
    group_noun: str
    row_noun: str
    severity: Severity
    min: int | None = None
    column: str | None = None
    values: tuple[str, ...] = ()

    @property
    def rule(self) -> GroupRule:
        return GROUP_RULES[self.kind]


@dataclass(frozen=True)
class RegisterSpec:
    file: Path
    entity: str
    key: str
    provider: str
    columns: tuple[Column, ...]
    provider_name: str | None = None
    label: str | None = None
    start: str | None = None
    end: str | None = None
    group_by: tuple[str, ...] = ()

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class Measure:
    name: str
    label: str
    kind: MeasureKind
    expr: Expr | None = None
    sheet: str | None = None
    column: str | None = None
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # `where` written as a formula over the row's columns, the register entry and parameters
    condition: Expr | None = None
    window_months: int | None = None
    format: str = "number"
    over: Over = Over.ENTRY  # sum/count over the entry's rows, its provider's, or the scheme's

    @property
    def rule(self) -> MeasureRule:
        return MEASURE_RULES[self.kind]


@dataclass(frozen=True)
class Component:
    name: str
    label: str
    amount: Expr | None  # None for cohort components, which are priced event by event
    shows: tuple[str, ...] = ()
    description: str = ""
    reported_only: bool = False
    paid: str = "monthly"  # or quarterly, annually: the months between accrue (pricing/cadence.py)
    without_return: bool = False  # paid in a month whose return is missing or faulty


@dataclass(frozen=True)
class Band:
    """Proportions from `lower` (inclusive) up to the next band's lower bound earn `price`."""

    lower: Fraction
    price: Fraction

    @property
    def label(self) -> str:
        return f"\u2265{format_percent(self.lower)}"


@dataclass(frozen=True)
class SheetRef:
    """Where one kind of client-level record lives: a sheet and its date column."""

    sheet: str
    date: str
    episode_start: str | None = None  # discharges: the column naming the episode's start


@dataclass(frozen=True)
class Outcome:
    """A cohort outcome: an event per episode, a proportion over the window, bands of prices."""

    name: str
    label: str
    event: Event
    when: Expr | None
    bands: dict[str, tuple[Band, ...]]  # group code -> bands, lowest first; empty: reported only
    after: str | None = None  # follow-up: the outcome whose event starts the follow-up
    months: int = 0  # follow-up: its length in calendar months
    description: str = ""

    @property
    def reported_only(self) -> bool:
        return not self.bands


@dataclass(frozen=True)
class Tariff:
    name: str
    label: str
    prices: dict[str, Fraction]  # group code -> price
    churn_months: int  # no tariff if the client presented anywhere in this many months before
    description: str = ""
    same_day_once: bool = True  # one tariff a client a day across providers


@dataclass(frozen=True)
class Cohort:
    """Client-level rules: episodes from presentations and discharges, outcomes, tariff, cap."""

    client: str
    group: str  # the code column holding the episode's group, set at presentation
    group_codes: str
    presentations: SheetRef
    discharges: SheetRef
    reviews: SheetRef | None
    window_months: int
    outcomes: tuple[Outcome, ...]
    tariff: Tariff | None
    cap: str | None  # register column holding the provider's maximum per financial year
    client_case: ClientCase = ClientCase.DISTINCT  # SAME: ids differing only in case are one
    opening: SheetRef | None = None  # clients in treatment when the scheme started

    def outcome(self, name: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.name == name), None)


@dataclass(frozen=True)
class Dated:
    """A figure that changes on given dates (`{2011-06-01: 600, 2012-04-01: 400}`): the value
    in force on a day is the one from the latest date on or before it. The first date is on
    or before the scheme start (the model check says so), so a day before it can only be an
    event from before the scheme began; the first value is in force then."""

    steps: tuple[tuple[date, Fraction], ...]  # by date, earliest first

    def on(self, day: date) -> Fraction:
        value = self.steps[0][1]
        for since, step in self.steps:
            if since > day:
                break
            value = step
        return value

    @property
    def text(self) -> str:
        return ", ".join(f"{since.isoformat()}: {format_number(value)}"
                         for since, value in self.steps)


def format_number(value: Fraction) -> str:
    """A figure as written in a model: 400, 0.95, 1/3."""
    if value.denominator == 1:
        return str(value.numerator)
    from decimal import Decimal

    shown = Decimal(value.numerator) / Decimal(value.denominator)
    return str(shown.normalize()) if Fraction(shown) == value else str(value)


# A price: pounds, a figure by date, or a formula worked out per participant (parameters,
# register entry, attachment row).
Price = Fraction | Dated | Expr


@dataclass(frozen=True)
class Fee:
    """A fee paid when a participant is attached: `base` x the share for the financial year
    of the attachment date."""

    name: str
    label: str
    base: Price
    shares: dict[str, Fraction]  # financial year "2013/14" -> share
    description: str = ""


@dataclass(frozen=True)
class Result:
    """A payment for a participant's result, claimed on the claims sheet."""

    name: str
    label: str
    codes: tuple[str, ...]  # the claim codes that make the result
    all_of: bool  # True: every code must be claimed; False: any one
    amount: Price | None  # a price ...
    to_total: Price | None  # ... or what brings the participant's fees + this group to it
    once_in: str | None  # one payment per participant among results sharing this word
    deflator: Fraction = Fraction(0)  # share of the price taken off (would have happened anyway)
    every_weeks: int | None = None  # sustainment: paid again at least this many weeks later
    up_to: int | Expr = 1  # ... up to this many times per participant (or a formula)
    description: str = ""
    # claims refused on their own columns: (condition over the claim row, why)
    refusals: tuple[tuple[Expr, str], ...] = ()
    after: str | None = None  # paid only once this result has been paid for the participant
    weeks_after_attachment: int | None = None  # achieved at least this long after attachment


@dataclass(frozen=True)
class Participants:
    """Per-participant rules: attachment fees, results by routes, a maximum per participant."""

    id: str
    attachments: SheetRef
    claims: SheetRef
    outcome: str  # the claims sheet's code column naming what was achieved
    maximum: Price | None
    claim_within_months: int | None
    fees: tuple[Fee, ...]
    results: tuple[Result, ...]
    claim_within_days: int | None = None
    provider_maximum: Price | None = None  # the most paid a provider for all its participants
    claim_within_working_days: int | None = None
    # a wait before a claim: the return's month must end at least this many days (working
    # days) after the date achieved
    claim_after_days: int | None = None
    claim_after_working_days: int | None = None


@dataclass(frozen=True)
class Rate:
    """A report rate: sum(numerator) / sum(denominator) over a provider's entries."""

    name: str
    label: str
    numerator: str
    denominator: str
    counts: bool = False


# The least base a publication rounds to (docs/publication.md): nothing published can be
# narrowed to fewer than this many possible values.
PUBLISH_FLOOR = 5


@dataclass(frozen=True)
class ReportSpec:
    rates: tuple[Rate, ...] = ()
    loss_share: Fraction = Fraction(1, 20)
    small_column: str | None = None
    small_below: Fraction | None = None
    publish_min_count: int = PUBLISH_FLOOR
    publish_identity: str = ""  # the scheme's publication identity ("": the model's name)


@dataclass(frozen=True)
class RuleWarning:
    when: Expr
    code: str
    message: str


@dataclass(frozen=True)
class Parameter:
    name: str
    value: Fraction | Dated
    label: str
    by: str | None = None  # a figure chosen by this column's code ...
    table: tuple[tuple[str, Fraction], ...] = ()  # ... from these, code by code

    def on(self, day: date) -> Fraction:
        """The figure in force on the day."""
        return self.value.on(day) if isinstance(self.value, Dated) else self.value


@dataclass(frozen=True)
class Model:
    name: str
    title: str
    version: str
    commissioner: str
    start: date
    end: date
    period: str
    virtual: bool
    description: str
    parameters: dict[str, Parameter]
    codes: dict[str, CodeList]
    register: RegisterSpec
    sheets: tuple[Sheet, ...]
    checks: tuple[GroupCheck, ...]
    measures: tuple[Measure, ...]
    payments: tuple[Component, ...]
    comparison: Component | None
    warnings: tuple[RuleWarning, ...]
    path: Path
    sha256: str
    cohort: Cohort | None = None
    report: ReportSpec = ReportSpec()
    signals: SignalsSpec | None = None  # signals of gaming (pbr_cli/assurance), never a payment
    participants: Participants | None = None
    year_starts: int = 4  # the month the scheme's years start (fee shares, annual caps)
    holidays: frozenset[date] = frozenset()  # not working days (deadlines in working days)
    assurance: AssuranceSpec | None = None  # sampling after payment (docs/assurance.md)

    @property
    def client_level(self) -> bool:
        """Priced event by event from every return since the scheme start."""
        return self.cohort is not None or self.participants is not None

    def covers(self, month: Any) -> bool:
        """The month (a periods.Month) lies, at least in part, inside the scheme."""
        return not (month.last_day < self.start or month.first_day > self.end)

    @property
    def kind(self) -> str:
        """The kind of scheme, which decides how it is priced (pbr_cli/pricing)."""
        if self.cohort is not None:
            return "cohort"
        if self.participants is not None:
            return "participants"
        return "service-level"

    def values_on(self, day: date) -> dict[str, Fraction]:
        """Every parameter's figure in force on the day, by name: what formulas read. A
        service-level month reads them on its first day; a per-participant payment on the
        date of the attachment or the result it pays for."""
        return {name: p.on(day) for name, p in self.parameters.items() if p.by is None}

    def by_code(self, names: dict[str, Any]) -> dict[str, Fraction]:
        """The figures chosen by a code (`by: payment_group`) for what a formula reads: each
        from the code its column holds there. A figure whose column is not there, or is
        blank, stays undefined, so a formula using it cannot be worked out and says so."""
        out = {}
        for name, p in self.parameters.items():
            if p.by is not None and names.get(p.by) is not None:
                chosen = dict(p.table).get(str(names[p.by]))
                if chosen is not None:
                    out[name] = chosen
        return out

    def sheet(self, name: str) -> Sheet | None:
        return next((s for s in self.sheets if s.name == name), None)

    def measure(self, name: str) -> Measure | None:
        return next((m for m in self.measures if m.name == name), None)


def year_starts(scheme: dict[str, Any]) -> int:
    """The month a scheme's years start (`scheme.year_starts`; April when not given), April
    too where what is given is no month: the loader says so at its line, and nothing is
    worked out from a month that is not one."""
    value = scheme.get("year_starts") or 4
    ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 12
    return value if ok else 4
