"""pbr pays only on what a person opening the return sees (docs/limits.md, "What a person
reviewing the return can see"), checked against LibreOffice Calc as the person's eyes.

For every return of the corpus (shipped samples, the returns saved by LibreOffice under
tests/libreoffice/, and hostile returns built by editing a sample's XML: tests/shown/hostile.py),
Calc renders each cell (tests/shown/uno_render.py) and pbr says what it takes from each
(tests/shown/paid.py); every value pbr accepts must be the text the cell shows, and a cell
not seen, or showing something else, must be refused: an error naming the cell (its row,
column or sheet), or the file unusable.

Set PBR_AS_SHOWN_ALL=1 to check every shipped sample (454 files) instead of one return of
each scheme and the faulty ones.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.corpus import Kit
from tests.shown import Office, compare, names_cell, pbr_checks, shared_office, unrefused, why_no_office
from tests.shown.hostile import CALC_BLIND, build, target
from tests.shown.hostile import CASES as HOSTILE

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_returns"
SAVED = ROOT / "tests" / "libreoffice"
# CI (.ci/run) sets PBR_TEST_LIBREOFFICE_REQUIRED where LibreOffice is installed: there a
# missing bridge fails these tests instead of skipping them.
REQUIRED = bool(os.environ.get("PBR_TEST_LIBREOFFICE_REQUIRED"))
NO_OFFICE = None if REQUIRED else why_no_office()


def sample_files() -> list[Path]:
    every = sorted(SAMPLES.rglob("*.xlsx"))
    if os.environ.get("PBR_AS_SHOWN_ALL"):
        return every
    chosen = [p for p in every if p.parent.name in ("faulty", "faulty-wigan")]
    for scheme in sorted(d for d in SAMPLES.iterdir() if d.is_dir()
                         and not d.name.startswith("faulty")):
        months = sorted(d for d in scheme.iterdir() if d.is_dir())
        chosen += sorted(months[-1].glob("*.xlsx"))[:1]  # the latest month's first
    return chosen


BASE = "sample_returns/birmingham-90-10/2013-06/P01-2013-06.xlsx"  # the hostile returns' base
SAMPLE_CASES = sorted({str(p.relative_to(ROOT)) for p in sample_files()} | {BASE})
SAVED_CASES = [p.name for p in sorted(SAVED.glob("*.xlsx"))]


class Corpus:
    """Each file rendered once, when a test first asks (so that test workers share the work
    out), and checked by pbr with the rest of its kind (samples, saved, hostile) in one run."""

    def __init__(self, office: Office, folder: Path):
        self.office, self.folder = office, folder
        self.kit = Kit(folder / "kit")
        self.hostile = {name: build(name, folder / "hostile") for name in HOSTILE}
        self.files: dict[str, Path] = {}
        self.files.update({f"sample:{c}": ROOT / c for c in SAMPLE_CASES})
        self.files.update({f"saved:{c}": SAVED / c for c in SAVED_CASES})
        self.files.update({f"hostile:{c}": p for c, p in self.hostile.items()})
        self.shown: dict[str, dict] = {}
        self.paid: dict[str, dict] = {}
        self.checked: dict[str, tuple[list[str], list[int]]] = {}  # kind -> tracebacks, left
        self.timings: dict[str, float] = {"render": 0.0, "pbr": 0.0}

    def rendered(self, key: str) -> dict:
        path = str(self.files[key].resolve())
        if path not in self.shown:
            start = time.monotonic()
            self.shown.update(self.office.render([self.files[key]]))
            self.timings["render"] += time.monotonic() - start
        return self.shown[path]

    def taken(self, key: str) -> dict:
        kind = key.split(":", 1)[0]
        if kind not in self.checked:
            start = time.monotonic()
            files = [p for k, p in self.files.items() if k.startswith(kind + ":")]
            checked = pbr_checks(files, self.kit.register if kind == "saved" else None,
                                 seconds=240)
            self.paid.update(checked.results)
            self.checked[kind] = (checked.tracebacks, checked.left)
            self.timings["pbr"] += time.monotonic() - start
        tracebacks, left = self.checked[kind]
        assert not tracebacks, tracebacks[0]
        assert not left, f"pbr left processes running: {left}"
        path = str(self.files[key].resolve())
        assert path in self.paid, f"pbr gave no answer for {key}"
        return self.paid[path]

    def findings(self, key: str):
        pbr = self.taken(key)
        return pbr, compare(pbr, self.rendered(key))


@pytest.fixture(scope="session")
def office(pytestconfig):
    missing = why_no_office()
    if missing:
        pytest.fail(missing) if REQUIRED else pytest.skip(missing)
    return shared_office(pytestconfig)


@pytest.fixture(scope="session")
def corpus(office, tmp_path_factory):
    c = Corpus(office, tmp_path_factory.mktemp("as-shown"))
    yield c
    if os.environ.get("PBR_AS_SHOWN_REPORT"):  # every case's findings, to read
        import json

        cases = {}
        for key in c.files:
            try:
                pbr, findings = c.findings(key)
            except AssertionError as e:
                cases[key] = {"status": "no answer", "findings": [str(e)]}
                continue
            cases[key] = {"status": pbr["status"], "findings": [str(f) for f in findings]}
        c.timings["soffice_cpu"] = office.cpu_seconds() + office.cpu_used
        Path(os.environ["PBR_AS_SHOWN_REPORT"]).write_text(json.dumps(
            {"timings": c.timings, "cases": cases}, indent=1), encoding="utf-8")


def _check(corpus: Corpus, key: str) -> None:
    pbr, findings = corpus.findings(key)
    bad = unrefused(findings)
    assert not bad, (f"{key} ({pbr['status']}): pbr pays on what is not shown:\n  "
                     + "\n  ".join(map(str, bad)))


@pytest.mark.skipif(bool(NO_OFFICE), reason=NO_OFFICE or "")
@pytest.mark.parametrize("case", SAMPLE_CASES)
def test_a_shipped_sample_is_paid_as_shown(corpus, case):
    _check(corpus, f"sample:{case}")


@pytest.mark.skipif(bool(NO_OFFICE), reason=NO_OFFICE or "")
@pytest.mark.parametrize("case", SAVED_CASES)
def test_a_return_saved_by_calc_is_paid_as_shown(corpus, case):
    _check(corpus, f"saved:{case}")


@pytest.mark.skipif(bool(NO_OFFICE), reason=NO_OFFICE or "")
@pytest.mark.parametrize("case", [c for c in HOSTILE if c not in CALC_BLIND])
def test_a_hostile_return_is_refused_or_paid_as_shown(corpus, case):
    """HOSTILE[case] says what a person sees instead of what is stored."""
    # The oracle itself: Calc sees the edit (the cell changed shows otherwise, or is not
    # seen, or its sheet is hidden; or it shows the sample's text over another value, which
    # the comparison finds); else the case would test nothing.
    sheet, ref = target(case)
    _, findings = corpus.findings(f"hostile:{case}")
    assert findings or _looks(corpus, f"hostile:{case}", sheet, ref) != _looks(
        corpus, f"sample:{BASE}", sheet, ref), f"{case}: Calc shows the edit as harmless"
    _check(corpus, f"hostile:{case}")


@pytest.mark.skipif(bool(NO_OFFICE), reason=NO_OFFICE or "")
@pytest.mark.parametrize("case", list(CALC_BLIND))
def test_what_calc_shows_but_excel_hides_is_refused(corpus, case):
    """CALC_BLIND[case]: Calc shows the cell as in the sample (checked, so that a Calc that
    learns to hide it moves the case to the comparison above), and pbr refuses it as the
    docs say: Excel hides it."""
    sheet, ref = target(case)
    assert _looks(corpus, f"hostile:{case}", sheet, ref) == _looks(
        corpus, f"sample:{BASE}", sheet, ref)
    pbr, _ = corpus.findings(f"hostile:{case}")
    errors = [p for p in pbr["problems"] if p["severity"] in ("error", "fatal")]
    assert pbr["status"] == "unusable" or any(names_cell(p, sheet, ref) for p in errors), (
        f"{case} ({pbr['status']}): {HOSTILE[case][0]} is paid on")


def _looks(corpus: Corpus, key: str, sheet: str, ref: str) -> tuple:
    shown = corpus.rendered(key)
    found = next((s for s in shown["sheets"] if s["name"] == sheet), None)
    if found is None:
        return ("no sheet",)
    cell = found["cells"].get(ref, {"text": "", "seen": True})
    return (found["visible"], cell["text"], cell["seen"])


@pytest.mark.skipif(bool(NO_OFFICE), reason=NO_OFFICE or "")
def test_the_clean_sample_is_matched_value_by_value(corpus):
    """The comparison is not empty: the hostile returns' base is matched value by value (45
    void unit-days in Utilisation!E2, the date of Outcomes!C7) and nothing on it is hidden."""
    pbr, findings = corpus.findings(f"sample:{BASE}")
    assert pbr["status"] == "clean" and findings == []
    taken = {(v["sheet"], v["cell"]): v["value"] for v in pbr["values"]}
    assert taken[("Utilisation", "E2")] == {"kind": "number", "value": "45"}
    assert taken[("Outcomes", "C7")] == {"kind": "date", "value": "2013-06-13"}
    assert len([v for v in taken.values() if v is not None]) > 50
    shown = corpus.rendered(f"sample:{BASE}")
    util = next(s for s in shown["sheets"] if s["name"] == "Utilisation")
    assert util["cells"]["E2"] == {"text": "45", "seen": True, "why": "", "type": "VALUE",
                                   "conditional": "none"}


# what LibreOffice was asked to change in each file it saved (tests/libreoffice/MANIFEST.txt)
SEEN_CHANGED = [("hidden-row.xlsx", "Outcomes", "B3", "C1", "row hidden"),
                ("hidden-column.xlsx", "Utilisation", "E2", "12", "column hidden"),
                ("invisible-format.xlsx", "Utilisation", "E2", "", "")]


@pytest.mark.skipif(bool(NO_OFFICE), reason=NO_OFFICE or "")
@pytest.mark.parametrize(("name", "sheet", "ref", "text", "why"), SEEN_CHANGED)
def test_the_oracle_sees_what_was_changed(corpus, name, sheet, ref, text, why):
    shown = corpus.rendered(f"saved:{name}")
    cell = next(s for s in shown["sheets"] if s["name"] == sheet)["cells"][ref]
    assert (cell["text"], cell["why"]) == (text, why)
    assert cell["seen"] == (why == "")
