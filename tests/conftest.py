"""Shared fixtures: the shipped model, and a factory for small registers and returns."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pbr_cli.model import load_model
from pbr_cli.outputs.template import write_template
from pbr_cli.periods import Month, Window
from pbr_cli.returns.register import load_register

ROOT = Path(__file__).resolve().parent.parent
MODEL_PATH = ROOT / "models" / "birmingham-90-10.yaml"
COHORT_MODEL_PATH = ROOT / "models" / "wigan-cohort.yaml"
COHORT_REGISTER_HEADER = ["Provider code", "Provider name", "Service", "Contract start",
                          "Contract end", "Annual cap"]
COHORT_REGISTER = [
    ["P1", "First Recovery Service", "Community recovery", "2012-04-01", "", ""],
    ["P2", "Second Recovery Service", "Leigh recovery", "2012-04-01", "", ""],
]
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


def _untracked() -> set[str] | None:
    """Files in the checkout that git neither tracks nor ignores (None without git)."""
    import subprocess

    try:
        done = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return {ln[3:] for ln in done.stdout.splitlines() if ln.startswith("??")}


@pytest.fixture(autouse=True, scope="session")
def nothing_left_in_the_checkout():
    """No test leaves a file in the repository (every output goes under a test's own
    folder): a ledger named by a string pbr took for a file name once landed in its root."""
    before = _untracked()
    yield
    after = _untracked()
    if before is not None and after is not None:
        assert after <= before, f"tests left files in the repository: {sorted(after - before)}"


@pytest.fixture(autouse=True, scope="session")
def shared_cache(tmp_path_factory):
    """One cache of checked returns for the whole run (subprocesses and every worker too): the
    samples are read once. Its key covers everything checking depends on (tests/test_cache.py)."""
    import os

    # the workers of one run share it (a cache entry is written whole, then renamed), so a
    # return is checked once per run, not once per worker
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    cache = root / "shared-cache"
    cache.mkdir(exist_ok=True)
    os.environ["PBR_CACHE"] = str(cache)
    # an officer's keys folder of the tests' own (`pbr init` makes a key there), never the
    # user's own
    os.environ["PBR_KEYS"] = str(tmp_path_factory.mktemp("keys"))
    # the authority's publication key the tests' configs publish with, made once (a config
    # naming its own, `publication_key:`, takes that instead)
    from pbr_cli.ledger.publication_key import write_key_file

    key_file = tmp_path_factory.mktemp("publication") / "authority.pbrkey"
    write_key_file(key_file, "The tests' council")
    os.environ["PBR_PUBLICATION_KEY"] = str(key_file)
    yield
    os.environ.pop("PBR_CACHE", None)
    os.environ.pop("PBR_KEYS", None)
    os.environ.pop("PBR_PUBLICATION_KEY", None)


@pytest.fixture(autouse=True, scope="session")
def one_command_tree():
    """pbr's commands made into click's command tree once for the run: CliRunner made it
    again from every command's signature at each call (about 15 ms, a thousand times)."""
    import typer.testing

    real = typer.testing._get_command
    made: dict[int, tuple[Any, Any]] = {}

    def once(app: Any) -> Any:
        if id(app) not in made:
            made[id(app)] = (app, real(app))  # (the app kept, so its id stays its own)
        return made[id(app)][1]

    typer.testing._get_command = once
    yield
    typer.testing._get_command = real


def pbr_in_process(*args: str, env: dict[str, str] | None = None,
                   cwd: Path | str | None = None):
    """`pbr ARGS` run in the test's own process, as a subprocess's result (returncode, stdout,
    stderr apart), for tests of what a command does rather than of the process it runs in
    (those run `python -m pbr_cli`). As the tests' subprocesses do, it sees no $PBR_LEDGER or
    $PBR_CONFIG of the test's (`env` may set them), and runs in `cwd` when given."""
    import os
    import subprocess

    from typer.testing import CliRunner

    from pbr_cli.cli.app import app

    changes: dict[str, str | None] = {"PBR_LEDGER": None, "PBR_CONFIG": None, **(env or {})}
    here = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        done = CliRunner().invoke(app, list(args), env=changes, catch_exceptions=False)
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(["pbr", *args], done.exit_code, done.stdout, done.stderr)


def made_once(tmp_path_factory, name: str, make: Callable[[Path], Any]) -> Any:
    """What a module fixture makes, made once for the whole run: the first worker to ask makes
    it in a shared folder (`make(folder)`, whose result is kept), and the others wait and
    read it back. For outputs tests only read."""
    import fcntl
    import os
    import pickle

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    folder = root / f"once-{name}"
    with open(root / f"once-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = root / f"once-{name}.pickle"
        if done.exists():
            return pickle.loads(done.read_bytes())
        folder.mkdir(exist_ok=True)
        made = make(folder)
        done.write_bytes(pickle.dumps(made))
        return made


@pytest.fixture(autouse=True)
def own_ledger(tmp_path, tmp_path_factory, monkeypatch):
    """Each test records into a ledger of its own, never the working directory's, and logs
    and writes outputs under its own folder: $PBR_CONFIG names a config like the shipped one
    (the shipped models and samples) with its outputs in the test's folder."""
    path = tmp_path / "ledger" / "ledger.sqlite"
    home = tmp_path_factory.mktemp("config")
    config = home / "pbr.yaml"
    config.write_text(f"models: {ROOT / 'models'}\nreturns: {ROOT / 'sample_returns'}\n"
                      f"output: {home / 'out'}\nledger: {path}\nlog: {home / 'pbr.log'}\n"
                      "schemes: [birmingham-90-10, wigan-cohort]\n")
    monkeypatch.setenv("PBR_CONFIG", str(config))
    monkeypatch.setenv("PBR_LEDGER", str(path))
    return path


@pytest.fixture(scope="session")
def model():
    return load_model(MODEL_PATH)


@pytest.fixture(scope="session")
def cohort_model():
    return load_model(COHORT_MODEL_PATH)


def broken_model(tmp_path: Path, model_path: Path, old: str, new: str) -> tuple[Path, str]:
    """Copy a shipped model with `old` replaced by `new`; return (path, the load error)."""
    from pbr_cli.errors import PbrError

    text = model_path.read_text()
    assert old in text
    path = tmp_path / model_path.name
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(PbrError) as err:
        load_model(path)
    return path, err.value.message


def write_register(path: Path, rows: list[list[str]], header: list[str] | None = None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header or REGISTER_HEADER)
        writer.writerows(rows)
    return path


def outcomes(service: str, client: str, day: date, achieved: int, total: int = 5) -> list[dict]:
    items = ["1a", "4a", "2a", "3a", "5a", "1b", "2b", "3b"][:total]
    return [{"service_id": service, "client_id": client, "assessment_date": day,
             "assessment": "REV", "outcome": item, "result": "A" if i < achieved else "N"}
            for i, item in enumerate(items)]


class Workspace:
    """A temporary register and returns folder, filled by tests."""

    def __init__(self, root: Path, model, register_rows: list[list[str]],
                 header: list[str] | None = None):
        self.root = root
        self.model = model
        self.register_path = write_register(root / "register.csv", register_rows, header)
        self.register = load_register(model, self.register_path)
        self.returns = root / "returns"

    def add_return(self, provider: str, month: str, rows: dict[str, list[dict[str, Any]]],
                   name: str | None = None, **kw) -> Path:
        """The return as the template filled in; without its empty input rows unless the
        test is about them (`filled_only=False`): what is read is the same, written quicker."""
        m = Month.parse(month)
        path = self.returns / str(m) / (name or f"{provider}-{m}.xlsx")
        kw.setdefault("filled_only", True)
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


@pytest.fixture
def cohort_workspace(tmp_path, cohort_model):
    return Workspace(tmp_path, cohort_model, COHORT_REGISTER, COHORT_REGISTER_HEADER)


def months_between(first: str, last: str) -> list[Month]:
    return Window(Month.parse(first), Month.parse(last)).months()


class CohortReturns:
    """Client-level rows collected per provider and month, then written as returns."""

    def __init__(self):
        self.rows: dict[tuple[str, Month], dict[str, list[dict]]] = {}

    def _add(self, provider: str, day: date, sheet: str, row: dict) -> None:
        key = (provider, Month.of(day))
        self.rows.setdefault(key, {"Presentations": [], "Discharges": [], "Reviews": []})
        self.rows[key][sheet].append(row)

    def present(self, provider: str, client: str, day: date, complexity: str) -> None:
        self._add(provider, day, "Presentations",
                  {"client_id": client, "presentation_date": day, "complexity": complexity})

    def discharge(self, provider: str, client: str, start: date, day: date, reason: str,
                  complexity: str) -> None:
        self._add(provider, day, "Discharges",
                  {"client_id": client, "episode_start": start, "discharge_date": day,
                   "discharge_reason": reason, "complexity": complexity})

    def opening(self, provider: str, client: str, start: date, complexity: str,
                month: str = "2012-04") -> None:
        """A client in treatment when the scheme started, in `month`'s opening caseload."""
        key = (provider, Month.parse(month))
        self.rows.setdefault(key, {"Presentations": [], "Discharges": [], "Reviews": []})
        self.rows[key].setdefault("Opening caseload", []).append(
            {"client_id": client, "episode_start": start, "complexity": complexity})

    def review(self, provider: str, client: str, day: date, complexity: str, opiate: int = 0,
               crack: int = 0, offended: str = "N", ete: str = "N") -> None:
        self._add(provider, day, "Reviews",
                  {"client_id": client, "review_date": day, "complexity": complexity,
                   "opiate_days": opiate, "crack_days": crack, "offended": offended,
                   "in_ete": ete})

    def write(self, ws: Workspace, first: str, last: str, providers=("P1", "P2")) -> None:
        """One return per provider per month (empty months too: nothing to report)."""
        for m in months_between(first, last):
            for provider in providers:
                ws.add_return(provider, str(m), self.rows.get((provider, m), {}))


def wigan_worked_example() -> CohortReturns:
    """The brief's Wigan worked example (June 2013, provider P1), §4.

    Medium: 37 episodes presented July 2012 - May 2013 plus 3 new in June = 40 in treatment in
    the window; 10 completed January - May 2013 and 2 in June = 12 (30%, band >=25%, GBP 450).
    High: 20 episodes, 5 completed before June and 1 in June = 6 (exactly 30%, band >=30%,
    GBP 800). Of the 3 June presentations, M-X had presented at P2 on 3 November 2012.
    """
    data = CohortReturns()
    starts = months_between("2012-07", "2013-05")
    for i in range(37):
        m = starts[i % len(starts)]
        start = date(m.year, m.month, 1 + i % 20)
        data.present("P1", f"M{i:02d}", start, "M")
        if i < 12:  # completions: 10 in January-May 2013, then 2 in June
            day = date(2013, 6, 10 + i) if i >= 10 else date(2013, 1 + i % 5, 25)
            if day > start:
                data.discharge("P1", f"M{i:02d}", start, day, "TCDF" if i % 2 else "TCOU", "M")
    for i in range(20):
        m = starts[i % len(starts)]
        start = date(m.year, m.month, 2 + i % 20)
        data.present("P1", f"H{i:02d}", start, "H")
        if i < 6:
            day = date(2013, 6, 18) if i == 5 else date(2013, 2 + i % 4, 26)
            data.discharge("P1", f"H{i:02d}", start, day, "TCDF", "H")
    data.present("P2", "M-X", date(2012, 11, 3), "M")
    data.discharge("P2", "M-X", date(2012, 11, 3), date(2013, 1, 15), "DO", "M")
    for k, client in enumerate(["M-NEW1", "M-NEW2", "M-X"]):
        data.present("P1", client, date(2013, 6, 4 + k), "M")
    return data
