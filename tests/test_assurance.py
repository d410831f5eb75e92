"""Assurance after payment (docs/assurance.md): a paid month's sample, drawn by the ledger's
key and recorded before evidence is asked for; the checkers' verdicts read back as a return
is; what failed recovered through the cycle, once.

The flow runs the Wigan model and its sample returns through `pbr` as a real process, as a
commissioner would: calculate, approve, `pbr assure sample`, fill in the verdicts, `pbr assure
record`, the next month drafted and approved, statements and the report. The altered-draw
tests run the same commands in the test's own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import openpyxl
import pytest

from pbr_cli.assurance.recovery import lower_bound, with_recovered
from pbr_cli.assurance.sample import Item, draw, sample_size, score, z_of
from pbr_cli.ledger.records import Adjustment
from pbr_cli.ledger.store import Ledger
from pbr_cli.model.assurance import AssuranceSpec
from tests.conftest import ROOT, pbr_in_process
from tests.ledger_places import BACKENDS, Place

SCHEME = "wigan-cohort"
MARGIN = AssuranceSpec(margin=Fraction(5, 100), confidence=Fraction(95, 100),
                       expected_rate=Fraction(10, 100), minimum=5)  # the Wigan model's


# -- the rules, by hand --------------------------------------------------------------------------

def test_the_sample_size_is_the_formula_to_the_item():
    # z = 1.959964; n0 = 1.959964² × 0.1 × 0.9 / 0.05² = 138.292519726656 (docs/assurance.md)
    assert z_of(Fraction(95, 100)) == Fraction("1.959964")
    assert z_of(Fraction(90, 100)) == Fraction("1.644854")
    # N = 400: 138.2925.../(1 + 137.2925.../400) = 102.955... → 103; N = 35 → 28.09 → 29;
    # N = 50 → 36.92 → 37; N = 3: 2.94 → 3, and at least 5 is more than there are → 3
    assert [sample_size(MARGIN, n) for n in (400, 35, 50, 3, 0)] == [103, 29, 37, 3, 0]
    share = AssuranceSpec(share=Fraction(1, 10), minimum=20)
    # 10% of 400 = 40; of 150 = 15, raised to 20; of 12: all 12; of 401 = 40.1 → 41
    assert [sample_size(share, n) for n in (400, 150, 12, 401)] == [40, 20, 12, 41]


def test_the_lower_bound_by_hand():
    # One-sided 95% Clopper–Pearson lower bounds (the beta quantile Beta(0.05; k, n−k+1)),
    # six places rounded down: 4 of 40 → 0.0348848… → 0.034884; 4 of 29 → 0.048520;
    # 3 of 22 → 0.0382235… → 0.038223; none failed → 0
    assert lower_bound(4, 40, Fraction(95, 100)) == Fraction("0.034884")
    assert lower_bound(4, 29, Fraction(95, 100)) == Fraction("0.048520")
    assert lower_bound(3, 22, Fraction(95, 100)) == Fraction("0.038223")
    assert lower_bound(0, 40, Fraction(95, 100)) == 0
    # all failed, 1 of 1: P(X ≥ 1) = p ≤ 0.05 → 0.05 exactly
    assert lower_bound(1, 1, Fraction(95, 100)) == Fraction(1, 20)


def test_the_same_key_draws_the_same_sample_and_another_key_another():
    items = [Item("P1", f"claim/{i:04d}", "", "c", Decimal("10.00")) for i in range(200)]
    one, two = b"k" * 32, b"q" * 32
    first = draw(one, "2013-04", items, 20)
    assert draw(one, "2013-04", list(reversed(items)), 20) == first  # not by their order
    assert draw(two, "2013-04", items, 20) != first
    assert draw(one, "2013-05", items, 20) != first  # each month its own
    # an item's place depends on it alone: dropping others does not move it in or out
    kept = [i for i in items if i in first or items.index(i) % 2 == 0]
    assert draw(one, "2013-04", kept, 20) == first
    assert score(one, "2013-04", "P1", "claim/0001") == score(one, "2013-04", "P1", "claim/0001")


# -- through the command line --------------------------------------------------------------------

class Council:
    """A folder with a pbr.yaml over the shipped models and sample returns, and its ledger."""

    def __init__(self, root: Path, ledger: str | None = None, processes: bool = True):
        self.root = root
        self.processes = processes  # each command a `python -m pbr_cli` of its own
        root.mkdir(parents=True, exist_ok=True)
        self.ledger = ledger or str(root / "out" / "ledger.sqlite")
        (root / "pbr.yaml").write_text(
            f"models: {ROOT / 'models'}\nreturns: {ROOT / 'sample_returns'}\n"
            f"output: {root / 'out'}\nledger: \"{self.ledger}\"\nlog: {root / 'out' / 'pbr.log'}\n"
            f"schemes:\n  {SCHEME}: {{go_live: 2013-04}}\n")

    def pbr(self, *args: str) -> subprocess.CompletedProcess:
        if not self.processes:
            return pbr_in_process(*args, cwd=self.root, env={
                "PBR_CONFIG": str(self.root / "pbr.yaml"), "PBR_USER": "J. Smith",
                "COLUMNS": "80"})
        env = {**os.environ, "PBR_CONFIG": str(self.root / "pbr.yaml"),
               "PBR_USER": "J. Smith", "COLUMNS": "80"}
        env.pop("PBR_LEDGER", None)
        return subprocess.run([sys.executable, "-m", "pbr_cli", *args], cwd=self.root, env=env,
                              capture_output=True, text=True, timeout=600)

    def paid(self, period: str) -> None:
        done = self.pbr("calculate", "-m", SCHEME, "-p", period, "--json")
        assert done.returncode in (0, 1), done.stderr
        run = json.loads(done.stdout)["ledger"]["run"]
        approved = self.pbr("approve", "-m", SCHEME, "-p", period, "--run", str(run))
        assert approved.returncode in (0, 1), approved.stderr

    def sample(self, period: str) -> dict:
        done = self.pbr("assure", "sample", "-m", SCHEME, "-p", period, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    @property
    def checkers(self) -> Path:
        return self.root / "out" / SCHEME / "assurance" / "2013-04" / f"{SCHEME}-2013-04-verdicts.xlsx"


def fill(source: Path, target: Path, verdicts: dict[tuple[str, str], tuple[str, str]],
         default: str = "valid") -> list[tuple[int, str, str, Decimal]]:
    """The checkers' workbook filled in: (provider, item) → (verdict, reason); the rest
    `default`. Returns its rows (row, provider, item, amount)."""
    wb = openpyxl.load_workbook(source)
    ws = wb["Verdicts"]
    rows = []
    for r in range(6, ws.max_row + 1):
        item, provider = ws.cell(r, 1).value, ws.cell(r, 2).value
        if not item or not provider or str(item).startswith("Verdict:"):
            continue
        verdict, reason = verdicts.get((provider, item), (default, ""))
        ws.cell(r, 5).value, ws.cell(r, 6).value = verdict, reason or None
        rows.append((r, provider, item, Decimal(str(ws.cell(r, 4).value)).quantize(Decimal("0.01"))))
    wb.save(target)
    return rows


def test_a_paid_month_is_sampled_checked_and_recovered_once(tmp_path):
    council = Council(tmp_path / "council")
    council.paid("2013-04")
    refused = council.pbr("assure", "sample", "-m", SCHEME, "-p", "2013-05")
    assert refused.returncode == 2 and "not approved" in refused.stderr  # a draft: not paid

    drawn = council.sample("2013-04")
    # each provider's sample is the formula's size (margin 5%, 95%, expected 10%, at least 5)
    sizes = {p: (d["items"], d["sampled"]) for p, d in drawn["providers"].items()}
    assert all(n == sample_size(MARGIN, big) for big, n in sizes.values())
    assert sizes["P1"] == (35, 29) and sizes["P3"] == (9, 9)
    # the draw is the ledger key's: drawn again from the key it recorded, the same items
    ledger = Ledger(council.ledger)
    try:
        key = ledger.sample_key(SCHEME)
        assert key is not None and len(key) == 32
        p1 = [i for i in drawn["items"] if i["provider"] == "P1"]
        assert [i["id"] for i in p1] == sorted((i["id"] for i in p1),
                                               key=lambda x: score(key, "2013-04", "P1", x))
    finally:
        ledger.close()
    again = council.pbr("assure", "sample", "-m", SCHEME, "-p", "2013-04")
    assert again.returncode == 2 and "sampled already" in again.stderr

    # another ledger, another key: another sample of the same month
    other = Council(tmp_path / "other")
    other.paid("2013-04")
    theirs = other.sample("2013-04")
    assert {i["id"] for i in theirs["items"] if i["provider"] == "P1"} != {i["id"] for i in p1}
    # written: the checkers' workbook, and an evidence request per provider (its items only)
    folder = council.checkers.parent
    assert (folder / f"{SCHEME}-2013-04-P3-evidence-request.pdf").stat().st_size > 1000
    request = openpyxl.load_workbook(folder / f"{SCHEME}-2013-04-P3-evidence-request.xlsx")
    listed = [r[0] for r in request["Evidence request"].iter_rows(min_row=6, values_only=True)
              if r[0] and "/" in str(r[0]) and " " not in str(r[0])]
    assert sorted(listed) == sorted(i["id"] for i in drawn["items"] if i["provider"] == "P3")

    # verdicts that do not hold are refused, naming the sheet and cell; nothing recorded
    p3 = [i for i in drawn["items"] if i["provider"] == "P3"]
    bad = tmp_path / "bad.xlsx"
    rows = fill(council.checkers, bad, {("P3", p3[0]["id"]): ("maybe", ""),
                                        ("P3", p3[1]["id"]): ("invalid", "")})
    at = {item: r for r, _, item, _ in rows}
    refused = council.pbr("assure", "record", str(bad))
    assert refused.returncode == 2
    said = " ".join(refused.stderr.split())
    assert f"Verdicts!E{at[p3[0]['id']]}: 'maybe' is not a verdict" in said
    assert f"Verdicts!F{at[p3[1]['id']]}: an invalid item needs its reason" in said

    # P3 (all 9 of its items sampled): two invalid and one with no evidence; P1: four invalid
    failed = {("P3", p3[0]["id"]): ("invalid", "no discharge letter"),
              ("P3", p3[1]["id"]): ("Invalid", "client not eligible"),
              ("P3", p3[2]["id"]): ("no evidence", "")}
    failed.update({("P1", i["id"]): ("invalid", "not on the case list") for i in p1[:4]})
    good = tmp_path / "good.xlsx"
    rows = fill(council.checkers, good, failed)
    done = council.pbr("assure", "record", str(good), "--json")
    assert done.returncode == 0, done.stderr
    recorded = json.loads(done.stdout)

    amount = {(p, item): a for _, p, item, a in rows}
    p3_items = sum(amount[k] for k in failed if k[0] == "P3")
    p1_items = sum(amount[k] for k in failed if k[0] == "P1")
    # P1: 4 of 29 failed; bound 0.048520 (by hand above); its 6 items not sampled were paid
    # £8,475.00 less what the 29 sampled were paid
    p1_unsampled = Decimal("8475.00") - Decimal(drawn["providers"]["P1"]["sampled_paid"])
    p1_extra = (Decimal("0.048520") * p1_unsampled).quantize(Decimal("0.01"), "ROUND_HALF_UP")
    assert recorded["providers"]["P1"]["amount"] == str(p1_extra)
    assert recorded["providers"]["P3"]["amount"] == "0.00"  # nothing left unsampled
    due = p3_items + p1_items + p1_extra
    assert sum(Decimal(r["amount"]) for r in recorded["recovered"]) == due

    # the next month drafted carries every recovery, with its reason and arithmetic
    draft = council.pbr("calculate", "-m", SCHEME, "-p", "2013-05", "--json")
    schedule = json.loads(draft.stdout)
    adjustments = schedule["adjustments"]
    assert sum(Decimal(a["difference"]) for a in adjustments) == -due
    extrapolated = next(a for a in adjustments if a["component"] == "recovery: extrapolated")
    assert "4 of 29 sampled failed; one-sided 95% Clopper–Pearson lower bound 0.048520" in \
        extrapolated["reason"]
    assert any("client not eligible" in a["reason"] for a in adjustments)
    run = schedule["ledger"]["run"]
    assert council.pbr("approve", "-m", SCHEME, "-p", "2013-05", "--run", str(run)).returncode \
        in (0, 1)

    # never twice: the month after carries none of it
    later = json.loads(council.pbr("calculate", "-m", SCHEME, "-p", "2013-06", "--json").stdout)
    assert not [a for a in later["adjustments"] if a["component"].startswith("recovery: ")]
    # recording the verdicts again is refused: what was recovered stands
    assert council.pbr("assure", "record", str(good)).returncode == 2

    # P3's statement of 2013-05 shows its own recoveries; the report, every one
    st = council.pbr("statements", "-m", SCHEME, "-p", "2013-05", "--provider", "P3")
    assert st.returncode == 0, st.stderr
    book = openpyxl.load_workbook(council.root / "out" / SCHEME / "statements" / "2013-05" /
                                  f"{SCHEME}-2013-05-P3-statement.xlsx")
    shown = [r for r in book["Adjustments"].iter_rows(values_only=True) if r and r[1] == "P3"]
    assert Decimal(str(sum(r[5] for r in shown))).quantize(Decimal("0.01")) == -p3_items
    report = json.loads(council.pbr("report", "-m", SCHEME, "-p", "2013-Q2", "--json").stdout)
    table = report["reports"][0]["tables"]
    assert sum(Decimal(r["difference"]) for r in table["adjustments"]["rows"]) == -due
    april = next(r for r in table["reconciliation"]["rows"] if r["month"] == "2013-04")
    assert Decimal(april["to_adjust"]) == 0  # a recovery is not owed back

    # a later adjustment of the month says the recovery stands
    ledger = Ledger(council.ledger)
    try:
        said = with_recovered(ledger, SCHEME, [Adjustment("2013-04", "P3", "presentation",
                                                          Decimal("100.00"), Decimal("50.00"),
                                                          "P3's 2013-04 return was replaced")])
    finally:
        ledger.close()
    assert f"£{p3_items:,} of 2013-04 was recovered from P3 after its sample and stands" in \
        said[0].reason
    assert council.pbr("ledger", "verify").returncode == 0


@pytest.mark.parametrize("kind", BACKENDS)
def test_an_altered_draw_is_caught_by_verify(tmp_path, kind):
    place = Place.new(kind, tmp_path)
    council = Council(tmp_path / "council", place.arg, processes=False)
    council.paid("2013-04")
    council.sample("2013-04")
    assert place.verify() == []
    # a provider's friend in the finance team swaps a sampled claim for another
    place.tamper("UPDATE samples SET content = replace(content, 'WG0', 'WG9')")
    found = place.verify()
    assert found and "(sample 1): its content has changed" in found[0]
    refused = council.pbr("assure", "sample", "-m", SCHEME, "-p", "2013-05")
    assert refused.returncode == 2 and "does not verify" in refused.stderr
