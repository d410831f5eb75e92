"""`pbr init DIR`: an authority's own folder, ready for its monthly routine.

It holds pbr.yaml; the chosen models copied in from those shipped with pbr (with their
registers and worked examples), to be changed locally; returns/<model>/ ready for month
folders; out/ for schedules, the ledger and the log; and a README of the monthly routine.
Nothing is written over: the folder must be new or empty.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sys
from pathlib import Path

from pbr_cli.cycle.config import shipped_models
from pbr_cli.errors import PbrError
from pbr_cli.model import list_models, load_model
from pbr_cli.names import shown
from pbr_cli.periods import Month

ROUTINE = """\
# {title}

This folder is {who}'s copy of pbr's payment-by-results routine. pbr reads `pbr.yaml` here
(run every command from this folder, or give `--config {config}`).

    models/              the schemes' models and contract registers: change them here
    returns/<model>/     the providers' returns, one folder per month: returns/<model>/YYYY-MM/
    out/                 schedules, statements, reports, the ledger and the log

## Before the first month

A month's payments read earlier months' returns:

{history}

Before going live, file each of those months' returns in its own folder (an empty month
folder says no return came); `pbr run` drafts nothing while one is missing, and names it.

## Each month

1. Save each provider's return into `returns/<model>/YYYY-MM/` (make the month's folder).
   `pbr validate returns/<model>/YYYY-MM` checks them; `--annotate checked/` makes copies to
   send back to providers with problems.
2. `pbr run` drafts every month not yet approved, in order, into `out/<model>/`.
3. A person reviews the draft schedule and approves it by its run number:
   `pbr approve -m <model> -p YYYY-MM --run N --by "Your Name"`.
4. `pbr statements -m <model> -p YYYY-MM` writes each provider's statement to send it.
5. Keep a copy of `out/ledger.sqlite` somewhere else (it is the record of what was paid).

`pbr ledger status` shows each month: no returns, draft, approved.

## Signed records

Every run, approval and publication is signed with the key of the officer who made it, and
every command checks the signatures. `pbr init` made a key for you (or took the one you
have: `pbr keys list`) and named it in `pbr.yaml` under `keys:`, with you as each scheme's
approver (`approvers:`). Each other officer makes a key with `pbr keys new NAME` and has its
public key added under `keys:` (and to a scheme's `approvers:` to approve its months); set
`four_eyes: true` on a scheme so that nobody approves a draft they calculated. An unattended
run signs with the key of the account it runs as.

## Unattended

Two crontab lines (`crontab -e`): the job at 06:00 on the 3rd of each month, with pbr
named by its full path (cron's PATH does not hold it) and `--quiet`, so that it prints
only when a person is needed — a draft to approve, a return with errors, a missing or
faulty return, a ledger problem — and cron mails what it prints to MAILTO (cron itself
mails; put your address in). When nothing needs anyone it prints nothing and no mail comes.
The log, out/pbr.log, keeps every run.

    MAILTO=finance@example.org
    0 6 3 * * cd {folder_q} && {pbr} --quiet run

## Trying it first, then going live

Try the routine on a trial ledger: put `ledger: out/trial-ledger.sqlite` in `pbr.yaml`,
run and approve a few months, look at the outputs. To go live, set each scheme's `go_live`
in `pbr.yaml` to the first month pbr's ledger will pay, put `ledger: out/ledger.sqlite`
back, and move the trial ledger and its outputs out of `out/` (keep them: a ledger is never
emptied or rewritten). `pbr ledger init` then starts the live ledger; `pbr run` drafts the
go-live month.

## A team sharing one ledger

Where several officers run pbr, keep the ledger in PostgreSQL rather than a file on a
shared drive: `ledger: "postgresql://USER@SERVER/DATABASE"` in every officer's `pbr.yaml`
(`pip install 'pbr-cli[postgresql]'`), the password in `~/.pgpass`, never in this folder.
One run records at a time wherever it runs; the others wait (`--wait`) or are refused.
pbr's documentation (docs/payment-cycle.md, "A ledger shared by a team") says how the
database is made and who may do what in it.
"""


def _history_line(model, start: Month) -> str:
    """What the scheme's first month reads before it: a line of the folder's README."""
    from pbr_cli.pricing import history_months, kind_of

    before = [m for m in history_months(model, start) if m < start]
    what = ("every month since the scheme start (its episodes are followed from their start)"
            if kind_of(model).clients else "its rolling windows"
            + (" and the months a quarter's or year's payment adds up"
               if any(c.paid != "monthly" for c in model.payments) else ""))
    if not before:
        return f"- {model.name}: its first month, {start}, reads no earlier month."
    span = str(before[0]) if len(before) == 1 else f"{before[0]} to {before[-1]}"
    return (f"- {model.name}: its first month, {start}, reads {what}: file {span} as well "
            f"({len(before)} month(s)).")


def own_command() -> str:
    """This pbr, by full paths, as a shell would run it from anywhere (a cron line): the
    console script it was started as, else this Python with `-m pbr_cli`."""
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.name in ("pbr", "pbr.exe") and script.exists():
        return shlex.quote(str(script.resolve()))
    found = shutil.which("pbr", path=str(Path(sys.executable).parent))
    if found:
        return shlex.quote(str(Path(found).resolve()))
    return f"{shlex.quote(sys.executable)} -m pbr_cli"


def _officer_key() -> tuple[str, str]:
    """The officer's name and public key: their key ($PBR_KEY, or their only one), or a
    new one made for them."""
    from pbr_cli.cycle.state import default_user
    from pbr_cli.ledger.keys import chosen_key, new_key, own_keys

    user = default_user()
    if own_keys():
        return user, chosen_key()[0].public
    name = re.sub(r"[^A-Za-z0-9._-]", "-", user).strip(".-") or "officer"
    return user, new_key(name[:60]).public


def init_folder(folder: Path, models: list[str] | None, go_live: str | None,
                who: str = "the authority") -> list[Path]:
    """Make the folder; return what was written."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise PbrError(f"{shown(folder)} exists and is not an empty folder: `pbr init` never "
                       "writes over anything (choose a new folder)", code="output-exists")
    source = shipped_models()
    if source is None:
        raise PbrError("the models shipped with pbr are missing from this installation",
                       code="file-not-found")
    shipped = {p.stem: p for p in list_models(source)}
    chosen = models or sorted(shipped)
    unknown = [m for m in chosen if m not in shipped]
    if unknown:
        raise PbrError(f"no shipped model {', '.join(unknown)}; shipped: "
                       f"{', '.join(sorted(shipped))}", code="unknown-model")
    month = None
    if go_live is not None:
        try:
            month = Month.parse(go_live)
        except PbrError:
            raise PbrError(f"--go-live is a month written YYYY-MM, e.g. 2013-04, not "
                           f"'{go_live}'", code="bad-period") from None
    written: list[Path] = []
    (folder / "models").mkdir(parents=True, exist_ok=True)
    signer, public = _officer_key()
    lines = ["# Where pbr finds models and returns and writes its outputs (paths relative "
             "to this file).", "models: models", "returns: returns", "output: out",
             "ledger: out/ledger.sqlite   # every run and approval, hash-chained (or a "
             "shared database: \"postgresql://USER@SERVER/DATABASE\")",
             "log: out/pbr.log            # what each `pbr run` did", "schemes:"]
    titles: list[str] = []
    history: list[str] = []
    for name in chosen:
        model_path = shipped[name]
        model = load_model(model_path)
        titles.append(model.title)
        for path in sorted(source.glob(f"{name}.*")):
            if path.name in (f"{name}.yaml", f"{name}.tests.yaml", model.register.file.name):
                target = folder / "models" / path.name
                shutil.copyfile(path, target)
                written.append(target)
        (folder / "returns" / name).mkdir(parents=True, exist_ok=True)
        written.append(folder / "returns" / name)
        start = max(month, Month.of(model.start)) if month else Month.of(model.start)
        history.append(_history_line(model, start))
        lines.append(f"  {name}: {{go_live: {start}, approvers: [{json.dumps(signer)}]}}"
                     "   # approval by a person (manual)")
    lines.append("# A scheme's budget, for `pbr forecast`: add budget: {2013/14: AMOUNT} to its "
                 "settings above, e.g.")
    lines.append(f"#   {chosen[0]}: {{go_live: ..., budget: {{2013/14: 1200000}}}}"
                 if chosen else "#   scheme: {budget: {2013/14: 1200000}}")
    lines += ["# Who signs the ledger's records (`pbr keys new NAME` prints an officer's key;",
              "# docs/payment-cycle.md, \"Signed records\"):",
              f"keys: {{{json.dumps(signer)}: {json.dumps(public)}}}"]
    (folder / "out").mkdir(exist_ok=True)
    config = folder / "pbr.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    readme = folder / "README.md"
    readme.write_text(ROUTINE.format(title="; ".join(titles), who=who, config=config,
                                     folder=folder.resolve(),
                                     folder_q=shlex.quote(str(folder.resolve())),
                                     pbr=own_command(), history="\n".join(history)),
                      encoding="utf-8")
    return [config, readme, *written]
