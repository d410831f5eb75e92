"""Shared fixtures: the shipped model, and a factory for small registers and returns."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pbr_cli.model import load_model
from pbr_cli.outputs.template import write_template
from pbr_cli.periods import Month
from pbr_cli.register import load_register

ROOT = Path(__file__).resolve().parent.parent
MODEL_PATH = ROOT / "models" / "birmingham-90-10.yaml"
REGISTER_HEADER = ["Service ID", "Provider code", "Provider name", "Service name", "Client group",
                   "Service type", "Capacity", "Annual contract value", "Contract start",
                   "Contract end"]

# The brief's worked example (§3): S001 and F010 of one provider, June 2013.
WORKED_REGISTER = [
    ["S001", "P1", "Example Provider", "Example hostel", "SE", "ACC", "20", "120000", "2012-04-01", ""],
    ["F010", "P1", "Example Provider", "Example floating support", "MH", "FS", "50", "60000",
     "2013-06-11", ""],
    ["S002", "P2", "Second Provider", "Second scheme", "OP", "ACC", "10", "60000", "2012-04-01", ""],
]


@pytest.fixture(scope="session")
def model():
    return load_model(MODEL_PATH)


def write_register(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(REGISTER_HEADER)
        writer.writerows(rows)
    return path


def outcomes(service: str, client: str, day: date, achieved: int, total: int = 5) -> list[dict]:
    items = ["1a", "4a", "2a", "3a", "5a", "1b", "2b", "3b"][:total]
    return [{"service_id": service, "client_id": client, "assessment_date": day,
             "assessment": "REV", "outcome": item, "result": "A" if i < achieved else "N"}
            for i, item in enumerate(items)]


class Workspace:
    """A temporary register and returns folder, filled by tests."""

    def __init__(self, root: Path, model, register_rows: list[list[str]]):
        self.root = root
        self.model = model
        self.register_path = write_register(root / "register.csv", register_rows)
        self.register = load_register(model, self.register_path)
        self.returns = root / "returns"

    def add_return(self, provider: str, month: str, rows: dict[str, list[dict[str, Any]]],
                   name: str | None = None, **kw) -> Path:
        m = Month.parse(month)
        path = self.returns / str(m) / (name or f"{provider}-{m}.xlsx")
        write_template(path, self.model, self.register, provider, m, rows, **kw)
        return path


@pytest.fixture
def workspace(tmp_path, model):
    return Workspace(tmp_path, model, WORKED_REGISTER)


def worked_example(ws: Workspace) -> None:
    """April-June 2013 returns giving the brief's June figures for S001 and F010."""
    plan = {"2013-04": [4, 4, 3], "2013-05": [4, 4], "2013-06": [4, 4, 3]}  # 40 assessed, 30 achieved
    for month, wins in plan.items():
        m = Month.parse(month)
        rows_p1 = {"Utilisation": [{"service_id": "S001", "void_days": 45 if month == "2013-06" else 10}],
                   "Outcomes": []}
        for i, w in enumerate(wins):
            rows_p1["Outcomes"] += outcomes("S001", f"C{m.month}{i}", date(m.year, m.month, 3 + i), w)
        if month == "2013-06":
            rows_p1["Utilisation"].append({"service_id": "F010", "users_supported": 52})
        ws.add_return("P1", month, rows_p1)
        ws.add_return("P2", month, {
            "Utilisation": [{"service_id": "S002", "void_days": 0}],
            "Outcomes": outcomes("S002", f"D{m.month}", date(m.year, m.month, 10), 5)})
