"""Publication (docs/publication.md): the nine ways an audit recovered suppressed figures from
earlier publications now recover nothing below the protection interval, on the shipped samples
of all three schemes, for every month, quarter, financial year and overlapping ranges published
one after another; an independent attack with an integer-programming solver (not the
publication's own audit) agrees; and the unpublished figures still have the small counts, so
each test can fail."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from pbr_cli.cli.app import app
from pbr_cli.cycle.config import load_config
from pbr_cli.cycle.scheme import Scheme
from pbr_cli.errors import PbrError
from pbr_cli.jobs.report import period_schedules
from pbr_cli.ledger.records import StoredPublication
from pbr_cli.model import load_model
from pbr_cli.outputs.publication import publication_as_dict, write_publication
from pbr_cli.periods import Month, financial_year_label, parse_period
from pbr_cli.reporting.publication import OF_WHICH, REST, build_publication, round_figure
from pbr_cli.reporting.record_keys import cell_key
from tests.conftest import ROOT

KEY = bytes(range(32))  # a fixed key: the tests' publications are reproducible
SCHEMES = ("wigan-cohort", "troubled-families", "birmingham-90-10")
runner = CliRunner()


@dataclass
class Months:
    """Every month of a scheme's samples, worked out once; any period is a slice."""

    model: Any
    schedules: dict[str, Any]

    def period(self, text: str):
        period = parse_period(text)
        wanted = [m for m in period.months() if str(m) in self.schedules]
        return _Slice(self.model, period, [self.schedules[str(m)] for m in wanted], [])


@dataclass
class _Slice:
    model: Any
    period: Any
    schedules: list
    excluded: list = field(default_factory=list)


_MONTHS: dict[str, Months] = {}


def months_of(scheme: str) -> Months:
    if scheme not in _MONTHS:
        model = load_model(ROOT / "models" / f"{scheme}.yaml")
        cfg = load_config(ROOT / "pbr.yaml")
        folder = ROOT / "sample_returns" / scheme
        first, last = min(p.name for p in folder.iterdir()), max(p.name for p in folder.iterdir())
        ps = period_schedules(Scheme(cfg, model=model), parse_period(f"{first}..{last}"))
        _MONTHS[scheme] = Months(model, {str(s.month): s for s in ps.schedules})
    return _MONTHS[scheme]


def periods_of(months: list[str]) -> list[str]:
    """Every month, every calendar and financial quarter and year the samples touch, and
    overlapping ranges (each month to the last)."""
    out = list(months)
    quarters = sorted({f"{m[:4]}-Q{(int(m[5:]) - 1) // 3 + 1}" for m in months})
    years = sorted({financial_year_label(Month.parse(m)) for m in months})
    out += quarters + years
    out += [f"{m}..{months[-1]}" for m in months[1:-1]]  # each month to the last
    return out


def publish_all(scheme: str):
    """Every period of the scheme published one after another, each audited with all the
    ones before: the publications, as their JSON (what the public sees)."""
    months = months_of(scheme)
    earlier: list[StoredPublication] = []
    shown = []
    for i, text in enumerate(periods_of(sorted(months.schedules))):
        ps = months.period(text)
        if not ps.schedules:
            continue
        pub = build_publication(ps, KEY, earlier)
        earlier.append(StoredPublication(i + 1, scheme, text, "", "", "", pub.figures_json()))
        shown.append((text, pub, json.loads(json.dumps(publication_as_dict(pub, None)))))
    return shown


_PUBLISHED: dict[str, list] = {}


def published(scheme: str):
    if scheme not in _PUBLISHED:
        _PUBLISHED[scheme] = publish_all(scheme)
    return _PUBLISHED[scheme]


# -- the rounding ---------------------------------------------------------------------------------

@given(st.integers(0, 10_000), st.sampled_from([3, 5, 10]), st.binary(min_size=32, max_size=32))
def test_a_month_figure_rounds_to_a_neighbouring_multiple_the_same_way_every_time(x, b, key):
    r = round_figure(key, x, b)
    assert r % b == 0 and abs(r - x) < b and r >= 0
    assert r == round_figure(key, x, b)
    if x % b == 0:
        assert r == x


def test_rounding_is_unbiased():
    """Over 20,000 month figures of 3 the rounded total is 60,000 give or take a little (up
    with probability 3/5)."""
    total = sum(round_figure(cell_key(KEY, "s", [str(i)]), 3, 5) for i in range(20_000))
    assert abs(total - 60_000) < 1_500


# -- the nine attacks ---------------------------------------------------------------------------

def _cells(data: dict) -> list[tuple[str, str, Any]]:
    return [(name, k, v) for name, t in data["tables"].items() for row in t["rows"]
            for k, v in row.items()]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_figure_is_a_sum_of_rounded_month_figures_in_every_release(scheme):
    """Attacks 1, 3 and 8: overlapping periods and implied totals subtract to rounded month
    figures only, because every figure is a sum of them and every release rounds a month the
    same way. Q2 minus May-June is exactly what April shows."""
    shown = published(scheme)
    assert len(shown) >= 10
    base = shown[0][1].base
    by_period = {text: data for text, _, data in shown}
    for _, _, data in shown:
        for name, key, v in _cells(data):
            if key in ("first", "second") or key[:2] in ("20", "pe"):
                assert isinstance(v, int) and v % base == 0, (name, key, v)
        months = data["tables"]["months"]
        for row in months["rows"]:
            assert row["period"] == sum(row[m] for m in data["period"]["months"])
        table = data["tables"]["providers"]
        for item in {r["item"] for r in table["rows"]}:
            rows = [r for r in table["rows"] if r["item"] == item]
            every = next(r for r in rows if r["provider"] == "All providers")
            assert every["first"] == sum(r["first"] for r in rows if r is not every)
            assert every["second"] == sum(r["second"] for r in rows if r is not every)
    # subtraction across releases gives the month's own publication, nothing more
    for text, _, _ in shown:
        if ".." not in text or text.count("-") != 2:
            continue
        first, last = text.split("..")
        rest = f"{Month.parse(first).plus(1)}..{last}" if Month.parse(first) < Month.parse(last) \
            else None
        if rest not in by_period or first not in by_period:
            continue
        def rows(text):
            return {(r["item"], r["measure"]): r["period"]
                    for r in by_period[text]["tables"]["months"]["rows"]}

        every, later, one = rows(text), rows(rest), rows(first)
        for key, value in every.items():
            assert value - later.get(key, 0) == one.get(key, 0), (text, key)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_no_money_proportion_band_path_or_client_id_is_published(scheme, tmp_path):
    """Attacks 2, 4-7 and 9: nothing a price, a rate or a band could turn back into counts;
    shares are whole percents of two figures shown; no file name, path or client id."""
    text, pub, data = published(scheme)[-1]
    kinds = {c["kind"] for t in data["tables"].values() for c in t["columns"]}
    assert kinds <= {"text", "count", "integer"}
    for t in data["tables"].values():
        for row in t["rows"]:
            if "share" in row and row["share"] is not None:
                assert row["share"] == int(100 * row["second"] / row["first"] + 0.5)
    out = write_publication(pub, tmp_path / "published.xlsx")
    wb = openpyxl.load_workbook(out)
    cells = [str(c) for ws in wb for row in ws.iter_rows(values_only=True) for c in row
             if c is not None]
    words = "\n".join(cells) + json.dumps(data)
    for banned in ("£", ".xlsx", str(ROOT), "sample_returns", "Band", "Proportion", "[c]"):
        assert banned not in words, banned
    ids = _client_ids(scheme)
    assert not [i for i in ids if f'"{i}"' in json.dumps(data) or i in cells]
    assert any("no count of a provider's month can be narrowed" in c for c in cells)


def _client_ids(scheme: str) -> set[str]:
    ids: set[str] = set()
    for path in sorted((ROOT / "sample_returns" / scheme).glob("*/*.xlsx"))[:6]:
        wb = openpyxl.load_workbook(path, read_only=True)
        for ws in wb.worksheets[1:]:
            for r in ws.iter_rows(min_row=2, max_col=2, values_only=True):
                ids |= {str(v) for v in r if isinstance(v, str) and len(v) > 3}
    return ids


def test_the_same_publication_is_byte_identical_under_any_hash_seed(tmp_path):
    """Attack 8: two runs, each from a copy of the same ledger, different hash seeds."""
    cfg = tmp_path / "pbr.yaml"
    cfg.write_text(f"models: {ROOT / 'models'}\nreturns: {ROOT / 'sample_returns'}\n"
                   f"output: {tmp_path / 'out'}\nledger: {tmp_path / 'ledger.sqlite'}\n"
                   f"log: {tmp_path / 'pbr.log'}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PBR_LEDGER", "PBR_CONFIG")}
    first = subprocess.run([sys.executable, "-m", "pbr_cli", "report", "-p", "2013-04", "-m",
                            "wigan-cohort", "--publish", "--config", str(cfg), "-o",
                            str(tmp_path / "april.xlsx")], env=env, capture_output=True,
                           text=True, timeout=240)
    assert first.returncode == 0, first.stderr
    shutil.copy(tmp_path / "ledger.sqlite", tmp_path / "kept.sqlite")
    shutil.copy(tmp_path / "pbr.log", tmp_path / "kept.log")  # the log names the ledger's head
    outputs = []
    for seed in ("1", "2"):
        shutil.copy(tmp_path / "kept.sqlite", tmp_path / "ledger.sqlite")
        shutil.copy(tmp_path / "kept.log", tmp_path / "pbr.log")
        done = subprocess.run([sys.executable, "-m", "pbr_cli", "report", "-p", "2013-Q2", "-m",
                               "wigan-cohort", "--publish", "--json", "--config", str(cfg),
                               "-o", str(tmp_path / f"q2-{seed}.xlsx")],
                              env={**env, "PYTHONHASHSEED": seed}, capture_output=True, text=True,
                              timeout=240)
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)["reports"][0]
        assert data["earlier_publications"] == 1
        data.pop("output")
        outputs.append(((tmp_path / f"q2-{seed}.xlsx").read_bytes(), data))
    assert outputs[0] == outputs[1]


def test_publications_are_recorded_in_the_ledger_and_a_changed_key_is_refused(tmp_path):
    from pbr_cli.ledger.store import Ledger

    result = runner.invoke(app, ["report", "-p", "2013-04", "-m", "wigan-cohort", "--publish",
                                 "-o", str(tmp_path / "a.xlsx")])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["report", "-p", "2013-Q2", "-m", "wigan-cohort", "--publish",
                               "-o", str(tmp_path / "b.xlsx")]).exit_code == 0
    ledger = Ledger(os.environ["PBR_LEDGER"])
    rows = ledger.publications("wigan-cohort")
    assert [r.period for r in rows] == ["2013-04", "2013-Q2"]
    assert ledger.verify() == []
    ps = months_of("wigan-cohort").period("2013-04")
    with pytest.raises(PbrError, match="fingerprint"):
        build_publication(ps, KEY, rows)  # not the ledger's key: April would round otherwise
    ledger.close()
    what_if = runner.invoke(app, ["report", "-p", "2013-04", "-m", "wigan-cohort", "--publish",
                                  "--returns", str(ROOT / "sample_returns" / "wigan-cohort")])
    assert what_if.exit_code == 2 and "config's returns" in what_if.output


# -- an independent attack: integer programming over every release ----------------------------

def _equations(shown: list) -> dict[str, list[tuple[list[tuple], int]]]:
    """Per item, what the public knows: each figure shown as the sum of the month figures it
    covers, (provider, month, group, measure), read from the published JSON alone (and the
    model, which is public)."""
    from pbr_cli.reporting.publication import items_of

    eqs: dict[str, list] = defaultdict(list)
    for _, pub, data in shown:
        items = {i.label: i.key for i in items_of(pub.model)}
        months = data["period"]["months"]
        groups = sorted({a[3] for a in pub.true}) if len(next(iter(pub.true))) == 5 else [""]
        t = data["tables"]["providers"]["rows"]
        providers = sorted({r["provider"] for r in t} - {"All providers"})

        def cells(ps, ms, gs, measures):
            return [(p, m, g, x) for p in ps for m in ms for g in gs for x in measures]

        for r in t:
            ps = providers if r["provider"] == "All providers" else [r["provider"]]
            eqs[items[r["item"]]].append((cells(ps, months, groups, (OF_WHICH, REST)), r["first"]))
            eqs[items[r["item"]]].append((cells(ps, months, groups, (OF_WHICH,)), r["second"]))
        rows = data["tables"]["months"]["rows"]
        for first, second in zip(rows[::2], rows[1::2], strict=True):
            item = items[first["item"]]
            for m in months:
                eqs[item].append((cells(providers, [m], groups, (OF_WHICH, REST)), first[m]))
                eqs[item].append((cells(providers, [m], groups, (OF_WHICH,)), second[m]))
        for name, table in data["tables"].items():
            if name.startswith("group_"):
                for r in table["rows"]:
                    g = [r["group"]]
                    eqs[items[r["item"]]].append((cells(providers, months, g, (OF_WHICH, REST)),
                                                  r["first"]))
                    eqs[items[r["item"]]].append((cells(providers, months, g, (OF_WHICH,)),
                                                  r["second"]))
    return eqs


def _attack(shown: list, truth: dict, exact: bool, targets: int = 3):
    """For small figures of a provider's month (true value 1 to b - 1, all groups together),
    their feasible range from every release's figures together, solved with HiGHS
    (scipy.optimize.milp), knowing the method: each month figure x (per group) is a whole
    number >= 0 rounded to some b*z with |x - b*z| <= b - 1 (or, `exact`, the figures are the
    true sums, as the unpublished report shows them). {figure: (true value, lowest, highest)}."""
    import numpy as np
    from scipy.optimize import LinearConstraint

    b = shown[0][1].base
    summed: dict[tuple, int] = defaultdict(int)  # (item, provider, month, measure) -> true
    for atom, x in truth.items():
        summed[(atom[2], atom[0], atom[1], atom[-1])] += x
    found = {}
    for item, eqs in sorted(_equations(shown).items()):
        names = sorted({c for cells, _ in eqs for c in cells})
        index = {n: i for i, n in enumerate(names)}
        n = len(names)
        a = np.zeros((len(eqs), n))
        for k, (cells, _) in enumerate(eqs):
            for c in cells:
                a[k, index[c]] = 1
        if exact:  # the same tables, each figure the true sum
            v = np.array([sum(truth.get((c[0], c[1], item, *([c[2]] if c[2] else []), c[3]), 0)
                              for c in cells) for cells, _ in eqs], float)
        else:
            v = np.array([value for _, value in eqs], float)
        if exact:  # variables x
            cons = [LinearConstraint(a, v, v)]
            size = n
        else:  # variables x, then z
            cons = [LinearConstraint(np.hstack([np.zeros_like(a), b * a]), v, v),
                    LinearConstraint(np.hstack([np.eye(n), -b * np.eye(n)]), -(b - 1), b - 1)]
            size = 2 * n
        found.update(solve_small((names, index, cons, size), item, summed, b, targets))
    return found


def solve_small(problem, item, summed, b, targets) -> dict:
    """The attacker's question for each month figure under the base (at most `targets`):
    the least and the most its true count can be, given every release's constraints.
    `problem` is (cell names, their variables' index, the constraints, the variables' count).
    Returns {(item, provider, month, group): (true, least, most)}."""
    import numpy as np
    from scipy.optimize import Bounds, milp

    names, index, cons, size = problem
    found = {}
    figures = sorted({(c[0], c[1], c[3]) for c in names})
    small = [f for f in figures if 0 < summed.get((item, *f), 0) < b]
    for f in small[:targets]:
        ends = []
        for sign in (1, -1):
            cost = np.zeros(size)
            for c in names:
                if (c[0], c[1], c[3]) == f:
                    cost[index[c]] = sign
            res = milp(cost, constraints=cons, integrality=np.ones(size),
                       bounds=Bounds(np.zeros(size), np.full(size, np.inf)))
            assert res.success, res.message
            ends.append(round(sign * res.fun))
        found[(item, *f)] = (summed[(item, *f)], ends[0], ends[1])
    return found


def _truth(scheme: str) -> dict:
    from pbr_cli.reporting.publication import items_of, month_figures

    months = months_of(scheme)
    model = months.model
    groups = ([model.cohort.group] if model.cohort is not None else
              list(model.register.group_by) if model.client_level else [])
    ps = months.period(f"{min(months.schedules)}..{max(months.schedules)}")
    return month_figures(ps, items_of(model), groups)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_an_integer_programming_attack_narrows_no_small_count_below_its_interval(scheme):
    """Published (rounded), over every release together: every small month figure (1 to
    b - 1) keeps a feasible range of at least b values. Shown exactly, as the unpublished
    report shows them, the same attack pins small counts down exactly."""
    shown = published(scheme)
    b = shown[0][1].base
    truth = _truth(scheme)
    rounded = _attack(shown, truth, exact=False)
    assert rounded, "the samples have small counts: the attack has something to find"
    for figure, (x, low, high) in rounded.items():
        assert low <= x <= high, figure
        assert high - low + 1 >= b, (figure, x, low, high)
    exact = _attack(shown, truth, exact=True)
    assert any(low == high == x for x, low, high in exact.values())
