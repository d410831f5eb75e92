"""A scheme's first month with pbr is either right or says why not.

Following the folder's README for wigan-cohort literally — April 2013's returns filed, then
`pbr run` — used to draft £17,475.00 instead of £22,125.00, with exit code 0 and "0 error(s)":
the episodes and rolling windows read every month since the scheme start (2012-04), and none
was filed. Now the months a calculation reads before go-live must be filed (a month's folder,
empty if no return came), or nothing is drafted and the months to file are named.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SAMPLES = ROOT / "sample_returns"


def pbr(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PBR_USER": "A. Finance"}
    env.pop("PBR_CONFIG", None)
    env.pop("PBR_LEDGER", None)
    return subprocess.run([sys.executable, "-m", "pbr_cli", *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=300)


def file_months(folder: Path, scheme: str, months: list[str]) -> None:
    for month in months:
        shutil.copytree(SAMPLES / scheme / month, folder / "returns" / scheme / month)


def test_a_cohort_schemes_first_month_needs_its_history_then_three_months_approved(tmp_path):
    made = pbr(tmp_path, "init", "council", "-m", "wigan-cohort", "--go-live", "2013-04")
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "council"
    readme = " ".join((folder / "README.md").read_text().split())
    assert ("wigan-cohort: its first month, 2013-04, reads every month since the scheme start "
            "(its episodes are followed from their start): file 2012-04 to 2013-03 as well "
            "(12 month(s))") in readme
    file_months(folder, "wigan-cohort", ["2013-04"])

    refused = pbr(folder, "run")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    said = " ".join(refused.stdout.split())
    assert ("reads every month since the scheme start, 2012-04" in said
            and "nothing is filed for 2012-04 to 2013-03 (12 month(s))" in said), said
    assert "opening caseload" in said and "nothing was drafted" in said
    assert not (folder / "out" / "wigan-cohort").exists() or not any(
        (folder / "out" / "wigan-cohort").iterdir())
    status = pbr(folder, "ledger", "status", "--json")
    (scheme,) = json.loads(status.stdout)["schemes"]
    assert [m["state"] for m in scheme["months"]] == ["not calculated"], scheme["months"]

    # A what-if over the same folder is worked out, and marked as not what is due.
    what_if = pbr(folder, "calculate", "-m", "wigan-cohort", "-p", "2013-04", "--returns",
                  str(folder / "returns" / "wigan-cohort"), "-o", str(tmp_path / "w.xlsx"),
                  "--json")
    codes = [p["code"] for p in json.loads(what_if.stdout)["problems"]]
    assert "history-incomplete" in codes

    history = [f"2012-{m:02d}" for m in range(4, 13)] + [f"2013-{m:02d}" for m in range(1, 4)]
    file_months(folder, "wigan-cohort", history)
    due = {}
    for month in ("2013-04", "2013-05", "2013-06"):
        if month != "2013-04":
            file_months(folder, "wigan-cohort", [month])
        drafted = pbr(folder, "run", "--json")
        assert drafted.returncode == 0, drafted.stderr
        (line,) = [m for m in json.loads(drafted.stdout)["months"] if m["month"] == month]
        approved = pbr(folder, "approve", "-m", "wigan-cohort", "-p", month,
                       "--run", str(line["run"]))
        assert approved.returncode == 0, approved.stderr
        due[month] = line["due"]
    assert due["2013-04"] == "22125.00"
    # the months after it come to what the whole history gives, worked out in one go
    for month in ("2013-05", "2013-06"):
        whole = pbr(ROOT, "calculate", "-m", "wigan-cohort", "-p", month, "--returns",
                    str(SAMPLES / "wigan-cohort"), "-o", str(tmp_path / f"{month}.xlsx"),
                    "--json")
        assert json.loads(whole.stdout)["totals"]["payment"] == due[month], month


def test_a_rolling_window_before_go_live_is_filed_or_said_to_be_empty(tmp_path):
    made = pbr(tmp_path, "init", "council", "-m", "birmingham-90-10", "--go-live", "2013-06")
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "council"
    file_months(folder, "birmingham-90-10", ["2013-06"])
    refused = pbr(folder, "calculate", "-m", "birmingham-90-10", "-p", "2013-06")
    assert refused.returncode == 2
    assert ("the months 2013-04 to 2013-06 (its rolling windows), and nothing is filed for "
            "2013-04 to 2013-05 (2 month(s))") in " ".join(refused.stderr.split())
    assert "opening caseload" not in refused.stderr  # (the model has none)
    for month in ("2013-04", "2013-05"):  # none came: the folders say so
        (folder / "returns" / "birmingham-90-10" / month).mkdir()
    drafted = pbr(folder, "calculate", "-m", "birmingham-90-10", "-p", "2013-06")
    assert drafted.returncode == 0, drafted.stderr
