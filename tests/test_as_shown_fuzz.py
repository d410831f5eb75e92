"""A bounded fuzzer of what a person sees: shipped returns mutated at the XML level
(tests/shown/mutate.py), with a fixed seed and a time budget. For every mutant, pbr (its job
functions, and `pbr validate --json` as a user runs it) ends without a traceback and within
its time, and leaves no process behind; and where LibreOffice is present, pbr pays nothing
that Calc does not show: each value it accepts is the text shown, and each cell not seen or
shown as something else is refused (tests/shown/compare).

    PBR_AS_SHOWN_FUZZ_SECONDS=600   as many mutants as ten minutes allow (by default the
                                    first 24 of the seed, within 60 s)
    PBR_AS_SHOWN_FUZZ_SEED=7        another seed (default 2026)
    PBR_AS_SHOWN_FUZZ_KEEP=DIR      keep every failing mutant there, with what was done to it
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.shown import Office, compare, pbr_checks, pbr_validate, shared_office, unrefused, why_no_office
from tests.shown.mutate import mutant

# By default the first MUTANTS mutants of the seed (the same on every machine), unless that
# takes more than 60 s; with PBR_AS_SHOWN_FUZZ_SECONDS, as many as fit in that time.
LONG = "PBR_AS_SHOWN_FUZZ_SECONDS" in os.environ
SECONDS = float(os.environ.get("PBR_AS_SHOWN_FUZZ_SECONDS", "60"))
MUTANTS = 24
SEED = int(os.environ.get("PBR_AS_SHOWN_FUZZ_SEED", "2026"))
KEEP = os.environ.get("PBR_AS_SHOWN_FUZZ_KEEP")
BATCH = 6


def _kind(text: str) -> str:
    """A failure's kind, to tell distinct failures apart: its words without cells or values."""
    import re

    text = re.sub(r"'[^']*'", "'…'", text)
    return re.sub(r"\b[A-Z]{1,3}\d+\b|\d+", "N", text)


def run(folder: Path, office: Office | None, seconds: float, seed: int) -> dict:
    failures: dict[str, tuple[str, list[str], Path]] = {}  # kind -> (detail, mutations, file)
    counts = {"mutants": 0, "accepted": 0, "refused": 0, "rendered": 0}
    deadline = time.monotonic() + seconds
    index = 0
    while time.monotonic() < deadline and (LONG or index < MUTANTS):
        batch: dict[str, list[str]] = {}
        for _ in range(BATCH):
            data, said = mutant(seed, index)
            path = folder / f"m{index:05d}" / said[0]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            batch[str(path.resolve())] = said
            index += 1
        checked = pbr_checks([Path(p) for p in batch], seconds=60 + 20 * BATCH,
                             reader_seconds=20)
        counts["mutants"] += len(batch)

        def fail(kind: str, detail: str, path: str, batch: dict = batch) -> None:
            done = sorted({m.split(":", 1)[0] for m in batch.get(path, [])[1:]})
            kind = f"{kind} (after {', '.join(done)})"
            if kind not in failures:
                failures[kind] = (detail, batch.get(path, []), Path(path))
                if KEEP:
                    keep(failures)

        for tb in checked.tracebacks:
            first = next(iter(batch))
            fail("traceback or timeout: " + _kind(tb.strip().splitlines()[-1]), tb, first)
            if len(batch) > 1:  # which one: each on its own
                for p in batch:
                    alone = pbr_checks([Path(p)], seconds=80, reader_seconds=20)
                    for tb1 in alone.tracebacks:
                        fail("traceback or timeout: " + _kind(tb1.strip().splitlines()[-1]),
                             tb1, p)
        for wrong in pbr_validate([Path(p) for p in batch], seconds=60 + 20 * BATCH,
                                  reader_seconds=20):
            fail("pbr validate: " + _kind(wrong.strip().splitlines()[-1]), wrong,
                 next(iter(batch)))
        if checked.left:
            fail("processes left behind", str(checked.left), next(iter(batch)))
        for p in batch:
            if p not in checked.results and not checked.tracebacks:
                fail("no answer from pbr", "", p)
        # a mutant pbr refuses whole needs no rendering: whatever Calc shows, it is not paid
        to_render = [Path(p) for p in batch
                     if checked.results.get(p, {}).get("status") not in (None, "unusable")]
        shown = office.render(to_render, seconds_each=30) if office and to_render else {}
        for p in batch:
            pbr = checked.results.get(p)
            if pbr is None:
                continue
            counts["refused" if pbr["status"] == "unusable" else "accepted"] += 1
            if p not in shown:
                continue
            counts["rendered"] += not shown[p].get("error")
            for f in unrefused(compare(pbr, shown[p])):
                fail(_kind(f.what), f"{f} [{pbr['status']}]", p)
    return {"failures": failures, "counts": counts, "seconds": seconds}


def keep(failures: dict[str, tuple[str, list[str], Path]]) -> None:
    """Every failing mutant so far, copied to KEEP with failures.json saying what it is."""
    assert KEEP
    folder = Path(KEEP)
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, (kind, (detail, said, path)) in enumerate(failures.items()):
        target = folder / f"fuzz-{i:02d}-{path.name}"
        if path.exists() and not target.exists():
            target.write_bytes(path.read_bytes())
        lines.append({"file": target.name, "kind": kind, "detail": detail[-1500:],
                      "mutations": said})
    (folder / "failures.json").write_text(json.dumps(lines, indent=1), encoding="utf-8")


@pytest.fixture(scope="module")
def office(pytestconfig):
    missing = why_no_office()
    if missing and os.environ.get("PBR_TEST_LIBREOFFICE_REQUIRED"):
        pytest.fail(missing)
    return None if missing else shared_office(pytestconfig)  # none: run without comparing


def test_mutated_returns_are_refused_or_paid_as_shown(office, tmp_path):
    result = run(tmp_path, office, SECONDS, SEED)
    counts = result["counts"]
    assert counts["mutants"] >= BATCH
    if office is not None:
        assert counts["rendered"] > 0, "Calc rendered no mutant: the comparison tested nothing"
    report = "\n".join(f"- {kind}\n    {detail[-600:]}\n    mutant {path.parent.name[1:]} of "
                       f"seed {SEED} (tests.shown.mutate.mutant): {said}"
                       for kind, (detail, said, path) in sorted(result["failures"].items()))
    assert not result["failures"], (f"{len(result['failures'])} distinct failures in "
                                    f"{counts}:\n{report}")


def test_a_mutant_is_made_again_from_its_seed():
    """A failure is reproduced from the seed and index it reports."""
    assert mutant(SEED, 3) == mutant(SEED, 3)
    assert mutant(SEED, 3)[0] != mutant(SEED, 4)[0]
