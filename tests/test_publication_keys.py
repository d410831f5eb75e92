"""The same months are never rounded afresh, unnoticed (docs/publication.md, "One key per
scheme"): a release shows its scheme's publication identity and key fingerprint; a publish
that finds an earlier release of the same months under another fingerprint — in the ledger
(whatever the model is called now) or in the output folder — is refused. A renamed model
that keeps its `publish_identity` rounds exactly as before."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import openpyxl

from tests.conftest import ROOT


def _config(tmp_path, models, ledger: str = "ledger.sqlite", returns=None) -> str:
    cfg = tmp_path / f"pbr-{ledger}-{models.name}.yaml"
    cfg.write_text(f"models: {models}\nreturns: {returns or ROOT / 'sample_returns'}\n"
                   f"output: {tmp_path / 'out'}\nledger: {tmp_path / ledger}\n"
                   f"log: {tmp_path / (ledger + '.log')}\n")
    return str(cfg)


def _publish(cfg: str, period: str, model: str = "wigan-cohort"):
    env = {k: v for k, v in os.environ.items() if k not in ("PBR_LEDGER", "PBR_CONFIG")}
    return subprocess.run([sys.executable, "-m", "pbr_cli", "report", "-p", period, "-m", model,
                           "--publish", "--json", "--config", cfg], env=env,
                          capture_output=True, text=True, timeout=300)


def test_a_lost_ledger_made_again_does_not_round_published_months_afresh(tmp_path):
    """The ledger lost and made again (`pbr ledger init --force`, or a second config with its
    own ledger, writing to the same folder): a new key. 99 of 156 figures differed, and the
    audit saw no earlier publication. Now the earlier workbook in the output folder is found,
    and the publish refused naming both fingerprints."""
    cfg = _config(tmp_path, ROOT / "models")
    first = _publish(cfg, "2013-Q2")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)["reports"][0]
    fp = data["fingerprint"]
    about = {r[0]: r[1] for r in openpyxl.load_workbook(data["output"])["About"].iter_rows(
        values_only=True) if r[0]}
    assert about["Publication identity"] == "wigan-cohort"
    assert about["Key fingerprint"].startswith(fp)
    (tmp_path / "ledger.sqlite").unlink()
    (tmp_path / "ledger.sqlite.log").unlink()
    again = _publish(cfg, "2013-04")
    assert again.returncode == 2, again.stdout
    said = again.stdout + again.stderr
    assert "wigan-cohort-2013-Q2-report-publication.xlsx" in said
    assert f"fingerprint {fp}" in said and "not recorded in this ledger" in said
    second = _publish(_config(tmp_path, ROOT / "models", "other.sqlite"), "2013-05")
    assert second.returncode == 2 and "not recorded in this ledger" in second.stdout + second.stderr


def test_a_renamed_model_is_refused_unless_it_keeps_its_identity_and_then_rounds_the_same(
        tmp_path):
    """Renamed, same ledger: the ledger made a new key for the new name and 109 of 156
    figures differed, the audit seeing no earlier publication (it looked under the new name).
    Now the ledger's releases of the same scheme (its title) are held against it: refused;
    with `publish_identity: wigan-cohort` it takes the same key and every figure is the
    same."""
    import dataclasses

    import pytest

    from pbr_cli.errors import PbrError
    from pbr_cli.ledger.store import Ledger
    from pbr_cli.outputs.publication import publication_as_dict
    from pbr_cli.reporting.publication import build_publication, publication_identity
    from tests.test_publication import months_of

    cfg = _config(tmp_path, ROOT / "models")
    first = _publish(cfg, "2013-Q2")
    assert first.returncode == 0, first.stderr
    before = json.loads(first.stdout)["reports"][0]
    ledger = Ledger(str(tmp_path / "ledger.sqlite"))
    rows = ledger.publications()
    ps = months_of("wigan-cohort").period("2013-Q2")
    renamed = dataclasses.replace(ps.model, name="wigan-recovery")
    assert publication_identity(renamed) == "wigan-recovery"
    new_key = ledger.publication_key("wigan-recovery", create=True)  # as the job would
    with pytest.raises(PbrError, match="fingerprint") as e:
        build_publication(dataclasses.replace(ps, model=renamed), new_key, rows)
    assert "publish_identity" in str(e.value)
    kept = dataclasses.replace(renamed, report=dataclasses.replace(
        renamed.report, publish_identity="wigan-cohort"))
    key = ledger.publication_key(publication_identity(kept))
    ledger.close()
    after = build_publication(dataclasses.replace(ps, model=kept), key, rows)
    assert after.fingerprint == before["fingerprint"]
    assert publication_as_dict(after, None)["tables"] == before["tables"]
    assert after.earlier == 1


def test_a_renamed_component_is_refused_for_months_already_published():
    """A component renamed, same ledger and key: 14 "Successful completions" figures were
    rounded afresh under the new name, and the audit (matching by name) said every figure
    with the same data was shown the same. Now the months published under the old name are
    refused under the new one."""
    import dataclasses

    import pytest

    from pbr_cli.errors import PbrError
    from pbr_cli.ledger.records import StoredPublication
    from pbr_cli.reporting.publication import build_publication
    from tests.test_publication import KEY, months_of

    ps = months_of("wigan-cohort").period("2013-Q2")
    first = build_publication(ps, KEY)
    rows = [StoredPublication(1, "wigan-cohort", "2013-Q2", "", "", "", first.figures_json())]
    old = ps.model.payments[-1]
    payments = (*ps.model.payments[:-1], dataclasses.replace(old, name=old.name + "_renamed"))
    renamed = dataclasses.replace(ps.model, payments=payments)
    with pytest.raises(PbrError, match=f"figures of {old.name}, which the model no longer has"):
        build_publication(dataclasses.replace(ps, model=renamed), KEY, rows)
    later = months_of("wigan-cohort").period("2013-07")  # months not yet published: fine
    build_publication(dataclasses.replace(later, model=renamed), KEY, rows)
