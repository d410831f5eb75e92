"""`pbr assure sample` and `pbr assure record` (docs/assurance.md): a paid month's sample
drawn, recorded and sent out; the checkers' verdicts read back, checked and recorded, so the
next month drafted recovers what failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbr_cli.assurance.recovery import recoveries
from pbr_cli.assurance.sample import drawn, items_of
from pbr_cli.assurance.verdicts import HEADERS, SHEET, VerdictRow, check_rows, verdicts_content
from pbr_cli.cycle.approve import reproduce
from pbr_cli.cycle.scheme import Scheme
from pbr_cli.cycle.state import default_user
from pbr_cli.errors import PbrError
from pbr_cli.ledger.records import Adjustment
from pbr_cli.ledger.samples import StoredSample
from pbr_cli.ledger.store import Ledger
from pbr_cli.names import shown
from pbr_cli.periods import Month
from pbr_cli.pricing.records import Schedule, Standing, State


@dataclass
class SampleResult:
    sample: StoredSample
    checkers: Path
    requests: list[tuple[str, Path, Path]] = field(default_factory=list)  # provider, xlsx, pdf


@dataclass
class RecordResult:
    sample: StoredSample
    verdicts_id: int
    content: dict[str, Any]
    recovered: list[Adjustment]


def folder_of(scheme: Scheme, period: str) -> Path:
    return scheme.output / "assurance" / period


def _paid_schedule(scheme: Scheme, ledger: Ledger, period: str) -> tuple[Schedule, int]:
    """The month's approved schedule made again, and its run: only what was paid is sampled."""
    model = scheme.model
    approval = ledger.approval_of(model.name, period)
    if approval is None:
        raise PbrError(f"{model.name} {period} is not approved: only a paid month is sampled "
                       "(approve it first)", code="not-sampled")
    run = ledger.run(approval.run_id)
    assert run is not None  # (the ledger verified)
    schedule = reproduce(scheme, ledger, run)
    schedule.standing = Standing(State.APPROVED, run.id, approval.approved_by,
                                 approval.approved_at, approval.how)
    return schedule, run.id


def draw_sample(scheme: Scheme, period: str, by: str | None, wait: float = 0.0) -> SampleResult:
    """Draw the month's sample with the ledger's key, record it, then write the checkers'
    workbook and each provider's evidence request."""
    from pbr_cli.outputs.assurance import write_checkers, write_request, write_request_pdf
    from pbr_cli.reporting.statements import provider_statement

    model = scheme.model
    spec = model.assurance
    if spec is None:
        raise PbrError(f"the model {model.name} has no `assurance:` section: it says how many "
                       "items are sampled (docs/assurance.md)", code="not-sampled")
    month = str(Month.parse(period))
    if scheme.what_if:
        raise PbrError("a sample is drawn from the config's returns, register and model, as "
                       "paid: leave out --returns and --register", code="usage")
    with scheme.ledger.lock(wait):
        ledger = scheme.ledger.open(scheme.log, create=False, recording=True)
        if ledger is None:
            raise PbrError(f"no ledger at {shown(scheme.ledger.place)}: nothing has been paid "
                           "to sample", code="file-not-found")
        try:
            if ledger.sample_of(model.name, month) is not None:
                done = ledger.sample_of(model.name, month)
                assert done is not None
                raise PbrError(f"{model.name} {month} was sampled already (sample record "
                               f"{done.id}, drawn {done.drawn_at} by {done.drawn_by}): a "
                               "recorded sample is never drawn again", code="already-sampled")
            schedule, run_id = _paid_schedule(scheme, ledger, month)
            items = items_of(schedule)
            who = ledger.signer.name if ledger.signer is not None else by or default_user()
            sample = ledger.record_sample(model.name, month, run_id, who,
                                          lambda key: drawn(key, month, run_id, spec, items))
            scheme.log.info(f"{model.name} {month}: sample record {sample.id} drawn by {who}: "
                            f"{len(sample.content['items'])} item(s) from run {run_id}")
            scheme.log.head(scheme.ledger.place, ledger.head())
        finally:
            ledger.close()
    folder = folder_of(scheme, month)
    result = SampleResult(sample, write_checkers(
        schedule, sample, folder / f"{model.name}-{month}-verdicts.xlsx"))
    for provider in sorted(sample.content["providers"]):
        if not sample.content["providers"][provider]["sampled"]:
            continue
        own = provider_statement(schedule, scheme.register, provider)
        base = folder / f"{model.name}-{month}-{provider}-evidence-request"
        result.requests.append((provider,
                                write_request(own, sample, provider, base.with_suffix(".xlsx")),
                                write_request_pdf(own, sample, provider,
                                                  base.with_suffix(".pdf"))))
    return result


def read_verdicts(path: Path) -> tuple[dict[str, str], list[VerdictRow], str]:
    """The checkers' workbook: what its About sheet names (model, period, sample record),
    its Verdicts rows, and its SHA-256. A file that is not one is refused naming what lacks."""
    from pbr_cli.outputs.assurance import ABOUT, ABOUT_ROWS
    from pbr_cli.outputs.schedule import TABLE_ROW
    from pbr_cli.workbook.reader import read_workbook

    book = read_workbook(path, [SHEET, "About"])
    for name in (SHEET, ABOUT):
        if name not in book.sheets:
            raise PbrError(f"{shown(path)}: no sheet {name!r}: not a checkers' workbook "
                           "`pbr assure sample` wrote", code="bad-verdicts")
    about = {str(r[0]).strip(): _text(r[1]) for r in book.sheets[ABOUT].rows
             if len(r) > 1 and r[0] is not None}
    missing = [k for k in ABOUT_ROWS if not about.get(k)]
    if missing:
        raise PbrError(f"{shown(path)}: {ABOUT} says no {missing[0]}: not a checkers' workbook "
                       "`pbr assure sample` wrote", code="bad-verdicts")
    sheet = book.sheets[SHEET]
    header = [_text(sheet.value(TABLE_ROW, j)) for j in range(len(HEADERS))]
    if header != list(HEADERS):
        raise PbrError(f"{shown(path)}: {SHEET}!A{TABLE_ROW + 1}: the headings are not "
                       f"{', '.join(HEADERS)}", code="bad-verdicts")
    rows = []
    for r in range(TABLE_ROW + 1, len(sheet.rows)):
        cells = [_text(sheet.value(r, j)) for j in range(len(HEADERS))]
        if not cells[0] and not cells[1]:
            if any(cells[4:]):
                rows.append(VerdictRow(r + 1, "", "", cells[4], cells[5]))
            continue
        rows.append(VerdictRow(r + 1, cells[0], cells[1], cells[4], cells[5]))
    return about, rows, book.sha256


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def record_verdicts(scheme: Scheme, path: Path, by: str | None, wait: float = 0.0
                    ) -> RecordResult:
    """Read the checkers' workbook, check it against the recorded sample, and record the
    verdicts with what they recover (recovered on the next month drafted)."""
    model = scheme.model
    about, rows, sha = read_verdicts(path)
    if about["Model"] != model.name:
        raise PbrError(f"{shown(path)}: its sample is of {about['Model']}, not {model.name}: "
                       f"give -m {about['Model']}", code="bad-verdicts")
    with scheme.ledger.lock(wait):
        ledger = scheme.ledger.open(scheme.log, create=False, recording=True)
        if ledger is None:
            raise PbrError(f"no ledger at {shown(scheme.ledger.place)}", code="file-not-found")
        try:
            sample = ledger.sample_of(model.name, about["Period"])
            if sample is None or str(sample.id) != about["Sample record"]:
                raise PbrError(f"{shown(path)}: the ledger holds no sample record "
                               f"{about['Sample record']} of {model.name} {about['Period']}",
                               code="not-sampled")
            found, problems = check_rows(sample.content["items"], rows)
            if problems:
                raise PbrError(f"{shown(path)}: " + "; ".join(problems[:12])
                               + (f" (and {len(problems) - 12} more)" if len(problems) > 12
                                  else "") + "; nothing was recorded", code="bad-verdicts")
            content = verdicts_content(sample.content, found)
            who = ledger.signer.name if ledger.signer is not None else by or default_user()
            verdicts_id = ledger.record_verdicts(sample, who, sha, content)
            scheme.log.info(f"{model.name} {sample.period}: verdicts on sample record "
                            f"{sample.id} recorded by {who} from {shown(path)}")
            scheme.log.head(scheme.ledger.place, ledger.head())
        finally:
            ledger.close()
    return RecordResult(sample, verdicts_id, content, recoveries(sample.period, content))
