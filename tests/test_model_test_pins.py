"""Model tests that pin reasons (docs/models.md, "Model tests"): a case whose money matches
for the wrong reason fails, saying what was expected and what was got.

The reasons pinned here are written from the docs' words (docs/models.md: "already
attached", a claim "not attached on or before the date achieved", "at most one payment per
participant", `overlapping-episodes`, `no-return`), not from what pbr prints.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pbr_cli.errors import PbrError
from pbr_cli.jobs.model_tests import run_model_tests
from pbr_cli.model import load_model

ROOT = Path(__file__).resolve().parents[1]

# Troubled Families, July 2013 (docs/models.md, "Per-participant models"). F1 and F2 are
# attached in 2012/13 (fee £4,000 x 80% = £3,200 each, paid then); F1 completes crime and
# education in January 2013 (£3,900 - £3,200 = £700, paid then). In July 2013:
#   F1 attached again          -> refused, "already attached"
#   F1 claims employment       -> refused: one results payment per participant (once_in)
#   FX claims employment       -> refused: never attached
#   F2 claims employment       -> paid to £4,000: £4,000 - £3,200 = £800.00
# July pays £800.00. No return for 2012-04, 2012-07 to 2012-12 and 2013-02 to 2013-06:
# twelve months, each a no-return warning.
TF_CASE = """\
  - name: "{name}"
    month: 2013-07
    register:
      - {{provider_code: LA1, provider_name: "Northtown Council", families: 120, contract_start: "2012-04-01"}}
    returns:
      LA1:
        2012-05:
          Attachments:
            - {{family_id: F1, attachment_date: 2012-05-10}}
        2012-06:
          Attachments:
            - {{family_id: F2, attachment_date: 2012-06-01}}
        2013-01:
          Claims:
            - {{family_id: F1, result: CRIME, achieved_date: 2013-01-10}}
            - {{family_id: F1, result: EDU, achieved_date: 2013-01-15}}
        2013-07:
          Attachments:
            - {{family_id: F1, attachment_date: 2013-07-01}}
          Claims:
            - {{family_id: F1, result: EMP, achieved_date: 2013-07-03}}
            - {{family_id: FX, result: EMP, achieved_date: 2013-07-03}}
            - {{family_id: F2, result: EMP, achieved_date: 2013-07-05}}
    expect:
      LA1:
        total: 800.00
        employment: 800.00
{pins}"""

FROM_THE_DOCS = """\
        problems: [no-return]
        refused:
          - {client: F1, component: attachment, reason: already attached}
          - {client: F1, component: employment, reason: payment per participant}
          - {client: FX, component: employment, reason: not attached}
        evidence:
          - {client: F2, component: employment, status: paid, amount: 800.00}
"""


def _model(tmp_path: Path, name: str, tests_text: str) -> Path:
    for suffix in (".yaml", ".register.csv"):
        shutil.copy(ROOT / "models" / f"{name}{suffix}", tmp_path)
    (tmp_path / f"{name}.tests.yaml").write_text(tests_text, encoding="utf-8")
    return tmp_path / f"{name}.yaml"


def _tf(tmp_path: Path, *cases: tuple[str, str]) -> Path:
    text = "pbr_model_tests: 1\ncases:\n" + "".join(
        TF_CASE.format(name=name, pins=pins) for name, pins in cases)
    return _model(tmp_path, "troubled-families", text)


def _failures(model: Path) -> dict[str, list[str]]:
    return {r.name: r.failures for r in run_model_tests(load_model(model))}


def _pbr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pbr_cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_pins_written_from_the_docs_words_pass_and_wrong_reasons_fail(tmp_path):
    model = _tf(
        tmp_path,
        ("from the docs", FROM_THE_DOCS),
        # the same £800.00, but F1's employment pinned as if F1 had never been attached
        ("same money, another reason",
         FROM_THE_DOCS.replace("reason: payment per participant", "reason: not attached")),
        # F2's paid claim pinned refused (the total still says £800.00)
        ("a paid claim pinned refused", FROM_THE_DOCS.replace(
            "          - {client: FX,", "          - {client: F2, component: employment, "
            "reason: not attached}\n          - {client: FX,")),
        # F1's two refusals left out of the list of every line refused
        ("refusals left out", "        refused:\n"
         "          - {client: FX, component: employment, reason: not attached}\n"),
        ("a problem not pinned", "        problems: []\n"),
        ("lines that are not there", "        evidence:\n"
         "          - {client: F3, status: paid}\n"
         "          - {client: F1, status: paid}\n"
         "          - {client: F2, component: employment, date: 2013-07-04, status: paid}\n"),
    )
    got = _failures(model)
    assert got["from the docs"] == []
    [same] = got["same money, another reason"]  # one difference, and not the money
    assert same.startswith("LA1: expected F1's employment refused \"not attached\", got "
                           "refused \""), same
    assert "per participant" in same
    assert got["a paid claim pinned refused"] == [
        "LA1: expected F2's employment refused \"not attached\", got paid £800.00"]
    left_out = got["refusals left out"]
    assert len(left_out) == 2
    assert left_out[0].startswith("LA1: F1's attachment refused \"already attached")
    assert left_out[0].endswith("on 2013-07-01, not expected")
    assert left_out[1].startswith("LA1: F1's employment refused \"")
    assert left_out[1].endswith("on 2013-07-03, not expected")
    [problem] = got["a problem not pinned"]
    assert problem.startswith("LA1: problem no-return not expected (provider LA1: no return "
                              "for 2012-04")
    assert problem.endswith("; 12 in all)")  # 2012-04, 2012-07..12, 2013-02..06
    absent, two, wrong_day = got["lines that are not there"]
    assert absent == "LA1: expected F3 paid, no such line in the month"
    # F1 has two lines in July: each is said, with its date, and neither was paid
    assert two.startswith("LA1: expected F1 paid, got refused \"already attached")
    assert "on 2013-07-01; refused \"" in two and two.endswith("on 2013-07-03")
    assert wrong_day == ("LA1: expected F2's employment of 2013-07-04 paid, no such line in "
                         "the month")


def test_a_provider_withheld_for_errors_is_not_withheld_for_a_missing_return(tmp_path):
    """Birmingham's second case pins P2 withheld for its missing June return. Give P2 a June
    return with a negative void days (the model's `min: 0`): P2 is withheld all the same,
    £0.00, but for an error in its return; every difference is said."""
    text = (ROOT / "models" / "birmingham-90-10.tests.yaml").read_text(encoding="utf-8")
    tail = ("outcome: 5a, result: A}\n    expect:\n      P1: {total: 12700.66, "
            "problems: [no-outcomes-assessed]}\n")
    tail += text[text.rindex(tail) + len(tail):]  # P2 withheld for no return, as shipped
    assert tail.endswith("      P2: {withheld: no return received, problems: [no-return]}\n")
    assert text.endswith(tail)
    june = ("outcome: 5a, result: A}\n        2013-06:\n          Utilisation:\n"
            "            - {service_id: S002, void_days: -3}\n")
    model = _model(tmp_path, "birmingham-90-10", text.removesuffix(tail)
                   + tail.replace("outcome: 5a, result: A}\n", june, 1))
    got = _failures(model)
    assert list(got.values())[0] == []
    failures = list(got.values())[1]
    assert failures[0].startswith("P2: expected withheld \"no return received\", got withheld "
                                  "\""), failures
    assert failures[1] == "P2: expected problem no-return, not raised"
    assert sorted(f.split(" (")[0] for f in failures[2:]) == [
        "P2: problem below-minimum not expected", "P2: problem return-has-errors not expected"]
    [below] = [f for f in failures if "below-minimum" in f]
    assert "(Utilisation!" in below  # the cell is named


def test_a_withheld_providers_problem_codes_are_pinned(tmp_path):
    """Wigan's case with a June presentation of M33, whose episode from 14 July 2012 is
    still open: `overlapping-episodes`, an error, so P1's June is withheld
    (`return-has-errors`); P2 is paid nothing and has no problem."""
    text = (ROOT / "models" / "wigan-cohort.tests.yaml").read_text(encoding="utf-8")
    row = "            - {client_id: M-X, presentation_date: 2013-06-06, complexity: M}\n"
    assert text.count(row) == 1
    text = text.replace(row, row + "            - {client_id: M33, presentation_date: "
                                   "2013-06-07, complexity: M}\n")
    text = text[:text.index("    expect:")] + (
        "    expect:\n"
        "      P1: {withheld: error, problems: [overlapping-episodes, return-has-errors]}\n"
        "      P2: {total: 0.00, problems: []}\n")
    assert list(_failures(_model(tmp_path, "wigan-cohort", text)).values()) == [[]]


@pytest.mark.parametrize(("pins", "at", "words"), [
    ("        warnings: [no-return]\n", "warnings:",
     "LA1: 'warnings' is not a payment component"),
    ("        refused:\n          - {client: FX, resaon: not attached}\n", "resaon",
     "LA1 refused[0]: unknown key 'resaon' (a line has client, component, date and reason)"),
    ("        refused:\n          - {client: FX, status: paid, reason: x}\n", "status: paid",
     "unknown key 'status' (a line has client, component, date and reason) (a refused line "
     "is £0.00, refused)"),
    ("        refused:\n          - {client: FX}\n", "{client: FX}",
     "LA1 refused[0]: give the `reason` it is refused for"),
    ("        problems:\n          - no-return\n          - overlaping-episodes\n",
     "overlaping", "LA1: 'overlaping-episodes' is not a problem code (docs/problem-codes.md)"),
    ("        evidence:\n          - {client: F2, status: payed}\n", "payed",
     "LA1 evidence[0]: status 'payed' is paid, nil or refused"),
    ("        evidence:\n          - {client: F2, component: employmnt, status: paid}\n",
     "employmnt", "'employmnt' is not a payment component"),
    ("        evidence:\n          - {client: F2, amount: 800.001}\n", "800.001",
     "'800.001' is not an amount in pounds and pence"),
    ("        withheld: true\n", "total: 800.00",
     "LA1: a withheld provider is paid nothing and has no events; 'total' cannot be expected"),
])
def test_a_pin_that_cannot_be_read_is_refused_at_its_line(tmp_path, pins, at, words):
    model = _tf(tmp_path, ("a case", pins))
    text = (tmp_path / "troubled-families.tests.yaml").read_text()
    line = next(n for n, t in enumerate(text.splitlines(), 1) if at in t)
    with pytest.raises(PbrError) as raised:
        run_model_tests(load_model(model))
    assert raised.value.code == "model-tests-invalid"
    assert raised.value.message.startswith(f"{tmp_path / 'troubled-families.tests.yaml'}:"
                                           f"{line}: a case: "), raised.value.message
    assert words in raised.value.message


def test_a_service_level_scheme_has_no_events_to_pin(tmp_path):
    text = (ROOT / "models" / "birmingham-90-10.tests.yaml").read_text(encoding="utf-8")
    old = "      P2: {withheld: no return received, problems: [no-return]}\n"
    assert text.endswith(old)
    text = text.removesuffix(old) + "      P2:\n        refused: []\n"
    with pytest.raises(PbrError) as raised:
        run_model_tests(load_model(_model(tmp_path, "birmingham-90-10", text)))
    assert f":{len(text.splitlines())}: " in raised.value.message
    assert ("P2: `refused:` pins events, and a service-level scheme has none"
            in raised.value.message)


def test_pbr_models_test_says_the_wrong_reason_and_exits_1(tmp_path):
    model = _tf(tmp_path, ("from the docs", FROM_THE_DOCS), ("same money, another reason",
                FROM_THE_DOCS.replace("reason: payment per participant",
                                      "reason: not attached")))
    done = _pbr("models", "test", str(model))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "  ok     from the docs" in done.stdout
    assert "  FAILED same money, another reason" in done.stdout
    assert ("           LA1: expected F1's employment refused \"not attached\", got refused \""
            in done.stdout)
    assert "1 of 2 case(s) pass." in done.stdout
    # a pin misspelt is the tests file's fault: exit code 2, its line, nothing worked out
    tests = tmp_path / "troubled-families.tests.yaml"
    text = tests.read_text().replace("        problems: [no-return]\n",
                                     "        problem: [no-return]\n", 1)
    tests.write_text(text)
    line = text.splitlines().index("        problem: [no-return]") + 1
    done = _pbr("models", "test", str(model))
    assert done.returncode == 2, done.stdout + done.stderr
    assert (f"troubled-families.tests.yaml:{line}: from the docs: LA1: 'problem' is not a "
            "payment component" in done.stderr), done.stderr
    assert "Traceback" not in done.stderr and "ok" not in done.stdout


def test_the_docs_wigan_pins_hold_for_the_shipped_case(tmp_path):
    """docs/models.md shows Wigan's June 2013 pinned: those pins, put in the shipped case's
    place, pass."""
    doc = (ROOT / "docs" / "models.md").read_text(encoding="utf-8")
    start = doc.index("```yaml tests\n    expect:\n") + len("```yaml tests\n")
    pins = doc[start:doc.index("```", start)]
    assert "reason: [2012-11-03, P2]" in pins and "refused: []" in pins
    text = (ROOT / "models" / "wigan-cohort.tests.yaml").read_text(encoding="utf-8")
    text = text[:text.index("    expect:\n")] + pins
    assert list(_failures(_model(tmp_path, "wigan-cohort", text)).values()) == [[]]
