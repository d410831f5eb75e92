"""The table of kinds: every kind of scheme names a part for every concern, and each part
answers its concern's protocol (a new kind missing one fails here, not in a report)."""

from __future__ import annotations

import inspect

import pytest

from pbr_cli.forecast.kinds import ForecastKind
from pbr_cli.outputs.kinds import OutputKind
from pbr_cli.pricing import KINDS
from pbr_cli.reporting.kinds import ReportingKind

PROTOCOLS = {"reporting": ReportingKind, "forecast": ForecastKind, "outputs": OutputKind}


def _members(protocol: type) -> set[str]:
    names = {n for n, _ in inspect.getmembers(protocol, inspect.isfunction)}
    names |= set(getattr(protocol, "__annotations__", {}))
    return {n for n in names if not n.startswith("_")}


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_kind_has_a_part_for_every_concern(name):
    kind = KINDS[name]
    assert kind.name == name
    assert callable(kind.part("pricing"))
    for concern, protocol in PROTOCOLS.items():
        part = kind.part(concern)
        missing = {m for m in _members(protocol) if not hasattr(part, m)}
        assert not missing, f"{name}'s {concern} part lacks {sorted(missing)}"


def test_the_kinds_are_the_models_kinds():
    assert set(KINDS) == {"service-level", "cohort", "participants"}
    assert [k for k in KINDS if KINDS[k].clients] == ["cohort", "participants"]
