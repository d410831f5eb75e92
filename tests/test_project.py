"""Project rules: samples regenerate byte for byte; no scheme lives in Python."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def _digests(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


SAMPLES = [
    ("make_birmingham_samples.py", ("birmingham-90-10", "faulty"), "birmingham-90-10.register.csv"),
    ("make_wigan_samples.py", ("wigan-cohort", "faulty-wigan"), "wigan-cohort.register.csv"),
    ("make_troubled_families_samples.py", ("troubled-families",),
     "troubled-families.register.csv"),
    ("make_work_programme_samples.py", ("work-programme",), "work-programme.register.csv"),
    ("make_transforming_rehabilitation_samples.py", ("transforming-rehabilitation",),
     "transforming-rehabilitation.register.csv"),
]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """Every sample script started at once (each in its own folder and process), so the
    machine's cores share the work; each test waits for its own."""
    started = {}
    for script, _, _ in SAMPLES:
        folder = tmp_path_factory.mktemp(script.removesuffix(".py"))
        started[script] = (subprocess.Popen(
            [sys.executable, str(ROOT / "sample_returns" / script), str(folder)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), folder)
    yield started
    for proc, _ in started.values():
        proc.kill()
        proc.communicate()


@pytest.mark.parametrize(("script", "folders", "register"), SAMPLES)
def test_samples_regenerate_byte_for_byte(regenerated, script, folders, register):
    proc, tmp_path = regenerated[script]
    _, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 0, stderr
    for name in folders:
        shipped = _digests(ROOT / "sample_returns" / name)
        assert shipped and _digests(tmp_path / name) == shipped
    assert (tmp_path / register).read_bytes() == (ROOT / "models" / register).read_bytes()


def test_no_scheme_name_or_code_in_python():
    for path in (ROOT / "pbr_cli").rglob("*.py"):
        text = path.read_text().lower()
        for word in ("birmingham", "wigan", "supporting people", "90/10", "opiate", "crack",
                     "troubled", "3900", "3,900", "crime_education", "work programme",
                     "work-programme", "esaib", "13720", "13,720", "transforming rehabilitation",
                     "transforming-rehabilitation", "reoffend", "crc01"):
            assert word not in text, f"{word} in {path}"


def test_models_md_explains_every_part_of_a_model():
    """Every top-level key and rule kind of the schema is explained in docs/models.md (every
    key, with its type and meaning, is in the generated model-keys.md)."""
    from pbr_cli.model.schema import MODEL

    text = (ROOT / "docs" / "models.md").read_text(encoding="utf-8")
    for key in MODEL.keys:
        if key.name != "pbr_model":
            assert f"`{key.name}`" in text or f"{key.name}:" in text, key.name
    for kind in ("expr", "sum", "count", "window", "where", "bands", "tariff", "cap", "fees",
                 "shares", "when_all", "when_any", "to_total", "once_in", "deflator",
                 "every_weeks", "up_to", "refused_when", "after", "weeks_after_attachment",
                 "claim_within_days", "year_starts", "maximum", "claim_within_months",
                 "rates",
                 "loss_share", "small_provider", "publish_min_count"):
        assert f"`{kind}" in text or f"{kind}:" in text, kind


def test_generated_docs_match_the_code():
    from pbr_cli.model.docsgen import GENERATED

    for name, make in GENERATED.items():
        committed = (ROOT / "docs" / name).read_text(encoding="utf-8")
        assert committed == make(), f"docs/{name} is stale: run python -m pbr_cli.model.docsgen"


def _documented_keys(section: str) -> set[str]:
    import re

    text = (ROOT / "docs" / "json.md").read_text()
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`]+)` \|", body, flags=re.M))


def _only_some(section: str) -> set[str]:
    """Keys a section documents as printed for some lines only ("an `accrued` line only:"),
    which a scheme without such lines does not print (tests/test_cadence.py prints them)."""
    import re

    text = (ROOT / "docs" / "json.md").read_text()
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([^`]+)` \| [^|]+ \| [^|]*? only: ", body, flags=re.M))


def _keys(value, prefix: str = "") -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if prefix.endswith(("figures.", "groups.", "rows[].", "total.", "money_warnings.")):
                continue  # named by the model, a report table's columns or a problem's code
            if prefix.endswith("tables."):
                key = "<name>"  # each report table has the same keys
            found.add(prefix + key)
            found |= _keys(item, prefix + key + ".")
    elif isinstance(value, list):
        for item in value:
            found |= _keys(item, prefix[:-1] + "[].")
    return found


def test_json_output_matches_docs_json_md():
    """Every key the commands print is documented, and every documented key is printed."""
    import json
    import subprocess
    import sys

    def run(*args: str) -> dict:
        proc = subprocess.run([sys.executable, "-m", "pbr_cli", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        return json.loads(proc.stdout)

    problem = _documented_keys("A problem")
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        validate = run("validate", "sample_returns/faulty", "--json", "--annotate", folder)
    calculate = run("calculate", "--model", "wigan-cohort", "--period", "2013-06", "--json",
                    "-o", str(ROOT / "out" / "json-doc-test.xlsx"))
    report = run("report", "--model", "birmingham-90-10", "--period", "2013-04", "--json",
                 "-o", str(ROOT / "out" / "json-doc-test.xlsx"))
    (ROOT / "out" / "json-doc-test.xlsx").unlink()
    Path(report["reports"][0]["csv"]).unlink()
    with tempfile.TemporaryDirectory() as folder:
        publication = run("report", "--model", "wigan-cohort", "--period", "2013-04",
                          "--publish", "--json", "-o", str(Path(folder) / "p.xlsx"))
    with tempfile.TemporaryDirectory() as folder:
        statements = run("statements", "--model", "troubled-families", "--period", "2013-06",
                         "--provider", "LA2", "--json", "-o", folder)
    with tempfile.TemporaryDirectory() as folder:
        signals = run("assure", "signals", "--model", "wigan-cohort", "--period", "2013-Q2",
                      "--json", "-o", str(Path(folder) / "s.xlsx"))
    models = run("models", "list", "--json")
    monthly = run("run", "--dry-run", "--json")
    error = run("calculate", "--model", "no-such-model", "--period", "2013-06", "--json")
    for output, section, lists in ((validate, "`pbr validate --json`", ["files[].problems"]),
                                   (calculate, "`pbr calculate --json`", ["problems"]),
                                   (report, "`pbr report --json`", []),
                                   (publication, "`pbr report --publish --json`", []),
                                   (statements, "`pbr statements --json`", []),
                                   (signals, "`pbr assure signals --json`", []),
                                   (models, "`pbr models list --json`", []),
                                   (monthly, "`pbr run --json`", []),
                                   (error, "An error", [])):
        documented = _documented_keys(section)
        for name in lists:
            documented |= {f"{name}[].{k}" for k in problem}
        # An empty list shows no item keys here (tests/test_ledger.py checks adjustments').
        empty = _empty_lists(output)
        documented = {k for k in documented if not any(k.startswith(f"{e}[].") for e in empty)}
        printed = _keys(output)
        documented -= _only_some(section) - printed
        assert printed == documented, section


def _empty_lists(value, prefix: str = "") -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            name = "<name>" if prefix.endswith("tables.") else key
            if item == []:
                found.add(prefix + name)
            found |= _empty_lists(item, prefix + name + ".")
    elif isinstance(value, list):
        for item in value:
            found |= _empty_lists(item, prefix[:-1] + "[].")
    return found


def test_the_xlsxwriter_installed_has_the_internals_large_tables_are_written_through():
    import importlib

    from pbr_cli.outputs.xlsx import XLSXWRITER_INTERNALS

    for where, names in XLSXWRITER_INTERNALS.items():
        module, _, cls = where.partition(".")
        owner = importlib.import_module(f"xlsxwriter.{module}")
        if cls:
            owner = getattr(owner, cls)
        assert [n for n in names if not hasattr(owner, n)] == [], where


def test_the_readme_pictures_are_there_and_a_script_remakes_them():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme)
    assert {"docs/images/schedule.png", "docs/images/statement.png",
            "docs/images/review-chart.png"} <= set(pictures)
    for picture in pictures:
        assert (ROOT / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", picture
    script = (ROOT / "docs" / "make_pictures.py").read_text(encoding="utf-8")
    for name in ("schedule", "statement", "review-chart"):
        assert f'"{name}", made' in script  # each picture made by the script (test_pages.py)


def test_every_package_on_disk_is_installed():
    """pyproject.toml lists the packages setuptools installs. A new folder of modules left
    out of it works from a checkout (and in an editable install) but is missing from a real
    install: `pbr forecast` failed with ModuleNotFoundError after `pip install .`."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts)
               for p in (ROOT / "pbr_cli").rglob("__init__.py")}
    assert on_disk - listed == set()
    assert "pbr_cli.shipped_models" in listed


def test_ci_runs_the_readmes_test_command_as_written():
    readme = (ROOT / "README.md").read_text().splitlines()
    commands = [line.strip() for line in readme[:4] if line.startswith("    ")]
    assert len(commands) == 2, commands  # exactly two set-up commands head the README
    assert commands[1] in (ROOT / ".ci" / "run").read_text(), commands[1]
