"""Every case of the bad-input corpus (tests/corpus.py): the exact problem code or message,
the exit code, no output left behind but what is meant, and nothing else touched."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from tests.corpus import CASES, ROOT, Kit

runner = CliRunner()


def snapshot(folder: Path, skip: Path | None = None) -> dict[str, tuple[int, str]]:
    """Every file under `folder` (but `skip`) with its size and SHA-256."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not (skip and skip in path.parents):
            if path.stat().st_size > 50 * 2**20:  # the sparse 101 MiB file: size is enough
                out[str(path)] = (path.stat().st_size, "")
            else:
                out[str(path)] = (path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def test_the_corpus_is_large_and_distinct():
    names = [c.name for c in CASES]
    assert len(names) >= 40 and len(set(names)) == len(names)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case, tmp_path, monkeypatch):
    kit = Kit(tmp_path / "case")
    args = case.build(kit)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    ledger = kit.out / "ledger"
    monkeypatch.setenv("PBR_LEDGER", str(ledger / "ledger.sqlite"))
    before = snapshot(tmp_path, skip=kit.out)
    shipped = snapshot(ROOT / "models")

    result = runner.invoke(app, args)

    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}")
    assert "Traceback" not in result.output
    assert result.exit_code == case.exit_code, result.output[-3000:]
    if args[0] == "validate":
        report = json.loads(result.stdout)
        problems = [p for f in report["files"] for p in f["problems"]]
        if case.code:
            found = [p for p in problems if p["code"] == case.code]
            assert found, [(p["code"], p["cell"]) for p in problems]
            if case.cell is not None:
                assert case.cell in [p["cell"] for p in found], [p["cell"] for p in found]
            assert all(case.message in p["message"] for p in found[:1]), found[0]["message"]
            assert all(set(p) == {"file", "severity", "code", "message", "sheet", "row",
                                  "column", "cell", "provider", "affects_payment"} for p in problems)
        else:
            assert not [p for p in problems if p["severity"] in ("error", "fatal")], problems
    else:
        assert case.message in result.output, result.output[-2000:]
    # Outputs: exactly what the case allows, no temporary files; inputs and models untouched.
    left = {str(p.relative_to(kit.out)) for p in kit.out.rglob("*")
            if p.is_file() and ledger not in p.parents}
    assert left == case.outputs, left
    if case.exit_code == 2 or args[0] == "validate":
        assert not ledger.exists()  # nothing recorded from an unusable input
    assert snapshot(tmp_path, skip=kit.out) == before
    assert snapshot(ROOT / "models") == shipped
    assert list(cwd.iterdir()) == []
    if case.check:
        case.check(kit)
    assert not os.path.exists("/tmp/pwned")
