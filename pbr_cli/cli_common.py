"""What the `pbr` commands share: their options, and how a command stops on a PbrError."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import typer

from pbr_cli.errors import PbrError

HELP = {"help_option_names": ["-h", "--help"]}  # every command and group: -h as --help
RegisterOpt = typer.Option(None, "--register", help="Contract register (default: the model's).")
ConfigOpt = typer.Option(None, "--config", help="Config file (default: $PBR_CONFIG, ./pbr.yaml, "
                         "then ~/.config/pbr/pbr.yaml).")
DryRunOpt = typer.Option(False, "--dry-run", help="Calculate and show, but write no schedule and "
                         "record nothing in the ledger.")
WaitOpt = typer.Option(0.0, "--wait", help="If another run is using the ledger, wait up to this "
                       "many seconds for it (default: refuse at once, exit code 3).")
LedgerOpt = typer.Option(None, "--ledger", help="The ledger to use instead of the config's (a "
                         "what-if with other returns, register or model is recorded only in "
                         "a ledger named here).")
JsonOpt = typer.Option(False, "--json", help="Print as JSON.")


def fail(exc: PbrError) -> NoReturn:
    typer.echo(f"pbr: {exc.message}", err=True)
    raise typer.Exit(exc.exit_code)


def context(config: Path | None, model_name: str):
    from pbr_cli.config import load_config
    from pbr_cli.model import find_model, load_model

    cfg = load_config(config)
    model = load_model(find_model(model_name, cfg.models))
    return cfg, model


def from_config(cfg, model) -> bool:
    """The model is the config's own (not a draft or a copy elsewhere)."""
    own = cfg.models / f"{model.name}.yaml"
    return own.is_file() and Path(model.path).resolve() == own.resolve()


def progress_factory():
    """A progress bar on stderr while files are read, on a terminal only."""
    if not sys.stderr.isatty():
        return None
    from pbr_cli.outputs.console import FileProgress

    return FileProgress()


def load(config: Path | None):
    from pbr_cli.config import load_config

    return load_config(config)
