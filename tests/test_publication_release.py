"""What a publication says of itself (docs/publication.md, "What a release says"): its
metadata speaks of the full provider × item × group × month grid, never of how many figures
were present or non-zero; it names the returns it lacks, per provider and month, and what
changed since the last release of the same months; and a publication with nothing to count
is refused with nothing written or recorded."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys

import openpyxl

from pbr_cli.outputs.publication import publication_as_dict
from pbr_cli.reporting.publication import build_publication, items_of
from tests.conftest import ROOT
from tests.test_publication import KEY, months_of


def _grid(scheme: str, text: str) -> int:
    """The size of the grid from what is public: the register's providers, the model's
    items and group codes, the months, and two measures (of which, and the rest)."""
    ps = months_of(scheme).period(text)
    model = ps.model
    providers = {p.provider for s in ps.schedules for p in s.providers}
    groups = 1
    if model.cohort is not None:
        groups = len(model.codes[model.cohort.group_codes or model.cohort.group].values)
    return len(providers) * len(items_of(model)) * groups * len(ps.schedules) * 2


def test_every_cell_of_the_grid_has_a_month_figure_and_the_audit_counts_only_the_grid():
    """Wigan, April 2013: 5 providers × 6 components × 3 complexity groups × 1 month × 2 =
    180 month figures, present as 0 where nothing happened. The audit said "174 of a possible
    180"-like counts (len of the figures present): how many cells were empty."""
    ps = months_of("wigan-cohort").period("2013-04")
    pub = build_publication(ps, KEY)
    assert _grid("wigan-cohort", "2013-04") == 180
    assert len(pub.true) == 180
    assert any(x == 0 for x in pub.true.values())  # the empty cells are there, as 0
    words = " ".join(pub.audit)
    assert "180 month figures" in words
    assert "of a possible" not in words


def _emptied(ps, group: str):
    """The same months with every line of one group taken out: its cells become empty."""
    ps = copy.deepcopy(ps)
    for s in ps.schedules:
        for p in s.providers:
            p.lines = [ln for ln in p.lines if dict(ln.groups).get("complexity") != group]
    return ps


def test_the_metadata_is_the_same_whichever_cells_are_empty():
    """Taking out every High-complexity line changes figures, never the words: the audit,
    the method, the rows and columns of every table and the JSON's keys are those of the
    full grid either way."""
    ps = months_of("wigan-cohort").period("2013-Q2")
    full, emptied = build_publication(ps, KEY), build_publication(_emptied(ps, "H"), KEY)
    assert full.true != emptied.true
    assert full.audit == emptied.audit
    assert full.method() == emptied.method()
    a, b = publication_as_dict(full, None), publication_as_dict(emptied, None)

    def shape(d):
        return {name: (t["title"], t["columns"], [[v for k, v in r.items()
                                                   if k in ("item", "provider", "group",
                                                            "measure")] for r in t["rows"]])
                for name, t in d["tables"].items()}

    assert shape(a) == shape(b)
    assert sorted(a) == sorted(b)
    rows = a["tables"]["group_complexity"]["rows"]
    assert {r["group"] for r in rows} == {"L", "M", "H"}


# -- releases that say what they lack ------------------------------------------------------------

def _config(tmp_path, returns) -> str:
    cfg = tmp_path / "pbr.yaml"
    cfg.write_text(f"models: {ROOT / 'models'}\nreturns: {returns}\n"
                   f"output: {tmp_path / 'out'}\nledger: {tmp_path / 'ledger.sqlite'}\n"
                   f"log: {tmp_path / 'pbr.log'}\n")
    return str(cfg)


def _publish(cfg: str, period: str, out) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PBR_LEDGER", "PBR_CONFIG")}
    return subprocess.run([sys.executable, "-m", "pbr_cli", "report", "-p", period, "-m",
                           "wigan-cohort", "--publish", "--json", "--config", cfg, "-o",
                           str(out)], env=env, capture_output=True, text=True, timeout=300)


def _about(path) -> dict[str, str]:
    ws = openpyxl.load_workbook(path)["About"]
    return {str(r[0]): str(r[1]) for r in ws.iter_rows(values_only=True) if r[0] and r[1]}


def test_a_missing_return_is_named_and_its_arrival_is_said(tmp_path):
    """P2's May 2013 return is missing: it was silently left out of the all-provider totals.
    The release names it (About and JSON); when it arrives, the next release of the same
    months says it was added and that figures of that month changed."""
    returns = tmp_path / "returns"
    for month in ("2013-04", "2013-05", "2013-06"):
        shutil.copytree(ROOT / "sample_returns" / "wigan-cohort" / month,
                        returns / "wigan-cohort" / month)
    kept = tmp_path / "P2-2013-05.xlsx"
    shutil.move(returns / "wigan-cohort" / "2013-05" / "P2-2013-05.xlsx", kept)
    cfg = _config(tmp_path, returns)
    first = _publish(cfg, "2013-Q2", tmp_path / "first.xlsx")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)["reports"][0]
    assert data["lacking"] == [{"provider": "P2", "month": "2013-05", "why": "missing"}]
    about = _about(tmp_path / "first.xlsx")
    assert "P2: 2013-05 (no return)" in about["Returns lacking"], about
    # 5 providers × 3 groups × 3 months × 2 counts = 90 figures: at most 90 × 4 = 360 off
    assert "all providers over the 3 month(s) " in about["Accuracy"]
    assert "at most 360." in about["Accuracy"]
    shutil.move(kept, returns / "wigan-cohort" / "2013-05" / "P2-2013-05.xlsx")
    second = _publish(cfg, "2013-Q2", tmp_path / "second.xlsx")
    assert second.returncode == 0, second.stderr
    data = json.loads(second.stdout)["reports"][0]
    assert data["lacking"] == []
    changes = data["changed_since"]
    assert changes["release"] == 1 and changes["period"] == "2013-Q2"
    assert {"provider": "P2", "month": "2013-05", "what": "return added"} in changes["returns"]
    # May's figures change, and June's (a cohort's June reads the episodes May's return
    # holds); April's, before it, do not
    assert changes["revised_months"] == ["2013-05", "2013-06"]
    about = _about(tmp_path / "second.xlsx")
    assert "P2's 2013-05 return added" in about["Changed since"], about
    assert "none" in about["Returns lacking"].lower()


def test_a_publication_with_every_return_rejected_is_refused_and_nothing_is_left(tmp_path):
    """Every return of April 2013 unreadable: it was written and recorded (exit 0, empty
    tables). Now: exit 2, no workbook, nothing in the ledger."""
    returns = tmp_path / "returns"
    month = returns / "wigan-cohort" / "2013-04"
    month.mkdir(parents=True)
    for path in sorted((ROOT / "sample_returns" / "wigan-cohort" / "2013-04").glob("*.xlsx")):
        (month / path.name).write_bytes(b"")  # an empty file: rejected
    cfg = _config(tmp_path, returns)
    done = _publish(cfg, "2013-04", tmp_path / "empty.xlsx")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "nothing to publish" in done.stderr + done.stdout
    assert not (tmp_path / "empty.xlsx").exists()
    import sqlite3

    if (tmp_path / "ledger.sqlite").exists():
        db = sqlite3.connect(tmp_path / "ledger.sqlite")
        assert db.execute("SELECT count(*) FROM publications").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM publication_keys").fetchone()[0] == 0
        db.close()
