"""`pbr assure ...`: what a commissioner checks after paying. The group is made here; each
command is a function in a module of its own, registered below."""

from __future__ import annotations

import typer

from pbr_cli.cli import assure_sample
from pbr_cli.cli.assure_signals import signals
from pbr_cli.cli.common import HELP, Group

assure_app = typer.Typer(
    cls=Group, help="Assurance after payment: samples of paid claims checked against "
                    "evidence, what failed recovered, and signals of gaming.",
    no_args_is_help=True, rich_markup_mode=None, context_settings=HELP)
assure_sample.register(assure_app)
assure_app.command("signals")(signals)
