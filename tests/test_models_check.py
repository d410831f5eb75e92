"""`pbr models check`: each kind of mistake a commissioner makes in a model, caught without
running it, with file, line and key path."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from tests.conftest import COHORT_MODEL_PATH, MODEL_PATH, ROOT

runner = CliRunner()
WP_PATH = ROOT / "models" / "work-programme.yaml"
TF_PATH = ROOT / "models" / "troubled-families.yaml"

CASES = [
    # (model, text replaced, replacement, key path, words in the message, the text on the line
    # the message must name)
    (MODEL_PATH, "  commissioner: Birmingham", "  comissioner: Birmingham",
     "scheme.comissioner", "unknown key 'comissioner'; did you mean 'commissioner'?",
     "comissioner:"),
    (MODEL_PATH, "    window: {months: 3}\n    format: integer\n  - name: outcomes_achieved",
     "    window: {mnths: 3}\n    format: integer\n  - name: outcomes_achieved",
     "measures[6].window.mnths", "did you mean 'months'?", "window: {mnths: 3}"),
    (MODEL_PATH, "capacity, header: Capacity, type: integer, min: 1}",
     "capacity, header: Capacity, type: integer, min: one}",
     "register.columns[6].min", "the formula uses 'one', which is not defined", "min: one}"),
    (MODEL_PATH, "  utilisation_share: {value: 0.90,", "  utilisation_share: {value: ninety,",
     "parameters.utilisation_share.value", "must be a number", "{value: ninety,"),
    (MODEL_PATH, "expr: min(1, utilisation / utilisation_target)",
     "expr: min(1, utilisaton / utilisation_target)", "measures[5].expr",
     "did you mean 'utilisation'?", "utilisaton /"),
    (MODEL_PATH, "    sum: Utilisation.void_days", "    sum: Utilisation.void_dayz",
     "measures[2].sum", "must name a number column", "void_dayz"),
    (MODEL_PATH, "    window: {months: 3}\n    format: integer\n  - name: outcomes_achieved",
     "    window: {months: 9}\n    format: integer\n  - name: outcomes_achieved",
     "measures[6].window.months", "longer than the scheme (6 months)", "{months: 9}"),
    (COHORT_MODEL_PATH, "          - {from: 0.45, price: 300}", "          - {from: 0.25, price: 300}",
     "cohort.outcomes[0].bands.L[1]", "each bound higher than the last (0.25 is not above 0.30)",
     "{from: 0.25, price: 300}"),
    (COHORT_MODEL_PATH, "          - {from: 0.45, price: 300}", "          - {from: 45, price: 300}",
     "cohort.outcomes[0].bands.L[1]", "(write 0.45 for 45%)", "{from: 45, price: 300}"),
    (COHORT_MODEL_PATH, "prices: {L: 150, M: 300, H: 450}", "prices: {L: 150, M: 300}",
     "cohort.tariff.prices", "no price for group(s) H", "prices: {L: 150, M: 300}"),
    (COHORT_MODEL_PATH, "window: {months: 12}", "window: {months: 36}", "cohort.window.months",
     "longer than the scheme (24 months)", "window: {months: 36}"),
    # A model `pbr models check` called sound, that crashed, ignored a rule or paid by another:
    (MODEL_PATH, "        - {name: service_id, header: Service ID, type: text, register: true,\n"
     "           help: \"The ID of the service supporting the client.\"}",
     "        - {name: service_id, header: Service ID, type: text,\n"
     "           help: \"The ID of the service supporting the client.\"}",
     "return.sheets[1]", "no column with `register: true`", "    - name: Outcomes"),
    (MODEL_PATH, "    where: {result: A}\n    window: {months: 3}",
     "    where: {result: C3}\n    window: {months: 3}", "measures[7].where.result",
     "'C3' is not a code of", "where: {result: C3}"),
    (MODEL_PATH, "        - {name: service_id, header: Service ID, type: text, register: true,\n"
     "           help: \"The ID of the service supporting the client.\"}",
     "        - {name: service_id, header: Service ID, type: text, register: true,\n"
     "           prefill: service_id, help: \"The ID of the service supporting the client.\"}",
     "return.sheets[1].columns[0].prefill", "one row per register entry",
     "prefill: service_id, help: \"The ID of the service supporting"),
    (COHORT_MODEL_PATH, "           min: episode_start,", "           min: episode_start, max: 638,",
     "return.sheets[1].columns[2].max", "a date column's bound must give a date",
     "min: episode_start, max: 638,"),
    (COHORT_MODEL_PATH, "           min: episode_start,", "           min: episode_start * 2,",
     "return.sheets[1].columns[2].min", "cannot be worked out", "min: episode_start * 2,"),
    (ROOT / "models" / "troubled-families.yaml", "      when_any: [WORK]", "      when: WORK",
     "participants.results[1].when", "unknown key 'when': a result is paid on claim codes",
     "when: WORK"),
    (MODEL_PATH, "  loss_share: 0.05", "  loss_share: 5", "report.loss_share",
     "a share is between 0 and 1 (write 0.05 for 5%)", "loss_share: 5"),
    (MODEL_PATH, "    expr: min(1, utilisation / utilisation_target)",
     "    expr: min(1, utilisation / utilisation_target * outcome_rate)", "measures[5].expr",
     "'outcome_rate' is defined later (measures[8]); a measure can use only those above it",
     "utilisation_target * outcome_rate"),
    # a month that is not a month crashed the check of a per-participant model (exit 70)
    (WP_PATH, "  year_starts: 6\n", "  year_starts: 13\n", "scheme.year_starts",
     "a month from 1 (January) to 12 (December)", "year_starts: 13"),
    (COHORT_MODEL_PATH, "      when: opiate_days == 0 and crack_days == 0",
     "      when: opiate_days == 0 and crak_days == 0", "cohort.outcomes[1].when",
     "did you mean 'crack_days'?", "crak_days"),
    # Figures by date: a month without a figure, a change a monthly scheme would silently
    # delay, a cohort rule worked out once for every month, a date that is not one.
    (MODEL_PATH, "  utilisation_target: {value: 0.95,",
     "  utilisation_target: {value: {2013-05-01: 0.95},",
     "parameters.utilisation_target.value.2013-05-01", "the first date is after the scheme "
     "start (2013-04-01)", "{value: {2013-05-01: 0.95},"),
    (MODEL_PATH, "  utilisation_target: {value: 0.95,",
     "  utilisation_target: {value: {2013-04-01: 0.95, 2013-06-15: 0.90},",
     "parameters.utilisation_target.value.2013-06-15", "changes on the first of a month "
     "(write 2013-06-01 or 2013-07-01)", "2013-06-15: 0.90},"),
    (MODEL_PATH, "  utilisation_target: {value: 0.95,",
     "  utilisation_target: {value: {2013-04-31: 0.95},",
     "parameters.utilisation_target.value.2013-04-31",
     "'2013-04-31' is not a date of the calendar (April 2013 has 30 days)",
     "{value: {2013-04-31: 0.95},"),
    # Figures by code: a group left without its figure, a column that is not there.
    (WP_PATH, "             ESAIB: 600, IBIS: 400, JSAPL: 400}",
     "             ESAIB: 600, IBIS: 400}", "parameters.attachment_price.values",
     "no figure for JSAPL: give every code of the column its figure", "values: {JSA18: 400,"),
    (WP_PATH, "    label: Attachment fee in contract year 1\n    by: payment_group",
     "    label: Attachment fee in contract year 1\n    by: payment_groop",
     "parameters.attachment_price.by", "no column 'payment_groop'", "by: payment_groop"),
    (COHORT_MODEL_PATH, "      when: opiate_days == 0 and crack_days == 0",
     "      when: opiate_days == 0 and crack_days <= most_days", "cohort.outcomes[1].when",
     "'most_days' has values by date", "crack_days <= most_days"),
    # Typos a person makes in a figure or a date (tests/test_model_typos.py finds them): each
    # is said at its own line with what to write.
    (COHORT_MODEL_PATH, "          - {from: 0.45, price: 300}", "          - {from: 0,45, price: 300}",
     "cohort.outcomes[0].bands.L[1].45", "'0,45' reads as two entries (a comma ends one): "
     "write 0.45: a decimal point, not a comma", "{from: 0,45, price: 300}"),
    (WP_PATH, '"2012/13": 0.50,', '"2012/13": 0,50,', "participants.fees[0].shares.50",
     "'0,50' reads as two entries (a comma ends one): write 0.50", '"2012/13": 0,50,'),
    (TF_PATH, "      base: 4000", "      base: -4000", "participants.fees[0].base",
     "-£4,000.00 is below £0: an amount paid is £0 or more (write 4000)", "base: -4000"),
    (TF_PATH, "  maximum: 4000", "  maximum: {2012-04-01: 4000, 2013-13-01: 3000}",
     "participants.maximum.2013-13-01", "'2013-13-01' is not a date of the calendar (write "
     "2013-01-13: the month comes before the day)", "maximum: {2012-04-01"),
    (TF_PATH, "      base: 4000", "      base: {2012-04-01: \"4,000\"}",
     "participants.fees[0].base.2012-04-01", "not '4,000' (write 4000: a number without commas)",
     "base: {2012-04-01"),
    (MODEL_PATH, "  utilisation_target: {value: 0.95,", "  utilisation_target: {value: 95,",
     "parameters.utilisation_target.value", "95 is read as a share between 0 and 1 (by "
     "measures[5].expr, utilisation, a share, is divided by it): write 0.95 for 95%",
     "{value: 95,"),
    (MODEL_PATH, "  utilisation_target: {value: 0.95,", "  utilisation_target: {value: -0.95,",
     "parameters.utilisation_target.value", "write 0.95", "{value: -0.95,"),
    (MODEL_PATH, "  start: 2013-04-01", "  start: 01/04/2013", "scheme.start",
     "not '01/04/2013' (write 2013-04-01 for 01/04/2013)", "start: 01/04/2013"),
    # A maximum by payment group: the provider's maximum is held against each group's, the
    # most being ESA ex-incapacity benefit's £13,720 (£600 + £3,500 + 26 x £370).
    (WP_PATH, "  maximum: maximum_price\n", "  maximum: maximum_price\n  provider_maximum: 10000\n",
     "participants.provider_maximum", "£10,000.00 for a provider's participants together is "
     "below £13,720.00, the most for one of them (`maximum`, for payment_group ESAIB)",
     "provider_maximum: 10000"),
    (WP_PATH, "  year_starts: 6\n", "  year_starts: 6\n  holidays: [2013-12-25, 26/12/2013]\n",
     "scheme.holidays[1]", "(write 2013-12-26 for 26/12/2013)", "holidays: ["),
]


@pytest.mark.parametrize("model, old, new, path, words, anchor", CASES,
                         ids=[c[3] for c in CASES])
def test_models_check_names_file_line_and_key_path(tmp_path, model, old, new, path, words,
                                                   anchor):
    text = model.read_text()
    assert old in text
    changed = text.replace(old, new, 1)
    if "most_days" in new:
        changed = changed.replace("\ncodes:\n", "\nparameters:\n  most_days: {value: "
                                  "{2012-04-01: 0, 2013-04-01: 2}}\n\ncodes:\n", 1)
    target = tmp_path / model.name
    target.write_text(changed)
    register = model.with_name(model.stem + ".register.csv")
    shutil.copy(register, tmp_path / register.name)
    line = changed[:changed.index(anchor)].count("\n") + 1
    result = runner.invoke(app, ["models", "check", str(target)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"{target}:{line}: {path}: " in result.output, result.output
    assert words in result.output


def test_models_check_passes_the_shipped_models_and_says_what_they_hold():
    result = runner.invoke(app, ["models", "check", str(MODEL_PATH), str(COHORT_MODEL_PATH)])
    assert result.exit_code == 0, result.output
    assert result.output.count(": sound.") == 2
    assert "register" in result.output and "58 row(s)" in result.output


# -- model tests ----------------------------------------------------------------------------------

def _copy_model(tmp_path, tests_text: str | None = None):
    for suffix in (".yaml", ".register.csv", ".tests.yaml"):
        shutil.copy(MODEL_PATH.with_name(MODEL_PATH.stem + suffix), tmp_path)
    target = tmp_path / MODEL_PATH.name
    if tests_text is not None:
        (tmp_path / (MODEL_PATH.stem + ".tests.yaml")).write_text(tests_text)
    return target


def test_every_shipped_model_ships_its_worked_examples_and_they_pass():
    models = sorted((ROOT / "models").glob("*.tests.yaml"))
    assert [m.name.removesuffix(".tests.yaml") for m in models] == [
        "birmingham-90-10", "transforming-rehabilitation", "troubled-families", "wigan-cohort",
        "work-programme"]
    result = runner.invoke(app, ["models", "test", *(m.name.removesuffix(".tests.yaml")
                                                     for m in models),
                                 "--config", str(ROOT / "pbr.yaml")])
    assert result.exit_code == 0, result.output
    for said in ("2 of 2 case(s) pass", "1 of 1 case(s) pass", "3 of 3 case(s) pass",
                 "4 of 4 case(s) pass"):
        assert said in result.output


def test_a_model_test_that_fails_says_each_difference_to_the_penny(tmp_path):
    text = MODEL_PATH.with_name(MODEL_PATH.stem + ".tests.yaml").read_text()
    assert "P1: {total: 12700.66, utilisation: 11763.16," in text
    changed = text.replace("P1: {total: 12700.66, utilisation: 11763.16,",
                           "P1: {total: 12700.67, utilisation: 11763.16,")
    model = _copy_model(tmp_path, changed)
    result = runner.invoke(app, ["models", "test", str(model)])
    assert result.exit_code == 1, result.output
    assert "FAILED" in result.output
    assert "P1 total: expected £12,700.67, got £12,700.66" in result.output
    assert "1 of 2 case(s) pass" in result.output
    checked = runner.invoke(app, ["models", "check", str(model)])  # check runs them too
    assert checked.exit_code == 1 and ": sound." in checked.output
    assert "expected £12,700.67" in checked.output
    assert "FAILED" not in runner.invoke(app, ["models", "check", str(MODEL_PATH)]).output


@pytest.mark.parametrize(("change", "words"), [
    (("pbr_model_tests: 1", "pbr_model_tests: 2"), ":3: a model tests file starts"),
    (("      P2: {withheld: no return", "      P2: {totl: 1, withheld: no return"),
     "'totl' is not a payment component"),
    (("      P2: {withheld: no return", "      P2: {total: 1.234, withheld: no return"),
     "'1.234' is not an amount"),
    (("    month: 2013-06\n", "    month: June\n"), "'June' is not a month"),
])
def test_a_model_tests_file_that_cannot_be_read_is_refused_with_its_line(tmp_path, change,
                                                                        words):
    text = MODEL_PATH.with_name(MODEL_PATH.stem + ".tests.yaml").read_text()
    assert change[0] in text
    model = _copy_model(tmp_path, text.replace(change[0], change[1], 1))
    result = runner.invoke(app, ["models", "test", str(model)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and words in result.output, result.output


def test_a_day_and_month_written_the_other_way_round_says_which_date_to_write(tmp_path):
    text = MODEL_PATH.read_text()
    target = tmp_path / MODEL_PATH.name
    target.write_text(text.replace("  end: 2013-09-30", "  end: 2013-30-09", 1))
    shutil.copy(MODEL_PATH.with_name(MODEL_PATH.stem + ".register.csv"), tmp_path)
    line = text[:text.index("  end: 2013-09-30")].count("\n") + 1
    result = runner.invoke(app, ["models", "check", str(target)])
    assert result.exit_code == 2, result.output
    assert (f"{target}:{line}: '2013-30-09' must be a date written YYYY-MM-DD (write 2013-09-30: "
            "the month comes before the day)") in result.output


def test_a_maximum_of_nothing_is_a_warning_at_its_line_and_the_model_still_sound(tmp_path):
    text = TF_PATH.read_text()
    assert "  maximum: 4000\n" in text
    target = tmp_path / TF_PATH.name
    target.write_text(text.replace("  maximum: 4000\n", "  maximum: 0\n", 1))
    shutil.copy(TF_PATH.with_name(TF_PATH.stem + ".register.csv"), tmp_path)
    line = text[:text.index("  maximum: 4000")].count("\n") + 1
    result = runner.invoke(app, ["models", "check", str(target)])
    assert result.exit_code == 0, result.output
    assert (f"{target}:{line}: participants.maximum: warning: £0: nothing is ever paid by it"
            in result.output)
    assert ": sound, with 1 warning(s) above." in result.output


# -- a model's own warnings, as the schedule says them ---------------------------------------------

def test_a_percent_measure_in_a_warning_is_said_as_a_percent(workspace, tmp_path):
    """S001's June utilisation is 1 - 45 void days / (20 places x 30 days) = 1 - 45/600 =
    0.925 (the brief's worked example): a warning naming it says 92.50%, as the schedule
    shows a percent, not 0.9250."""
    import json

    from tests.conftest import worked_example

    worked_example(workspace)
    text = MODEL_PATH.read_text()
    rule = "warnings:\n"
    assert rule in text
    model = tmp_path / "model" / MODEL_PATH.name
    model.parent.mkdir()
    model.write_text(text.replace(rule, rule + "  - when: utilisation < 1\n"
                                  "    code: under-full\n"
                                  "    message: \"Utilisation was {utilisation}.\"\n", 1))
    shutil.copy(MODEL_PATH.with_name(MODEL_PATH.stem + ".register.csv"), model.parent)
    result = runner.invoke(app, ["calculate", "--model", str(model), "--period", "2013-06",
                                 "--returns", str(workspace.returns), "--register",
                                 str(workspace.register_path), "-o", str(tmp_path / "j.xlsx"),
                                 "--json"])
    assert result.exit_code == 0, result.output
    said = [p["message"] for p in json.loads(result.stdout)["problems"]
            if p["code"] == "under-full"]
    assert "service S001: Utilisation was 92.50%." in said, said


def _contract_values(tmp_path, provider_maximum: str, values: list[int]):
    """Work Programme with a contract value on each register entry and a provider maximum."""
    text = WP_PATH.read_text()
    column = "    - {name: area, header: Contract package area, type: text}\n"
    assert column in text and "  maximum: maximum_price\n" in text
    text = text.replace(column, column + "    - {name: contract_value, header: Contract value, "
                        "type: money}\n", 1)
    text = text.replace("  maximum: maximum_price\n", "  maximum: maximum_price\n"
                        f"  provider_maximum: {provider_maximum}\n", 1)
    target = tmp_path / WP_PATH.name
    target.write_text(text)
    rows = WP_PATH.with_name(WP_PATH.stem + ".register.csv").read_text().splitlines()
    assert len(rows) == len(values) + 1
    (tmp_path / (WP_PATH.stem + ".register.csv")).write_text("\n".join(
        [rows[0] + ",Contract value",
         *(f"{r},{v}" for r, v in zip(rows[1:], values, strict=True))]) + "\n")
    return target, text[:text.index("provider_maximum: ")].count("\n") + 1


def test_a_provider_maximum_from_its_contract_value_is_held_for_each_register_entry(tmp_path):
    """WP02's contract is worth £100,000: a tenth of it, £10,000, is below £13,720, the most
    for one ESA ex-incapacity benefit participant; WP01's and WP03's £200,000 give £20,000."""
    target, line = _contract_values(tmp_path, "contract_value / 10", [200000, 100000, 200000])
    result = runner.invoke(app, ["models", "check", str(target)])
    assert result.exit_code == 2, result.output
    assert (f"{target}:{line}: participants.provider_maximum: £10,000.00 (for contract WP02) "
            "for a provider's participants together is below £13,720.00, the most for one of "
            "them (`maximum`, for payment_group ESAIB)") in result.output, result.output
    target, _ = _contract_values(tmp_path, "contract_value / 10", [200000, 200000, 200000])
    assert runner.invoke(app, ["models", "check", str(target)]).exit_code == 0


def test_a_maximum_that_cannot_be_worked_out_without_the_register_is_a_warning(tmp_path):
    """Without the register (the model alone), a provider's maximum read from each entry's
    contract value cannot be worked out: a warning at its line says so, not a mistake."""
    from pbr_cli.model import load_model

    target, line = _contract_values(tmp_path, "contract_value / 10", [200000, 100000, 200000])
    warnings: list[str] = []
    load_model(target, warnings)
    assert warnings == [f"{target}:{line}: participants.provider_maximum: warning: "
                        "'contract_value / 10' reads contract_value, a figure each register "
                        "entry holds: without the register the check cannot work it out, so "
                        "cannot hold the provider's maximum against one participant's; check "
                        "them by hand"]


def test_a_scheme_that_ends_before_it_starts_is_said_once_not_with_windows_of_minus_months(
        tmp_path):
    # the year of the end typed one back: 2012-09-30 is before 2013-04-01
    text = MODEL_PATH.read_text()
    target = tmp_path / MODEL_PATH.name
    target.write_text(text.replace("  end: 2013-09-30", "  end: 2012-09-30", 1))
    shutil.copy(MODEL_PATH.with_name(MODEL_PATH.stem + ".register.csv"), tmp_path)
    result = runner.invoke(app, ["models", "check", str(target)])
    assert result.exit_code == 2, result.output
    assert "scheme.end: the scheme ends before it starts" in result.output
    assert "longer than the scheme" not in result.output, result.output


def test_a_figure_below_nothing_is_a_warning_at_its_line(tmp_path):
    # the share of the monthly value paid on utilisation, its sign typed by mistake
    text = MODEL_PATH.read_text()
    assert "  utilisation_share: {value: 0.90," in text
    target = tmp_path / MODEL_PATH.name
    target.write_text(text.replace("  utilisation_share: {value: 0.90,",
                                   "  utilisation_share: {value: -0.90,", 1))
    shutil.copy(MODEL_PATH.with_name(MODEL_PATH.stem + ".register.csv"), tmp_path)
    line = text[:text.index("  utilisation_share:")].count("\n") + 1
    result = runner.invoke(app, ["models", "check", str(target)])
    assert result.exit_code == 0, result.output
    assert (f"{target}:{line}: parameters.utilisation_share.value: warning: -0.90 is below 0: "
            "a figure a payment is worked out from seldom is (write 0.90 if that is meant)"
            ) in result.output, result.output


def test_a_figure_by_code_below_nothing_is_a_warning_at_its_line(tmp_path):
    # JSA 18-24's sustainment payment, its sign typed by mistake
    text = WP_PATH.read_text()
    assert "values: {JSA18: 170," in text
    target = tmp_path / WP_PATH.name
    target.write_text(text.replace("values: {JSA18: 170,", "values: {JSA18: -170,", 1))
    shutil.copy(WP_PATH.with_name(WP_PATH.stem + ".register.csv"), tmp_path)
    line = text[:text.index("values: {JSA18: 170,")].count("\n") + 1
    result = runner.invoke(app, ["models", "check", str(target)])
    assert result.exit_code == 0, result.output
    assert (f"{target}:{line}: parameters.sustainment_price.values.JSA18: warning: -170 is "
            "below 0") in result.output, result.output
