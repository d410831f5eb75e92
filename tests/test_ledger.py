"""The ledger, resubmissions and prior-period adjustments, the lock, and runs killed midway —
each test once with an SQLite ledger and once with a ledger in PostgreSQL (tests/ledger_places.py).

These tests work in a workspace of their own (a register and returns made by the test), so
every calculation names its ledger with --ledger: without it, other returns than the
config's are a what-if and nothing is recorded (tests/test_cycle.py)."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from pbr_cli.errors import PbrError
from pbr_cli.ledger import lock
from pbr_cli.periods import Month
from pbr_cli.pricing import calculate
from pbr_cli.pricing.worth import payments_by_component
from pbr_cli.returns.collect import read_and_check
from tests.conftest import MODEL_PATH, ROOT, worked_example
from tests.ledger_places import BACKENDS, Place

runner = CliRunner()
APRIL, MAY, JUNE = Month(2013, 4), Month(2013, 5), Month(2013, 6)
CORRECTED_VOIDS = 60  # P1's April return said 10 void unit-days for S001; the correction says 60


@pytest.fixture(params=BACKENDS)
def place(request, own_ledger, monkeypatch, tmp_path) -> Place:
    """The test's ledger: the SQLite file of its own, or a PostgreSQL schema of its own. The
    worked example's returns are not the config's, so each calculation here is a what-if
    recorded in a ledger named for it, never the config's own (the live ledger refuses
    them)."""
    found = (Place(str(own_ledger.with_name("worked.sqlite")), "sqlite")
             if request.param == "sqlite"
             else Place.new("postgresql", tmp_path))
    monkeypatch.setenv("PBR_LEDGER", found.arg)
    return found


def args(ws, month: Month, *more: str, ledger=None) -> list[str]:
    return ["calculate", "--model", str(MODEL_PATH), "--period", str(month), "--returns",
            str(ws.returns), "--register", str(ws.register_path), "-o",
            str(ws.root / "out" / f"{month}.xlsx"), "--ledger",
            str(ledger or os.environ["PBR_LEDGER"]), "--json", *more]


def calc(ws, month: Month, *more: str) -> dict:
    result = runner.invoke(app, args(ws, month, *more))
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def approve(ws, month: Month, run: int) -> dict:
    result = runner.invoke(app, ["approve", "--model", str(MODEL_PATH), "--period", str(month),
                                 "--run", str(run), "--by", "test", "--returns", str(ws.returns),
                                 "--register", str(ws.register_path), "--ledger",
                                 os.environ["PBR_LEDGER"], "-o",
                                 str(ws.root / "out" / f"{month}-approved.xlsx"), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def calc_and_approve(ws, month: Month) -> dict:
    out = calc(ws, month)
    assert out["ledger"]["status"] == "draft", out["ledger"]
    return approve(ws, month, out["ledger"]["run"])


def resubmit_april(ws, voids: int = CORRECTED_VOIDS, version: int = 2) -> None:
    from tests.conftest import outcomes

    rows = {"Utilisation": [{"service_id": "S001", "void_days": voids}], "Outcomes": []}
    for i, wins in enumerate([4, 4, 3]):
        rows["Outcomes"] += outcomes("S001", f"C4{i}", date(2013, 4, 3 + i), wins)
    ws.add_return("P1", "2013-04", rows, name=f"P1-2013-04-v{version}.xlsx")


def april_alone(ws, use_version: int | None) -> dict[tuple[str, str], Decimal]:
    """April worked out directly by the engine from one version of P1's return (no ledger)."""
    files = [p for p in sorted((ws.returns / "2013-04").glob("*.xlsx"))
             if not (p.name.startswith("P1-") and (("-v" in p.stem) != (use_version is not None)
                                                   or (use_version and f"-v{use_version}" not in p.stem)))]
    collection = read_and_check(files, ws.model, ws.register)
    return payments_by_component(calculate(ws.model, ws.register, APRIL, collection.returns))


def test_resubmitted_april_is_adjusted_on_june_exactly_once(workspace, place):
    worked_example(workspace)
    april = calc_and_approve(workspace, APRIL)
    assert april["ledger"]["status"] == "approved" and april["adjustments"] == []
    calc_and_approve(workspace, MAY)
    before = april_alone(workspace, None)

    resubmit_april(workspace)
    after = april_alone(workspace, 2)
    expected = {k: after[k] - before[k] for k in before if after[k] != before[k]}
    assert expected  # more voids: a smaller utilisation payment for S001's provider
    assert all(v < 0 for v in expected.values())

    june = calc(workspace, JUNE)
    april_lines = [a for a in june["adjustments"] if a["month"] == "2013-04"]
    assert {(a["provider"], a["component"]): Decimal(a["difference"]) for a in april_lines} == expected
    for a in april_lines:
        assert Decimal(a["previous"]) == before[(a["provider"], a["component"])]
        assert Decimal(a["now"]) == after[(a["provider"], a["component"])]
        assert "2013-04 return was replaced (resubmitted)" in a["reason"]
    total_adjustments = sum(Decimal(a["difference"]) for a in june["adjustments"])
    assert Decimal(june["due"]) == Decimal(june["totals"]["payment"]) + total_adjustments
    assert set(june["adjustments"][0]) == {"month", "provider", "component", "previous", "now",
                                           "difference", "reason"}
    # The ledger says which April file was used.
    ledger = place.open()
    used = [i.file for i in ledger.inputs(june["ledger"]["run"])
            if i.period == "2013-04" and i.provider == "P1" and i.used]
    assert [os.path.basename(f) for f in used] == ["P1-2013-04-v2.xlsx"]
    runs = len(ledger.runs())

    # The schedule carries the adjustments, and the Summary what is due.
    import openpyxl

    wb = openpyxl.load_workbook(workspace.root / "out" / "2013-06.xlsx")
    rows = [[c.value for c in r] for r in wb["Adjustments"].iter_rows(min_row=6)]
    assert ["2013-04", "P1"] == rows[0][:2] and Decimal(str(rows[0][5])) == list(expected.values())[0]

    # Running June again changes nothing and records nothing new.
    first = (workspace.root / "out" / "2013-06.xlsx").read_bytes()
    again = calc(workspace, JUNE)
    assert (again["ledger"]["status"], again["ledger"]["run"]) == ("unchanged",
                                                                   june["ledger"]["run"])
    assert again["adjustments"] == june["adjustments"] and again["due"] == june["due"]
    assert place.runs() == runs
    assert (workspace.root / "out" / "2013-06.xlsx").read_bytes() == first

    # A third version of April: June is recorded again, carrying the whole change since April
    # was paid (not the difference from the superseded June run).
    resubmit_april(workspace, voids=30, version=3)
    third = april_alone(workspace, 3)
    june3 = calc(workspace, JUNE)
    assert june3["ledger"]["status"] == "draft" and june3["ledger"]["run"] > june["ledger"]["run"]
    assert {(a["provider"], a["component"]): Decimal(a["difference"]) for a in june3["adjustments"]
            if a["month"] == "2013-04"} == {k: third[k] - before[k] for k in before
                                            if third[k] != before[k]}


def test_earlier_months_are_worked_out_again_only_when_what_they_read_changes(
        workspace, place, monkeypatch, tmp_path):
    import pbr_cli.pricing.worth as worth

    monkeypatch.setenv("PBR_CACHE", str(tmp_path / "cache"))
    worked: list[str] = []
    real = worth.calculate

    def counted(model, register, month, *more, **named):
        worked.append(str(month))
        return real(model, register, month, *more, **named)

    monkeypatch.setattr(worth, "calculate", counted)
    worked_example(workspace)
    april = calc(workspace, APRIL)
    approve(workspace, APRIL, april["ledger"]["run"])
    worked.clear()
    may = calc(workspace, MAY)
    assert worked == ["2013-05"]  # April's worth was kept when it was calculated
    approve(workspace, MAY, may["ledger"]["run"])
    worked.clear()
    june = calc(workspace, JUNE)
    assert worked == ["2013-06"] and june["adjustments"] == []

    worked.clear()
    resubmit_april(workspace)
    june = calc(workspace, JUNE)
    assert sorted(worked) == ["2013-04", "2013-05", "2013-06"]  # May's window holds April
    assert any(a["month"] == "2013-04" and "resubmitted" in a["reason"]
               for a in june["adjustments"])
    # Worked out from scratch, the adjustments are the same.
    monkeypatch.setenv("PBR_CACHE", "off")
    worked.clear()
    again = calc(workspace, JUNE)
    assert sorted(worked) == ["2013-04", "2013-05", "2013-06"]
    assert again["adjustments"] == june["adjustments"]
    assert again["ledger"]["status"] == "unchanged"


def test_a_late_return_and_a_closed_month(workspace, place):
    worked_example(workspace)
    late = workspace.returns / "2013-04" / "P2-2013-04.xlsx"
    held = late.read_bytes()
    late.unlink()
    april = calc_and_approve(workspace, APRIL)
    p2 = next(p for p in april["providers"] if p["provider"] == "P2")
    assert p2["status"] == "withheld" and p2["payment"] == "0.00"
    late.write_bytes(held)  # P2's April return arrives in May
    may = calc(workspace, MAY)
    late_lines = [a for a in may["adjustments"] if a["provider"] == "P2"]
    assert late_lines and all("arrived after 2013-04 was approved" in a["reason"] for a in late_lines)
    assert sum(Decimal(a["difference"]) for a in late_lines) > 0
    # April is approved: calculating it again writes and records nothing.
    april_schedule = (workspace.root / "out" / "2013-04-approved.xlsx").read_bytes()
    result = runner.invoke(app, args(workspace, APRIL)[:-1])
    assert "2013-04 was approved (run 1, by test at" in " ".join(result.output.split())
    assert "adjustment on 2013-05" in " ".join(result.output.split())
    assert (workspace.root / "out" / "2013-04-approved.xlsx").read_bytes() == april_schedule
    assert [r.period for r in place.open().runs()] == ["2013-04", "2013-05"]


def test_dry_run_records_nothing_and_writes_nothing(workspace, place):
    worked_example(workspace)
    out = calc(workspace, JUNE, "--dry-run")
    assert out["ledger"]["status"] == "dry-run" and out["output"] is None
    assert place.state() in ("missing", "empty")
    assert not (workspace.root / "out").exists()


def test_a_second_run_waits_or_refuses(workspace, place):
    worked_example(workspace)
    with place.hold_lock():
        result = runner.invoke(app, args(workspace, JUNE))
        assert result.exit_code == 3
        text = " ".join(result.output.split())
        assert f"another pbr run (process {os.getpid()}" in text and "is using the ledger" in text
        started = time.monotonic()
        result = runner.invoke(app, args(workspace, JUNE, "--wait", "0.5"))
        assert result.exit_code == 3 and time.monotonic() - started >= 0.5
    assert place.state() != "present" or place.runs() == 0
    assert calc(workspace, JUNE)["ledger"]["status"] == "draft"  # free again


def test_two_processes_started_together(workspace, place):
    worked_example(workspace)
    cmd = [sys.executable, "-m", "pbr_cli", *args(workspace, JUNE)]
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outcomes = sorted(p.wait(timeout=120) for p in procs)
    errors = [p.stderr.read() for p in procs]
    # Either one refused (the other held the lock) or they ran one after the other.
    assert outcomes in ([0, 0], [0, 3]), errors
    if outcomes == [0, 3]:
        assert any("another pbr run" in e for e in errors)
    assert place.runs() == 1 and place.verify() == []


def test_killed_runs_leave_the_ledger_consistent(workspace, place, tmp_path):
    worked_example(workspace)
    calc_and_approve(workspace, APRIL)
    calc_and_approve(workspace, MAY)
    resubmit_april(workspace)
    snapshot = place.copy(tmp_path)
    # The same June from the same starting ledger, never interrupted: what a finished run
    # gives, and how long it takes (each kill below lands within that time). Its schedule is
    # written apart, so that a schedule found below is a killed run's own.
    cmd = [sys.executable, "-m", "pbr_cli", *args(workspace, JUNE, ledger=snapshot.arg),
           "-o", str(tmp_path / "reference-2013-06.xlsx")]
    began = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    duration = time.monotonic() - began
    reference = json.loads(proc.stdout)
    cmd = [sys.executable, "-m", "pbr_cli", *args(workspace, JUNE)]
    rng = random.Random(5)
    schedule = workspace.root / "out" / "2013-06.xlsx"
    for _ in range(5):
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, max(duration, 0.4)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ledger = place.open()
        assert ledger.verify() == []
        assert [r.period for r in ledger.runs()] in (["2013-04", "2013-05"],
                                                        ["2013-04", "2013-05", "2013-06"])
        ledger.close()
        if schedule.exists():  # never half a file
            import zipfile

            assert zipfile.ZipFile(schedule).testzip() is None
    finished = calc(workspace, JUNE)
    assert list(schedule.parent.glob(".*.tmp")) == []  # a killed run's temporary file is gone
    for key in ("totals", "adjustments", "due", "providers"):
        assert finished[key] == reference[key], key
    assert len([r for r in place.open().runs() if r.period == "2013-06"]) == 1


def test_ledger_is_append_only_and_versioned(workspace, place):
    worked_example(workspace)
    calc(workspace, JUNE)
    refused = ["UPDATE runs SET payment = '0'", "DELETE FROM lines", "DELETE FROM chain",
               "UPDATE inputs SET sha256 = 'x'", "DELETE FROM runs"]
    if place.kind == "postgresql":
        refused += ["TRUNCATE lines", "TRUNCATE runs CASCADE", "TRUNCATE approvals"]
    for statement in refused:
        assert "the ledger is append-only" in place.error_of(statement), statement
    assert place.verify() == [] and place.runs() == 1
    with place.raw() as db:
        version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        assert tuple(version) == ("5",)
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    result = runner.invoke(app, args(workspace, JUNE))
    assert result.exit_code == 2 and "written by a newer pbr" in result.output


def test_ledger_commands(workspace, place):
    worked_example(workspace)
    calc_and_approve(workspace, APRIL)
    calc_and_approve(workspace, MAY)
    resubmit_april(workspace)
    june = calc(workspace, JUNE)
    listing = runner.invoke(app, ["ledger", "list"])
    assert listing.exit_code == 0
    text = " ".join(listing.output.split())
    assert "2013-04" in text and "2013-06" in text
    shown = runner.invoke(app, ["ledger", "show", str(june["ledger"]["run"])])
    shown_text = " ".join(shown.output.split())
    assert "Prior-period adjustments" in shown_text and "v2.xlsx" in shown_text
    assert "resubmitted" in shown_text
    history = runner.invoke(app, ["ledger", "history", "P1"])
    assert history.exit_code == 0
    due = {}
    for month in ("2013-04", "2013-05", "2013-06"):
        line = next(ln for ln in history.output.splitlines() if month in ln)
        due[month] = line
    total_line = next(ln for ln in history.output.splitlines() if "Total approved" in ln)
    assert total_line.count("£") == 3
    assert "approved" in due["2013-04"] and "draft" in due["2013-06"]
    assert runner.invoke(app, ["ledger", "show", "999"]).exit_code == 2


def test_a_schema_version_that_is_not_a_number_is_refused_not_a_crash(workspace, place):
    worked_example(workspace)
    calc(workspace, JUNE)
    place.tamper("UPDATE meta SET value = 'abc' WHERE key = 'schema_version'")
    for command in (args(workspace, JUNE), ["ledger", "verify"], ["ledger", "status"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert "schema version 'abc' is not a number" in " ".join(result.output.split())


def test_the_two_databases_hold_the_same_tables_and_columns(tmp_path):
    """The PostgreSQL tables (ledger/schema.py POSTGRES) are written out beside SQLite's
    migrations: each table must have the same columns, in the same order, with the same
    NOT NULLs, so a record's canonical content (and so the chain) is the same in both. A
    migration that changes one and not the other fails here."""
    from pbr_cli.ledger.schema import TABLES

    lite, pg = Place.new("sqlite", tmp_path), Place.new("postgresql", tmp_path)
    for place in (lite, pg):
        place.open().close()
    with lite.raw() as db:
        sqlite_columns = {t: [(r[1], bool(r[3]) or bool(r[5])) for r in
                              db.execute(f"PRAGMA table_info({t})")] for t in ("meta", *TABLES)}
    with pg.raw() as db:
        pg_columns = {t: [(name, nullable == "NO") for name, nullable in db.execute(
            "SELECT column_name, is_nullable FROM information_schema.columns WHERE "
            "table_schema = %s AND table_name = %s AND column_name <> 'rowid' ORDER BY "
            "ordinal_position", (pg.schema, t))] for t in ("meta", *TABLES)}
    assert all(sqlite_columns.values()) and pg_columns == sqlite_columns


HOLD_AND_FORK = """
import multiprocessing, os, sys, time
from pbr_cli.ledger import lock
from pbr_cli.ledger.db import ledger_place
with lock.held(ledger_place(sys.argv[1])):
    child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,))
    child.start()
    print(child.pid, flush=True)
    time.sleep(60)
"""


def test_a_killed_runs_worker_processes_do_not_keep_the_ledger_locked(place, tmp_path):
    """A run reads returns in forked worker processes. They inherited the lock (the lock
    file's descriptor, or the PostgreSQL connection holding the session lock), so when the
    run was killed its workers, still finishing, kept the ledger locked and the next run was
    refused ("another pbr run (process N) is using the ledger"). A forked process now drops
    the lock it inherited: the lock ends with the run that took it."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD_AND_FORK, place.arg], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    child = int(proc.stdout.readline())
    try:
        with pytest.raises(PbrError):  # the run holds it
            with lock.held(place.where, wait=0):
                pass
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with lock.held(place.where, wait=5):  # its worker, still alive, does not
            pass
    finally:
        proc.kill()
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
