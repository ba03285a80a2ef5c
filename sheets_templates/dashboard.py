"""The Dashboard sheet (``Panel``/``Dashboard``) of the template: a table ``cobro refresh`` fills, and native charts.

- The ``Dashboard`` table (``cobro.schema.DASHBOARD``: section, item, currency, amount, figure, detail) starts
  empty; ``cobro refresh`` replaces its rows with the KPIs, the worklist's top 20 and the 13-week forecast
  (``cobro.report.dashboard.dashboard_frame``) through the store, as cell values only — so the in-place writer
  never has to add a package part.
- Beside it, one native Excel stacked-bar chart per currency of the Summary over the Summary's formula cells
  (not due and each bucket): Excel and LibreOffice redraw it whenever the data or the as-of date change.
- ``dashboard_package`` builds the same sheet alone in a scratch workbook, whose parts ``sync.dashboard_sheet``
  grafts into a ledger that has no Dashboard yet (``cobro refresh`` adds it to older workbooks).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from cobro.schema import DASHBOARD, SUMMARY_TITLE

CHART_COL = 7  # the charts start in column H, right of the table
STOP_ROWS = 400  # a space in column G on these rows stops long details spilling under the charts
_TEXT = {
    "es": {"chart": "Antigüedad de saldos — {cur} (fórmulas de la hoja Resumen)",
           "note": "cobro refresh escribe esta tabla (indicadores, los 20 primeros de la lista de trabajo y la "
                   "previsión de 13 semanas); los gráficos siguen a las fórmulas de Resumen."},
    "en": {"chart": "Aging — {cur} (the Summary sheet's formulas)",
           "note": "cobro refresh writes this table (KPIs, the worklist's top 20 and the 13-week forecast); the "
                   "charts follow the Summary's formulas."},
}
WIDTHS = (11, 34, 9, 15, 10, 60)


def dashboard_sheet(wb: xlsxwriter.Workbook, locale: str, layout: Any, summary_title: str | None = None) -> Any:
    """Add the Dashboard sheet to ``wb``: the empty ``Dashboard`` table and the aging charts over the Summary
    described by ``layout`` (``sheets_templates.workbook.SummaryLayout``), titled ``summary_title`` (default: the
    locale's)."""
    tx = _TEXT["es" if locale == "es" else "en"]
    ws = wb.add_worksheet(DASHBOARD.title(locale))
    money = wb.add_format({"num_format": "#,##0.00"})
    number = wb.add_format({"num_format": "0.00"})
    columns = []
    for col in DASHBOARD.columns:
        entry: dict[str, Any] = {"header": col.header(locale)}
        if col.type == "money":
            entry["format"] = money
        elif col.type == "number":
            entry["format"] = number
        columns.append(entry)
    ws.add_table(0, 0, 1, len(columns) - 1, {"name": DASHBOARD.key, "columns": columns,
                                             "style": "Table Style Medium 2"})
    for j, w in enumerate(WIDTHS):
        ws.set_column(j, j, w)
    ws.set_column(6, 6, 1)
    for r in range(STOP_ROWS):  # text overflows into empty cells only: a space keeps the details out of the charts
        ws.write_string(r, 6, " ")
    ws.freeze_panes(1, 0)
    summary = (summary_title or SUMMARY_TITLE["es" if locale == "es" else "en"]).replace("'", "''")
    bucket_names = [c for c in layout.columns if c == "not_due" or c[:1].isdigit()]
    colours = ["#9ECAE1", "#FDD49E", "#FDBB84", "#FC8D59", "#E34A33", "#B30000", "#7F0000", "#4D0000"]
    for k, cur in enumerate(layout.currencies):
        r = layout.first_currency_row + k
        chart = wb.add_chart({"type": "bar", "subtype": "stacked"})
        for j, name in enumerate(bucket_names):
            c = layout.column(name)
            head = xl_rowcol_to_cell(layout.header_row, c, row_abs=True, col_abs=True)
            cell = xl_rowcol_to_cell(r, c, row_abs=True, col_abs=True)
            chart.add_series({"name": f"='{summary}'!{head}",
                              "categories": f"='{summary}'!{xl_rowcol_to_cell(r, 0, row_abs=True, col_abs=True)}",
                              "values": f"='{summary}'!{cell}", "fill": {"color": colours[j % len(colours)]},
                              "gap": 40})
        chart.set_title({"name": tx["chart"].format(cur=cur), "name_font": {"size": 11}})
        chart.set_legend({"position": "bottom"})
        chart.set_x_axis({"num_format": "#,##0"})
        chart.set_size({"width": 620, "height": 220})
        ws.insert_chart(1 + 12 * k, CHART_COL, chart)
    ws.write_string(1 + 12 * max(len(layout.currencies), 1), CHART_COL, tx["note"],
                    wb.add_format({"italic": True, "font_color": "#595959"}))
    return ws


def dashboard_package(locale: str, layout: Any, summary_title: str, header: Sequence[object] = ()) -> bytes:
    """A scratch .xlsx whose second sheet is the Dashboard (``dashboard_sheet``); the first stands in for the
    ledger's Summary (its currency cells and the header row ``header``) only so the charts' series carry text
    references and caches like the template's. ``sync.dashboard_sheet`` takes the second sheet's parts."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
                                   "strings_to_urls": False})
    stand_in = wb.add_worksheet(summary_title)
    for j, text in enumerate(header):
        if text not in (None, ""):
            stand_in.write_string(layout.header_row, j, str(text))
    for k, cur in enumerate(layout.currencies):
        stand_in.write_string(layout.first_currency_row + k, 0, cur)
    dashboard_sheet(wb, locale, layout, summary_title)
    wb.close()
    return buf.getvalue()


__all__ = ["dashboard_sheet", "dashboard_package", "CHART_COL"]
