"""`pbr models check` against the typos a person makes in a model's figures and dates.

Every number and date of each shipped model is found by walking its YAML (so a key added
later is typed over too), and changed the way people mistype: ten times or a tenth of it, a
share written as a percent (x100), a digit dropped or doubled, the sign flipped, 0, a number
written with a comma ("1,200", "0,95"), a date's day and month swapped, its year one out, a
date written 26/12/2013. For each model so changed:

- the check never crashes: it says sound (exit 0) or refuses the model (exit 2), and with
  the model's worked examples beside it says when they fail (exit 1);
- a figure written as text with a comma, and a date written day first, are refused at their
  own line, saying what to write;
- the oracle is the model's own worked examples (<model>.tests.yaml, each payment worked
  out by hand beside the model, not from the check's rules), run as `pbr models test` runs
  them: a typo that changes what they pay is never called sound without a word: the check
  refuses it or warns at its line, or exits 1 naming the worked example that fails.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from pbr_cli.errors import EXIT_CODES, PbrError
from pbr_cli.jobs.model_tests import run_model_tests
from pbr_cli.model import load_model
from pbr_cli.returns.register import load_register
from tests.conftest import ROOT

runner = CliRunner()
MODELS = sorted(p for p in (ROOT / "models").glob("*.yaml") if not p.name.endswith(".tests.yaml"))
NUMBER = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
DATE = "tag:yaml.org,2002:timestamp"


@dataclass(frozen=True)
class Place:
    """One number or date as written in a model: where its text starts and ends."""
    model: Path
    line: int
    start: int
    end: int
    written: str
    is_date: bool


def places(model: Path) -> list[Place]:
    """Every plain number and date in the model, keys (a date a figure applies from) and
    values alike, found by walking the YAML rather than by naming keys."""
    text = model.read_text()
    found: list[Place] = []

    def walk(node: yaml.Node) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(key)
                walk(value)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item)
        elif node.tag in NUMBER | {DATE} and node.style is None:
            found.append(Place(model, node.start_mark.line + 1, node.start_mark.index,
                               node.end_mark.index, node.value, node.tag == DATE))

    walk(yaml.compose(text, Loader=yaml.SafeLoader))
    return found


PLACES = [p for m in MODELS for p in places(m)]


def typos(place: Place) -> list[tuple[str, str]]:
    """(kind, text) for each typo of this figure or date a person could make."""
    raw = place.written
    if place.is_date:
        year, month, day = raw.split("-")
        return [("day and month swapped", f"{year}-{day}-{month}"),
                ("year one on", f"{int(year) + 1}-{month}-{day}"),
                ("year one back", f"{int(year) - 1}-{month}-{day}"),
                ("day first", f"{day}/{month}/{year}")]
    value = Decimal(raw)
    out = [("x10", str(value * 10)), ("/10", str(value / 10)), ("x100", str(value * 100)),
           ("sign", str(-value)), ("zero", "0")]
    digits = [i for i, c in enumerate(raw) if c.isdigit()]
    for i in digits:
        out += [("digit dropped", raw[:i] + raw[i + 1:]),
                ("digit doubled", raw[:i] + raw[i] + raw[i:])]
    if value >= 1000:
        out.append(("text with commas", f'"{int(value):,}"'))
    if "." in raw:
        out.append(("decimal comma", raw.replace(".", ",")))
    return [(kind, text) for kind, text in out
            if text != raw and text.strip("-.") and not text.startswith(".")]


ALWAYS_WRONG = {"text with commas", "decimal comma", "day first"}


@st.composite
def typo(draw):
    place = draw(st.sampled_from(PLACES))
    kind, text = draw(st.sampled_from(typos(place)))
    return place, kind, text


def _write(tmp: Path, place: Place, text: str, with_tests: bool) -> Path:
    """The model with the typo, in a folder of its own beside its register (and tests)."""
    tmp.mkdir(parents=True, exist_ok=True)
    source = place.model.read_text()
    target = tmp / place.model.name
    target.write_text(source[:place.start] + text + source[place.end:])
    suffixes = (".register.csv", ".tests.yaml") if with_tests else (".register.csv",)
    for suffix in suffixes:
        shutil.copy(place.model.with_name(place.model.stem + suffix), tmp)
    return target


def _check(target: Path) -> tuple[int, list[str], str]:
    """The check's own work, in-process: (exit code, warnings, what it said)."""
    warnings: list[str] = []
    try:
        load_register(load_model(target, warnings))
    except PbrError as exc:
        return exc.exit_code, warnings, exc.message
    return 0, warnings, ""


COUNTER = iter(range(10**9))


@settings(max_examples=60, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typo())
def test_a_typo_in_any_figure_or_date_never_crashes_the_check(tmp_path, typo):
    place, kind, text = typo
    target = _write(tmp_path / str(next(COUNTER)), place, text, with_tests=False)
    code, warnings, said = _check(target)  # anything but a PbrError fails the test here
    assert code in EXIT_CODES and code in (0, 2), (kind, text, said)
    if kind in ALWAYS_WRONG:
        assert code == 2 and f"{target}:{place.line}: " in said and "write " in said, \
            (kind, text, said)
    for warning in warnings:
        assert warning.startswith(f"{target}:") and ": warning: " in warning


@settings(max_examples=3, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typo())
def test_a_typo_that_changes_what_the_worked_examples_pay_is_never_called_sound_silently(
        tmp_path, typo):
    place, kind, text = typo
    target = _write(tmp_path / str(next(COUNTER)), place, text, with_tests=True)
    code, _, _ = _check(target)
    assume(code == 0)  # (a model refused never has its worked examples run: the test above)
    result = runner.invoke(app, ["models", "check", str(target)])
    assert result.exit_code in (0, 1), (kind, text, result.output)
    assert "Traceback" not in result.output and (
        result.exception is None or isinstance(result.exception, SystemExit)), \
        (kind, text, result.output)
    pays_differently = any(not case.passed for case in run_model_tests(load_model(target)))
    if pays_differently:
        at_line = f"{target}:{place.line}: " in result.output
        assert result.exit_code != 0 and (at_line or "FAILED" in result.output), \
            (kind, text, result.output)
    else:
        assert result.exit_code == 0, (kind, text, result.output)


def _first(kind: str) -> tuple[Place, str]:
    return next((p, t) for p in PLACES for k, t in typos(p) if k == kind)


@pytest.mark.parametrize("kind", ["day first", "sign"])
def test_the_check_run_as_a_user_runs_it_refuses_or_passes_a_typo_without_a_traceback(
        tmp_path, kind):
    place, text = _first(kind)
    target = _write(tmp_path, place, text, with_tests=False)
    run = subprocess.run([sys.executable, "-m", "pbr_cli", "models", "check", str(target)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode in (0, 2), run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    if kind == "day first":
        assert run.returncode == 2 and f"{target}:{place.line}: " in run.stderr


def test_the_walk_finds_the_figures_and_dates_of_every_shipped_model():
    # Each kind of key the typos are made in, found without naming it in this file: a scheme
    # date, a parameter, a band bound, a fee base, a window's months.
    found = {(p.model.stem, p.line) for p in PLACES}
    for model, words in [("birmingham-90-10", "  start: 2013-04-01"),
                         ("birmingham-90-10", "utilisation_share: {value: 0.90"),
                         ("wigan-cohort", "{from: 0.45, price: 300}"),
                         ("troubled-families", "      base: 4000"),
                         ("work-programme", "  year_starts: 6")]:
        text = (ROOT / "models" / f"{model}.yaml").read_text()
        assert (model, text[:text.index(words)].count("\n") + 1) in found, words
    assert len(PLACES) > 100
