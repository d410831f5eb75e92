"""`pbr validate --annotate`: the copy sent back to a provider, read back cell by cell."""

from __future__ import annotations

import io

import openpyxl
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from tests.corpus import MODEL, Kit, clean_rows

runner = CliRunner()


def faulty(kit: Kit):
    rows = clean_rows()
    rows["Utilisation"][0]["void_days"] = "12"  # number typed as text: E2
    rows["Outcomes"][2]["outcome"] = "9z"  # unknown code: E4
    rows["Outcomes"][3]["assessment_date"] = "03/06/2013"  # date as text: C5
    return kit.write_return(rows)


def annotate(kit: Kit, target, *paths):
    return runner.invoke(app, ["validate", *map(str, paths), "--model", str(MODEL),
                               "--register", str(kit.register), "--annotate", str(target)])


def test_annotated_copy_marks_every_problem_and_keeps_the_data(tmp_path):
    kit = Kit(tmp_path)
    source = faulty(kit)
    target = kit.out / "P1-checked.xlsx"
    result = annotate(kit, target, source)
    assert result.exit_code == 1, result.output
    assert f"written to {target}" in " ".join(result.output.split())

    original = openpyxl.load_workbook(source)
    copy = openpyxl.load_workbook(target)
    assert copy.sheetnames == ["Problems", *original.sheetnames]
    for ws in original.worksheets:  # the provider's data is never changed
        assert [[c.value for c in row] for row in ws.iter_rows()] == \
            [[c.value for c in row] for row in copy[ws.title].iter_rows()], ws.title

    marked = {"Utilisation!E2": "number-as-text", "Outcomes!E4": "unknown-code",
              "Outcomes!C5": "date-as-text"}
    for ref, code in marked.items():
        sheet, cell = ref.split("!")
        c = copy[sheet][cell]
        assert c.fill.fgColor.rgb.endswith("FFC7CE"), ref
        assert c.border.left.style == "thick", ref  # told apart without colour
        assert c.comment is not None and f"[{code}]" in c.comment.text, ref
    # A warned cell is blue with a dashed border, not another yellow beside the input cells'.
    from pbr_cli.outputs.annotate import FILLS

    assert FILLS["warning"] not in ("FFEB9C", "FFF2CC")
    warned = [c for ws in copy.worksheets[1:] for row in ws.iter_rows() for c in row
              if c.comment is not None and c.fill.fgColor.rgb.endswith(FILLS["warning"])]
    assert warned and all(c.border.left.style == "dashed" for c in warned)
    unmarked = copy["Outcomes"]["E3"]
    assert unmarked.comment is None

    problems = copy["Problems"]
    assert copy.active.title == "Problems"
    rows = [[c.value for c in row] for row in problems.iter_rows(min_row=6)]
    assert [(r[1], r[2]) for r in rows if r[2] in marked.values()] == list(marked.items())
    links = {problems.cell(row=i, column=2).hyperlink.location
             for i in range(6, 6 + len(rows)) if problems.cell(row=i, column=2).hyperlink}
    assert {"'Utilisation'!E2", "'Outcomes'!E4", "'Outcomes'!C5"} <= links

    first = target.read_bytes()
    assert annotate(kit, target, source).exit_code == 1
    assert target.read_bytes() == first  # deterministic


def test_clean_return_gets_a_copy_saying_so(tmp_path):
    kit = Kit(tmp_path)
    source = kit.write_return()
    target = kit.out / "clean.xlsx"
    assert annotate(kit, target, source).exit_code == 0
    assert openpyxl.load_workbook(target)["Problems"]["A3"].value == "No problems found."


def test_a_folder_gets_copies_of_the_returns_with_problems_only(tmp_path):
    kit = Kit(tmp_path)
    faulty(kit)
    kit.write_return(provider="P2", name="P2-2013-06.xlsx", rows={
        "Utilisation": [{"service_id": "S002", "void_days": 0}], "Outcomes": []})
    result = annotate(kit, kit.out / "checked", kit.returns)
    assert result.exit_code == 1, result.output
    written = sorted(p.relative_to(kit.out).as_posix() for p in kit.out.rglob("*.xlsx"))
    assert written == ["checked/P1-2013-06-annotated.xlsx"]


def test_no_copy_of_an_unreadable_file_and_never_over_the_return(tmp_path):
    kit = Kit(tmp_path)
    bad = kit.path("P1-2013-06.xlsx")
    bad.write_text("a,b\n1,2\n")
    result = annotate(kit, kit.out / "copy.xlsx", bad)
    assert result.exit_code == 2 and "No annotated copy written" in result.output
    assert not any(kit.out.iterdir())

    source = kit.write_return()
    before = source.read_bytes()
    result = annotate(kit, source, source)
    assert result.exit_code == 2 and "would overwrite the return itself" in result.output
    assert source.read_bytes() == before


def test_progress_bar_counts_the_files():
    from pathlib import Path

    from rich.console import Console

    from pbr_cli.outputs.console import FileProgress

    out = io.StringIO()
    bar = FileProgress(Console(file=out, force_terminal=True, width=100))
    for i in range(1, 4):
        bar(i, 3, Path(f"P{i}-2013-06.xlsx"))
    bar.close()
    text = out.getvalue()
    assert "reading" in text and "3/3" in text and "P3-2013-06.xlsx" in text
