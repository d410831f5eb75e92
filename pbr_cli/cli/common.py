"""What the `pbr` commands share: their options, and how a command stops on a PbrError."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

from pbr_cli.errors import PbrError

HELP = {"help_option_names": ["-h", "--help"]}  # every command and group: -h as --help
RegisterOpt = typer.Option(None, "--register", help="Contract register (default: the model's).")
ReturnsOpt = typer.Option(None, "--returns", help="Folder of returns filed as YYYY-MM/*.xlsx "
                          "(default: from the config).")
ConfigOpt = typer.Option(None, "--config", help="Config file (default: $PBR_CONFIG, ./pbr.yaml, "
                         "then ~/.config/pbr/pbr.yaml).")
DryRunOpt = typer.Option(False, "--dry-run", help="Calculate and show, but write no schedule and "
                         "record nothing in the ledger.")
WaitOpt = typer.Option(0.0, "--wait", help="If another run is using the ledger, wait up to this "
                       "many seconds for it (default: refuse at once, exit code 3).")
LedgerOpt = typer.Option(None, "--ledger", help="The ledger to use instead of the config's: a "
                         "file, or a PostgreSQL database as postgresql://USER@HOST/DB (a "
                         "what-if with other returns, register or model is recorded only in "
                         "a ledger named here).")
JsonOpt = typer.Option(False, "--json", help="Print as JSON.")


def verbosity(ctx: typer.Context) -> int:
    """-1 --quiet, 0, 1 --verbose: what the root command was given in this invocation (its
    context's object)."""
    level = ctx.find_root().obj
    return level if isinstance(level, int) else 0


def is_quiet(ctx: typer.Context) -> bool:
    """Whether this invocation was given --quiet: its views print nothing on stdout."""
    return verbosity(ctx) < 0


def fail(ctx: typer.Context, exc: PbrError, as_json: bool = False) -> NoReturn:
    """Say why on stderr and exit with the problem's code; with --json, also print the error
    as a JSON object on stdout (docs/json.md), so a program reading stdout sees it."""
    import json

    if as_json:
        typer.echo(json.dumps({"schema": 1, "error": {
            "code": exc.code, "message": exc.message, "exit_code": exc.exit_code}}, indent=2))
    where = f" [{exc.code}, exit code {exc.exit_code}]" if verbosity(ctx) > 0 else ""
    typer.echo(f"pbr: {exc.message}{where}", err=True)
    raise typer.Exit(exc.exit_code)


def progress_factory(ctx: typer.Context):
    """A progress bar on stderr while files are read, on a terminal; with --verbose and no
    terminal, a line for each file; with --quiet, nothing."""
    level = verbosity(ctx)
    if level < 0:
        return None
    if not sys.stderr.isatty():
        return _lines if level > 0 else None
    from pbr_cli.outputs.console import FileProgress

    return FileProgress()


class _Lines:
    """--verbose without a terminal: one line on stderr for each file read."""

    def __call__(self, done: int, total: int, path) -> None:
        typer.echo(f"pbr: read {done}/{total} {path}", err=True)

    def close(self) -> None:
        pass


_lines = _Lines()
