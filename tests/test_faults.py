"""Faults of the machine pbr runs on are errors, not crashes: a full disk or a read-only
folder (exit 2, one line naming the path, nothing half-written), pbr killed while its
workers read (they die with it), temporary files (kept in a private folder of pbr's own
beside the outputs, and cleaned), no config found (said, not guessed), and a month's
returns filed where they would be skipped unread (named)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from tests.conftest import ROOT

SAMPLES = ROOT / "sample_returns"
SCHEME = "birmingham-90-10"


def _script() -> list[str]:
    found = shutil.which("pbr", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "pbr_cli"]


def _env(**more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PBR_CONFIG", "PBR_LEDGER")}
    env.update(more)
    return env


def _config(folder: Path, output: Path, returns: Path = SAMPLES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "pbr.yaml"
    config.write_text(f"models: {ROOT / 'models'}\nreturns: {returns}\noutput: {output}\n"
                      f"ledger: {folder / 'ledger.sqlite'}\nlog: {folder / 'pbr.log'}\n"
                      f"schemes: [{SCHEME}]\n")
    return config


def _runs(config_folder: Path) -> int:
    import sqlite3

    path = config_folder / "ledger.sqlite"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]


def _nothing_half_written(folder: Path) -> None:
    left = [p for p in folder.rglob("*") if p.is_file()]
    assert left == [], left


# -- a full disk, a read-only folder ---------------------------------------------------------

def test_a_full_disk_while_a_schedule_is_written_is_exit_2_naming_it(tmp_path, monkeypatch):
    import xlsxwriter.workbook

    def full(self):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(xlsxwriter.workbook.Workbook, "_store_workbook", full)
    out = tmp_path / "out"
    monkeypatch.setenv("PBR_CONFIG", str(_config(tmp_path / "council", out)))
    result = CliRunner().invoke(app, ["-v", "calculate", "-m", SCHEME, "-p", "2013-04"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "[output-not-writable, exit code 2]" in result.stderr
    assert f"{SCHEME}-2013-04-draft.xlsx" in result.stderr
    assert "No space left on device" in result.stderr
    assert _runs(tmp_path / "council") == 0  # no run recorded without its schedule
    _nothing_half_written(out)


@pytest.fixture
def tiny_disk(tmp_path):
    """A folder on a file system of 16 KB (a tmpfs), or skip where mounting is not
    permitted."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root and mount(8)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_a_real_full_or_read_only_disk_is_exit_2_and_no_traceback(tmp_path, tiny_disk, fault):
    if fault == "read-only":
        subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)
    council = tmp_path / "council"
    config = _config(council, tiny_disk)
    proc = subprocess.run([*_script(), "-v", "calculate", "-m", SCHEME, "-p", "2013-04",
                           "--config", str(config)], env=_env(PBR_CACHE="off"),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if not ln.startswith("pbr: read ")]
    assert len(lines) == 1, proc.stderr
    assert "[output-not-writable, exit code 2]" in lines[0]
    assert str(tiny_disk) in lines[0]
    assert _runs(council) == 0
    _nothing_half_written(tiny_disk)


# -- workers die with pbr --------------------------------------------------------------------

def _children(pid: int) -> set[int]:
    """Every process below `pid` (children, grandchildren, ...)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    below, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        below |= frontier
    return below


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has died


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_pbr_when_it_is_killed(tmp_path):
    returns = tmp_path / "returns"
    month = returns / "2013-04"
    month.mkdir(parents=True)
    originals = sorted((SAMPLES / SCHEME / "2013-04").glob("*.xlsx"))
    for copy in range(8):
        for original in originals:
            shutil.copy(original, month / f"{original.stem}-{copy}.xlsx")
    proc = subprocess.Popen([*_script(), "validate", str(returns), "--model", SCHEME],
                            env=_env(PBR_CACHE="off", PBR_WORKERS="2"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        workers: set[int] = set()
        while len(workers) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, "no workers started"
            workers = _children(proc.pid)
            time.sleep(0.02)
        time.sleep(0.3)  # well into reading
        workers |= _children(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 5
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = [w for w in workers if _alive(w)]
    for w in survivors:
        os.kill(w, signal.SIGKILL)
    assert survivors == [], "workers outlived the pbr that started them"


# -- temporary files -------------------------------------------------------------------------

def test_no_temporary_file_in_the_system_temporary_folder(tmp_path, monkeypatch):
    """A schedule's parts, written while the workbook is made, name clients: they are made
    in a private folder beside the outputs, never in the system's temporary folder."""
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    out = tmp_path / "out"
    config = _config(tmp_path / "council", out)
    made: list[str] = []
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args, **kw):
        fd, name = real_mkstemp(*args, **kw)
        made.append(name)
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    result = CliRunner().invoke(app, ["calculate", "-m", SCHEME, "-p", "2013-04", "--config",
                                      str(config)])
    assert result.exit_code in (0, 1), result.output
    assert made, "no temporary file seen"
    assert not [m for m in made if Path(m).is_relative_to(system_tmp)]
    assert list(system_tmp.iterdir()) == []
    private = [m for m in made if ".pbr-tmp" in Path(m).parts]
    assert private, made
    assert not (out / SCHEME / ".pbr-tmp").exists()  # removed once the schedule is made


def test_a_dead_runs_private_folder_is_cleaned_by_the_next(tmp_path):
    import socket

    from pbr_cli.scratch import scratch_folder

    out = tmp_path / "out"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = out / ".pbr-tmp" / f"{socket.gethostname()}-{dead.pid}-x1"
    left.mkdir(parents=True)
    (left / "tmpabc").write_text("client ids")
    other_host = out / ".pbr-tmp" / f"elsewhere-{dead.pid}-x1"
    other_host.mkdir()
    mine = scratch_folder(out)
    assert mine.is_dir() and mine.parent == out / ".pbr-tmp"
    assert (mine.stat().st_mode & 0o777) == 0o700
    assert not left.exists()
    assert other_host.exists()  # another machine's run: not ours to judge


# -- no config -------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    ["approve", "-m", SCHEME, "-p", "2013-04", "--run", "1"],
    ["ledger", "status"],
    ["ledger", "verify"],
    ["report", "-m", SCHEME, "-p", "2013-04"],
    ["calculate", "-m", SCHEME, "-p", "2013-04", "--dry-run"],
])
def test_a_command_that_needs_a_config_says_where_it_looked(tmp_path, command):
    folder = tmp_path / "nowhere"
    folder.mkdir()
    env = _env(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "home" / ".config"),
               PBR_CACHE="off")
    proc = subprocess.run([*_script(), "-v", *command], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "no config file: looked for --config, $PBR_CONFIG, ./pbr.yaml" in proc.stderr
    assert "[no-config, exit code 2]" in proc.stderr
    assert list(folder.iterdir()) == []  # no lock, ledger or output left where it stands


def test_validate_of_files_named_needs_no_config(tmp_path):
    folder = tmp_path / "nowhere"
    folder.mkdir()
    env = _env(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "home" / ".config"),
               PBR_CACHE="off")
    one = SAMPLES / SCHEME / "2013-04" / "P01-2013-04.xlsx"
    proc = subprocess.run([*_script(), "validate", str(one), "--model", SCHEME], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    assert list(folder.iterdir()) == []


# -- a month filed where it would be skipped ---------------------------------------------------

@pytest.mark.parametrize("misfiled", [".2013-05", "2013-05.zip", "returns 2013-05.7z"])
def test_a_month_hidden_or_archived_in_the_returns_folder_is_named(tmp_path, misfiled):
    returns = tmp_path / "returns"
    shutil.copytree(SAMPLES / SCHEME / "2013-04", returns / SCHEME / "2013-04")
    if misfiled.startswith("."):
        shutil.copytree(SAMPLES / SCHEME / "2013-05", returns / SCHEME / misfiled)
    else:
        (returns / SCHEME / misfiled).write_bytes(b"PK\x05\x06" + b"\0" * 18)
    config = _config(tmp_path / "council", tmp_path / "out", returns)
    for command in (["calculate", "-m", SCHEME, "-p", "2013-04", "--dry-run"],
                    ["run", "--dry-run"]):
        result = CliRunner().invoke(app, ["-v", *command, "--config", str(config)])
        assert result.exit_code == 2, (command, result.output)
        assert misfiled in result.output and "not a month folder" in result.output
        if command[0] == "calculate":
            assert "[bad-month-folder, exit code 2]" in result.stderr, result.stderr
    validated = CliRunner().invoke(app, ["validate", str(returns / SCHEME), "--json",
                                         "--config", str(config)])
    if misfiled.startswith("."):  # validate reads every return under a folder it is given
        assert validated.exit_code in (0, 1), validated.output
        assert "P01-2013-05.xlsx" in validated.stdout
    else:  # an archive is not opened: named, and the exit code says a file was not used
        assert validated.exit_code == 2, validated.output
        assert misfiled in validated.stdout and "bad-month-folder" in validated.stdout
    # what a desktop leaves behind is not a return, and not named
    shutil.rmtree(returns / SCHEME / misfiled) if misfiled.startswith(".") else \
        (returns / SCHEME / misfiled).unlink()
    (returns / SCHEME / ".DS_Store").write_bytes(b"\0")
    (returns / SCHEME / ".git").mkdir()
    result = CliRunner().invoke(app, ["calculate", "-m", SCHEME, "-p", "2013-04", "--dry-run",
                                      "--config", str(config)])
    assert result.exit_code in (0, 1), result.output


def test_a_private_folder_is_made_though_another_run_removes_pbr_tmp_at_that_moment(
        tmp_path, monkeypatch):
    """Statements written by two worker processes into one folder: one finished its file and
    removed `.pbr-tmp` as empty just after the other had made it and before it made its own
    folder inside, and the other stopped with FileNotFoundError (a crash report). The other
    run's removal is made to happen at exactly that moment, twice."""
    from pbr_cli import scratch

    removals = []
    real_mkdtemp = scratch.tempfile.mkdtemp

    def mkdtemp_after_another_run_removed_the_base(*args, **kwargs):
        base = Path(kwargs["dir"])
        if len(removals) < 2:
            base.rmdir()  # the other run's release(): .pbr-tmp was empty
            removals.append(base)
        return real_mkdtemp(*args, **kwargs)

    monkeypatch.setattr(scratch.tempfile, "mkdtemp", mkdtemp_after_another_run_removed_the_base)
    mine = scratch.scratch_folder(tmp_path)
    assert len(removals) == 2
    assert mine.is_dir() and mine.parent == tmp_path / ".pbr-tmp"
    assert oct(mine.stat().st_mode & 0o777) == "0o700"
    scratch.release(mine)
    assert not (tmp_path / ".pbr-tmp").exists()
