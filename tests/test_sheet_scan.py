"""The sheet scan's used range: a sheet within the documented limits is read
(docs/limits.md: 2,500,000 cells in the sheets read; a return of 250,000 rows of 10 columns
fits)."""

from __future__ import annotations

from pbr_cli.workbook.sheet_scan import scan_sheet
from tests.corpus import Kit, sheet_xml, with_parts


def test_a_sheet_of_250000_rows_of_ten_one_letter_columns_passes_the_gate(tmp_path):
    # 250,000 x 10 = 2,500,000 cells: just within the limit. The columns are A to J, so the
    # used range is 10 columns wide, not the 26 every one-letter column could reach.
    path = Kit(tmp_path).write_return()
    with_parts(path, {"Outcomes": sheet_xml(250_000, 10,
                                            lambda r, j, c: f'<c r="{c}{r}"><v>{j}</v></c>')})
    from pbr_cli.workbook.package import MAX_CELLS, open_package

    pkg = open_package(str(path), path.read_bytes())
    scan = scan_sheet(pkg, pkg.sheets["Outcomes"])  # the gate refused it: 26 columns counted
    assert (scan.max_row, scan.max_col, scan.cells) == (250_000, 10, MAX_CELLS)


def test_the_widest_one_letter_column_is_found_wherever_it_is(tmp_path):
    path = Kit(tmp_path).write_return()
    # column Q (17) only in the last row
    with_parts(path, {"Outcomes": sheet_xml(3, 2, lambda r, j, c: f'<c r="{c}{r}"><v>1</v></c>')
                      .replace(b"</row></sheetData>", b'<c r="Q3"><v>1</v></c></row></sheetData>')})
    from pbr_cli.workbook.package import open_package

    pkg = open_package(str(path), path.read_bytes())
    scan = scan_sheet(pkg, pkg.sheets["Outcomes"])
    assert (scan.max_row, scan.max_col) == (3, 17)
