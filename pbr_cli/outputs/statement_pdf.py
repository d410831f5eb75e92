"""A provider's statement as a PDF laid out for print: A4 landscape, the standing on every
page, tables whose headings repeat on each page, long text wrapped (never shrunk or cut).

Input: the schedule cut down to one provider (pbr_cli.reporting.statements). Written with fpdf2 and
the DejaVu Sans typeface shipped in pbr_cli/fonts (no office suite, nothing downloaded). The
same statement gives a byte-identical file: the creation date is fixed and nothing random
is written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from pbr_cli import __version__
from pbr_cli.ledger.records import LineKind
from pbr_cli.money import format_money, fraction_to_decimal
from pbr_cli.outputs.pdf_table import Look, draw_table
from pbr_cli.outputs.schedule import KIND_SHOWN, code_label
from pbr_cli.outputs.typeface import add_typeface, common_cut, write_pdf
from pbr_cli.outputs.xlsx import atomic_output
from pbr_cli.pricing.records import PAID, Schedule, State, accrued_note

ZERO = Decimal("0.00")
# What an event's status says, under the evidence of every statement.
STATUSES = ("Status: Paid — the event is paid the amount shown (£0.00 when a cap or maximum "
            "reached before it left nothing to pay; the reason says which). Refused — the "
            "event is not paid, for the reason shown. Nil — the event counts towards a "
            "result, but is priced at nothing (a band or share of nothing, or a result still "
            "to complete).")
FONTS = Path(__file__).resolve().parent.parent / "fonts"
FIXED = datetime(2000, 1, 1, tzinfo=UTC)
INK, GREY, RED, AMBER = (0, 0, 0), (90, 90, 90), (170, 0, 0), (150, 90, 0)
HEAD_FILL = (31, 73, 125)  # dark blue, white text: tells apart from any cell colour



def first_page(pdf, title: str) -> None:
    """A statement-like PDF begun: fixed date (the same inputs give the same bytes), its
    title, the typeface shipped with pbr, the margins, and its first page."""
    pdf.set_creation_date(FIXED)
    pdf.set_title(title)
    pdf.set_author("pbr")
    pdf.set_creator(f"pbr {__version__}")
    add_typeface(pdf, "DejaVu", "", FONTS / "DejaVuSans.ttf")
    add_typeface(pdf, "DejaVu", "B", FONTS / "DejaVuSans-Bold.ttf")
    pdf.set_margins(12, 10, 12)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_page()

def parse_typefaces() -> None:
    """Parse the typeface of statements now, and cut it to the characters nearly every PDF
    uses (once a process: pbr_cli.outputs.typeface), so that worker processes started after
    this begin with both."""
    from fpdf import FPDF

    pdf = FPDF()
    add_typeface(pdf, "DejaVu", "", FONTS / "DejaVuSans.ttf")
    add_typeface(pdf, "DejaVu", "B", FONTS / "DejaVuSans-Bold.ttf")
    for font in pdf.fonts.values():
        common_cut(font)


def write_statement_pdf(s: Schedule, target: Path) -> Path:
    with atomic_output(Path(target)) as tmp:
        write_pdf(_render(s), tmp)
    return Path(target)


def _standing(s: Schedule) -> tuple[str, tuple[int, int, int]]:
    standing = s.standing
    text = standing.describe() if standing is not None else \
        "NOT RECORDED — not in any ledger, not for payment"
    colour = INK if standing is not None and standing.state == State.APPROVED else RED
    return text, colour


def _render(s: Schedule) -> Any:
    from fpdf import FPDF

    p = s.providers[0]
    model = s.model
    standing, colour = _standing(s)

    class Statement(FPDF):
        def header(self) -> None:
            self.set_font("DejaVu", "B", 9)
            self.set_text_color(*colour)
            self.cell(0, 5, ("SHADOW PAYMENT — NOT FOR PAYMENT · " if model.virtual else "")
                      + standing, new_x="LMARGIN", new_y="NEXT")
            self.set_text_color(*INK)
            self.ln(1)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", "", 7)
            self.set_text_color(*GREY)
            self.cell(0, 5, f"{model.title} — statement for {p.provider}, {s.month}",
                      align="L")
            self.set_x(self.l_margin)
            self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")
            self.set_text_color(*INK)

    pdf = Statement(orientation="L", unit="mm", format="A4")
    first_page(pdf, f"{model.title}: payment statement {s.month} {p.provider}")

    def title(text: str, size: int = 14) -> None:
        pdf.set_font("DejaVu", "B", size)
        pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    def para(text: str, size: int = 9, colour_: tuple[int, int, int] = INK) -> None:
        pdf.set_font("DejaVu", "", size)
        pdf.set_text_color(*colour_)
        pdf.multi_cell(0, 4.5, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*INK)

    def table(headers: list[str], rows: list[list[str]], widths: list[float],
              right: set[int] = frozenset(), size: float = 8) -> None:  # type: ignore[assignment]
        if not rows:
            return
        draw_table(pdf, Look("DejaVu", size, (255, 255, 255), HEAD_FILL), headers, rows,
                   widths, right)
        pdf.ln(3)

    title(f"{model.title}")
    title(f"Payment statement for {p.provider} {p.name} — {s.month.label()}", 12)
    para(f"Period {s.month} ({s.month.first_day.isoformat()} to "
         f"{s.month.last_day.isoformat()}). Model {model.name} version {model.version}. "
         f"Made by pbr {__version__}.")
    pdf.ln(2)

    # What is paid, and why: the block comparison, each component, the total.
    title("What is paid", 11)
    rows = []
    if model.comparison is not None:
        rows.append([model.comparison.label + " (what the contract pays)",
                     format_money(p.total(LineKind.COMPARISON))])
    for c in model.payments:
        if not c.reported_only:
            rows.append([c.label, format_money(p.component_total(c.name))])
    rows.append(["PbR total" + (" (shadow)" if model.virtual else ""), format_money(p.total())])
    cut = sum((getattr(e, "cap_reduction", ZERO) for e in s.evidence), ZERO)
    if cut:
        rows.append(["Cut by the cap or maximum (not paid: already taken off the PbR total)",
                     format_money(-cut)])
    if model.comparison is not None:
        block = p.total(LineKind.COMPARISON)
        share = f" ({fraction_to_decimal(Fraction(p.variance / block) * 100, 1)}%)" \
            if block else ""
        rows.append(["Variance against " + model.comparison.label.lower(),
                     format_money(p.variance) + share])
    if s.adjustments:
        rows.append(["Prior-period adjustments", format_money(s.adjustment_total(p.provider))])
        rows.append(["Due this month", format_money(s.due(p.provider))])
    table(["Component", "Amount"], rows, [150, 45], right={1}, size=9)
    if p.status != PAID:
        para(f"{p.shown_status.upper()}: {p.reason}", colour_=RED)
    if accrued_note(p.lines):
        para(accrued_note(p.lines), colour_=AMBER)
    for note in s.payment_notes(p.provider):
        para(f"What changed the payment: {note}", colour_=AMBER)
    para("Amounts are rounded half-up to the penny per line; totals are sums of the rounded "
         "lines.", size=8, colour_=GREY)
    pdf.ln(2)

    # Every line, with the figures behind it: a table for each component, a column for
    # each of its figures.
    title("Payment lines and the figures behind them", 11)
    entity = model.register.entity.capitalize()
    for component, lines in _by_component(p.lines).items():
        labels = list(dict.fromkeys(f.label for ln in lines for f in ln.figures
                                    if f.value is not None))
        windows = any(f.window is not None for ln in lines for f in ln.figures)
        cadence = any(ln.cadence() for ln in lines)
        pdf.set_font("DejaVu", "B", 9)
        pdf.cell(0, 5, component, new_x="LMARGIN", new_y="NEXT")
        room = 273 - 48 - 14 - 24 - 42 * windows - 40 * cadence
        each = max(min(room / max(len(labels), 1), 34), 18)
        rows = []
        for ln in lines:
            values = {f.label: _figure(f.value, f.format) for f in ln.figures
                      if f.value is not None}
            window = "; ".join(sorted({str(f.window) for f in ln.figures
                                       if f.window is not None}))
            rows.append([ln.entry + (f" {ln.entry_label}" if ln.entry_label else "")
                         + "".join(f" · {code_label(s, column, code)}"
                                   for column, code in ln.groups),
                         KIND_SHOWN[ln.kind], format_money(ln.amount)]
                        + [values.get(label, "") for label in labels]
                        + [window] * windows + [ln.cadence()] * cadence)
        table([entity, "Kind", "Amount", *labels] + ["Window"] * windows
              + ["When paid"] * cadence, rows,
              [48, 14, 24] + [each] * len(labels) + [42] * windows + [40] * cadence,
              right=set(range(2, 3 + len(labels))), size=7)

    if s.evidence:
        title("Evidence: each event paid or refused", 11)
        capped = any(getattr(e, "cap_reduction", ZERO) for e in s.evidence)
        table(["Client", "Event", "Date", "Status", "Amount"] + ["Cut by cap"] * capped
              + ["Reason", "Return row"],
              [[e.client, e.component_label, e.day.isoformat(), str(e.status).capitalize(),
                format_money(e.amount)]
               + [format_money(getattr(e, "cap_reduction", ZERO))] * capped
               + [e.reason, f"{Path(e.source.file).name} "
                  f"{e.source.sheet}!{e.source.column or ''}{e.source.row}"]
               for e in s.evidence],
              [24.0, 38, 20, 17, 22] + [20.0] * capped + [88.0 - 20 * capped, 64],
              right={4, 5} if capped else {4})
        para(STATUSES, size=8, colour_=GREY)
        pdf.ln(2)

    if s.adjustments:
        title("Prior-period adjustments", 11)
        table(["Month", "Component", "Previously", "Now", "Difference", "Reason"],
              [[a.month, a.component, format_money(a.previous), format_money(a.now),
                format_money(a.difference), a.reason] for a in s.adjustments],
              [18, 40, 25, 25, 25, 140], right={2, 3, 4})

    if s.projection is not None:
        from pbr_cli.outputs.schedule import projection_note

        pr = s.projection
        title("Projected income (a forecast, not a payment)", 11)
        table(["Month", "Expected", "Range low", "Range high"],
              [[m, format_money(e), format_money(lo), format_money(hi)]
               for m, e, lo, hi in pr.months]
              + [["Months to come", format_money(pr.total), format_money(pr.low),
                  format_money(pr.high)]], [40, 35, 35, 35], right={1, 2, 3}, size=9)
        para(projection_note(pr), size=8, colour_=GREY)
        pdf.ln(2)

    title("Problems found in the returns", 11)
    if s.problems:
        table(["Severity", "Code", "Cell", "Message"],
              [[x.severity, x.code, x.cell or "", x.message] for x in s.problems],
              [18, 45, 30, 180])
    else:
        para("None.")
        pdf.ln(2)

    title("Inputs", 11)
    table(["Role", "File", "Month", "SHA-256"],
          [[i.role, Path(i.path).name, i.month, i.sha256] for i in s.inputs],
          [18, 90, 18, 147], size=7)
    pdf.alias_nb_pages()
    return pdf


def _by_component(lines: list) -> dict[str, list]:
    """The lines by component, in the order the components first come."""
    out: dict[str, list] = {}
    for ln in lines:
        out.setdefault(ln.component_label, []).append(ln)
    return out


def _figure(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "money":
        return format_money(Decimal(str(fraction_to_decimal(Fraction(value), 2))))
    if kind == "percent":
        return f"{fraction_to_decimal(Fraction(value) * 100, 2)}%"
    if kind == "integer":
        return f"{int(value):,}"
    if isinstance(value, (int, Fraction, Decimal)):
        return str(fraction_to_decimal(Fraction(value), 4))
    return str(value)
