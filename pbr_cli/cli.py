"""The `pbr` command line: each command parses options, calls the library, renders.

Heavy libraries (pandas, the Excel readers and writers, rich) are imported inside commands,
so that `pbr --help` answers at once.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import typer

from pbr_cli import __version__
from pbr_cli.errors import EXIT_OK, EXIT_PROBLEMS, PbrError

EPILOG = (
    "Exit codes: 0 all well; 1 errors found in returns, or a provider's payment withheld; "
    "2 usage error, unusable file, or broken model, register, config or ledger; "
    "3 another run is using the ledger."
)

app = typer.Typer(
    name="pbr",
    help="Payment by Results batch calculator: check providers' monthly returns, work out what "
    "each provider is owed under a scheme's model, and write payment schedules.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="List and describe the schemes' models.", no_args_is_help=True,
                         rich_markup_mode=None)
app.add_typer(models_app, name="models")

RegisterOpt = typer.Option(None, "--register", help="Contract register (default: the model's).")
ConfigOpt = typer.Option(None, "--config", help="Config file (default: ./pbr.yaml or $PBR_CONFIG).")
DryRunOpt = typer.Option(False, "--dry-run", help="Calculate and show, but write no schedule and "
                         "record nothing in the ledger.")
WaitOpt = typer.Option(0.0, "--wait", help="If another run is using the ledger, wait up to this "
                       "many seconds for it (default: refuse at once, exit code 3).")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pbr {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    """Payment by Results batch calculator."""


def _fail(exc: PbrError) -> None:
    typer.echo(f"pbr: {exc.message}", err=True)
    raise typer.Exit(exc.exit_code)


def _context(config: Path | None, model_name: str):
    from pbr_cli.config import load_config
    from pbr_cli.model import find_model, load_model

    cfg = load_config(config)
    model = load_model(find_model(model_name, cfg.models))
    return cfg, model


@app.command()
def validate(
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
        from pbr_cli.validate import validate_paths

        progress = None if as_json else _progress_factory()
        try:
            report = validate_paths(paths, model_name, register_path, config, progress)
        finally:
            if progress is not None:
                progress.close()
    except PbrError as exc:
        _fail(exc)
    written: list[tuple[str, Path]] = []
    if annotate is not None:
        try:
            from pbr_cli.validate import write_annotations

            written = write_annotations(report, paths, annotate)
        except PbrError as exc:
            _fail(exc)
    if as_json:
        out = report.as_dict()
        out["annotated"] = [{"file": src, "copy": str(dst)} for src, dst in written]
        typer.echo(json.dumps(out, indent=2, default=str))
    else:
        from rich.markup import escape

        from pbr_cli.outputs.console import console, validation_report

        con = console()
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
    model_name: str = typer.Option(..., "--model", "-m", help="The scheme's model, e.g. "
                                   "MODEL (see `pbr models list`)."),
    period: str | None = typer.Option(None, "--period", "-p", help="The month, e.g. 2013-06 "
                                         "(default: the latest month that has returns)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Schedule workbook to "
                                          "write (default: OUTPUT/<model>/<model>-<month>-"
                                          "schedule.xlsx)."),
    returns: Path | None = typer.Option(None, "--returns", help="Folder of returns filed as "
                                           "YYYY-MM/*.xlsx (default: from the config)."),
    register_path: Path | None = RegisterOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the schedule as JSON "
                                 "(schema: docs/json.md)."),
    dry_run: bool = DryRunOpt,
    wait: float = WaitOpt,
    config: Path | None = ConfigOpt,
) -> None:
    """Work out what each provider is owed for a month and write the payment schedule.

    Reads every return the model's rolling windows need, pays nothing to a provider whose
    return is missing or has errors (exit code 1), and writes a workbook with Summary, Lines
    (every figure behind every amount), Warnings and About (inputs and their SHA-256).
    Earlier months already recorded in the ledger are worked out again: any change (a
    resubmitted or late return, history that moves a window) is paid as a prior-period
    adjustment on this month's schedule. The run is recorded in the ledger.

    Examples:

      pbr calculate --model MODEL --period 2013-06

      pbr calculate -m MODEL -o june.xlsx

      pbr calculate -m MODEL --dry-run
    """
    try:
        from pbr_cli.jobs import run_calculation
        from pbr_cli.lock import exclusive

        cfg, model = _context(config, model_name)
        progress = None if as_json else _progress_factory()
        lock = exclusive(cfg.lock, wait) if not dry_run else contextlib.nullcontext()
        try:
            with lock:
                result = run_calculation(cfg, model, period, output, returns, register_path,
                                         progress=progress, dry_run=dry_run)
        finally:
            if progress is not None:
                progress.close()
    except PbrError as exc:
        _fail(exc)
    if as_json:
        from pbr_cli.jobs import schedule_as_dict

        out = schedule_as_dict(result.schedule, result.path)
        out["ledger"] = {"status": result.status, "run": result.run_id,
                         "closed_by": result.closed_by}
        typer.echo(json.dumps(out, indent=2))
    else:
        from pbr_cli.outputs.console import console, ledger_status, schedule_summary

        con = console()
        schedule_summary(con, result.schedule, str(result.path) if result.path else None)
        ledger_status(con, result)
    raise typer.Exit(_exit_code(result.schedule))


@app.command()
def report(
    period: str = typer.Option(..., "--period", "-p", help="A month 2013-06, a quarter 2013-Q2, "
                               "a financial year 2013/14, its quarter 2013/14-Q1, or a range "
                               "2013-04..2013-09."),
    model_name: str | None = typer.Option(None, "--model", "-m", help="The scheme's model "
                                          "(default: every scheme in the config)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Report workbook to write "
                                       "(one model only; default: OUTPUT/<model>/<model>-"
                                       "<period>-report.xlsx). The finance CSV goes beside it."),
    publish: bool = typer.Option(False, "--publish", help="A copy for publication: counts below "
                                 "the model's threshold (default 5) are suppressed with any "
                                 "figure they could be worked out from; no client ids, no "
                                 "ledger detail, no CSV."),
    returns: Path | None = typer.Option(None, "--returns", help="Folder of returns filed as "
                                        "YYYY-MM/*.xlsx (default: from the config)."),
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
    its period covers.

    Examples:

      pbr report --period 2013-Q2 --model MODEL

      pbr report -p 2013/14

      pbr report -p 2013-04..2013-09 -m MODEL --publish
    """
    try:
        from pbr_cli.config import load_config
        from pbr_cli.jobs import run_report
        from pbr_cli.model import find_model, list_models, load_model
        from pbr_cli.periods import parse_period

        wanted = parse_period(period)
        cfg = load_config(config)
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
            progress = None if as_json else _progress_factory()
            try:
                results.append(run_report(cfg, model, wanted, returns, register_path, publish,
                                          output, progress))
            finally:
                if progress is not None:
                    progress.close()
    except PbrError as exc:
        _fail(exc)
    skipped = [m for m in models if m not in inside]
    if as_json:
        from pbr_cli.outputs.report import report_as_dict

        out = {"schema": 1, "reports": [
            report_as_dict(r, paths[0], paths[1] if len(paths) > 1 else None)
            for r, paths in results],
            "skipped": [{"model": m.name, "reason": f"the scheme runs {m.start} to {m.end}"}
                        for m in skipped]}
        typer.echo(json.dumps(out, indent=2))
    else:
        from pbr_cli.outputs.console import console, report_view

        con = console()
        for i, (r, paths) in enumerate(results):
            if i:
                con.print()
            report_view(con, r, [str(p) for p in paths])
        for m in skipped:
            con.print(f"{m.name}: not reported, the scheme runs {m.start} to {m.end}.")
    raise typer.Exit(EXIT_OK)


def _exit_code(schedule) -> int:
    return EXIT_PROBLEMS if schedule.withheld or any(
        p.is_error for p in schedule.problems) else EXIT_OK



def _progress_factory():
    """A progress bar on stderr while files are read, on a terminal only."""
    if not sys.stderr.isatty():
        return None
    from pbr_cli.outputs.console import FileProgress

    return FileProgress()


@app.command()
def run(
    dry_run: bool = DryRunOpt,
    wait: float = WaitOpt,
    config: Path | None = ConfigOpt,
) -> None:
    """The monthly job, fit for cron: calculate the latest complete month of every scheme.

    For each scheme in the config's `schemes` (default: every model), takes the latest month
    that has ended and has returns, calculates it with prior-period adjustments, writes its
    schedule and records it in the ledger. Logs to the config's log file. Exit code 0 only
    when every scheme is well; otherwise the worst: 1 payments withheld or errors in
    returns, 2 a scheme could not be calculated, 3 another run holds the lock.

    Example crontab line (06:00 on the 3rd of each month):

      0 6 3 * * cd /srv/pbr && .venv/bin/pbr run
    """
    from pbr_cli.runner import run_all

    try:
        code = run_all(config, dry_run, wait, _progress_factory)
    except PbrError as exc:
        _fail(exc)
    raise typer.Exit(code)


ledger_app = typer.Typer(help="What has been calculated and recorded: runs, and each "
                         "provider's payments across months.", no_args_is_help=True,
                         rich_markup_mode=None)
app.add_typer(ledger_app, name="ledger")


@ledger_app.command("list")
def ledger_list(model_name: str | None = typer.Option(None, "--model", "-m"),
                config: Path | None = ConfigOpt) -> None:
    """List recorded runs (the current one for each month is marked *)."""
    from pbr_cli.runner import ledger_view

    try:
        ledger_view(config, "list", model=model_name)
    except PbrError as exc:
        _fail(exc)


@ledger_app.command("show")
def ledger_show(run_id: int = typer.Argument(..., help="Run id (see `pbr ledger list`)."),
                config: Path | None = ConfigOpt) -> None:
    """Show one run: its inputs and SHA-256s, totals per provider, and adjustments."""
    from pbr_cli.runner import ledger_view

    try:
        ledger_view(config, "show", run_id=run_id)
    except PbrError as exc:
        _fail(exc)


@ledger_app.command("history")
def ledger_history(provider: str = typer.Argument(..., help="Provider code."),
                   model_name: str | None = typer.Option(None, "--model", "-m"),
                   config: Path | None = ConfigOpt) -> None:
    """A provider's payments month by month, from the current run of each month."""
    from pbr_cli.runner import ledger_view

    try:
        ledger_view(config, "history", model=model_name, provider=provider)
    except PbrError as exc:
        _fail(exc)


@app.command()
def template(
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
        from pbr_cli.outputs.template import write_template
        from pbr_cli.periods import Month
        from pbr_cli.register import load_register

        _, model = _context(config, model_name)
        month = Month.parse(period)
        register = load_register(model, register_path)
        if provider not in register.providers():
            raise PbrError(f"no provider '{provider}' in the contract register "
                           f"({', '.join(register.providers())})", code="unknown-provider")
        if month.last_day < model.start or month.first_day > model.end:
            raise PbrError(f"{month} is outside the scheme ({model.start} to {model.end})",
                           code="period-outside-scheme")
        write_template(output, model, register, provider, month)
    except PbrError as exc:
        _fail(exc)
    typer.echo(f"Template for {provider}, {month.label()} written to {output}")


@models_app.command("list")
def models_list(config: Path | None = ConfigOpt) -> None:
    """List the models in the models folder."""
    from pbr_cli.config import load_config
    from pbr_cli.model import list_models, load_model

    cfg = load_config(config)
    found = list_models(cfg.models)
    if not found:
        typer.echo(f"No models in {cfg.models}.")
        return
    for path in found:
        try:
            m = load_model(path)
            kind = "virtual" if m.virtual else "real"
            typer.echo(f"{m.name:<24} {m.title} ({m.start} to {m.end}, {kind} payments)")
        except PbrError as exc:
            typer.echo(f"{path.stem:<24} BROKEN: {exc.message.splitlines()[0]}")


@models_app.command("check")
def models_check(files: list[str] = typer.Argument(..., help="Model files (or model names).",
                                                   show_default=False),
                 config: Path | None = ConfigOpt) -> None:
    """Check models without running them: unknown or misspelt keys, wrong types, names of
    columns, measures or codes that do not exist, bands that do not increase, groups without
    prices, windows longer than the scheme, and the contract register beside the model.

    Every mistake is given with file, line and key path. Exit code 0 when all are sound, 2
    otherwise. Example:

      pbr models check models/my-scheme.yaml
    """
    from pbr_cli.config import load_config
    from pbr_cli.model import find_model, load_model
    from pbr_cli.register import load_register

    code = EXIT_OK
    for name in files:
        try:
            path = Path(name) if Path(name).is_file() else find_model(name, load_config(config).models)
            model = load_model(path)
            register = load_register(model)
        except PbrError as exc:
            typer.echo(f"pbr: {exc.message}", err=True)
            code = exc.exit_code
            continue
        typer.echo(f"{path}: sound. {model.title} ({model.start} to {model.end}, "
                   f"{'virtual' if model.virtual else 'real'} payments): "
                   f"{len(model.sheets)} return sheet(s), {len(model.measures)} measure(s), "
                   f"{len(model.payments)} payment component(s); register {register.path} "
                   f"with {len(register.entries)} row(s).")
    raise typer.Exit(code)


@models_app.command("show")
def models_show(name: str = typer.Argument(..., help="Model name."),
                config: Path | None = ConfigOpt) -> None:
    """Describe what a model pays for, in words."""
    try:
        from pbr_cli.describe import describe_model

        _, model = _context(config, name)
    except PbrError as exc:
        _fail(exc)
    typer.echo(describe_model(model))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("pbr: interrupted", err=True)
        sys.exit(130)
