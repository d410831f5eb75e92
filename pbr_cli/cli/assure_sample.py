"""`pbr assure sample` and `pbr assure record`: a paid month's sample drawn and sent out, the
checkers' verdicts recorded. Each command parses, calls one job, renders."""

from __future__ import annotations

import json
import textwrap
from decimal import Decimal
from pathlib import Path

import typer

from pbr_cli.cli.common import ConfigOpt, LedgerOpt, WaitOpt, fail, is_quiet
from pbr_cli.errors import EXIT_OK, PbrError
from pbr_cli.money import format_money
from pbr_cli.names import shown


def _say(ctx: typer.Context, lines: list[str]) -> None:
    if is_quiet(ctx):
        return
    for line in lines:
        typer.echo(textwrap.fill(line, 80, subsequent_indent="    ") if line else "")


def register(group: typer.Typer) -> None:
    """Put the commands on the `assure` group."""

    @group.command("sample")
    def sample(
        ctx: typer.Context,
        model_name: str = typer.Option(..., "--model", "-m", help="The scheme's model."),
        period: str = typer.Option(..., "--period", "-p", help="The paid month, e.g. 2013-06."),
        by: str | None = typer.Option(None, "--by", help="Who draws it (default: $PBR_USER, else "
                                      "the login name)."),
        as_json: bool = typer.Option(False, "--json", help="Print the sample as JSON."),
        wait: float = WaitOpt,
        ledger: str | None = LedgerOpt,
        config: Path | None = ConfigOpt,
    ) -> None:
        """Draw a paid month's sample of items for checking against evidence, and record it.

        Each provider's paid items of the approved month are sampled as the model's
        `assurance:` says, in the order of a key the ledger keeps (the same ledger draws the
        same sample). The draw is recorded in the ledger before any evidence is asked for; a
        month is sampled once. Written to OUTPUT/<model>/assurance/<month>/: the checkers'
        workbook (a Verdict for each item) and each provider's evidence request (workbook and
        PDF, its own items only).

        Example:

          pbr assure sample -m MODEL -p 2013-06
        """
        try:
            from pbr_cli.cycle.scheme import Scheme
            from pbr_cli.jobs.assure_sample import draw_sample

            scheme = Scheme.named(config, model_name, ledger=ledger)
            result = draw_sample(scheme, period, by, wait)
        except PbrError as exc:
            fail(ctx, exc, as_json)
        s = result.sample
        if as_json:
            typer.echo(json.dumps({"schema": 1, "model": s.model, "period": s.period,
                                   "sample": s.id, "run": s.run_id, "drawn_at": s.drawn_at,
                                   "drawn_by": s.drawn_by, **s.content,
                                   "checkers": shown(result.checkers),
                                   "requests": {p: [shown(x), shown(f)]
                                                for p, x, f in result.requests}}, indent=2))
            raise typer.Exit(EXIT_OK)
        lines = [f"{s.model} {s.period}: sample record {s.id}, drawn from approved run "
                 f"{s.run_id}: {s.content['method']['rule']}."]
        for p, d in sorted(s.content["providers"].items()):
            lines.append(f"  {p}: {d['sampled']} of {d['items']} paid items, "
                         f"{format_money(Decimal(d['sampled_paid']))} of "
                         f"{format_money(Decimal(d['paid']))}")
        lines.append(f"Checkers' workbook: {shown(result.checkers)}")
        lines.append(f"Evidence requests ({len(result.requests)}): "
                     f"{shown(result.checkers.parent)}")
        lines.append("Fill in each Verdict, then: pbr assure record FILE")
        _say(ctx, lines)
        raise typer.Exit(EXIT_OK)


    @group.command("record")
    def record(
        ctx: typer.Context,
        file: Path = typer.Argument(..., help="The checkers' workbook, filled in."),
        model_name: str | None = typer.Option(None, "--model", "-m", help="The scheme's model "
                                              "(default: the one the workbook names)."),
        by: str | None = typer.Option(None, "--by", help="Who records it (default: $PBR_USER, "
                                      "else the login name)."),
        as_json: bool = typer.Option(False, "--json", help="Print the verdicts as JSON."),
        wait: float = WaitOpt,
        ledger: str | None = LedgerOpt,
        config: Path | None = ConfigOpt,
    ) -> None:
        """Record the checkers' verdicts on a sample; what failed is recovered.

        Every sampled item needs one verdict from the list (valid, invalid, no evidence) and
        each invalid one a reason; otherwise nothing is recorded and each mistake is named by
        sheet and cell. Each failed item is recovered at what it was paid, and the provider's
        failure rate (its one-sided 95% Clopper-Pearson lower bound) from what its items not
        sampled were paid: as adjustments on the next month drafted, paid only once approved.

        Example:

          pbr assure record out/MODEL/assurance/2013-06/MODEL-2013-06-verdicts.xlsx
        """
        try:
            from pbr_cli.cycle.scheme import Scheme
            from pbr_cli.jobs.assure_sample import read_verdicts, record_verdicts

            name = model_name or read_verdicts(file)[0]["Model"]
            scheme = Scheme.named(config, name, ledger=ledger)
            result = record_verdicts(scheme, file, by, wait)
        except PbrError as exc:
            fail(ctx, exc, as_json)
        s, c = result.sample, result.content
        if as_json:
            typer.echo(json.dumps({"schema": 1, "model": s.model, "period": s.period,
                                   "sample": s.id, "verdicts": result.verdicts_id, **c,
                                   "recovered": [{"provider": a.provider, "component": a.component,
                                                  "amount": str(-a.difference), "reason": a.reason}
                                                 for a in result.recovered]}, indent=2))
            raise typer.Exit(EXIT_OK)
        lines = [f"{s.model} {s.period}: verdicts on sample record {s.id} recorded "
                 f"(record {result.verdicts_id})."]
        for p, d in sorted(c["providers"].items()):
            lines.append(f"  {p}: {d['failed']} of {d['sampled']} sampled failed")
        total = sum((-a.difference for a in result.recovered), Decimal("0.00"))
        for a in result.recovered:
            lines.append(f"  recover {format_money(-a.difference)} from {a.provider}: {a.reason}")
        lines.append(f"To recover: {format_money(total)}, as adjustments on the next month drafted "
                     "(pbr run); paid only once that month is approved.")
        _say(ctx, lines)
        raise typer.Exit(EXIT_OK)
