"""Regenerate the Birmingham 90/10 pilot samples byte for byte (seeded).

    python sample_returns/make_birmingham_samples.py [FOLDER]

Writes the contract register (models/birmingham-90-10.register.csv), one return per
provider per month April-September 2013 under sample_returns/birmingham-90-10/YYYY-MM/,
and deliberately faulty returns under sample_returns/faulty/ (see its README.md).

Services S001 and F010 of provider P01 follow the brief's worked example for June 2013.
Names, capacities and values are plausible but invented.
"""

from __future__ import annotations

import csv
import random
import re
import shutil
import sys
import zipfile
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pbr_cli.model import load_model  # noqa: E402
from pbr_cli.outputs.template import Formula, Merge, write_template  # noqa: E402
from pbr_cli.periods import Month  # noqa: E402
from pbr_cli.returns.register import entry_active, load_register  # noqa: E402

MODEL = ROOT / "models" / "birmingham-90-10.yaml"
REGISTER = ROOT / "models" / "birmingham-90-10.register.csv"
OUT = ROOT / "sample_returns" / "birmingham-90-10"
FAULTY = ROOT / "sample_returns" / "faulty"
if len(sys.argv) > 1:  # write into another folder (the tests compare it with the shipped files)
    _base = Path(sys.argv[1]).resolve()
    REGISTER, OUT, FAULTY = _base / REGISTER.name, _base / "birmingham-90-10", _base / "faulty"
MONTHS = [Month(2013, m) for m in range(4, 10)]
OUTCOMES = ["1a", "1b", "1c", "2a", "2b", "2c", "2d", "3a", "3b", "3c", "3d", "4a", "4b",
            "4c", "4d", "4e", "5a"]

PROVIDERS = [
    "Aston Pathways", "Balsall Heath Housing Association", "Castle Vale Community Trust",
    "Digbeth Night Shelter", "Edgbaston Mental Health Partnership", "Erdington Older People's Care",
    "Handsworth Foyer", "Hall Green Supported Living", "Kings Norton Disability Network",
    "Ladywood Recovery Project", "Moseley Floating Support", "Northfield Housing Trust",
    "Perry Barr Independent Living", "Quinton Care Partnership", "Selly Oak Young People's Housing",
    "Small Heath Women's Refuge", "Sparkbrook Community Care", "Stechford Tenancy Support",
    "Sutton Coldfield Retirement Homes", "Tyburn Outreach", "Washwood Heath Advice and Support",
    "Weoley Castle Homeless Project", "Yardley Wellbeing Services", "Acocks Green Day and Night",
]
GROUPS = ["DIS", "MH", "SE", "OP"]
HEADER = ["Service ID", "Provider code", "Provider name", "Service name", "Client group",
          "Service type", "Capacity", "Annual contract value", "Contract start", "Contract end"]
GROUP_WORDS = {"DIS": "disability", "MH": "mental health", "SE": "homelessness", "OP": "older people"}


def make_register(rng: random.Random) -> list[list[str]]:
    rows = [
        ["S001", "P01", PROVIDERS[0], "Aston Pathways Hostel", "SE", "ACC", "20", "120000.00",
         "2012-04-01", ""],
        ["F010", "P01", PROVIDERS[0], "Aston Pathways Floating Support", "SE", "FS", "50",
         "60000.00", "2013-06-11", ""],
    ]
    acc, fs = 2, 11
    for p in range(2, 25):
        code, name = f"P{p:02d}", PROVIDERS[p - 1]
        for _ in range(rng.choice([1, 2, 2, 3, 3, 4])):
            group = rng.choice(GROUPS)
            if rng.random() < 0.55:
                sid, kind, acc = f"S{acc:03d}", "ACC", acc + 1
                capacity = rng.choice([8, 10, 12, 16, 20, 24, 30, 40])
                value = capacity * rng.randrange(4200, 7800, 50)
                label = f"{name.split()[0]} {GROUP_WORDS[group]} scheme"
            else:
                sid, kind, fs = f"F{fs:03d}", "FS", fs + 1
                capacity = rng.choice([20, 25, 30, 40, 50, 60, 80])
                value = capacity * rng.randrange(900, 1600, 25)
                label = f"{name.split()[0]} {GROUP_WORDS[group]} floating support"
            start, end = "2012-04-01", ""
            roll = rng.random()
            if roll < 0.06:
                end = str(date(2013, 7, 31))
            elif roll < 0.10:
                end = str(date(2013, 8, 15))
            elif roll < 0.14:
                start = str(date(2013, 8, 1))
            rows.append([sid, code, name, label, group, kind, str(capacity), f"{value}.00",
                         start, end])
    return rows


def days_of(month: Month, rng: random.Random, n: int) -> list[date]:
    return [month.first_day + timedelta(days=rng.randrange(month.days)) for _ in range(n)]


def client_outcomes(rng: random.Random, service: str, client: str, when: date, kind: str,
                    achieved: list[bool]) -> list[dict]:
    items = ["1a", "4a"] + rng.sample([o for o in OUTCOMES if o not in ("1a", "4a")],
                                       len(achieved) - 2)
    return [{"service_id": service, "client_id": client, "assessment_date": when,
             "assessment": kind, "outcome": item, "result": "A" if ok else "N"}
            for item, ok in zip(items, achieved, strict=True)]


def worked_example_outcomes(month: Month) -> list[dict]:
    """S001: 40 outcomes assessed April-June, 30 achieved (brief §3)."""
    plan = {4: [4, 4, 3], 5: [4, 4], 6: [4, 4, 3]}  # achieved of 5 per client
    rng = random.Random(f"S001-{month}")
    rows = []
    for i, wins in enumerate(plan.get(month.month, [4, 3, 4])):
        client = f"AP{month.month:02d}{i + 1:02d}"
        when = month.first_day + timedelta(days=5 + 7 * i)
        rows += client_outcomes(rng, "S001", client, when, "REV", [True] * wins + [False] * (5 - wins))
    return rows


def month_rows(rng: random.Random, model, register, provider: str, month: Month,
               skill: float) -> dict:
    utilisation, outcomes = [], []
    for entry in register.provider_entries(provider):
        if not entry_active(model, entry, month):
            continue
        sid, cap = entry["service_id"], entry["capacity"]
        if entry["service_type"] == "ACC":
            if sid == "S001" and month == Month(2013, 6):
                voids = 45
            else:
                voids = int(cap * month.days * max(0.0, rng.gauss(0.05, 0.05)))
            utilisation.append({"service_id": sid, "void_days": voids})
        else:
            users = 52 if sid == "F010" and month == Month(2013, 6) else max(
                0, round(cap * rng.gauss(0.97, 0.08)))
            utilisation.append({"service_id": sid, "users_supported": users})
        if sid == "S001":
            outcomes += worked_example_outcomes(month)
            continue
        if sid == "F010" and month == Month(2013, 6):
            continue  # new contract: no outcomes assessed yet (brief §3)
        for c in range(max(1, cap // 8 + rng.randrange(-1, 2))):
            n = 5 if rng.random() < 0.7 else rng.choice([6, 7])
            achieved = [rng.random() < skill for _ in range(n)]
            client = f"{sid}-{month.month:02d}{c + 1:02d}"
            kind = "EXIT" if rng.random() < 0.2 else "REV"
            rows = client_outcomes(rng, sid, client, days_of(month, rng, 1)[0], kind, achieved)
            if rng.random() < 0.03:
                rows = rows[:4]  # a client with too few outcomes: a warning, not an error
            outcomes += rows
    return {"Utilisation": utilisation, "Outcomes": outcomes}


def faulty_returns(model, register) -> None:
    """Returns with planted problems; README.md lists what each one should show."""
    june = Month(2013, 6)
    rng = random.Random(7)
    provider = next(p for p in register.providers() if p != "P01" and {
        e["service_type"] for e in register.provider_entries(p) if entry_active(model, e, june)
    } == {"ACC", "FS"})
    base = month_rows(rng, model, register, provider, june, 0.8)

    def write(name: str, rows: dict, **kw) -> None:
        write_template(FAULTY / name, model, register, provider, june, rows, **kw)

    rows = {k: [dict(r) for r in v] for k, v in base.items()}
    util, outs = rows["Utilisation"], rows["Outcomes"]
    acc = next(r for r in util if "void_days" in r)
    acc["void_days"] = "12"                                   # number typed as text
    outs[0]["assessment_date"] = "14/06/2013"                 # date typed as text
    outs[1]["assessment_date"] = date(2013, 5, 31)            # outside the month
    outs[2]["outcome"] = "9z"                                 # unknown code
    outs[3]["service_id"] = "S001"                            # another provider's service
    outs[4]["service_id"] = "S999"                            # not in the register
    outs.append(dict(outs[6]))                                # duplicate row
    outs[7]["result"] = Formula('=IF(1=1,"A","N")')       # formula; its saved value is removed
    outs[8]["client_id"] = None                               # required value missing
    outs[9]["assessment_date"] = 41440                        # a date serial in a General cell
    outs[10]["client_id"] = Merge("MERGED", 1)                # merged cells
    write(f"{provider}-2013-06-many-problems.xlsx", rows)
    strip_cached_values(FAULTY / f"{provider}-2013-06-many-problems.xlsx")

    write(f"{provider}-2013-06-wrong-month.xlsx", base, cover={"Month": "2013-07"})
    write(f"{provider}-2013-06-old-template.xlsx", base, cover={"Model version": "0.9"})
    missing = {"Utilisation": base["Utilisation"][1:], "Outcomes": base["Outcomes"]}
    write(f"{provider}-2013-06-missing-service.xlsx", missing, prefill=False)
    (FAULTY / f"{provider}-2013-06-really-a-csv.xlsx").write_text("Service ID,Void unit-days\nS002,12\n")


def strip_cached_values(path: Path) -> None:
    """Remove formulas' saved values, as files written by some tools have none."""
    src = zipfile.ZipFile(BytesIO(path.read_bytes()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("xl/worksheets/"):
                data = re.sub(rb"(<f>[^<]*</f>)<v>[^<]*</v>", rb"\1", data)
            dst.writestr(zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0)), data,
                         compress_type=zipfile.ZIP_DEFLATED)


def main() -> None:
    rng = random.Random(20130401)
    rows = make_register(rng)
    with REGISTER.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    model = load_model(MODEL)
    register = load_register(model, REGISTER)
    for folder in (OUT, FAULTY):
        if folder.exists():
            shutil.rmtree(folder)
    skill = {p: rng.uniform(0.55, 0.92) for p in register.providers()}
    skill["P01"] = 0.75
    for month in MONTHS:
        for provider in register.providers():
            if not any(entry_active(model, e, month) for e in register.provider_entries(provider)):
                continue
            data = month_rows(rng, model, register, provider, month, skill[provider])
            target = OUT / str(month) / f"{provider}-{month}.xlsx"
            write_template(target, model, register, provider, month, data,
                           cover={"Prepared by": f"Returns officer, {provider}"})
    FAULTY.mkdir(parents=True, exist_ok=True)
    faulty_returns(model, register)
    print(f"wrote {REGISTER}, {OUT} and {FAULTY}")


if __name__ == "__main__":
    main()
