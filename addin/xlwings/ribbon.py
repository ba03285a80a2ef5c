"""Ribbon/menu actions for desktop Excel (xlwings RunPython). Thin: read the book, call the core.

Wire each button to e.g. ``RunPython "from addin.xlwings.ribbon import show_aging; show_aging()"``.
Results go to a sheet named ``cobro`` (created when missing); the ledger sheets are only read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import xlwings as xw

from addin import sheet_api
from addin.xlwings.functions import _book_rows

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
        ledger = sheet_api.ledger_from_sheets(_book_rows(book))
        _show(book, fn(ledger, dt.date.today(), *args))
    except Exception as e:
        _show(book, sheet_api.error_cells(e))


def show_aging() -> None:
    _action(sheet_api.aging_cells)


def show_kpis() -> None:
    _action(sheet_api.kpi_cells)


def show_worklist() -> None:
    _action(sheet_api.worklist_cells)
