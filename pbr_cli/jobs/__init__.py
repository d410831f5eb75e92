"""The jobs the command line runs: the monthly run, reports, statements, forecasts, validation,
model tests, a new folder."""
