"""Project rules: samples regenerate byte for byte; no scheme lives in Python."""

from __future__ import annotations

import hashlib
import subprocess
import sys

from tests.conftest import ROOT


def _digests(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_samples_regenerate_byte_for_byte(tmp_path):
    script = ROOT / "sample_returns" / "make_birmingham_samples.py"
    proc = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    for name in ("birmingham-90-10", "faulty"):
        shipped = _digests(ROOT / "sample_returns" / name)
        assert shipped and _digests(tmp_path / name) == shipped
    assert (tmp_path / "birmingham-90-10.register.csv").read_bytes() == (
        ROOT / "models" / "birmingham-90-10.register.csv").read_bytes()


def test_cohort_samples_regenerate_byte_for_byte(tmp_path):
    script = ROOT / "sample_returns" / "make_wigan_samples.py"
    proc = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    for name in ("wigan-cohort", "faulty-wigan"):
        shipped = _digests(ROOT / "sample_returns" / name)
        assert shipped and _digests(tmp_path / name) == shipped
    assert (tmp_path / "wigan-cohort.register.csv").read_bytes() == (
        ROOT / "models" / "wigan-cohort.register.csv").read_bytes()


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
