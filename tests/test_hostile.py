"""Hostile files at full size, in a fresh process: refused with bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.corpus import MODEL, ROOT, Kit, bomb

# The peak of this process's own memory (VmHWM, in KiB): unlike ru_maxrss, which Linux
# carries over from the parent that started it, it counts only what this process used.
CHILD = """
import sys
from pbr_cli.cli.app import app
try:
    app(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
with open("/proc/self/status") as fh:
    peak = next(int(ln.split()[1]) for ln in fh if ln.startswith("VmHWM:"))
print("MAXRSS", peak, file=sys.stderr)
"""


@pytest.mark.parametrize("declared", [None, 1000], ids=["honest sizes", "lying header"])
def test_a_gigabyte_bomb_is_refused_in_bounded_memory(tmp_path, declared):
    kit = Kit(tmp_path)
    path = bomb(kit, 2**30, declared)
    assert path.stat().st_size < 2 * 2**20  # a megabyte that unpacks to a gigabyte
    proc = subprocess.run([sys.executable, "-c", CHILD, "validate", str(path), "--model",
                           str(MODEL), "--register", str(kit.register), "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    report = json.loads(proc.stdout)
    assert report["exit_code"] == 2
    [problem] = report["files"][0]["problems"]
    assert problem["code"] == "unsafe-workbook" and "zip bomb" in problem["message"]
    peak_mib = int(proc.stderr.split("MAXRSS")[-1]) / 1024
    assert peak_mib < 500, peak_mib
    assert "Traceback" not in proc.stderr


def test_an_output_named_as_a_device_or_a_pipe_is_refused_not_replaced(tmp_path):
    """`-o /dev/null` (run as root) replaced the device with a regular file: the output's
    temporary file was renamed over it, and the finance CSV went into /dev beside it. A
    target that exists and is not a regular file (a device, a pipe, a folder) is refused,
    left as it was, and nothing is written beside it."""
    import os
    import stat

    from typer.testing import CliRunner

    from pbr_cli.cli.app import app
    from tests.conftest import ROOT

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    folder = tmp_path / "folder.xlsx"
    folder.mkdir()
    commands = [["report", "-m", "birmingham-90-10", "-p", "2013-Q2"],
                ["calculate", "-m", "birmingham-90-10", "-p", "2013-06",
                 "--ledger", str(tmp_path / "ledger.sqlite")],
                ["forecast", "-m", "wigan-cohort", "--no-budget", "--simulations", "10"]]
    for target in (pipe, folder):
        for command in commands:
            result = CliRunner().invoke(app, [*command, "-o", str(target), "--config",
                                              str(ROOT / "pbr.yaml")])
            assert result.exit_code == 2, (command, result.output)
            assert "not a regular file" in result.output, command
    assert stat.S_ISFIFO(os.stat(pipe).st_mode) and folder.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()
                  if not p.name.startswith("ledger")) == ["folder.xlsx", "pipe"]


def test_only_regular_files_are_taken_for_a_schedules_half_made_copies(tmp_path):
    """What a stopped run leaves beside an output, `.<name>.<random>.tmp`, is removed, or put
    in place when it is the approved schedule: a folder or a link of such a name, made by
    someone else in the output folder, is neither, and the clean-up neither fails on it nor
    follows it."""
    import os

    from pbr_cli.outputs.xlsx import half_made, remove_half_made

    target = tmp_path / "s.xlsx"
    left = tmp_path / ".s.xlsx.abc.tmp"
    left.write_bytes(b"half")
    folder = tmp_path / ".s.xlsx.dir.tmp"
    folder.mkdir()
    (folder / "inside").write_text("kept")
    elsewhere = tmp_path / "elsewhere.xlsx"
    elsewhere.write_bytes(b"someone else's")
    link = tmp_path / ".s.xlsx.link.tmp"
    os.symlink(elsewhere, link)
    assert half_made(target) == [left]
    remove_half_made(tmp_path, {"s.xlsx"})
    assert not left.exists() and (folder / "inside").read_text() == "kept"
    assert link.is_symlink() and elsewhere.read_bytes() == b"someone else's"
