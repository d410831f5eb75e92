"""Publication's floor (docs/publication.md, "The floor"): a month figure is rounded to a
multiple of at least 5, so nothing published can be narrowed to fewer than 5 possible values;
a smaller base is refused at the model's line, and the base of a published scheme never
changes (two roundings of the same month to different bases would narrow it)."""

from __future__ import annotations

import dataclasses
import shutil

import pytest
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from pbr_cli.errors import PbrError
from pbr_cli.ledger.records import StoredPublication
from pbr_cli.reporting.publication import build_publication
from tests.conftest import COHORT_MODEL_PATH
from tests.test_publication import KEY, months_of

runner = CliRunner()


@pytest.mark.parametrize("base", [1, 2, 3, 4])
def test_a_base_below_five_is_refused_at_its_line(tmp_path, base):
    """`publish_min_count: 1` published exact counts and the audit passed ("fewer than 1
    possible values"): now the model is refused, at the line, saying why."""
    text = COHORT_MODEL_PATH.read_text()
    assert "  publish_min_count: 5" in text
    changed = text.replace("  publish_min_count: 5", f"  publish_min_count: {base}", 1)
    target = tmp_path / COHORT_MODEL_PATH.name
    target.write_text(changed)
    shutil.copy(COHORT_MODEL_PATH.with_name("wigan-cohort.register.csv"), tmp_path)
    line = changed[:changed.index("publish_min_count:")].count("\n") + 1
    result = runner.invoke(app, ["models", "check", str(target)])
    assert result.exit_code == 2, result.output
    assert f"{target}:{line}: report.publish_min_count: " in result.output, result.output
    assert "at least 5" in result.output
    assert f"known to be 0 to {base - 1}, fewer than the 5 possible values" in result.output


def test_a_larger_base_is_allowed(tmp_path):
    text = COHORT_MODEL_PATH.read_text().replace("  publish_min_count: 5",
                                                 "  publish_min_count: 10", 1)
    target = tmp_path / COHORT_MODEL_PATH.name
    target.write_text(text)
    shutil.copy(COHORT_MODEL_PATH.with_name("wigan-cohort.register.csv"), tmp_path)
    result = runner.invoke(app, ["models", "check", str(target)])
    assert result.exit_code == 0, result.output


def _with_base(ps, base: int):
    model = ps.model
    report = dataclasses.replace(model.report, publish_min_count=base)
    return dataclasses.replace(ps, model=dataclasses.replace(model, report=report))


def test_the_audit_refuses_a_base_below_the_floor_however_the_model_was_made():
    """A model made in code (not loaded) with base 2: the audit reasons in possible values
    (a figure shown as R may be R - 1 to R + 1 at base 2: 3 values) and refuses."""
    ps = _with_base(months_of("wigan-cohort").period("2013-04"), 2)
    with pytest.raises(PbrError, match="fewer than 5 possible values") as e:
        build_publication(ps, KEY)
    assert e.value.code == "not-publishable"


def test_changing_the_base_of_a_published_scheme_is_refused_as_a_changed_base():
    """It was blamed on a changed key."""
    ps = months_of("wigan-cohort").period("2013-04")
    first = build_publication(ps, KEY)
    earlier = [StoredPublication(1, "wigan-cohort", "2013-04", "", "", "", first.figures_json())]
    with pytest.raises(PbrError) as e:
        build_publication(_with_base(months_of("wigan-cohort").period("2013-Q2"), 10), KEY,
                          earlier)
    assert "base" in str(e.value) and "5" in str(e.value) and "10" in str(e.value)
    assert "key" not in str(e.value)
    assert e.value.code == "not-publishable"
