"""Extra ribbon/menu actions for desktop Excel (xlwings RunPython), for a user who adds buttons of their own to
``cobro_excel.xlam``: thin — read the book's tables, call the core, show the result.

Wire a button to e.g. ``RunPython "from addin.xlwings.ribbon import show_aging; show_aging()"``.
Results go to a sheet named ``cobro`` (created when missing); the ledger's sheets are only read. "Today" is the
company's (Settings ``timezone``), as for every other command.
"""

from __future__ import annotations

from typing import Any

import xlwings as xw

from addin import sheet_api
from addin.xlwings import actions
from sync.clock import company_today

OUTPUT_SHEET = "cobro"


def _show(book: Any, rows: list[list[Any]]) -> None:
    names = [s.name for s in book.sheets]
    sheet = book.sheets[OUTPUT_SHEET] if OUTPUT_SHEET in names else book.sheets.add(OUTPUT_SHEET)
    sheet.clear_contents()
    sheet.range("A1").value = sheet_api.pad(rows)
    sheet.activate()


def _action(fn: Any, *args: Any) -> None:
    book = xw.Book.caller()
    try:
        _show(book, fn(book, company_today(), *args))
    except Exception as e:  # shown in the sheet, never a VBA error box without a reason
        _show(book, sheet_api.error_cells(e))


def show_aging() -> None:
    """The aging per customer and currency, on the ``cobro`` sheet."""
    _action(actions.aging_cells)


def show_kpis() -> None:
    """DSO, countback DSO, best possible DSO, ADD and CEI, on the ``cobro`` sheet."""
    _action(actions.kpi_cells)


def show_worklist() -> None:
    """Whom to contact first, on the ``cobro`` sheet."""
    _action(actions.worklist_cells)


def show_forecast() -> None:
    """The 13-week expected cash-in per currency, on the ``cobro`` sheet."""
    _action(actions.forecast_cells)
