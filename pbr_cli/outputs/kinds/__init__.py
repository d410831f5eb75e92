"""What the outputs ask of a kind of scheme: the schedule's Evidence sheet (every event paid
or refused), for the kinds whose lines are priced event by event.

Each kind's part is one module here (service.py, cohort.py, participants.py), named in the
table of kinds (pricing.KINDS); the schedule workbook asks the model's part through
`output_kind`. What a report shows by kind comes from the kind's reporting part.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from pbr_cli.model.records import Model
from pbr_cli.outputs.xlsx import Formats
from pbr_cli.pricing import kind_of
from pbr_cli.pricing.records import Schedule

# Where the evidence that does not fit goes: (the file to write now, the name it will have).
EvidenceFile = Callable[[], tuple[Path, Path]]


class OutputKind(Protocol):
    """One kind of scheme as the outputs see it."""

    def evidence(self, wb: Any, fmt: Formats, s: Schedule,
                 evidence_file: EvidenceFile | None) -> None:
        """Add the schedule's Evidence sheet to the workbook `wb`, if the kind has one."""
        ...


def output_kind(model: Model) -> OutputKind:
    """The model's kind of scheme, as the outputs see it."""
    part: OutputKind = kind_of(model).part("outputs")
    return part
