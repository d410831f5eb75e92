"""pbr as a council's finance team gets it: the wheel built from this checkout, installed into
a fresh virtual environment, used from an empty folder outside the repository — `pbr init`,
a sample month filed, calculated, approved and reported. (The new environment borrows this
one's third-party packages through a .pth file, so nothing is downloaded; pbr itself comes
only from the wheel.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.conftest import ROOT, made_once


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel installed in a virtual environment of its own (made once for the run)."""
    return made_once(tmp_path_factory, "install", _install)


def _install(work: Path) -> Path:
    dist = work / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "-w", str(dist), str(ROOT)], check=True,
                   capture_output=True, timeout=300)
    wheel = next(dist.glob("pbr_cli-*.whl"))
    env = work / "venv"
    venv.EnvBuilder(with_pip=False).create(env)
    bindir = env / ("Scripts" if sys.platform == "win32" else "bin")
    python = bindir / ("python.exe" if sys.platform == "win32" else "python")
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # only the wheel's pbr
    child = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig."
                                 "get_paths()['purelib'])"], check=True, capture_output=True,
                                text=True, env=clean).stdout.strip())
    (child / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                    "--quiet", "--no-deps", "--no-index", "--ignore-installed", str(wheel)],
                   check=True,
                   capture_output=True, timeout=300)
    where = subprocess.run([str(python), "-c", "import pbr_cli; print(pbr_cli.__file__)"],
                           check=True, capture_output=True, text=True, cwd=work,
                           env=clean).stdout
    assert str(env) in where and str(ROOT) not in where, where
    return bindir


def pbr(bindir: Path, folder: Path, *args: str) -> subprocess.CompletedProcess:
    # the officer's keys stay where they are whichever folder pbr runs in (the tests' own)
    env = {"PATH": f"{bindir}", "HOME": str(folder), "PBR_CACHE": "off",
           "PBR_KEYS": os.environ["PBR_KEYS"], "SYSTEMROOT": os.environ.get("SYSTEMROOT", "")}
    return subprocess.run([str(bindir / "pbr"), *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=300)


def test_from_pip_install_to_an_approved_month(installed, tmp_path):
    outside = tmp_path / "somewhere"
    outside.mkdir()
    listed = pbr(installed, outside, "models", "list")
    assert listed.returncode == 0, listed.stderr
    for name in ("birmingham-90-10", "wigan-cohort", "troubled-families", "work-programme",
                 "transforming-rehabilitation"):
        assert name in listed.stdout
    made = pbr(installed, outside, "init", "council", "--model", "birmingham-90-10")
    assert made.returncode == 0, made.stderr
    folder = outside / "council"
    assert (folder / "pbr.yaml").is_file() and (folder / "README.md").is_file()
    assert (folder / "models" / "birmingham-90-10.yaml").is_file()
    month = folder / "returns" / "birmingham-90-10" / "2013-04"
    shutil.copytree(ROOT / "sample_returns" / "birmingham-90-10" / "2013-04", month)
    drafted = pbr(installed, folder, "calculate", "-m", "birmingham-90-10", "-p", "2013-04")
    assert drafted.returncode in (0, 1), drafted.stderr
    assert "Recorded as draft run 1" in " ".join(drafted.stdout.split())
    approved = pbr(installed, folder, "approve", "-m", "birmingham-90-10", "-p", "2013-04",
                   "--run", "1", "--by", "A. Finance")
    assert approved.returncode == 0, approved.stderr
    assert (folder / "out" / "birmingham-90-10" / "birmingham-90-10-2013-04-schedule.xlsx"
            ).is_file()
    reported = pbr(installed, folder, "report", "-m", "birmingham-90-10", "-p", "2013-04")
    assert reported.returncode == 0, reported.stderr
    assert "£435,964.89" in reported.stdout
    status = pbr(installed, folder, "ledger", "status")
    assert "approved" in status.stdout and status.returncode in (0, 1)
    again = pbr(installed, outside, "init", "council")
    assert again.returncode == 2 and "never writes over anything" in again.stderr


def test_the_cron_line_pbr_init_writes_runs_in_crons_environment(installed, tmp_path):
    """The crontab line of the folder's README, run as cron runs it: /bin/sh, PATH
    /usr/bin:/bin, HOME and LOGNAME only. It used to say `pbr run ... || mail ...`: 'pbr: not
    found', 'mail: not found', exit 127, and nobody told. Now pbr is named by its full path,
    cron's own MAILTO mails what it prints, and it prints only when a person is needed."""
    home = tmp_path / "home"
    home.mkdir()
    cron = {"HOME": str(home), "LOGNAME": "officer", "SHELL": "/bin/sh", "PATH": "/usr/bin:/bin"}
    made = subprocess.run([str(installed / "pbr"), "init", "council", "-m", "birmingham-90-10"],
                          cwd=home, env={**cron, "PATH": str(installed)}, capture_output=True,
                          text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    folder = home / "council"
    readme = (folder / "README.md").read_text(encoding="utf-8").splitlines()
    assert "    MAILTO=finance@example.org" in readme
    entry = next(line.strip() for line in readme if line.strip().startswith("0 6 3 * * "))
    assert "mail " not in entry and "||" not in entry
    command = entry.split(None, 5)[5]

    def at_six() -> subprocess.CompletedProcess:
        return subprocess.run(["/bin/sh", "-c", command], cwd="/", env=cron,
                              capture_output=True, text=True, timeout=300)

    nothing_filed = at_six()
    assert nothing_filed.returncode == 2 and "no complete month with returns" in (
        nothing_filed.stdout + nothing_filed.stderr), nothing_filed
    shutil.copytree(ROOT / "sample_returns" / "birmingham-90-10" / "2013-04",
                    folder / "returns" / "birmingham-90-10" / "2013-04")
    drafted = at_six()
    assert drafted.returncode == 0, drafted.stderr
    assert "birmingham-90-10 2013-04: DRAFT run 1" in drafted.stdout  # a person must approve
    assert "Ledger out/ledger.sqlite: head record 1" in drafted.stdout  # kept by the mail
    assert "statement" not in drafted.stdout and len(drafted.stdout.splitlines()) == 2
    still = at_six()  # not approved yet: said again next time
    assert "2013-04: DRAFT run 1" in still.stdout
    approved = subprocess.run([str(installed / "pbr"), "approve", "-m", "birmingham-90-10",
                               "-p", "2013-04", "--run", "1"], cwd=folder, env=cron,
                              capture_output=True, text=True, timeout=120)
    assert approved.returncode == 0, approved.stderr
    quiet = at_six()
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")  # no mail
    assert "run finished: exit code 0" in (folder / "out" / "pbr.log").read_text()
