"""`pbr statements`: each provider's statement for a month, as a workbook and a PDF.

The month is worked out as `pbr calculate` would now (nothing recorded); the ledger says
where it stands. An approved month's statement is the approved run: its figures must be the
ones worked out now (else the returns changed since, and the difference is paid as an
adjustment with the next month: refused, saying so), and it carries the adjustments that run
paid. A month whose latest draft has the same figures is that draft; otherwise the statement
is marked NOT RECORDED, not for payment.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pbr_cli.cycle.calculate import run_calculation
from pbr_cli.cycle.scheme import Scheme
from pbr_cli.errors import PbrError
from pbr_cli.forecast import Settings
from pbr_cli.ledger.store import Ledger
from pbr_cli.model.records import Model
from pbr_cli.periods import Month
from pbr_cli.pricing.records import Projection, Schedule, Standing, State
from pbr_cli.reporting.statements import provider_statement, statement_filename
from pbr_cli.returns.collect import worker_count
from pbr_cli.returns.register import Register


@dataclass
class StatementsResult:
    schedule: Schedule
    written: list[tuple[str, Path, Path]] = field(default_factory=list)  # provider, xlsx, pdf
    note: str = ""


def _lines(schedule: Schedule) -> Counter:
    return Counter((ln.provider, ln.entry, ln.component, ln.kind, ln.amount)
                   for ln in schedule.lines)


def _stored(ledger: Ledger, run_id: int) -> Counter:
    return Counter((ln.provider, ln.entry, ln.component, ln.kind, ln.amount)
                   for ln in ledger.lines(run_id))


def _place(schedule: Schedule, ledger: Ledger | None, model: Model, month: Month) -> str:
    """Set the schedule's standing from the ledger; return what it means, in words."""
    if ledger is None:
        schedule.standing = Standing(State.NOT_RECORDED)
        return "no ledger yet: marked NOT RECORDED, not for payment"
    approval = ledger.approval_of(model.name, str(month))
    if approval is not None:
        if _stored(ledger, approval.run_id) != _lines(schedule):
            raise PbrError(
                f"{month} was approved as run {approval.run_id}, but its figures worked out now "
                "differ (a return, the register or the model changed since): a statement would "
                "not show what was paid. The difference is paid as an adjustment with the next "
                f"month to approve (`pbr calculate -m {model.name}`)", code="statement-differs")
        schedule.adjustments = ledger.adjustments(approval.run_id)
        schedule.standing = Standing(State.APPROVED, approval.run_id, approval.approved_by,
                                     approval.approved_at, approval.how)
        return f"approved run {approval.run_id}"
    latest = ledger.latest_run(model.name, str(month))
    if latest is not None and _stored(ledger, latest.id) == _lines(schedule) and \
            sorted(map(repr, ledger.adjustments(latest.id))) == \
            sorted(map(repr, schedule.adjustments)):
        schedule.standing = Standing(State.DRAFT, latest.id)
        return f"draft run {latest.id}"
    schedule.standing = Standing(State.NOT_RECORDED)
    return ("not recorded: the figures worked out now are not a run in the ledger (calculate "
            "the month first); marked NOT RECORDED, not for payment")


def run_statements(scheme: Scheme, period: str, provider: str | None = None,
                   output: Path | None = None, forecast: Settings | None = None,
                   ) -> StatementsResult:
    """Write the statement of each provider paid under the model in the month (or of one)
    into `output` (default: the model's output folder, statements/<month>/). With
    `forecast`, each carries the provider's projected income for the rest of the financial
    year (`pbr forecast` as at the month)."""
    model = scheme.model
    try:
        month = Month.parse(period)
    except PbrError:
        raise PbrError(f"a statement is for one month, written 2013-06 (not '{period}')",
                       code="bad-period") from None
    register = scheme.register
    calc = run_calculation(scheme, str(month), dry_run=True)
    schedule = calc.schedule
    if scheme.what_if:
        schedule.standing = Standing(State.WHAT_IF)
        note = "what-if (returns, register or model other than the config's): not for payment"
    else:
        ledger = scheme.ledger.open(scheme.log, create=False)
        try:
            note = _place(schedule, ledger, model, month)
        finally:
            if ledger is not None:
                ledger.close()
    wanted = [p.provider for p in schedule.providers]
    if provider is not None:
        if provider not in wanted:
            raise PbrError(f"provider {provider} is not paid under {model.name} in {month} "
                           f"(its providers that month: {', '.join(wanted)})",
                           code="unknown-provider")
        wanted = [provider]
    projected = None
    if forecast is not None:
        from dataclasses import replace

        from pbr_cli.jobs.forecast import ForecastAsk, make_forecast, projections

        projected = projections(make_forecast(replace(scheme, progress=None),
                                              ForecastAsk(as_at=str(month), no_budget=True),
                                              forecast))
    folder = Path(output) if output else statements_folder(scheme, month)
    result = StatementsResult(schedule, note=note)
    result.written = write_statements(schedule, register, folder, wanted, projected)
    return result


def statements_folder(scheme: Scheme, month: Month) -> Path:
    return scheme.output / "statements" / str(month)


def write_statements(schedule: Schedule, register: Register, folder: Path,
                     providers: list[str] | None = None,
                     projected: dict[str, Projection] | None = None,
                     ) -> list[tuple[str, Path, Path]]:
    """Each provider's statement (workbook and PDF) of a schedule whose standing is set;
    with `projected`, each carrying its provider's projected income. Where there are many
    (PARALLEL_FROM or more), they are written in worker processes, one a core
    (`$PBR_WORKERS`); the files are the same, listed in the same order."""
    codes = providers if providers is not None else [p.provider for p in schedule.providers]
    job = (schedule, register, folder, projected)
    count = worker_count(len(codes), PARALLEL_FROM)
    if count == 1:
        _JOB["job"] = job
        return [_write_one(code) for code in codes]
    from pbr_cli.outputs.statement_pdf import parse_typefaces
    from pbr_cli.outputs.xlsx import remove_half_made
    from pbr_cli.workers import KILLED, Lost, Workers

    parse_typefaces()  # once, here: every worker starts with it

    written: list[tuple[str, Path, Path] | None] = [None] * len(codes)
    ended = set(KILLED)
    try:
        with Workers(_write_one, codes, count, STATEMENT_SECONDS, _start, job) as pool:
            for at, answer in pool.answers():
                if isinstance(answer, Lost):
                    raise PbrError(f"the statement for {codes[at]} could not be written: its "
                                   f"worker {_said(answer)}", code="statement-lost")
                written[at] = answer
    finally:
        if KILLED - ended:  # a worker ended halfway (a stop, a deadline, a crash)
            remove_half_made(folder, {statement_filename(schedule, code, suffix)
                                      for code in codes for suffix in (".xlsx", ".pdf")})
            KILLED.difference_update(KILLED - ended)
    return [w for w in written if w is not None]


PARALLEL_FROM = 8  # statements to write before it pays to start worker processes
STATEMENT_SECONDS = 600  # the most one statement may take, from when a worker takes it
# What every statement of a run is cut from, in each process (set by _start).
_JOB: dict[str, tuple] = {}


def _start(*job) -> None:
    from pbr_cli.returns.collect import _quiet

    _JOB["job"] = job
    _quiet()


def _write_one(code: str) -> tuple[str, Path, Path]:
    from pbr_cli.outputs.schedule import write_schedule
    from pbr_cli.outputs.statement_pdf import write_statement_pdf

    schedule, register, folder, projected = _JOB["job"]
    mine = provider_statement(schedule, register, code)
    if projected is not None:
        mine.projection = projected.get(code)
    what = f"payment statement for {code} ({mine.providers[0].name})"
    xlsx = write_schedule(mine, folder / statement_filename(schedule, code, ".xlsx"), what)
    pdf = write_statement_pdf(mine, folder / statement_filename(schedule, code, ".pdf"))
    return code, xlsx, pdf


def _said(lost) -> str:
    if lost.how == "deadline":
        return f"took longer than {lost.seconds:.0f} s"
    if lost.how == "memory":
        return "ran out of memory"
    return f"ended ({lost.signal_name or f'exit code {lost.exit_code}'})"
