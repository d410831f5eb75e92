"""`pbr keys ...`: an officer's signing keys, kept in the officer's own folder. Each command
parses, calls the library, renders."""

from __future__ import annotations

import typer

from pbr_cli.cli.common import HELP, Group, fail
from pbr_cli.errors import PbrError

keys_app = typer.Typer(
    cls=Group, help="Your keys for signing the ledger's records: make one, list them.",
                       no_args_is_help=True, rich_markup_mode=None, context_settings=HELP)


@keys_app.command("new")
def keys_new(ctx: typer.Context, name: str = typer.Argument(..., help="The key's name (its "
                                                            "file: NAME.key).")) -> None:
    """Make a key pair: the private key into your own folder ($PBR_KEYS, else
    ~/.config/pbr/keys; %APPDATA%\\pbr\\keys on Windows), readable by you alone, never written
    over. Prints the public key and the config lines that let it sign."""
    from pbr_cli.ledger.keys import new_key

    try:
        key = new_key(name)
    except PbrError as exc:
        fail(ctx, exc)
    typer.echo(f"Private key written to {key.path} (keep it: only you may read it).")
    typer.echo(f"Public key: {key.public}")
    typer.echo("To let it sign, have these lines put in the config (pbr.yaml), with your name:")
    typer.echo(f'  keys: {{"Your Name": "{key.public}"}}')
    typer.echo('  schemes: {SCHEME: {approvers: ["Your Name"]}}   # if you approve SCHEME\'s '
               "months")


@keys_app.command("list")
def keys_list(ctx: typer.Context) -> None:
    """Your keys and their public parts ($PBR_KEY names the one that signs; with one key,
    that one)."""
    from pbr_cli.ledger.keys import keys_folder, own_keys

    try:
        keys = own_keys()
    except PbrError as exc:
        fail(ctx, exc)
    if not keys:
        typer.echo(f"No keys in {keys_folder()}: `pbr keys new NAME` makes one.")
        return
    for key in keys:
        typer.echo(f"{key.name}  {key.public}  {key.path}")
