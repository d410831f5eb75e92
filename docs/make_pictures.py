"""Remake the pictures in the README from real outputs of the shipped samples.

    python docs/make_pictures.py

Needs LibreOffice (`soffice`) to print the workbooks and poppler's `pdftoppm` and
`pdftotext` (Debian: apt-get install libreoffice-calc poppler-utils). In a folder of its own
(its own config and ledger), `pbr run` approves June 2013 of the 90/10 pilot and of Troubled
Families; then it writes docs/images/schedule.png (the first page of the pilot's approved
June schedule, as printed), docs/images/statement.png (the first page of LA1's statement
PDF for Troubled Families' approved June) and docs/images/review-chart.png (the report's
Variance sheet for 2013-Q2, as printed), and docs/images/pictures.json: the pbr version
that made them, and for each picture its scheme, month, standing, the command that made its
source, the words on its page and its SHA-256 (tests/test_pages.py checks them against the
version and the README). Nothing outside a temporary folder and docs/images/ is touched.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"


def pbr(*args: str, config: Path) -> None:
    subprocess.run([sys.executable, "-m", "pbr_cli", *args, "--config", str(config)],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def printed(workbook: Path) -> Path:
    """The workbook as LibreOffice prints it (its own print settings), as a PDF."""
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir",
                    str(workbook.parent), str(workbook)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return workbook.with_suffix(".pdf")


def page_with(pdf: Path, words: str) -> int:
    pages = int(next(line.split()[-1] for line in subprocess.run(
        ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()
        if line.startswith("Pages:")))
    for page in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
        if words in text:
            return page
    raise SystemExit(f"no page of {pdf} says {words!r}")


def page_text(pdf: Path, page: int) -> str:
    return " ".join(subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf),
                                    "-"], capture_output=True, text=True, check=True
                                   ).stdout.split())


def picture(pdf: Path, page: int, name: str, made: dict, facts: dict) -> None:
    stem = IMAGES / name
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", str(page), "-l", str(page),
                    "-singlefile", str(pdf), str(stem)], check=True)
    png = stem.with_suffix(".png")
    made[png.name] = {**facts, "words": page_text(pdf, page),
                      "sha256": hashlib.sha256(png.read_bytes()).hexdigest()}
    print(f"wrote {png.relative_to(ROOT)}")


def main() -> None:
    from pbr_cli import __version__

    for tool in ("soffice", "pdftoppm", "pdftotext", "pdfinfo"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed (see this script's first lines)")
    IMAGES.mkdir(parents=True, exist_ok=True)
    made: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = work / "pbr.yaml"
        config.write_text(f"models: {ROOT / 'models'}\nreturns: {ROOT / 'sample_returns'}\n"
                          f"output: {work / 'out'}\nledger: {work / 'ledger.sqlite'}\n"
                          f"log: {work / 'pbr.log'}\nschemes:\n"
                          "  birmingham-90-10: {go_live: 2013-06, approval: automatic}\n"
                          "  troubled-families: {go_live: 2013-06, approval: automatic}\n")
        pbr("run", config=config)  # approves June 2013 (and after) of both
        schedule = work / "out" / "birmingham-90-10" / "birmingham-90-10-2013-06-schedule.xlsx"
        picture(printed(schedule), 1, "schedule", made, {
            "scheme": "birmingham-90-10", "month": "2013-06", "standing": "APPROVED",
            "source": "pbr run (approval: automatic), the month's schedule as printed"})
        pbr("statements", "-m", "troubled-families", "-p", "2013-06", "--provider", "LA1",
            "-o", str(work), config=config)
        picture(work / "troubled-families-2013-06-LA1-statement.pdf", 1, "statement", made, {
            "scheme": "troubled-families", "month": "2013-06", "standing": "APPROVED",
            "source": "pbr statements -m troubled-families -p 2013-06 --provider LA1"})
        pbr("report", "-m", "birmingham-90-10", "-p", "2013-Q2", "-o", str(work / "report.xlsx"),
            config=config)
        pdf = printed(work / "report.xlsx")
        picture(pdf, page_with(pdf, "variance by provider"), "review-chart", made, {
            "scheme": "birmingham-90-10", "month": "2013-Q2", "standing": "report",
            "source": "pbr report -m birmingham-90-10 -p 2013-Q2, the Variance sheet printed"})
    manifest = IMAGES / "pictures.json"
    manifest.write_text(json.dumps({"version": __version__, "pictures": made}, indent=2,
                                   ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {manifest.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
