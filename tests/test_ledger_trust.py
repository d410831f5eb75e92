"""Every command that trusts the ledger checks it first, nothing makes a ledger but `pbr
ledger init` or a first run, and a what-if never enters the live ledger by another name
(the ledger issue's findings 1, 3 and 4, each reproduced)."""

from __future__ import annotations

import os
import shutil

import pytest

from pbr_cli.ledger.store import Ledger
from tests.test_cycle import SCHEME, Authority


@pytest.fixture
def paid(tmp_path, monkeypatch):
    """April approved and paid, May drafted: the ledger and the log as a month's routine
    leaves them."""
    monkeypatch.delenv("PBR_LEDGER", raising=False)
    monkeypatch.delenv("PBR_CONFIG", raising=False)
    authority = Authority(tmp_path / "council")
    for month in ("2013-04", "2013-05"):
        authority.month(month)
    assert authority.pbr("run").exit_code == 0
    authority.approve("2013-04")
    assert authority.pbr("run").exit_code == 0
    return authority


def test_verify_never_makes_a_ledger_of_an_empty_file(paid):
    """A zero-byte ledger: `ledger verify` made a new empty ledger in it ("verifies: 0
    records", exit 0), and `pbr run` then drafted every month again as if nothing had been
    paid. Now verify refuses it and leaves it as it was, and so does run."""
    paid.ledger.write_bytes(b"")
    verify = paid.pbr("ledger", "verify")
    assert verify.exit_code == 2, verify.output
    assert paid.ledger.stat().st_size == 0
    run = paid.pbr("run")
    assert run.exit_code == 2 and "empty" in run.output, run.output
    assert paid.ledger.stat().st_size == 0


def test_a_rotated_log_is_evidence_that_a_ledger_held_records(paid):
    """The log rotated away (pbr.log → pbr.log.1) and the schedules moved out: a missing or
    empty ledger is still refused, the rotated log named as what shows earlier runs."""
    paid.ledger.unlink()
    paid.log.rename(paid.log.with_name("pbr.log.1"))
    shutil.rmtree(paid.root / "out" / SCHEME)
    for args in (("run",), ("ledger", "status"), ("calculate", "-m", SCHEME, "-p", "2013-05")):
        result = paid.pbr(*args)
        assert result.exit_code == 2 and "pbr.log.1" in result.output, (args, result.output)
    assert not paid.ledger.exists()


def test_a_ledger_holding_no_record_beside_earlier_runs_is_refused(paid):
    """A ledger file with its tables but no record (made anew by hand, or by an older pbr's
    verify) beside schedules and a log that show records: refused, not drafted from
    scratch."""
    paid.ledger.unlink()
    Ledger(paid.ledger).close()  # a new, empty ledger
    run = paid.pbr("run")
    assert run.exit_code == 2 and "holds no record" in run.output, run.output


@pytest.fixture
def rolled_back(tmp_path, monkeypatch):
    """April and May drafted, a copy of the ledger kept, April approved (the log now names a
    head the copy does not hold), then yesterday's copy put back."""
    monkeypatch.delenv("PBR_LEDGER", raising=False)
    monkeypatch.delenv("PBR_CONFIG", raising=False)
    authority = Authority(tmp_path / "council")
    for month in ("2013-04", "2013-05"):
        authority.month(month)
    assert authority.pbr("run").exit_code == 0
    copy = tmp_path / "yesterday.sqlite"
    shutil.copy(authority.ledger, copy)
    authority.approve("2013-04")
    shutil.copy(copy, authority.ledger)
    return authority


@pytest.mark.parametrize("command", ["report", "statements"])
def test_a_rolled_back_ledger_is_refused_by_report_and_statements(rolled_back, tmp_path,
                                                                   command):
    args = (["report", "-m", SCHEME, "-p", "2013-04"] if command == "report" else
            ["statements", "-m", SCHEME, "-p", "2013-04", "-o", str(tmp_path / "s")])
    result = rolled_back.pbr(*args)
    assert result.exit_code == 2, result.output
    assert "does not hold record" in result.output, result.output
    assert not (tmp_path / "s").exists()


def test_a_rolled_back_ledger_is_refused_before_any_return_is_read(rolled_back):
    for args in (["report", "-m", SCHEME, "-p", "2013-04"],
                 ["statements", "-m", SCHEME, "-p", "2013-04"],
                 ["calculate", "-m", SCHEME, "-p", "2013-05", "--dry-run"]):
        result = rolled_back.process("-v", *args)
        assert result.returncode == 2, (args, result.stderr)
        assert "pbr: read " not in result.stderr, (args, result.stderr)


@pytest.mark.parametrize("how", ["absolute", "dotted", "symlink", "hardlink"])
def test_a_what_if_naming_the_live_ledger_by_any_name_is_refused(paid, tmp_path, how):
    """`--returns OTHER --ledger out/ledger.sqlite` recorded the what-if as the month's
    draft in the live ledger, and approve then paid from the other returns. Refused now,
    whatever name the live ledger is given."""
    copy = tmp_path / "other"
    shutil.copytree(paid.returns, copy)
    live = paid.ledger
    if how == "absolute":
        named = str(live.resolve())
    elif how == "dotted":
        named = str(live.parent / ".." / "out" / live.name)
    elif how == "symlink":
        named = str(tmp_path / "link.sqlite")
        os.symlink(live, named)
    else:
        named = str(tmp_path / "hard.sqlite")
        os.link(live, named)
    before = live.read_bytes()
    for args in (["calculate", "-m", SCHEME, "-p", "2013-05", "--returns", str(copy)],
                 ["approve", "-m", SCHEME, "-p", "2013-05", "--run", "3", "--returns",
                  str(copy)]):
        result = paid.pbr(*args, "--ledger", named)
        assert result.exit_code == 2, (how, args, result.output)
        assert "live ledger" in result.output, result.output
    assert live.read_bytes() == before


def test_one_ledger_by_two_names_takes_one_lock(paid, tmp_path):
    """The same ledger reached by two names (a hard link, two configs) took two locks: two
    approvals of one month at once, one ending in a crash. The lock is on the file itself
    now: the second name waits, or is refused with exit code 3."""
    from pbr_cli.errors import EXIT_LOCKED, PbrError
    from pbr_cli.ledger.lock import held

    hard = tmp_path / "hard.sqlite"
    os.link(paid.ledger, hard)
    link = tmp_path / "link.sqlite"
    os.symlink(paid.ledger, link)
    with held(paid.ledger):
        for other in (hard, link):
            with pytest.raises(PbrError) as refused:
                with held(other):
                    pass
            assert refused.value.exit_code == EXIT_LOCKED
    with held(hard):  # free again once the first is let go
        pass
