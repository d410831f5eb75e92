"""`pbr models show`: a model described in words a commissioner understands."""

from __future__ import annotations

import textwrap
from fractions import Fraction

from pbr_cli.expr import Expr
from pbr_cli.model.records import Dated, Model, Price
from pbr_cli.money import format_money, fraction_to_decimal, round_pence


def _num(value) -> str:
    text = str(fraction_to_decimal(value, 6)).rstrip("0").rstrip(".")
    return text or "0"


def _cohort(m: Model, wrap: textwrap.TextWrapper) -> list[str]:
    c = m.cohort
    assert c is not None
    groups = m.codes[c.group_codes].values if c.group_codes in m.codes else {}
    out = [""] + textwrap.wrap(f"Client-level: episodes (one {c.client} at one provider, presentation to discharge) "
           f"from every return since {m.start}; proportions per provider and {c.group} over the "
           f"{c.window_months} months ending with the period month. Each event is paid at the "
           "price of its band (lower bounds inclusive; below the first band the price is 0):", 92)
    if c.tariff is not None:
        prices = ", ".join(f"{groups.get(g, g)} {format_money(round_pence(p))}"
                           for g, p in c.tariff.prices.items())
        out.append(wrap.fill(f"  - {c.tariff.label}: {prices}; nothing if the client presented "
                             f"anywhere in the {c.tariff.churn_months} months before."))
    for o in c.outcomes:
        how = {"discharge": "a discharge where", "first-review": "the episode's first review where"}
        event = (f"{how[o.event]} {o.when.text}" if o.when is not None
                 else f"{o.months} months after {o.after}, with no new presentation anywhere")
        out.append(wrap.fill(f"  - {o.label}: {event}."))
        if o.reported_only:
            out.append("      reported, not paid")
        for g, bands in o.bands.items():
            shown = "; ".join(f"{b.label} {format_money(round_pence(b.price))}" for b in bands)
            out.append(wrap.fill(f"      {groups.get(g, g)}: {shown}"))
    if c.cap:
        out.append(f"  Capped per provider per financial year by the register's '{c.cap}'.")
    return out


def _participants(m: Model, wrap: textwrap.TextWrapper) -> list[str]:
    p = m.participants
    assert p is not None
    out = [""] + textwrap.wrap(
        f"Per participant ({p.id}), from every return since {m.start}: each month's "
        "attachments, then its claims, in date order. Each payment is rounded half-up to the "
        "penny" + (f"; at most {_price(p.maximum)} per participant in all"
                   if p.maximum is not None else "")
        + (f"; at most {_price(p.provider_maximum)} to a provider for all its participants"
           if p.provider_maximum is not None else "") + ":", 92)
    for f in p.fees:
        base = f.base
        shares = ", ".join(f"{y} {_num(v * 100)}%" + (
            f" ({format_money(round_pence(base * v))})" if isinstance(base, Fraction) else "")
            for y, v in f.shares.items())
        out.append(wrap.fill(f"  - {f.label}: on attachment, a share of "
                             f"{_price(f.base)} by the "
                             f"{'financial' if m.year_starts == 4 else 'contract'} year of "
                             f"the attachment date: {shares}."))
    for r in p.results:
        when = (" and ".join(r.codes) + " all claimed" if r.all_of
                else " or ".join(r.codes) + " claimed")
        price = (f"up to {_price(r.to_total)} in all with the fees"
                 if r.to_total is not None else _price(r.amount or Fraction(0)))
        extra = []
        if r.deflator:
            extra.append(f"less a {_num(r.deflator * 100)}% deflator")
        if r.every_weeks:
            most = r.up_to.text if isinstance(r.up_to, Expr) else str(r.up_to)
            extra.append(f"again every {r.every_weeks} weeks, up to {most} times")
        else:
            extra.append("once per participant")
        if r.once_in:
            extra.append(f"one '{r.once_in}' payment per participant")
        if r.after:
            extra.append(f"only after a paid {r.after}" + (
                f", the first at least {r.every_weeks} weeks after it" if r.every_weeks else ""))
        if r.weeks_after_attachment:
            extra.append(f"achieved at least {r.weeks_after_attachment} weeks after attachment")
        extra += [f"refused when {when.text} ({reason})" for when, reason in r.refusals]
        out.append(wrap.fill(f"  - {r.label}: when {when}: {price}; {'; '.join(extra)}."))
    if p.claim_within_months is not None:
        out.append(f"  A claim more than {p.claim_within_months} months after the result "
                   "is not paid.")
    if p.claim_within_working_days is not None:
        out.append(f"  A claim whose month ends more than {p.claim_within_working_days} working "
                   "days after the result is not paid.")
    if p.claim_within_days is not None:
        out.append(f"  A claim whose month ends more than {p.claim_within_days} days after "
                   "the result is not paid.")
    for wait, unit in ((p.claim_after_days, "days"), (p.claim_after_working_days,
                                                      "working days")):
        if wait is not None:
            out.append(f"  A claim whose month ends less than {wait} {unit} after the result "
                       "is refused; a later return may claim it.")
    return out


def describe_model(m: Model) -> str:
    out: list[str] = []
    wrap = textwrap.TextWrapper(width=92, subsequent_indent="    ")
    out.append(f"{m.title}  [{m.name}, version {m.version}]")
    if m.commissioner:
        out.append(f"Commissioner: {m.commissioner}")
    out.append(f"Runs {m.start} to {m.end}; providers return every {m.period}.")
    if m.virtual:
        out.append("Payments are VIRTUAL: shadow figures shown beside the contract payment; "
                   "not for payment.")
    if m.description:
        out.append("")
        out += textwrap.wrap(m.description, 92)
    if m.cohort is not None:
        out += _cohort(m, wrap)
    elif m.participants is not None:
        out += _participants(m, wrap)
    contract = [c for c in m.payments if c.amount is not None]
    if contract:
        out += ["", ("Also, w" if m.client_level else "W") + "hat it pays, for each "
                + m.register.entity + " each month (each part rounded half-up to the penny):"]
    for c in contract:
        when = ((f" Paid {c.paid}: the months between are worked out and shown as accrued, "
                 "and paid together." if c.paid != "monthly" else "")
                + (" Paid even when the month's return is missing or faulty."
                   if c.without_return else ""))
        said = " ".join(x for x in (c.description, when.strip()) if x) if when else (
            c.description or "")
        out.append(wrap.fill(f"  - {c.label}: {said} "
                             f"[= {c.amount.text if c.amount else ''}]"))
    if m.comparison:
        formula = m.comparison.amount.text if m.comparison.amount else ""
        out.append(wrap.fill(f"  Shown beside: {m.comparison.label}: "
                             f"{m.comparison.description} [= {formula}]"))
    if m.parameters:
        out += ["", "Figures (parameters):"]
        for p in m.parameters.values():
            if p.by is not None:
                shown = f"by {p.by}: " + ", ".join(f"{code} {_num(v)}" for code, v in p.table)
            elif isinstance(p.value, Dated):
                shown = ", ".join(f"{_num(v)} from {since.isoformat()}"
                                  for since, v in p.value.steps)
            else:
                shown = _num(p.value)
            out.append(wrap.fill(f"  - {p.name} = {shown}: {p.label}"))
    out += ["", "How each figure is worked out:"] if m.measures else []
    for ms in m.measures:
        how = ms.rule.describe(ms)
        out.append(wrap.fill(f"  - {ms.label} ({ms.name}) = {' '.join(how.split())}"))
    out += ["", "The return providers fill in:"]
    for s in m.sheets:
        out.append(wrap.fill(f"  Sheet '{s.name}': {s.description}"))
        for col in s.columns:
            if col.info:
                continue
            need = "required" if col.required else (
                f"required when {col.required_when.text}" if col.required_when else "optional")
            codes = f", codes from '{m.codes[col.codes].label}'" if col.codes else ""
            out.append(wrap.fill(f"    - {col.header} ({col.type}{codes}; {need})"))
    if m.checks:
        out += ["", "Checks across rows:"]
        for ch in m.checks:
            out.append(f"  - {ch.rule.describe(ch)} ({ch.severity})")
    out += ["", f"Contract register: {m.register.file.name} (one row per {m.register.entity})."]
    return "\n".join(out)


def _price(price: Price) -> str:
    """£4,000.00, or the formula that gives the price for each participant."""
    if isinstance(price, Expr):
        return f"[= {price.text}]"
    if isinstance(price, Dated):
        return ", ".join(f"{format_money(round_pence(v))} from {since.isoformat()}"
                         for since, v in price.steps)
    return format_money(round_pence(price))
