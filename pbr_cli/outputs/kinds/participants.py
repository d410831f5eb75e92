"""A per-participant scheme in the outputs: the Evidence sheet lists every fee and result
claimed, paid or refused, and what the maximum took."""

from __future__ import annotations

from typing import Any

from pbr_cli.outputs.kinds import EvidenceFile
from pbr_cli.outputs.schedule import Layout, evidence_sheet, write_evidence
from pbr_cli.outputs.xlsx import Formats
from pbr_cli.pricing.records import Schedule


class ParticipantOutputs:
    def evidence(self, wb: Any, fmt: Formats, s: Schedule,
                 evidence_file: EvidenceFile | None) -> None:
        ws = evidence_sheet(wb, fmt, s)
        headers = ["Provider code", "Participant ID", "Payment", "Date", "Status", "Price",
                   "Amount", "Reduced by the maximum", "Reason", "Source file", "Source row"]
        formats = [fmt.text, fmt.text, fmt.text, fmt.date, fmt.text, fmt.money, fmt.money,
                   fmt.money, fmt.text, fmt.text, fmt.text]
        rows = [[e.provider, e.client, e.component_label, e.day, e.status.capitalize(),
                 e.price, e.amount, e.cap_reduction, e.reason, e.source.file, e.source.cell]
                for e in s.evidence]
        layout = Layout("Evidence", headers, formats,
                        [10, 14, 30, 11, 9, 10, 10, 12, 60, 50, 16])
        write_evidence(ws, fmt, s, layout, rows, evidence_file)


OUTPUTS = ParticipantOutputs()
