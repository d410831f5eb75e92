"""The most the commissioner could have to pay over a forecast's period, beside the expected
figure: what the recorded months paid, plus what the register and the model allow in the
months to come.

- A scheme whose register holds each contract's value, paid by service (service-level): a
  service is paid at most its contract's value (its factors are at most 1), so the months to
  come add every contract's value for them (register_basis.most).
- A cohort scheme whose register holds each provider's annual cap: each provider at most its
  cap in each financial year the months to come fall in, less what that year's recorded
  months paid it. A provider without a cap leaves no ceiling.
- Otherwise (a maximum per participant bounds each participant, not how many there are):
  none, and the words say why.
"""

from __future__ import annotations

from decimal import Decimal

from pbr_cli.forecast.register_basis import most
from pbr_cli.model.records import Model
from pbr_cli.money import round_pence, to_fraction
from pbr_cli.periods import Month, financial_year_label
from pbr_cli.returns.register import Register, entry_active

ZERO = Decimal("0.00")


def most_payable(model: Model, register: Register, paid: dict[tuple[str, Month], Decimal],
                 months: tuple[list[Month], list[Month]],
                 value_column: str | None) -> tuple[Decimal | None, str]:
    """(the most, how it is worked out) from each provider's recorded months as paid
    (`paid`: (provider, month) -> amount) and the (recorded, projected) months."""
    actual, projected = months
    recorded = sum((v for (_, m), v in paid.items() if m in actual), ZERO)
    if not projected:
        return recorded, "every month is recorded"
    if model.kind == "service-level" and value_column:
        to_come = most(model, register, projected, value_column)
        assert to_come is not None
        return recorded + to_come, (
            f"the recorded months, plus every contract's value ({value_column}, a twelfth a "
            "month, pro rata by days) for the months to come: a service is paid at most "
            "its contract's value")
    cap_column = model.cohort.cap if model.cohort is not None else None
    if not cap_column:
        return None, ("none stated: nothing in the register bounds the total (a maximum per "
                      "participant bounds each participant, not how many there are)")
    years = sorted({financial_year_label(m, model.year_starts) for m in projected})
    total = recorded
    for provider in register.providers():
        entries = register.provider_entries(provider)
        if not any(entry_active(model, e, m) for m in projected for e in entries):
            continue
        caps = [e.get(cap_column) for e in entries if e.get(cap_column) is not None]
        if not caps:
            return None, f"none stated: {provider} has no annual cap ({cap_column})"
        cap = round_pence(to_fraction(caps[0]))
        for year in years:
            so_far = sum((v for (p, m), v in paid.items() if p == provider and m in actual
                          and financial_year_label(m, model.year_starts) == year), ZERO)
            total += max(ZERO, cap - so_far)
    return total, (f"the recorded months, plus each provider's annual cap ({cap_column}) "
                   "less what its year's recorded months paid, for each financial year of "
                   "the months to come")
