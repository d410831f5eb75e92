"""`pbr run` (the unattended monthly job) and `pbr ledger` (what has been recorded)."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from pathlib import Path

from pbr_cli.config import Config, load_config
from pbr_cli.errors import EXIT_OK, EXIT_PROBLEMS, PbrError
from pbr_cli.money import format_money
from pbr_cli.periods import Month


def latest_complete_month(root: Path, today: date | None = None) -> Month | None:
    """The latest month that has ended and has returns filed for it."""
    from pbr_cli.collect import return_files

    today = today or date.today()
    found = []
    if Path(root).is_dir():
        for child in Path(root).iterdir():
            try:
                month = Month.parse(child.name)
            except PbrError:
                continue
            if child.is_dir() and month.last_day < today and return_files([child]):
                found.append(month)
    return max(found) if found else None


def _logger(cfg: Config) -> logging.Logger:
    log = logging.getLogger("pbr.run")
    log.setLevel(logging.INFO)
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    try:
        cfg.log.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(cfg.log, encoding="utf-8")
    except OSError as exc:
        raise PbrError(f"cannot write the log {cfg.log}: {exc.strerror}",
                       code="output-not-writable") from None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s",
                                           "%Y-%m-%dT%H:%M:%S"))
    log.addHandler(handler)
    log.propagate = False
    return log


def run_all(config: Path | None, dry_run: bool, wait: float, progress_factory) -> int:
    import contextlib

    from pbr_cli.jobs import run_calculation
    from pbr_cli.lock import exclusive
    from pbr_cli.model import find_model, list_models, load_model
    from pbr_cli.outputs.console import console

    cfg = load_config(config)
    log = _logger(cfg)
    con = console()
    schemes = list(cfg.schemes) or [p.stem for p in list_models(cfg.models)]
    log.info("run started: %s%s", ", ".join(schemes) or "no schemes",
             " (dry run)" if dry_run else "")
    lock = (contextlib.nullcontext() if dry_run
            else exclusive(cfg.lock, wait))
    worst = EXIT_OK
    try:
        with lock:
            for name in schemes:
                try:
                    model = load_model(find_model(name, cfg.models))
                    month = latest_complete_month(cfg.returns_for(name))
                    if month is None:
                        raise PbrError(f"no complete month with returns in "
                                       f"{cfg.returns_for(name)}", code="file-not-found")
                    progress = progress_factory()
                    try:
                        result = run_calculation(cfg, model, str(month), None, None, None,
                                                 progress=progress, dry_run=dry_run,
                                                 command="run")
                    finally:
                        if progress is not None:
                            progress.close()
                except PbrError as exc:
                    log.error("%s: %s", name, exc.message)
                    con.print(f"[red]{name}: {exc.message}[/]", highlight=False)
                    worst = max(worst, exc.exit_code)
                    continue
                s = result.schedule
                errors = sum(1 for p in s.problems if p.is_error)
                code = EXIT_PROBLEMS if s.withheld or errors else EXIT_OK
                worst = max(worst, code)
                where = f"; schedule {result.path}" if result.path else ""
                ledger = {"recorded": f"recorded as run {result.run_id}",
                          "unchanged": f"unchanged since run {result.run_id}",
                          "dry-run": "dry run", "closed": f"closed by {result.closed_by}",
                          "written": "written"}[result.status]
                line = (f"{name} {month}: PbR {format_money(s.total())}, adjustments "
                        f"{format_money(s.adjustment_total())}, due {format_money(s.due())}; "
                        f"{len(s.withheld)} withheld, {errors} error(s); {ledger}{where}")
                (log.warning if code else log.info)("%s", line)
                con.print(line, highlight=False)
    except PbrError as exc:
        log.error("refused: %s", exc.message)
        raise
    except BaseException as exc:  # logged, then as it would be anyway
        log.error("stopped: %s", type(exc).__name__)
        raise
    log.info("run finished: exit code %d", worst)
    return worst


def ledger_view(config: Path | None, what: str, model: str | None = None,
                run_id: int | None = None, provider: str | None = None) -> None:
    from rich.table import Table

    from pbr_cli.ledger import Ledger
    from pbr_cli.outputs.console import console

    cfg = load_config(config)
    con = console()
    if not cfg.ledger.exists():
        con.print(f"No ledger yet at {cfg.ledger}: nothing has been recorded.", highlight=False)
        return
    ledger = Ledger(cfg.ledger)
    try:
        if what == "list":
            table = Table(title=f"Runs recorded in {cfg.ledger}", title_justify="left")
            for col in ("Run", "Model", "Month", "Current", "Recorded (UTC)", "Tool", "PbR",
                        "Adjustments", "Due", "Withheld", "Inputs"):
                table.add_column(col, justify="right" if col in ("PbR", "Adjustments", "Due")
                                 else "left")
            for r in ledger.runs(model):
                table.add_row(str(r["id"]), r["model"], r["period"],
                              "*" if ledger.is_current(r["id"]) else "", r["finished_at"],
                              r["tool_version"], format_money(Decimal(r["entitlement"])),
                              format_money(Decimal(r["adjustments"])),
                              format_money(Decimal(r["payment"])), str(r["withheld"]),
                              str(len(ledger.inputs(r["id"]))))
            con.print(table)
        elif what == "show":
            r = ledger.run(run_id)
            if r is None:
                raise PbrError(f"no run {run_id} in the ledger {cfg.ledger}", code="usage")
            current = "current" if ledger.is_current(r["id"]) else "superseded by a later run"
            con.print(f"Run {r['id']} ({current}): {r['model']} {r['period']}, pbr "
                      f"{r['tool_version']}, {r['started_at']} to {r['finished_at']}, by "
                      f"`pbr {r['command']}`", highlight=False)
            con.print(f"Model SHA-256 {r['model_sha256']}; register SHA-256 "
                      f"{r['register_sha256']}; schedule {r['output']}", highlight=False)
            totals: dict[str, Decimal] = {}
            for ln in ledger.lines(r["id"]):
                if ln["kind"] == "payment":
                    totals[ln["provider"]] = totals.get(ln["provider"], Decimal("0.00")) + Decimal(ln["amount"])
            table = Table(title="Payments", title_justify="left")
            table.add_column("Provider")
            table.add_column("PbR", justify="right")
            for p, amount in sorted(totals.items()):
                table.add_row(p, format_money(amount))
            table.add_row("Total", format_money(Decimal(r["entitlement"])), end_section=True)
            con.print(table)
            adjustments = ledger.adjustments(r["id"])
            if adjustments:
                adj = Table(title="Prior-period adjustments", title_justify="left")
                for col in ("Month", "Provider", "Component", "Previously", "Now", "Difference",
                            "Reason"):
                    adj.add_column(col)
                for a in adjustments:
                    adj.add_row(a["month"], a["provider"], a["component"],
                                format_money(Decimal(a["previous"])), format_money(Decimal(a["now"])),
                                format_money(Decimal(a["difference"])), a["reason"])
                con.print(adj)
            inputs = Table(title="Inputs", title_justify="left")
            for col in ("Role", "Provider", "Month", "Used", "SHA-256", "File"):
                inputs.add_column(col, overflow="fold")
            for i in ledger.inputs(r["id"]):
                inputs.add_row(i["role"], i["provider"], i["period"], "yes" if i["used"] else "no",
                               i["sha256"][:16], i["file"])
            con.print(inputs)
        else:
            table = Table(title=f"Payments to {provider} (current run of each month)",
                          title_justify="left")
            for col in ("Model", "Month", "Run", "PbR", "Adjustments", "Due"):
                table.add_column(col, justify="right" if col in ("PbR", "Adjustments", "Due")
                                 else "left")
            sums = [Decimal("0.00")] * 3
            found = False
            models = [model] if model else sorted({r["model"] for r in ledger.runs()})
            for m in models:
                for period in ledger.periods(m):
                    r = ledger.latest_run(m, period)
                    own = sum((Decimal(ln["amount"]) for ln in ledger.lines(r["id"])
                               if ln["provider"] == provider and ln["kind"] == "payment"),
                              Decimal("0.00"))
                    adj = sum((Decimal(a["difference"]) for a in ledger.adjustments(r["id"])
                               if a["provider"] == provider), Decimal("0.00"))
                    if not any(ln["provider"] == provider for ln in ledger.lines(r["id"])) and not adj:
                        continue
                    found = True
                    table.add_row(m, period, str(r["id"]), format_money(own), format_money(adj),
                                  format_money(own + adj))
                    sums = [sums[0] + own, sums[1] + adj, sums[2] + own + adj]
            if not found:
                raise PbrError(f"no payments to {provider} in the ledger", code="usage")
            table.add_row("Total", "", "", *map(format_money, sums), end_section=True)
            con.print(table)
    finally:
        ledger.close()
