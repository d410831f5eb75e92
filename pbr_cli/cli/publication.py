"""`pbr publication key ...`: the authority's publication key, one file per council that every
publication of its schemes is rounded with (docs/publication.md, "One key per authority").
Each command parses, calls the library, renders."""

from __future__ import annotations

from pathlib import Path

import typer

from pbr_cli.cli.common import HELP, ConfigOpt, Group, LedgerOpt, fail
from pbr_cli.errors import PbrError

publication_app = typer.Typer(
    cls=Group, help="Publications (`pbr report --publish`): the authority's publication key.",
    no_args_is_help=True, rich_markup_mode=None, context_settings=HELP)
key_app = typer.Typer(
    cls=Group, help="The authority's publication key: one file per council, named by every "
    "config that publishes (`publication_key: PATH`), never in the ledger.",
    no_args_is_help=True, rich_markup_mode=None, context_settings=HELP)
publication_app.add_typer(key_app, name="key")

AuthorityOpt = typer.Option(..., "--authority", help="The council whose key it is, e.g. "
                            "\"Northtown Council\".")


def _said(made, path: Path) -> None:
    typer.echo(f"Publication key of {made.authority} written to {path} (readable by you "
               f"alone): fingerprint {made.fingerprint}.")
    typer.echo("Keep it secret and back it up; never make another for the same authority. "
               "Name it in every config that publishes for the authority:")
    typer.echo(f"  publication_key: {path}")


@key_app.command("new")
def key_new(ctx: typer.Context, path: Path = typer.Argument(..., help="The key file to "
                                                            "write (never over one)."),
            authority: str = AuthorityOpt) -> None:
    """Make the authority's publication key, once for the council.

    Every config of the authority then names this one file (`publication_key: PATH`), and
    the same records round the same way in every ledger and folder. Example:

        pbr publication key new /srv/pbr-keys/council.pbrkey --authority "Northtown Council"
    """
    from pbr_cli.ledger.publication_key import write_key_file

    try:
        made = write_key_file(path, authority)
    except PbrError as exc:
        fail(ctx, exc)
    _said(made, path)


@key_app.command("show")
def key_show(ctx: typer.Context, path: Path | None = typer.Argument(
                 None, help="A key file (default: the one the config names)."),
             config: Path | None = ConfigOpt) -> None:
    """The key file's authority and fingerprint (never the key), as releases show it.

    Examples: `pbr publication key show` (the config's), `pbr publication key show
    council.pbrkey`.
    """
    from pbr_cli.cycle.config import load_config
    from pbr_cli.ledger.publication_key import read_key_file

    try:
        chosen = path or load_config(config).publication_key
        if chosen is None:
            raise PbrError("the config names no publication key (publication_key: PATH); "
                           "`pbr publication key new` makes one", code="bad-config")
        made = read_key_file(chosen)
    except PbrError as exc:
        fail(ctx, exc)
    typer.echo(f"{chosen}: publication key of {made.authority}, fingerprint {made.fingerprint}")


@key_app.command("export")
def key_export(ctx: typer.Context, path: Path = typer.Argument(..., help="The key file to "
                                                               "write (never over one)."),
               authority: str = AuthorityOpt,
               identity: str | None = typer.Option(None, "--identity", help="The scheme "
                                                   "whose key (the ledger holds several)."),
               ledger: str | None = LedgerOpt, config: Path | None = ConfigOpt) -> None:
    """Write the key a ledger made before key files kept for its scheme to a key file.

    Named in the config, it becomes the authority's key, and the scheme's releases keep their
    rounding. Example:

        pbr publication key export council.pbrkey --authority "Northtown Council"
    """
    from pbr_cli.jobs.report import export_publication_key

    try:
        chosen, made = export_publication_key(config, ledger, path, authority, identity)
    except PbrError as exc:
        fail(ctx, exc)
    typer.echo(f"The ledger's publication key of {chosen}:")
    _said(made, path)
