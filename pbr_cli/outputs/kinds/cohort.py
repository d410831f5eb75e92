"""A cohort scheme in the outputs: the Evidence sheet lists every event paid or refused,
with the proportion, window and band that priced it and the return row it came from."""

from __future__ import annotations

from typing import Any

from pbr_cli.outputs.kinds import EvidenceFile
from pbr_cli.outputs.schedule import (
    Layout,
    code_label,
    column_header,
    evidence_sheet,
    write_evidence,
)
from pbr_cli.outputs.xlsx import Formats
from pbr_cli.pricing.records import Schedule


class CohortOutputs:
    def evidence(self, wb: Any, fmt: Formats, s: Schedule,
                 evidence_file: EvidenceFile | None) -> None:
        ws = evidence_sheet(wb, fmt, s)
        cohort = s.model.cohort
        assert cohort is not None  # (a cohort scheme's model has its cohort)
        headers = ["Provider code", "Client ID", "Event", "Date", column_header(s, cohort.group),
                   "Status", "Price", "Amount", "Proportion", "Achieved", "Cohort", "Window",
                   "Band", "Reason", "Source file", "Source row"]
        formats = [fmt.text, fmt.text, fmt.text, fmt.date, fmt.indented, fmt.text, fmt.money,
                   fmt.money, fmt.percent, fmt.integer, fmt.integer, fmt.indented, fmt.text,
                   fmt.text, fmt.text, fmt.text]
        labels: dict[str, str] = {}  # group code -> label
        windows: dict = {None: ""}
        rows = []
        for e in s.evidence:
            label = labels.get(e.group)
            if label is None:
                label = labels[e.group] = code_label(s, cohort.group, e.group)
            window = windows.get(e.window)
            if window is None:
                window = windows[e.window] = str(e.window)
            source = e.source
            rows.append([e.provider, e.client, e.component_label, e.day, label,
                         "Paid" if e.status == "paid" else e.status.capitalize(), e.price,
                         e.amount, e.proportion, e.numerator, e.denominator, window, e.band,
                         e.reason, source.file,
                         f"{source.sheet}!{source.column or ''}{source.row}"])
        layout = Layout("Evidence", headers, formats,
                        [10, 12, 26, 11, 10, 9, 10, 10, 11, 9, 8, 27, 10, 60, 50, 16])
        write_evidence(ws, fmt, s, layout, rows, evidence_file)


OUTPUTS = CohortOutputs()
