"""Every command through CliRunner, and the installed script as a real subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from tests.conftest import MODEL_PATH, ROOT

runner = CliRunner()
FAULTY = ROOT / "sample_returns" / "faulty"
SAMPLES = ROOT / "sample_returns" / "birmingham-90-10"


def invoke(*args):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_help_lists_commands_and_exit_codes():
    result = invoke("--help")
    assert result.exit_code == 0
    for word in ("validate", "calculate", "template", "models", "Exit codes"):
        assert word in result.output


def test_models_list_and_show(monkeypatch):
    monkeypatch.chdir(ROOT)
    listed = invoke("models", "list")
    assert "birmingham-90-10" in listed.output and "virtual" in listed.output
    shown = invoke("models", "show", "birmingham-90-10")
    assert shown.exit_code == 0
    assert "Utilisation (90%)" in shown.output and "VIRTUAL" in shown.output
    assert "utilisation_target = 0.95" in shown.output


def test_unknown_model_and_bad_name_exit_2(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert invoke("models", "show", "no-such-scheme").exit_code == 2
    result = invoke("calculate", "--model", "../../etc/passwd")
    assert result.exit_code == 2 and "not a model name" in result.output


def test_validate_faulty_return_names_every_planted_problem():
    path = next(FAULTY.glob("*-many-problems.xlsx"))
    result = invoke("validate", str(path), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    found = {(p["code"], p["cell"]) for p in data["files"][0]["problems"]}
    planted = {("number-as-text", "Utilisation!E2"), ("date-as-text", "Outcomes!C2"),
               ("date-outside-period", "Outcomes!C3"), ("unknown-code", "Outcomes!E4"),
               ("entry-of-other-provider", "Outcomes!A5"), ("unknown-entry", "Outcomes!A6"),
               ("formula-without-value", "Outcomes!F9"), ("required-missing", "Outcomes!B10"),
               ("date-as-number", "Outcomes!C11"), ("merged-cells", "Outcomes!B12")}
    assert planted <= found, planted - found
    assert any(code == "duplicate-row" for code, _ in found)


def test_validate_table_output_and_folder():
    result = invoke("validate", str(FAULTY))
    assert result.exit_code == 2  # the CSV renamed .xlsx is unreadable
    assert "really-a-csv" in result.output and "not-a-workbook" in result.output
    assert "Outcomes!C2" in result.output and "Traceback" not in result.output
    clean = invoke("validate", str(SAMPLES / "2013-06"), "--json")
    assert clean.exit_code == 0, clean.output
    statuses = [f["status"] for f in json.loads(clean.stdout)["files"]]
    assert len(statuses) == 24 and set(statuses) <= {"clean", "warnings"}


def test_validate_of_many_files_lists_only_those_with_problems():
    """Beyond 50 files the table leaves out the clean returns and says how many; --json
    still lists every one."""
    result = invoke("validate", str(SAMPLES))  # 144 returns, April to September 2013
    assert result.exit_code == 0, result.output  # warnings only
    data = json.loads(invoke("validate", str(SAMPLES), "--json").stdout)["files"]
    clean = [f["file"] for f in data if f["status"] == "clean"]
    flagged = [f["file"] for f in data if f["status"] != "clean"]
    assert len(data) == 144 and clean and flagged
    text = " ".join(result.output.split())
    assert f"{len(clean)} clean returns (2013-04 to 2013-09) are not listed" in text
    assert not any(Path(f).name in result.output for f in clean)
    assert all(Path(f).name in result.output for f in flagged)
    assert f"144 file(s): {len(clean)} clean" in text


def test_calculate_on_samples_writes_schedule(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "june.xlsx"
    result = invoke("calculate", "--model", "birmingham-90-10", "--period", "2013-06", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "SHADOW PAYMENT — NOT FOR PAYMENT" in result.output
    assert "| Total" in result.output and "£439,334.85" in result.output
    wb = openpyxl.load_workbook(out)
    lines = wb["Lines"]
    header = [c.value for c in lines[5]]
    rows = [dict(zip(header, [c.value for c in r], strict=True)) for r in lines.iter_rows(min_row=6)]
    s001 = {r["Component"]: r["Amount"] for r in rows if r["Service ID"] == "S001"}
    assert s001 == {"Utilisation (90%)": 8763.16, "Outcomes (10%)": 937.5, "Block contract": 10000}


def test_calculate_withholds_provider_with_faulty_return(tmp_path):
    returns = tmp_path / "returns"
    shutil.copytree(SAMPLES, returns)
    bad = next(FAULTY.glob("*-many-problems.xlsx"))
    provider = bad.name.split("-")[0]
    shutil.copy(bad, returns / "2013-06" / f"{provider}-2013-06.xlsx")
    out = tmp_path / "s.xlsx"
    result = invoke("calculate", "--model", str(MODEL_PATH), "-p", "2013-06", "--returns",
                    str(returns), "-o", str(out), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    withheld = next(p for p in data["providers"] if p["provider"] == provider)
    assert withheld["status"] == "withheld" and withheld["payment"] == "0.00"
    assert "error" in withheld["reason"]
    assert any(p["code"] == "return-has-errors" for p in data["problems"])


def test_calculate_default_period_is_latest_month(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = invoke("calculate", "-m", "birmingham-90-10", "-o", str(tmp_path / "s.xlsx"), "--json")
    assert json.loads(result.stdout)["period"]["month"] == "2013-09"


def test_template_has_cover_prefill_and_dropdowns(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "t.xlsx"
    result = invoke("template", "--model", "birmingham-90-10", "--provider", "P01", "--period",
                    "2013-07", "-o", str(out))
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Cover", "Utilisation", "Outcomes", "Codes"]
    cover = {r[0]: r[1] for r in wb["Cover"].iter_rows(min_row=4, max_row=11, values_only=True)}
    assert cover["Model"] == "birmingham-90-10" and cover["Model version"] == "1.0"
    assert cover["Provider code"] == "P01" and cover["Month"] == "2013-07"
    util = wb["Utilisation"]
    assert [util.cell(r, 1).value for r in (2, 3)] == ["S001", "F010"]
    rules = wb["Outcomes"].data_validations.dataValidation
    lists = [dv.formula1 for dv in rules if dv.type == "list"]
    assert any("Codes!" in f for f in lists)
    assert any(dv.type == "date" for dv in rules)


def test_template_unknown_provider_exit_2(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = invoke("template", "-m", "birmingham-90-10", "--provider", "P99", "-p", "2013-07",
                    "-o", str(tmp_path / "t.xlsx"))
    assert result.exit_code == 2 and not (tmp_path / "t.xlsx").exists()


def _script() -> list[str]:
    found = shutil.which("pbr", path=str(Path(sys.executable).parent)) or shutil.which("pbr")
    return [found] if found else [sys.executable, "-m", "pbr_cli"]


def test_installed_script_runs_as_subprocess(tmp_path):
    out = tmp_path / "s.xlsx"
    proc = subprocess.run([*_script(), "calculate", "-m", "birmingham-90-10", "-p", "2013-06",
                           "-o", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Schedule written to" in proc.stdout and out.exists()
    bad = subprocess.run([*_script(), "validate", str(FAULTY / "P03-2013-06-really-a-csv.xlsx")],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stdout + bad.stderr
    period = subprocess.run([*_script(), "report", "-m", "birmingham-90-10", "-p", "2013-Q5"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert period.returncode == 2 and "Accepted: a month 2013-06" in period.stderr


def test_json_answers_a_usage_error_with_the_error_object(tmp_path):
    """docs/json.md: a command given --json that stops on an error prints the error object on
    stdout. A mistyped option used to leave stdout empty (Click's words on stderr only)."""
    for args in (["calculate", "--json", "--modle", "x"], ["validate", "--json", "--bogus", "."],
                 ["forecast", "--json", "-m", "wigan-cohort", "--simulations", "many"]):
        proc = subprocess.run([*_script(), *args], cwd=tmp_path, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 2, (args, proc.stderr)
        error = json.loads(proc.stdout)["error"]
        assert error["code"] == "usage" and error["exit_code"] == 2, error
        assert error["message"] and error["message"] in " ".join(proc.stderr.split())
        assert "Traceback" not in proc.stderr
    help_ = subprocess.run([*_script(), "validate", "--json", "--help"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=60)
    assert help_.returncode == 0 and help_.stdout.startswith("Usage")


def test_module_entry_point_and_lazy_imports():
    code = ("import sys; from pbr_cli.cli.app import app; "
            "heavy = [m for m in ('pandas', 'openpyxl', 'python_calamine', 'xlsxwriter') "
            "if m in sys.modules]; print(heavy)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]"
    help_proc = subprocess.run([sys.executable, "-m", "pbr_cli", "--help"], capture_output=True,
                               text=True, timeout=60)
    assert help_proc.returncode == 0 and "calculate" in help_proc.stdout
    assert "report" in help_proc.stdout
