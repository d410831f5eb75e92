"""Per-participant rules: fees on attachment, results by routes, sustainment, a maximum.

Input: a model's `participants` rules and the checked returns of every month since the scheme
start (what a participant was paid before decides what is left). The months are replayed in
order, each return's attachments then its claims, so every payment sees exactly what came
before it. Output for one period month: the events each provider earned (paid, reduced or
refused, with the reason and the return cell), one payment line per provider x fee or result.
Money is exact until each event is rounded half-up to the penny; a line is the sum of its
events. No Excel, no Typer, no rich.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from pbr_cli.expr import Expr, ExprError
from pbr_cli.ledger.records import LineKind
from pbr_cli.model.records import Dated, Fee, Model, Participants, Price, Result, period_facts
from pbr_cli.money import format_money, format_percent, round_pence
from pbr_cli.periods import Month, working_days
from pbr_cli.periods import financial_year_label as fy_label
from pbr_cli.pricing.earlier import for_month
from pbr_cli.pricing.kind import Entry, MonthInputs, entry_fields, formula_values
from pbr_cli.pricing.records import NIL, REFUSED, EventStatus, Evidence, Figure, PaymentLine, ProviderResult, Source
from pbr_cli.pricing.records import PAID as STATUS_PAID
from pbr_cli.pricing.records import PAID_EVENT as PAID
from pbr_cli.pricing.service import Aggregates, ServiceMonth, earlier_warning, entry_lines
from pbr_cli.problems import WARNING, Problem
from pbr_cli.returns.checked import CheckedReturn

ZERO = Decimal("0.00")


@dataclass
class Record:
    """One row of an attachments or claims sheet."""

    provider: str
    client: str
    day: date
    values: dict[str, Any] = field(compare=False)
    source: Source = field(compare=False)


def records(client_col: str, r: CheckedReturn, sheet: str, date_col: str) -> list[Record]:
    """The usable rows of a record sheet (rows with errors, no id or no date are left out)."""
    frame = r.tables.get(sheet)
    if frame is None or frame.empty or r.provider is None:
        return []
    bad = {p.row for p in r.problems if p.sheet == sheet and p.is_error}
    letter = r.column_of(sheet, date_col)
    names = list(frame.columns)
    at_client, at_day, at_row = names.index(client_col), names.index(date_col), names.index("_row")
    out = []
    for row in frame.to_numpy(dtype=object).tolist():
        client, day, number = row[at_client], row[at_day], row[at_row]
        if number in bad or client is None or not isinstance(day, date):
            continue
        out.append(Record(r.provider, client if type(client) is str else str(client), day,
                          dict(zip(names, row, strict=True)),
                          Source(r.path, sheet, number, letter)))
    return out


@dataclass
class _Person:
    """What one participant at one provider has been attached and paid so far."""

    attached: Record | None = None
    entry: Entry | None = None  # the register entry (contract) the attachment names
    fees: Decimal = ZERO
    total: Decimal = ZERO
    claimed: dict[str, date] = field(default_factory=dict)  # code -> date first claimed
    seen: dict[tuple[str, date], Record] = field(default_factory=dict)  # (code, day) -> claim
    paid: dict[str, list[date]] = field(default_factory=lambda: defaultdict(list))
    groups: dict[str, tuple[str, Decimal]] = field(default_factory=dict)  # once_in -> (result, £)


class _Replay:
    def __init__(self, model: Model, provider: str, entry: Entry,
                 contracts: dict[str, Entry], contract_column: str | None):
        self.model = model
        self.spec: Participants = model.participants  # type: ignore[assignment]
        self.provider = provider
        self.people: dict[str, _Person] = defaultdict(_Person)
        self.paid_all = ZERO  # to every participant of the provider so far
        self.entry = entry  # the provider's entry, when the attachment names none
        # the provider's register entries by key, when the attachments sheet names the
        # participant's contract (a `register: true` column): its prices are that entry's
        self.contracts, self.contract_column = contracts, contract_column

    def entry_of(self, client: str) -> Entry:
        person = self.people.get(client)
        return person.entry if person is not None and person.entry is not None else self.entry

    def names(self, person: _Person, day: date) -> dict[str, Any]:
        """What a formula about the participant reads: the parameters in force on the day,
        the register entry and the participant's attachment row."""
        env: dict[str, Any] = self.model.values_on(day)
        env.update(formula_values(person.entry if person.entry is not None else self.entry))
        if person.attached is not None:
            env.update(formula_values(person.attached.values))
        env.update(self.model.by_code(env))
        return env

    def value(self, price: Price, person: _Person, day: date) -> Fraction:
        """A price in pounds on the day of the attachment or result it pays for: as written,
        the amount in force that day, or its formula worked out for the participant;
        ExprError when it cannot be."""
        if isinstance(price, Dated):
            return price.on(day)
        if not isinstance(price, Expr):
            return price
        value = price.evaluate(self.names(person, day))
        if isinstance(value, bool) or not isinstance(value, (int, Fraction)):
            raise ExprError(f"'{price.text}' gives {value!r}, not an amount")
        return Fraction(value)

    def count(self, count: int | Expr, person: _Person, day: date) -> int:
        """How many times a result may be paid for the participant (a formula: by the
        participant's group); ExprError when it is not a whole number."""
        if not isinstance(count, Expr):
            return count
        value = count.evaluate(self.names(person, day))
        if isinstance(value, bool) or not isinstance(value, (int, Fraction)) or \
                Fraction(value).denominator != 1:
            raise ExprError(f"'{count.text}' gives {value!r}, not a whole number")
        return int(value)

    def _event(self, record: Record, paid_for: Fee | Result, status: EventStatus, reason: str,
               price: Decimal = ZERO, amount: Decimal = ZERO,
               reduction: Decimal = ZERO) -> Evidence:
        """The event of a fee or result the record earns (or is refused)."""
        return Evidence(self.provider, record.client, paid_for.name, paid_for.label, record.day,
                        "", status, price, amount, reason, record.source,
                        cap_reduction=reduction)

    def _pay(self, person: _Person, price: Decimal, day: date) -> tuple[Decimal, Decimal, str]:
        """(amount, reduction, reason) after the maximum per participant, then the most the
        provider is paid for all its participants; the amount counts towards both."""
        amount, why = price, ""
        if self.spec.maximum is not None:
            maximum = round_pence(self.value(self.spec.maximum, person, day))
            left = max(ZERO, maximum - person.total)
            if amount > left:
                amount, why = left, f"maximum of {format_money(maximum)} per participant reached"
        if self.spec.provider_maximum is not None:
            most = round_pence(self.value(self.spec.provider_maximum, _Person(), day))
            left = max(ZERO, most - self.paid_all)
            if amount > left:
                amount, why = left, f"maximum of {format_money(most)} for the provider reached"
        person.total += amount
        self.paid_all += amount
        return amount, price - amount, why

    def attach(self, record: Record) -> list[Evidence]:
        person = self.people[record.client]
        out = []
        if person.attached is not None:
            for fee in self.spec.fees:
                out.append(self._event(record, fee, REFUSED,
                                       f"already attached on {person.attached.day.isoformat()} "
                                       f"({person.attached.source.cell})"))
            return out
        person.attached = record
        if self.contract_column is not None:
            person.entry = self.contracts.get(str(record.values.get(self.contract_column)))
        for fee in self.spec.fees:
            year = fy_label(Month.of(record.day), self.model.year_starts)
            share = fee.shares.get(year, Fraction(0))
            try:
                base = self.value(fee.base, person, record.day)
                price = round_pence(base * share)
                amount, reduction, why = self._pay(person, price, record.day)
            except ExprError as exc:
                out.append(self._event(record, fee, REFUSED,
                                       f"the fee cannot be worked out: {exc}"))
                continue
            person.fees += amount
            reason = why or (f"{year}: {format_percent(share)} of "
                             f"{format_money(round_pence(base))}")
            out.append(self._event(record, fee,
                                   PAID if amount > 0 else (NIL if price == 0 else REFUSED),
                                   reason, price, amount, reduction))
        return out

    def claim(self, record: Record, month: Month) -> list[Evidence]:
        spec = self.spec
        person = self.people[record.client]
        code = str(record.values.get(spec.outcome) or "")
        mine = [r for r in spec.results if code in r.codes]

        def refuse(reason: str) -> list[Evidence]:
            return [self._event(record, r, REFUSED, reason) for r in (mine or spec.results[:1])]

        if not mine:
            return refuse(f"'{code}' pays for no result")
        if person.attached is None or person.attached.day > record.day:
            return refuse("the participant was not attached before this result")
        if spec.claim_within_months is not None and \
                Month.of(record.day).plus(spec.claim_within_months) < month:
            return refuse(f"claimed in {month}, more than {spec.claim_within_months} months "
                          f"after it was achieved ({record.day.isoformat()})")
        if spec.claim_within_days is not None and \
                (month.last_day - record.day).days > spec.claim_within_days:
            return refuse(f"claimed in {month}, more than {spec.claim_within_days} days after "
                          f"it was achieved ({record.day.isoformat()})")
        working = spec.claim_within_working_days
        if working is not None and \
                working_days(record.day, month.last_day, self.model.holidays) > working:
            return refuse(f"claimed in {month}, more than {working} working days after it was "
                          f"achieved ({record.day.isoformat()})")
        wait = self._too_soon(record.day, month)
        if wait:
            return refuse(f"claimed in {month}, too soon: {wait}")
        earlier = person.seen.get((code, record.day))
        if earlier is not None:
            return refuse(f"already claimed ({earlier.source.file}, {earlier.source.cell})")
        refused = {r.name: why for r in mine
                   if (why := self._refused(r, record, person, month))}
        if len(refused) == len(mine):  # refused on its own columns: it counts for nothing
            return [self._event(record, r, REFUSED, refused[r.name]) for r in mine]
        person.seen[(code, record.day)] = record
        person.claimed.setdefault(code, record.day)
        return [self._event(record, r, REFUSED, refused[r.name])
                if r.name in refused else self._result(r, record, person) for r in mine]

    def _too_soon(self, achieved: date, month: Month) -> str:
        """When a claim in the return of `month` comes before the wait after the date
        achieved is over (its month ends before the first day it may be claimed): from when
        it may be claimed, the later of the waits; else ""."""
        waits = []
        if self.spec.claim_after_days is not None:
            days = self.spec.claim_after_days
            waits.append((achieved + timedelta(days=days), f"{days} days"))
        if self.spec.claim_after_working_days is not None:
            days = self.spec.claim_after_working_days
            waits.append((_working_day(achieved, days, self.model.holidays),
                          f"{days} working days"))
        if not waits:
            return ""
        first, wait = max(waits)
        if month.last_day >= first:
            return ""
        return f"may be claimed from {first.isoformat()} ({wait} after {achieved.isoformat()})"

    def _refused(self, result: Result, record: Record, person: _Person, month: Month) -> str:
        """Why the claim is refused on its own columns, the participant's and the facts of
        the return's month (the first rule that holds), or ""."""
        if not result.refusals:
            return ""
        env = period_facts(month, self.model.year_starts)
        env.update(self.names(person, record.day))
        env.update(formula_values(record.values))
        env.update(self.model.by_code(env))
        for when, reason in result.refusals:
            try:
                if when.evaluate(env):
                    return reason
            except ExprError as exc:
                return f"{reason} (cannot be told from the claim: {exc})"
        return ""

    def _result(self, result: Result, record: Record, person: _Person) -> Evidence:
        def event(status: EventStatus, reason: str, price: Decimal = ZERO, amount: Decimal = ZERO,
                  reduction: Decimal = ZERO) -> Evidence:
            return self._event(record, result, status, reason, price, amount, reduction)

        if result.all_of:
            waiting = [c for c in result.codes if c not in person.claimed]
            if waiting:
                return event(NIL, f"counts towards this result; still to claim: "
                                  f"{', '.join(waiting)}")
        attached = person.attached
        if result.weeks_after_attachment is not None and attached is not None:
            due = attached.day + timedelta(weeks=result.weeks_after_attachment)
            if record.day < due:
                return event(REFUSED, f"achieved less than {result.weeks_after_attachment} "
                                      f"weeks after attachment ({attached.day.isoformat()}): due "
                                      f"from {due.isoformat()}")
        if result.after is not None:
            first = person.paid.get(result.after, [])
            if not first or first[0] > record.day:
                return event(REFUSED, f"no {result.after} has been paid for this participant")
            if result.every_weeks is not None and \
                    record.day < first[0] + timedelta(weeks=result.every_weeks):
                return event(REFUSED, f"less than {result.every_weeks} weeks after the "
                                      f"{result.after} ({first[0].isoformat()})")
        times = person.paid.get(result.name, [])
        if times and result.every_weeks is None:
            return event(REFUSED, "already paid for this participant")
        if result.every_weeks is not None:
            try:
                most = self.count(result.up_to, person, record.day)
            except ExprError as exc:
                return event(REFUSED, f"how many times it is paid cannot be worked out: {exc}")
            if len(times) >= most:
                return event(REFUSED, f"paid {most} time(s) already, the most")
            # each payment covers its own weeks: a claim completed less than every_weeks from
            # one already paid (before or after it: a late claim) overlaps it
            gap = timedelta(weeks=result.every_weeks)
            near = next((t for t in times if abs(record.day - t) < gap), None)
            if near is not None:
                return event(REFUSED, f"less than {result.every_weeks} weeks from the "
                                      f"{result.name} paid for {near.isoformat()}")
        if result.once_in is not None and result.once_in in person.groups:
            other, _ = person.groups[result.once_in]
            if other != result.name:
                return event(REFUSED, f"one '{result.once_in}' payment per participant: "
                                      f"{other} was paid")
        try:
            if result.to_total is not None:
                before = person.fees + (person.groups.get(result.once_in or "", ("", ZERO))[1])
                total = round_pence(self.value(result.to_total, person, record.day))
                price = max(ZERO, total - before)
                why = (f"to {format_money(total)} in total, less {format_money(before)} "
                       "already paid")
            else:
                assert result.amount is not None
                full = self.value(result.amount, person, record.day)
                price = round_pence(full * (1 - result.deflator))
                why = (f"{format_money(round_pence(full))} less "
                       f"{format_percent(result.deflator)} deflator" if result.deflator else "")
            amount, reduction, limit = self._pay(person, price, record.day)
        except ExprError as exc:
            return event(REFUSED, f"the price cannot be worked out: {exc}")
        person.paid[result.name].append(record.day)
        person.paid[result.name].sort()
        if result.once_in is not None:
            old = person.groups.get(result.once_in, (result.name, ZERO))[1]
            person.groups[result.once_in] = (result.name, old + amount)
        status = PAID if amount > 0 else (NIL if price == 0 else REFUSED)
        return event(status, limit or why, price, amount, reduction)


class ParticipantPricing:
    """Each provider's months replayed in order, up to the one priced."""

    def __init__(self, inputs: MonthInputs):
        assert inputs.model.participants is not None
        self.model, self.spec, self.month = inputs.model, inputs.model.participants, inputs.month
        self.problems, self.register = inputs.problems, inputs.register
        self.usable = sorted(inputs.usable.items(), key=lambda kv: (kv[0][1], kv[1].path))
        self.rate_values: dict[str, dict[str, Fraction]] = {}
        self.earlier = for_month(self.model, self.register, self.month, inputs.earlier)

    def price(self, result: ProviderResult, entries: list[Entry]) -> list[Evidence]:
        if result.status != STATUS_PAID:
            return []
        spec, month, reg = self.spec, self.month, self.model.register
        sheet = self.model.sheet(spec.attachments.sheet)
        column = sheet.register_column if sheet is not None else None
        mine = self.register.provider_entries(result.provider)
        replay = _Replay(self.model, result.provider, entries[0],
                         {str(e[reg.key]): e for e in mine}, column.name if column else None)
        if column is None and len(entries) > 1:
            self.problems.append(Problem(
                result.return_file or "", WARNING, "participants-contract-unknown",
                f"provider {result.provider} holds {len(entries)} {reg.entity}s this month "
                f"but the {spec.attachments.sheet} sheet names none: every participant is "
                f"paid on {reg.entity} {entries[0][reg.key]}, with its figures; add a column "
                f"with `register: true` naming each participant's {reg.entity}",
                provider=result.provider))
        events: list[Evidence] = []
        for (who, when), r in self.usable:
            if who != result.provider or when > month:
                continue
            attached = sorted(records(spec.id, r, spec.attachments.sheet, spec.attachments.date),
                              key=_order)
            claims = sorted(records(spec.id, r, spec.claims.sheet, spec.claims.date), key=_order)
            month_events = [e for rec in attached for e in replay.attach(rec)]
            month_events += [e for rec in claims for e in replay.claim(rec, when)]
            if when == month:
                events = month_events
        keys = {str(e[reg.key]) for e in entries}
        line_entries = list(entries) + [e for e in mine if str(e[reg.key]) not in keys and any(
            replay.entry_of(ev.client) is e for ev in events)]
        result.lines = _lines(self.model, line_entries if column else entries[:1], events,
                              lambda ev: str(replay.entry_of(ev.client)[reg.key]))
        service = ServiceMonth(self.model, month, Aggregates(self.model, {}, month),
                               self.problems, earlier=self.earlier)
        for entry in entries:  # contract-level payments (`payments` with a formula)
            result.lines += entry_lines(service, entry, True, result.return_file or "")
        earlier_warning(service, result)
        order = {c.name: i for i, c in enumerate(self.model.payments)}
        return sorted(events, key=lambda e: (order[e.component], e.day, e.client,
                                             e.source.cell))


def _working_day(after: date, n: int, holidays: frozenset[date]) -> date:
    """The n-th working day (Monday to Friday, not a holiday) after `after`: the first day
    by which n working days have passed."""
    day, left = after, n
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in holidays:
            left -= 1
    return day


def _order(record: Record) -> tuple:
    return (record.day, record.client, record.source.row)


def _lines(model: Model, entries: list[Entry], events: list[Evidence],
           entry_of: Callable[[Evidence], str]) -> list[PaymentLine]:
    """One line per register entry x fee or result: the sum of the entry's events (with
    one entry, every event of the provider)."""
    out = []
    for entry in entries:
        key = str(entry[model.register.key])
        out += _entry_lines(model, entry, [e for e in events
                                           if len(entries) == 1 or entry_of(e) == key])
    return out


def _entry_lines(model: Model, entry: Entry, events: list[Evidence]) -> list[PaymentLine]:
    out = []
    for component in model.payments:
        if component.amount is not None:
            continue  # a contract-level payment: priced per register entry
        mine = [e for e in events if e.component == component.name]
        amount = sum((e.amount for e in mine), ZERO)
        figures = (
            Figure("events", "Events in month", len(mine), "integer"),
            Figure("events_paid", "Events paid", sum(1 for e in mine if e.amount > 0), "integer"),
            Figure("cap_reduction", "Reduced by the maximum", sum(
                (e.cap_reduction for e in mine), ZERO), "money"),
        )
        out.append(PaymentLine(
            **entry_fields(model, entry), groups=(), component=component.name,
            component_label=component.label, kind=LineKind.PAYMENT, amount=amount,
            unrounded=Fraction(amount), figures=figures))
    return out
