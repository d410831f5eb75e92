"""One key per authority (docs/publication.md): the key file every config of the council
names, outside every ledger. A lost ledger made again, a second config with its own ledger,
six folders, all round the same records the same way; a release of the same months under
another authority's key, in the ledger or the output folder, is refused; a key file missing
is refused, never made anew; a ledger made before key files keeps its scheme's key."""

from __future__ import annotations

import json

import openpyxl

from tests.conftest import ROOT, pbr_in_process


def _config(tmp_path, models, ledger: str = "ledger.sqlite", returns=None, key=None,
            out: str = "out") -> str:
    cfg = tmp_path / f"pbr-{ledger}-{models.name}.yaml"
    cfg.write_text(f"models: {models}\nreturns: {returns or ROOT / 'sample_returns'}\n"
                   f"output: {tmp_path / out}\nledger: {tmp_path / ledger}\n"
                   f"log: {tmp_path / (ledger + '.log')}\n"
                   + (f"publication_key: {key}\n" if key else ""))
    return str(cfg)


def _pbr(*args: str, env_extra: dict | None = None):
    """`pbr ARGS` in this process (each release is the command's own JSON and workbook)."""
    return pbr_in_process(*args, env=env_extra)


def _publish(cfg: str, period: str, model: str = "wigan-cohort", env_extra=None):
    return _pbr("report", "-p", period, "-m", model, "--publish", "--json", "--config", cfg,
                env_extra=env_extra)


def _key(tmp_path, name: str, authority: str = "Wigan Council") -> str:
    path = tmp_path / f"{name}.pbrkey"
    made = _pbr("publication", "key", "new", str(path), "--authority", authority)
    assert made.returncode == 0, made.stderr
    assert f"publication_key: {path}" in made.stdout
    return str(path)


def _tables(done) -> dict:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["reports"][0]


def test_a_lost_ledger_made_again_rounds_published_months_as_before(tmp_path):
    """The ledger lost and made again (`pbr ledger init --force`): a new key was made in it,
    99 of 156 figures differed and the audit saw no earlier publication. Now the key is the
    authority's, in its file: the release of the same months is the same, figure for figure,
    and shows the same fingerprint, which the About sheet names (never the key)."""
    key = _key(tmp_path, "wigan")
    cfg = _config(tmp_path, ROOT / "models", key=key)
    first = _tables(_publish(cfg, "2013-Q2"))
    fp = first["fingerprint"]
    about = {r[0]: r[1] for r in openpyxl.load_workbook(first["output"])["About"].iter_rows(
        values_only=True) if r[0]}
    assert about["Publication identity"] == "wigan-cohort"
    assert about["Key fingerprint"].startswith(fp)
    kept = open(key).read()
    assert kept.split("\nkey: ")[1].strip() not in json.dumps(about)
    shown = _pbr("publication", "key", "show", "--config", cfg)
    assert shown.returncode == 0 and fp in shown.stdout, shown.stderr
    (tmp_path / "ledger.sqlite").unlink()
    refused = _pbr("ledger", "init", "--config", cfg)
    assert refused.returncode == 2 and "--force" in refused.stderr
    made = _pbr("ledger", "init", "--force", "--config", cfg)
    assert made.returncode == 0, made.stderr
    again = _tables(_publish(cfg, "2013-Q2"))
    assert again["fingerprint"] == fp and again["tables"] == first["tables"]
    assert open(key).read() == kept  # the key file as it was: nothing made anew


def test_another_authority_s_key_for_the_same_months_is_refused(tmp_path):
    """A config naming another key file (another authority, or a key made anew) is a second
    draw of the same months: refused, naming the release in the output folder and both
    fingerprints."""
    cfg = _config(tmp_path, ROOT / "models", key=_key(tmp_path, "wigan"))
    fp = _tables(_publish(cfg, "2013-Q2"))["fingerprint"]
    other = _config(tmp_path, ROOT / "models", "other.sqlite", key=_key(tmp_path, "other"))
    done = _publish(other, "2013-05")
    assert done.returncode == 2, done.stdout
    said = done.stdout + done.stderr
    assert "wigan-cohort-2013-Q2-report-publication.xlsx" in said
    assert f"fingerprint {fp}" in said and "not recorded in this ledger" in said


def test_a_key_file_missing_is_refused_and_never_made_again(tmp_path):
    """The config names a key file that is not there: refused before anything is written,
    saying to restore it; no key is made."""
    key = tmp_path / "gone.pbrkey"
    cfg = _config(tmp_path, ROOT / "models", key=str(key))
    done = _publish(cfg, "2013-04")
    assert done.returncode == 2
    assert "restore it from its backup" in done.stderr and not key.exists()
    assert not (tmp_path / "out").exists()
    none = _publish(_config(tmp_path, ROOT / "models", "none.sqlite"), "2013-04",
                    env_extra={"PBR_PUBLICATION_KEY": ""})
    assert none.returncode == 2 and "pbr publication key new" in none.stderr


def test_six_folders_of_one_authority_publish_the_same_figures_and_averaging_gains_nothing(
        tmp_path):
    """The same Troubled Families month published from 6 configs, each with its own ledger
    and output folder, naming the authority's one key file: 6 ledgers made 6 keys, and
    intersecting each provider figure's interval over the 6 releases narrowed 5 of 12 to 4
    values. Now every release is the same, and the attack narrows nothing. Six authorities,
    each with its own key, are six publishers: the same attack narrows some (the limit the
    docs state)."""
    key = _key(tmp_path, "tf", "A county council")

    def narrowed(releases: list[dict]) -> int:
        ranges: dict = {}
        for data in releases:
            for row in data["tables"]["providers"]["rows"]:
                if row["provider"] == "All providers":
                    continue
                for col in ("first", "second"):
                    r = row[col]
                    low, high = max(0, r - 4), r + 4
                    was = ranges.get((row["item"], row["provider"], col), (0, 10**9))
                    ranges[(row["item"], row["provider"], col)] = (max(low, was[0]),
                                                                   min(high, was[1]))
        return sum(1 for low, high in ranges.values() if high - low + 1 < 5)

    same = [_tables(_publish(_config(tmp_path, ROOT / "models", f"l{i}.sqlite", key=key,
                                     out=f"out{i}"), "2012-10", "troubled-families"))
            for i in range(6)]
    assert all(d["tables"] == same[0]["tables"] for d in same)
    assert narrowed(same) == 0
    apart = [_tables(_publish(_config(tmp_path, ROOT / "models", f"a{i}.sqlite",
                                      key=_key(tmp_path, f"a{i}", f"Council {i}"),
                                      out=f"apart{i}"), "2012-10", "troubled-families"))
             for i in range(6)]
    assert narrowed(apart) > 0


def test_a_ledger_made_before_key_files_keeps_its_scheme_s_key_and_can_export_it(tmp_path):
    """A ledger made before key files holds the scheme's key: with no key file named, it is
    read as the authority's key (its releases go on as before); `pbr publication key
    export` writes it to a key file, and a config naming that file rounds the same."""
    from pbr_cli.ledger.store import Ledger
    from pbr_cli.reporting.publication_release import fingerprint

    ledger = Ledger(str(tmp_path / "ledger.sqlite"))
    old = ledger.publication_key("wigan-cohort", create=True)  # as ledgers made it
    ledger.close()
    assert old is not None
    cfg = _config(tmp_path, ROOT / "models")
    first = _tables(_publish(cfg, "2013-04", env_extra={"PBR_PUBLICATION_KEY": ""}))
    assert first["fingerprint"] == fingerprint(old)
    target = tmp_path / "exported.pbrkey"
    done = _pbr("publication", "key", "export", str(target), "--authority", "Wigan Council",
                "--config", cfg)
    assert done.returncode == 0, done.stderr
    assert fingerprint(old) in done.stdout
    named = _config(tmp_path, ROOT / "models", key=str(target))
    again = _tables(_publish(named, "2013-04"))
    assert again["fingerprint"] == first["fingerprint"] and again["tables"] == first["tables"]
