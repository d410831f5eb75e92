"""Models: one YAML file defines one scheme completely (return layout, rules, facts)."""

from pbr_cli.model.loader import find_model, list_models, load_model
from pbr_cli.model.records import Model

__all__ = ["Model", "find_model", "list_models", "load_model"]
