"""Money, periods, formulas and model loading."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pbr_cli.errors import PbrError
from pbr_cli.expr import ExprError, parse
from pbr_cli.model import find_model
from pbr_cli.money import round_pence
from pbr_cli.periods import Month, Window, days_active, parse_period
from tests.conftest import MODEL_PATH, broken_model

# -- money ------------------------------------------------------------------------------


@pytest.mark.parametrize("value,pence", [
    (Fraction(1, 200), "0.01"), (Fraction(-1, 200), "-0.01"), (Fraction(149, 10000), "0.01"),
    (Fraction(9000) * Fraction(37, 38), "8763.16"), (Fraction(10000, 3), "3333.33"),
    (Decimal("2.675"), "2.68"), (Fraction(0), "0.00"),
])
def test_round_pence_half_up(value, pence):
    assert round_pence(value) == Decimal(pence)


@given(st.fractions(min_value=-10**7, max_value=10**7))
def test_rounding_is_within_half_a_penny(value):
    rounded = round_pence(value)
    assert abs(Fraction(rounded) - value) <= Fraction(1, 200)
    assert rounded == rounded.quantize(Decimal("0.01"))


# -- periods ----------------------------------------------------------------------------


@pytest.mark.parametrize("text,start,end", [
    ("2013-06", date(2013, 6, 1), date(2013, 6, 30)),
    ("2013-Q2", date(2013, 4, 1), date(2013, 6, 30)),
    ("2013/14", date(2013, 4, 1), date(2014, 3, 31)),
    ("2013/14-Q4", date(2014, 1, 1), date(2014, 3, 31)),
    ("2013-04..2013-09", date(2013, 4, 1), date(2013, 9, 30)),
])
def test_periods_resolve_to_exact_dates(text, start, end):
    period = parse_period(text)
    assert (period.start, period.end) == (start, end)
    assert start.isoformat() in period.describe()


def test_a_month_knows_its_days_in_every_year():
    """February has 29 days in 2012 and 2000, 28 in 2013 and 1900; every month of years 1
    to 9999 has the days the calendar gives it."""
    import calendar

    assert [Month(y, 2).days for y in (2012, 2000, 2013, 1900)] == [29, 29, 28, 28]
    assert Month(2013, 4).last_day == date(2013, 4, 30)
    assert all(Month(y, m).days == calendar.monthrange(y, m)[1]
               for y in range(1, 10_000) for m in range(1, 13))


@pytest.mark.parametrize("bad", ["2013-13", "June", "2013/15", "2013-09..2013-04", ""])
def test_bad_period_lists_accepted_forms(bad):
    with pytest.raises(PbrError) as err:
        parse_period(bad)
    assert "2013/14-Q1" in err.value.message


def test_window_never_reaches_before_scheme_start():
    assert str(Window.ending(Month(2013, 6), 3, date(2013, 4, 1))) == "2013-04-01 to 2013-06-30"
    assert str(Window.ending(Month(2013, 4), 3, date(2013, 4, 1))) == "2013-04-01 to 2013-04-30"
    assert Window.ending(Month(2013, 6), 12, None).first == Month(2012, 7)


def test_days_active():
    june = Month(2013, 6)
    assert days_active(june, date(2013, 6, 11), None) == 20
    assert days_active(june, date(2012, 1, 1), date(2013, 6, 15)) == 15
    assert days_active(june, date(2013, 7, 1), None) == 0


# -- formulas ---------------------------------------------------------------------------


def test_formula_numbers_are_exact():
    assert parse("0.1 + 0.2").evaluate({}) == Fraction(3, 10)
    assert parse("min(1, u / 0.95)").evaluate({"u": Fraction(555, 600)}) == Fraction(37, 38)


def test_if_only_works_out_the_chosen_branch():
    assert parse("IF(n == 0, 0, a / n)").evaluate({"n": Fraction(0), "a": Fraction(1)}) == 0
    with pytest.raises(ExprError, match="division by zero"):
        parse("a / n").evaluate({"n": Fraction(0), "a": Fraction(1)})


def test_whole_days_are_added_to_and_taken_from_dates():
    start = date(2012, 2, 20)
    assert parse("start + 638").evaluate({"start": start}) == date(2013, 11, 19)
    assert parse("10 + start").evaluate({"start": start}) == date(2012, 3, 1)  # a leap year
    assert parse("start - 20").evaluate({"start": start}) == date(2012, 1, 31)
    assert parse("end - start").evaluate({"start": start, "end": date(2012, 3, 1)}) == 10
    for bad in ("start + 0.5", "start * 2", "start + start", "2 - start"):
        with pytest.raises(ExprError, match="whole days"):
            parse(bad).evaluate({"start": start})


def test_a_formula_over_several_lines_reads_as_one():
    assert parse("a\n+ b").evaluate({"a": Fraction(1), "b": Fraction(2)}) == 3
    with pytest.raises(ExprError, match="near '\\+'"):
        parse("a +")
    with pytest.raises(ExprError, match="near '\\)'"):
        parse("min(a, ) )")


@pytest.mark.parametrize("text", ["__import__('os')", "a.b", "x[0]", "lambda: 1", "open('f')",
                                  "1 ** 2", "[1]", "a if b else c"])
def test_formulas_refuse_anything_but_arithmetic(text):
    with pytest.raises(ExprError):
        parse(text)


# -- models -----------------------------------------------------------------------------


def test_shipped_model_loads(model):
    assert model.name == "birmingham-90-10" and model.virtual
    assert [c.name for c in model.payments] == ["utilisation", "outcomes"]
    assert model.parameters["utilisation_target"].value == Fraction(19, 20)


def _broken(tmp_path, old: str, new: str):
    return broken_model(tmp_path, MODEL_PATH, old, new)[1]


def test_unknown_key_is_named_with_line_and_suggestion(tmp_path):
    message = _broken(tmp_path, "    label: Utilisation\n", "    lable: Utilisation\n")
    assert "did you mean 'label'" in message
    assert "measures[4].lable" in message
    line = next(i for i, t in enumerate(MODEL_PATH.read_text().splitlines(), 1)
                if t == "    label: Utilisation")
    assert f"birmingham-90-10.yaml:{line}:" in message


def test_formula_naming_nothing_is_refused(tmp_path):
    message = _broken(tmp_path, "min(1, utilisation / utilisation_target)",
                      "min(1, utilisation / utilisaton_target)")
    assert "utilisaton_target" in message and "did you mean 'utilisation_target'" in message


def test_python_tags_are_refused(tmp_path):
    message = _broken(tmp_path, "payments: virtual", "payments: !!python/object/apply:os.system ['id']")
    assert "tag" in message and "not allowed" in message


def test_missing_key_is_named(tmp_path):
    message = _broken(tmp_path, "  period: month\n", "")
    assert "scheme.period" in message and "missing" in message


def test_model_names_cannot_be_paths(tmp_path):
    with pytest.raises(PbrError) as err:
        find_model("../../etc/passwd", tmp_path)
    assert err.value.code == "bad-model-name"


# -- workbook tables ----------------------------------------------------------------------


def _table_workbook(path, rows, by_rows: bool):
    """A sheet with a heading, `rows` as a table under it, and a total row: written by
    write_rows, or cell by cell."""
    from pbr_cli.outputs.xlsx import Formats, new_workbook, save_workbook, write_cell, write_rows

    wb = new_workbook(path, "table")
    fmt = Formats(wb)
    ws = wb.add_worksheet("Table")
    ws.write_string(0, 0, "Heading", fmt.title)
    formats = [fmt.text, fmt.money, fmt.date, fmt.percent, fmt.integer, fmt.wrap]
    ws.add_table(2, 0, 2 + len(rows), len(formats) - 1, {
        "name": "T", "columns": [{"header": f"Column {j}"} for j in range(len(formats))]})
    if by_rows:
        write_rows(ws, 3, rows, formats)
    else:
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                write_cell(ws, 3 + i, j, value, formats[j])
    write_cell(ws, 3 + len(rows), 1, Decimal("1.10"), fmt.money_bold)
    save_workbook(wb, path)


def test_a_long_table_is_the_file_add_table_writes(tmp_path):
    """add_long_table adds a table over two rows and gives it its whole range: the workbook
    is byte for byte the one xlsxwriter's add_table writes over every row."""
    from pbr_cli.outputs.xlsx import (
        Formats,
        add_long_table,
        new_workbook,
        save_workbook,
        write_rows,
    )

    def made(path, long: bool, count: int) -> bytes:
        wb = new_workbook(path, "table")
        fmt = Formats(wb)
        ws = wb.add_worksheet("Table")
        options = {"name": "T", "style": "Table Style Light 9", "autofilter": True,
                   "columns": [{"header": f"Column {j}"} for j in range(3)]}
        (add_long_table if long else lambda w, f, last, c, o: w.add_table(f, 0, last, c, o))(
            ws, 4, 4 + count, 2, options)
        write_rows(ws, 5, [[f"r{i}", i, Decimal(i)] for i in range(count)],
                   [fmt.text, fmt.integer, fmt.money])
        save_workbook(wb, path)
        return path.read_bytes()

    for count in (1, 2, 3, 500):
        assert made(tmp_path / "long.xlsx", True, count) == made(tmp_path / "add.xlsx", False,
                                                                   count), count


def _cells(path):
    import openpyxl

    ws = openpyxl.load_workbook(path)["Table"]
    return [[(c.value, c.data_type, c.number_format, c.font.b, c.alignment.wrap_text)
             for c in row] for row in ws.iter_rows()]


def test_tables_written_by_rows_hold_what_cell_by_cell_writing_holds(tmp_path):
    from datetime import datetime

    rows = [
        ["plain", Decimal("12.50"), date(2013, 4, 1), Fraction(1, 3), 7, "x" * 40_000],
        ["=SUM(A1)", Decimal("-0.01"), datetime(2013, 4, 1, 9, 30), None, True, "a & b < c"],
        ["plain", 3, None, 0.25, False, "bell \x07 and tab\t"],
        [None, Decimal("1E+3"), date(1900, 3, 1), Decimal("0.9"), 0, "plain"],
    ]
    _table_workbook(tmp_path / "rows.xlsx", rows, by_rows=True)
    _table_workbook(tmp_path / "cells.xlsx", rows, by_rows=False)
    by_rows, by_cells = _cells(tmp_path / "rows.xlsx"), _cells(tmp_path / "cells.xlsx")
    assert by_rows == by_cells
    assert [c[0] for c in by_rows[3]] == ["plain", 12.5, datetime(2013, 4, 1),
                                          0.3333333333, 7,
                                          "x" * 32_767]
    assert by_rows[4][0][:2] == ("'=SUM(A1)", "s")  # text stays text
    assert by_rows[4][4][0] == "yes" and by_rows[5][4][0] == "no"
    assert [c[2] for c in by_rows[3]] == ["General", "£#,##0.00;[Red]-£#,##0.00", "yyyy-mm-dd",
                                          "0.00%", "#,##0", "General"]
    assert by_rows[7][1][:2] == (1.1, "n") and by_rows[7][1][3] is True  # the total row


def test_a_cell_written_over_a_table_written_by_rows_is_a_mistake_caught(tmp_path):
    from pbr_cli.outputs.xlsx import Formats, new_workbook, save_workbook, write_rows

    wb = new_workbook(tmp_path / "twice.xlsx", "twice")
    ws = wb.add_worksheet("Twice")
    write_rows(ws, 3, [["a"], ["b"]], [Formats(wb).text])
    ws.write_string(4, 0, "over b")
    with pytest.raises(ValueError, match="row 5 was written twice"):
        save_workbook(wb, tmp_path / "twice.xlsx")


def test_a_table_too_long_for_a_sheet_is_refused(tmp_path):
    from pbr_cli.outputs.xlsx import Formats, new_workbook, save_workbook, write_rows

    wb = new_workbook(tmp_path / "big.xlsx", "big")
    ws = wb.add_worksheet("Big")
    ws.xls_rowmax = 10  # as if the sheet held ten rows
    with pytest.raises(PbrError) as err:
        write_rows(ws, 3, [["a"]] * 8, [Formats(wb).text])  # rows 4 to 11
    assert err.value.code == "output-too-large" and "8 rows" in str(err.value)
    save_workbook(wb, tmp_path / "big.xlsx")


def test_working_days_by_hand():
    from pbr_cli.periods import working_days

    # Friday 6 December 2013 to Tuesday 31 December: 17 weekdays; 15 without Christmas.
    assert working_days(date(2013, 12, 6), date(2013, 12, 31)) == 17
    holidays = frozenset({date(2013, 12, 25), date(2013, 12, 26), date(2013, 12, 28)})
    assert working_days(date(2013, 12, 6), date(2013, 12, 31), holidays) == 15  # 28th: Saturday
    assert working_days(date(2013, 12, 6), date(2013, 12, 9)) == 1  # over a weekend
    assert working_days(date(2013, 12, 9), date(2013, 12, 9)) == 0
