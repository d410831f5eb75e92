"""Console views (rich): problem tables and the schedule summary. Plain text when piped."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from pbr_cli.ledger.records import LineKind
from pbr_cli.money import format_money
from pbr_cli.outputs.money_said import money_warnings_said
from pbr_cli.outputs.table_fit import (  # noqa: F401  (Col, fit_table, sparkline: every view's)
    ADJUSTMENT_COLS,
    Col,
    fit_table,
    sparkline,
)
from pbr_cli.pricing.records import PAID, Schedule, State, accrued_note
from pbr_cli.problems import FileStatus, Problem

SHOW_PER_KIND = 8  # per file, code and column; the rest are counted (all are in --json)


# Piped or redirected: plain text at the full width of each value (nothing is folded or cut
# to fit a screen that is not there).
PIPED_WIDTH = 10_000


def console(*, quiet: bool, stderr: bool = False) -> Console:
    """A console for a command's views; `quiet` (--quiet): nothing printed on stdout but
    what --json asks for (stderr still speaks)."""
    probe = Console(stderr=stderr)
    width = None if probe.is_terminal else PIPED_WIDTH
    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=width,
                   quiet=quiet and not stderr)


def problem_table(con: Console, problems: list[Problem], title: str) -> None:
    if not problems:
        return
    rows = []
    shown: Counter = Counter()
    hidden: Counter = Counter()
    for p in problems:
        kind = (p.file, p.code, p.column)
        shown[kind] += 1
        if shown[kind] > SHOW_PER_KIND:
            hidden[kind] += 1
            continue
        style = "red" if p.is_error else "yellow"
        rows.append([f"[{style}]{p.severity}[/]", escape(p.cell or ""), p.code,
                     escape(p.message)])
    for (_, code, column), n in hidden.items():
        rows.append(["", f"column {column}" if column else "", code,
                     f"... and {n} more like this (all are listed with --json)"])
    fit_table(con, [Col("Severity", "fixed", drop=1), Col("Cell", "fixed"), Col("Code", "fixed"),
                    Col("Message")], rows, title=title)


class FileProgress:
    """A bar with the count of files read and the one being read; call it per file."""

    def __init__(self, con: Console | None = None):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

        self.progress = Progress(TextColumn("reading"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.description}"),
                                 console=con or Console(stderr=True), transient=True)
        self.task: TaskID | None = None

    def __call__(self, done: int, total: int, path) -> None:
        if self.task is None:
            self.progress.start()
            self.task = self.progress.add_task("", total=total)
        self.progress.update(self.task, completed=done, description=escape(str(path.name)))

    def close(self) -> None:
        if self.task is not None:
            self.progress.stop()


# The warnings that change what is paid (docs/payment-cycle.md, "Before you approve"): each
# leaves figures out of a payment, takes a figure as assumed, or cuts an amount. Said by
# code, with counts, wherever a month is calculated or approved.
def schedule_summary(con: Console, s: Schedule, path: str | None) -> None:
    m = s.model
    con.print(f"[bold]{escape(m.title)}[/] — payment schedule for {s.month.label()} "
              f"({s.month.first_day} to {s.month.last_day})")
    if s.standing is not None:
        style = "bold green" if s.standing.state == State.APPROVED else "bold yellow"
        con.print(f"[{style}]{escape(s.standing.describe())}[/]")
    if m.virtual:
        con.print("[bold red]SHADOW PAYMENT — NOT FOR PAYMENT[/] (virtual pilot: PbR beside "
                  f"{m.comparison.label.lower() if m.comparison else 'contract'})")
    cols = [Col("Provider", "fixed"), Col("Name", drop=1), Col("Status", "fixed")]
    if m.comparison:
        cols.append(Col(m.comparison.label, "money", "right"))
    cols.append(Col("PbR", "money", "right"))
    if m.comparison:
        cols.append(Col("Variance", "money", "right"))
    rows = []
    for p in s.providers:
        status = {"Paid": "paid", "WITHHELD": "[red]WITHHELD[/]"}.get(
            p.shown_status, f"[red]{p.shown_status}[/]")
        row = [escape(p.provider), escape(p.name), status]
        if m.comparison:
            row.append(format_money(p.total(LineKind.COMPARISON)))
        row.append(format_money(p.total()))
        if m.comparison:
            v = p.variance
            row.append(f"[red]{format_money(v)}[/]" if v < 0 else format_money(v))
        rows.append(row)
    total = ["Total", "", ""]
    if m.comparison:
        total.append(format_money(s.total(LineKind.COMPARISON)))
    total.append(format_money(s.total()))
    if m.comparison:
        total.append(format_money(s.total() - s.total(LineKind.COMPARISON)))
    rows.append([f"[bold]{t}[/]" if t else "" for t in total])
    fit_table(con, cols, rows, section_after=len(rows) - 2)
    errors = sum(1 for p in s.problems if p.is_error)
    warnings = len(s.problems) - errors
    con.print(f"{len(s.providers)} providers, {len(s.lines)} lines; {errors} error(s), "
              f"{warnings} warning(s).")
    if money_warnings_said(s.problems):
        con.print(f"[bold yellow]{escape(money_warnings_said(s.problems))}.[/]")
    if accrued_note(s.lines):
        con.print(escape(accrued_note(s.lines)))
    if s.adjustments:
        fit_table(con, ADJUSTMENT_COLS, [
            [a.month, escape(a.provider), escape(a.component), format_money(a.previous),
             format_money(a.now), format_money(a.difference), escape(a.reason)]
            for a in s.adjustments], title="Prior-period adjustments")
        con.print(f"This month's entitlement {format_money(s.total())} + adjustments "
                  f"{format_money(s.adjustment_total())} = [bold]{format_money(s.due())}[/] due.")
    for p in s.withheld:
        con.print(f"[red]Withheld:[/] {escape(p.provider)} {escape(p.name)}: {escape(p.reason)}")
    for file, (first, more) in files_not_used(s).items():
        also = f" ({more} more: pbr validate lists them)" if more else ""
        con.print(f"[red]Not used:[/] {escape(file)}: {escape(first.message)}{also}")
    notes = [(p, n) for p in s.providers if p.status == PAID for n in s.payment_notes(p.provider)]
    if notes:
        con.print("[bold]What changed payments:[/]")
        for p, note in notes:
            con.print(f"  [yellow]{escape(p.provider)}[/]: {escape(note)}")
    if path:
        con.print(f"Schedule written to [bold]{escape(path)}[/]")
        from pbr_cli.outputs.schedule import EVIDENCE_SHEET_ROWS, evidence_path

        beside = evidence_path(Path(path))
        if len(s.evidence) > EVIDENCE_SHEET_ROWS and beside.is_file():
            con.print(f"Its {len(s.evidence):,} evidence rows (more than a sheet holds) written "
                      f"beside it to [bold]{escape(str(beside))}[/]")


def files_not_used(s: Schedule) -> dict[str, tuple[Problem, int]]:
    """The files a schedule could not use (unreadable, or not saying whose return they are
    or for which month): each with its first error and how many more it has."""
    used = {i.path for i in s.inputs if i.used}
    found: dict[str, tuple[Problem, int]] = {}
    for p in s.problems:
        if p.is_error and p.file and p.file not in used:
            first, more = found.get(p.file, (p, -1))
            found[p.file] = (first, more + 1)
    return found


def ledger_status(con: Console, result) -> None:
    if result.note:
        con.print(escape(result.note[0].upper() + result.note[1:]) + ".")


LIST_EVERY_FILE_UP_TO = 50  # beyond this, the table of returns leaves out the clean ones


def validation_report(con: Console, report) -> None:
    rows = []
    colours = {"clean": "green", "warnings": "yellow", "errors": "red", "unusable": "bold red"}
    listed = report.files
    if len(listed) > LIST_EVERY_FILE_UP_TO:
        listed = [f for f in report.files if f.status != FileStatus.CLEAN]
    for f in listed:
        errors = sum(1 for p in f.problems if p.is_error)
        rows.append([escape(f.path), escape(f.provider or ""), f.month or "",
                     f"[{colours[f.status]}]{f.status}[/]", str(errors),
                     str(len(f.problems) - errors)])
    for f in report.files:
        if f.problems:
            problem_table(con, f.problems, escape(f.path))
    if listed:
        fit_table(con, [Col("File"), Col("Provider", "fixed"), Col("Month", "fixed"),
                        Col("Status", "fixed"), Col("Errors", "fixed", "right"),
                        Col("Warnings", "fixed", "right")], rows, title="Returns checked")
    if len(listed) < len(report.files):
        months = sorted({f.month for f in report.files if f.status == FileStatus.CLEAN and f.month})
        span = f" ({months[0]} to {months[-1]})" if len(months) > 1 else (
            f" ({months[0]})" if months else "")
        con.print(f"{len(report.files) - len(listed):,} clean returns{span} are not listed: "
                  f"more than {LIST_EVERY_FILE_UP_TO} were checked (--json lists every file).")
    counts = Counter(f.status for f in report.files)
    words = {"clean": "clean", "warnings": "with warnings only", "errors": "with errors",
             "unusable": "unusable (exit code 2)"}
    con.print(f"{len(report.files):,} file(s): " + ", ".join(
        f"{counts[s]:,} {words[s]}" for s in words if counts[s]))


def _bar(share, widest, width: int = 10) -> str:
    """A bar for a variance share: red to the left for a loss, green for a gain."""
    if share is None or not widest:
        return ""
    n = max(1, round(abs(share) / widest * width)) if share else 0
    return f"[red]{'█' * n}[/]" if share < 0 else f"[green]{'█' * n}[/]"


def _shown(report, cell, kind: str) -> str:
    from pbr_cli.money import format_percent
    from pbr_cli.reporting.cells import Ratio

    value = report.value(cell)
    if value is None:
        return ""
    if isinstance(value, Ratio):
        return format_percent(value.value) if value.value is not None else ""
    if kind == "money":
        text = format_money(value)
        return f"[red]{text}[/]" if value < 0 else text
    if kind == "percent":
        return format_percent(value)
    return escape(str(value))


def _number(report, cell):
    from pbr_cli.reporting.cells import Ratio

    value = report.value(cell)
    if value is None:
        return None
    return value.value if isinstance(value, Ratio) else value


def report_view(con: Console, report, written: list[str]) -> None:
    m = report.model
    con.print(f"[bold]{escape(m.title)}[/] — report for {escape(report.period.describe())}")
    con.print(escape(report.describe_coverage()))
    if m.virtual:
        con.print("[bold red]SHADOW PAYMENT — NOT FOR PAYMENT[/] (virtual pilot: PbR beside "
                  f"{m.comparison.label.lower() if m.comparison else 'contract'})")
    providers = report.tables["providers"]
    trend = report.tables["provider_months"]
    keys = [c.key for c in providers.columns]
    wanted = [k for k in ("provider", "name", "comparison", "payment", "variance",
                          "variance_pct", "events_paid", "capped") if k in keys]
    cols = []
    for k in wanted:
        col = providers.columns[keys.index(k)]
        kind = {"provider": "fixed", "name": "text"}.get(
            k, "money" if col.kind == "money" else "fixed")
        cols.append(Col(col.header, kind, "left" if col.kind == "text" else "right",
                        drop={"name": 3, "variance_pct": 1, "events_paid": 1}.get(k, 0)))
    if "variance_pct" in keys:
        cols.append(Col("Loss / gain", "extra", drop=5))
    cols.append(Col("By month (from 0)", "extra", drop=4))
    cols.append(Col("Flag", "fixed", drop=2))  # ! when the provider has flags (listed below)
    rows = []
    shares = [_number(report, r[keys.index("variance_pct")]) for r in providers.rows] \
        if "variance_pct" in keys else []
    widest = max((abs(s) for s in shares if s is not None), default=0)
    months = len(report.months)
    for i, row in enumerate([*providers.rows, providers.total]):
        total = i == len(providers.rows)
        cells = [_shown(report, row[keys.index(k)], providers.columns[keys.index(k)].kind)
                 for k in wanted]
        if "variance_pct" in keys:
            cells.append(_bar(_number(report, row[keys.index("variance_pct")]), widest))
        series = trend.total if total else trend.rows[i]
        cells.append(sparkline([_number(report, c) for c in series[2:2 + months]]))
        cells.append("[red]![/]" if row[-1] and not total else "")
        if total:
            cells = [f"[bold]{c}[/]" if c else c for c in cells]
        rows.append(cells)
    fit_table(con, cols, rows, title="Providers over the period",
              section_after=len(providers.rows) - 1)

    monthly = report.tables["months"]
    rows = []
    for i, row in enumerate([*monthly.rows, monthly.total]):
        cells = [_shown(report, c, col.kind) for c, col in zip(row, monthly.columns,
                                                               strict=True)]
        if i == len(monthly.rows):
            cells = [f"[bold]{c}[/]" if c else c for c in cells]
        rows.append(cells)
    fit_table(con, [Col(col.header, "money" if col.kind == "money" else "fixed",
                        "left" if col.kind == "text" else "right",
                        drop=1 if col.kind == "percent" else 0) for col in monthly.columns],
              rows, title="Month by month", section_after=len(monthly.rows) - 1)

    rates = report.tables.get("rates")
    if rates is not None:
        rows = [[escape(row[0]), *(_shown(report, c, "percent") for c in row[2:]),
                 sparkline([_number(report, c) for c in row[2:2 + months]], 0, 1)]
                for row in rates.rows if row[1] == "All providers"]
        fit_table(con, [Col("Rate"), *(Col(col.header, "fixed", "right", drop=1)
                                       for col in rates.columns[2:]),
                        Col("Trend (0-100%)", "extra", drop=2)], rows,
                  title="Rates, all providers")

    if report.flags:
        con.print("[bold]Flags[/]")
        for f in report.flags:
            con.print(f"  [red]{escape(f.provider)}[/] {escape(f.name)}: "
                      f"{escape(f.flag)} — {escape(f.detail)}")
    else:
        con.print("No flags: " + ("no provider loses more than the set share, and "
                                  if m.comparison else "") + "every return came in.")
    if "signals" in report.tables:  # signals of gaming: never a payment
        from pbr_cli.outputs.signals_view import signals_section

        signals_section(con, report.tables["signals"])
    if report.ledger_note:
        con.print(f"[yellow]Ledger:[/] {escape(report.ledger_note)}")
    total = report.totals["payment"]
    words = "PbR (shadow), worked out now" if m.virtual else "Due, worked out now"
    line = f"{words} over the period: [bold]{format_money(total)}[/]"
    if m.comparison:
        line += (f"; {escape(m.comparison.label.lower())} {format_money(report.totals['comparison'])}"
                 f"; variance {format_money(total - report.totals['comparison'])}")
    con.print(line + f" — the sum of {months} monthly schedule(s) "
              f"({report.months[0]} to {report.months[-1]}).")
    con.print(escape(report.describe_payments()))
    for path in written:
        con.print(f"Written: [bold]{escape(path)}[/]")


def publication_view(con: Console, pub, written: list[str]) -> None:
    """A publication: its counts by provider, the method and what the audit proved."""
    m = pub.model
    con.print(f"[bold]{escape(m.title)}[/] — publication for {escape(pub.period.describe())}")
    con.print(escape(pub.describe_coverage()))
    con.print(f"[bold]For publication:[/] {escape(pub.method())}")
    t = pub.tables["providers"]
    fit_table(con, [Col(col.header, "text" if col.key == "item" else "fixed",
                        "left" if col.kind == "text" else "right") for col in t.columns],
              [["" if v is None else escape(str(v)) for v in row] for row in t.rows],
              title=t.title)
    con.print("[bold]Returns lacking:[/] " + escape(pub.describe_lacking()))
    con.print("[bold]Changed since:[/] " + escape(pub.describe_changes()))
    con.print("[bold]Audit:[/] " + escape(" ".join(pub.audit)))
    for path in written:
        con.print(f"Written: [bold]{escape(path)}[/]")


def _money_text(value) -> str:
    from decimal import Decimal

    return "" if value is None else format_money(Decimal(value))


def _signing_said(s: dict) -> str:
    if not s["checked"]:
        said = ("The ledger's records are unsigned: anyone who can write it can add one "
                "(name officers' keys in the config's `keys` to sign and check them)")
        if s["signed"]:
            said += (f"; {s['signed']} are signed, but with no `keys` in the config no "
                     "signature is checked")
        return said + "."
    if not s["signed"]:
        return ("No record is signed yet: from the first signed record on, every record must "
                "be signed by a key the config names.")
    return (f"{s['signed']} record(s) signed by keys the config names"
            + (f"; {s['unsigned']} made unsigned before signing began." if s["unsigned"]
               else "."))


def ledger_view(con: Console, data: dict, view: str) -> None:
    """`pbr ledger status|verify|list|show|history` from the data their --json prints."""
    if not data.get("exists", True):
        con.print(f"No ledger yet at {escape(data['ledger'])}: nothing has been recorded.")
        return
    if view == "verify":
        if data["sound"]:
            con.print(f"[green]The ledger {escape(data['ledger'])} verifies[/]: {data['records']} "
                      f"record(s) ({data['runs']} run(s), {data['approvals']} approval(s), "
                      f"{data.get('publications', 0)} publication(s)); every "
                      "total and fingerprint matches.")
        else:
            con.print(f"[bold red]The ledger {escape(data['ledger'])} does not verify.[/]")
            for p in data["problems"]:
                con.print(f"  {escape(p)}")
        con.print(f"Head: record {data['head']['record']} sha256 {data['head']['sha256']}")
        con.print(_signing_said(data["signing"]))
        return
    if view == "status":
        for s in data["schemes"]:
            cols = [Col("Month", "fixed"), Col("State", "fixed"), Col("Run", "fixed", "right"),
                    Col("PbR", "money", "right"), Col("Adjustments", "money", "right"),
                    Col("Due", "money", "right"), Col("Approved by", drop=2),
                    Col("Adjusted later", drop=1)]
            rows = []
            for m in s["months"]:
                later = ""
                if m["adjusted_in"]:
                    later = f"{_money_text(m['adjusted_later'])} in {', '.join(m['adjusted_in'])}"
                style = {"approved": "green", "draft": "yellow", "not calculated": "red"}.get(
                    m["state"], "")
                state = f"[{style}]{m['state']}[/]" if style else m["state"]
                rows.append([m["month"], state, str(m["run"] or ""), _money_text(m["pbr"]),
                             _money_text(m["adjustments"]), _money_text(m["due"]),
                             escape(m["approved_by"] or ""), later])
            fit_table(con, cols, rows,
                      title=f"{s['model']}: from {s['go_live']}, approval {s['approval']}")
            con.print(f"Approved (paid): {_money_text(s['approved_total'])}. Owed but not yet "
                      f"approved (drafts): {_money_text(s['owed_unapproved'])}. Next month to "
                      f"approve: {s['next_to_approve']}.")
        head = data["head"]
        con.print(f"Ledger {escape(data['ledger'])}: head record {head['record']} sha256 "
                  f"{head['sha256']}" if head else f"No ledger yet at {escape(data['ledger'])}.")
        return
    if view == "list":
        cols = [Col("Run", "fixed", "right"), Col("Model"), Col("Month", "fixed"),
                Col("State", "fixed"), Col("Recorded (UTC)", drop=2), Col("PbR", "money", "right"),
                Col("Adjustments", "money", "right"), Col("Due", "money", "right"),
                Col("Withheld", "fixed", "right", drop=1)]
        fit_table(con, cols, [
            [str(r["run"]), r["model"], r["month"], r["state"], r["recorded_at"],
             _money_text(r["pbr"]), _money_text(r["adjustments"]), _money_text(r["due"]),
             str(r["withheld"])] for r in data["runs"]],
            title=f"Runs recorded in {escape(data['ledger'])}")
        return
    if view == "show":
        r = data["run"]
        who = (f", approved by {r['approved_by']} at {r['approved_at']}" if r["approved_by"]
               else "")
        con.print(f"Run {r['run']} ({r['state'].upper()}{escape(who)}): {r['model']} {r['month']}, "
                  f"pbr {r['tool']}, {r['started_at']} to {r['recorded_at']}, by `pbr "
                  f"{r['command']}`", highlight=False)
        con.print(f"Model SHA-256 {r['model_sha256']}; register SHA-256 {r['register_sha256']}; "
                  f"schedule {escape(r['output'] or '')} (SHA-256 {r['schedule_sha256']})",
                  highlight=False)
        rows = [[escape(p["provider"]), _money_text(p["pbr"])] for p in r["providers"]]
        fit_table(con, [Col("Provider", "fixed"), Col("PbR", "money", "right")],
                  [*rows, ["Total", _money_text(r["pbr"])]], title="Payments",
                  section_after=len(rows) - 1)
        if r["adjustments"]:
            fit_table(con, ADJUSTMENT_COLS, [
                [a["month"], escape(a["provider"]), escape(a["component"]),
                 _money_text(a["previous"]), _money_text(a["now"]), _money_text(a["difference"]),
                 escape(a["reason"])] for a in r["adjustments"]], title="Prior-period adjustments")
        fit_table(con, [Col("Role", "fixed"), Col("Provider", "fixed"), Col("Month", "fixed"),
                        Col("Used", "fixed"), Col("SHA-256", "fixed", drop=1), Col("File")],
                  [[i["role"], escape(i["provider"]), i["month"], "yes" if i["used"] else "no",
                    i["sha256"][:16], escape(i["file"])] for i in r["inputs"]], title="Inputs")
        return
    from decimal import Decimal

    cols = [Col("Model"), Col("Month", "fixed"), Col("Run", "fixed", "right"),
            Col("State", "fixed"), Col("PbR", "money", "right"),
            Col("Adjustments", "money", "right"), Col("Due", "money", "right")]
    rows = []
    sums = [Decimal("0.00")] * 3
    for m in data["months"]:
        rows.append([m["model"], m["month"], str(m["run"]), m["state"], _money_text(m["pbr"]),
                     _money_text(m["adjustments"]), _money_text(m["due"])])
        if m["state"] == "approved":
            sums = [sums[0] + Decimal(m["pbr"]), sums[1] + Decimal(m["adjustments"]),
                    sums[2] + Decimal(m["due"])]
    rows.append(["Total approved", "", "", "", *map(format_money, sums)])
    fit_table(con, cols, rows, title=f"Payments to {escape(data['provider'])} (the approved "
              "run of each month, else its draft)", section_after=len(rows) - 2)
