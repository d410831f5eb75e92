"""LibreOffice Calc as the judge of pbr's formula rule (pbr_cli/workbook/formulas.py).

Random formulas, within the part of the formula language pbr works out and outside it, are
written without values into a sheet beside numbers and texts; LibreOffice opens the workbook,
works every formula out with its own engine and saves it. pbr must then trust every formula
of its part (LibreOffice saved what the formula gives) and none outside it; and, with each
saved value changed in its last digit, none at all.

    python -m tests.formula_oracle [COUNT] [SEED]      # needs soffice on the PATH
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from io import BytesIO
from pathlib import Path

NUMBERS = {"A1": 10, "A2": 2.5, "A3": None, "A4": -4, "A5": 0.1, "A6": 1234567}
TEXTS = {"B1": "S003", "B2": "0601", "B3": "x y"}


def term(rng: random.Random, depth: int) -> str:
    if depth > 3 or rng.random() < 0.35:
        return rng.choice([str(rng.randint(0, 99)), f"{rng.randint(0, 99)}.{rng.randint(1, 9)}",
                           *NUMBERS, "$A$1", "A$2"])
    kind = rng.randrange(5)
    if kind == 0:
        return f"({term(rng, depth + 1)})"
    if kind == 1:
        return f"-{term(rng, depth + 1)}"
    if kind == 2:
        ends = sorted(rng.sample(range(1, 7), 2))
        return f"SUM(A{ends[0]}:A{ends[1]},{term(rng, depth + 1)})"
    op = rng.choice("+-*")  # / only by a number that is not zero
    right = term(rng, depth + 1) if op != "/" else str(rng.randint(1, 9))
    return f"{term(rng, depth + 1)}{op}{right}"


def formula(rng: random.Random) -> tuple[str, bool]:
    """(a formula, whether it is in the part pbr works out)."""
    kind = rng.randrange(10)
    if kind < 5:
        return term(rng, 0), True
    if kind == 5:
        return f"{term(rng, 1)}/{rng.randint(1, 9)}", True
    if kind == 6:
        return f'B1&"-"&{rng.choice(list(TEXTS))}&{rng.randint(0, 999)}', True
    if kind == 7:
        return f"SUM(A1:B3)+{rng.randint(0, 9)}", True
    return rng.choice([f"IF(A1>{rng.randint(0, 20)},1,2)", "ROUND(A2,0)", "A1^2",
                       "MAX(A1:A6)", "LEN(B3)", f"A1>{rng.randint(0, 20)}"]), False


def main(argv: list[str]) -> int:
    import openpyxl

    from pbr_cli.workbook.formulas import formula_cells, judge
    from pbr_cli.workbook.package import open_package
    from pbr_cli.workbook.reader import read_workbook

    count = int(argv[0]) if argv else 300
    rng = random.Random(int(argv[1]) if len(argv) > 1 else 38)
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        sys.exit("soffice (LibreOffice) is not on the PATH")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Data"
    for ref, value in {**NUMBERS, **TEXTS}.items():
        if value is not None:
            sheet[ref] = value
    made = [formula(rng) for _ in range(count)]
    for i, (text, _) in enumerate(made):
        sheet[f"D{i + 1}"] = "=" + text
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "formulas.xlsx"
        book.save(source)
        subprocess.run([soffice, f"-env:UserInstallation=file://{tmp}/profile", "--headless",
                        "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir",
                        str(Path(tmp) / "out"), str(source)], check=True, capture_output=True,
                       timeout=300)
        saved = (Path(tmp) / "out" / "formulas.xlsx").read_bytes()
    wrong = 0
    for spoil in (False, True):
        data = _last_digit_changed(saved) if spoil else saved
        path = Path(tempfile.mkdtemp()) / "formulas.xlsx"
        path.write_bytes(data)
        raw = read_workbook(path).sheets["Data"]
        pkg = open_package(str(path), data)
        cells = formula_cells(pkg, pkg.sheets["Data"])
        untrusted = judge(cells, raw.value, {})
        for i, (text, inside) in enumerate(made):
            expected = inside and not spoil
            trusted = (i, 3) in cells and (i, 3) not in untrusted
            if trusted != expected:
                wrong += 1
                print(f"{'changed ' if spoil else ''}D{i + 1} ={text}: LibreOffice saved "
                      f"{cells.get((i, 3))}; pbr {'trusts' if trusted else 'does not trust'} "
                      f"it: {untrusted.get((i, 3), '')}")
    inside = sum(1 for _, ok in made if ok)
    print(f"{count} formulas ({inside} in pbr's part), each as LibreOffice saved it and with "
          f"its value changed: {wrong} judged otherwise than expected")
    return 1 if wrong else 0


def _last_digit_changed(data: bytes) -> bytes:
    """The workbook with every formula's saved number changed in its last digit (a text
    gets an x)."""
    src = zipfile.ZipFile(BytesIO(data))
    out = BytesIO()

    def spoil(m: re.Match) -> bytes:
        if b't="b"' in m.group(0):
            return m.group(0)  # TRUE or FALSE: nothing to change it to
        value = m.group(1)
        if re.fullmatch(rb"-?[\d.]+(E[-+]?\d+)?", value):
            digits = re.search(rb"\d", value)  # the first: 15 digits no longer agree
            assert digits is not None
            at = digits.start()
            value = value[:at] + str((int(value[at:at + 1]) + 1) % 10).encode() + value[at + 1:]
        else:
            value += b"x"
        return m.group(0)[:m.start(1) - m.start(0)] + value + b"</v>"

    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename.startswith("xl/worksheets/"):
                body = re.sub(rb"<c [^>]*>(?:<f[^>]*>[^<]*</f><v>)([^<]*)</v>", spoil, body)
            dst.writestr(info.filename, body)
    return out.getvalue()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
