"""What was paid before for a provider with several register entries (docs/models.md, "What
was paid before"): the ledger keeps an adjustment by provider and component, and it is
counted for the provider's one entry whose approved lines of the component are not all £0;
where several of its entries were paid the component, the formula is not worked out.

The page's fee-for-service model (tests/test_earlier_payments.py's `Scheme`), with P1
holding a second contract, C3, beside C1. Each month runs through a real ledger with
`pbr run` and `pbr approve`, in the test's own process."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from pbr_cli.outputs.template import Filling, ReturnFor, write_return
from pbr_cli.periods import Month
from pbr_cli.returns.register import load_register
from tests.test_earlier_payments import MODEL, Scheme

# month -> C1's (provisional, verified) cases, as in the page's worked example
C1 = {"2016-01": (50, 46), "2016-02": (50, 55), "2016-03": (None, 52)}
P2 = {"2016-01": (70, 40), "2016-02": (70, 45), "2016-03": (None, 35)}


def _with_c3(tmp_path: Path) -> Scheme:
    """The page's scheme, its register with P1's second contract C3 from January 2016."""
    scheme = Scheme(tmp_path)
    path = scheme.root / "models" / f"{MODEL}.register.csv"
    path.write_text(path.read_text() + "C3,P1,Northside Rehabilitation,2016-01-01\n")
    scheme.register = load_register(scheme.model, path)
    return scheme


def _file(scheme: Scheme, month: str, c3: tuple[int | None, int] | None,
          c1: tuple[int | None, int] | None = None, version: int = 1) -> None:
    """P1's return for the month, a row for C1 and, if given, one for C3; and P2's."""
    rows = [("C1", c1 or C1[month])] + ([("C3", c3)] if c3 is not None else [])
    name = f"P1-{month}" + (f"-v{version}" if version > 1 else "")
    write_return(scheme.root / "returns" / MODEL / month / f"{name}.xlsx",
                 ReturnFor(scheme.model, scheme.register, "P1", Month.parse(month)),
                 Filling({"Volumes": [{"contract_id": c, "provisional_cases": p,
                                       "verified_cases": v} for c, (p, v) in rows]},
                         filled_only=True))
    if version == 1:
        scheme.file("P2", month, *P2[month])


def _entry_lines(scheme: Scheme, run: int) -> dict[tuple[str, str], Decimal]:
    """The run's payment lines in the ledger, by register entry and component."""
    from pbr_cli.ledger.records import LineKind
    from pbr_cli.ledger.store import Ledger

    ledger = Ledger(scheme.ledger, readonly=True)
    try:
        return {(ln.entry, ln.component): ln.amount for ln in ledger.lines(run)
                if ln.kind == LineKind.PAYMENT}
    finally:
        ledger.close()


def test_an_adjustment_is_counted_for_the_one_entry_paid_the_component(tmp_path):
    """C3 reports no cases in January and February (fees £0.00, its lines all £0) and 10
    verified in March. January and February approved; P1 then resubmits January with C1 at
    55 provisional: March's draft carries January's fees adjustment for P1, 55 × £80 −
    £4,000 = +£400.00, and counts it for C1, the one of P1's entries paid fees: C1's
    reconciliation (46 + 55 + 52) × £80 − (£4,400 + £4,000) = £12,240 − £8,400 =
    £3,840.00; C3's 10 × £80 − £0 = £800.00. Approved, P1's year is (153 + 10) × £80 =
    £13,040.00: C1's fees £8,000 + the adjustment £400 + £3,840, and C3's £800."""
    scheme = _with_c3(tmp_path)
    for month, c3 in (("2016-01", (0, 0)), ("2016-02", (0, 0)), ("2016-03", (None, 10))):
        _file(scheme, month, c3)
    runs = scheme.run()
    assert _entry_lines(scheme, runs["2016-01"])[("C3", "fees")] == Decimal("0.00")
    scheme.approve("2016-01", runs["2016-01"])
    scheme.approve("2016-02", scheme.run()["2016-02"])
    _file(scheme, "2016-01", (0, 0), c1=(55, 46), version=2)
    run = scheme.run()["2016-03"]
    lines = _entry_lines(scheme, run)
    assert (lines[("C1", "reconciliation")], lines[("C3", "reconciliation")]) == (
        Decimal("3840.00"), Decimal("800.00"))
    failed = scheme.pbr("calculate", "-m", MODEL, "-p", "2016-03", "--dry-run", "--json")
    assert "calculation-failed" not in failed.stdout
    scheme.approve("2016-03", run)
    assert scheme.paid() == {"P1": Decimal("13040.00"), "P2": Decimal("9600.00")}


def test_an_adjustment_of_a_component_two_entries_were_paid_is_not_placed(tmp_path):
    """C3 paid fees too (20 provisional cases in January: £1,600.00). P1's January
    resubmitted (C1 at 55): the +£400.00 adjustment is P1's, and C1 and C3 were both paid
    fees, so which entry it adjusts is not known: March's reconciliation is not worked out
    for either (calculation-failed, saying why and what would place it), and nothing of it
    is paid."""
    scheme = _with_c3(tmp_path)
    for month, c3 in (("2016-01", (20, 20)), ("2016-02", (0, 0)), ("2016-03", (None, 10))):
        _file(scheme, month, c3)
    runs = scheme.run()
    scheme.approve("2016-01", runs["2016-01"])
    scheme.approve("2016-02", scheme.run()["2016-02"])
    _file(scheme, "2016-01", (20, 20), c1=(55, 46), version=2)
    done = scheme.pbr("calculate", "-m", MODEL, "-p", "2016-03", "--dry-run", "--json")
    said = [p["message"] for p in json.loads(done.stdout)["problems"]
            if p["code"] == "calculation-failed"]
    assert len(said) == 2, done.stdout
    for entry, message in zip(("C1", "C3"), said, strict=True):
        assert message == (
            f"contract {entry}, Year-end reconciliation: £400.00 of fees for 2016-01 is "
            "known from the ledger for P1 as a whole (an adjustment is kept by provider) and "
            "2 of its entries in 2016-01 were paid fees (C1, C3): which entry it adjusts is "
            f"not known, so paid_before_in_year() cannot be worked out for {entry}; it needs "
            "one entry of P1 paid fees (the others' lines £0), or adjustments kept by "
            "register entry")


@pytest.mark.parametrize(("c3", "owed"), [((0, 30), "3200.00"), ((20, 30), "1600.00")])
def test_with_no_adjustment_each_entry_reads_its_own_lines(tmp_path, c3, owed):
    """No return resubmitted: each of P1's entries reads its own approved lines, whether
    C3 was paid fees or not. C1: £12,240 − £8,000 = £4,240.00; C3, 30 + 10 verified cases:
    40 × £80 − its fees (£0.00, or 20 × £80 = £1,600.00) = £3,200.00 or £1,600.00."""
    scheme = _with_c3(tmp_path)
    _file(scheme, "2016-01", c3)
    _file(scheme, "2016-02", (0, 10))
    _file(scheme, "2016-03", (None, 0))
    runs = scheme.run()
    scheme.approve("2016-01", runs["2016-01"])
    scheme.approve("2016-02", scheme.run()["2016-02"])
    lines = _entry_lines(scheme, scheme.run()["2016-03"])
    assert lines[("C1", "reconciliation")] == Decimal("4240.00")
    assert lines[("C3", "reconciliation")] == Decimal(owed)
