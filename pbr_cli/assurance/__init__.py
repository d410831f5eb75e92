"""Assurance: what happens after a month is paid (docs/assurance.md). Plain records in, plain
records out: no Excel, no command line."""
