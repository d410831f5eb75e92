"""The checks over whole columns (pbr_cli/returns/columns.py, the default) give exactly the
problems the checks a cell at a time give (check_return(..., by_cell=True)): the same
problems, for the same cells, with the same messages and severities, in the same order, and
the same typed tables, over returns generated at random for every shipped model's sheets and
for a test's own sheet holding every column kind. The values are valid and invalid alike:
blanks, the wrong type, numbers and dates typed as text, numbers out of range, codes that are
not codes, dates outside the month or after the start, keys twice, limits read from another
column, odd spacing and characters that look like letters, cells the reader marked, hidden
rows and columns, merged cells, columns moved, renamed or missing."""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from pbr_cli.model import load_model
from pbr_cli.model.kinds import ColumnType
from pbr_cli.periods import Month
from pbr_cli.returns.checks import check_return
from pbr_cli.returns.register import load_register
from pbr_cli.workbook.reader import RawSheet, RawWorkbook
from tests.test_conditions_times import CONTRACTS, HEADER, MODEL

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(p for p in (ROOT / "models").glob("*.yaml") if ".tests." not in p.name)
RETURNS_EACH = 60

# a sheet of clients holding every column kind, with limits of each sort: parameters, a
# period fact, another column of the row
EVERY_KIND = """\
    - name: Readings
      description: One row for each reading taken this month.
      key: [person, seen]
      columns:
        - {name: person, header: Person, type: text}
        - {name: seen, header: Seen, type: date, within: period}
        - {name: stamp, header: Stamped, type: date-time, within: period, required: false}
        - {name: weight, header: Weight, type: number, min: 0, max: hours_target}
        - {name: fee, header: Fee, type: money, max: bpt_price, required: false}
        - {name: visits, header: Visits, type: integer, min: 0, max: days_in_month}
        - {name: kind, header: Kind, type: code, codes: offence}
        - {name: opened, header: Opened, type: date, within: before-start, required: false}
        - {name: closed, header: Closed, type: date, min: seen, required: false}
        - {name: later, header: Later visits, type: integer, min: visits, required: false}
    - name: Sessions
      description: Each contract's sessions this month.
      key: [contract_id]
      columns:
        - {name: contract_id, header: Contract, type: text, register: true}
        - {name: sessions, header: Sessions, type: integer, min: 0,
           max: "IF(sessions > 30, extra, own_target)"}
        - {name: extra, header: Extra sessions, type: integer, required: false,
           required_when: "IF(own_target > 40, sessions > 3, extra > 0)"}
measures:
"""


def _every_kind(tmp: Path):
    (tmp / "hip.register.csv").write_text(
        "\n".join(",".join(r) for r in [HEADER, *CONTRACTS]) + "\n", encoding="utf-8")
    path = tmp / "hip-fracture-tariff.yaml"
    path.write_text(MODEL.replace("measures:\n", EVERY_KIND, 1), encoding="utf-8")
    model = load_model(path)
    return model, load_register(model, tmp / "hip.register.csv")


def _odd_text(rng: random.Random, plain: str) -> object:
    return rng.choice([f" {plain} ", f"{plain}\u200b", plain.replace("C", "\u0421"),
                       f"{plain[:2]} {plain[2:]}", "\uff21" + plain, "", "   ", plain.lower(),
                       f"\t{plain}\n", "é" + plain])


def _value(rng: random.Random, kind: str, codes: list[str], month: Month, start: date,
           pool: list[str]) -> object:
    """A cell for a column of `kind`: its usual value most often, else anything."""
    day = month.first_day + timedelta(days=rng.randint(-40, 70))
    anything = [None, "", "  ", True, 7, 2.5, 41000.0, float("nan"), float("inf"), "abc",
                "12", "£1,200.50", "2013-05-03", "03/05/2013", "2013-05-03 14:30",
                date(2013, 5, 3), datetime(2013, 5, 3, 14, 30, 0, 999_700), -3, 2**60,
                1e300, 2.0**55, "Summary offence", " summary  OFFENCE ", "SUMMARY", "x y", "\u0421001"]
    if rng.random() < 0.25:
        return rng.choice(anything)
    if kind == ColumnType.TEXT:
        plain = rng.choice(pool)
        return plain if rng.random() < 0.85 else _odd_text(rng, plain)
    if kind in (ColumnType.INTEGER, ColumnType.NUMBER, ColumnType.MONEY):
        number = rng.randint(-3, 40)
        return rng.choice([number, number, float(number), number + 0.5, str(number),
                           rng.randint(-10**6, 10**6) / 100])
    if kind == ColumnType.DATE:
        when = rng.choice([day, day, start - timedelta(days=rng.randint(1, 90))])
        return rng.choice([when, when, datetime(when.year, when.month, when.day, 9, 30)])
    if kind == ColumnType.DATE_TIME:
        return rng.choice([datetime(day.year, day.month, day.day, rng.randint(0, 23),
                                    rng.randint(0, 59)), day, day.isoformat() + " 10:15"])
    code = rng.choice(codes) if codes else "x"
    return rng.choice([code, code, code.lower(), f" {code} ", "NOPE", 1, 1.0])


def _cover(model, provider: str | None, month: Month) -> RawSheet:
    return RawSheet("Cover", [["Scheme", model.title], ["Model", model.name],
                              ["Model version", model.version], ["Template layout", "1"],
                              ["Provider code", provider], ["Month", month.first_day]])


def _sheet(rng: random.Random, model, spec, register, provider: str | None,
           month: Month) -> RawSheet:
    columns = list(spec.columns)
    rng.shuffle(columns) if rng.random() < 0.2 else None
    if rng.random() < 0.1 and len(columns) > 1:
        columns.pop(rng.randrange(len(columns)))  # a column missing
    header = [c.header if rng.random() > 0.05 else f" {c.header.upper()} " for c in columns]
    if rng.random() < 0.1:
        header.insert(rng.randint(0, len(header)), "Notes")  # a column the model has not
    keys = [e[model.register.key] for e in register.entries]
    pool = [f"C{n:03d}" for n in range(rng.randint(1, 30))]
    rows = [header]
    for _ in range(rng.randint(0, 40)):
        row = []
        for head in header:
            col = next((c for c in columns if c.header.casefold() == head.strip().casefold()),
                       None)
            if col is None:
                row.append(rng.choice([None, "a note", 3]))
            elif col.register:
                row.append(rng.choice([*keys, "ZZ9", None]))
            else:
                codes = list(model.codes[col.codes].values) if col.codes else []
                row.append(_value(rng, col.type, codes, month, model.start, pool))
        if rng.random() < 0.05:
            row = [None] * len(row)  # an empty row among the others
        if rng.random() < 0.1 and len(row) > 1:
            row = row[:rng.randint(1, len(row) - 1)]  # a short row
        rows.append(row)
    if rng.random() < 0.3 and len(rows) > 2:  # rows repeated: keys twice
        rows.extend(rng.sample(rows[1:], k=min(3, len(rows) - 1)))
    sheet = RawSheet(spec.name, rows)
    width = len(header)
    for _ in range(rng.choice([0, 0, 0, 1, 3])):  # cells the reader marked
        r, j = rng.randint(1, max(1, len(rows) - 1)), rng.randrange(max(1, width))
        sheet.special[(r, j)] = rng.choice(["error-value", "formula-without-value",
                                            "invisible-value", "not-a-date"])
        if rng.random() < 0.5:
            sheet.notes[(r, j)] = "the formula reads a sheet that is not there"
        else:
            sheet.details[(r, j)] = " (#REF!)"
    if rng.random() < 0.15:
        sheet.hidden_rows = frozenset(rng.sample(range(2, len(rows) + 2), k=min(2, len(rows))))
    if rng.random() < 0.1:
        sheet.hidden_columns = frozenset({rng.randint(1, max(1, width))})
    if rng.random() < 0.1 and len(rows) > 2:
        r, j = rng.randint(1, len(rows) - 2), rng.randrange(max(1, width))
        sheet.merged = [((r, j), (r + 1, j))]
    return sheet


def _workbook(rng: random.Random, model, register) -> RawWorkbook:
    months = [m for m in (Month.of(model.start + timedelta(days=31 * k)) for k in range(8))
              if model.covers(m)]
    month = rng.choice(months)
    provider = rng.choice([*register.providers(), *register.providers(), "NOBODY", None])
    sheets = {"Cover": _cover(model, provider, month)}
    for spec in model.sheets:
        if rng.random() < 0.05:
            continue  # a sheet left out
        name = spec.name if rng.random() > 0.03 else spec.name.upper()
        sheets[name] = _sheet(rng, model, spec, register, provider, month)
        sheets[name].name = name
    hidden = {rng.choice(list(sheets))} if rng.random() < 0.05 else set()
    return RawWorkbook(f"{provider}-{month}.xlsx", "0" * 64, list(sheets), hidden, sheets)


def _cells(frame) -> list[list[tuple[type, object]]]:
    """A table's values with their types (a NaN as the word, so it equals itself)."""
    return [[(type(v), "nan" if isinstance(v, float) and math.isnan(v) else v)
             for v in frame[c].tolist()] for c in frame.columns]


def _same(raw: RawWorkbook, model, register, month: Month | None) -> list[str]:
    by_cell = check_return(raw, model, register, month, by_cell=True)
    whole = check_return(raw, model, register, month)
    assert whole.problems == by_cell.problems  # Problem is a dataclass: every field, in order
    assert (whole.provider, whole.month, whole.positions) == (
        by_cell.provider, by_cell.month, by_cell.positions)
    assert list(whole.tables) == list(by_cell.tables)
    for name, frame in by_cell.tables.items():
        other = whole.tables[name]
        assert list(other.columns) == list(frame.columns), name
        assert other.columns.dtype == frame.columns.dtype, name
        assert list(other.dtypes) == list(frame.dtypes), name
        assert other.index.equals(frame.index), name
        assert _cells(other) == _cells(frame), name
    return [p.code for p in by_cell.problems]


def _models(tmp: Path):
    for path in SHIPPED:
        model = load_model(path)
        yield path.stem, model, load_register(model, path.with_suffix(".register.csv"))
    yield ("every-kind", *_every_kind(tmp))


def test_the_column_checks_say_exactly_what_the_cell_checks_say(tmp_path):
    seen: Counter[str] = Counter()
    for name, model, register in _models(tmp_path):
        rng = random.Random(f"columns-{name}")
        for _ in range(RETURNS_EACH):
            raw = _workbook(rng, model, register)
            month = None if rng.random() < 0.2 else Month.parse(raw.path[-12:-5])
            seen.update(_same(raw, model, register, month))
    # the returns reach every problem of a cell, a column and a row the checks can give
    assert {"required-missing", "not-a-number", "number-as-text", "not-an-integer",
            "not-a-date", "date-as-text", "date-as-number", "unknown-code",
            "suspicious-characters", "error-value", "formula-without-value",
            "invisible-value", "date-outside-period", "date-not-before-start",
            "before-scheme-start", "below-minimum", "above-maximum", "duplicate-row",
            "missing-column", "unexpected-column", "missing-sheet", "merged-cells",
            "hidden-data", "hidden-sheet", "unknown-entry", "entry-of-other-provider",
            "entry-not-active", "missing-entry", "group-too-few-rows"} <= set(seen), sorted(seen)


@pytest.mark.parametrize("kind", [ColumnType.TEXT, ColumnType.INTEGER, ColumnType.DATE])
def test_a_column_of_usual_cells_is_converted_whole_and_one_odd_cell_is_still_found(kind):
    """A column whose cells are all of its usual type is converted in bulk; one odd cell
    among them (here the last) gets the same problem as a cell at a time."""
    path = ROOT / "models" / "wigan-cohort.yaml"
    model = load_model(path)
    register = load_register(model, path.with_suffix(".register.csv"))
    month = Month(2012, 6)
    usual = {ColumnType.TEXT: "C001", ColumnType.INTEGER: 3, ColumnType.DATE: date(2012, 6, 4)}
    odd = {ColumnType.TEXT: "C 001", ColumnType.INTEGER: 3.5, ColumnType.DATE: "2012-06-04"}
    spec = model.sheet("Reviews")
    header = [c.header for c in spec.columns]
    col = next(c for c in spec.columns if c.type == kind)
    filled = {"text": "C", "integer": 1, "date": date(2012, 6, 1), "code": "Y"}
    rows = [header]
    for n in range(50):
        row = [filled[c.type] if c.type != ColumnType.CODE else
               next(iter(model.codes[c.codes].values)) for c in spec.columns]
        row[0] = f"C{n:03d}"
        rows.append(row)
    j = header.index(col.header)
    for row in rows[1:]:
        row[j] = usual[kind] if col.name != "client_id" else row[j]
    rows[-1][j] = odd[kind]
    sheets = {"Cover": _cover(model, "P001", month), "Reviews": RawSheet("Reviews", rows)}
    raw = RawWorkbook("P001-2012-06.xlsx", "0" * 64, list(sheets), set(), sheets)
    codes = _same(raw, model, register, month)
    said = [p for p in check_return(raw, model, register, month).problems
            if p.sheet == "Reviews" and p.row == 51]
    assert said and said[0].column == "ABCDEFG"[j], said
    assert {"not-a-date", "date-as-text", "not-an-integer", "suspicious-characters"} & set(codes)


@pytest.mark.parametrize("by_cell", [True, False])
def test_a_limit_read_from_a_blank_register_field_is_no_limit(tmp_path, by_cell):
    """A sheet of register entries whose max names a register field the register leaves
    blank (T1's spare sessions): the row is not compared with it (as a limit naming a blank
    cell of the row is not), instead of the checks failing on `3 > None`. T2's spare is 5,
    so its 7 sessions are 2 too many."""
    (tmp_path / "hip.register.csv").write_text(
        "Contract,Provider code,Own target hours,Spare\nT1,NORTH,36,\nT2,NORTH,48,5\n",
        encoding="utf-8")
    text = MODEL.replace(
        "    - {name: own_target, header: Own target hours, type: integer, min: 1}\n",
        "    - {name: own_target, header: Own target hours, type: integer, min: 1}\n"
        "    - {name: spare, header: Spare, type: integer, required: false}\n").replace(
        "measures:\n", """    - name: Sessions
      description: Each contract's sessions this month.
      key: [contract_id]
      columns:
        - {name: contract_id, header: Contract, type: text, register: true}
        - {name: sessions, header: Sessions, type: integer, max: spare}
measures:
""", 1)
    (tmp_path / "hip-fracture-tariff.yaml").write_text(text, encoding="utf-8")
    model = load_model(tmp_path / "hip-fracture-tariff.yaml")
    register = load_register(model, tmp_path / "hip.register.csv")
    month = Month(2014, 5)
    sheets = {"Cover": _cover(model, "NORTH", month),
              "Sessions": RawSheet("Sessions", [["Contract", "Sessions"], ["T1", 3], ["T2", 7]])}
    raw = RawWorkbook("NORTH-2014-05.xlsx", "0" * 64, list(sheets), set(), sheets)
    checked = check_return(raw, model, register, month, by_cell=by_cell)
    said = [(p.code, p.row, p.column, p.message) for p in checked.problems
            if p.sheet == "Sessions"]
    assert said == [("above-maximum", 3, "B", said[0][3])], said
    assert "7" in said[0][3] and "5" in said[0][3], said
