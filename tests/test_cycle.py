"""The payment cycle (docs/payment-cycle.md): every month paid exactly once, drafts and
approvals, a tamper-evident ledger, and a monthly run that is safe unattended.

Each test sets up an authority's folder as a council would (a pbr.yaml, the Birmingham model
with a small contract register beside it, returns filed by month) and drives `pbr` as a
user does: through the command line, and where it matters as a real process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from pbr_cli.ledger.store import Ledger
from pbr_cli.model import load_model
from pbr_cli.outputs.template import write_template
from pbr_cli.periods import Month
from pbr_cli.returns.register import load_register
from tests.conftest import MODEL_PATH, ROOT, WORKED_REGISTER, outcomes, write_register
from tests.ledger_places import BACKENDS, Place

runner = CliRunner()
SCHEME = "birmingham-90-10"


class Authority:
    """An authority's folder: pbr.yaml, models/ (the shipped Birmingham model and a small
    register beside it), returns/<model>/<YYYY-MM>/, and out/."""

    def __init__(self, root: Path, approval: str = "manual", go_live: str | None = None,
                 place: Place | None = None):
        self.root = root
        models = root / "models"
        models.mkdir(parents=True)
        shutil.copy(MODEL_PATH, models / MODEL_PATH.name)
        write_register(models / f"{SCHEME}.register.csv", WORKED_REGISTER)
        self.model = load_model(models / MODEL_PATH.name)
        self.register = load_register(self.model)
        self.returns = root / "returns" / SCHEME
        self.returns.mkdir(parents=True)
        settings = [f"approval: {approval}"] + ([f"go_live: {go_live}"] if go_live else [])
        self.config = root / "pbr.yaml"
        self.config.write_text("models: models\nreturns: returns\noutput: out\n"
                               f"schemes:\n  {SCHEME}: {{{', '.join(settings)}}}\n")
        self.ledger = root / "out" / "ledger.sqlite"
        self.log = root / "out" / "pbr.log"
        self.place = Place(str(self.ledger), "sqlite")
        if place is not None:
            self.use(place)

    def use(self, place: Place) -> None:
        """Record in `place` (a ledger in PostgreSQL, say) rather than out/ledger.sqlite."""
        lines = [ln for ln in self.config.read_text().splitlines() if not ln.startswith("ledger:")]
        if place.kind != "sqlite":
            lines.append(f'ledger: "{place.arg}"')
        self.config.write_text("\n".join(lines) + "\n")
        self.place = place

    @classmethod
    def copied(cls, root: Path) -> Authority:
        """An authority's folder copied from another (its ledger, log and outputs too)."""
        a = cls.__new__(cls)
        a.root, a.config = root, root / "pbr.yaml"
        a.model = load_model(root / "models" / MODEL_PATH.name)
        a.register = load_register(a.model)
        a.returns = root / "returns" / SCHEME
        a.ledger, a.log = root / "out" / "ledger.sqlite", root / "out" / "pbr.log"
        a.place = Place(str(a.ledger), "sqlite")
        return a

    def file(self, provider: str, month: str, voids: int = 10, version: int = 1,
             achieved: int = 4) -> Path:
        """A return: P1 runs S001 (and F010 from June), P2 runs S002."""
        m = Month.parse(month)
        if provider == "P1":
            rows = {"Utilisation": [{"service_id": "S001", "void_days": voids}],
                    "Outcomes": outcomes("S001", f"C{m.month}", date(m.year, m.month, 3),
                                         achieved)}
            if m >= Month(2013, 6):
                rows["Utilisation"].append({"service_id": "F010", "users_supported": 40})
        else:
            rows = {"Utilisation": [{"service_id": "S002", "void_days": voids}],
                    "Outcomes": outcomes("S002", f"D{m.month}", date(m.year, m.month, 10),
                                         achieved)}
        name = f"{provider}-{m}" + (f"-v{version}" if version > 1 else "") + ".xlsx"
        path = self.returns / str(m) / name
        write_template(path, self.model, self.register, provider, m, rows, filled_only=True)
        return path

    def month(self, month: str, **kw) -> None:
        for provider in ("P1", "P2"):
            self.file(provider, month, **kw)

    def pbr(self, *args: str):
        result = runner.invoke(app, [*args, "--config", str(self.config)]
                               if args[0] not in ("ledger",) else
                               [*args[:2], *args[2:], "--config", str(self.config)])
        assert "Traceback" not in result.output, result.output
        return result

    def pbr_json(self, *args: str) -> dict:
        result = self.pbr(*args, "--json")
        assert result.exit_code in (0, 1), result.output
        return json.loads(result.stdout)

    def process(self, *args: str, **kw) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k not in ("PBR_LEDGER", "PBR_CONFIG")}
        return subprocess.run([sys.executable, "-m", "pbr_cli", *args], cwd=self.root,
                              capture_output=True, text=True, timeout=180, env=env, **kw)

    def approve(self, month: str) -> dict:
        status = self.status()
        run = next(m["run"] for m in status["months"] if m["month"] == month)
        return self.pbr_json("approve", "-m", SCHEME, "-p", month, "--run", str(run), "--by",
                             "A. Officer")

    def status(self) -> dict:
        return self.pbr_json("ledger", "status")["schemes"][0]

    def worth_now(self, month: str) -> dict[tuple[str, str], Decimal]:
        from pbr_cli.pricing import calculate, history_months
        from pbr_cli.pricing.worth import payments_by_component
        from pbr_cli.returns.collect import read_and_check
        from pbr_cli.returns.folders import returns_for_months

        m = Month.parse(month)
        files = returns_for_months(self.returns, history_months(self.model, m))
        collection = read_and_check(files, self.model, self.register)
        return payments_by_component(calculate(self.model, self.register, m,
                                               collection.returns))


@pytest.fixture
def authority(tmp_path, monkeypatch):
    monkeypatch.delenv("PBR_LEDGER", raising=False)
    monkeypatch.delenv("PBR_CONFIG", raising=False)
    monkeypatch.setenv("PBR_USER", "test officer")
    return Authority(tmp_path / "council")


def paid(ledger_path: Path, month: str) -> dict[tuple[str, str], Decimal]:
    ledger = Ledger(ledger_path)
    try:
        amounts, _ = ledger.paid(SCHEME, month)
        return {k: v for k, v in amounts.items()}
    finally:
        ledger.close()


def nonzero(amounts: dict) -> dict:
    return {k: v for k, v in amounts.items() if v}


# -- a month's life ------------------------------------------------------------------------------

def test_a_skipped_month_is_drafted_when_its_returns_come_and_paid_once(authority):
    """July's returns arrive after August is calculated: July is drafted, then paid; before,
    it was 'closed' and never paid."""
    for month in ("2013-04", "2013-05", "2013-06", "2013-08"):
        authority.month(month)
    first = authority.pbr("run")
    assert first.exit_code == 1, first.output  # July: nothing filed, everyone withheld
    months = {m["month"]: m for m in authority.status()["months"]}
    assert [months[m]["state"] for m in ("2013-04", "2013-05", "2013-06", "2013-07",
                                         "2013-08")] == ["draft"] * 5
    assert months["2013-07"]["pbr"] == "0.00"
    authority.month("2013-07")  # the late returns
    second = authority.pbr("run")
    assert second.exit_code == 0, second.output
    months = {m["month"]: m for m in authority.status()["months"]}
    assert Decimal(months["2013-07"]["pbr"]) > 0
    for month in ("2013-04", "2013-05", "2013-06", "2013-07", "2013-08"):
        authority.approve(month)
        authority.pbr("run")  # the next month's draft, worked out after this approval
    status = authority.status()
    assert [m["state"] for m in status["months"]] == ["approved"] * 5
    for month in ("2013-04", "2013-05", "2013-06", "2013-07", "2013-08"):
        assert nonzero(paid(authority.ledger, month)) == nonzero(authority.worth_now(month))


def test_going_live_with_history_accounts_for_every_month(authority, tmp_path):
    """A first run on months of history approves each of them in order (automatic approval),
    not only the latest."""
    auto = Authority(tmp_path / "pilot", approval="automatic")
    for month in ("2013-04", "2013-05", "2013-06"):
        auto.month(month)
    result = auto.pbr("run")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for month in ("2013-04", "2013-05", "2013-06"):
        assert f"{SCHEME} {month}: APPROVED run" in text
    status = auto.status()
    assert [(m["month"], m["state"]) for m in status["months"]] == [
        ("2013-04", "approved"), ("2013-05", "approved"), ("2013-06", "approved")]
    assert all(m["approved_by"] == "pbr" for m in status["months"])
    assert sorted(p.name for p in (auto.root / "out" / SCHEME).iterdir()) == [
        f"{SCHEME}-2013-0{n}-schedule.xlsx" for n in (4, 5, 6)]
    # A go-live month: the ledger accounts from it, not from the scheme's start.
    later = Authority(tmp_path / "later", approval="automatic", go_live="2013-05")
    for month in ("2013-04", "2013-05"):
        later.month(month)
    assert later.pbr("run").exit_code == 0
    assert [m["month"] for m in later.status()["months"]] == ["2013-05"]


def test_an_approved_schedule_is_never_rewritten(authority):
    """Re-running an approved month writes nothing; a change is adjusted on the next month."""
    for month in ("2013-04", "2013-05"):
        authority.month(month)
    authority.pbr("run")
    authority.approve("2013-04")
    approved = authority.root / "out" / SCHEME / f"{SCHEME}-2013-04-schedule.xlsx"
    before = approved.read_bytes()
    authority.file("P1", "2013-04", voids=120, version=2)  # a corrected April
    again = authority.pbr_json("calculate", "-m", SCHEME, "-p", "2013-04")
    assert again["ledger"]["status"] == "already-approved"
    assert again["standing"]["state"] == "NOT RECORDED"
    assert approved.read_bytes() == before
    may = authority.pbr_json("calculate", "-m", SCHEME, "-p", "2013-05")
    assert may["ledger"]["status"] == "draft"
    april = [a for a in may["adjustments"] if a["month"] == "2013-04"]
    assert april and all("P1's 2013-04 return was replaced (resubmitted)" == a["reason"]
                         for a in april)
    assert sum(Decimal(a["difference"]) for a in april) < 0
    # The draft is named as such everywhere: the file, its banner, the console.
    draft = authority.root / "out" / SCHEME / f"{SCHEME}-2013-05-draft.xlsx"
    import openpyxl

    cells = [c for row in openpyxl.load_workbook(draft)["Summary"].iter_rows(max_row=3,
                                                                             values_only=True)
             for c in row if c]
    assert any(f"DRAFT — ledger run {may['ledger']['run']}" in str(c) for c in cells)
    shown = authority.pbr("calculate", "-m", SCHEME, "-p", "2013-05")
    assert f"DRAFT — ledger run {may['ledger']['run']}" in " ".join(shown.output.split())


def test_a_recorded_schedule_is_made_again_byte_for_byte(authority, tmp_path):
    for month in ("2013-04", "2013-05"):
        authority.month(month)
    authority.pbr("run")
    first_draft = authority.status()["months"][0]["run"]
    authority.file("P2", "2013-05", voids=30, version=2)
    authority.approve("2013-04")
    approved = authority.root / "out" / SCHEME / f"{SCHEME}-2013-04-schedule.xlsx"
    copy = tmp_path / "copy.xlsx"
    result = authority.pbr("ledger", "export", str(first_draft), "-o", str(copy))
    assert result.exit_code == 0, result.output
    assert "byte-identical to the schedule recorded" in " ".join(result.output.split())
    assert copy.read_bytes() == approved.read_bytes()
    # A month approved: calculating it again with -o writes a copy marked NOT RECORDED.
    shown = authority.pbr_json("calculate", "-m", SCHEME, "-p", "2013-04", "-o",
                               str(tmp_path / "now.xlsx"))
    assert shown["ledger"]["status"] == "already-approved" and (tmp_path / "now.xlsx").exists()
    assert approved.read_bytes() == copy.read_bytes()
    # A draft superseded since: made again, saying so; its returns changed: refused.
    may_runs = [r for r in authority.pbr_json("ledger", "list")["runs"]
                if r["month"] == "2013-05"]
    authority.file("P1", "2013-04", voids=90, version=2)
    refused = authority.pbr("ledger", "export", str(first_draft), "-o", str(tmp_path / "x.xlsx"))
    assert refused.exit_code == 2 and "are not those run" in " ".join(refused.output.split())
    assert may_runs and all(r["state"] in ("draft", "superseded") for r in may_runs)


def test_approval_names_the_draft_and_goes_in_order(authority):
    for month in ("2013-04", "2013-05"):
        authority.month(month)
    authority.pbr("run")
    runs = {m["month"]: m["run"] for m in authority.status()["months"]}
    out_of_order = authority.pbr("approve", "-m", SCHEME, "-p", "2013-05", "--run",
                                 str(runs["2013-05"]))
    assert out_of_order.exit_code == 2 and "approve 2013-04 first" in out_of_order.output
    wrong = authority.pbr("approve", "-m", SCHEME, "-p", "2013-04", "--run", "99")
    assert wrong.exit_code == 2 and "is not the current draft" in wrong.output
    authority.file("P2", "2013-04", voids=50, version=2)  # changed after the draft was made
    changed = authority.pbr("approve", "-m", SCHEME, "-p", "2013-04", "--run",
                            str(runs["2013-04"]))
    assert changed.exit_code == 2 and "calculate the month again" in changed.output
    authority.pbr("run")
    fresh = authority.status()["months"][0]
    assert fresh["run"] != runs["2013-04"]
    ledger = Ledger(authority.ledger)
    sha = ledger.run(fresh["run"]).schedule_sha256
    ledger.close()
    ok = authority.pbr_json("approve", "-m", SCHEME, "-p", "2013-04", "--sha256", sha[:16],
                            "--by", "J. Smith")
    assert ok["standing"]["state"] == "APPROVED" and ok["standing"]["approved_by"] == "J. Smith"
    twice = authority.pbr("approve", "-m", SCHEME, "-p", "2013-04", "--run", str(fresh["run"]))
    assert twice.exit_code == 2 and "already approved" in twice.output
    may = next(m["run"] for m in authority.status()["months"] if m["month"] == "2013-05")
    stale = authority.pbr("approve", "-m", SCHEME, "-p", "2013-05", "--run", str(may))
    assert stale.exit_code == 2 and "calculate 2013-05 again" in stale.output
    # The draft file is gone, the approved one is there, and the log says who approved what.
    folder = authority.root / "out" / SCHEME
    assert not (folder / f"{SCHEME}-2013-04-draft.xlsx").exists()
    assert (folder / f"{SCHEME}-2013-04-schedule.xlsx").exists()
    log = authority.log.read_text()
    assert f"{SCHEME} 2013-04: approved by J. Smith: run {fresh['run']}" in log


def test_reports_say_what_was_approved(authority):
    _two_approved(authority)
    report = authority.pbr_json("report", "-p", "2013-Q2", "-m", SCHEME)["reports"][0]
    assert [p["state"] for p in report["payments"]] == ["approved", "approved", "draft"]
    status = {m["month"]: m for m in authority.status()["months"]}
    approved = Decimal(status["2013-04"]["due"]) + Decimal(status["2013-05"]["due"])
    text = " ".join(authority.pbr("report", "-p", "2013-Q2", "-m", SCHEME).output.split())
    from pbr_cli.money import format_money

    runs = f"2013-04 (run {status['2013-04']['run']}), 2013-05 (run {status['2013-05']['run']})"
    assert f"Approved (paid): {runs} ({format_money(approved)} due" in text
    assert f"Draft, not approved: 2013-06 (run {status['2013-06']['run']})" in text
    rec = {r["month"]: r for r in report["tables"]["reconciliation"]["rows"]}
    assert rec["2013-06"]["state"] == "draft" and rec["2013-06"]["to_adjust"] == rec["2013-06"]["now"]
    assert "Paid over the period" not in text


def test_a_what_if_never_enters_the_live_ledger(authority, tmp_path):
    for month in ("2013-04", "2013-05"):
        authority.month(month)
    authority.pbr("run")
    authority.approve("2013-04")
    copy = tmp_path / "what-if"
    shutil.copytree(authority.returns, copy)
    (copy / "2013-04" / "P1-2013-04.xlsx").unlink()
    what_if = authority.pbr_json("calculate", "-m", SCHEME, "-p", "2013-05", "--returns",
                                 str(copy), "-o", str(tmp_path / "what-if.xlsx"))
    assert what_if["ledger"]["status"] == "what-if"
    assert what_if["standing"]["state"] == "WHAT-IF"
    ledger = Ledger(authority.ledger)
    runs = len(ledger.runs())
    ledger.close()
    after = authority.pbr("run")
    assert "resubmitted" not in after.output and "replaced" not in after.output
    ledger = Ledger(authority.ledger)
    assert all(not ledger.adjustments(r.id) for r in ledger.runs())
    assert len(ledger.runs()) >= runs
    ledger.close()
    # Named with --ledger, a what-if is recorded there, and only there.
    other = tmp_path / "other.sqlite"
    recorded = authority.pbr_json("calculate", "-m", SCHEME, "-p", "2013-04", "--returns",
                                  str(copy), "--ledger", str(other))
    assert recorded["ledger"]["status"] == "draft"
    assert len(Ledger(other).runs()) == 1


# -- a ledger nobody can quietly rewrite ---------------------------------------------------------

def _two_approved(authority) -> None:
    for month in ("2013-04", "2013-05", "2013-06"):
        authority.month(month)
    authority.pbr("run")
    authority.approve("2013-04")
    authority.pbr("run")
    authority.approve("2013-05")
    authority.pbr("run")


TAMPERING = {
    "runs insert": "INSERT INTO runs (id, model, model_sha256, register_sha256, period, "
                   "tool_version, started_at, finished_at, command, fingerprint, entitlement, "
                   "adjustments, payment, withheld, output, schedule_sha256, basis) SELECT "
                   "(SELECT max(id) + 1 FROM runs), model, "
                   "model_sha256, register_sha256, period, tool_version, started_at, "
                   "finished_at, command, fingerprint, '0.00', '0.00', '0.00', withheld, output, "
                   "schedule_sha256, basis FROM runs WHERE id = 1",
    "runs update": "UPDATE runs SET payment = '1.00' WHERE id = 1",
    "runs delete": "DELETE FROM runs WHERE id = (SELECT max(id) FROM runs)",
    "inputs insert": "INSERT INTO inputs (run_id, role, file, sha256, provider, period, used) "
                     "SELECT run_id, role, file, sha256, provider, period, used FROM inputs "
                     "WHERE run_id = 1 LIMIT 1",
    "inputs update": "UPDATE inputs SET sha256 = 'x' WHERE rowid = 3",
    "inputs delete": "DELETE FROM inputs WHERE rowid = 3",
    "lines insert": "INSERT INTO lines (run_id, provider, entry, groups, component, kind, amount) "
                    "SELECT run_id, provider, entry, groups, component, kind, amount FROM lines "
                    "WHERE run_id = 1 LIMIT 1",
    "lines update": "UPDATE lines SET amount = '0.00' WHERE rowid = 1",
    "lines not a number": "UPDATE lines SET amount = 'abc' WHERE rowid = 1",
    "runs not a number": "UPDATE runs SET entitlement = 'x' WHERE id = 1",
    "adjustments not a number": "UPDATE adjustments SET previous = 'NaN'",
    "lines delete": "DELETE FROM lines WHERE rowid = 1",
    "adjustments insert": "INSERT INTO adjustments (run_id, month, provider, component, previous, "
                          "now, difference, reason) VALUES (2, '2013-04', 'P1', 'utilisation', "
                          "'0.00', '100.00', '100.00', 'extra')",
    "adjustments update": "UPDATE adjustments SET difference = '0.00'",
    "adjustments delete": "DELETE FROM adjustments",
    "approvals insert": "INSERT INTO approvals (run_id, model, period, approved_by, approved_at, "
                        "draft_sha256, schedule, schedule_sha256, how) SELECT max(id), model, "
                        "period, 'x', 'y', '', '', '', 'approved' FROM runs WHERE period = "
                        "'2013-06' GROUP BY model, period",
    "approvals update": "UPDATE approvals SET approved_by = 'someone else'",
    "approvals delete": "DELETE FROM approvals WHERE id = 2",
    "chain insert": "INSERT INTO chain (seq, kind, ref, prev, hash) SELECT seq + 1, 'run', 999, "
                    "hash, hash FROM chain WHERE seq = (SELECT max(seq) FROM chain)",
    "chain update": "UPDATE chain SET hash = prev WHERE seq = 2",
    "chain delete": "DELETE FROM chain WHERE seq = 2",
}


@pytest.fixture(scope="module", params=BACKENDS)
def two_approved(request, tmp_path_factory):
    """An authority with April and May approved and June drafted, made once for the
    tampering tests (each works on its own copy): its ledger in SQLite or PostgreSQL."""
    mp = pytest.MonkeyPatch()
    mp.delenv("PBR_LEDGER", raising=False)
    mp.delenv("PBR_CONFIG", raising=False)
    try:
        folder = tmp_path_factory.mktemp("approved")
        place = None if request.param == "sqlite" else Place.new(request.param, folder)
        a = Authority(folder / "council", place=place)
        _two_approved(a)
        a.file("P1", "2013-04", voids=60, version=2)  # April resubmitted: June adjusts it
        assert a.pbr("run").exit_code == 0
    finally:
        mp.undo()
    return a.root, a.place


def _copied(two_approved, tmp_path) -> Authority:
    root, place = two_approved
    shutil.copytree(root, tmp_path / "council")
    authority = Authority.copied(tmp_path / "council")
    if place.kind != "sqlite":
        authority.use(place.copy(tmp_path))
    return authority


@pytest.mark.parametrize("what", sorted(TAMPERING))
def test_a_ledger_changed_outside_pbr_is_detected_and_refused(two_approved, tmp_path,
                                                               monkeypatch, what):
    monkeypatch.delenv("PBR_LEDGER", raising=False)
    monkeypatch.delenv("PBR_CONFIG", raising=False)
    authority = _copied(two_approved, tmp_path)
    assert authority.pbr("ledger", "verify").exit_code == 0
    with authority.place.raw() as db:
        if what == "adjustments insert" and not db.execute(
                "SELECT 1 FROM runs WHERE id = 2").fetchone():
            pytest.fail("the history has no run 2")
    assert authority.place.tamper(TAMPERING[what]) > 0  # a row really changed
    verify = authority.pbr("ledger", "verify", "--json")
    assert verify.exit_code == 2, verify.output
    found = json.loads(verify.stdout)
    assert not found["sound"] and found["problems"], found
    assert any(word in found["problems"][0] for word in ("record", "run", "approval", "row"))
    run = authority.pbr("run")
    assert run.exit_code == 2 and "does not verify" in run.output, run.output
    calc = authority.pbr("calculate", "-m", SCHEME, "-p", "2013-06")
    assert calc.exit_code == 2 and "does not verify" in calc.output


@pytest.fixture(params=BACKENDS)
def any_authority(request, authority, tmp_path):
    """An authority whose ledger is in SQLite, or in PostgreSQL."""
    if request.param != "sqlite":
        authority.use(Place.new(request.param, tmp_path))
    return authority


def test_the_attack_of_a_superseding_zero_run_is_refused(any_authority):
    """One plain INSERT of a 'superseding' June run with a provider's lines at 0.00 made July
    pay June a second time. Now the run is outside the chain: refused, nothing paid."""
    authority = any_authority
    _two_approved(authority)
    columns = ("model, model_sha256, register_sha256, period, tool_version, started_at, "
               "finished_at, command, fingerprint, entitlement, adjustments, payment, withheld, "
               "output, schedule_sha256, basis")
    with authority.place.raw() as db:  # an INSERT needs no rule taken away
        db.execute(f"INSERT INTO runs (id, {columns}) SELECT (SELECT max(id) + 1 FROM runs), "
                   f"{columns} FROM runs WHERE id = (SELECT max(id) FROM runs WHERE period = "
                   "'2013-05')")
    result = authority.pbr("run")
    assert result.exit_code == 2
    assert "is not in the chain" in " ".join(result.output.split())


def test_a_rewritten_ledger_is_caught_by_the_logs_head(any_authority, tmp_path):
    """A whole new ledger, internally consistent, put in the old one's place: the log's last
    head is not in it."""
    authority = any_authority
    _two_approved(authority)
    head_line = [ln for ln in authority.log.read_text().splitlines() if " head record " in ln][-1]
    other = Authority(tmp_path / "elsewhere", place=(
        None if authority.place.kind == "sqlite" else Place.new(authority.place.kind, tmp_path)))
    for month in ("2013-04",):
        other.month(month)
    other.pbr("run")
    authority.place.replace_with(other.place)
    result = authority.pbr("run")
    assert result.exit_code == 2
    assert "does not hold record" in " ".join(result.output.split())
    status = authority.pbr("ledger", "verify")
    assert status.exit_code == 2 and "replaced or rewritten" in " ".join(status.output.split())
    assert head_line.split(" head record ")[1].split()[0].isdigit()


def test_an_empty_or_missing_ledger_is_not_taken_as_new(any_authority):
    authority = any_authority
    _two_approved(authority)
    authority.place.empty()  # `: > out/ledger.sqlite`, or the tables dropped
    result = authority.pbr("run")
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "is empty, but earlier runs were recorded" in text and "pbr.log" in text
    assert authority.place.state() == "empty"  # nothing was written into it
    if authority.place.kind == "sqlite":
        assert authority.ledger.stat().st_size == 0
        authority.ledger.unlink()
        result = authority.pbr("run")
        assert result.exit_code == 2 and "is missing" in " ".join(result.output.split())
    refused = authority.pbr("ledger", "init")
    assert refused.exit_code == 2 and "--force" in refused.output
    started = authority.pbr("ledger", "init", "--force")
    assert started.exit_code == 0, started.output
    assert "started anew (earlier: the log" in authority.log.read_text()
    again = authority.pbr("ledger", "init", "--force")
    assert again.exit_code == 2 and "already" in again.output  # never started twice
    assert authority.pbr("run").exit_code in (0, 1)
    assert authority.status()["months"][0]["state"] == "draft"


def test_a_first_run_with_no_earlier_outputs_starts_the_ledger(authority):
    authority.month("2013-04")
    assert not authority.ledger.exists()
    assert authority.pbr("run").exit_code == 0
    assert Ledger(authority.ledger).verify() == []


def test_two_officers_in_two_folders_share_one_ledger_in_postgresql(tmp_path, monkeypatch):
    """Two officers, each in a folder of their own with the same returns filed, run pbr at
    the same moment against one ledger in PostgreSQL: one waits or is refused, and nothing
    is recorded twice; approving the same month at once approves it once."""
    monkeypatch.delenv("PBR_LEDGER", raising=False)
    monkeypatch.delenv("PBR_CONFIG", raising=False)
    place = Place.new("postgresql", tmp_path)
    officers = [Authority(tmp_path / name, place=place) for name in ("alice", "bob")]
    for officer in officers:
        for month in ("2013-04", "2013-05"):
            officer.month(month)
    env = {k: v for k, v in os.environ.items() if k not in ("PBR_LEDGER", "PBR_CONFIG")}

    def together(*args: str) -> list[subprocess.CompletedProcess]:
        procs = [subprocess.Popen([sys.executable, "-m", "pbr_cli", *args, "--config",
                                   str(o.config)], cwd=o.root, env=env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for o in officers]
        done = []
        for proc in procs:
            out, err = proc.communicate(timeout=180)
            done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
        return done

    first = together("run")
    codes = sorted(p.returncode for p in first)
    assert codes in ([0, 0], [0, 3]), [p.stderr for p in first]
    if codes == [0, 3]:
        refused = next(p for p in first if p.returncode == 3)
        assert "another pbr run (process" in refused.stderr and "is using the ledger" in refused.stderr
    ledger = place.open()
    assert [r.period for r in ledger.runs()] == ["2013-04", "2013-05"] and ledger.verify() == []
    ledger.close()

    waited = together("run", "--wait", "120")  # the second waits, then finds nothing new
    assert [p.returncode for p in waited] == [0, 0], [p.stderr for p in waited]
    assert place.runs() == 2

    approvals = together("approve", "-m", SCHEME, "-p", "2013-04", "--run", "1", "--by",
                         "an officer", "--wait", "120")
    assert sorted(p.returncode for p in approvals) == [0, 2], [p.stderr for p in approvals]
    assert "already approved" in " ".join(p.stderr for p in approvals)
    ledger = place.open()
    assert [a.period for a in ledger.approvals()] == ["2013-04"] and ledger.verify() == []
    ledger.close()


def test_the_officers_role_records_but_cannot_change_a_shared_ledger(tmp_path, monkeypatch):
    """docs/payment-cycle.md's set-up: the tables owned by one role, the officers' role given
    SELECT and EXECUTE on pbr_append only. The officers record and approve; they cannot
    insert, change, delete, truncate, or switch a rule off."""
    import uuid

    import psycopg

    from pbr_cli.ledger.schema import officer_grants

    monkeypatch.delenv("PBR_LEDGER", raising=False)
    monkeypatch.delenv("PBR_CONFIG", raising=False)
    place = Place.new("postgresql", tmp_path)
    place.open().close()  # made by the owner (the test server's own user)
    role = f"officer_{uuid.uuid4().hex[:12]}"
    with place.raw() as db:
        db.execute(f"CREATE ROLE {role} LOGIN")
        db.execute(officer_grants(role, place.schema))
    user = psycopg.conninfo.conninfo_to_dict(place.arg).get("user")
    assert user and place.arg.startswith(f"postgresql://{user}@")
    officer = Place(place.arg.replace(f"//{user}@", f"//{role}@", 1), "postgresql",
                    place.server, place.schema)
    authority = Authority(tmp_path / "council", place=officer)
    authority.month("2013-04")
    assert authority.pbr("run").exit_code == 0
    authority.approve("2013-04")
    assert officer.verify() == [] and officer.runs() == 1
    for statement in ("INSERT INTO meta VALUES ('x', 'y')", "DELETE FROM lines",
                      "UPDATE runs SET payment = '0'", "TRUNCATE chain",
                      "ALTER TABLE lines DISABLE TRIGGER USER", "DROP TABLE approvals",
                      "SET session_replication_role = replica"):
        found = officer.error_of(statement)
        assert "permission denied" in found or "must be owner" in found, (statement, found)
    assert officer.verify() == [] and place.runs() == 1


# -- safe unattended -----------------------------------------------------------------------------

def test_nothing_found_is_exit_2_naming_what_was_looked_for(tmp_path, monkeypatch):
    monkeypatch.delenv("PBR_CONFIG", raising=False)
    monkeypatch.delenv("PBR_LEDGER", raising=False)
    empty = tmp_path / "nowhere"
    empty.mkdir()
    proc = subprocess.run([sys.executable, "-m", "pbr_cli", "run"], cwd=empty,
                          capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != "PBR_CONFIG"})
    assert proc.returncode == 2
    assert "no config file: looked for --config, $PBR_CONFIG, ./pbr.yaml" in proc.stderr
    assert list(empty.iterdir()) == []  # no out/ made where it stands
    (empty / "pbr.yaml").write_text("models: modles\nreturns: returns\n")
    proc = subprocess.run([sys.executable, "-m", "pbr_cli", "run"], cwd=empty,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "nothing to run" in proc.stderr and "modles" in proc.stderr


def test_a_missing_returns_folder_and_a_misnamed_month_folder(authority):
    authority.month("2013-04")
    shutil.move(authority.returns / "2013-04", authority.returns / "2013-4")
    result = authority.pbr("run")
    assert result.exit_code == 2
    assert "not a month folder: 2013-4" in " ".join(result.output.split())
    shutil.rmtree(authority.returns)
    result = authority.pbr("run")
    assert result.exit_code == 2 and "no returns folder" in result.output


def test_a_file_name_that_is_not_utf8_is_shown_escaped(authority):
    authority.month("2013-04")
    src = authority.returns / "2013-04" / "P1-2013-04.xlsx"
    odd = os.fsencode(authority.returns / "2013-04") + b"/P1-\xff\xfe-2013-04.xlsx"
    os.rename(src, odd)
    proc = authority.process("run")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    report = authority.process("report", "-p", "2013-04", "-m", SCHEME)
    assert report.returncode == 0, report.stderr
    ledger = Ledger(authority.ledger)
    files = [i.file for r in ledger.runs() for i in ledger.inputs(r.id)]
    assert any("P1-\\xff\\xfe-2013-04.xlsx" in f for f in files)


def test_a_ledger_that_cannot_be_written_leaves_no_schedule(authority, monkeypatch):
    """The disk fills as the run is recorded: a clear message, exit 2 (not 1), and no schedule
    on disk without a run behind it."""
    import pbr_cli.ledger.store as ledger_module

    authority.month("2013-04")

    def full(self, run_id, r):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(ledger_module.Ledger, "_insert_run", full)
    result = authority.pbr("calculate", "-m", SCHEME, "-p", "2013-04")
    assert result.exit_code == 2
    assert "cannot record in the ledger" in result.output and "disk is full" in result.output
    folder = authority.root / "out" / SCHEME
    assert not folder.exists() or list(folder.iterdir()) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_cleanly_and_are_logged(tmp_path, sig):
    """Stopped while it reads a year and a half of returns (no cache): "pbr: interrupted", a
    log line, exit code 130, no temporary file, the ledger as before."""
    folder = tmp_path / "council"
    folder.mkdir()
    (folder / "pbr.yaml").write_text(f"models: {ROOT / 'models'}\nreturns: "
                                     f"{ROOT / 'sample_returns'}\noutput: out\n"
                                     "schemes: [wigan-cohort]\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PBR_LEDGER", "PBR_CONFIG")}
    env.update(PBR_CACHE="off", PBR_WORKERS="1")
    proc = subprocess.Popen([sys.executable, "-m", "pbr_cli", "run"], cwd=folder,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    log = folder / "out" / "pbr.log"
    deadline = time.monotonic() + 60
    while not (log.exists() and "run started" in log.read_text()):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    name = signal.Signals(sig).name
    assert proc.returncode == 130, (err, log.read_text())
    assert f"pbr: interrupted ({name})" in err and "Traceback" not in err
    assert f"stopped: {name}" in log.read_text()
    assert not list(folder.rglob("*.tmp"))
    ledger = folder / "out" / "ledger.sqlite"
    assert not ledger.exists() or Ledger(ledger).verify() == []


def test_a_log_that_cannot_be_written_is_an_error(authority):
    authority.month("2013-04")
    authority.config.write_text(authority.config.read_text() + "log: /dev/full\n")
    result = authority.pbr("run")
    assert result.exit_code == 2 and "cannot write the log /dev/full" in result.output


def test_an_unexpected_failure_has_its_own_exit_code_and_a_crash_file(tmp_path):
    code = ("import sys, pbr_cli.jobs.run as r\n"
            "def broken(*a, **k):\n    raise ZeroDivisionError('inside pbr')\n"
            "r.run_all = broken\nsys.argv = ['pbr', 'run']\n"
            "from pbr_cli.cli.main import main\nmain()\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert proc.returncode == 70
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "unexpected failure (ZeroDivisionError: inside pbr)" in proc.stderr
    crash = next(tmp_path.glob("pbr-crash-*.txt"))
    assert "Traceback" in crash.read_text() and str(crash) in proc.stderr


@pytest.mark.parametrize("which", ["lock", "log", "ledger"])
def test_links_are_never_followed(authority, tmp_path, which):
    authority.month("2013-04")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (authority.root / "out").mkdir()
    link = {"lock": authority.ledger.with_name("ledger.sqlite.lock"), "log": authority.log,
            "ledger": authority.ledger}[which]
    link.symlink_to(victim)
    result = authority.pbr("run")
    assert result.exit_code == 2, result.output
    assert "symbolic link" in " ".join(result.output.split())
    assert victim.read_text() == "precious\n"


# -- what changes money is seen ------------------------------------------------------------------

def test_money_changing_warnings_are_seen(authority):
    authority.file("P1", "2013-06")  # F010 starts in June: no outcomes assessed -> outcome part 0
    result = authority.pbr("calculate", "-m", SCHEME, "-p", "2013-06")
    text = " ".join(result.output.split())
    assert "What changed payments:" in text
    assert "P1: service F010: No outcomes were assessed" in text
    assert "Withheld: P2" in text
    import openpyxl

    ws = openpyxl.load_workbook(authority.root / "out" / SCHEME /
                                f"{SCHEME}-2013-06-draft.xlsx")["Summary"]
    rows = {r[0]: r for r in ws.iter_rows(min_row=6, values_only=True) if r[0]}
    assert "No outcomes were assessed" in rows["P1"][-1]
    assert "no return received" in rows["P2"][-1]
    log = authority.log.read_text()
    assert "withheld P2 (Second Provider): no return received for 2013-06" in log


def test_a_file_that_kills_its_reader_costs_only_its_provider(tmp_path, monkeypatch):
    """200 providers; one return makes the reader abort the process (as calamine does when
    it tries to allocate 512 GiB). The run pays the other 199, names the file, and exits 1
    (a provider withheld), never a crash."""
    import pbr_cli.workbook.reader as reader

    monkeypatch.delenv("PBR_LEDGER", raising=False)
    monkeypatch.delenv("PBR_CONFIG", raising=False)
    monkeypatch.setenv("PBR_CACHE", "off")
    a = Authority(tmp_path / "council", approval="automatic")
    rows = [[f"S{i:03d}", f"P{i:03d}", f"Provider {i}", f"Service {i}", "SE", "ACC", "10",
             "12000", "2012-04-01", ""] for i in range(200)]
    write_register(a.root / "models" / f"{SCHEME}.register.csv", rows)
    a.register = load_register(a.model)
    m = Month(2013, 4)
    first = a.returns / str(m) / f"P000-{m}.xlsx"
    write_template(first, a.model, a.register, "P000", m, {
        "Utilisation": [{"service_id": "S000", "void_days": 12}],
        "Outcomes": outcomes("S000", "C1", date(2013, 4, 3), 4)})
    from tests.corpus import rewrite_zip

    made = first.read_bytes()
    for i in range(1, 200):  # the same return for each provider: its codes changed
        (a.returns / str(m) / f"P{i:03d}-{m}.xlsx").write_bytes(rewrite_zip(
            made, lambda _n, body, i=i: body.replace(b"P000", f"P{i:03d}".encode())
            .replace(b"S000", f"S{i:03d}".encode())))
    real = reader._open_book

    def aborting(label, data):
        if "P077-" in label:
            os.abort()  # the reader takes the whole process down
        return real(label, data)

    monkeypatch.setattr(reader, "_open_book", aborting)  # forked workers inherit it
    result = a.pbr("run")
    text = " ".join(result.output.split())
    assert result.exit_code == 1, text
    assert "1 withheld" in text and "withheld P077" in text
    ledger = Ledger(a.ledger)
    run = ledger.runs()[0]
    paid_to = {ln.provider for ln in ledger.lines(run.id)
               if ln.kind == "payment" and Decimal(ln.amount) > 0}
    ledger.close()
    assert len(paid_to) == 199 and "P077" not in paid_to
    validated = a.pbr("validate", str(a.returns / "2013-04"), "-m", SCHEME, "--json")
    assert validated.exit_code == 2  # an unusable file
    bad = [f for f in json.loads(validated.stdout)["files"] if f["status"] == "unusable"]
    assert [f["file"].rsplit("/", 1)[-1] for f in bad] == ["P077-2013-04.xlsx"]
    assert bad[0]["problems"][0]["code"] == "reader-failed"
    assert "the reader crashed on it (SIGABRT)" in bad[0]["problems"][0]["message"]


def test_a_what_if_is_decided_once_for_every_command(authority, tmp_path):
    """Whether a month is a what-if was decided twice, differently: `calculate` with other
    returns and --ledger recorded a draft there, while `statements` with the same options
    called the same month a what-if and placed it in no ledger; and a model file other than
    the config's could be approved into the live ledger. One rule now: other returns, a
    register or a model other than the config's are a what-if unless --ledger names a
    ledger for them, and then that ledger holds them."""
    for month in ("2013-04", "2013-05"):
        authority.month(month)
    copy = tmp_path / "what-if"
    shutil.copytree(authority.returns, copy)
    other = tmp_path / "other.sqlite"
    recorded = authority.pbr_json("calculate", "-m", SCHEME, "-p", "2013-04", "--returns",
                                  str(copy), "--ledger", str(other))
    assert recorded["ledger"]["status"] == "draft"
    run = recorded["ledger"]["run"]
    placed = authority.pbr_json("statements", "-m", SCHEME, "-p", "2013-04", "--returns",
                                str(copy), "--ledger", str(other), "-o", str(tmp_path / "s"))
    assert placed["note"] == f"draft run {run}", placed["note"]
    alone = authority.pbr_json("statements", "-m", SCHEME, "-p", "2013-04", "--returns",
                               str(copy), "-o", str(tmp_path / "s2"))
    assert alone["standing"].startswith("WHAT-IF"), alone["standing"]
    # a model file that is not the config's: a what-if too, so the live ledger refuses it
    draft_model = tmp_path / f"{SCHEME}.yaml"
    shutil.copy(authority.root / "models" / f"{SCHEME}.yaml", draft_model)
    shutil.copy(authority.root / "models" / f"{SCHEME}.register.csv",
                tmp_path / f"{SCHEME}.register.csv")
    authority.pbr("run")
    approve = authority.pbr("approve", "-m", str(draft_model), "-p", "2013-04", "--run", "1")
    assert approve.exit_code == 2 and "what-if" in approve.output, approve.output
    ledger = Ledger(authority.ledger)
    assert ledger.approval_of(SCHEME, "2013-04") is None
    ledger.close()


def test_a_signal_inside_an_import_stops_at_the_next_safe_point(monkeypatch):
    """SIGINT landing inside the import machinery (or a fork hook) was printed as a traceback
    and left a module half made: the run then failed with an ImportError (exit 70) instead of
    stopping. There the handler only asks to stop; the next safe point stops, and anything a
    stop leaves behind ends as an interruption."""
    import signal as signals
    import sys as system

    from pbr_cli.cli import main as entry
    from pbr_cli.errors import STOP, Interrupted, check_stop

    monkeypatch.setattr(STOP, "signal_name", None)
    inside_import = {}
    exec(compile("import sys\nframe = sys._getframe()", "<frozen importlib._bootstrap>", "exec"),
         inside_import)
    entry.stop(signals.SIGINT, inside_import["frame"])  # asked, not raised
    assert STOP.signal_name == "SIGINT"
    with pytest.raises(Interrupted):
        check_stop()  # the next safe point
    with pytest.raises(Interrupted):
        entry.stop(signals.SIGTERM, inside_import["frame"])  # a second signal: at once
    monkeypatch.setattr(STOP, "signal_name", None)
    with pytest.raises(Interrupted):
        entry.stop(signals.SIGINT, system._getframe())  # anywhere else: at once
    monkeypatch.setattr(STOP, "signal_name", None)
