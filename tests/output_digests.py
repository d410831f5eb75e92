"""The SHA-256 of every output pbr makes from the shipped samples, to show a change to the code
left them byte for byte as they were.

    python tests/output_digests.py record before.json     # on the code before the change
    python tests/output_digests.py compare before.json    # after it: lists what differs

For each shipped scheme: a schedule (workbook and JSON) for every month of its samples, and a
report (workbook, finance CSV and JSON) for every quarter and financial year they touch, all
made in a folder of their own with a ledger of their own, in the same order every time (so
the drafts' run numbers are the same). Paths in the JSON are written relative to that
folder. Exit code 1 when `compare` finds a difference.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMES = ("birmingham-90-10", "wigan-cohort", "troubled-families", "work-programme",
           "transforming-rehabilitation")


def periods(months: list[str]) -> list[str]:
    # (worked out here, not with pbr_cli.periods: the script must run on older code too)
    quarters = sorted({f"{m[:4]}-Q{(int(m[5:]) - 1) // 3 + 1}" for m in months})
    years = sorted({f"{int(m[:4]) - (int(m[5:]) < 4)}/{(int(m[:4]) - (int(m[5:]) < 4) + 1) % 100:02d}"
                    for m in months})
    return quarters + years


def digests() -> dict[str, str]:
    from typer.testing import CliRunner

    from pbr_cli.cli.app import app

    runner = CliRunner()
    out: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = root / "pbr.yaml"
        config.write_text(f"models: {ROOT / 'models'}\nreturns: {ROOT / 'sample_returns'}\n"
                          f"output: {root / 'out'}\nledger: {root / 'ledger.sqlite'}\n"
                          f"log: {root / 'pbr.log'}\n")
        os.environ.update(PBR_CONFIG=str(config), PBR_CACHE="off")
        os.environ.pop("PBR_LEDGER", None)

        def run(name: str, args: list[str]) -> None:
            result = runner.invoke(app, [*args, "--json"])
            if result.exit_code not in (0, 1):
                raise SystemExit(f"{name}: exit code {result.exit_code}\n{result.output[-2000:]}")
            text = result.stdout.replace(str(root), "<folder>").replace(str(ROOT), "<project>")
            out[f"{name}.json"] = hashlib.sha256(text.encode()).hexdigest()

        for scheme in SCHEMES:
            if not (ROOT / "sample_returns" / scheme).is_dir():
                continue  # (a scheme shipped later than the code being recorded)
            months = sorted(p.name for p in (ROOT / "sample_returns" / scheme).iterdir()
                            if p.is_dir())
            for month in months:
                target = root / "out" / f"{scheme}-{month}.xlsx"
                run(f"{scheme}/{month}", ["calculate", "-m", scheme, "-p", month,
                                          "-o", str(target)])
            for period in periods(months):
                slug = period.replace("/", "-")
                run(f"{scheme}/{slug}", ["report", "-m", scheme, "-p", period, "-o",
                                         str(root / "out" / f"{scheme}-{slug}-report.xlsx")])
        for path in sorted((root / "out").rglob("*")):
            if path.is_file():
                name = str(path.relative_to(root / "out"))
                out[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] not in ("record", "compare"):
        raise SystemExit(__doc__)
    found = digests()
    target = Path(sys.argv[2])
    if sys.argv[1] == "record":
        target.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
        print(f"{len(found)} outputs recorded in {target}")
        return
    before = json.loads(target.read_text())
    differ = sorted(k for k in set(before) | set(found) if before.get(k) != found.get(k))
    for name in differ:
        print(f"differs: {name}")
    print(f"{len(found)} outputs; {len(differ)} differ from {target}")
    raise SystemExit(1 if differ else 0)


if __name__ == "__main__":
    main()
