"""What a sample writes (docs/assurance.md): the checkers' workbook, with a Verdict column to
choose from a list, and each provider's evidence request — a workbook and a PDF of its own
items only, laid out as its statement is."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from pbr_cli import __version__
from pbr_cli.assurance.verdicts import HEADERS, SHEET, Verdict
from pbr_cli.ledger.samples import StoredSample
from pbr_cli.money import format_money
from pbr_cli.outputs.schedule import TABLE_ROW, Layout, heading, write_table
from pbr_cli.outputs.typeface import write_pdf
from pbr_cli.outputs.xlsx import Formats, atomic_output, made_workbook, print_setup
from pbr_cli.pricing.records import Schedule

ABOUT = "About"
ABOUT_ROWS = ("Model", "Period", "Sample record")  # read back by `pbr assure record`


def _about(wb: Any, fmt: Formats, schedule: Schedule, sample: StoredSample,
           more: list[tuple[str, str]]) -> None:
    ws = wb.add_worksheet(ABOUT)
    heading(ws, fmt, schedule, "sample for checking after payment")
    rows = [("Model", sample.model), ("Period", sample.period),
            ("Sample record", str(sample.id)), ("Drawn at (UTC)", sample.drawn_at),
            ("Drawn by", sample.drawn_by), ("From approved run", str(sample.run_id)),
            ("Rule", sample.content["method"]["rule"]), *more,
            ("Made by", f"pbr {__version__}")]
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 90)
    for i, (label, value) in enumerate(rows):
        ws.write_string(TABLE_ROW + i, 0, label, fmt.label)
        ws.write_string(TABLE_ROW + i, 1, value, fmt.wrap)
        lines = len(textwrap.wrap(value, 88)) or 1
        if lines > 1:
            ws.set_row(TABLE_ROW + i, 15 * lines + 2)
    print_setup(ws, None, f"{schedule.model.title} - sample record {sample.id}", [24, 90])


def sizes(sample: StoredSample, provider: str | None = None) -> list[tuple[str, str]]:
    """Each provider's items and how many were sampled, as the About sheet says them."""
    out = []
    for p, d in sorted(sample.content["providers"].items()):
        if provider is None or p == provider:
            out.append((f"Provider {p}", f"{d['sampled']} of {d['items']} paid items sampled "
                        f"({format_money_text(d['sampled_paid'])} of "
                        f"{format_money_text(d['paid'])} paid)"))
    return out


def format_money_text(text: str) -> str:
    from decimal import Decimal

    return format_money(Decimal(text))


def write_checkers(schedule: Schedule, sample: StoredSample, target: Path) -> Path:
    """The workbook the checkers fill in: one row per sampled item, the Verdict chosen from
    the list, a Reason for each invalid one."""
    from decimal import Decimal

    with atomic_output(target) as tmp, made_workbook(
            tmp, f"{schedule.model.title}: sample {sample.period}") as wb:
        fmt = Formats(wb)
        ws = wb.add_worksheet(SHEET)
        heading(ws, fmt, schedule, "verdicts on the sample")
        rows = [[i["id"], i["provider"], i["what"], Decimal(i["amount"]), "", ""]
                for i in sample.content["items"]]
        layout = Layout(SHEET, list(HEADERS), [fmt.text, fmt.text, fmt.wrap, fmt.money,
                                               fmt.input, fmt.input], [34, 10, 50, 14, 14, 50])
        write_table(ws, fmt, schedule, layout, rows)
        if rows:
            col = HEADERS.index("Verdict")
            ws.data_validation(TABLE_ROW + 1, col, TABLE_ROW + len(rows), col, {
                "validate": "list", "source": [v.value for v in Verdict],
                "error_title": "Verdict", "error_message": "Choose valid, invalid or no evidence."})
        ws.set_column(HEADERS.index("Verdict"), HEADERS.index("Verdict"), 14)
        ws.set_column(HEADERS.index("Reason"), HEADERS.index("Reason"), 40)
        _about(wb, fmt, schedule, sample, [*sizes(sample), ("How to fill it in", CHECKERS_TEXT)])
    return target


def write_request(schedule: Schedule, sample: StoredSample, provider: str,
                  target: Path) -> Path:
    """A provider's evidence request as a workbook: its own sampled items, nothing else."""
    from decimal import Decimal

    mine = [i for i in sample.content["items"] if i["provider"] == provider]
    with atomic_output(target) as tmp, made_workbook(
            tmp, f"{schedule.model.title}: evidence request {sample.period} {provider}") as wb:
        fmt = Formats(wb)
        ws = wb.add_worksheet("Evidence request")
        heading(ws, fmt, schedule, f"evidence request for {provider}")
        rows = [[i["id"], i["what"], Decimal(i["amount"])] for i in mine]
        write_table(ws, fmt, schedule, Layout("Requested", ["Item", "What was claimed",
                                                            "Amount paid"],
                                              [fmt.text, fmt.wrap, fmt.money], [34, 60, 14]),
                    rows)
        _about(wb, fmt, schedule, sample, [*sizes(sample, provider), ("What is asked",
                                                                       request_text(sample))])
    return target


CHECKERS_TEXT = ("For each item choose its Verdict: valid (the evidence shows the claim), "
                 "invalid (it does not: say why in Reason), no evidence (none came). Then "
                 "record this file with `pbr assure record`.")
def request_text(sample: StoredSample) -> str:
    """What an evidence request asks, and what follows from it."""
    from fractions import Fraction

    method = sample.content["method"]
    level = f"{float(Fraction(method['extrapolation_confidence']) * 100):g}%"
    return ("Please send the evidence for each item listed. An item found invalid, or with "
            "no evidence, is recovered at what it was paid"
            + (", and the share of the sample that failed is recovered from your items not "
               f"sampled at the lower bound of its one-sided {level} interval"
               if method["extrapolate"] else "") + ".")


def write_request_pdf(schedule: Schedule, sample: StoredSample, provider: str,
                      target: Path) -> Path:
    """The same evidence request as a PDF laid out as a statement is (A4 landscape)."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    from pbr_cli.outputs.statement_pdf import HEAD_FILL, first_page

    model = schedule.model
    mine = [i for i in sample.content["items"] if i["provider"] == provider]
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    first_page(pdf, f"{model.title}: evidence request {sample.period} {provider}")
    pdf.set_font("DejaVu", "B", 14)
    pdf.multi_cell(0, 7, model.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 12)
    pdf.multi_cell(0, 6, f"Evidence request for {provider} — {schedule.month.label()}",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    about = [f"Sample record {sample.id}, drawn at {sample.drawn_at} from what was paid "
             f"for {schedule.month} (ledger run {sample.run_id}).",
             *[v for _, v in sizes(sample, provider)],
             f"Rule: {sample.content['method']['rule']}.", request_text(sample)]
    for text in about:
        pdf.multi_cell(0, 4.5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    head = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=HEAD_FILL)
    pdf.set_font("DejaVu", "", 8)
    with pdf.table(col_widths=[80, 150, 30], headings_style=head, repeat_headings=1,
                   align="LEFT", line_height=4.4, text_align=["LEFT", "LEFT", "RIGHT"],
                   padding=1, first_row_as_headings=True, width=260) as t:
        t.row(["Item", "What was claimed", "Amount paid"])
        for i in mine:
            t.row([i["id"], i["what"], format_money_text(i["amount"])])
    with atomic_output(target) as tmp:
        write_pdf(pdf, tmp)
    return target
