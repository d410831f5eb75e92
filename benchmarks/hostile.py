"""How fast and in how much memory pbr refuses hostile files.

Builds (from tests/corpus.py) a zip bomb that unpacks to 1 GiB with honest sizes, the same
bomb with a lying header (declaring 1,000 bytes), an XML "billion laughs" bomb, and the
resource cases of the corpus (far cells however they are spelt, sheets reaching the last row
or column, two sheets of one name, a duration no calendar has), and costly files that sit
just inside the limits (docs/limits.md: reading one stays under 1 GiB); runs `pbr validate`
on each in a fresh process, several times, and prints the time and the peak memory (max RSS)
of pbr or of the worker process that read the file, whichever is larger.

    python benchmarks/hostile.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.corpus import (  # noqa: E402
    CASES,
    MODEL,
    Kit,
    bomb,
    costly_numbers,
    costly_strings,
    exact_read_beside,
    one_text_many_times,
)

# Within the limits: (name, builder). Each must read in under 1 GiB.
COSTLY = (
    ("2.45 million different numbers", lambda kit: costly_numbers(kit, 49_000, 50)),
    ("2 million different texts", lambda kit: costly_strings(kit, 40_000, 50)),
    ("a 32,000-char text in 2,000 cells", lambda kit: one_text_many_times(kit, 32_000, 2_000)),
    ("read exactly, 3M cells unread", lambda kit: exact_read_beside(kit, 60_000, 50)),
)

RESOURCE_CASES = ("far cell in single quotes", "far cell with spaces round =",
                  "far cell of four letters", "cell of four letters",
                  "sheet reaching row 1,048,576", "sheet reaching column XFD",
                  "two sheets with one name", "a duration cell holding 1E+10")

CHILD = """
import resource, sys
from pbr_cli.cli.app import app
try:
    app(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
except Exception as exc:
    print(type(exc).__name__, exc, file=sys.stderr)
print("MAXRSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
print("WORKERS", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
"""


def measure(args: list[str]) -> tuple[float, int, str]:
    """(seconds, peak RSS in MiB of pbr or of the worker that read a file, whichever is
    larger, the problem codes reported) for one run in a fresh process."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    seconds = time.perf_counter() - start
    own = int(proc.stderr.split("MAXRSS")[-1].split()[0])
    workers = int(proc.stderr.split("WORKERS")[-1].split()[0])
    rss = max(own, workers) // 1024
    if "--json" not in args:
        return seconds, rss, ""
    codes = [p["code"] for f in json.loads(proc.stdout)["files"] for p in f["problems"]]
    return seconds, rss, ",".join(sorted(set(codes)))


def build(tmp: str) -> dict[str, tuple[str, str]]:
    """Every file measured: name -> (the file, its register)."""
    kits = {name: Kit(Path(tmp) / name.replace(" ", "-")) for name in
            ("1 GiB zip bomb", "1 GiB zip bomb, lying header", "billion laughs")}
    files = {
        "1 GiB zip bomb": bomb(kits["1 GiB zip bomb"], 2**30),
        "1 GiB zip bomb, lying header": bomb(kits["1 GiB zip bomb, lying header"], 2**30,
                                             declared=1000),
    }
    laughs = next(c for c in CASES if c.name == "xml bomb (billion laughs)")
    files["billion laughs"] = Path(laughs.build(kits["billion laughs"])[1])
    # Files within the zip limits that would make a reader allocate or work without end.
    for case in RESOURCE_CASES:
        found = next(c for c in CASES if c.name == case)
        kits[case] = Kit(Path(tmp) / case.replace(" ", "-").replace("/", "-"))
        files[case] = Path(found.build(kits[case])[1])
    for name, make in COSTLY:
        kits[name] = Kit(Path(tmp) / name.replace(" ", "-"))
        files[name] = make(kits[name])
    return {name: (str(path), str(kits[name].register)) for name, path in files.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--build", metavar="DIR", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.build:  # in a process of its own: see below
        print(json.dumps(build(opts.build)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        # The files are built in another process: on Linux a child's peak memory starts at
        # its parent's size when it is started, and building the costly files takes
        # hundreds of MiB, which would then show in every measurement.
        made = subprocess.run([sys.executable, __file__, "--build", tmp], capture_output=True,
                              text=True, check=True)
        files = json.loads(made.stdout)
        print(f"{'file':<32} {'size':>9} {'median s':>9} {'max s':>7} {'peak MiB':>9}  code")
        for name, (path, register) in files.items():
            args = ["validate", path, "--model", str(MODEL), "--register", register, "--json"]
            runs = [measure(args) for _ in range(opts.runs)]
            times = [r[0] for r in runs]
            print(f"{name[:32]:<32} {Path(path).stat().st_size / 1024:>7.0f} K "
                  f"{statistics.median(times):>9.2f} {max(times):>7.2f} "
                  f"{max(r[1] for r in runs):>9}  {runs[0][2]}")
        seconds, rss, _ = measure(["--help"])
        print(f"(for scale: `pbr --help` in a fresh process takes {seconds:.2f} s and peaks at "
              f"{rss} MiB)")


if __name__ == "__main__":
    main()
