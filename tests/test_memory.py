"""Memory pbr has freed is handed back to the system (pbr_cli/memory.py): at national scale
the C library kept what the returns' records and a month's pricing had freed, and a 4×
calculation held 1,148 MiB where it used far less (docs/scale.md, Memory)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

FRAGMENTS = """
import sys
from pbr_cli.memory import give_back_memory

def resident():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024

blocks = [bytes([n % 251]) * 4000 for n in range(25_000)]  # about 100 MiB of small blocks
pin = bytes(4000)  # above them: what they free is a hole, not the heap's top
del blocks
before = resident()
give_back_memory()
print(before, resident())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_freed_small_blocks_go_back_to_the_system():
    """100 MiB of small blocks freed beneath a live one stay with the process until pbr
    asks for them back; then the process holds at least 60 MiB less."""
    proc = subprocess.run([sys.executable, "-c", FRAGMENTS], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    before, after = map(int, proc.stdout.split())
    assert before - after >= 60, (before, after)
