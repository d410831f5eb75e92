"""The command line's conventions: -h beside --help, shell completion, --quiet and
--verbose, a JSON error object with --json, the config found where a user would look, a
broken config refused with its line (no traceback), and the shipped models from any folder."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from tests.conftest import ROOT, pbr_in_process
from tests.test_cli import _script

runner = CliRunner()


@pytest.mark.parametrize("args", [[], ["models"], ["ledger", "status"], ["statements"]])
def test_h_is_help(args):
    short = runner.invoke(app, [*args, "-h"])
    long = runner.invoke(app, [*args, "--help"])
    assert short.exit_code == long.exit_code == 0
    assert short.output == long.output and "Usage: " in short.output


def test_shell_completion_can_be_installed():
    assert "--install-completion" in runner.invoke(app, ["--help"]).output


def test_json_errors_are_a_json_object_on_stdout(tmp_path):
    result = runner.invoke(app, ["calculate", "-m", "no-such-scheme", "-p", "2013-06",
                                 "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "unknown-model" and error["exit_code"] == 2
    assert "no model 'no-such-scheme'" in error["message"]
    status = runner.invoke(app, ["ledger", "status", "--json", "--ledger",
                                 str(tmp_path / "not-a-ledger.sqlite")])
    assert json.loads(status.stdout)  # data, or an error object: JSON either way


def test_quiet_prints_nothing_but_the_exit_code_tells(tmp_path):
    quiet = runner.invoke(app, ["-q", "calculate", "-m", "birmingham-90-10", "-p", "2013-06",
                                "--dry-run"])
    assert quiet.exit_code == 0 and quiet.stdout == ""
    loud = runner.invoke(app, ["-v", "calculate", "-m", "birmingham-90-10", "-p", "2013-13"])
    assert loud.exit_code == 2
    assert "[bad-period, exit code 2]" in loud.output


def _bare(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PBR_CONFIG", "PBR_LEDGER")}
    env["HOME"] = str(tmp_path / "home")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "home" / ".config")
    return env


def _here(folder, tmp_path, *args: str) -> subprocess.CompletedProcess:
    """`pbr ARGS` in the test's own process, in `folder`, with a home of the test's own (what
    `_bare` gives a subprocess): for what a command says and writes."""
    home = tmp_path / "home"
    return pbr_in_process(*args, cwd=folder, env={"HOME": str(home),
                                                  "XDG_CONFIG_HOME": str(home / ".config")})


def test_the_shipped_models_from_any_folder_and_a_broken_config_refused(tmp_path):
    folder = tmp_path / "anywhere"
    folder.mkdir()
    env = _bare(tmp_path)
    listed = subprocess.run([*_script(), "models", "list"], cwd=folder, env=env,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert all(m in listed.stdout for m in ("birmingham-90-10", "wigan-cohort",
                                            "troubled-families", "work-programme",
                                            "transforming-rehabilitation"))
    (folder / "pbr.yaml").write_text("models: models\nschemes: [\n")
    broken = subprocess.run([*_script(), "models", "list"], cwd=folder, env=env,
                            capture_output=True, text=True, timeout=120)
    assert broken.returncode == 2
    assert "pbr.yaml:" in broken.stderr and "Traceback" not in broken.stderr + broken.stdout


def test_the_config_in_the_user_s_config_folder_is_found(tmp_path):
    env = _bare(tmp_path)
    mine = tmp_path / "home" / ".config" / "pbr"
    mine.mkdir(parents=True)
    (mine / "pbr.yaml").write_text(f"models: {ROOT / 'models'}\nreturns: "
                                   f"{ROOT / 'sample_returns'}\noutput: {tmp_path / 'out'}\n"
                                   f"ledger: {tmp_path / 'ledger.sqlite'}\n")
    folder = tmp_path / "anywhere"
    folder.mkdir()
    result = subprocess.run([*_script(), "calculate", "-m", "wigan-cohort", "-p", "2013-04",
                             "--dry-run"], cwd=folder, env=env, capture_output=True,
                            text=True, timeout=180)
    assert result.returncode in (0, 1), result.stderr
    assert "payment schedule for April 2013" in result.stdout


def test_the_licence_is_stated():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'license = "MIT"' in text and "classifiers" in text
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def _every_command():
    """Every command and group, as the words a user types after `pbr`."""
    import typer

    out = []

    def walk(command, words):
        out.append(words)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, [*words, name])

    walk(typer.main.get_command(app), [])
    return out


def test_help_names_values_in_words_and_says_each_command_whole():
    """Help showed Python's types (`<list[Path]>`, `<int range>`, `<str>`, `{paths}...`) and
    cut each command's line short mid-sentence ("Check returns: layout, values, codes,
    dates,...")."""
    import re

    commands = _every_command()
    assert len(commands) > 20
    for words in commands:
        result = runner.invoke(app, [*words, "--help"], terminal_width=80, env={"COLUMNS": "80"})
        assert result.exit_code == 0, words
        text = result.output
        python_types = re.findall(r"<(?:str|int|float|bool|list\[[^\]]*\]|Path|path|int range|"
                                  r"float range)>|\{[a-z_]+\}", text)
        assert not python_types, (words, python_types)
        cut = [line for line in text.splitlines()
               if re.search(r"[a-z,]\.\.\.$", line)]  # a sentence cut short
        assert not cut, (words, cut)
    top = runner.invoke(app, ["--help"], terminal_width=80, env={"COLUMNS": "80"}).output
    assert "register cross-checks, and checks across files" in " ".join(top.split())
    validate = runner.invoke(app, ["validate", "--help"], env={"COLUMNS": "80"}).output
    assert "Usage: pbr validate [OPTIONS] PATHS..." in validate
    assert "-m, --model MODEL" in validate and "--wait SECONDS" in runner.invoke(
        app, ["run", "--help"], env={"COLUMNS": "80"}).output


def test_quiet_and_verbose_are_taken_after_the_command_too(tmp_path):
    """`pbr run -q` and `pbr calculate ... -v` were refused ("No such option: -q"): the
    global flags worked only before the command."""
    env = _bare(tmp_path)
    quiet = subprocess.run([*_script(), "calculate", "-m", "birmingham-90-10", "-p", "2013-06",
                            "--dry-run", "-q"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=180)
    assert quiet.returncode == 0 and quiet.stdout == "", quiet.stderr
    loud = subprocess.run([*_script(), "calculate", "-m", "birmingham-90-10", "-p", "2013-13",
                           "--verbose"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)
    assert loud.returncode == 2 and "[bad-period, exit code 2]" in loud.stderr, loud.stderr
    status = subprocess.run([*_script(), "ledger", "status", "-q", "--ledger",
                             str(tmp_path / "none.sqlite")], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=180)
    assert "No such option" not in status.stderr, status.stderr


def test_the_log_writes_each_head_once(tmp_path):
    """`pbr run` wrote the ledger's head twice in a row (after the month, and at the end)."""
    folder = tmp_path / "council"
    returns = folder / "returns" / "birmingham-90-10"
    import shutil

    shutil.copytree(ROOT / "sample_returns" / "birmingham-90-10" / "2013-04", returns / "2013-04")
    (folder / "pbr.yaml").write_text(f"models: {ROOT / 'models'}\nreturns: returns\n"
                                     "output: out\nschemes: [birmingham-90-10]\n")
    for _ in range(2):  # a month drafted, then a run that records nothing
        run = subprocess.run([*_script(), "run"], cwd=folder, env=_bare(tmp_path),
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
    heads = [ln.split(" INFO ", 1)[1] for ln in
             (folder / "out" / "pbr.log").read_text().splitlines() if " head record " in ln]
    assert len(heads) == 2 and "head record 1 " in heads[0], heads  # once a run


def test_the_test_commands_say_why_tests_are_skipped():
    """The README's test command skipped the 38 PostgreSQL tests saying nothing of why:
    `-rs` lists each skip's reason (no PostgreSQL server; how to start one)."""
    readme = (ROOT / "README.md").read_text()
    assert "pip install '.[test]' && pytest -rs\n" in readme.split("\n\n", 2)[1] + "\n"
    ci = (ROOT / ".ci" / "run").read_text()
    runs = re.findall(r"pytest\b[^\n\"]*", ci)  # each run of the tests, to its line's end
    assert runs == ["pytest -rs", "pytest -rs"], runs
    from tests import ledger_places

    said = (ROOT / "tests" / "ledger_places.py").read_text()
    assert "export as PBR_TEST_POSTGRESQL" in said and ledger_places.postgres_server


def test_money_changing_warnings_are_listed_before_approval(tmp_path):
    """Wigan's April 2013 with only April filed: `pbr run` printed "0 error(s)" and exit 0,
    never mentioning the 209 warnings on the draft's Warnings sheet that left money out (60
    no-return: 5 providers x 12 months before April; 110 record-left-out; 39
    episode-assumed). The console and the JSON of `run` and `calculate` now say them by
    code with counts, before anything is approved."""
    import shutil

    folder = tmp_path / "council"
    shutil.copytree(ROOT / "sample_returns" / "wigan-cohort" / "2013-04",
                    folder / "returns" / "wigan-cohort" / "2013-04")
    (folder / "pbr.yaml").write_text(f"models: {ROOT / 'models'}\nreturns: returns\n"
                                     "output: out\nschemes: [wigan-cohort]\n")
    expected = {"no-return": 60, "record-left-out": 110, "episode-assumed": 39}
    said = ("Warnings that change payments: 60 no-return, 110 record-left-out, 39 "
            "episode-assumed (each is on the schedule's Warnings sheet)")

    def pbr(*args):
        done = _here(folder, tmp_path, *args)
        assert done.returncode in (0, 1), done.stderr
        return done.stdout

    assert said in " ".join(pbr("calculate", "-m", "wigan-cohort", "-p", "2013-04",
                                "--dry-run").split())
    assert json.loads(pbr("calculate", "-m", "wigan-cohort", "-p", "2013-04", "--dry-run",
                          "--json"))["money_warnings"] == expected
    assert said in " ".join(pbr("run", "--dry-run").split())
    ran = json.loads(pbr("run", "--dry-run", "--json"))
    assert ran["months"][-1]["month"] == "2013-04"
    assert ran["months"][-1]["money_warnings"] == expected
    assert any(said in m for m in ran["messages"])


def test_a_second_forecast_is_written_beside_the_first_and_thin_ranges_are_said(tmp_path):
    """A second forecast with another what-if silently overwrote the first (one name for
    both); `--simulations 10` gave an "80% range" of 10 draws (one beyond each end)
    without a word."""
    import shutil

    from pbr_cli.cli.forecast import fewest_simulations

    folder = tmp_path / "council"
    shutil.copytree(ROOT / "sample_returns" / "birmingham-90-10" / "2013-04",
                    folder / "returns" / "birmingham-90-10" / "2013-04")
    (folder / "pbr.yaml").write_text(f"models: {ROOT / 'models'}\nreturns: returns\n"
                                     "output: out\nschemes: [birmingham-90-10]\n")

    def forecast(*args):
        done = subprocess.run([*_script(), "forecast", "-m", "birmingham-90-10", "--no-budget",
                               "--simulations", "10", *args], cwd=folder, env=_bare(tmp_path),
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return done

    first = forecast()
    made = folder / "out" / "birmingham-90-10"
    plain = made / "birmingham-90-10-2013-14-forecast-as-at-2013-04-no-budget-10-simulations.xlsx"
    assert plain.is_file(), list(made.iterdir())
    before = plain.read_bytes()
    second = forecast("--what-if", "utilisation=90%", "--json")
    other = json.loads(second.stdout)
    assert other["forecast"]["workbook"].endswith(
        "-as-at-2013-04-what-if-utilisation=90%-no-budget-10-simulations.xlsx")
    assert plain.read_bytes() == before  # the first is kept
    # 80%: 10% beyond each end; ten simulations there takes 10 / 10% = 100
    assert fewest_simulations(80) == 100 and fewest_simulations(98) == 1000
    for said in (first.stderr, second.stderr):
        assert "80% ranges are from only 10 simulations, too few" in said
    assert "--simulations 100" in other["range_note"]


def test_an_output_into_a_missing_folder_makes_it_and_says_so(tmp_path):
    """`-o` into a folder that did not exist made it without a word (a mistyped folder went
    unseen). Every command now says so on stderr; under --quiet, nothing."""
    import shutil

    folder = tmp_path / "council"
    shutil.copytree(ROOT / "sample_returns" / "birmingham-90-10" / "2013-04",
                    folder / "returns" / "birmingham-90-10" / "2013-04")
    (folder / "pbr.yaml").write_text(f"models: {ROOT / 'models'}\nreturns: returns\n"
                                     "output: out\nschemes: [birmingham-90-10]\n")

    def pbr(*args):
        done = _here(folder, tmp_path, *args)
        assert done.returncode == 0, done.stderr
        return done

    made = pbr("calculate", "-m", "birmingham-90-10", "-p", "2013-04", "--json", "-o",
               "schedlues/april.xlsx")
    assert f"pbr: made the folder {folder / 'schedlues'} for --output schedlues/april.xlsx" \
        in made.stderr
    assert (folder / "schedlues" / "april.xlsx").is_file() and json.loads(made.stdout)
    template = pbr("template", "-m", "birmingham-90-10", "--provider", "P01", "-p", "2013-07",
                   "-o", "blank/t.xlsx")
    assert f"made the folder {folder / 'blank'}" in template.stderr
    again = pbr("template", "-m", "birmingham-90-10", "--provider", "P01", "-p", "2013-07",
                "-o", "blank/t2.xlsx")
    assert again.stderr == ""  # there now: nothing to say
    quiet = pbr("-q", "template", "-m", "birmingham-90-10", "--provider", "P01", "-p",
                "2013-07", "-o", "quiet/t.xlsx")
    assert quiet.stderr == "" and (folder / "quiet" / "t.xlsx").is_file()


def test_forecast_and_statements_take_the_config_s_schemes(tmp_path):
    """`forecast` and `statements` demanded -m where `run`, `report` and `ledger status`
    take the config's schemes."""
    import shutil

    folder = tmp_path / "council"
    shutil.copytree(ROOT / "sample_returns" / "birmingham-90-10" / "2013-04",
                    folder / "returns" / "birmingham-90-10" / "2013-04")
    config = folder / "pbr.yaml"
    config.write_text(f"models: {ROOT / 'models'}\nreturns: returns\noutput: out\n"
                      "schemes: [birmingham-90-10]\n")

    def pbr(*args, code=0):
        done = subprocess.run([*_script(), *args], cwd=folder, env=_bare(tmp_path),
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == code, done.stderr
        return done

    forecast = json.loads(pbr("forecast", "--no-budget", "--simulations", "10",
                              "--json").stdout)["forecast"]
    assert forecast["model"] == "birmingham-90-10"
    statements = json.loads(pbr("statements", "-p", "2013-04", "--json").stdout)
    assert statements["model"] == "birmingham-90-10" and len(statements["statements"]) == 24
    config.write_text(config.read_text().replace("[birmingham-90-10]",
                                                 "[birmingham-90-10, wigan-cohort]"))
    refused = pbr("statements", "-p", "2013-04", "-o", "s", code=2)
    assert "the config has 2 schemes (birmingham-90-10, wigan-cohort): give --model too" \
        in refused.stderr
