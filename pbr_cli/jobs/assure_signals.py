"""`pbr assure signals`: a period's signals of gaming, worked out from its returns and
schedules as `pbr report` works them out; written as a workbook on request. Records
nothing and changes no payment."""

from __future__ import annotations

from pathlib import Path

from pbr_cli.cycle.scheme import Scheme
from pbr_cli.errors import PbrError
from pbr_cli.periods import Period


def run_signals(scheme: Scheme, period: Period, output: Path | None = None):
    """(the signals, their table, the files written)."""
    from pbr_cli.assurance.signals import period_signals, signals_table
    from pbr_cli.assurance.signals_data import Proportions
    from pbr_cli.jobs.report import period_schedules, without_events

    model = scheme.model
    if model.signals is None:
        raise PbrError(f"the model {model.name} names no signals: add a `signals:` section "
                       f"to {model.path} (docs/assurance.md, Signals)", code="nothing-to-do")
    gathered = Proportions(model)
    ps = period_schedules(scheme, period, each=without_events(gathered))
    signals = period_signals(ps, gathered.listed())
    table = signals_table(signals)
    written: list[Path] = []
    if output is not None:
        from pbr_cli.outputs.signals_view import write_signals

        written.append(write_signals(table, title_of(signals), Path(output)))
    return signals, table, written


def title_of(signals) -> str:
    return f"{signals.model.title}: signals of gaming, {signals.period}"
