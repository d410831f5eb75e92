"""What the `pbr` commands share: their options, and how a command stops on a PbrError."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from typer.core import TyperGroup

from pbr_cli.errors import PbrError

HELP = {"help_option_names": ["-h", "--help"]}  # every command and group: -h as --help

# What an option's value is, in help, by Click's type: words a person reads, not Python's
# (typer shows `<list[str]>`, `<int range>`, `<str>` otherwise). A text option shows its
# own name: --model MODEL.
_VALUE_NAMES = {"Path": "PATH", "IntParamType": "N", "IntRange": "N", "FloatParamType": "NUMBER",
                "FloatRange": "NUMBER"}
_OWN_NAMES = {"as_at": "MONTH", "what_if": "CHANGE", "by": "NAME", "run_id": "N", "to": "MONTH",
               "go_live": "MONTH", "model_names": "MODEL", "authority": "NAME",
               "wait": "SECONDS"}


def _name_values(command) -> None:
    for param in getattr(command, "params", []):
        if param.metavar is not None or getattr(param, "is_flag", False):
            continue
        kind = _kind(param)
        own = _OWN_NAMES.get(param.name or "", (param.name or "value").upper()).removesuffix(
            "_NAME")
        if type(param).__name__.endswith("Argument"):
            shown = param.metavar = f"{own}..." if param.nargs == -1 else own
            # (typer's own help adds the Python type after an argument, and braces in usage)
            param.display_type_rich = lambda ctx=None: None
            param._usage_display_name = (lambda shown=shown, param=param: shown
                                         if param.required else f"[{shown}]")
        elif kind in _VALUE_NAMES:
            param.metavar = _OWN_NAMES.get(param.name or "", _VALUE_NAMES[kind])
        elif kind == "StringParamType":
            param.metavar = own


def _kind(param) -> str:
    """Click's name of the type of the option's value (its own, or typer's own copy's)."""
    if hasattr(param, "type"):
        return type(param.type).__name__
    desc = getattr(param, "type_descriptor", None)
    if desc is None or desc.is_choice or desc.is_datetime or desc.is_tuple:
        return ""
    if desc.is_path:
        return "Path"
    bare = param.bare_type().removeprefix("list[").removesuffix("]")
    return {"int": "IntParamType", "float": "FloatParamType", "str": "StringParamType"
            }.get(bare, "")


_GLOBAL_FLAGS = ("-q", "--quiet", "-v", "--verbose")


class Group(TyperGroup):
    """pbr's commands and groups: every option's value named in words, each command's first
    sentence whole in the list of commands (not cut short mid-sentence), and the global
    flags -q/--quiet and -v/--verbose taken after the command too (`pbr run -q`)."""

    def parse_args(self, ctx, args):
        if ctx.parent is None and args:
            end = args.index("--") if "--" in args else len(args)
            moved = [a for a in args[:end] if a in _GLOBAL_FLAGS]
            if moved:
                args = moved + [a for a in args[:end] if a not in _GLOBAL_FLAGS] + args[end:]
        return super().parse_args(ctx, args)

    def get_command(self, ctx, cmd_name):
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _name_values(command)
        return command

    def format_commands(self, ctx, formatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

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


def in_a_folder(ctx: typer.Context, output, option: str = "--output") -> None:
    """What -o names goes in a folder: one that does not exist is made, and said on stderr
    (a mistyped folder is seen at once), by every command alike; one that cannot be made is
    refused, naming it (exit code 2, nothing written)."""
    from pathlib import Path

    if output is None:
        return
    folder = Path(output).expanduser().absolute().parent
    if folder.is_dir():
        return
    try:
        folder.mkdir(parents=True)
    except OSError as exc:
        raise PbrError(f"{option} {output}: the folder {folder} cannot be made: "
                       f"{exc.strerror}", code="output-not-writable") from None
    if verbosity(ctx) >= 0:
        typer.echo(f"pbr: made the folder {folder} for {option} {output}", err=True)


def schemes_asked(config, model_name: str | None, output=None) -> list[str]:
    """--model, else the config's schemes (else every model in its models folder), as `pbr
    run`, `report` and `ledger status` take them; --output names one file or folder, so
    with several it needs --model."""
    if model_name:
        return [model_name]
    from pbr_cli.cycle.config import load_config
    from pbr_cli.model import list_models

    cfg = load_config(config, required=True)
    names = list(cfg.schemes) or [p.stem for p in list_models(cfg.models)]
    if not names:
        raise PbrError("no scheme to do: give --model, or list the config's `schemes`",
                       code="nothing-to-do")
    if output is not None and len(names) != 1:
        raise PbrError(f"--output names one place, and the config has {len(names)} schemes "
                       f"({', '.join(names)}): give --model too", code="usage")
    return names


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
