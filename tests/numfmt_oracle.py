"""A second reading of number formats: LibreOffice's. Writes random number formats (one to
three sections of literals, digit placeholders, grouping and scaling commas, decimals,
percent signs, brackets) applied to awkward values, has LibreOffice save the sheet as CSV
"as shown", and compares, value by value, whether the text shown reads back as the value
held by pbr's rendering (pbr_cli/workbook/numfmt.py) and by LibreOffice's.

    python -m tests.numfmt_oracle [--formats 300] [--seed 7]

Texts differ where the two spreadsheets do (Excel keeps the point of `#.##` on 12, "12.",
and the minus of -0.4 under `0`, "-0"); what must agree is the verdict. Prints the counts
and every value whose verdict differs.
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path

from pbr_cli.workbook import numfmt

INTS = ["0", "#", "#,##0", "#,###", "00", "?0", "#0", "0,", "#,##0,", "0,,"]
FRACS = ["", ".0", ".00", ".##", ".0#", ".000", ".?"]
LITERALS = ["", '" days"', '"£"', "\\£", " ", '"x "', '"-"', "_-", "%", '" %"']
VALUES = [0, 7, -7, 12.5, -0.25, 1234.5678, 0.045, 1500, 99999.5, 0.1 + 0.2, 3e-5, -250000]


def formats(count: int, rng: random.Random) -> list[str]:
    def section() -> str:
        whole, frac = rng.choice(INTS), rng.choice(FRACS)
        if whole.endswith(",") and frac:
            whole, frac = whole.rstrip(","), frac + ","
        return rng.choice(LITERALS[:5]) + whole + frac + rng.choice(LITERALS)
    found: set[str] = set()
    while len(found) < count:
        sections = [section() for _ in range(rng.choice([1, 1, 2, 2, 3]))]
        if len(sections) >= 2 and rng.random() < 0.5:
            sections[1] = "-" + sections[1] if rng.random() < 0.5 else f"({sections[1]})"
        if len(sections) == 3 and rng.random() < 0.3:
            sections[2] = '"-"'
        found.add(";".join(sections))
    return sorted(found)


def main() -> None:
    import xlsxwriter

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--formats", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    cases = [(code, v) for code in formats(args.formats, random.Random(args.seed))
             for v in VALUES]
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "formats.xlsx"
        workbook = xlsxwriter.Workbook(str(book))
        sheet = workbook.add_worksheet()
        styles: dict[str, object] = {}
        for r, (code, value) in enumerate(cases):
            style = styles.setdefault(code, workbook.add_format({"num_format": code}))
            sheet.write_number(r, 0, value, style)
        workbook.close()
        subprocess.run(["soffice", "--headless", "--convert-to",
                        "csv:Text - txt - csv (StarCalc):44,34,76,1,,1033,false,true,true",
                        str(book), "--outdir", tmp], check=True, capture_output=True)
        with open(Path(tmp) / "formats.csv", encoding="utf-8") as fh:
            shown = [row[0] if row else "" for row in csv.reader(fh)]
    counts: Counter[str] = Counter()
    for (code, value), theirs in zip(cases, shown, strict=True):
        held = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        try:
            ours = numfmt.render(code, value)
        except numfmt.Unrenderable:
            counts["not rendered by pbr"] += 1
            continue
        counts["same text" if ours.strip() == theirs.strip() else "other text"] += 1
        mine, lo = numfmt.read_number(ours) == held, numfmt.read_number(theirs) == held
        counts[f"verdict pbr={mine} LibreOffice={lo}"] += 1
        if mine != lo:
            print(f"verdicts differ: {code!r} on {value}: pbr shows {ours!r}, "
                  f"LibreOffice {theirs!r}")
    print(f"{len(cases)} values: " + ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))


if __name__ == "__main__":
    main()
