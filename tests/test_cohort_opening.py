"""An opening caseload declared twice, or declared late: each episode counts once, and the
months already worked out are mended by what is declared later (docs/models.md, "opening").

Each scenario is checked three ways: its figures worked by hand (in the docstrings), pbr's
schedule, and a plain second reading of the episode rules (`oracle`, below) month by
month; with small random histories checked against the same oracle."""

from __future__ import annotations

import calendar
import json
import random
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from typer.testing import CliRunner

from pbr_cli.cli.app import app
from pbr_cli.periods import Month
from pbr_cli.pricing.worth import month_schedule, read_months, worth
from tests.conftest import COHORT_MODEL_PATH, CohortReturns, months_between

runner = CliRunner()


def _calculate(ws, period: str, out) -> dict:
    result = runner.invoke(app, ["calculate", "--model", str(COHORT_MODEL_PATH), "--period",
                                 period, "--returns", str(ws.returns), "--register",
                                 str(ws.register_path), "-o", str(out), "--json"])
    return json.loads(result.stdout)


def _line(out: dict, provider: str, component: str, group: str) -> dict:
    p = next(p for p in out["providers"] if p["provider"] == provider)
    return next(ln for ln in p["lines"] if ln["component"] == component
                and ln["groups"]["complexity"] == group)


def twice_declared() -> CohortReturns:
    """P2's April and May 2012 returns both declare B (Medium, in treatment since 1 February
    2012) in the opening caseload. C presents on 10 April 2012 and completes on 20 June; B
    completes on 15 July 2012. D..H present in January 2013; D and E complete in September
    2013, F..H stay open.

    June 2012 (window April-June): Medium episodes B and C, C completed: 1/2 = 50%, band
    >=40%, £600 (with B counted twice: 1/3, band >=25%, £450).
    September 2013 (window October 2012 - September 2013): D..H, two completed: 2/5 = 40%,
    band >=40%, two completions × £600 = £1,200 (with B's duplicate still open: 2/6, £900)."""
    data = CohortReturns()
    data.opening("P2", "B", date(2012, 2, 1), "M")
    data.opening("P2", "B", date(2012, 2, 1), "M", month="2012-05")
    data.present("P2", "C", date(2012, 4, 10), "M")
    data.discharge("P2", "C", date(2012, 4, 10), date(2012, 6, 20), "TCDF", "M")
    data.discharge("P2", "B", date(2012, 2, 1), date(2012, 7, 15), "TCDF", "M")
    for k, client in enumerate("DEFGH"):
        data.present("P2", client, date(2013, 1, 7 + k), "M")
    data.discharge("P2", "D", date(2013, 1, 7), date(2013, 9, 10), "TCDF", "M")
    data.discharge("P2", "E", date(2013, 1, 8), date(2013, 9, 11), "TCOU", "M")
    return data


def test_an_opening_episode_declared_twice_counts_once(cohort_workspace, tmp_path):
    twice_declared().write(cohort_workspace, "2012-04", "2013-09")
    may = _calculate(cohort_workspace, "2012-05", tmp_path / "may.xlsx")
    twice = next(p for p in may["problems"] if p["code"] == "overlapping-episodes")
    assert "P2-2012-05" in twice["file"] and twice["cell"].startswith("Opening caseload!")
    june = _calculate(cohort_workspace, "2012-06", tmp_path / "june.xlsx")
    line = _line(june, "P2", "completion", "M")
    assert (line["figures"]["numerator"], line["figures"]["denominator"]) == (1, 2)
    assert Decimal(line["amount"]) == Decimal("600.00")
    september = _calculate(cohort_workspace, "2013-09", tmp_path / "september.xlsx")
    line = _line(september, "P2", "completion", "M")
    assert (line["figures"]["numerator"], line["figures"]["denominator"]) == (2, 5)
    assert Decimal(line["amount"]) == Decimal("1200.00")


def declared_late() -> CohortReturns:
    """P1's April 2012 return has N1's presentation (Medium, £300) and OLD's review on 10
    April with no opiate or crack use; OLD (Medium, in treatment since 15 January 2012) is
    declared only in May's opening caseload. April as filed: the review is outside every
    episode, P1 withheld, £0. April as it stands once May is filed: the review is OLD's first
    abstinent one, 1 of 1 reviewed = 100%, band >=50%, £225; with N1's tariff, £525. OLD's
    review of 12 May is a second abstinent review of the same episode: not paid again."""
    data = CohortReturns()
    data.present("P1", "N1", date(2012, 4, 3), "M")
    data.review("P1", "OLD", date(2012, 4, 10), "M")
    data.opening("P1", "OLD", date(2012, 1, 15), "M", month="2012-05")
    data.review("P1", "OLD", date(2012, 5, 12), "M")
    return data


def _worth(ws, month: str, read: list[str]) -> dict:
    model, register = ws.model, ws.register
    collection = read_months(None, model, register, ws.returns, [Month.parse(m) for m in read],
                             None)
    return worth(None, model, register, Month.parse(month), collection)["payments"]


def test_an_opening_caseload_declared_late_mends_the_months_before(cohort_workspace, tmp_path):
    declared_late().write(cohort_workspace, "2012-04", "2012-05")
    # April as approved (only April's returns): withheld
    april = _calculate(cohort_workspace, "2012-04", tmp_path / "april.xlsx")
    p1 = next(p for p in april["providers"] if p["provider"] == "P1")
    assert (p1["status"], Decimal(p1["payment"])) == ("withheld", Decimal("0.00"))
    # April as May's draft works it out now: OLD's episode is known
    now = _worth(cohort_workspace, "2012-04", ["2012-04", "2012-05"])
    assert now[("P1", "presentation")] == Decimal("300.00")
    assert now[("P1", "abstinence")] == Decimal("225.00")
    # May pays OLD's abstinence no second time
    may = _calculate(cohort_workspace, "2012-05", tmp_path / "may.xlsx")
    old = [(e["event"], e["status"], e["amount"]) for e in may["evidence"]
           if e["client"] == "OLD"]
    assert old == [("abstinence", "refused", "0.00")]
    assert not [p for p in may["problems"] if p["severity"] == "error"]


# -- a second, plain reading of the episode rules (BRIEF.md §4, docs/models.md), no pbr ------

COMPLETED = {"TCDF", "TCOU"}
PRICES = {  # models/wigan-cohort.yaml, Medium and High
    "presentation": {"M": 300, "H": 450},
    "completion": {"M": [(Fraction(15, 100), 300), (Fraction(25, 100), 450),
                         (Fraction(40, 100), 600)],
                   "H": [(Fraction(10, 100), 500), (Fraction(30, 100), 800),
                         (Fraction(45, 100), 1000)]},
    "abstinence": {"M": [(Fraction(30, 100), 150), (Fraction(50, 100), 225)],
                   "H": [(Fraction(20, 100), 250), (Fraction(40, 100), 375)]},
}


def _price(bands, proportion) -> int:
    return max((p for low, p in bands if proportion >= low), default=0)


def _month_key(day: date) -> tuple[int, int]:
    return (day.year, day.month)


def _months_back(day: date, n: int) -> date:
    y, m = divmod(day.year * 12 + day.month - 1 - n, 12)
    last = calendar.monthrange(y, m + 1)[1]
    return date(y, m + 1, min(day.day, last))


def oracle(rows: dict, month: tuple[int, int], now: tuple[int, int]) -> dict:
    """What each provider is worth in `month`, reading every return up to `now` (of later
    months only the opening caseload): {provider: None (withheld) or {(component, group):
    pounds}}."""
    errors: set[tuple[str, tuple[int, int]]] = set()
    declared = []  # (month filed, start, provider, client, group, opening)
    discharges, reviews = [], []
    for (provider, m), sheets in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        filed = (m.year, m.month)
        if filed > now:
            continue
        for r in sheets.get("Opening caseload", []):
            declared.append((filed, r["episode_start"], provider, r["client_id"],
                             r["complexity"], True))
        if filed > month:
            continue
        for r in sheets["Presentations"]:
            declared.append((filed, r["presentation_date"], provider, r["client_id"],
                             r["complexity"], False))
        discharges += [(provider, r) for r in sheets["Discharges"]]
        reviews += [(provider, r) for r in sheets["Reviews"]]
    episodes: list[dict] = []
    for filed, start, provider, client, group, opening in sorted(declared, key=lambda d: d[:2]):
        end = min((r["discharge_date"] for p, r in discharges if p == provider and
                   r["client_id"] == client and r["episode_start"] == start), default=date.max)
        reason = next((r["discharge_reason"] for p, r in discharges if p == provider and
                       r["client_id"] == client and r["episode_start"] == start), None)
        mine = [e for e in episodes if (e["provider"], e["client"]) == (provider, client)]
        if any((e["end"] > start) if e["start"] <= start else (end > e["start"]) for e in mine):
            errors.add((provider, filed))  # the later declaration is refused
            continue
        episodes.append({"provider": provider, "client": client, "start": start, "end": end,
                         "group": group, "opening": opening, "reason": reason, "reviews": []})
    for provider, r in reviews:
        inside = [e for e in episodes if e["provider"] == provider and e["client"] ==
                  r["client_id"] and e["start"] <= r["review_date"] <= e["end"]]
        if not inside:
            errors.add((provider, _month_key(r["review_date"])))
            continue
        max(inside, key=lambda e: e["start"])["reviews"].append(
            (r["review_date"], r["opiate_days"] == 0 and r["crack_days"] == 0))
    first_day = date(*month, 1)
    last_day = date(*month, calendar.monthrange(*month)[1])
    window_first = max(date(2012, 4, 1), _months_back(first_day, 11))
    out: dict = {}
    for provider in ("P1", "P2"):
        if (provider, month) in errors:
            out[provider] = None
            continue
        pay: dict = {}
        mine = [e for e in episodes if e["provider"] == provider]
        for e in mine:
            if not e["opening"] and first_day <= e["start"] <= last_day:
                before = [x for x in episodes if x["client"] == e["client"] and
                          _months_back(e["start"], 12) <= x["start"] < e["start"]]
                key = ("presentation", e["group"])
                pay[key] = pay.get(key, 0) + (0 if before else PRICES["presentation"][e["group"]])
        for group in ("M", "H"):
            cohort = [e for e in mine if e["group"] == group and e["start"] <= last_day
                      and e["end"] >= window_first]
            done = [e for e in cohort if e["reason"] in COMPLETED
                    and window_first <= e["end"] <= last_day]
            paid = [e for e in done if e["end"] >= first_day]
            if paid:
                price = _price(PRICES["completion"][group], Fraction(len(done), len(cohort)))
                pay[("completion", group)] = price * len(paid)
            seen = [e for e in mine if e["group"] == group and any(
                window_first <= d <= last_day for d, _ in e["reviews"])]
            held = [e for e in seen if any(window_first <= d <= last_day and ok
                                           for d, ok in e["reviews"])]
            firsts = [min(d for d, ok in e["reviews"] if ok) for e in held]
            paid_now = sum(1 for d in firsts if first_day <= d <= last_day)
            if paid_now:
                price = _price(PRICES["abstinence"][group], Fraction(len(held), len(seen)))
                pay[("abstinence", group)] = price * paid_now
        out[provider] = pay
    return out


def pbr_worth(ws, month: str, now: str) -> dict:
    """pbr's schedule of `month`, worked out with every return up to `now` read."""
    model, register = ws.model, ws.register
    collection = read_months(None, model, register, ws.returns, [Month.parse(now)], None)
    schedule = month_schedule(model, register, Month.parse(month), collection)
    out: dict = {}
    for p in schedule.providers:
        if p.status != "paid":
            out[p.provider] = None
            continue
        pay = {}
        for ln in p.lines:
            if ln.component in PRICES:
                group = dict(ln.groups)["complexity"]
                if ln.amount or (ln.component, group) in pay:
                    pay[(ln.component, group)] = int(ln.amount)
        out[p.provider] = pay
    return out


def _agree(ws, data: CohortReturns, first: str, last: str, now: str | None = None) -> None:
    for m in months_between(first, last):
        at = Month.parse(now) if now else m
        expected = oracle(data.rows, (m.year, m.month), (at.year, at.month))
        expected = {p: ({k: v for k, v in pay.items() if v} if pay is not None else None)
                    for p, pay in expected.items()}
        got = pbr_worth(ws, str(m), str(at))
        got = {p: ({k: v for k, v in pay.items() if v} if pay is not None else None)
               for p, pay in got.items()}
        assert got == expected, (str(m), str(at))


def test_the_oracle_agrees_on_both_scenarios(cohort_workspace):
    data = twice_declared()
    data.write(cohort_workspace, "2012-04", "2013-09")
    _agree(cohort_workspace, data, "2012-04", "2013-09")


def test_the_oracle_agrees_on_a_late_declaration(cohort_workspace):
    data = declared_late()
    data.write(cohort_workspace, "2012-04", "2012-05")
    _agree(cohort_workspace, data, "2012-04", "2012-05")
    _agree(cohort_workspace, data, "2012-04", "2012-05", now="2012-05")


def random_history(seed: int) -> CohortReturns:
    """A few clients at two providers, April-August 2012: opening episodes declared once,
    twice or only in a later month's return; new presentations; discharges after the
    declaration; reviews, some of a client declared only later."""
    rng = random.Random(seed)
    data = CohortReturns()
    months = ["2012-04", "2012-05", "2012-06"]
    for k in range(6):
        provider, group = rng.choice(["P1", "P2"]), rng.choice("MH")
        client, start = f"O{k}", date(2012, 1, 1) + timedelta(days=rng.randrange(80))
        declared = sorted(rng.sample(months, rng.choice([1, 1, 2])))
        for month in declared:
            data.opening(provider, client, start, group, month=month)
        if rng.random() < 0.7:
            data.review(provider, client, date(2012, 4, 1) + timedelta(days=rng.randrange(120)),
                        group, opiate=rng.choice([0, 0, 3]))
        if rng.random() < 0.6:
            day = date(2012, int(declared[0][-1]) + 1, 1) + timedelta(days=rng.randrange(60))
            data.discharge(provider, client, start, day, rng.choice(["TCDF", "TCOU", "DO"]),
                           group)
    for k in range(6):
        provider, group = rng.choice(["P1", "P2"]), rng.choice("MH")
        start = date(2012, 4, 1) + timedelta(days=rng.randrange(100))
        data.present(provider, f"N{k}", start, group)
        if rng.random() < 0.6:
            data.discharge(provider, f"N{k}", start, start + timedelta(days=rng.randrange(
                10, 60)), rng.choice(["TCDF", "DO"]), group)
        if rng.random() < 0.6:
            data.review(provider, f"N{k}", start + timedelta(days=rng.randrange(0, 20)), group,
                        crack=rng.choice([0, 2]))
    return data


def test_the_oracle_agrees_on_random_histories(tmp_path, cohort_model):
    from tests.conftest import COHORT_REGISTER, COHORT_REGISTER_HEADER, Workspace

    for seed in range(4):
        (tmp_path / str(seed)).mkdir()
        ws = Workspace(tmp_path / str(seed), cohort_model, COHORT_REGISTER,
                       COHORT_REGISTER_HEADER)
        data = random_history(seed)
        data.write(ws, "2012-04", "2012-08")
        _agree(ws, data, "2012-04", "2012-08")
        _agree(ws, data, "2012-04", "2012-07", now="2012-08")


def test_the_late_declaration_is_paid_through_the_ledger_once(cohort_workspace, tmp_path):
    """The promised route, through a ledger: April approved with P1 withheld (£0); May's
    draft carries April's +£525 (£300 tariff and £225 abstinence for OLD) as an adjustment;
    once May is approved, June's draft carries nothing more for April."""
    ws = cohort_workspace
    declared_late().write(ws, "2012-04", "2012-05")
    base = ["--model", str(COHORT_MODEL_PATH), "--returns", str(ws.returns), "--register",
            str(ws.register_path), "--ledger", str(tmp_path / "trial.sqlite"), "--json"]

    def calculate(month: str) -> dict:
        result = runner.invoke(app, ["calculate", *base, "-p", month, "-o",
                                     str(tmp_path / f"{month}.xlsx")])
        assert result.exit_code in (0, 1), result.output
        return json.loads(result.stdout)

    def approve(month: str, run: int) -> None:
        result = runner.invoke(app, ["approve", *base, "-p", month, "--run", str(run), "-o",
                                     str(tmp_path / f"{month}-approved.xlsx")])
        assert result.exit_code == 0, result.output

    april = calculate("2012-04")
    assert april["ledger"]["status"] == "draft"
    approve("2012-04", april["ledger"]["run"])
    may = calculate("2012-05")
    for_april = [a for a in may["adjustments"] if a["month"] == "2012-04"]
    assert {a["provider"] for a in for_april} == {"P1"}
    assert sum(Decimal(a["difference"]) for a in for_april) == Decimal("525.00")
    approve("2012-05", may["ledger"]["run"])
    june = calculate("2012-06")
    assert [a for a in june["adjustments"] if a["month"] == "2012-04"] == []
