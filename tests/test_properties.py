"""Money invariants over random services: lines rounded half-up, totals reconcile to the
penny, shares never exceed their cap."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pbr_cli.money import round_pence
from pbr_cli.periods import Month
from pbr_cli.pricing import calculate
from pbr_cli.returns.checked import CheckedReturn
from pbr_cli.returns.register import Register

JUNE = Month(2013, 6)

service = st.fixed_dictionaries({
    "acc": st.booleans(),
    "capacity": st.integers(1, 80),
    "value": st.integers(0, 10_000_000).map(lambda p: Decimal(p) / 100),
    "start_day": st.integers(1, 30),
    "used": st.integers(0, 100),
    "assessed": st.integers(0, 30),
    "achieved_share": st.fractions(0, 1),
})


def build(model, services):
    entries, util, outs = [], [], []
    for i, s in enumerate(services):
        sid, provider = f"X{i:03d}", f"P{i % 3}"
        entries.append({"service_id": sid, "provider_code": provider, "provider_name": provider,
                        "service_name": sid, "client_group": "MH",
                        "service_type": "ACC" if s["acc"] else "FS", "capacity": s["capacity"],
                        "annual_value": s["value"], "contract_start": date(2013, 6, s["start_day"]),
                        "contract_end": None})
        if s["acc"]:
            voids = s["capacity"] * 30 * s["used"] // 100
            util.append({"service_id": sid, "void_days": voids, "users_supported": None})
        else:
            util.append({"service_id": sid, "void_days": None,
                         "users_supported": s["capacity"] * s["used"] // 80})
        achieved = int(s["assessed"] * s["achieved_share"])
        for k in range(s["assessed"]):
            outs.append({"service_id": sid, "client_id": f"C{k // 5}",
                         "assessment_date": date(2013, 6, 1), "assessment": "REV",
                         "outcome": "1a", "result": "A" if k < achieved else "N"})
    register = Register(model.register.file, "0" * 64, tuple(entries), "service_id",
                        "provider_code")
    returns = []
    for provider in register.providers():
        ids = {e["service_id"] for e in register.provider_entries(provider)}
        tables = {
            "Utilisation": pd.DataFrame([u | {"_row": 2} for u in util if u["service_id"] in ids],
                                        dtype=object),
            "Outcomes": pd.DataFrame([o | {"_row": 2} for o in outs if o["service_id"] in ids],
                                     columns=["service_id", "client_id", "assessment_date",
                                              "assessment", "outcome", "result", "_row"],
                                     dtype=object),
        }
        returns.append(CheckedReturn(f"{provider}.xlsx", "0" * 64, provider, JUNE, tables))
    return register, returns


@settings(max_examples=60, deadline=None)
@given(st.lists(service, min_size=1, max_size=8))
def test_totals_reconcile_and_caps_hold(model, services):
    register, returns = build(model, services)
    schedule = calculate(model, register, JUNE, returns)
    for line in schedule.lines:
        assert line.amount == round_pence(line.unrounded)
    for p in schedule.providers:
        assert p.total() == sum((ln.amount for ln in p.lines if ln.kind == "payment"), Decimal(0))
        assert p.variance == p.total() - p.total("comparison")
    assert schedule.total() == sum((p.total() for p in schedule.providers), Decimal(0))
    assert schedule.total() == sum((ln.amount for ln in schedule.lines if ln.kind == "payment"),
                                   Decimal(0))
    by_entry = {}
    for line in schedule.lines:
        by_entry.setdefault(line.entry, {})[line.component] = line
    for parts in by_entry.values():
        monthly = Fraction(next(f.value for f in parts["utilisation"].figures
                                if f.name == "monthly_value"))
        assert parts["utilisation"].unrounded <= Fraction(9, 10) * monthly
        assert parts["outcomes"].unrounded <= Fraction(1, 10) * monthly
        assert parts["utilisation"].amount + parts["outcomes"].amount <= parts["block"].amount + Decimal("0.01")
        assert min(ln.amount for ln in parts.values()) >= 0
