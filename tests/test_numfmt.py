"""Number formats rendered as Excel shows them (pbr_cli/workbook/numfmt.py), each worked by
hand, and whether what is shown reads back as what is held."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pbr_cli.workbook import numfmt


@pytest.mark.parametrize("code,value,shown", [
    ("0", 12, "12"),
    ("0", 2.5, "3"),  # half up: 2.5 -> 3
    ("0.00", 12, "12.00"),
    ("0.00", 2.345, "2.35"),  # the shortest decimal of the float, 2.345, half up to 2.35
    ("#,##0", 1234567, "1,234,567"),
    ("#,##0.00", -1234.5, "-1,234.50"),
    ("0,", 300, "0"),  # 300 / 1,000 = 0.3, to no decimals: 0
    ("0,", 1500, "2"),  # 1.5 half up: 2
    ("0.0,,", 2500000, "2.5"),  # two commas: / 1,000,000
    ("#,##0,", 1234567, "1,235"),  # grouping and scaling together: 1,234.567 -> 1,235
    ('"300"', 0, "300"),
    ("0%", 12, "1200%"),  # 12 x 100
    ("0%", 0.125, "13%"),  # 12.5 half up
    ("0.0%", 0.125, "12.5%"),
    ("0;0", -12, "12"),  # the second section has no sign of its own
    ("0;(0)", -12, "(12)"),
    ("0;[Red]-0", -12, "-12"),
    ('0;-0;"zero"', 0, "zero"),
    ('0" days"', 12, "12 days"),
    ("\\£0.00", 12, "£12.00"),
    ("[$€-407]#,##0.00", 3.5, "€3.50"),
    ("_-* #,##0_-;-* #,##0_-;_-* \"-\"_-;_-@_-", 0, " - "),  # accounting: zero is a dash
    ("_-* #,##0_-;-* #,##0_-;_-* \"-\"_-;_-@_-", 1234, " 1,234 "),
    ("00000", 42, "00042"),
    ("#.##", 0.5, ".5"),
    ("#.##", 12, "12."),  # Excel keeps the point
    ("0.0#", 1.5, "1.5"),
    ("0.0#", 1.25, "1.25"),
    ("General", 12.5, "12.5"),
    ('"No. "General', 7, "No. 7"),
    ("@", 12, "12"),
    ("0", "S001", "S001"),  # a text under a format without a text section: as it is
    ('0;0;0;"code "@', "S001", "code S001"),
    ('0;0;0;"hidden"', "S001", "hidden"),
])
def test_render(code, value, shown):
    assert numfmt.render(code, value) == shown


@pytest.mark.parametrize("code,value,agrees", [
    ('"300"', 0, False),  # shows 300, holds 0
    ('"300"', -300, False),  # literals only: no sign is added, shows 300
    ("0,", 300, False),
    ("0%", 12, True),  # 1200% is 12
    ("0%", 0.125, False),  # 13% is 0.13
    ("0", 12, True),
    ("0", 2.5, False),
    ("0.00", 0.1 + 0.2, False),  # holds 0.30000000000000004, shows 0.30
    ("0;(0)", -12, True),
    ("0;0", -12, False),
    ("_-* #,##0_-;-* #,##0_-;_-* \"-\"_-", 0, True),  # a dash alone is 0
    ("#,##0", 1234567, True),
])
def test_reads_back(code, value, agrees):
    assert numfmt.reads_back(code, value)[0] is agrees


@pytest.mark.parametrize("code", ["[>100]0;0.0", "[h]:mm:ss", "0.00E+00", "# ?/?", "00-00",
                                  "0;0;0;0;0", '"unclosed', "0 q"])
def test_formats_pbr_cannot_render_are_refused(code):
    with pytest.raises(numfmt.Unrenderable):
        numfmt.render(code, 1234)


@pytest.mark.parametrize("code,kind", [
    ("General", numfmt.FAITHFUL), ("@", numfmt.FAITHFUL), ("yyyy-mm-dd", numfmt.FAITHFUL),
    ("d/m/yy", numfmt.FAITHFUL), ("dd/mm/yyyy hh:mm", numfmt.FAITHFUL),
    ("h:mm dd/mm/yyyy", numfmt.FAITHFUL),  # mm after h is minutes, the second mm the month
    ("mmm yyyy", numfmt.DATE_PART), ("hh:mm", numfmt.DATE_PART), ("dddd", numfmt.DATE_PART),
    ("d mmm", numfmt.DATE_PART), ("0", numfmt.CHECK), ("[h]:mm:ss", numfmt.CHECK),
    (";;;", numfmt.CHECK),
])
def test_kind(code, kind):
    assert numfmt.kind(code) == kind


@pytest.mark.parametrize("text,number", [
    ("1,234.50", Decimal("1234.50")), ("(12)", Decimal(-12)), ("-£12", Decimal(-12)),
    ("13%", Decimal("0.13")), (" - ", Decimal(0)), ("12 days", Decimal(12)),
    ("", None), ("N/A", None), ("1 2", None), ("£", None),
])
def test_read_number(text, number):
    assert numfmt.read_number(text) == number
