"""`pbr forecast`: what the rest of a period will cost the commissioner and bring each
provider, with a range, worked out by the scheme's own rules.

Input: the months of the period already recorded (their returns, worked out as `pbr
calculate` works them out now), the returns every provider has sent in the months before
(the basis draws come from), and optionally a scenario (scenario.py). Method: many
simulations; in each, every provider's return for a month still to come is one of its
recorded returns drawn at random and moved to that month (simulate.py), and every month,
real and projected, is priced by pricing.calculate — so windows roll forward, bands, tariffs,
caps and maxima apply, and contracts start and end, exactly as they would in a real month.
Output: a Forecast: for each provider, component and month the actual payment or the
expected one (the average of the simulations, rounded half-up to the penny), each total a
sum of those lines, and the range of each total (the middle `level` per cent of the
simulations). No Excel, no Typer, no rich.
"""

from __future__ import annotations

import dataclasses
import math
import random
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from pbr_cli.forecast.defects import Defects, SimulationDefects, simulation_defects
from pbr_cli.forecast.kinds import forecast_kind
from pbr_cli.forecast.ranges import Basis, calibrate
from pbr_cli.forecast.register_basis import projected_lines
from pbr_cli.forecast.simulate import Pipeline, Projector, Volume, pipeline
from pbr_cli.model.records import Model
from pbr_cli.money import round_pence
from pbr_cli.periods import Month, Period
from pbr_cli.pricing import calculate, history_months
from pbr_cli.pricing.records import Schedule
from pbr_cli.returns.checked import CheckedReturn
from pbr_cli.returns.register import Register, provider_name

if TYPE_CHECKING:
    from pbr_cli.forecast.scenario import Scenario

ZERO = Decimal("0.00")
TOTAL = ""  # the key of the scheme's total among providers


@dataclass(frozen=True)
class Settings:
    """How a forecast is made: the draws and the stated level of its ranges."""

    simulations: int = 100
    level: int = 80  # per cent of simulations inside a range
    basis_months: int = 12  # draws come from each provider's latest this many recorded months
    seed: int = 1


@dataclass
class Outlook:
    """One forecast (the base case, or a scenario's): payments by provider, component and
    month (actual or expected), with ranges of each total."""

    lines: dict[tuple[str, Month, str], Decimal]  # (provider, month, component) -> amount
    month_range: dict[tuple[str, Month], tuple[Decimal, Decimal]]  # projected months only
    total_range: dict[str, tuple[Decimal, Decimal]]  # provider (TOTAL: all) -> the period's
    limit_bites: dict[str, tuple[Month, Fraction]]  # provider -> first month a cap or maximum
    over_budget: Fraction | None = None  # share of simulations whose total passes the budget
    defects: Defects = field(default_factory=Defects)  # projected returns failing a check
    basis: Basis | None = None  # what the ranges rest on (ranges.py)
    # the standard error of the expected period total: the simulations' spread / √their number
    standard_error: Decimal = ZERO

    def total(self, provider: str = TOTAL, month: Month | None = None,
              component: str | None = None) -> Decimal:
        return sum((a for (p, m, c), a in self.lines.items()
                    if (provider == TOTAL or p == provider) and (month is None or m == month)
                    and (component is None or c == component)), ZERO)


@dataclass(frozen=True)
class Split:
    """A provider's period (or the scheme's): recorded so far, expected to come, and the
    range of its total."""

    recorded: Decimal
    to_come: Decimal
    low: Decimal
    high: Decimal

    @property
    def total(self) -> Decimal:
        return self.recorded + self.to_come


@dataclass
class Forecast:
    model: Model
    period: Period
    as_at: Month
    actual_months: list[Month]
    projected_months: list[Month]
    providers: list[tuple[str, str]]  # (code, name), register order
    components: list[tuple[str, str]]  # (name, label), the model's order
    settings: Settings
    base: Outlook
    budget: Decimal | None
    budget_source: str
    assumptions: list[tuple[str, str]]  # (topic, what is assumed)
    scenario: Outlook | None = None
    scenario_text: list[str] = field(default_factory=list)
    no_basis: list[str] = field(default_factory=list)  # providers with nothing to draw from
    most: Decimal | None = None  # the most the commissioner could have to pay (ceiling.py)
    most_how: str = ""

    @property
    def months(self) -> list[Month]:
        return [*self.actual_months, *self.projected_months]

    def is_actual(self, month: Month) -> bool:
        return month in self.actual_months

    def split(self, provider: str = TOTAL, outlook: Outlook | None = None) -> Split:
        """The provider's (TOTAL: the scheme's) period in the base case or `outlook`."""
        o = outlook or self.base
        recorded = sum((o.total(provider, m) for m in self.actual_months), ZERO)
        to_come = sum((o.total(provider, m) for m in self.projected_months), ZERO)
        low, high = o.total_range.get(provider, (recorded + to_come, recorded + to_come))
        return Split(recorded, to_come, low, high)


def _copies(returns: list[CheckedReturn]) -> list[CheckedReturn]:
    return [dataclasses.replace(r, problems=list(r.problems)) for r in returns]


def draws_for(model: Model, returns: list[CheckedReturn], as_at: Month,
              basis_months: int) -> dict[str, list[CheckedReturn]]:
    """Each provider's recorded returns a projected month may be drawn from: its latest
    `basis_months` months up to `as_at` with a usable return (no errors), one a month (a
    resubmission replaces the return it corrects)."""
    from pbr_cli.returns.versions import latest_version

    by_key: dict[tuple[str, Month], list[CheckedReturn]] = defaultdict(list)
    for r in returns:
        if r.provider and r.month is not None and r.month <= as_at and model.covers(r.month):
            by_key[(r.provider, r.month)].append(r)
    out: dict[str, list[CheckedReturn]] = defaultdict(list)
    for (provider, _), found in sorted(by_key.items()):
        best, _, clash = latest_version(found)
        if not best.errors and not clash:
            out[provider].append(best)
    return {p: rs[-basis_months:] for p, rs in out.items()}


def percentile_range(values: list[Decimal], level: int) -> tuple[Decimal, Decimal]:
    """The middle `level` per cent of the values: by nearest rank, from the (100-level)/2
    per cent point to the (100+level)/2 per cent point."""
    ordered = sorted(values)
    n = len(ordered)
    low = max(1, math.ceil(Fraction(100 - level, 200) * n))
    high = max(1, math.ceil(Fraction(100 + level, 200) * n))
    return ordered[low - 1], ordered[min(high, n) - 1]


def _mean(values: list[Decimal]) -> Decimal:
    return round_pence(Fraction(sum(values, ZERO)) / len(values)) if values else ZERO


@dataclass(frozen=True)
class PeriodSoFar:
    """Where a forecast of a period starts: its recorded months as priced (their schedules),
    its months still to come, the month it is made as at, and the returns recorded up to
    that month (the basis draws come from)."""

    schedules: dict[Month, Schedule]
    projected: list[Month]
    returns: list[CheckedReturn]
    as_at: Month
    value_column: str | None = None  # the register's contract value (register_basis.py)


def outlook(model: Model, register: Register, so_far: PeriodSoFar, settings: Settings,
            budget: Decimal | None, scenario: Scenario | None = None,
            tick: Callable[[int, int], None] | None = None) -> Outlook:
    """Simulate the projected months `settings.simulations` times and gather the outlook
    (the base case's, or under `scenario`'s what-ifs): the actual months' lines as they
    are, the projected ones' averages, and the ranges."""
    projected, returns, as_at = so_far.projected, so_far.returns, so_far.as_at
    volume = scenario.volume if scenario is not None else Volume()
    model_for = scenario.model_for(model) if scenario is not None else None
    lines: dict[tuple[str, Month, str], Decimal] = {}
    for month, schedule in so_far.schedules.items():
        for result in schedule.providers:
            for ln in result.lines:
                if ln.kind == "payment":
                    key = (result.provider, month, ln.component)
                    lines[key] = lines.get(key, ZERO) + ln.amount
    actual_total: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for (provider, _, _), amount in lines.items():
        actual_total[provider] += amount
        actual_total[TOTAL] += amount
    recorded = [r for r in returns if r.month is not None and r.month <= as_at]
    draws = draws_for(model, returns, as_at, settings.basis_months)
    job = _Job(model, register, recorded, draws, volume, model_for, projected, as_at,
               settings.seed, pipeline(model, recorded, draws) if projected else None)
    if not forecast_kind(model).borrows:  # no other provider's rows: what the register knows
        job.by_register = [p for p in register.providers() if p not in draws]
        job.value_column = so_far.value_column
    sims: dict[tuple[str, Month, str], list[Decimal]] = defaultdict(list)
    month_sims: dict[tuple[str, Month], list[Decimal]] = defaultdict(list)
    total_sims: dict[str, list[Decimal]] = defaultdict(list)
    bites: dict[tuple[str, Month], int] = defaultdict(int)
    providers = register.providers()
    n = settings.simulations if projected else 0
    each: list[SimulationDefects] = []
    for s, (this, months_paid, reached, defects) in enumerate(_run(job, n), start=1):
        each.append(defects)
        for key in set(this) | set(sims):
            if key[1] in projected:
                sims[key].append(this.get(key, ZERO))
        own: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for (provider, month), amount in months_paid.items():
            month_sims[(provider, month)].append(amount)
            own[provider] += amount
        for cut in reached:
            bites[cut] += 1
        for provider in [TOTAL, *providers]:
            total_sims[provider].append(actual_total[provider] + own[provider])
        if tick is not None:
            tick(s, n)
    for key, values in sims.items():
        values += [ZERO] * (n - len(values))  # simulations in which the line did not arise
        lines[key] = _mean(values)
    for month_values in month_sims.values():
        month_values += [ZERO] * (n - len(month_values))
    month_range = {key: percentile_range(v, settings.level) for key, v in month_sims.items()}
    basis = None
    if n:
        total_range = {p: percentile_range(v, settings.level) for p, v in total_sims.items()}
        basis = Basis(model.kind, _recorded_history(job, so_far, providers),
                      frozenset(p for p in providers if p not in draws),
                      frozenset(k for k, count in bites.items() if 2 * count >= n))
        calibrate(month_range, total_range, lines, basis, projected, settings.level)
    else:
        total_range = {p: (actual_total[p], actual_total[p]) for p in [TOTAL, *providers]}
    limit_bites: dict[str, tuple[Month, Fraction]] = {}
    for month, schedule in sorted(so_far.schedules.items()):  # reached in a recorded month
        for e in schedule.evidence:
            if e.cap_reduction and e.provider not in limit_bites:
                limit_bites[e.provider] = (month, Fraction(1))
    for (provider, month), count in sorted(bites.items(), key=lambda kv: kv[0][1]):
        share = Fraction(count, n)
        if provider not in limit_bites and share >= Fraction(1, 2):
            limit_bites[provider] = (month, share)
    over = None
    if budget is not None and n:
        over = Fraction(sum(1 for v in total_sims[TOTAL] if v > budget), n)
    elif budget is not None:
        over = Fraction(1 if actual_total[TOTAL] > budget else 0)
    spread = (statistics.pstdev(float(v) for v in total_sims[TOTAL]) / math.sqrt(n)
              if n > 1 else 0.0)
    return Outlook(lines, month_range, total_range, limit_bites, over, Defects.gather(each),
                   basis, round_pence(Fraction(str(round(spread, 2)))))


RECENT = 7  # the recorded months a range's basis reads (ranges.py)


def _recorded_history(job: _Job, so_far: PeriodSoFar,
                      providers: list[str]) -> dict[str, list[Decimal]]:
    """Each provider's (and the scheme's, TOTAL) payments in its latest RECENT recorded
    months, oldest first, as `pbr calculate` works them out (the period's recorded months
    already are); a provider's series starts at its first month with a return."""
    months = sorted({r.month for r in job.recorded if r.month is not None
                     and job.model.covers(r.month)})[-RECENT:]
    first: dict[str, Month] = {}
    for r in job.recorded:
        if r.provider and r.month is not None and (r.provider not in first
                                                   or r.month < first[r.provider]):
            first[r.provider] = r.month
    out: dict[str, list[Decimal]] = defaultdict(list)
    for month in months:
        schedule = so_far.schedules.get(month)
        if schedule is None:
            wanted = set(history_months(job.model, month))
            schedule = calculate(job.model, job.register, month,
                                 _copies([r for r in job.recorded if r.month in wanted]))
        paid = {res.provider: sum((ln.amount for ln in res.lines if ln.kind == "payment"), ZERO)
                for res in schedule.providers}
        out[TOTAL].append(sum(paid.values(), ZERO))
        for provider in providers:
            if provider in first and first[provider] <= month:
                out[provider].append(paid.get(provider, ZERO))
    return out


@dataclass
class _Job:
    """What every simulation of one outlook reads."""

    model: Model
    register: Register
    recorded: list[CheckedReturn]
    draws: dict[str, list[CheckedReturn]]
    volume: Volume
    model_for: Callable[[Month], Model] | None
    projected: list[Month]
    as_at: Month
    seed: int
    start: Pipeline | None = None  # the pipeline the recorded months leave, made once
    by_register: list[str] = field(default_factory=list)  # no basis: register_basis.py
    value_column: str | None = None


Simulated = tuple[dict[tuple[str, Month, str], Decimal], dict[tuple[str, Month], Decimal],
                  set[tuple[str, Month]], SimulationDefects]


def simulate(job: _Job, s: int) -> Simulated:
    """Simulation `s`: the projected returns made (its own seeded draws), every projected
    month priced; its lines by (provider, month, component), each provider's month (and
    the scheme's, TOTAL), where a cap or maximum cut a payment, and its projected returns
    that fail a check (a defect of the projection: defects.py)."""
    rng = random.Random(f"{job.seed}:{s}")
    projector = Projector(job.model, job.register, job.recorded, job.draws, rng, job.volume,
                          job.start)
    made: list[CheckedReturn] = []
    for month in _months_from(job.as_at.plus(1), job.projected[-1]):
        made += projector.month(month)
    everything = job.recorded + made
    this: dict[tuple[str, Month, str], Decimal] = defaultdict(lambda: ZERO)
    months_paid: dict[tuple[str, Month], Decimal] = {}
    reached: set[tuple[str, Month]] = set()
    problems = []
    for month in job.projected:
        wanted = set(history_months(job.model, month))
        inputs = [r for r in everything if r.month in wanted]
        priced = job.model_for(month) if job.model_for is not None else job.model
        schedule = calculate(priced, job.register, month, _copies(inputs))
        paid: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
        for result in schedule.providers:
            months_paid[(result.provider, month)] = ZERO
            for ln in result.lines:
                if ln.kind == "payment":
                    paid[(result.provider, ln.component)] += ln.amount
        if job.by_register:
            paid = {k: v for k, v in paid.items() if k[0] not in job.by_register}
            paid.update(projected_lines(job.model, job.register, month, paid,
                                        job.by_register, job.value_column))
        for (provider, component), amount in paid.items():
            this[(provider, month, component)] += amount
            months_paid[(provider, month)] = months_paid.get((provider, month), ZERO) + amount
        months_paid[(TOTAL, month)] = sum(paid.values(), ZERO)
        reached |= {(e.provider, month) for e in schedule.evidence if e.cap_reduction}
        problems += schedule.problems
    return dict(this), months_paid, reached, simulation_defects(problems, len(made))


# In a worker process, the job it was started with. A forked worker inherits the job with
# the rest of its parent's memory; handed to each chunk instead, it would be pickled again
# for every chunk (every recorded return, the pipeline). The pool's initializer receives it
# once, unpickled, and can only keep it for the chunks to come in the process's own state.
_WORKER_JOB: list[_Job] = []


def _start_worker(job: _Job, parent: int) -> None:
    from pbr_cli.workers import die_with_parent

    die_with_parent(parent)
    _WORKER_JOB[:] = [job]


def _in_worker(chunk: range) -> list[Simulated]:
    job = _WORKER_JOB[0]
    return [simulate(job, s) for s in chunk]


def _run(job: _Job, n: int) -> Iterator[Simulated]:
    """Every simulation's result, in order: on every core where processes can be forked
    (each simulation has its own seed, so the result does not depend on which process made
    it); else one after another."""
    import multiprocessing
    import os

    cores = os.cpu_count() or 1
    if n < 8 or cores < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for s in range(n):
            yield simulate(job, s)
        return
    from concurrent.futures import ProcessPoolExecutor

    size = max(1, min(8, n // (cores * 4)))
    chunks = [range(i, min(n, i + size)) for i in range(0, n, size)]
    with ProcessPoolExecutor(cores, mp_context=multiprocessing.get_context("fork"),
                             initializer=_start_worker, initargs=(job, os.getpid())) as pool:
        for results in pool.map(_in_worker, chunks):
            yield from results


def _months_from(first: Month, last: Month) -> list[Month]:
    out, m = [], first
    while m <= last:
        out.append(m)
        m = m.plus(1)
    return out


def provider_list(model: Model, register: Register) -> list[tuple[str, str]]:
    return [(p, provider_name(model, register, p)) for p in register.providers()]
