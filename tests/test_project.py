"""Project rules: samples regenerate byte for byte; no scheme lives in Python."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _digests(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("script", "folders", "register"), [
    ("make_birmingham_samples.py", ("birmingham-90-10", "faulty"), "birmingham-90-10.register.csv"),
    ("make_wigan_samples.py", ("wigan-cohort", "faulty-wigan"), "wigan-cohort.register.csv"),
])
def test_samples_regenerate_byte_for_byte(tmp_path, script, folders, register):
    proc = subprocess.run([sys.executable, str(ROOT / "sample_returns" / script), str(tmp_path)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    for name in folders:
        shipped = _digests(ROOT / "sample_returns" / name)
        assert shipped and _digests(tmp_path / name) == shipped
    assert (tmp_path / register).read_bytes() == (ROOT / "models" / register).read_bytes()


def test_no_scheme_name_or_code_in_python():
    for path in (ROOT / "pbr_cli").rglob("*.py"):
        text = path.read_text().lower()
        for word in ("birmingham", "wigan", "supporting people", "90/10", "opiate", "crack"):
            assert word not in text, f"{word} in {path}"


def test_generated_docs_match_the_code():
    from pbr_cli.docsgen import GENERATED

    for name, make in GENERATED.items():
        committed = (ROOT / "docs" / name).read_text(encoding="utf-8")
        assert committed == make(), f"docs/{name} is stale: run python -m pbr_cli.docsgen"
