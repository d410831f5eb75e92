"""A service-level scheme in the outputs: its lines carry their figures; no Evidence sheet."""

from __future__ import annotations

from typing import Any

from pbr_cli.outputs.kinds import EvidenceFile
from pbr_cli.outputs.xlsx import Formats
from pbr_cli.pricing.records import Schedule


class ServiceOutputs:
    def evidence(self, wb: Any, fmt: Formats, s: Schedule,
                 evidence_file: EvidenceFile | None) -> None:
        return None  # each line carries the figures it came from


OUTPUTS = ServiceOutputs()
