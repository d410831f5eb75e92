"""An approver sees the warnings that change payments before the approval is recorded.

`pbr approve` used to print "Warnings that change payments: ..." only after it had approved
the month. Now the draft's money-changing warnings come first; at a terminal the approver is
asked, and answering no records nothing.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.test_first_month import file_months, pbr

WARNED = "warnings that change payments: 1 no-return, 8 record-left-out, 1 episode-assumed"


def _drafted(tmp_path: Path) -> tuple[Path, int]:
    """wigan-cohort going live in 2013-04 with every month since the scheme start filed,
    but P5's return for 2012-12 missing: April's draft carries money-changing warnings."""
    made = pbr(tmp_path, "init", "council", "-m", "wigan-cohort", "--go-live", "2013-04")
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "council"
    months = [f"2012-{m:02d}" for m in range(4, 13)] + [f"2013-{m:02d}" for m in range(1, 5)]
    file_months(folder, "wigan-cohort", months)
    (folder / "returns" / "wigan-cohort" / "2012-12" / "P5-2012-12.xlsx").unlink()
    drafted = pbr(folder, "run", "--json")
    assert drafted.returncode == 0, drafted.stderr
    (line,) = json.loads(drafted.stdout)["months"]
    return folder, line["run"]


def _at_a_terminal(folder: Path, args: list[str], answer: str) -> tuple[int, str]:
    """Run pbr with a terminal as its input and output; type `answer` when it asks."""
    main, child = pty.openpty()
    env = {**os.environ, "PBR_USER": "A. Finance", "COLUMNS": "80"}
    env.pop("PBR_CONFIG", None)
    env.pop("PBR_LEDGER", None)
    proc = subprocess.Popen([sys.executable, "-m", "pbr_cli", *args], cwd=folder, env=env,
                            stdin=child, stdout=child, stderr=child, close_fds=True)
    os.close(child)
    seen, answered, deadline = b"", False, time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(main, 4096)
                except OSError:  # the terminal closed: pbr has ended
                    break
                if not chunk:
                    break
                seen += chunk
            if not answered and b"[y/N]" in seen:
                os.write(main, answer.encode() + b"\n")
                answered = True
            if proc.poll() is not None and not ready:
                break
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
    return code, " ".join(seen.decode(errors="replace").split())


def test_the_warnings_are_listed_before_the_approval_is_recorded(tmp_path):
    folder, run = _drafted(tmp_path)
    approved = pbr(folder, "approve", "-m", "wigan-cohort", "-p", "2013-04", "--run", str(run))
    assert approved.returncode == 0, approved.stderr
    # not at a terminal: the list goes to stderr, said before anything is recorded
    said = " ".join(approved.stderr.split())
    assert (f"Draft run {run} of wigan-cohort 2013-04 carries {WARNED} (each is on the "
            "schedule's Warnings sheet)") in said, said


def test_at_a_terminal_the_approver_is_asked_and_no_records_nothing(tmp_path):
    folder, run = _drafted(tmp_path)
    code, seen = _at_a_terminal(folder, ["approve", "-m", "wigan-cohort", "-p", "2013-04",
                                         "--run", str(run)], "n")
    assert code == 2, seen
    assert WARNED in seen and seen.index(WARNED) < seen.index("[y/N]"), seen
    assert "not approved: nothing was recorded" in seen, seen
    status = pbr(folder, "ledger", "status", "--json")
    (month,) = [m for m in json.loads(status.stdout)["schemes"][0]["months"] if m["month"] == "2013-04"]
    assert month["state"] == "draft", month
    assert not (folder / "out" / "wigan-cohort" / "wigan-cohort-2013-04-schedule.xlsx").exists()

    code, seen = _at_a_terminal(folder, ["approve", "-m", "wigan-cohort", "-p", "2013-04",
                                         "--run", str(run)], "y")
    assert code == 0, seen
    assert seen.index(WARNED) < seen.index("Approved by"), seen
    status = pbr(folder, "ledger", "status", "--json")
    (month,) = [m for m in json.loads(status.stdout)["schemes"][0]["months"] if m["month"] == "2013-04"]
    assert month["state"] == "approved", month
