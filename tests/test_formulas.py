"""The formulas pbr works out to check a saved value (pbr_cli/workbook/formulas.py), each
worked by hand, and those it does not work out."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pbr_cli.workbook.formulas import BLANK, FormulaCell, NotWorkedOut, evaluate, judge, same

# A sheet by hand: A1 = 10, A2 = 2.5, A3 blank, B1 = "S003", B2 = "0601", C1 = 0.1, C2 = 0.2
SHEET = {(0, 0): 10, (1, 0): 2.5, (0, 1): "S003", (1, 1): "0601", (0, 2): 0.1, (1, 2): 0.2}


def cell(row: int, col: int):
    value = SHEET.get((row, col))
    return BLANK if value is None else (Decimal(repr(value)) if isinstance(value, float)
                                     else Decimal(value) if isinstance(value, int) else value)


@pytest.mark.parametrize("formula, gives", [
    ("1+2*3", Decimal(7)),  # * before +: 1 + 6
    ("(1+2)*3", Decimal(9)),
    ("-A1+A2", Decimal("-7.5")),  # -10 + 2.5
    ("A1/4", Decimal("2.5")),  # 10 / 4
    ("$A$1*A2", Decimal("25.0")),  # 10 * 2.5
    ("A3+1", Decimal(1)),  # a blank cell counts 0
    ("A3", Decimal(0)),  # and shows 0 when it is the whole formula (found by LibreOffice)
    ('A3&"x"', "x"),  # but joins as nothing
    ("SUM(A1:A3)", Decimal("12.5")),  # 10 + 2.5 + blank
    ("SUM(A1:B2,1)", Decimal("13.5")),  # 10 + 2.5 (the texts left out) + 1
    ("SUM(A1, A2*2)", Decimal("15.0")),  # 10 + 5
    ("C1+C2", Decimal("0.3")),  # exact: 0.1 + 0.2
    ('B1&"-"&B2', "S003-0601"),
    ('"Total "&A1+A2', "Total 12.5"),  # + before &: "Total " & 12.5
    ('"say ""hi"""', 'say "hi"'),
    ("1/3", Decimal("0." + "3" * 50)),  # worked to 50 digits
])
def test_what_a_formula_gives(formula, gives):
    assert evaluate(formula, cell) == gives


@pytest.mark.parametrize("formula, why", [
    ("[1]Sheet1!A1", "another workbook"),
    ("'[Budget.xlsx]June'!B7", "another workbook"),
    ("Outcomes!A1", "the sheet Outcomes"),
    ("IF(A1>1,1,0)", "IF()"),
    ("A1>1", "'>'"),
    ("2^3", "'^'"),
    ("TRUE", "the name TRUE"),
    ("A1/A3", "divides by zero"),
    ("B1+1", "arithmetic on a text"),
    ("A1:A2", "range A1:A2 outside SUM"),
    ("SUM(A1", "SUM that is not closed"),
    ("(1+2", "bracket that is not closed"),
])
def test_what_a_formula_that_is_not_worked_out_says(formula, why):
    with pytest.raises(NotWorkedOut) as found:
        evaluate(formula, cell)
    assert why in (found.value.why + found.value.external), found.value.why


@pytest.mark.parametrize("worked_out, saved, kind, agree", [
    (Decimal("0.3"), "0.30000000000000004", "n", True),  # Excel's double: 15 digits agree
    (Decimal(1) / Decimal(3), "0.33333333333333331", "n", True),
    (Decimal(26), "26", "n", True),
    (Decimal(26), "27", "n", False),
    (Decimal(26), "26.000000000001", "n", False),  # the 14th digit differs
    ("S003-0601", "S003-0601", "str", True),
    ("S003-0601", "S003-0602", "str", False),
    (Decimal(1), "1", "str", False),  # a number saved as a text is not the number
])
def test_a_saved_value_agrees_with_what_the_formula_gives(worked_out, saved, kind, agree):
    assert same(worked_out, saved, kind) is agree


def test_a_formula_reading_a_formula_is_trusted_only_through_it():
    """C1 = A1*2 saved 20, D1 = C1+1 saved 21: both trusted. E1 = [1]X!A1 saved 5 and
    F1 = E1+1 saved 6: neither (F1 reads a cell that cannot be checked). G1 = G1+1: itself."""
    cells = {(0, 2): FormulaCell("A1*2", "20", "n"), (0, 3): FormulaCell("C1+1", "21", "n"),
             (0, 4): FormulaCell("[1]X!A1", "5", "n"), (0, 5): FormulaCell("E1+1", "6", "n"),
             (0, 6): FormulaCell("G1+1", "1", "n")}
    found = judge(cells, lambda r, c: {(0, 0): 10}.get((r, c)), {})
    assert sorted(found) == [(0, 4), (0, 5), (0, 6)]
    assert "another workbook ([1]X!A1)" in found[(0, 4)]
    assert "reads E1, whose own formula cannot be trusted" in found[(0, 5)]
    assert "reads itself" in found[(0, 6)]


def test_a_formula_reading_an_error_is_not_trusted():
    cells = {(0, 1): FormulaCell("A1+1", "1", "n")}
    found = judge(cells, lambda r, c: None, {(0, 0): "error-value"})
    assert "reads A1, which cannot be read as it is" in found[(0, 1)]


def test_a_shared_formulas_copy_is_not_worked_out():
    cells = {(1, 0): FormulaCell("", "3", "n", "shared")}
    found = judge(cells, lambda r, c: None, {})
    assert "a copy of another cell's shared formula" in found[(1, 0)]
