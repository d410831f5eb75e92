"""`pbr report`: a period's months worked out as `pbr calculate` would now, from one read of
their returns; the report (with the ledger's record of them) or the publication, written."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pbr_cli.cycle.calculate import sha256_of
from pbr_cli.cycle.paid import paid_in_ledger
from pbr_cli.cycle.scheme import Configured, Scheme
from pbr_cli.errors import PbrError
from pbr_cli.ledger.store import Ledger
from pbr_cli.model.records import Model
from pbr_cli.names import shown
from pbr_cli.periods import Month, Period
from pbr_cli.pricing.earlier import reads_earlier
from pbr_cli.pricing.records import Schedule
from pbr_cli.pricing.worth import Excluded, PeriodSchedules
from pbr_cli.returns.folders import returns_for_months

if TYPE_CHECKING:
    from pbr_cli.assurance.signals_data import Proportions


def period_schedules(scheme: Scheme, period: Period, ledger: Ledger | None = None,
                     each: Callable[[Schedule], Schedule] | None = None) -> PeriodSchedules:
    """Work out every month of `period` inside the scheme that has returns, reading each
    file once. Months outside the scheme, or with no returns at all, are listed as excluded.
    A formula reading what was paid before reads the `ledger` as it stands. `each` is given
    each month's schedule as it is made, and what it returns is kept (a report keeps it
    without its events: `without_events`)."""
    model, register, root = scheme.model, scheme.register, scheme.root
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
    collection = scheme.read(wanted)
    paid = (paid_in_ledger(ledger, model.name)
            if ledger is not None and reads_earlier(model) else None)
    schedules = []
    for month in wanted:
        made = scheme.schedule(month, collection, paid)
        schedules.append(each(made) if each is not None else made)
    return PeriodSchedules(model, period, register, schedules, excluded, collection)


def _gathered(model: Model) -> Proportions | None:
    """Where the model names signals: its rolling proportions, to be gathered month by month."""
    if model.signals is None:
        return None
    from pbr_cli.assurance.signals_data import Proportions

    return Proportions(model)


def without_events(gathered: Proportions | None) -> Callable[[Schedule], Schedule]:
    """A month's schedule as a report keeps it: its events let go once the signals'
    proportions are gathered from them (the evidence rows, tens of thousands a national
    month, and a reported-only line's events, each a client and a day). A report and the
    signals read no event; a statement and a publication do, and keep them."""
    def each(schedule: Schedule) -> Schedule:
        if gathered is not None:
            gathered.gather(schedule)
        providers = [dataclasses.replace(r, lines=[
            dataclasses.replace(ln, counted=()) if ln.counted else ln for ln in r.lines])
            for r in schedule.providers]
        return dataclasses.replace(schedule, evidence=[], providers=providers)

    return each


def run_report(scheme: Scheme, period: Period, publish: bool = False,
               output: Path | None = None):
    """Work out the period's months, build the report (with the ledger's record of them when
    there is a ledger) and write the workbook and the finance CSV; or, with `publish`, the
    publication (docs/publication.md), audited and recorded in the ledger. Returns the
    report (or publication) and the files written."""
    from pbr_cli.outputs.report import csv_filename, report_filename, write_csv, write_report
    from pbr_cli.reporting.report import build_report

    if publish:
        return _publish(scheme, period, output)
    ledger = scheme.ledger.open(scheme.log, create=False)  # checked before any return is read
    try:
        gathered = _gathered(scheme.model)
        ps = period_schedules(scheme, period, ledger, without_events(gathered))
        report = build_report(ps, ledger, scheme.go_live)
        if gathered is not None:  # read beside the money, never changing it
            from pbr_cli.assurance.signals import period_signals, signals_table

            report.tables["signals"] = signals_table(period_signals(ps, gathered.listed()))
    finally:
        if ledger is not None:
            ledger.close()
    path = Path(output) if output else scheme.output / report_filename(report)
    written = [write_report(report, path)]
    written.append(write_csv(report, path.with_name(csv_filename(report))))
    return report, written


def _publish(scheme: Scheme, period: Period, output: Path | None):
    """The publication of a period: rounded with the authority's key, audited with every earlier
    publication in the ledger, written, and recorded there (or nothing is left)."""
    from pbr_cli.ledger.publication_key import authority_key, read_key_file
    from pbr_cli.outputs.publication import earlier_releases, write_publication
    from pbr_cli.outputs.report import report_filename
    from pbr_cli.reporting.publication import (
        METHOD,
        build_publication,
        publication_identity,
        something_to_publish,
    )

    if scheme.other_inputs:
        raise PbrError("a publication is made from the config's returns, register and model "
                       "(each is recorded in the ledger): leave out --returns and --register",
                       code="usage")
    model = scheme.model
    log = scheme.log
    named = scheme.cfg.publication_key  # (a key file missing is refused before anything)
    authority = read_key_file(named) if named is not None else None
    ledger = scheme.ledger.open(log, create=True, recording=True)  # checked before any return is read
    assert ledger is not None
    try:
        ps = period_schedules(scheme, period, ledger)
        something_to_publish(ps)  # before the key is read: a refusal records nothing
        key = (authority or authority_key(None, ledger.publication_key(
            publication_identity(model)))).key
        folders = {Path(scheme.output), *([Path(output).parent] if output else [])}
        found = [r for f in sorted(folders) for r in earlier_releases(f)]
        pub = build_publication(ps, key, ledger.publications(), found)
        path = Path(output) if output else scheme.output / report_filename(pub)
        write_publication(pub, path)
        try:
            ledger.record_publication(model.name, period.text, sha256_of(path), METHOD,
                                      pub.figures_json())
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        log.info(f"{model.name} {period.text}: publication written, {shown(path)}")
        log.head(scheme.ledger.place, ledger.head())
    finally:
        ledger.close()
    return pub, [path]


def export_publication_key(config: Path | None, ledger_path: str | None, target: Path,
                           authority: str, identity: str | None):
    """A ledger made before key files kept a key per scheme: write it to a key file, to be
    named in the config as the authority's key (docs/publication.md)."""
    from pbr_cli.ledger.publication_key import write_key_file

    setup = Configured.load(config, ledger=ledger_path)
    ledger = setup.ledger.open(setup.log, create=False)
    if ledger is None:
        raise PbrError("there is no ledger, so no key to export", code="ledger-missing")
    try:
        keys = ledger.publication_keys()
    finally:
        ledger.close()
    if identity is not None and identity not in keys:
        raise PbrError(f"the ledger holds no publication key of {identity} (it holds: "
                       f"{', '.join(keys) or 'none'})", code="usage")
    if identity is None and len(keys) != 1:
        raise PbrError("the ledger holds " + (f"the publication keys of {', '.join(keys)}: "
                       "give --identity to choose the one whose releases the authority keeps"
                       if keys else "no publication key"), code="usage")
    chosen = identity or next(iter(keys))
    return chosen, write_key_file(target, authority, keys[chosen])
