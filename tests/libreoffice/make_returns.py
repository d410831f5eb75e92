"""Returns really saved by LibreOffice Calc, for the corpus (tests/corpus.py).

Each return starts as the template pbr writes for provider P1, June 2013, filled with the
corpus's clean rows; one thing is changed in it as a person would in a spreadsheet (a row
hidden, a format that shows nothing, a formula...), and LibreOffice opens it and saves it as
an Excel 2007-365 workbook, in its own spelling of the XML. The files are kept beside this
script so the suite needs no LibreOffice; run it again to remake them:

    python tests/libreoffice/make_returns.py     # needs soffice on the PATH

MANIFEST.txt records the LibreOffice version and each file's SHA-256.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from tests.corpus import Kit  # noqa: E402

# name -> (what is changed, the change made with openpyxl before LibreOffice saves it)
CHANGES: dict[str, tuple[str, Callable]] = {}


def change(name: str, what: str):
    def register(fn: Callable) -> Callable:
        CHANGES[name] = (what, fn)
        return fn
    return register


@change("clean", "nothing: the clean return, as LibreOffice saves it")
def _(book) -> None:
    pass


@change("hidden-row", "Outcomes row 3 hidden (Format > Rows > Hide)")
def _(book) -> None:
    book["Outcomes"].row_dimensions[3].hidden = True


@change("zero-height-row", "Outcomes row 3 given a height of 0")
def _(book) -> None:
    book["Outcomes"].row_dimensions[3].height = 0


@change("hidden-column", "Utilisation column E (void days) hidden")
def _(book) -> None:
    book["Utilisation"].column_dimensions["E"].hidden = True


@change("invisible-format", "Utilisation E2 (void days) formatted ;;; (shows nothing)")
def _(book) -> None:
    book["Utilisation"]["E2"].number_format = ";;;"


@change("formula", "Utilisation E2 (void days) =100+200 instead of a value")
def _(book) -> None:
    book["Utilisation"]["E2"] = "=100+200"


@change("number-as-text", "Utilisation E2 (void days) the text '12'")
def _(book) -> None:
    book["Utilisation"]["E2"] = "12"
    book["Utilisation"]["E2"].number_format = "@"


@change("cyrillic-id", "Outcomes B2 (client id) C1 written with a Cyrillic С")
def _(book) -> None:
    book["Outcomes"]["B2"] = "\u04211"


def main() -> None:
    import openpyxl

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        sys.exit("soffice (LibreOffice) is not on the PATH")
    version = subprocess.run([soffice, "--version"], capture_output=True, text=True,
                             check=True).stdout.strip()
    lines = [f"Saved by {version}", ""]
    with tempfile.TemporaryDirectory() as tmp:
        for name, (what, fn) in CHANGES.items():
            kit = Kit(Path(tmp) / name)
            source = kit.write_return()
            book = openpyxl.load_workbook(source)
            fn(book)
            edited = Path(tmp) / "edited" / f"{name}.xlsx"
            edited.parent.mkdir(exist_ok=True)
            book.save(edited)
            out = Path(tmp) / "saved"
            subprocess.run([soffice, f"-env:UserInstallation=file://{tmp}/profile", "--headless",
                            "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out),
                            str(edited)], check=True, capture_output=True, timeout=180)
            target = HERE / f"{name}.xlsx"
            shutil.copyfile(out / f"{name}.xlsx", target)
            digest = hashlib.sha256(target.read_bytes()).hexdigest()
            lines.append(f"{name}.xlsx  {digest}  {what}")
            print(f"wrote {target.name}: {what}")
    (HERE / "MANIFEST.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
