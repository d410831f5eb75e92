"""`pbr assure ...`: assurance after payment (docs/assurance.md). The group only; each part
registers its own commands from its own module."""

from __future__ import annotations

import typer

from pbr_cli.cli.common import HELP, Group

assure_app = typer.Typer(
    cls=Group, help="Assurance after payment: samples of paid claims checked against "
                    "evidence, and what failed recovered.", no_args_is_help=True,
    rich_markup_mode=None, context_settings=HELP)

from pbr_cli.cli import assure_sample  # noqa: E402  (registers its commands on the group)

assure_sample.register(assure_app)
