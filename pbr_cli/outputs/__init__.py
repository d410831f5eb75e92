"""Outputs: workbooks (xlsxwriter, deterministic), console views (rich)."""
