"""`pbr report`: a period's months worked out as `pbr calculate` would now, from one read of
their returns; the report (with the ledger's record of them) or the publication, written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pbr_cli.cycle.calculate import returns_root, sha256_of
from pbr_cli.cycle.config import Config
from pbr_cli.cycle.runlog import RunLog
from pbr_cli.cycle.state import chosen_ledger, go_live, open_ledger
from pbr_cli.errors import PbrError
from pbr_cli.model.records import Model
from pbr_cli.names import shown
from pbr_cli.periods import Month, Period
from pbr_cli.pricing.worth import Excluded, PeriodSchedules, month_schedule, read_months
from pbr_cli.returns.folders import returns_for_months
from pbr_cli.returns.register import load_register


def period_schedules(cfg: Config, model: Model, period: Period, returns: Path | None,
                     register_path: Path | None,
                     progress: Callable[[int, int, Path], None] | None = None) -> PeriodSchedules:
    """Work out every month of `period` inside the scheme that has returns, reading each
    file once. Months outside the scheme, or with no returns at all, are listed as excluded."""
    register = load_register(model, register_path)
    root = returns_root(cfg, model, returns)
    wanted: list[Month] = []
    excluded: list[Excluded] = []
    for month in period.months():
        if not model.covers(month):
            excluded.append(Excluded(month, f"outside the scheme ({model.start} to "
                                            f"{model.end})", outside=True))
        elif not returns_for_months(root, [month]):
            excluded.append(Excluded(month, f"no returns in {root / str(month)}", outside=False))
        else:
            wanted.append(month)
    if not wanted:
        inside = [e.month for e in excluded if not e.outside]
        why = (f"no returns for any month of it in {root}" if inside
               else f"the scheme {model.name} runs {model.start} to {model.end}")
        raise PbrError(f"nothing to report for {period.describe()}: {why}",
                       code="period-outside-scheme" if not inside else "file-not-found")
    collection = read_months(cfg, model, register, root, wanted, progress)
    schedules = [month_schedule(model, register, m, collection) for m in wanted]
    return PeriodSchedules(model, period, register, schedules, excluded, collection)


def run_report(cfg: Config, model: Model, period: Period, returns: Path | None,
               register_path: Path | None, publish: bool = False, output: Path | None = None,
               progress: Callable[[int, int, Path], None] | None = None):
    """Work out the period's months, build the report (with the ledger's record of them when
    there is a ledger) and write the workbook and the finance CSV; or, with `publish`, the
    publication (docs/publication.md), audited and recorded in the ledger. Returns the
    report (or publication) and the files written."""
    from pbr_cli.outputs.report import csv_filename, report_filename, write_csv, write_report
    from pbr_cli.reporting.report import build_report

    if publish:
        return _publish(cfg, model, period, returns, register_path, output, progress)
    ps = period_schedules(cfg, model, period, returns, register_path, progress)
    path_l, own = chosen_ledger(cfg, None)
    ledger = open_ledger(cfg, path_l, own, None, create=False)
    try:
        report = build_report(ps, ledger, go_live(cfg, model))
    finally:
        if ledger is not None:
            ledger.close()
    path = Path(output) if output else cfg.output_for(model.name) / report_filename(report)
    written = [write_report(report, path)]
    written.append(write_csv(report, path.with_name(csv_filename(report))))
    return report, written


def _publish(cfg: Config, model: Model, period: Period, returns: Path | None,
             register_path: Path | None, output: Path | None, progress):
    """The publication of a period: rounded with the scheme's key, audited with every earlier
    publication in the ledger, written, and recorded there (or nothing is left)."""
    from pbr_cli.outputs.report import report_filename, write_publication
    from pbr_cli.reporting.publication import METHOD, build_publication

    if returns is not None or register_path is not None:
        raise PbrError("a publication is made from the config's returns and register (each "
                       "is recorded in the ledger): leave out --returns and --register",
                       code="usage")
    ps = period_schedules(cfg, model, period, None, None, progress)
    path_l, own = chosen_ledger(cfg, None)
    log = RunLog(cfg.log)
    ledger = open_ledger(cfg, path_l, own, log, create=True)
    assert ledger is not None
    try:
        key = ledger.publication_key(model.name, create=True)
        assert key is not None
        pub = build_publication(ps, key, ledger.publications(model.name))
        path = Path(output) if output else cfg.output_for(model.name) / report_filename(pub)
        write_publication(pub, path)
        try:
            ledger.record_publication(model.name, period.text, sha256_of(path), METHOD,
                                      pub.figures_json())
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        log.info(f"{model.name} {period.text}: publication written, {shown(path)}")
        log.head(path_l, ledger.head())
    finally:
        ledger.close()
    return pub, [path]
