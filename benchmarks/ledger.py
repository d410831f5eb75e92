"""What verifying the ledger costs: a ledger of 18 months x 200 providers, as a client-level
scheme makes it (each month's run lists every return since the scheme's start, 200 x 5 x 3
payment lines and 60 adjustments; each month approved), verified in a fresh process.

Prints the time and peak memory of `pbr ledger verify` and of `pbr ledger status` (both
verify the whole chain), the in-process time of `Ledger.verify()` beside a plain read of every
row of every table (the floor), and their ratio. Then what signing costs: the same ledger
recorded with every run and approval signed (Ed25519), and verified with every signature
checked, beside the unsigned one (the ratio to unsigned).

    python benchmarks/ledger.py [--months 18] [--providers 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.hostile import CHILD  # noqa: E402  (pbr in a fresh process, its peak printed)
from pbr_cli.ledger.records import RunInput, RunLine  # noqa: E402
from pbr_cli.ledger.signing import NamedKey, Signer, Trust  # noqa: E402
from pbr_cli.ledger.store import Adjustment, ApprovalRecord, Ledger, RunRecord  # noqa: E402
from pbr_cli.periods import Month  # noqa: E402


def officer() -> tuple[Signer, Trust]:
    """A key of the benchmark's own, named in a config's `keys` and approving the scheme."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    from pbr_cli.ledger.signing import public_text

    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = public_text(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    trust = Trust({"cron": (NamedKey(public),)}, {"wigan-cohort": ("cron",)})
    return Signer("cron", raw, public), trust


def build(path: Path, months: int, providers: int, signer: Signer | None = None) -> None:
    ledger = Ledger(path)
    ledger.signer = signer
    start = Month(2012, 4)
    groups = ("L", "M", "H")
    components = ("presentation", "completion", "abstinence", "non_representation", "ete")
    for i in range(months):
        month = start.plus(i)
        inputs = [RunInput("model", "models/wigan-cohort.yaml", "a" * 64, "", "", True),
                  RunInput("register", "models/wigan-cohort.register.csv", "b" * 64, "", "",
                           True)]
        for j in range(i + 1):
            m = start.plus(j)
            inputs += [RunInput("return", f"returns/wigan-cohort/{m}/P{p:03d}-{m}.xlsx",
                        f"{p:032x}{j:032x}", f"P{p:03d}", str(m), True)
                       for p in range(providers)]
        lines = [RunLine(f"P{p:03d}", f"P{p:03d}", {"complexity": g}, c, "payment",
                  Decimal(f"{(p * 7 + len(c) * 13 + ord(g)) % 900}.{p % 100:02d}"))
                 for p in range(providers) for g in groups for c in components]
        adjustments = [Adjustment(str(start.plus(max(0, i - 1))), f"P{p:03d}", "completion",
                                  Decimal("100.00"), Decimal("150.00"), "a resubmitted return")
                       for p in range(60)] if i else []
        record = RunRecord("wigan-cohort", "a" * 64, "b" * 64, str(month), "0.2.0",
                           "2013-01-01T00:00:00Z", "run",
                           sum((ln.amount for ln in lines), Decimal("0.00")),
                           sum((a.difference for a in adjustments), Decimal("0.00")), 0,
                           f"out/wigan-cohort/wigan-cohort-{month}-schedule.xlsx", inputs,
                           lines, adjustments, ledger.basis("wigan-cohort"))
        ledger.record(record, lambda _run: "c" * 64,
                      lambda run, sha, m=month: ApprovalRecord(
                          run, "wigan-cohort", str(m), signer.name if signer else "pbr",
                          "2013-01-01T00:00:00Z", "",
                          f"out/wigan-cohort/wigan-cohort-{m}-schedule.xlsx", sha, "automatic"))
    ledger.close()


def floor(path: Path) -> float:
    """Reading every row of every table, and nothing else."""
    db = sqlite3.connect(path)
    started = time.perf_counter()
    for table in ("runs", "inputs", "lines", "adjustments", "approvals", "chain"):
        for _ in db.execute(f"SELECT * FROM {table}"):
            pass
    took = time.perf_counter() - started
    db.close()
    return took


def in_process(path: Path, trust: Trust | None = None) -> float:
    ledger = Ledger(path)
    started = time.perf_counter()
    found = ledger.verify(trust)
    took = time.perf_counter() - started
    ledger.close()
    assert found == [], found
    return took


def command(folder: Path, args: list[str]) -> tuple[float, int]:
    env = {**os.environ, "PBR_CONFIG": str(folder / "pbr.yaml")}
    env.pop("PBR_LEDGER", None)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=600)
    took = time.perf_counter() - started
    rss = int(next(ln.split()[1] for ln in proc.stderr.splitlines() if ln.startswith("MAXRSS")))
    return took, rss // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--providers", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "out" / "ledger.sqlite"
        started = time.perf_counter()
        build(path, args.months, args.providers)
        built = time.perf_counter() - started
        (folder / "pbr.yaml").write_text(f"models: {ROOT / 'models'}\nreturns: returns\n"
                                         "output: out\nschemes: [wigan-cohort]\n")
        (folder / "returns" / "wigan-cohort").mkdir(parents=True)
        db = sqlite3.connect(path)
        counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("runs", "inputs", "lines", "adjustments", "approvals", "chain")}
        db.close()
        size = path.stat().st_size / 2**20
        print(f"Ledger: {args.months} months x {args.providers} providers, {size:.1f} MiB; "
              + ", ".join(f"{n:,} {t}" for t, n in counts.items())
              + f" (built in {built:.1f} s)")
        floors = [floor(path) for _ in range(args.runs)]
        verifies = [in_process(path) for _ in range(args.runs)]
        f, v = statistics.median(floors), statistics.median(verifies)
        print(f"read every row (the floor)      {f:7.2f} s")
        print(f"Ledger.verify(), in process     {v:7.2f} s   {v / f:5.1f}x the floor")
        for what in (["ledger", "verify"], ["ledger", "status"]):
            runs = [command(folder, what) for _ in range(args.runs)]
            t = statistics.median(r[0] for r in runs)
            rss = max(r[1] for r in runs)
            print(f"pbr {' '.join(what):<26} {t:7.2f} s   peak {rss} MiB (a fresh process)")
        signer, trust = officer()
        signed = folder / "signed" / "ledger.sqlite"
        started = time.perf_counter()
        build(signed, args.months, args.providers, signer)
        built_signed = time.perf_counter() - started
        checked = statistics.median(in_process(signed, trust) for _ in range(args.runs))
        print(f"recorded, every record signed   {built_signed:7.2f} s   "
              f"{built_signed / built:5.2f}x unsigned ({built:.2f} s)")
        print(f"Ledger.verify(), signatures too {checked:7.2f} s   "
              f"{checked / v:5.2f}x unsigned ({v:.2f} s)")


if __name__ == "__main__":
    main()
