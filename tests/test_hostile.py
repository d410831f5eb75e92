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
from pbr_cli.cli import app
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
