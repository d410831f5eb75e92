"""`python -m pbr_cli` runs the command line."""

from pbr_cli.cli.main import main

main()
