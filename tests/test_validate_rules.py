"""Each validation rule: a return that breaks it is named with its code and cell; the clean
return passes."""

from __future__ import annotations

import copy
import zipfile
from datetime import date
from io import BytesIO

import pytest

from pbr_cli.outputs.template import Formula, Merge
from pbr_cli.returns.collect import read_and_check
from tests.conftest import outcomes

JUNE = "2013-06"


def clean_rows() -> dict:
    return {"Utilisation": [{"service_id": "S001", "void_days": 12},
                            {"service_id": "F010", "users_supported": 40}],
            "Outcomes": outcomes("S001", "C1", date(2013, 6, 3), 4)
            + outcomes("F010", "C2", date(2013, 6, 4), 3)}


def check(ws, path):
    result = read_and_check([path], ws.model, ws.register)
    if result.unreadable:
        return None, result.unreadable[0]
    return result.returns[0], None


def test_clean_return_passes(workspace):
    checked, _ = check(workspace, workspace.add_return("P1", JUNE, clean_rows()))
    assert checked.problems == []
    assert checked.status == "clean"
    assert checked.provider == "P1" and str(checked.month) == JUNE
    assert list(checked.tables["Outcomes"]["_row"]) == list(range(2, 12))


def util(i, **values):
    def change(rows):
        rows["Utilisation"][i].update(values)
    return change


def outc(i, **values):
    def change(rows):
        rows["Outcomes"][i].update(values)
    return change


def both(*changes):
    def change(rows):
        for c in changes:
            c(rows)
    return change


CASES = [
    ("number-as-text", util(0, void_days="12"), "Utilisation!E2"),
    ("not-a-number", util(0, void_days="twelve"), "Utilisation!E2"),
    ("not-an-integer", util(0, void_days=12.5), "Utilisation!E2"),
    ("below-minimum", util(0, void_days=-1), "Utilisation!E2"),
    ("above-maximum", util(0, void_days=601), "Utilisation!E2"),  # 20 units x 30 days = 600
    ("required-missing", util(0, void_days=None), "Utilisation!E2"),  # required for ACC
    ("required-missing", util(1, users_supported=None), "Utilisation!F3"),  # required for FS
    ("date-as-text", outc(0, assessment_date="03/06/2013"), "Outcomes!C2"),
    ("date-as-number", outc(0, assessment_date=41428), "Outcomes!C2"),
    ("not-a-date", outc(0, assessment_date="soon"), "Outcomes!C2"),
    ("date-outside-period", outc(0, assessment_date=date(2013, 7, 1)), "Outcomes!C2"),
    ("unknown-code", outc(0, outcome="9z"), "Outcomes!E2"),
    ("unknown-code", outc(0, result="Maybe"), "Outcomes!F2"),
    ("unknown-entry", outc(0, service_id="S999"), "Outcomes!A2"),
    ("entry-of-other-provider", outc(0, service_id="S002"), "Outcomes!A2"),
    ("required-missing", outc(0, client_id=None), "Outcomes!B2"),
    ("duplicate-row", lambda r: r["Outcomes"].append(dict(r["Outcomes"][0])), "Outcomes!A12"),
    ("formula-without-value", outc(0, result=Formula('="A"', None)), "Outcomes!F2"),
    ("error-value", outc(0, result=Formula("=1/0", "#DIV/0!")), "Outcomes!F2"),
    ("merged-cells", outc(0, client_id=Merge("C1", 1)), "Outcomes!B2"),
    ("group-too-few-rows", lambda r: r["Outcomes"].pop(4), "Outcomes!2"),
    ("group-missing-values", outc(0, outcome="1c"), "Outcomes!2"),
    ("missing-entry", lambda r: r["Utilisation"].pop(1), "Utilisation"),
]


@pytest.mark.parametrize("code,change,cell", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_rule_names_code_and_cell(workspace, code, change, cell):
    rows = copy.deepcopy(clean_rows())
    change(rows)
    kw = {"prefill": False} if code == "missing-entry" else {}
    path = workspace.add_return("P1", JUNE, rows, **kw)
    if code == "formula-without-value":
        _strip_cached_values(path)
    checked, _ = check(workspace, path)
    found = [(p.code, p.cell) for p in checked.problems]
    assert (code, cell) in found, found
    severity = next(p.severity for p in checked.problems if p.code == code)
    assert severity == ("warning" if code.startswith("group-") else "error")


def _strip_cached_values(path):
    import re

    src = zipfile.ZipFile(BytesIO(path.read_bytes()))
    with zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("xl/worksheets/"):
                data = re.sub(rb"(<f>[^<]*</f>)<v>[^<]*</v>", rb"\1", data)
            dst.writestr(info.filename, data)


COVER_CASES = [
    ("wrong-model", {"Model": "another-scheme"}, "Cover!B5"),
    ("wrong-template-version", {"Model version": "0.9"}, "Cover!B6"),
    ("unknown-provider", {"Provider code": "P99"}, "Cover!B8"),
    ("period-mismatch", {"Month": "2013-07"}, "Cover!B10"),
    ("cover-missing-field", {"Month": ""}, "Cover!B10"),
]


@pytest.mark.parametrize("code,cover,cell", COVER_CASES, ids=[c[0] for c in COVER_CASES])
def test_cover_checks(workspace, code, cover, cell):
    checked, _ = check(workspace, workspace.add_return("P1", JUNE, clean_rows(), cover=cover))
    assert (code, cell) in [(p.code, p.cell) for p in checked.problems]


def test_renamed_sheet_and_heading(workspace):
    path = workspace.add_return("P1", JUNE, clean_rows())
    data = _rewrite(path.read_bytes(), {
        "xl/workbook.xml": (b'name="Outcomes"', b'name="outcomes "'),
        "xl/sharedStrings.xml": (b"<t>Void unit-days</t>", b"<t>Voids</t>"),
    })
    path.write_bytes(data)
    checked, _ = check(workspace, path)
    found = {(p.code, p.cell) for p in checked.problems}
    assert "missing-sheet" in {code for code, _ in found}
    assert ("missing-column", "Utilisation!1") in found
    assert ("unexpected-column", "Utilisation!E1") in found
    message = next(p.message for p in checked.problems if p.code == "missing-sheet")
    assert "rename it back" in message


def test_a_hidden_sheet_pbr_reads_is_refused(workspace):
    """A person reviewing the return cannot see a hidden sheet: it used to be read and paid
    with only a warning (exit 0, so a scheme approved automatically paid it)."""
    path = workspace.add_return("P1", JUNE, clean_rows(), hidden=("Outcomes",))
    checked, refused = check(workspace, path)
    assert checked is None and refused.code == "hidden-sheet", refused
    assert "the sheet 'Outcomes' pbr reads is hidden" in refused.message


def _rewrite(data: bytes, changes: dict) -> bytes:
    src = zipfile.ZipFile(BytesIO(data))
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename in changes:
                old, new = changes[info.filename]
                assert old in body
                body = body.replace(old, new)
            dst.writestr(info.filename, body)
    return out.getvalue()


UNREADABLE = [
    ("not-a-workbook", b"Service ID,Void unit-days\nS001,12\n", "CSV"),
    ("empty-file", b"", "empty"),
    ("legacy-xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, ".xls"),
    ("encrypted-workbook", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptionInfo".encode("utf-16-le")
     + b"\x00" * 600, "password"),
    ("corrupt-workbook", None, "damaged"),
]


@pytest.mark.parametrize("code,data,word", UNREADABLE, ids=[c[0] for c in UNREADABLE])
def test_unreadable_files_get_a_clear_code(workspace, code, data, word):
    path = workspace.add_return("P1", JUNE, clean_rows())
    path.write_bytes(path.read_bytes()[:700] if data is None else data)
    checked, bad = check(workspace, path)
    assert checked is None and bad.code == code
    assert word.lower() in bad.message.lower()


def test_a_limit_reading_the_rows_own_columns_is_worked_out_row_by_row(tmp_path):
    """A min/max that is a formula of the row's other columns (not a fixed limit, not a
    single column's name) is worked out for each row, and not where a value it reads is
    blank."""
    from pbr_cli.model import load_model
    from tests.conftest import COHORT_MODEL_PATH, COHORT_REGISTER, COHORT_REGISTER_HEADER, Workspace

    text = COHORT_MODEL_PATH.read_text()
    old = "{name: crack_days, header: Days of crack use (past 28 days), type: integer,\n           min: 0, max: 28}"
    assert old in text
    path = tmp_path / "models" / COHORT_MODEL_PATH.name
    path.parent.mkdir()
    path.write_text(text.replace(old, old.replace("max: 28", "max: 28 - opiate_days")))
    (path.parent / "wigan-cohort.register.csv").write_text(
        (COHORT_MODEL_PATH.parent / "wigan-cohort.register.csv").read_text())
    ws = Workspace(tmp_path, load_model(path), COHORT_REGISTER, COHORT_REGISTER_HEADER)

    def review(client: str, opiate, crack) -> dict:
        return {"client_id": client, "review_date": date(2013, 6, 10), "complexity": "L",
                "opiate_days": opiate, "crack_days": crack, "offended": "N", "in_ete": "N"}

    rows = {"Reviews": [review("A", 20, 9), review("B", 20, 8), review("C", None, 27)]}
    checked, _ = check(ws, ws.add_return("P1", JUNE, rows))
    above = [(p.code, p.cell, p.message) for p in checked.problems if p.code == "above-maximum"]
    assert above == [("above-maximum", "Reviews!E2", "Days of crack use (past 28 days): 9 is "
                      "more than the allowed 8")]
    assert [(p.code, p.cell) for p in checked.problems if p.row == 4] == [
        ("required-missing", "Reviews!D4")]  # C's limit cannot be worked out: no opiate days
