"""The model reference is checked against pbr: its examples are valid model YAML, and the
walk-through's scheme, taken from docs/models.md alone, calculates to the figures it states."""

from __future__ import annotations

import json
import re
from datetime import date

from typer.testing import CliRunner

from pbr_cli.cli.app import app
from pbr_cli.model import load_model
from pbr_cli.model.schema import MODEL, check_schema
from pbr_cli.model.yamlread import read_yaml
from pbr_cli.outputs.template import write_template
from pbr_cli.periods import Month
from pbr_cli.returns.register import load_register
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "models.md").read_text(encoding="utf-8")
runner = CliRunner()


def doc_files() -> dict[str, str]:
    """The files the page gives: a `<!-- file: NAME -->` line, then a fenced block."""
    return dict(re.findall(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", DOC, flags=re.S))


def test_every_yaml_example_on_the_page_is_valid_model_yaml():
    blocks = re.findall(r"```yaml\n(.*?)```", DOC, flags=re.S)
    assert len(blocks) >= 2
    top = {k.name for k in MODEL.keys}
    for block in blocks:
        data, _ = read_yaml(block)  # as pbr reads a model: exact numbers
        assert set(data) <= top, set(data) - top
        problems = [p for p in check_schema(data)
                    if not p.message.startswith("the key '")]  # fragments leave keys out
        assert not problems, [(p.path, p.message) for p in problems]


def _from_the_page(tmp_path) -> str:
    """The page's files written out as a models folder; the config that finds them."""
    files = doc_files()
    assert set(files) == {"youth-jobs-pilot.yaml", "youth-jobs-pilot.register.csv",
                          "youth-jobs-outcomes.yaml", "youth-jobs-outcomes.register.csv",
                          "fee-for-service.yaml", "fee-for-service.register.csv"}
    models = tmp_path / "models"
    models.mkdir()
    for name, text in files.items():
        (models / name).write_text(text, encoding="utf-8")
    (tmp_path / "pbr.yaml").write_text("models: models\nreturns: returns\noutput: out\n")
    return str(tmp_path / "pbr.yaml")


def test_a_new_scheme_built_from_the_docs_alone_calculates_the_worked_example(tmp_path):
    config = _from_the_page(tmp_path)
    models = tmp_path / "models"

    checked = runner.invoke(app, ["models", "check", "youth-jobs-pilot", "--config", config])
    assert checked.exit_code == 0 and "sound" in checked.output, checked.output

    model = load_model(models / "youth-jobs-pilot.yaml")
    register = load_register(model)
    june = Month(2014, 6)
    folder = tmp_path / "returns" / "youth-jobs-pilot" / "2014-06"
    p1 = {"Starts": [{"contract_id": "C1", "participant_id": f"Y{i:02d}",
                      "start_date": date(2014, 6, 1 + i)} for i in range(12)],
          "Jobs": [{"contract_id": "C1", "participant_id": f"J{i}", "weeks_in_work": 13 + i,
                    "verified": "Y" if i < 3 else "N"} for i in range(4)]}
    p2 = {"Starts": [{"contract_id": "C2", "participant_id": f"Z{i}",
                      "start_date": date(2014, 6, 10)} for i in range(4)],
          "Jobs": [{"contract_id": "C2", "participant_id": "K1", "weeks_in_work": 20,
                    "verified": "Y"}]}
    write_template(folder / "P1-2014-06.xlsx", model, register, "P1", june, p1)
    write_template(folder / "P2-2014-06.xlsx", model, register, "P2", june, p2)

    result = runner.invoke(app, ["calculate", "-m", "youth-jobs-pilot", "-p", "2014-06", "--json",
                                 "--config", config, "--dry-run"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    lines = {(p["provider"], ln["component"]): ln["amount"]
             for p in data["providers"] for ln in p["lines"]}
    # By hand: 250 x min(12, 10); 1150 x (1 - 0.15) x 3; 250 x 4; 1150 x 0.85 x 1.
    assert lines == {("P1", "start_fees"): "2500.00", ("P1", "job_outcomes"): "2932.50",
                     ("P2", "start_fees"): "1000.00", ("P2", "job_outcomes"): "977.50"}
    assert data["totals"]["payment"] == "7410.00"
    warning = [p for p in data["problems"] if p["code"] == "starts-over-limit"]
    assert [w["message"] for w in warning] == ["contract C1: 12 starts reported; 10 are paid"]
    # The page states the same figures.
    for figure in ("£2,500.00", "£2,932.50", "£5,432.50", "£1,977.50", "£7,410.00",
                   "12 starts reported; 10 are paid"):
        assert figure in DOC


def test_the_per_participant_walk_through_times_claims_and_refuses_one_on_its_columns(tmp_path):
    config = _from_the_page(tmp_path)
    models = tmp_path / "models"
    checked = runner.invoke(app, ["models", "check", "youth-jobs-outcomes", "--config", config])
    assert checked.exit_code == 0 and "sound" in checked.output, checked.output
    model = load_model(models / "youth-jobs-outcomes.yaml")
    register = load_register(model)
    months = {
        "2014-06": {"Starts": [
            {"participant_id": "A", "start_date": date(2014, 6, 2)},
            {"participant_id": "C", "start_date": date(2014, 6, 2)},
            {"participant_id": "B", "start_date": date(2014, 6, 9)}], "Claims": []},
        "2014-09": {"Starts": [], "Claims": [
            {"participant_id": "A", "claim": "JOB", "achieved_date": date(2014, 9, 1),
             "verified": "Y"},
            {"participant_id": "B", "claim": "JOB", "achieved_date": date(2014, 9, 1),
             "verified": "Y"},
            {"participant_id": "C", "claim": "JOB", "achieved_date": date(2014, 9, 3),
             "verified": "N"}]},
        "2014-12": {"Starts": [], "Claims": [
            {"participant_id": "A", "claim": "SUS", "achieved_date": date(2014, 12, 1),
             "verified": "Y"},
            {"participant_id": "B", "claim": "JOB", "achieved_date": date(2014, 12, 8),
             "verified": "Y"}]},
    }
    paid = {}
    for month, rows in months.items():
        folder = tmp_path / "returns" / "youth-jobs-outcomes" / month
        write_template(folder / f"P1-{month}.xlsx", model, register, "P1", Month.parse(month),
                       rows)
        result = runner.invoke(app, ["calculate", "-m", "youth-jobs-outcomes", "-p", month,
                                     "--json", "--config", config, "--dry-run"])
        assert result.exit_code in (0, 1), result.output
        data = json.loads(result.stdout)
        p1 = next(p for p in data["providers"] if p["provider"] == "P1")
        paid[month] = ({ln["component"]: ln["amount"] for ln in p1["lines"]
                        if ln["amount"] != "0.00"},
                       {(e["client"], e["status"], e["reason"]) for e in data["evidence"]})
    # By hand: 3 x £250; A's job 13 weeks after 2 June; A's further 13 weeks, B's job.
    assert paid["2014-06"][0] == {"start_fees": "750.00"}
    assert paid["2014-09"][0] == {"jobs": "1150.00"}
    assert ("B", "refused", "achieved less than 13 weeks after attachment (2014-06-09): due "
            "from 2014-09-08") in paid["2014-09"][1]
    assert ("C", "refused", "the employer has not verified the job") in paid["2014-09"][1]
    assert paid["2014-12"][0] == {"sustained": "300.00", "jobs": "1150.00"}
    for figure in ("£750.00", "£1,150.00", "£300.00", "£1,450.00",
                   "achieved less than 13 weeks after attachment (2014-06-09): due from "
                   "2014-09-08", "the employer has not verified the job"):
        assert figure in " ".join(DOC.split())
