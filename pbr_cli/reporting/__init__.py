"""Period reports (`pbr report`): the months of a period added up into tables that every
output renders. `report.py` is the pipeline; `cells.py` the tables and the figure store;
`slices.py` how a slice of the figures is keyed and headed; `tables.py` the money tables;
`returns.py` how each return stood, and the flags; `ledger_tables.py` the ledger's record."""
