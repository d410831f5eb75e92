"""pbr: a batch calculator for Payment by Results contracts."""

__version__ = "0.6.0"
