"""Random values in a return's cells never make pbr fail with a traceback: every problem is a
catalogued code, the JSON is well formed, and an annotated copy can be written."""

from __future__ import annotations

import json
import os
from datetime import date, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pbr_cli.jobs.validate import FileResult, ValidationReport
from pbr_cli.outputs.annotate import write_annotated
from pbr_cli.outputs.template import Formula, write_template
from pbr_cli.periods import Month
from pbr_cli.problems import CATALOGUE
from pbr_cli.returns.collect import read_and_check
from tests.corpus import clean_rows

JUNE = Month(2013, 6)

cell_values = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.text(alphabet="=+-@\t 0123456789./-:ABCnNaA", max_size=12),
    st.integers(min_value=-10**15, max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.dates(min_value=date(1900, 3, 1), max_value=date(2099, 12, 31)),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2099, 12, 31)),
    st.booleans(),
    st.sampled_from([Formula("=1/0", "#DIV/0!"), Formula("=NA()", "#N/A"), Formula('="A"', "A"),
                     Formula("=1+1", 2)]),
)


@st.composite
def damaged_rows(draw, model):
    rows = clean_rows()
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        sheet = draw(st.sampled_from(["Utilisation", "Outcomes"]))
        spec = model.sheet(sheet)
        column = draw(st.sampled_from([c.name for c in spec.columns if not c.info]))
        i = draw(st.integers(min_value=0, max_value=len(rows[sheet])))
        if i == len(rows[sheet]):
            rows[sheet].append({})
        rows[sheet][i][column] = draw(cell_values)
    return rows


@settings(max_examples=int(os.environ.get("PBR_FUZZ_EXAMPLES", "15")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(data=st.data())
def test_random_cell_values_never_crash(workspace, data):
    rows = data.draw(damaged_rows(workspace.model))
    path = workspace.returns / "2013-06" / "P1-2013-06.xlsx"
    write_template(path, workspace.model, workspace.register, "P1", JUNE, rows)
    collection = read_and_check([path], workspace.model, workspace.register)
    assert not collection.unreadable
    checked = collection.returns[0]
    assert all(p.code in CATALOGUE for p in checked.problems)
    report = ValidationReport([FileResult(checked.path, checked.status, "m", checked.provider,
                                          str(checked.month), checked.problems)])
    json.loads(json.dumps(report.as_dict(), default=str))
    copy = workspace.root / "checked.xlsx"
    write_annotated(path, checked.problems, copy, "the model")
    assert copy.stat().st_size > 0


def test_the_largest_float_is_reported_not_a_crash(workspace):
    """Found by the test above: 1.7976931348623157e+308 in a whole-number cell is read back as
    an infinity, which has no whole number."""
    rows = clean_rows()
    rows["Utilisation"][0]["void_days"] = 1.7976931348623157e+308
    path = workspace.returns / "2013-06" / "P1-2013-06.xlsx"
    write_template(path, workspace.model, workspace.register, "P1", JUNE, rows)
    checked = read_and_check([path], workspace.model, workspace.register).returns[0]
    bad = [(p.code, p.cell) for p in checked.problems if p.sheet == "Utilisation"]
    assert bad == [("not-a-number", "Utilisation!E2")], checked.problems
