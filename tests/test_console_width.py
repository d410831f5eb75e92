"""Money is never cut on the console: the installed script run as a real subprocess, on a
screen 60, 80 and 120 columns wide (FORCE_COLOR makes it one) and piped to a file. Every
amount the piped output prints — at the full width of each value — is printed whole at
every width: descriptive columns wrap or are left out first, and a table that still cannot
fit is printed a row at a time."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from tests.conftest import ROOT, made_once
from tests.test_cli import _script

MONEY = re.compile(r"-?£[\d,]+\.\d\d")
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


def run(args: list[str], width: int | None) -> str:
    """Piped: the installed script as a real subprocess. On a screen of `width` columns:
    in this process (quicker), with the same environment a terminal gives rich."""
    if width is None:
        env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS")}
        proc = subprocess.run([*_script(), *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=180)
        assert proc.returncode in (0, 1), proc.stderr
        return proc.stdout
    result = CliRunner().invoke(app, args, env={"FORCE_COLOR": "1", "COLUMNS": str(width)})
    assert result.exit_code in (0, 1), result.output
    return ESCAPES.sub("", result.stdout)


COMMANDS = {
    "schedule": ["calculate", "-m", "birmingham-90-10", "-p", "2013-06", "--dry-run",
                 "--config", str(ROOT / "pbr.yaml")],
    "report": ["report", "-m", "birmingham-90-10", "-p", "2013-Q2", "--config",
               str(ROOT / "pbr.yaml")],
    "four components": ["report", "-m", "work-programme", "-p", "2012-Q4", "--config",
                        str(ROOT / "pbr.yaml")],
    "forecast": ["forecast", "-m", "wigan-cohort", "-p", "2013/14", "--no-budget",
                 "--simulations", "10", "--what-if", "completion+5 points", "--config",
                 str(ROOT / "pbr.yaml")],
}


@contextlib.contextmanager
def forecast_worked_out_once():
    """In this process, each forecast asked is worked out once and printed at every width:
    what the screens show is what these tests read (the piped run works it out itself)."""
    import pbr_cli.jobs.forecast as jobs

    real, made = jobs.make_forecast, {}

    def once(scheme, ask, settings):
        key = (scheme.model.name, repr(ask), repr(settings))
        if key not in made:
            made[key] = real(scheme, ask, settings)
        return made[key]

    jobs.make_forecast = once
    try:
        yield
    finally:
        jobs.make_forecast = real


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    def make(folder):
        out = {}
        with forecast_worked_out_once():
            for name, args in COMMANDS.items():
                if args[0] in ("report", "forecast"):
                    args = [*args, "-o", str(folder / f"{name}.xlsx")]
                out[name] = {width: run(args, width) for width in (None, 60, 80, 120)}
        return out

    return made_once(tmp_path_factory, "console-width", make)


@pytest.mark.parametrize("name", list(COMMANDS))
@pytest.mark.parametrize("width", [60, 80, 120])
def test_every_amount_is_printed_whole_at_every_width(outputs, name, width):
    piped = outputs[name][None]
    shown = outputs[name][width]
    amounts = MONEY.findall(piped)
    assert len(amounts) > 20
    assert sorted(MONEY.findall(shown)) == sorted(amounts)
    assert "…" not in shown and "…" not in piped
    assert all(len(line) <= width for line in shown.splitlines())


def test_piped_output_is_at_the_full_width_of_each_value(outputs):
    """The grand total that was cut to `-£47,169.…` when piped, and every provider's line
    of the schedule, each on one line."""
    report = outputs["report"][None]
    assert "-£47,169.76" in report
    data = json.loads(subprocess.run(
        [*_script(), *COMMANDS["schedule"], "--json"], cwd=ROOT, capture_output=True,
        text=True, timeout=180).stdout)
    lines = outputs["schedule"][None].splitlines()
    for p in data["providers"]:
        row = next(line for line in lines if line.startswith(f"| {p['provider']} "))
        assert p["name"] in row and f"£{Decimal(p['payment']):,}" in row


def test_sparklines_draw_a_small_dip_as_a_small_step():
    """A 2.75% dip drew as `█▁█` (each row scaled from its own lowest to highest value);
    from 0 it is a step of one block, and rates share a 0-100% scale."""
    from pbr_cli.outputs.console import sparkline

    assert sparkline([10000, 9725, 10000]) == "█▇█"
    assert sparkline([0.948, 0.940, 0.971], 0, 1) == "▇▇▇"
    assert sparkline([0.2, 0.5, 1.0], 0, 1) == "▂▄█"
    assert sparkline([-5, 0, 5]) == "▁▄█"
