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

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("install")
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
