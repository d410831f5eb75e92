"""Assurance: what a commissioner checks after paying (docs/assurance.md). Samples of paid
claims checked against evidence, and what failed recovered through the cycle (sample.py,
verdicts.py, recovery.py); the signals of gaming (signals*.py), which read a period's records
and schedules and say which providers a commissioner might ask about and never change a
payment. Plain records in, plain records out: no Excel, no command line."""
