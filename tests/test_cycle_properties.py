"""Random histories of the monthly cycle: returns arriving late, resubmitted, runs skipped,
approvals given, runs stopped at random points. Whatever happens, once everything has
arrived and the cycle has caught up, every month from go-live is approved exactly once and
what was paid for each month is exactly what it is worth now: nothing paid twice, nothing
never paid."""

from __future__ import annotations

import os
import random
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pbr_cli.errors import Interrupted
from pbr_cli.ledger.store import Ledger
from tests.ledger_places import BACKENDS, Place
from tests.test_cycle import SCHEME, Authority, nonzero, paid

MONTHS = ["2013-04", "2013-05", "2013-06"]  # the last is filed only at the end
PROVIDERS = ["P1", "P2"]

arrival = st.sampled_from([0, 1, 2, None])  # the step a return arrives at (None: at the end)
plan = st.fixed_dictionaries({
    "approval": st.sampled_from(["manual", "automatic"]),
    "arrivals": st.lists(arrival, min_size=4, max_size=4),  # (P1, P2) x (April, May)
    "resubmit": st.lists(st.sampled_from([None, 1, 2, 3]), min_size=4, max_size=4),
    "actions": st.lists(st.sampled_from(["run", "skip", "approve", "kill-before", "kill-after"]),
                        min_size=3, max_size=3),
    "seed": st.integers(0, 10_000),
    # SQLite, and PostgreSQL where the tests are given a server (.ci/run starts one)
    "backend": st.sampled_from([b for b in BACKENDS
                                if b == "sqlite" or os.environ.get("PBR_TEST_POSTGRESQL")]),
})


def _killing(monkeypatch, where: str):
    """Stop the next recording: before the ledger commits (inside the transaction), or after
    it commits and before the schedule is renamed into place."""
    import pbr_cli.cycle.calculate as jobs
    import pbr_cli.ledger.store as ledger_module

    if where == "before":
        real = ledger_module.Ledger._insert_run

        def stop(self, run_id, r):
            real(self, run_id, r)
            raise Interrupted("SIGKILL")

        monkeypatch.setattr(ledger_module.Ledger, "_insert_run", stop)
    else:  # a killed process leaves its temporary file where it was
        def stop_commit(self):
            raise Interrupted("SIGKILL")

        monkeypatch.setattr(jobs.PendingFile, "commit", stop_commit)
        monkeypatch.setattr(jobs.PendingFile, "discard", lambda self: None)


def _approve_next(a: Authority) -> None:
    status = a.status()
    nxt = next((m for m in status["months"] if m["month"] == status["next_to_approve"]), None)
    if nxt is not None and nxt["state"] == "draft":
        a.pbr("approve", "-m", SCHEME, "-p", nxt["month"], "--run", str(nxt["run"]))


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(plan=plan)
def test_every_month_is_paid_exactly_once(tmp_path_factory, plan):
    import pytest

    monkeypatch = pytest.MonkeyPatch()
    try:
        _history(tmp_path_factory.mktemp("history"), plan, monkeypatch)
    finally:
        monkeypatch.undo()


def _history(root, plan, monkeypatch) -> None:
    monkeypatch.delenv("PBR_LEDGER", raising=False)
    monkeypatch.delenv("PBR_CONFIG", raising=False)
    a = Authority(root, approval=plan["approval"])
    if plan["backend"] != "sqlite":
        a.use(Place.new(plan["backend"], root))
    rng = random.Random(plan["seed"])
    files = [(p, m) for m in MONTHS[:2] for p in PROVIDERS]
    arrive = dict(zip(files, plan["arrivals"], strict=True))
    resubmit = {}
    for f, when in zip(files, plan["resubmit"], strict=True):
        if when is not None and (arrive[f] is None or when > arrive[f]):
            resubmit[f] = when
    for step, action in enumerate(plan["actions"]):
        for (p, m), when in arrive.items():
            if when == step:
                a.file(p, m, voids=rng.randint(0, 40))
        for (p, m), when in resubmit.items():
            if when == step and arrive[(p, m)] is not None and arrive[(p, m)] < step:
                a.file(p, m, voids=rng.randint(41, 90), version=2)
        if action == "skip":
            continue
        if action == "approve" and a.place.state() == "present":
            _approve_next(a)
            continue
        if action.startswith("kill"):
            with monkeypatch.context() as m:
                _killing(m, action.removeprefix("kill-"))
                try:
                    a.pbr("run")
                except Interrupted:
                    pass
            continue
        a.pbr("run")
    # Everything arrives (the late, the resubmissions due, and the last month), then the
    # cycle catches up: a run, and for manual schemes approvals in order.
    for (p, m), when in arrive.items():
        if when is None:
            a.file(p, m, voids=rng.randint(0, 40))
    for (p, m), when in resubmit.items():
        if when >= len(plan["actions"]) and arrive[(p, m)] is not None:
            a.file(p, m, voids=rng.randint(41, 90), version=2)
    a.month(MONTHS[-1])
    for _ in range(2 * len(MONTHS) + 2):
        assert a.pbr("run").exit_code in (0, 1)
        if a.status()["next_to_approve"] > MONTHS[-1]:
            break
        _approve_next(a)
    status = a.status()
    assert [(m["month"], m["state"]) for m in status["months"]] == [(m, "approved")
                                                                    for m in MONTHS], status
    ledger = Ledger(a.place.arg)
    try:
        assert ledger.verify() == []
        approvals = ledger.approvals(SCHEME)
        assert sorted(x.period for x in approvals) == MONTHS  # each once
        approved_due = sum((ledger.run(x.run_id).payment for x in approvals),
                           Decimal("0.00"))
    finally:
        ledger.close()
    worth = {m: nonzero(a.worth_now(m)) for m in MONTHS}
    for m in MONTHS:
        assert nonzero(paid(a.place.arg, m)) == worth[m], m  # nothing twice, nothing never
    assert approved_due == sum((v for w in worth.values() for v in w.values()), Decimal("0.00"))
    # No schedule without its run: every approved schedule is there, as approved.
    from pbr_cli.cycle.calculate import sha256_of

    ledger = Ledger(a.place.arg)
    for x in ledger.approvals(SCHEME):
        from pathlib import Path

        assert sha256_of(Path(x.schedule)) == x.schedule_sha256
    ledger.close()
    assert not list(a.root.rglob("*.tmp"))
    # nothing a workbook was made from is left in pbr's private folders either
    assert [p for p in a.root.rglob("*") if ".pbr-tmp" in p.parts and p.is_file()] == []
