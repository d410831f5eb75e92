"""A per-participant scheme in a period report and a publication: a service-level scheme's
tables, with events, what the maximum per participant took, and counts of events."""

from __future__ import annotations

from pbr_cli.model.records import Model
from pbr_cli.reporting.kinds.events import EventReporting


class ParticipantReporting(EventReporting):
    def cap_label(self, model: Model) -> str | None:
        people = model.participants
        if people is None or people.maximum is None:
            return None
        return "Reduced by the maximum per participant"


REPORTING = ParticipantReporting()
