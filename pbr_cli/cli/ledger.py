"""`pbr ledger ...` and `pbr cache ...`: what has been calculated, approved and paid, and the
cache of checked returns. Each command parses, calls the library, renders."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pbr_cli.cli.common import (
    HELP,
    ConfigOpt,
    Group,
    JsonOpt,
    LedgerOpt,
    fail,
    in_a_folder,
    is_quiet,
)
from pbr_cli.errors import EXIT_OK, PbrError

ledger_app = typer.Typer(
    cls=Group, help="What has been calculated, approved and paid: the state of each "
                         "month, runs, a provider's payments, and checks that nobody has "
                         "changed the record.", no_args_is_help=True, rich_markup_mode=None,
                         context_settings=HELP)


def _ledger_out(ctx: typer.Context, data: dict, as_json: bool, view: str) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    from pbr_cli.outputs.console import console, ledger_view

    ledger_view(console(quiet=is_quiet(ctx)), data, view)


@ledger_app.command("status")
def ledger_status_cmd(ctx: typer.Context, model_name: str | None = typer.Option(None, "--model", "-m"),
                      as_json: bool = JsonOpt, ledger: str | None = LedgerOpt,
                      config: Path | None = ConfigOpt) -> None:
    """Each scheme's months from go-live: no returns, not calculated, draft or approved (and
    adjusted later), what is owed but not yet approved, and the ledger's head."""
    from pbr_cli.jobs.run import ledger_status

    try:
        data = ledger_status(config, model_name, ledger)
    except PbrError as exc:
        fail(ctx, exc, as_json)
    _ledger_out(ctx, data, as_json, "status")


@ledger_app.command("verify")
def ledger_verify_cmd(ctx: typer.Context, as_json: bool = JsonOpt, ledger: str | None = LedgerOpt,
                      against: Path | None = typer.Option(
                          None, "--against", help="A statement of the head written by `pbr "
                          "ledger head`: check its signature and that the ledger still holds "
                          "that record with that hash."),
                      config: Path | None = ConfigOpt) -> None:
    """Recompute the ledger's chain, every total and every run's fingerprint, and check every
    signature by the config's keys; name the first record that does not match. Exit code 0
    when sound, 2 otherwise."""
    from pbr_cli.jobs.run import ledger_verify

    try:
        data = ledger_verify(config, ledger, against)
    except PbrError as exc:
        fail(ctx, exc, as_json)
    _ledger_out(ctx, data, as_json, "verify")
    raise typer.Exit(EXIT_OK if data["sound"] else 2)


@ledger_app.command("head")
def ledger_head_cmd(ctx: typer.Context, ledger: str | None = LedgerOpt,
                    config: Path | None = ConfigOpt) -> None:
    """Print a statement of the ledger's head (record number, hash, time, signer) signed by
    your key, to mail or keep elsewhere; `pbr ledger verify --against FILE` checks the
    ledger against it."""
    from pbr_cli.jobs.run import ledger_head

    try:
        typer.echo(ledger_head(config, ledger), nl=False)
    except PbrError as exc:
        fail(ctx, exc)


@ledger_app.command("export")
def ledger_export_cmd(ctx: typer.Context, run_id: int = typer.Argument(..., help="Run number (see `pbr ledger "
                                                   "list`)."),
                      output: Path = typer.Option(..., "--output", "-o", help="Workbook to "
                                                  "write."),
                      ledger: str | None = LedgerOpt,
                      config: Path | None = ConfigOpt) -> None:
    """Make a recorded run's schedule again, from the same returns, model and register (refused
    if they have changed), saying whether it is byte-identical to the file recorded."""
    from pbr_cli.cycle.approve import export_run
    from pbr_cli.cycle.scheme import Configured

    try:
        in_a_folder(ctx, output)
        path, same, sha = export_run(Configured.load(config, ledger=ledger), run_id, output)
    except PbrError as exc:
        fail(ctx, exc)
    typer.echo(f"Run {run_id} written to {path}: " + (
        f"byte-identical to the schedule recorded (SHA-256 {sha})." if same else
        f"not byte-identical to the schedule recorded (SHA-256 {sha[:16]}...)."))


@ledger_app.command("init")
def ledger_init_cmd(ctx: typer.Context, force: bool = typer.Option(False, "--force", help="Start a new ledger even "
                                               "though the log or the output folder show "
                                               "earlier runs."),
                    ledger: str | None = LedgerOpt, config: Path | None = ConfigOpt) -> None:
    """Start a new, empty ledger (pbr also starts one by itself on a first run with no
    earlier outputs). Never replaces a ledger that holds records."""
    from pbr_cli.jobs.run import ledger_init

    try:
        typer.echo(ledger_init(config, force, ledger))
    except PbrError as exc:
        fail(ctx, exc)


@ledger_app.command("repair")
def ledger_repair_cmd(ctx: typer.Context, yes: bool = typer.Option(
                          False, "--yes", help="Move the rows shown without asking."),
                      as_json: bool = JsonOpt, ledger: str | None = LedgerOpt,
                      config: Path | None = ConfigOpt) -> None:
    """For the ledger's owner: show the last good record and the rows after it or outside
    the chain (written outside pbr), and with your confirmation move them to the ledger's
    quarantine table, kept with why, when and by whom. Exit code 0 when the ledger then
    verifies, 2 otherwise."""
    import sys

    from pbr_cli.jobs.run import ledger_repair

    asked: list[bool] = []

    def confirm(data: dict) -> bool:
        if yes:
            return True
        if as_json or not sys.stdin.isatty():
            return False
        typer.echo(_repair_said(data))
        asked.append(typer.confirm("Move them to the ledger's quarantine table?", default=False))
        return asked[-1]

    try:
        data = ledger_repair(config, ledger, confirm)
    except PbrError as exc:
        fail(ctx, exc, as_json)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    elif not is_quiet(ctx) or data["problems"]:
        typer.echo(_repair_said(data, done=True, listed=bool(asked)))
    raise typer.Exit(EXIT_OK if not data["problems"] else 2)


def _repair_said(data: dict, done: bool = False, listed: bool = False) -> str:
    good = data["last_good"]
    lines = [] if listed else [f"Ledger {data['ledger']}: the last good record is record "
                               f"{good['record']} (sha256 {good['sha256'][:16]}...)."]
    if not data["rows"]:
        lines.append("Nothing after it or outside the chain: nothing to move.")
    else:
        if not listed:
            lines.append(f"{data['why'] or 'The chain holds to it; rows were added outside it'}."
                         f" {data['rows']} row(s) after it or outside the chain:")
            lines += [f"  {line}" for line in data["moved"]]
        if done:
            lines.append("Moved to the ledger's quarantine table (kept there as they were)."
                         if data["repaired"] else "Nothing was moved (not confirmed: --yes "
                         "confirms where nobody can be asked).")
    if done:
        lines += ([f"Still does not verify: {p}" for p in data["problems"]]
                  or ["The ledger verifies."])
    return "\n".join(lines)


@ledger_app.command("list")
def ledger_list(ctx: typer.Context, model_name: str | None = typer.Option(None, "--model", "-m"),
                as_json: bool = JsonOpt, ledger: str | None = LedgerOpt,
                config: Path | None = ConfigOpt) -> None:
    """List recorded runs: approved, the current draft, or superseded."""
    from pbr_cli.jobs.run import ledger_rows

    try:
        data = ledger_rows(config, "list", model=model_name, ledger_path=ledger)
    except PbrError as exc:
        fail(ctx, exc, as_json)
    _ledger_out(ctx, data, as_json, "list")


@ledger_app.command("show")
def ledger_show(ctx: typer.Context, run_id: int = typer.Argument(..., help="Run id (see `pbr ledger list`)."),
                as_json: bool = JsonOpt, ledger: str | None = LedgerOpt,
                config: Path | None = ConfigOpt) -> None:
    """Show one run: its state, inputs and SHA-256s, totals per provider, and adjustments."""
    from pbr_cli.jobs.run import ledger_rows

    try:
        data = ledger_rows(config, "show", run_id=run_id, ledger_path=ledger)
    except PbrError as exc:
        fail(ctx, exc, as_json)
    _ledger_out(ctx, data, as_json, "show")


@ledger_app.command("history")
def ledger_history(ctx: typer.Context, provider: str = typer.Argument(..., help="Provider code."),
                   model_name: str | None = typer.Option(None, "--model", "-m"),
                   as_json: bool = JsonOpt, ledger: str | None = LedgerOpt,
                   config: Path | None = ConfigOpt) -> None:
    """A provider's payments month by month: the approved run of each month (or its draft)."""
    from pbr_cli.jobs.run import ledger_rows

    try:
        data = ledger_rows(config, "history", model=model_name, provider=provider,
                           ledger_path=ledger)
    except PbrError as exc:
        fail(ctx, exc, as_json)
    _ledger_out(ctx, data, as_json, "history")


cache_app = typer.Typer(
    cls=Group, help="The cache of checked returns.", no_args_is_help=True,
                        rich_markup_mode=None, context_settings=HELP)


@cache_app.command("clear")
def cache_clear(ctx: typer.Context, config: Path | None = ConfigOpt) -> None:
    """Remove every entry of the cache of checked returns ($PBR_CACHE, the config's `cache:`,
    or OUTPUT/.cache). Always safe: the next run reads the returns again."""
    from pbr_cli.cache import clear
    from pbr_cli.cycle.config import load_config

    try:
        cfg = load_config(config)
    except PbrError as exc:
        fail(ctx, exc)
    cache = cfg.cache
    if cache is None:
        typer.echo("The cache is off ($PBR_CACHE=off): nothing to clear.")
        return
    removed = clear(cache.folder)
    typer.echo(f"Cache {cache.folder}: {removed} entr{'y' if removed == 1 else 'ies'} removed.")
