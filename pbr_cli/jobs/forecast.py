"""`pbr forecast`: which months are recorded and which to project, the budget, the forecast
(with a scenario beside it), written. Records nothing in the ledger."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from pbr_cli.cycle.config import Config
from pbr_cli.cycle.scheme import Scheme
from pbr_cli.errors import PbrError
from pbr_cli.forecast import (
    Forecast,
    Outlook,
    PeriodSoFar,
    Settings,
    draws_for,
    outlook,
    provider_list,
)
from pbr_cli.forecast.ceiling import ceiling
from pbr_cli.forecast.kinds import forecast_kind
from pbr_cli.forecast.ranges import clip
from pbr_cli.forecast.scenario import parse_scenario
from pbr_cli.model.records import Model
from pbr_cli.money import round_pence, to_fraction
from pbr_cli.names import shown
from pbr_cli.periods import Month, Period, PeriodKind, financial_year_label, parse_period
from pbr_cli.pricing import history_months
from pbr_cli.pricing.records import Projection
from pbr_cli.returns.folders import months_with_returns
from pbr_cli.returns.register import Register, entry_active, entry_days


def forecast_period(model: Model, period: str | None,
                    to: str | None, as_at: Month) -> Period:
    """The period asked for: --period, or the scheme's start to --to, or (neither) the
    financial year of the latest recorded month."""
    if period and to:
        raise PbrError("give --period or --to, not both", code="usage")
    if to:
        last = Month.parse(to)
        first = Month.of(model.start)
        if last < first:
            raise PbrError(f"--to {last} is before the scheme starts ({model.start})",
                           code="period-outside-scheme")
        return Period(f"{first}..{last}", PeriodKind.RANGE, first, last)
    if period:
        return parse_period(period)
    return parse_period(financial_year_label(as_at))


def budget_for(cfg: Config, model: Model, register: Register, period: Period,
               months: list[Month]) -> tuple[Decimal | None, str]:
    """The budget for the period: from the config (`budget: {2013/14: 1200000}`), or from a
    register column of each entry's annual budget (`budget: {register: COLUMN}`), for each
    entry a twelfth of it for every month of the period the entry is active (part months
    pro rata by days), each entry's month rounded half-up to the penny as a payment line
    is. (None, "") when there is none."""
    settings = cfg.scheme(model.name).budget
    if period.text in settings:
        return settings[period.text], f"the config ({shown(cfg.source) if cfg.source else ''})"
    column = settings.get("register")
    if column:
        if model.register.column(column) is None:
            raise PbrError(f"the budget's register column '{column}' is not a column of "
                           f"{model.name}'s register (its columns: "
                           + ", ".join(c.name for c in model.register.columns) + ")",
                           code="budget-missing")
        total = Decimal("0.00")
        for entry in register.entries:
            value = entry.get(column)
            if value is None:
                continue
            for month in months:  # each entry's month rounded, as a payment line is
                total += round_pence(to_fraction(value) / 12 * Fraction(
                    entry_days(model, entry, month), month.days))
        return total, f"the register's column {column} (a twelfth a month)"
    return None, ""


def value_column(model: Model, budget_column: str | None) -> str | None:
    """The register's column of each entry's contract value: the budget's register column,
    or else the register's only money column (None if it has none, or several)."""
    if budget_column:
        return budget_column
    money = [c.name for c in model.register.columns if c.type.value == "money"]
    return money[0] if len(money) == 1 else None


@dataclass(frozen=True)
class ForecastAsk:
    """What a forecast is asked for: --period, or --to; --as-at; the what-ifs; whether it
    goes without a budget."""

    period: str | None = None
    to: str | None = None
    as_at: str | None = None
    what_ifs: tuple[str, ...] = ()
    no_budget: bool = False


def run_forecast(scheme: Scheme, ask: ForecastAsk, settings: Settings,
                 output: Path | None = None) -> tuple[Forecast, list[Path]]:
    """The forecast, and its workbook written."""
    from pbr_cli.outputs.forecast import forecast_filename, write_forecast

    result = make_forecast(scheme, ask, settings)
    path = Path(output) if output else scheme.output / named_by(forecast_filename(result),
                                                                 ask, settings)
    write_forecast(result, path)
    return result, [path]


def named_by(name: str, ask: ForecastAsk, settings: Settings) -> str:
    """The default file name of a forecast, with what sets it apart from the plain one (each
    what-if, no budget, and any setting not the default) in words, so that a second forecast
    with other assumptions is written beside the first, never over it. The same forecast
    asked again replaces its own file."""
    import hashlib
    import re

    plain = Settings()
    parts = [f"what-if {w}" for w in ask.what_ifs] + ["no budget"] * ask.no_budget
    parts += [f"{settings.simulations} simulations"] * (settings.simulations != plain.simulations)
    parts += [f"{settings.level}pc range"] * (settings.level != plain.level)
    parts += [f"basis {settings.basis_months}"] * (settings.basis_months != plain.basis_months)
    parts += [f"seed {settings.seed}"] * (settings.seed != plain.seed)
    if not parts:
        return name
    said = re.sub(r"[^A-Za-z0-9.+%=-]+", "-", " ".join(parts)).strip("-")
    if len(said) > 80:  # a name a folder can hold: the start, and a digest of the whole
        said = said[:64] + "-" + hashlib.sha256(said.encode()).hexdigest()[:12]
    stem = name.removesuffix(".xlsx")
    return f"{stem}-{said}.xlsx"


def make_forecast(scheme: Scheme, ask: ForecastAsk, settings: Settings) -> Forecast:
    """The forecast of the period asked for. Nothing is recorded; the ledger is checked all
    the same (as every command that works out payments checks it, before reading a return):
    a forecast is never made beside a ledger that does not verify."""
    ledger = scheme.ledger.open(scheme.log, create=False)
    if ledger is not None:
        ledger.close()
    cfg, model, register, progress = scheme.cfg, scheme.model, scheme.register, scheme.progress
    period, to, as_at, what_ifs = ask.period, ask.to, ask.as_at, list(ask.what_ifs)
    root = scheme.root
    recorded = [m for m in months_with_returns(root) if model.covers(m)]
    if as_at:
        cut = Month.parse(as_at)
        recorded = [m for m in recorded if m <= cut]
    if not recorded:
        raise PbrError(f"no month of {model.name} has returns in {shown(root)}"
                       + (f" up to {as_at}" if as_at else "") + ": a forecast starts from "
                       "the months recorded so far", code="forecast-no-months")
    latest = recorded[-1]
    wanted = forecast_period(model, period, to, latest)
    in_period = [m for m in recorded if wanted.first <= m <= wanted.last]
    if not in_period:
        raise PbrError(f"no month of {wanted.describe()} has returns recorded (the latest "
                       f"is {latest}): a forecast projects a period from its own months; "
                       f"forecast one that has begun, e.g. --period "
                       f"{financial_year_label(latest)}", code="forecast-no-months")
    as_at_month = min(latest, wanted.last)
    months = [m for m in wanted.months() if model.covers(m)]
    actual = [m for m in months if m <= as_at_month]
    projected = [m for m in months if m > as_at_month]
    budget, source = budget_for(cfg, model, register, wanted, months)
    if budget is None and not ask.no_budget:
        raise PbrError(f"no budget for {model.name} {wanted.text}: add it to the config "
                       f"(schemes: {{{model.name}: {{budget: {{{wanted.text}: AMOUNT}}}}}}), "
                       "or name a register column of annual budgets (budget: {register: "
                       "COLUMN}); or forecast without one: --no-budget", code="budget-missing")
    first = projected[0] if projected else as_at_month.plus(1)
    scenario = parse_scenario(what_ifs, model, first) if what_ifs else None
    needed = sorted({h for m in actual for h in history_months(model, m)}
                    | set(recorded[-settings.basis_months:]))
    collection = scheme.read(needed)
    returns = [r for r in collection.returns if r.month is not None and r.month <= as_at_month]
    schedules = {m: scheme.schedule(m, collection) for m in actual}
    so_far = PeriodSoFar(schedules, projected, returns, as_at_month,
                         value_column(model, cfg.scheme(model.name).budget.get("register")))
    base = outlook(model, register, so_far, settings, budget, tick=_ticks(progress, "base case"))
    what_if = None
    if scenario is not None:
        what_if = outlook(model, register, so_far, settings, budget, scenario,
                          tick=_ticks(progress, "what-if"))
    # providers active in a projected month with no usable return to draw from
    draws_from = set(draws_for(model, returns, as_at_month, settings.basis_months))
    active = {p for p, _ in provider_list(model, register)
              if any(entry_active(model, e, m) for m in projected
                     for e in register.provider_entries(p))}
    result = Forecast(model, wanted, as_at_month, actual, projected,
                      provider_list(model, register),
                      [(c.name, c.label) for c in model.payments if not c.reported_only],
                      settings, base, budget, source, [], what_if, list(what_ifs),
                      sorted(active - draws_from))
    paid: dict[tuple[str, Month], Decimal] = {}
    for (provider, month, _), amount in base.lines.items():
        if month in actual:
            paid[(provider, month)] = paid.get((provider, month), Decimal("0.00")) + amount
    most = ceiling(model, register, paid, (actual, projected), so_far.value_column)
    result.most, result.most_how = most.total, most.how
    for o in (base, what_if):  # no range's top above the most that could be paid
        if o is not None:
            clip(o.month_range, o.total_range, _expected(o), (most.months, most.period))
    result.assumptions = assumptions(result)
    return result


def _expected(o: Outlook) -> Callable[[str, Month | None], Decimal]:
    def expected(who: str, month: Month | None) -> Decimal:
        return o.total(who, month)
    return expected


def projections(f: Forecast) -> dict[str, Projection]:
    """Each provider's projected income for the months to come, as its statement carries
    it: the expected months with their ranges, and the rest of the period's total."""
    out = {}
    for code, _ in f.providers:
        t = f.split(code)
        months = tuple((str(m), f.base.total(code, m),
                        *f.base.month_range.get((code, m), (Decimal("0.00"),) * 2))
                       for m in f.projected_months)
        out[code] = Projection(f.period.text, str(f.as_at), f.settings.level,
                               f.settings.simulations, months, t.to_come,
                               t.low - t.recorded, t.high - t.recorded)
    return out


def _ticks(progress, label: str):
    if progress is None:
        return None

    def tick(i: int, n: int) -> None:
        progress(i, n, Path(f"simulation {i} of {n} ({label})"))
    return tick


def assumptions(f: Forecast) -> list[tuple[str, str]]:
    """What the forecast rests on, in plain words (the workbook's Assumptions sheet, the
    console and the JSON say the same)."""
    s = f.settings
    moves = forecast_kind(f.model).moves
    out = [
        ("Recorded months", f"{', '.join(str(m) for m in f.actual_months)}: worked out from "
         "their returns as `pbr calculate` works them out now (entitlements; prior-period "
         "adjustments are not forecast)."),
        ("Projected months", (", ".join(str(m) for m in f.projected_months) or "none: every "
                              "month of the period inside the scheme is recorded") + "."),
        ("Method", f"{s.simulations} simulations. In each, every provider's return for a "
         f"projected month is one of its own returns from its latest {s.basis_months} recorded "
         f"months up to {f.as_at}, drawn at random and moved to that month: {moves}. Every "
         "month is then priced by the scheme's own rules (windows, bands, tariffs, caps, "
         "maxima, contract dates)."),
        ("Expected figure", "The average of the simulations for each provider, component and "
         "month, rounded half-up to the penny; every total is the sum of those lines."),
        ("Range", f"The expected figure scaled by the relative errors (actual / expected "
         f"- 1) that bound the middle {s.level}% of this method's past forecasts of the "
         "same kind of scheme that many months ahead, measured by the backtest on "
         "generated histories (a provider's by providers' errors, the scheme's by totals'); "
         f"never narrower than the middle {s.level}% of the simulations. Wider where the "
         "method cannot know: a provider with fewer than three recorded months (a thin "
         "basis) 1.5 times, one with no return of its own twice, a step in the recorded "
         "months 1.5 times. A month a cap or maximum sets keeps the simulations' range. "
         "A period's range adds its projected months' sides. No top is above the most "
         "that could be paid (below). The actual should fall inside "
         f"the range {s.level} times in 100."),
        ("Basis", "The months to come are like the months drawn from. What nobody had "
         "reached by then (early in a programme: results after months in work) is not "
         "foreseen; a change of practice, a new contract or a trend beyond the caseload's own "
         "is not either. Say it with a what-if."),
        ("Returns", "Every provider sends a clean return on time in the projected months; "
         "nobody is withheld."),
        ("Draws", f"random.Random seeded with {s.seed}: the same returns give the same "
         "forecast."),
    ]
    if f.budget is not None:
        out.append(("Budget", f"£{f.budget:,.2f} for {f.period.text}, from {f.budget_source}."))
    else:
        out.append(("Budget", "none given (--no-budget)."))
    if f.no_basis:
        out.append(("No months to draw from", ", ".join(f.no_basis) + ": "
                    + forecast_kind(f.model).no_basis + ". Its range is widened twice over "
                    "(nothing of its own to go on)."))
    widened = _widened(f)
    if widened:
        out.append(("Ranges widened", widened))
    out.append(("The most that could be paid", (f"£{f.most:,.2f}: " if f.most is not None
                                                 else "") + f.most_how + "."))
    if f.projected_months:
        out.append(("Projected returns checked", f.base.defects.said()))
    if f.scenario_text:
        out.append(("What-if", "; ".join(f.scenario_text) + ". Worked out with the same "
                    "draws as the base case, so the difference is the what-if's alone. "
                    "Nothing is recorded."))
    return out


def _widened(f: Forecast) -> str:
    """Which ranges are widened, and why, in words (ranges.Basis)."""
    b = f.base.basis
    if b is None:
        return ""
    said = []
    thin = [p for p, _ in f.providers if b.thin(p) and p not in f.no_basis]
    if thin:
        said.append(", ".join(f"{p} ({len(b.history.get(p, []))} recorded month(s))"
                              for p in thin) + ": a thin basis, 1.5 times")
    stepped = [p or "the scheme's total" for p in ["", *(p for p, _ in f.providers)]
               if b.step(p)]
    if stepped:
        said.append(", ".join(stepped) + ": a step (the latest three recorded months' mean "
                    "over 30% from the three before's), 1.5 times, since the months drawn "
                    "mix before and after it")
    return "; ".join(said) + "." if said else ""
