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


def small_chunks(monkeypatch, size: int = 997) -> None:
    """The sheet streamed in chunks of `size` bytes (a prime: every offset of a tag is cut)."""
    from pbr_cli.workbook import sheet_scan

    real = sheet_scan.stream_part

    def chunked(*args):
        for chunk in real(*args):
            for at in range(0, len(chunk), size):
                yield chunk[at:at + size]

    monkeypatch.setattr(sheet_scan, "stream_part", chunked)


def test_a_tag_cut_by_a_chunk_s_end_is_not_taken_for_a_cell_without_a_reference(tmp_path,
                                                                               monkeypatch):
    """A sheet read in chunks is cut wherever a chunk ends, often inside a cell's tag: the
    part of the tag in one chunk (`<c `) has no reference yet, and the next chunk has the
    whole tag. Such a cut is not a cell written without r=, so the sheet is not walked tag by
    tag a second time (which took most of the time of a large sheet's scan)."""
    from pbr_cli.workbook import sheet_scan
    from pbr_cli.workbook.package import open_package

    path = Kit(tmp_path).write_return()
    with_parts(path, {"Outcomes": sheet_xml(2_000, 10,
                                            lambda r, j, c: f'<c r="{c}{r}"><v>{j}</v></c>')})
    small_chunks(monkeypatch)  # cut everywhere: inside tags, between "<c" and " r="
    walked = []
    real = sheet_scan._walk_positions
    monkeypatch.setattr(sheet_scan, "_walk_positions",
                        lambda *a: walked.append(a) or real(*a))
    pkg = open_package(str(path), path.read_bytes())
    scan = scan_sheet(pkg, pkg.sheets["Outcomes"])
    assert (scan.max_row, scan.max_col) == (2_000, 10)
    assert walked == []


def test_a_cell_without_a_reference_at_a_chunk_s_end_is_still_placed(tmp_path, monkeypatch):
    """The other side: cells written without r= (placed after the cell before) are found
    wherever the chunks are cut, and the used range counts them."""
    from pbr_cli.workbook.package import open_package

    path = Kit(tmp_path).write_return()
    small_chunks(monkeypatch)
    # every row's last cell has no reference: column 11 (K), after J
    with_parts(path, {"Outcomes": sheet_xml(2_000, 11, lambda r, j, c: (
        f'<c r="{c}{r}"><v>{j}</v></c>' if j < 10 else f"<c><v>{j}</v></c>"))})
    pkg = open_package(str(path), path.read_bytes())
    scan = scan_sheet(pkg, pkg.sheets["Outcomes"])
    assert (scan.max_row, scan.max_col) == (2_000, 11)


# The namespace prefixes a sheet uses on its tags and attributes' names, as one plain
# pattern says it (the scan finds them from each colon instead, a hundred times faster on a
# sheet whose rows say spans="1:7"): a prefix after "<", "</" or white space, then ":" and a
# name followed by "=", white space, "/" or ">".
PLAIN_PREFIX_USED = rb"(?:<|</|\s)([A-Za-z_][\w.-]*):[A-Za-z_][\w.-]*(?=\s*=|[\s/>])"


def test_the_prefixes_a_sheet_uses_are_found_as_the_plain_pattern_finds_them():
    import re

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from pbr_cli.workbook.sheet_scan import prefixes_used

    plain = re.compile(PLAIN_PREFIX_USED)
    pieces = st.sampled_from([b"<", b"</", b"/", b">", b":", b"=", b" ", b"\t", b"\n", b"\r",
                              b"\x0b", b"\x0c", b'"', b"'", b"a", b"x14ac", b"Z", b"_", b"9",
                              b".", b"-", b"r", b"c", b"row", b"dyDescent", b"1:7", b"\xc3\xa9"])

    @settings(max_examples=1500, deadline=None)
    @given(st.lists(pieces, max_size=40))
    def agree(parts):
        text = b"".join(parts)
        assert prefixes_used(text) == plain.findall(text), text

    agree()
    for text in (b'<row r="1" spans="1:7" x14ac:dyDescent="0.25">', b"</x:c>", b"<a/b:c>",
                 b"<x.y-z:b/>", b"< a:b =", b"a:b>", b"<9a:b>", b"<x:a:b>", b"\tp" * 300 + b":q>",
                 b"<" + b"n" * 100_000 + b":t>"):
        assert prefixes_used(text) == plain.findall(text), text[:40]
    # names as long as the windows looked back over, and one longer, after each lead
    for n in (1, 63, 64, 65, 255, 256, 257, 1023, 1024, 1025, 4096 + 64 + 1):
        for lead in (b"", b"<", b"</", b" ", b'"', b"9", b"/"):
            text = b"x" + lead + b"p" * n + b':q="1">'
            assert prefixes_used(text) == plain.findall(text), (lead, n)
            assert prefixes_used(text[1:]) == plain.findall(text[1:]), (lead, n)


def test_a_chunk_is_called_unusual_exactly_when_the_plain_byte_searches_say_so():
    import re

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from pbr_cli.workbook.sheet_scan import _unusual

    lower, newline_in_tag = re.compile(rb' r="[a-z]'), re.compile(rb"\n[^<>]*=")

    def plain(buf: bytes) -> bool:
        return (b"\t" in buf or b"\r" in buf or b"&#" in buf or b"='" in buf or b" =" in buf
                or b"= " in buf or b":c" in buf or b":row" in buf or b":f" in buf
                or bool(lower.search(buf)) or bool(newline_in_tag.search(buf)))

    pieces = st.sampled_from([b":", b"c", b"r", b"row", b"f", b"ro", b" ", b"=", b"'", b'"',
                              b"&", b"#", b"\t", b"\r", b"\n", b"<", b">", b' r="', b"a", b"A"])

    @settings(max_examples=1500, deadline=None)
    @given(st.lists(pieces, max_size=30))
    def agree(parts):
        text = b"".join(parts)
        assert _unusual(text) == plain(text), text

    agree()
