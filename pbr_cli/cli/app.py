"""The `pbr` command line: each command parses options, calls the library, renders.

Heavy libraries (pandas, the Excel readers and writers, rich) are imported inside commands,
so that `pbr --help` answers at once.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pbr_cli import __version__
from pbr_cli.cli.assure import assure_app
from pbr_cli.cli.common import (
    HELP,
    ConfigOpt,
    DryRunOpt,
    Group,
    LedgerOpt,
    RegisterOpt,
    ReturnsOpt,
    WaitOpt,
    fail,
    in_a_folder,
    is_quiet,
    progress_factory,
)
from pbr_cli.cli.forecast import forecast
from pbr_cli.cli.keys import keys_app
from pbr_cli.cli.ledger import cache_app, ledger_app
from pbr_cli.cli.models import models_app
from pbr_cli.cli.publication import publication_app
from pbr_cli.cli.statements import init, statements
from pbr_cli.errors import EXIT_OK, PbrError, exit_codes_said

EPILOG = exit_codes_said()

app = typer.Typer(
    cls=Group,
    name="pbr",
    help="Payment by Results batch calculator: check providers' monthly returns, work out what "
    "each provider is owed under a scheme's model, and write payment schedules.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=True,  # --install-completion for bash, zsh, fish and PowerShell
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings=HELP,
)
app.add_typer(models_app, name="models")
app.add_typer(ledger_app, name="ledger")
app.add_typer(cache_app, name="cache")
app.add_typer(keys_app, name="keys")
app.add_typer(publication_app, name="publication")
app.add_typer(assure_app, name="assure")

def _version(value: bool) -> None:
    if value:
        typer.echo(f"pbr {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Say more: each file as it "
                                 "is read (on stderr), and each error's code and exit code."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Say less: no progress and no "
                               "tables; errors still go to stderr, --json output is "
                               "printed, and the exit code says how it went."),
) -> None:
    """Payment by Results batch calculator."""
    ctx.obj = -1 if quiet else 1 if verbose else 0  # this invocation's verbosity


@app.command()
def validate(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="Return files, or folders of them.",
                                       show_default=False),
    model_name: str | None = typer.Option(
        None, "--model", "-m", help="Model to check against (default: the one named on each "
        "return's Cover sheet)."),
    register_path: Path | None = RegisterOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the problems as JSON "
                                 "(schema: docs/json.md)."),
    annotate: Path | None = typer.Option(
        None, "--annotate", help="Write a copy of the return with every problem cell "
        "highlighted and commented, and a Problems sheet linking to them, to send back to the "
        "provider. With several returns, a folder for the copies."),
    config: Path | None = ConfigOpt,
) -> None:
    """Check returns: layout, values, codes, dates, duplicates, register cross-checks,
    and checks across files (two returns for one provider and month, client episodes).

    Every problem names its file, sheet and cell. Examples:

      pbr validate P03-2013-06.xlsx --annotate P03-2013-06-checked.xlsx

      pbr validate returns/MODEL/2013-06 --json

      pbr validate returns/MODEL --annotate checked/
    """
    try:
        from pbr_cli.jobs.validate import validate_paths

        progress = None if as_json else progress_factory(ctx)
        try:
            report = validate_paths(paths, model_name, register_path, config, progress)
        finally:
            if progress is not None:
                progress.close()
    except PbrError as exc:
        fail(ctx, exc, as_json)
    written: list[tuple[str, Path]] = []
    if annotate is not None:
        try:
            from pbr_cli.jobs.validate import write_annotations

            in_a_folder(ctx, annotate, "--annotate")
            written = write_annotations(report, paths, annotate)
        except PbrError as exc:
            fail(ctx, exc, as_json)
    if as_json:
        out = report.as_dict()
        out["annotated"] = [{"file": src, "copy": str(dst)} for src, dst in written]
        typer.echo(json.dumps(out, indent=2, default=str))
    else:
        from rich.markup import escape

        from pbr_cli.outputs.console import console, validation_report

        con = console(quiet=is_quiet(ctx))
        validation_report(con, report)
        for src, dst in written:
            con.print(f"Annotated copy of {escape(src)} written to [bold]{escape(str(dst))}[/]")
        if annotate is not None and not written:
            con.print("No annotated copy written: " + (
                "the file could not be read as a workbook." if len(report.files) == 1
                else "no readable return has problems."))
    raise typer.Exit(report.exit_code)


@app.command()
def calculate(
    ctx: typer.Context,
    model_name: str = typer.Option(..., "--model", "-m", help="The scheme's model, e.g. "
                                   "MODEL (see `pbr models list`)."),
    period: str | None = typer.Option(None, "--period", "-p", help="The month, e.g. 2013-06 "
                                         "(default: the latest month that has returns)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Schedule workbook to "
                                          "write (default: OUTPUT/<model>/<model>-<month>-"
                                          "schedule.xlsx)."),
    returns: Path | None = ReturnsOpt,
    register_path: Path | None = RegisterOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the schedule as JSON "
                                 "(schema: docs/json.md)."),
    dry_run: bool = DryRunOpt,
    wait: float = WaitOpt,
    ledger: str | None = LedgerOpt,
    config: Path | None = ConfigOpt,
) -> None:
    """Work out what each provider is owed for a month and write its DRAFT schedule.

    Reads every return the model's rolling windows need, pays nothing to a provider whose
    return is missing or has errors (exit code 1), and writes a workbook with Summary, Lines
    (every figure behind every amount), Warnings and About (inputs and their SHA-256). The
    calculation is recorded in the ledger as the month's draft, to be approved with `pbr
    approve` (or approved at once where the config says the scheme approves automatically).
    The draft of the next month to approve carries prior-period adjustments: any change to
    an approved month (a resubmitted or late return) since it was paid. An approved month is
    never calculated into the ledger again. With other returns (--returns), another register
    or a model file that is not the config's, it is a what-if: nothing is recorded unless
    --ledger names a separate ledger.

    Examples:

      pbr calculate --model MODEL --period 2013-06

      pbr calculate -m MODEL --returns copy/ -o what-if.xlsx

      pbr calculate -m MODEL --dry-run
    """
    try:
        from pbr_cli.cycle.calculate import run_calculation
        from pbr_cli.cycle.scheme import Scheme

        progress = None if as_json else progress_factory(ctx)
        try:
            scheme = Scheme.named(config, model_name, returns=returns, register=register_path,
                                 ledger=ledger, progress=progress)
            if not dry_run:
                in_a_folder(ctx, output)
            result = run_calculation(scheme, period, output, dry_run=dry_run, wait=wait)
        finally:
            if progress is not None:
                progress.close()
    except PbrError as exc:
        fail(ctx, exc, as_json)
    _show_result(ctx, result, as_json)
    raise typer.Exit(result.schedule.exit_code())


def _show_result(ctx: typer.Context, result, as_json: bool) -> None:
    """A calculation's or an approval's schedule: as JSON, or the console summary and
    what happened in the ledger."""
    if as_json:
        from pbr_cli.outputs.schedule_json import schedule_as_dict

        out = schedule_as_dict(result.schedule, result.path)
        out["ledger"] = {"status": result.status, "run": result.run_id, "note": result.note}
        from pbr_cli.outputs.money_said import money_warnings

        out["money_warnings"] = dict(money_warnings(result.schedule.problems))
        typer.echo(json.dumps(out, indent=2))
        return
    from pbr_cli.outputs.console import console, ledger_status, schedule_summary

    con = console(quiet=is_quiet(ctx))
    schedule_summary(con, result.schedule, str(result.path) if result.path else None)
    ledger_status(con, result)


@app.command()
def report(
    ctx: typer.Context,
    period: str = typer.Option(..., "--period", "-p", help="A month 2013-06, a quarter 2013-Q2, "
                               "a financial year 2013/14, its quarter 2013/14-Q1, or a range "
                               "2013-04..2013-09."),
    model_name: str | None = typer.Option(None, "--model", "-m", help="The scheme's model "
                                          "(default: every scheme in the config)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Report workbook to write "
                                       "(one model only; default: OUTPUT/<model>/<model>-"
                                       "<period>-report.xlsx). The finance CSV goes beside it."),
    publish: bool = typer.Option(False, "--publish", help="A publication instead: counts only, "
                                 "each provider's month rounded at random to a multiple of the "
                                 "model's base (default 5), the same records the same way under "
                                 "the authority's key (`publication_key:` in the config); no "
                                 "money, proportions, client ids or file names; audited and "
                                 "recorded in the ledger (docs/publication.md)."),
    returns: Path | None = ReturnsOpt,
    register_path: Path | None = RegisterOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON "
                                 "(schema: docs/json.md)."),
    config: Path | None = ConfigOpt,
) -> None:
    """Report on a period: per provider and group, over the period and month by month.

    Each month is worked out as `pbr calculate` works it out now; totals are the sums of the
    monthly schedules. Shows PbR beside block (virtual schemes) with the variance, rates,
    events and payments by outcome, caps, prior-period adjustments from the ledger, and flags:
    providers losing more than the model's share of their block income (small ones said so),
    and late, missing, faulty or resubmitted returns. Writes a workbook with charts and a CSV
    of payments for a finance system; records nothing. The report states the exact dates
    its period covers. With --publish, a copy for the public instead (counts only, rounded,
    audited), recorded in the ledger.

    Examples:

      pbr report --period 2013-Q2 --model MODEL

      pbr report -p 2013/14

      pbr report -p 2013-04..2013-09 -m MODEL --publish
    """
    try:
        from pbr_cli.cycle.config import load_config
        from pbr_cli.cycle.scheme import Scheme
        from pbr_cli.jobs.report import run_report
        from pbr_cli.model import find_model, list_models, load_model
        from pbr_cli.periods import parse_period

        in_a_folder(ctx, output)
        wanted = parse_period(period)
        cfg = load_config(config, required=True)
        names = ([model_name] if model_name else
                 list(cfg.schemes) or [p.stem for p in list_models(cfg.models)])
        if output is not None and len(names) != 1:
            raise PbrError("--output names one workbook: give --model too", code="usage")
        models = [load_model(find_model(n, cfg.models)) for n in names]
        inside = [m for m in models if wanted.start <= m.end and wanted.end >= m.start]
        if not inside:
            raise PbrError(f"{wanted.describe()} is outside every scheme asked for ("
                           + "; ".join(f"{m.name} {m.start} to {m.end}" for m in models) + ")",
                           code="period-outside-scheme")
        results = []
        for model in inside:
            progress = None if as_json else progress_factory(ctx)
            try:
                scheme = Scheme(cfg, model=model, returns_named=returns,
                                register_named=register_path, progress=progress)
                results.append(run_report(scheme, wanted, publish, output))
            finally:
                if progress is not None:
                    progress.close()
    except PbrError as exc:
        fail(ctx, exc, as_json)
    skipped = [m for m in models if m not in inside]
    if as_json:
        from pbr_cli.outputs.publication import publication_as_dict
        from pbr_cli.outputs.report import report_as_dict

        out = {"schema": 1, "reports": [
            publication_as_dict(r, paths[0]) if r.publish else
            report_as_dict(r, paths[0], paths[1] if len(paths) > 1 else None)
            for r, paths in results],
            "skipped": [{"model": m.name, "reason": f"the scheme runs {m.start} to {m.end}"}
                        for m in skipped]}
        typer.echo(json.dumps(out, indent=2))
    else:
        from pbr_cli.outputs.console import console, publication_view, report_view

        con = console(quiet=is_quiet(ctx))
        for i, (r, paths) in enumerate(results):
            if i:
                con.print()
            (publication_view if r.publish else report_view)(con, r, [str(p) for p in paths])
        for m in skipped:
            con.print(f"{m.name}: not reported, the scheme runs {m.start} to {m.end}.")
    raise typer.Exit(EXIT_OK)


app.command()(forecast)
app.command()(init)
app.command()(statements)


@app.command()
def run(
    ctx: typer.Context,
    dry_run: bool = DryRunOpt,
    wait: float = WaitOpt,
    as_json: bool = typer.Option(False, "--json", help="Print what each month came to as "
                                 "JSON (schema: docs/json.md)."),
    config: Path | None = ConfigOpt,
) -> None:
    """The monthly job, fit for cron: bring every scheme's months up to date.

    For each scheme in the config's `schemes` (default: every model), every month from its
    go-live month (the config's `go_live`, else the scheme's start) to the latest month that
    has ended and has returns, and is not approved yet, is calculated in order: a draft to
    approve with `pbr approve`, or approved at once where the config says `approval:
    automatic`. No month is skipped: a month whose returns came late is drafted when they
    come. Logs every step, and the ledger's head, to the config's log file. Refuses to run
    on a ledger that does not verify, or that is missing while earlier runs are recorded.
    Exit code 0 only when every scheme is well; otherwise the worst: 1 payments withheld or
    errors in returns, 2 a scheme could not be calculated or nothing was found to run, 3
    another run holds the lock.

    With --quiet it prints only what needs a person (a draft to approve, errors, a withheld
    return, a scheme that could not be calculated), so cron mails only then. Example
    crontab lines (06:00 on the 3rd of each month; pbr by its full path):

      MAILTO=finance@example.org
      0 6 3 * * cd /srv/pbr && /srv/pbr/.venv/bin/pbr --quiet run
    """
    from pbr_cli.jobs.run import run_all

    try:
        from pbr_cli.outputs.console import console

        quiet = is_quiet(ctx)
        con = console(quiet=False)
        said: list[str] = []
        months: list[dict] = []

        def out(line: str, style: str, person: bool = False) -> None:
            from rich.markup import escape

            if as_json:
                said.append(line)
                return
            if quiet and not person:
                return
            con.print(f"[{style}]{escape(line)}[/]" if style else escape(line), highlight=False,
                      soft_wrap=True)

        code = run_all(config, dry_run, wait, None if as_json else lambda: progress_factory(ctx), out,
                       months)
    except PbrError as exc:
        fail(ctx, exc, as_json)
    if as_json:
        typer.echo(json.dumps({"schema": 1, "exit_code": code, "months": months,
                               "messages": said}, indent=2))
    raise typer.Exit(code)


def _warned_first(ctx: typer.Context, as_json: bool, yes: bool):
    """What `pbr approve` does with the draft before it records: list its money-changing
    warnings on stderr (JSON: they are in the output), and at a terminal ask."""
    import sys

    def confirm(schedule, run: int) -> bool:
        from pbr_cli.outputs.money_said import warnings_before_approval

        said = warnings_before_approval(schedule, run)
        if not said or as_json:
            return True
        typer.echo(said, err=True)
        if yes or not (sys.stdin.isatty() and sys.stdout.isatty()):
            return True
        return typer.confirm("Approve it with these?", default=False, err=True)

    return confirm


@app.command()
def approve(
    ctx: typer.Context,
    model_name: str = typer.Option(..., "--model", "-m", help="The scheme's model."),
    period: str = typer.Option(..., "--period", "-p", help="The month, e.g. 2013-06."),
    run_id: int | None = typer.Option(None, "--run", help="The draft's ledger run number, as "
                                      "shown on the draft schedule."),
    sha256: str | None = typer.Option(None, "--sha256", help="Or the draft schedule's SHA-256 "
                                      "(at least its first 12 hex digits)."),
    by: str | None = typer.Option(None, "--by", help="Who approves (default: $PBR_USER, "
                                  "else the login name)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Approved schedule to write "
                                       "(default: OUTPUT/<model>/<model>-<month>-"
                                       "schedule.xlsx)."),
    as_json: bool = typer.Option(False, "--json", help="Print the approved schedule as JSON."),
    yes: bool = typer.Option(False, "--yes", help="At a terminal, approve a draft that carries "
                             "warnings that change payments without being asked (they are "
                             "still listed first)."),
    returns: Path | None = typer.Option(None, "--returns", help="Folder of returns (a what-if "
                                        "kept in a separate --ledger only)."),
    register_path: Path | None = RegisterOpt,
    wait: float = WaitOpt,
    ledger: str | None = LedgerOpt,
    config: Path | None = ConfigOpt,
) -> None:
    """Approve a month's draft schedule for payment: what is approved is what is paid.

    The draft is the workbook <model>-<month>-draft.xlsx that `pbr calculate` or `pbr run`
    wrote in the output folder: it shows its ledger run number (its SHA-256 is in `pbr
    ledger show RUN`).

    Name the draft you reviewed by its run number (or its schedule's SHA-256): if it has
    been replaced by a later calculation, or its returns have changed since, approval is
    refused. Months are approved in order from the scheme's go-live month, once each; the
    approval records who, when and exactly which schedule, and writes the schedule again
    saying APPROVED. Later changes to an approved month are paid as adjustments on the next.

    The draft's warnings that change payments (a missing return, rows left out, a cap) are
    listed before anything is recorded; at a terminal you are asked to go on (--yes does not
    ask).

    Example:

      pbr approve -m MODEL -p 2013-06 --run 7 --by "J. Smith"
    """
    try:
        from pbr_cli.cycle.approve import approve_month
        from pbr_cli.cycle.scheme import Scheme

        scheme = Scheme.named(config, model_name, returns=returns, register=register_path,
                             ledger=ledger)
        in_a_folder(ctx, output)
        result = approve_month(scheme, period, (run_id, sha256), by, output, wait,
                               confirm=_warned_first(ctx, as_json, yes))
    except PbrError as exc:
        fail(ctx, exc, as_json)
    _show_result(ctx, result, as_json)
    raise typer.Exit(EXIT_OK)


@app.command()
def template(
    ctx: typer.Context,
    model_name: str = typer.Option(..., "--model", "-m", help="The scheme's model."),
    provider: str = typer.Option(..., "--provider", help="Provider code from the register."),
    period: str = typer.Option(..., "--period", "-p", help="The month, e.g. 2013-06."),
    output: Path = typer.Option(..., "--output", "-o", help="Workbook to write."),
    register_path: Path | None = RegisterOpt,
    config: Path | None = ConfigOpt,
) -> None:
    """Write the blank return for one provider and month, made from the model.

    Example:

      pbr template --model MODEL --provider P01 --period 2013-07 -o P01-2013-07.xlsx
    """
    try:
        from pbr_cli.cycle.calculate import make_template
        from pbr_cli.cycle.scheme import Scheme

        scheme = Scheme.named(config, model_name, register=register_path, required=False)
        in_a_folder(ctx, output)
        month = make_template(scheme, provider, period, output)
    except PbrError as exc:
        fail(ctx, exc)
    typer.echo(f"Template for {provider}, {month.label()} written to {output}")


