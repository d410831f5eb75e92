"""Revisions (docs/publication.md, "Revisions"): a month published before a late return and
again after it. Someone who knows the size of the change (the provider that sent it, say)
intersects the two intervals; with the month rounded afresh, 4 of 17 revised Wigan figures
were narrowed below 5 values. Now a published month figure is frozen: a later release shows
it as first published plus the change, rounded on its own, whose draw depends on the change
alone; so knowing the change tells nothing more of the month than its first release did."""

from __future__ import annotations

import copy

from pbr_cli.ledger.records import StoredPublication
from pbr_cli.reporting.publication import build_publication
from tests.test_publication import KEY, months_of


def _late(ps, provider: str):
    """The same months without one provider's lines in its first month: as if its return
    came late (published first without it, then with it)."""
    ps = copy.deepcopy(ps)
    for p in ps.schedules[0].providers:
        if p.provider == provider:
            p.lines = []
    return ps


def test_knowing_a_revision_s_size_narrows_no_month_figure_below_five_values():
    b = 5
    narrowed, revised = [], 0
    for scheme, period in (("wigan-cohort", "2013-Q2"), ("wigan-cohort", "2012-Q3"),
                           ("troubled-families", "2012-Q3")):
        full = months_of(scheme).period(period)
        for provider in sorted({p.provider for p in full.schedules[0].providers}):
            before = build_publication(_late(full, provider), KEY)
            rows = [StoredPublication(1, scheme, period, "", "", "", before.figures_json())]
            after = build_publication(full, KEY, rows)
            for atom, x2 in after.true.items():
                x1 = before.true[atom]
                if x1 == x2:
                    assert after.rounded[atom] == before.rounded[atom]
                    continue
                revised += 1
                d = x2 - x1  # what the attacker knows
                r1, r2 = before.rounded[atom], after.rounded[atom]
                # The attacker reads the method on the release. The values x1 could have: in
                # r1 ± (b - 1), at least 0, and such that the method could show r2: rounded
                # afresh, x1 + d must lie in r2 ± (b - 1); frozen, r2 is r1 plus d rounded,
                # whatever x1 was (so it must only be that r2 - r1 lies within b of d).
                frozen = "as first published" in after.method()
                if frozen:  # (shown at 0 where r1 plus the rounded change is below it)
                    assert abs(r2 - r1 - d) < b or (r2 == 0 and r1 + d < b), atom
                possible = [x for x in range(max(0, r1 - b + 1), r1 + b)
                            if frozen or abs(r2 - x - d) < b]
                if len(possible) < b:
                    narrowed.append((scheme, period, atom, x1, x2, r1, r2, possible))
    assert revised >= 17, revised  # the samples give the attack something to find
    assert narrowed == [], narrowed[:5]
