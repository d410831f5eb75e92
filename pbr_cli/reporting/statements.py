"""A provider's statement: the month's schedule cut down to one provider, so that it can be
sent to that provider.

Input: the month's schedule (every provider) and the register. Output: a schedule holding
the provider's own payment lines, evidence rows, prior-period adjustments, problems and input
files — nothing of any other provider. A problem or a reason written about the provider's own
records may still name another provider (a client who moved between them): those names and
codes are replaced by "another provider", and the dates of that provider's contacts with
the client are left out ("presented at another provider within 12 months"). Figures the
model pools over every provider (a scheme-wide rate) stay, as they name nobody. No Excel, no Typer, no rich.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from pbr_cli.errors import PbrError
from pbr_cli.ledger.records import InputRole
from pbr_cli.model.records import RegisterSpec
from pbr_cli.pricing.records import Evidence, Schedule
from pbr_cli.problems import Problem
from pbr_cli.returns.register import Register

ANOTHER = "another provider"


def statement_filename(schedule: Schedule, provider: str, suffix: str) -> str:
    return f"{schedule.model.name}-{schedule.month}-{provider}-statement{suffix}"


def _hider(register: Register, reg: RegisterSpec, provider: str) -> Callable[[str], str]:
    """A function replacing every other provider's code and name in a text."""
    words: set[str] = set()
    for other in register.providers():
        if other == provider:
            continue
        words.add(other)
        for entry in register.provider_entries(other):
            for column in (reg.provider_name, reg.label):
                if column and entry.get(column):
                    words.add(str(entry[column]))
            words.add(str(entry[reg.key]))
    own = {provider} | {str(e[reg.key]) for e in register.provider_entries(provider)}
    words -= own
    if not words:
        return lambda text: text
    pattern = re.compile(r"(?<![\w])(" + "|".join(
        re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")(?![\w])")
    return lambda text: _their_days_left_out(pattern.sub(ANOTHER, text)) if text else text


DAY = r"\d{4}-\d{2}-\d{2}"
# Another provider's dates, in the words pbr writes them, and what a statement says instead:
# when a client was seen elsewhere is that provider's business, not this one's.
THEIR_DAYS = [
    (re.compile(rf"(presented(?: again)?) (within \d+ months) \({DAY} at {ANOTHER}\)"),
     rf"\1 at {ANOTHER} \2"),
    (re.compile(rf"at {ANOTHER} that started on {DAY} ran to {DAY}"),
     f"at {ANOTHER} had not ended then"),
    (re.compile(rf"at {ANOTHER} that started on {DAY}"), f"at {ANOTHER}"),
    (re.compile(rf"\({DAY} at {ANOTHER}\)"), f"(at {ANOTHER})"),
    (re.compile(rf"{DAY} at {ANOTHER}"), f"at {ANOTHER}"),
    (re.compile(rf"(at|to) {ANOTHER} on {DAY}"), rf"\1 {ANOTHER}"),
]


def _their_days_left_out(text: str) -> str:
    """`text` without the dates it gives of another provider's contacts."""
    if ANOTHER not in text:
        return text
    for pattern, instead in THEIR_DAYS:
        text = pattern.sub(instead, text)
    return text


def provider_statement(schedule: Schedule, register: Register, provider: str) -> Schedule:
    """The schedule as the provider may see it (see the module's note)."""
    mine = [p for p in schedule.providers if p.provider == provider]
    if not mine:
        known = ", ".join(p.provider for p in schedule.providers)
        raise PbrError(f"provider {provider} is not paid under {schedule.model.name} in "
                       f"{schedule.month} (its providers that month: {known})",
                       code="unknown-provider")
    hide = _hider(register, schedule.model.register, provider)
    own_files = {i.path for i in schedule.inputs if i.role == InputRole.RETURN and i.provider == provider}
    entries = {str(e[register.key]) for e in register.provider_entries(provider)}

    def concerns(p: Problem) -> bool:
        if p.provider is not None:
            return p.provider == provider
        if p.file:
            return p.file in own_files
        return p.message.startswith(f"provider {provider}:")

    problems = [dataclasses.replace(p, message=hide(p.message), note=hide(p.note))
                for p in schedule.problems if concerns(p)]
    evidence = []
    for e in schedule.evidence:
        if e.provider == provider:
            if isinstance(e, Evidence):
                e = dataclasses.replace(e, reason=hide(e.reason))
            evidence.append(e)
    return dataclasses.replace(
        schedule, providers=mine, problems=problems,
        inputs=[i for i in schedule.inputs if i.role != InputRole.RETURN or i.provider == provider],
        evidence=evidence,
        adjustments=[dataclasses.replace(a, reason=hide(a.reason))
                     for a in schedule.adjustments if a.provider == provider],
        rate_values={k: v for k, v in schedule.rate_values.items() if k in entries},
        replaced=[r for r in schedule.replaced if r[0] == provider])
