"""Record keys (docs/publication.md, "Record keys"): a month figure's rounding is drawn from
the keys of the records it counts, each made from the record's own identity under the
authority's publication key, never from the figure's name or the ledger. So a renamed
component, a new ledger, a second config, six folders of one authority: the same records,
the same rounding, and nothing for averaging or an integer programme to combine."""

from __future__ import annotations

import dataclasses
import shutil
from collections import defaultdict

import pytest

from pbr_cli.cycle.config import load_config
from pbr_cli.cycle.scheme import Scheme
from pbr_cli.errors import PbrError
from pbr_cli.jobs.report import period_schedules
from pbr_cli.ledger.records import StoredPublication
from pbr_cli.model import load_model
from pbr_cli.outputs.publication import publication_as_dict
from pbr_cli.periods import parse_period
from pbr_cli.reporting.publication import build_publication, possible_values
from pbr_cli.reporting.publication_release import _name
from tests.conftest import ROOT
from tests.test_publication import KEY, months_of, solve_small


def _renamed_completion(tmp_path):
    """The Wigan model with its "Successful completions" component renamed (and the
    follow-up that names it): the same rules, the same returns."""
    models = tmp_path / "models"
    shutil.copytree(ROOT / "models", models)
    path = models / "wigan-cohort.yaml"
    text = path.read_text()
    assert text.count("- name: completion\n") == 1 and text.count("after: completion\n") == 1
    path.write_text(text.replace("- name: completion\n", "- name: successful_completion\n")
                    .replace("after: completion\n", "after: successful_completion\n"))
    model = load_model(path)
    cfg = load_config(ROOT / "pbr.yaml")
    return lambda text: period_schedules(Scheme(cfg, model=model), parse_period(text))


def _by_records(pub) -> dict[str, int]:
    """Each non-empty month figure's shown value, by what it counts (its records' tag)."""
    return {pub.tags[a]: r for a, r in pub.rounded.items() if a in pub.tags}


def test_a_renamed_component_rounds_the_same_records_the_same_way(tmp_path):
    """Renamed, same key: 14 "Successful completions" figures were rounded afresh under the
    new name (the draw came from the name), and the audit said every figure with the same
    data was shown the same. Now the draw comes from the records: with or without the
    earlier release in the ledger, every figure is shown as before."""
    before = build_publication(months_of("wigan-cohort").period("2013-Q2"), KEY)
    renamed = _renamed_completion(tmp_path)("2013-Q2")
    fresh = build_publication(renamed, KEY)  # a new ledger: no earlier release
    assert "successful_completion" in fresh.grid.items and "completion" not in fresh.grid.items
    old = {_name(a): r for a, r in before.rounded.items()}
    differ = [a for a, r in fresh.rounded.items()
              if old[_name(a).replace("successful_completion", "completion")] != r]
    assert differ == []
    assert _by_records(fresh) == _by_records(before)
    assert publication_as_dict(fresh, None)["tables"] == publication_as_dict(before, None)["tables"]
    rows = [StoredPublication(1, "wigan-cohort", "2013-Q2", "", "", "", before.figures_json())]
    again = build_publication(renamed, KEY, rows)  # the same ledger: audited against it
    assert again.rounded == fresh.rounded and again.earlier == 1
    assert "same records, under any name, is shown the same" in " ".join(again.audit)


def test_the_audit_refuses_the_same_records_shown_another_way():
    """A release in the ledger that showed a figure's records otherwise (under any name: the
    ledger tampered with, or rounded by another method) stops the publication: two
    roundings of the same records."""
    ps = months_of("troubled-families").period("2012-10")
    first = build_publication(ps, KEY)
    atom = next(a for a, x in first.true.items() if x % 5 and a in first.tags)
    import json

    data = json.loads(first.figures_json())
    name = _name(atom)
    other = name.replace(atom[2], "renamed_item")
    data["figures"][other] = [first.true[atom], first.rounded[atom] + 5]
    data["records"][other] = data["records"].pop(name)
    del data["figures"][name]
    rows = [StoredPublication(1, "troubled-families", "2012-10", "", "", "", json.dumps(data))]
    with pytest.raises(PbrError, match="not rounded as the method says|same records") as e:
        build_publication(ps, KEY, rows)
    assert name in str(e.value) or other in str(e.value)


def test_a_figure_counts_its_records_one_by_one_and_each_kind_has_them():
    """Every month figure's count is the number of its records. Events are named by
    provider, client, date, outcome and paid or not: those with an evidence row, and Wigan's
    outcomes reported only, which have none (395 of its month figures, named before by
    nothing but their place in the count); a service-level scheme's outcomes by service,
    measure and place."""
    import json

    for scheme, by_client in (("wigan-cohort", True), ("troubled-families", True),
                              ("work-programme", True), ("birmingham-90-10", False)):
        months = months_of(scheme)
        pub = build_publication(months.period(f"{min(months.schedules)}..{max(months.schedules)}"),
                                KEY)
        assert all(len(pub.records[a]) == x for a, x in pub.true.items())
        assert sum(len(r) for r in pub.records.values()) == sum(pub.true.values()) > 0
        shapes = {len(json.loads(r)) for rs in pub.records.values() for r in rs}
        if by_client:  # [provider, client, date, outcome, paid or not]
            assert shapes == {5}, scheme
            clients = {json.loads(r)[1] for rs in pub.records.values() for r in rs}
            assert len(clients) > 10
        else:  # [service, month, measure(s), place]
            assert shapes <= {4, 5}
    wigan = months_of("wigan-cohort")
    pub = build_publication(wigan.period(f"{min(wigan.schedules)}..{max(wigan.schedules)}"), KEY)
    reported = [a for a, rs in pub.records.items() if rs and a[2] in ("ete", "no_offending")]
    assert len(reported) == 395
    assert all(json.loads(pub.records[a][0])[1].startswith("WG") for a in reported)


@pytest.mark.parametrize("scheme", ["wigan-cohort", "troubled-families"])
def test_a_base_of_five_leaves_every_figure_five_values_under_every_ledger(scheme):
    """Every month figure's rounded value, published from six ledgers of one authority
    (each starting empty, releases in another order), is the same: the narrowest interval
    over all of them is the one release's, never below 5."""
    months = months_of(scheme)
    whole = months.period(f"{min(months.schedules)}..{max(months.schedules)}")
    one = build_publication(whole, KEY)
    for text in sorted(months.schedules)[::-3][:6]:
        again = build_publication(months.period(text), KEY)
        for a, r in again.rounded.items():
            assert one.rounded[a] == r
    assert min(possible_values(r, one.base) for r in one.rounded.values()) >= 5


def test_a_renamed_model_keeps_its_records_only_with_its_identity():
    """Renamed, same authority key: with `publish_identity` its old name, every figure is
    as before; without, its records' keys differ, and a release of the same months under
    the old identity is refused, saying which identity to keep."""
    ps = months_of("wigan-cohort").period("2013-Q2")
    first = build_publication(ps, KEY)
    rows = [StoredPublication(1, "wigan-cohort", "2013-Q2", "", "", "", first.figures_json())]
    renamed = dataclasses.replace(ps.model, name="wigan-recovery")
    with pytest.raises(PbrError, match="publish_identity: wigan-cohort"):
        build_publication(dataclasses.replace(ps, model=renamed), KEY, rows)
    kept = dataclasses.replace(renamed, report=dataclasses.replace(
        renamed.report, publish_identity="wigan-cohort"))
    assert build_publication(dataclasses.replace(ps, model=kept), KEY).rounded == first.rounded


# -- the integer programme, across ledgers ------------------------------------------------------

def _releases(months, texts: list[str], key: bytes, restart: int | None = None):
    """The periods published one after another in one ledger (made again, empty, before the
    `restart`th), as the public sees them."""
    import json

    earlier: list[StoredPublication] = []
    out = []
    for i, text in enumerate(texts):
        if i == restart:
            earlier = []
        ps = months.period(text) if hasattr(months, "period") else months(text)
        if not ps.schedules:
            continue
        pub = build_publication(ps, key, earlier)
        earlier.append(StoredPublication(i + 1, pub.model.name, text, "", "", "",
                                         pub.figures_json()))
        out.append((text, pub, json.loads(json.dumps(publication_as_dict(pub, None)))))
    return out


def _attack_many(ledgers: list[list], truth: dict, targets: int = 3):
    """The integer programme of tests/test_publication.py over the releases of several
    ledgers at once, knowing the method but not that they share a key: each month figure x
    is one unknown, each ledger's rounding of it its own b*z (|x - b*z| <= b - 1). Items are
    matched by their label (a renamed component's is the same). {figure: (x, low, high)}."""
    import numpy as np
    from scipy.optimize import LinearConstraint

    from pbr_cli.reporting.publication import items_of
    from tests.test_publication import _equations

    b = ledgers[0][0][1].base
    label = {}
    per: list[dict] = []
    for shown in ledgers:
        names = {i.key: i.label for i in items_of(shown[0][1].model)}
        label.update(names)
        per.append({names[k]: v for k, v in _equations(shown).items()})
    summed: dict[tuple, int] = defaultdict(int)
    for atom, x in truth.items():
        summed[(label[atom[2]], atom[0], atom[1], atom[-1])] += x
    found = {}
    for item in sorted(per[0]):
        eqs = [p[item] for p in per]
        names = sorted({c for e in eqs for cells, _ in e for c in cells})
        index = {n: i for i, n in enumerate(names)}
        n, s = len(names), len(eqs)
        size = n * (s + 1)  # x, then each ledger's z
        cons = []
        for k, e in enumerate(eqs):
            a = np.zeros((len(e), size))
            for row, (cells, _) in enumerate(e):
                for c in cells:
                    a[row, n * (k + 1) + index[c]] = b
            cons.append(LinearConstraint(a, [v for _, v in e], [v for _, v in e]))
            link = np.zeros((n, size))
            link[:, :n] = np.eye(n)
            link[:, n * (k + 1):n * (k + 2)] = -b * np.eye(n)
            cons.append(LinearConstraint(link, -(b - 1), b - 1))
        found.update(solve_small((names, index, cons, size), item, summed, b, targets))
    return found


@pytest.mark.parametrize("scheme", ["wigan-cohort", "troubled-families"])
def test_an_integer_programme_over_two_ledgers_a_rename_and_a_re_init_narrows_nothing(
        scheme, tmp_path):
    """One authority's key, three ledgers: every period in one; the months and quarters
    again in a second, made again (empty) half way; and (Wigan) a renamed component, or
    (Troubled Families) a renamed model keeping its identity, in a third. Attacked together,
    knowing the method, with a rounding of its own for each ledger: no small month figure
    (1 to 4) is narrowed below 5 values. Three authorities' keys over the same releases: the
    same attack narrows some (each authority is a publisher of its own)."""
    from tests.test_publication import _truth, periods_of, published

    months = months_of(scheme)
    texts = [t for t in periods_of(sorted(months.schedules)) if ".." not in t and "/" not in t]
    one = published(scheme)
    two = _releases(months, texts[::-1], KEY, restart=len(texts) // 2)
    if scheme == "wigan-cohort":
        three = _releases(_renamed_completion(tmp_path), texts, KEY)
    else:
        model = dataclasses.replace(months.model, name="tf-renamed", report=dataclasses.replace(
            months.model.report, publish_identity=months.model.name))
        three = _releases(lambda t: dataclasses.replace(months.period(t), model=model), texts,
                          KEY)
    truth = _truth(scheme)
    found = _attack_many([one, two, three], truth)
    assert found, "the samples have small counts: the attack has something to find"
    for figure, (x, low, high) in found.items():
        assert low <= x <= high, figure
        assert high - low + 1 >= 5, (figure, x, low, high)
    if scheme == "troubled-families":  # (no groups: a provider's month is one figure)
        apart = _attack_many([one, *(_releases(months, texts, bytes([k]) * 32)
                                     for k in (7, 9))], truth, targets=20)
        assert any(high - low + 1 < 5 for _, low, high in apart.values())


def test_a_component_renamed_and_revised_at_once_keeps_its_first_rounding(tmp_path):
    """Renamed while a late return changed some of its records: the figures whose records
    are the same tell which component the new name is (its records' tags), and the revised
    ones are frozen under the new name as under the old: first published plus the change
    rounded on its own, never drawn afresh. A component renamed whose records no figure
    counts any more (every one changed) is refused ("renamed?")."""
    import json

    from tests.test_publication_revisions import _late

    full = months_of("wigan-cohort").period("2013-Q2")
    renamed = _renamed_completion(tmp_path)("2013-Q2")
    whole = build_publication(full, KEY)
    for provider in sorted({p.provider for p in full.schedules[0].providers}):
        before = build_publication(_late(full, provider), KEY)
        changed = [a for a, x in before.true.items() if a[2] == "completion"
                   and x != whole.true[a]]
        if changed:
            break
    assert changed, "a late return changes a completion figure"
    rows = [StoredPublication(1, "wigan-cohort", "2013-Q2", "", "", "", before.figures_json())]
    same = build_publication(full, KEY, rows)  # not renamed: frozen by name
    after = build_publication(renamed, KEY, rows)
    assert after.renamed == {"completion": "successful_completion"}
    for a, r in same.rounded.items():
        assert after.rounded[tuple("successful_completion" if p == "completion" else p
                                   for p in a)] == r, a
    data = json.loads(before.figures_json())
    data["records"] = {n: t for n, t in data["records"].items() if "|completion|" not in n}
    rows = [StoredPublication(1, "wigan-cohort", "2013-Q2", "", "", "", json.dumps(data))]
    with pytest.raises(PbrError, match="completion, which the model no longer has"):
        build_publication(renamed, KEY, rows)
