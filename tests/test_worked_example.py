"""The brief's Birmingham worked example (§3), through the CLI, to the penny."""

from __future__ import annotations

import json
from decimal import Decimal

import openpyxl
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from tests.conftest import MODEL_PATH, worked_example

runner = CliRunner()


def run_june(ws, out, *extra):
    return runner.invoke(app, ["calculate", "--model", str(MODEL_PATH), "--period", "2013-06",
                               "--returns", str(ws.returns), "--register", str(ws.register_path),
                               "-o", str(out), *extra])


def lines_by(data, provider):
    p = next(p for p in data["providers"] if p["provider"] == provider)
    return p, {(ln["entry"], ln["component"]): ln for ln in p["lines"]}


def test_birmingham_worked_example_s001_and_f010(workspace, tmp_path):
    worked_example(workspace)
    result = run_june(workspace, tmp_path / "june.xlsx", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["period"] == {"month": "2013-06", "start": "2013-06-01", "end": "2013-06-30"}
    p1, lines = lines_by(data, "P1")
    s001_util = lines[("S001", "utilisation")]
    assert s001_util["amount"] == "8763.16"
    assert s001_util["figures"]["utilisation"] == "0.9250000000"
    assert s001_util["figures"]["utilisation_factor"] == "0.9736842105"
    assert s001_util["figures"]["void_days"] == 45
    assert lines[("S001", "outcomes")]["amount"] == "937.50"
    assert lines[("S001", "outcomes")]["figures"]["outcomes_assessed"] == 40
    assert lines[("S001", "outcomes")]["figures"]["outcomes_achieved"] == 30
    assert lines[("S001", "outcomes")]["figures"]["outcome_factor"] == "0.9375000000"
    assert lines[("S001", "block")]["amount"] == "10000.00"
    s001_pbr = Decimal(s001_util["amount"]) + Decimal(lines[("S001", "outcomes")]["amount"])
    assert s001_pbr == Decimal("9700.66")
    assert s001_pbr - Decimal(lines[("S001", "block")]["amount"]) == Decimal("-299.34")
    assert lines[("F010", "utilisation")]["amount"] == "3000.00"
    assert lines[("F010", "utilisation")]["figures"]["active_days"] == 20
    assert lines[("F010", "utilisation")]["figures"]["utilisation"] == "1.0400000000"
    assert lines[("F010", "utilisation")]["figures"]["utilisation_factor"] == 1
    assert lines[("F010", "outcomes")]["amount"] == "0.00"
    assert lines[("F010", "block")]["amount"] == "3333.33"
    assert p1["payment"] == "12700.66" and p1["comparison"] == "13333.33"
    assert p1["variance"] == "-632.67"
    warnings = [p for p in data["problems"] if p["code"] == "no-outcomes-assessed"]
    assert len(warnings) == 1 and "F010" in warnings[0]["message"]
    assert "2013-04-01 to 2013-06-30" in warnings[0]["message"]


def test_schedule_workbook_read_back_cell_by_cell(workspace, tmp_path):
    worked_example(workspace)
    out = tmp_path / "june.xlsx"
    assert run_june(workspace, out).exit_code == 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Summary", "Lines", "Warnings", "About"]
    for ws in wb.worksheets:
        assert ws["A3"].value.startswith("SHADOW PAYMENT — NOT FOR PAYMENT"), ws.title
    summary = wb["Summary"]
    headers = [c.value for c in summary[5]]
    assert headers == ["Provider code", "Provider name", "Status", "Services", "Block contract",
                       "Utilisation (90%)", "Outcomes (10%)", "PbR total", "Variance",
                       "Variance %", "Note"]
    p1 = [c.value for c in summary[6]]
    assert p1[:3] == ["P1", "Example Provider", "Paid"]
    assert p1[3] == 2
    assert [Decimal(str(v)) for v in p1[4:9]] == [Decimal("13333.33"), Decimal("11763.16"),
                                                  Decimal("937.5"), Decimal("12700.66"),
                                                  Decimal("-632.67")]
    assert summary["E6"].number_format.startswith("£#,##0.00")
    total_row = [c.value for c in summary[8]]
    assert total_row[0] == "Total"
    p2 = [c.value for c in summary[7]]
    assert Decimal(str(total_row[7])) == Decimal(str(p1[7])) + Decimal(str(p2[7]))
    lines = wb["Lines"]
    header = [c.value for c in lines[5]]
    rows = [dict(zip(header, [c.value for c in r], strict=True)) for r in lines.iter_rows(min_row=6)]
    s001 = next(r for r in rows if r["Service ID"] == "S001" and r["Component"] == "Utilisation (90%)")
    assert Decimal(str(s001["Amount"])) == Decimal("8763.16")
    assert s001["Void unit-days"] == 45 and s001["Capacity"] == 20
    assert Decimal(str(s001["Utilisation"])) == Decimal("0.925")
    assert s001["Service users supported"] is None  # not reported for accommodation
    assert s001["Client group"] == "Social exclusion"
    out_line = next(r for r in rows if r["Service ID"] == "S001" and r["Component"] == "Outcomes (10%)")
    assert out_line["Window"] == "2013-04-01 to 2013-06-30"
    assert out_line["Outcomes assessed"] == 40 and out_line["Outcomes achieved"] == 30
    about = {r[0].value: r[1].value for r in wb["About"].iter_rows(min_row=5, max_row=15)}
    assert about["Model"] == "birmingham-90-10" and len(about["Model SHA-256"]) == 64
    assert about["Period start"] == "2013-06-01" and about["Period end"] == "2013-06-30"
    files = [r for r in wb["About"].iter_rows(min_row=18, values_only=True) if r[0] == "return"]
    assert len(files) == 6 and all(len(r[2]) == 64 for r in files)


def test_rerun_gives_byte_identical_schedule(workspace, tmp_path):
    worked_example(workspace)
    first, second = tmp_path / "a" / "s.xlsx", tmp_path / "b" / "s.xlsx"
    assert run_june(workspace, first).exit_code == 0
    assert run_june(workspace, second).exit_code == 0
    assert first.read_bytes() == second.read_bytes()


def test_the_period_s_own_dates_in_formulas(workspace, tmp_path):
    """`period_start` and `period_end` are the period month's first and last days: a measure
    can count the days from a date to the end of the month (June has 30)."""
    import shutil

    text = MODEL_PATH.read_text()
    old = "  - name: capacity_days\n"
    assert old in text
    text = text.replace(old, "  - name: month_days\n    label: Days in the month\n"
                        "    expr: period_end - period_start + 1\n    format: integer\n" + old)
    text = text.replace("    shows: [monthly_value, active_days,",
                        "    shows: [month_days, monthly_value, active_days,")
    model = tmp_path / "model" / MODEL_PATH.name
    model.parent.mkdir()
    model.write_text(text)
    shutil.copy(MODEL_PATH.with_name(MODEL_PATH.stem + ".register.csv"), model.parent)
    worked_example(workspace)
    result = runner.invoke(app, ["calculate", "--model", str(model), "--period", "2013-06",
                                 "--returns", str(workspace.returns), "--register",
                                 str(workspace.register_path), "-o", str(tmp_path / "j.xlsx"),
                                 "--json"])
    assert result.exit_code == 0, result.output
    _, lines = lines_by(json.loads(result.stdout), "P1")
    assert lines[("S001", "utilisation")]["figures"]["month_days"] == 30
    assert lines[("S001", "utilisation")]["amount"] == "8763.16"  # nothing else changed


def test_a_figure_that_changes_from_a_date(workspace, tmp_path):
    """`utilisation_target: {value: {2013-04-01: 0.95, 2013-06-01: 0.90}}`: June reads 0.90
    (S001's 555/600 = 0.925 now beats the target: factor 1, £10,000 × 0.90 = £9,000.00);
    May reads 0.95, so its figures are those of the model with one target, untouched."""
    import shutil

    text = MODEL_PATH.read_text()
    old = "  utilisation_target: {value: 0.95,"
    assert old in text
    model = tmp_path / "model" / MODEL_PATH.name
    model.parent.mkdir()
    model.write_text(text.replace(old, "  utilisation_target: {value: {2013-04-01: 0.95, "
                                       "2013-06-01: 0.90},"))
    shutil.copy(MODEL_PATH.with_name(MODEL_PATH.stem + ".register.csv"), model.parent)
    worked_example(workspace)

    def month(model_path, period):
        result = runner.invoke(app, ["calculate", "--model", str(model_path), "--period",
                                     period, "--returns", str(workspace.returns), "--register",
                                     str(workspace.register_path), "--dry-run", "--json"])
        assert result.exit_code == 0, result.output
        return lines_by(json.loads(result.stdout), "P1")[1]

    june = month(model, "2013-06")
    assert june[("S001", "utilisation")]["amount"] == "9000.00"
    assert june[("S001", "utilisation")]["figures"]["utilisation_factor"] == 1
    assert june[("S001", "outcomes")]["amount"] == "937.50"  # the outcome target is not dated
    assert month(MODEL_PATH, "2013-06")[("S001", "utilisation")]["amount"] == "8763.16"
    may, may_before = month(model, "2013-05"), month(MODEL_PATH, "2013-05")
    assert {k: v["amount"] for k, v in may.items()} == \
        {k: v["amount"] for k, v in may_before.items()}
    described = runner.invoke(app, ["models", "show", str(model)])
    assert "utilisation_target = 0.95 from 2013-04-01, 0.9 from 2013-06-01" in \
        " ".join(described.output.split())
