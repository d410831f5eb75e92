"""Remake the pictures in the README from real outputs of the shipped samples.

    python docs/make_pictures.py

Needs LibreOffice (`soffice`) to print the workbooks and poppler's `pdftoppm` and
`pdftotext` (Debian: apt-get install libreoffice-calc poppler-utils). Writes
docs/images/schedule.png (the first page of June 2013's schedule for the 90/10 pilot, as
printed), docs/images/statement.png (the first page of a provider's statement PDF, from a
month approved in a ledger of its own) and docs/images/review-chart.png (the report's
Variance sheet for 2013-Q2, as printed). Nothing outside a temporary folder and
docs/images/ is touched.
"""

from __future__ import annotations

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


def picture(pdf: Path, page: int, name: str) -> None:
    stem = IMAGES / name
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", str(page), "-l", str(page),
                    "-singlefile", str(pdf), str(stem)], check=True)
    print(f"wrote {stem.with_suffix('.png').relative_to(ROOT)}")


def main() -> None:
    for tool in ("soffice", "pdftoppm", "pdftotext", "pdfinfo"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed (see this script's first lines)")
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = work / "pbr.yaml"
        config.write_text(f"models: {ROOT / 'models'}\nreturns: {ROOT / 'sample_returns'}\n"
                          f"output: {work / 'out'}\nledger: {work / 'ledger.sqlite'}\n"
                          f"log: {work / 'pbr.log'}\nschemes:\n  troubled-families: "
                          "{go_live: 2013-06, approval: automatic}\n")
        pbr("calculate", "-m", "birmingham-90-10", "-p", "2013-06", "--returns",
            str(ROOT / "sample_returns" / "birmingham-90-10"), "-o", str(work / "schedule.xlsx"),
            config=config)
        picture(printed(work / "schedule.xlsx"), 1, "schedule")
        pbr("run", config=config)  # approves Troubled Families from June 2013
        pbr("statements", "-m", "troubled-families", "-p", "2013-06", "--provider", "LA1",
            "-o", str(work), config=config)
        picture(work / "troubled-families-2013-06-LA1-statement.pdf", 1, "statement")
        pbr("report", "-m", "birmingham-90-10", "-p", "2013-Q2", "-o", str(work / "report.xlsx"),
            config=config)
        pdf = printed(work / "report.xlsx")
        picture(pdf, page_with(pdf, "variance by provider"), "review-chart")


if __name__ == "__main__":
    main()
