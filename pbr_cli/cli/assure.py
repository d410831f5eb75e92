"""`pbr assure ...`: what a commissioner checks after paying. The group is made here; each
command registers itself from its own module."""

from __future__ import annotations

import typer

from pbr_cli.cli.common import HELP, Group

assure_app = typer.Typer(
    cls=Group, help="Assurance after payment: signals of gaming.",
    no_args_is_help=True, rich_markup_mode=None, context_settings=HELP)

from pbr_cli.cli import assure_signals  # noqa: E402,F401  (registers `pbr assure signals`)
