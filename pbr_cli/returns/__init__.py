"""Returns: read provider workbooks safely, check them against a model, hand on tables."""
