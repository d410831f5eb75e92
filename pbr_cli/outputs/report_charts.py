"""The period report's native Excel charts: each provider's money, the months' spend by
component, and the rates month by month (all providers)."""

from __future__ import annotations

from pbr_cli.reporting.cells import Table
from pbr_cli.reporting.kinds import reporting_kind
from pbr_cli.reporting.report import Report

SERIES = ["#1F4E78", "#ED7D31", "#70AD47", "#FFC000", "#5B9BD5", "#7030A0", "#A5A5A5"]


def column_of(table: Table, key: str) -> int | None:
    return next((j for j, c in enumerate(table.columns) if c.key == key), None)


def provider_chart(wb, report: Report, sheet: str, table: Table, header: int, last: int):
    """PbR beside the comparison (or payments alone), one bar per provider."""
    n = len(table.rows)
    if n == 0:
        return None, 0
    chart = wb.add_chart({"type": "bar"})
    cats = [sheet, header + 1, 1, last, 1]
    comparison = report.model.comparison
    series = []
    if comparison:
        series.append((comparison.label, column_of(table, "comparison"), "#A5A5A5"))
    series.append(("PbR" if comparison else "Paid", column_of(table, "payment"), "#1F4E78"))
    for label, j, colour in series:
        chart.add_series({"name": label, "categories": cats,
                          "values": [sheet, header + 1, j, last, j],
                          "fill": {"color": colour}, "border": {"none": True}, "gap": 60})
    what = (f"PbR beside {comparison.label.lower()} by provider" if comparison
            else "Payments by provider")
    chart.set_title({"name": f"{what}, {report.period.text}", "name_font": {"size": 12}})
    chart.set_x_axis({"name": "£ over the period", "num_format": "£#,##0",
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_y_axis({"name": "Provider", "reverse": True, "crossing": "max",
                      "num_font": {"size": 8}})
    chart.set_legend({"position": "top"})
    height = min(620, max(360, 120 + 22 * n))
    chart.set_size({"width": 900, "height": height})
    return chart, height


def months_chart(wb, report: Report, sheet: str, table: Table, header: int, last: int):
    """Spend by component, stacked, month by month; the comparison as a line."""
    chart = wb.add_chart({"type": "column", "subtype": "stacked"})
    cats = [sheet, header + 1, 0, last, 0]
    paid = [c for c in report.model.payments if not c.reported_only]
    for i, c in enumerate(paid):
        j = column_of(table, c.name)
        chart.add_series({"name": c.label, "categories": cats,
                          "values": [sheet, header + 1, j, last, j],
                          "fill": {"color": SERIES[i % len(SERIES)]}, "gap": 80})
    comparison = report.model.comparison
    if comparison:
        line = wb.add_chart({"type": "line"})
        j = column_of(table, "comparison")
        line.add_series({"name": comparison.label, "categories": cats,
                         "values": [sheet, header + 1, j, last, j],
                         "line": {"color": "#C00000", "width": 2.25},
                         "marker": {"type": "diamond", "size": 7,
                                    "fill": {"color": "#C00000"},
                                    "border": {"color": "#C00000"}}})
        chart.combine(line)
    chart.set_title({"name": "Spend by component, month by month"
                     + (f", against {comparison.label.lower()}" if comparison else ""),
                     "name_font": {"size": 12}})
    chart.set_x_axis({"name": "Month"})
    chart.set_y_axis({"name": "£ in the month", "num_format": "£#,##0", "min": 0,
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 900, "height": 420})
    return chart, 420


def rates_chart(wb, report: Report, sheet: str, table: Table, header: int, last: int):
    """Each rate for all providers, month by month."""
    months = len(report.months)
    rows = [i for i, r in enumerate(table.rows) if r[1] == "All providers"]
    if not rows:
        return None, 0
    chart = wb.add_chart({"type": "line"})
    for n, i in enumerate(rows):
        r = header + 1 + i
        colour = SERIES[n % len(SERIES)]
        chart.add_series({"name": [sheet, r, 0], "categories": [sheet, header, 2, header,
                                                                 1 + months],
                          "values": [sheet, r, 2, r, 1 + months],
                          "line": {"color": colour, "width": 2.25},
                          "marker": {"type": "circle", "size": 6, "fill": {"color": colour},
                                     "border": {"color": colour}}})
    what = reporting_kind(report.model).rates_title
    chart.set_title({"name": what, "name_font": {"size": 12}})
    chart.set_x_axis({"name": "Month"})
    chart.set_y_axis({"name": "Rate", "num_format": "0%", "min": 0,
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 900, "height": 420})
    return chart, 420
